"""How numbers, money, digits, dates and times are spoken, checked against cn2an and by hand.

The Mandarin word sequence is turned into text through the real zh catalogue (so the catalogue's
words are checked too) and compared with cn2an where the conventions agree. They differ in three
documented ways: we say 两 where speakers do (cn2an writes 二), cn2an drops the 零 after a whole
zero 万-group when the next group starts with its 千 digit (100001000: cn2an 一亿一千, which reads
back as 110000000), and for money cn2an writes 壹拾元 where a voice says 十元.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import cn2an
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccd.ivr import say
from ccd.ivr.catalogue import load_catalogue

CATALOGUE = load_catalogue()
ZH = {name: CATALOGUE.entry(name, "zh").text for name in CATALOGUE.names("zh")}
EN = {name: CATALOGUE.entry(name, "en").text for name in CATALOGUE.names("en")}


def zh(names: list[str]) -> str:
    return "".join(ZH[n] for n in names)


def en(names: list[str]) -> str:
    return " ".join(EN[n] for n in names)


def cn2an_misses_zero(n: int) -> bool:
    """cn2an's known slip: a whole zero group skipped before a group that starts with 千."""
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    nonzero = [k for k, g in enumerate(groups) if g]
    return any(hi - lo > 1 and groups[lo] >= 1000 for hi, lo in zip(nonzero[1:], nonzero, strict=False))


# ---------------------------------------------------------------- Mandarin numbers


@given(st.integers(min_value=0, max_value=say.ZH_MAX - 1))
def test_zh_integers_match_cn2an_with_liang_off(n: int) -> None:
    if cn2an_misses_zero(n):
        return
    assert zh(say.number(n, "zh", liang=False)) == cn2an.an2cn(n)


@given(st.integers(min_value=-(10**12), max_value=say.ZH_MAX - 1))
def test_zh_integers_match_cn2an_but_for_liang(n: int) -> None:
    if cn2an_misses_zero(abs(n)):
        return
    assert zh(say.number(n, "zh")).replace("两", "二") == cn2an.an2cn(n)


@given(st.integers(min_value=0, max_value=say.ZH_MAX - 1))
def test_zh_integers_read_back_to_the_same_number(n: int) -> None:
    assert cn2an.cn2an(zh(say.number(n, "zh")), "smart") == n


@given(st.decimals(min_value=Decimal("-99999999"), max_value=Decimal("99999999"), places=3,
                   allow_nan=False, allow_infinity=False))
def test_zh_decimals_match_cn2an(value: Decimal) -> None:
    if cn2an_misses_zero(int(abs(value))):
        return
    assert zh(say.number(value, "zh", liang=False)) == cn2an.an2cn(str(value))


@pytest.mark.parametrize(("n", "spoken"), [
    (0, "零"), (2, "二"), (10, "十"), (15, "十五"), (20, "二十"), (22, "二十二"),
    (100, "一百"), (101, "一百零一"), (110, "一百一十"), (200, "两百"), (222, "两百二十二"),
    (1005, "一千零五"), (2000, "两千"), (2222, "两千二百二十二"), (10010, "一万零一十"),
    (10300, "一万零三百"), (12000, "一万两千"), (20000, "两万"), (100000, "十万"),
    (110000, "十一万"), (120000, "十二万"), (2000000, "两百万"), (10002000, "一千万两千"),
    (100020000, "一亿零两万"), (200000000, "两亿"), (100001000, "一亿零一千"),
    (1000010000, "十亿零一万"), (10**12, "一万亿"), (1000100010000, "一万零一亿零一万"),
    (-5, "负五"),
])
def test_zh_numbers_by_hand(n: int, spoken: str) -> None:
    assert zh(say.number(n, "zh")) == spoken


def test_cn2an_differs_where_documented() -> None:
    # Our reading keeps the 零; cn2an's reads back as a different number.
    assert cn2an.an2cn(100001000) == "一亿一千"
    with pytest.raises(ValueError):
        cn2an.cn2an("一亿一千", "smart")  # cn2an cannot even read its own text back
    assert cn2an.cn2an(zh(say.number(100001000, "zh")), "smart") == 100001000


def test_zh_decimal_keeps_given_digits() -> None:
    assert zh(say.number("12.30", "zh")) == "十二点三零"
    assert zh(say.number(1234.5, "zh")) == "一千二百三十四点五"
    assert zh(say.number("0.05", "zh")) == "零点零五"
    assert zh(say.number("-0.5", "zh")) == "负零点五"


def test_zh_too_large_and_not_a_number() -> None:
    with pytest.raises(say.SayError, match="too large"):
        say.number(say.ZH_MAX, "zh")
    with pytest.raises(say.SayError, match="cannot say"):
        say.number("12a", "zh")
    with pytest.raises(say.SayError, match="unknown language"):
        say.number(1, "fr")


def test_counts_use_liang() -> None:
    assert zh(say.count(2)) == "两"
    assert zh(say.count(12)) == "十二"
    assert zh(say.count(2000)) == "两千"
    assert en(say.count(2, "en")) == "two"


# ---------------------------------------------------------------- money


_CAPITAL = str.maketrans("零壹贰叁肆伍陆柒捌玖拾佰仟", "零一二三四五六七八九十百千")


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_zh_amounts_match_cn2an_rmb(fen: int) -> None:
    yuan = abs(fen) // 100
    if cn2an_misses_zero(yuan):
        return
    value = Decimal(fen) / 100
    expected = cn2an.an2cn(f"{value:.2f}", "rmb").translate(_CAPITAL)
    if str(yuan)[0] == "1" and len(str(yuan)) in (2, 6, 10, 14):
        expected = expected.replace("一十", "十", 1)  # a voice says 十元, a cheque 壹拾元
    if fen == 0:
        expected = "零元"  # cn2an: 零元整; nothing is whole about zero
    assert zh(say.amount(fen, "zh", liang=False)) == expected


@pytest.mark.parametrize(("fen", "spoken"), [
    (12345, "一百二十三元四角五分"), (10000, "一百元整"), (10005, "一百元零五分"),
    (12340, "一百二十三元四角"), (45, "四角五分"), (5, "五分"), (0, "零元"),
    (200, "两元整"), (220, "两元两角"), (2, "两分"), (1200, "十二元整"), (1000, "十元整"), (-1250, "负十二元五角"),
    (20000000, "二十万元整"), (200000000, "两百万元整"), (100000100, "一百万零一元整"),
])
def test_zh_amounts_by_hand(fen: int, spoken: str) -> None:
    assert zh(say.amount(fen, "zh")) == spoken


def test_zh_amount_without_zheng_and_liang() -> None:
    assert zh(say.amount(10000, "zh", zheng=False)) == "一百元"
    assert zh(say.amount(220, "zh", liang=False)) == "二元二角"


@pytest.mark.parametrize(("fen", "spoken"), [
    (12345, "one hundred twenty three yuan and forty five fen"),
    (10000, "one hundred yuan"), (5, "five fen"), (0, "zero yuan"),
    (100000001, "one million yuan and one fen"), (-250, "minus two yuan and fifty fen"),
])
def test_en_amounts(fen: int, spoken: str) -> None:
    assert en(say.amount(fen, "en")) == spoken


def test_amount_needs_whole_fen() -> None:
    with pytest.raises(say.SayError):
        say.amount(12.5, "zh")  # type: ignore[arg-type]


# ---------------------------------------------------------------- English numbers

_EN_VALUES = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
              "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
              "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
              "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
              "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}


def read_english(words: str) -> int:
    """A tiny English number reader, independent of `say`, for the round trip."""
    total = group = 0
    sign = 1
    for word in words.split():
        if word == "minus":
            sign = -1
        elif word in _EN_VALUES:
            group += _EN_VALUES[word]
        elif word == "hundred":
            group *= 100
        else:
            total += group * _EN_SCALES[word]
            group = 0
    return sign * (total + group)


@given(st.integers(min_value=-(10**12) + 1, max_value=say.EN_MAX - 1))
def test_en_integers_read_back(n: int) -> None:
    assert read_english(en(say.number(n, "en"))) == n


@pytest.mark.parametrize(("n", "spoken"), [
    (0, "zero"), (13, "thirteen"), (40, "forty"), (123, "one hundred twenty three"),
    (1005, "one thousand five"), (2000000, "two million"),
    (1234567, "one million two hundred thirty four thousand five hundred sixty seven"),
])
def test_en_numbers_by_hand(n: int, spoken: str) -> None:
    assert en(say.number(n, "en")) == spoken


def test_en_decimal() -> None:
    assert en(say.number("1234.5", "en")) == "one thousand two hundred thirty four point five"


# ---------------------------------------------------------------- digits


def test_digits_with_yao_and_groups() -> None:
    assert zh(say.digits("13800138000")) == "幺三八零零幺三八零零零"
    assert zh(say.digits("2026-0001", yao=False)) == "二零二六零零零一"
    names = say.digits("20260001", group=4)
    assert names[4] == say.PAUSE and names.count(say.PAUSE) == 1
    assert en(say.digits("101", "en")) == "one zero one"
    with pytest.raises(say.SayError):
        say.digits("12a4")
    with pytest.raises(say.SayError):
        say.digits("")


@given(st.text(alphabet="0123456789", min_size=1, max_size=30), st.booleans())
def test_digits_read_one_word_per_digit(text: str, yao: bool) -> None:
    spoken = zh(say.digits(text, yao=yao))
    assert len(spoken) == len(text)
    assert ("幺" in spoken) == (yao and "1" in text)
    assert "两" not in spoken


# ---------------------------------------------------------------- dates and times


@pytest.mark.parametrize(("moment", "zh_text", "en_text"), [
    (dt.time(18, 30), "十八点三十分", "six thirty p.m."),
    (dt.time(18, 0), "十八点整", "six p.m."),
    (dt.time(2, 5), "两点零五分", "two oh five a.m."),
    (dt.time(0, 10), "零点十分", "twelve ten a.m."),
    (dt.time(12, 0), "十二点整", "twelve p.m."),
])
def test_times(moment: dt.time, zh_text: str, en_text: str) -> None:
    assert zh(say.time(moment, "zh")) == zh_text
    assert en(say.time(moment, "en")) == en_text


def test_dates() -> None:
    day = dt.date(2026, 5, 1)
    assert zh(say.date(day)) == "二零二六年五月一日"
    assert en(say.date(day, "en")) == "May first twenty twenty six"
    assert zh(say.date(dt.date(2026, 12, 31))) == "二零二六年十二月三十一日"
    assert en(say.date(dt.date(2005, 1, 2), "en")) == "January second two thousand five"
    assert en(say.date(dt.date(1999, 1, 2), "en")) == "January second nineteen ninety nine"
    assert en(say.date(dt.date(2100, 1, 2), "en")) == "January second twenty one hundred"
    assert en(say.date(dt.date(2105, 1, 2), "en")) == "January second twenty one oh five"


def test_relative_dates_and_datetime() -> None:
    today = dt.date(2026, 6, 1)
    assert zh(say.date(today, today=today)) == "今天"
    assert zh(say.date(dt.date(2026, 6, 2), today=today)) == "明天"
    assert en(say.date(dt.date(2026, 5, 31), "en", today=today)) == "yesterday"
    moment = dt.datetime(2026, 6, 2, 18, 0)
    assert zh(say.datetime(moment, today=today)) == "明天十八点整"
    assert en(say.datetime(moment, "en", today=today)) == "tomorrow six p.m."
    assert zh(say.month(2026, 5)) == "二零二六年五月"
    assert en(say.month(2026, 5, "en")) == "May twenty twenty six"


# ---------------------------------------------------------------- the catalogue covers it all


@pytest.mark.parametrize("lang", say.LANGUAGES)
def test_every_word_say_uses_is_in_the_catalogue(lang: str) -> None:
    missing = [p for p in say.required_prompts(lang) if not CATALOGUE.has(p, lang)]
    assert missing == []


@given(st.integers(min_value=-(10**11), max_value=10**11),
       st.sampled_from(say.LANGUAGES))
def test_every_name_produced_is_a_required_prompt(n: int, lang: str) -> None:
    names = say.number(n, lang) + say.amount(n, lang) + say.digits(str(abs(n)), lang, group=3)
    assert set(names) <= say.required_prompts(lang)
