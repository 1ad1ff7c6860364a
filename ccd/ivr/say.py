"""Numbers, money, digit strings, dates and times as lists of prompt names (no I/O).

An IVR speaks a value by playing short recorded words one after another. This module decides
which words, the way a Chinese hotline says them (Mandarin is the default), or in English:

    amount(12345, "zh") -> 一百二十三元四角五分   (num/1 num/100 num/2 num/10 num/3 money/yuan ...)
    amount(12345, "en") -> one hundred twenty three yuan and forty five fen

Prompt names are the same in every language's catalogue where the meaning is the same (`num/7` is
七 in zh.toml and "seven" in en.toml); words only one language has get their own names (`num/liang`
两, `num/yao` 幺, `num/oh`, `ordinal/3`). `required_prompts(lang)` lists every name this module can
produce, so the catalogue tests and flow validation can check that each one exists.

Mandarin conventions (each one has a test):
- 零 once for any run of zeros between two spoken digits (一千零五, 一万零三百, 一亿零一千), none
  for trailing zeros (十万, 一百二十).
- 十 without 一 when it opens the number (十五, 十万), 一十 inside it (一百一十, 一万零一十).
- 两 instead of 二 (switchable with `liang=False`): in the 千 place (两千, 一万两千), in the 百
  place when it opens the number (两百), for a lone 2 before 万/亿 (两万, 两亿), and for counts,
  money and hours (两元, 两角, 两点). A number read out as such (`number(2)`) stays 二.
- Digit strings (phone, account and work-order numbers) are read one by one, 1 as 幺 as hotlines do
  (switchable with `yao=False`), never 两.
- Money is read from an integer number of fen: 元, 角, 分, with 零 for a missing 角 (一百元零五分)
  and 整 after whole yuan (一百元整, switchable with `zheng=False`).
- Dates: the year digit by digit (二零二六年), then 月 and 日; today/tomorrow/yesterday by name when
  a reference date is given. Times on the 24-hour clock (十八点三十分, 十八点整, 两点零五分).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Literal

Lang = Literal["zh", "en"]
LANGUAGES: tuple[Lang, ...] = ("zh", "en")

ZH_MAX = 10**16  # up to 九千九百九十九万亿…: 万亿 is as far as a hotline needs
EN_MAX = 10**12

PAUSE = "pause/short"


class SayError(ValueError):
    """A value this module cannot speak (not a number, out of range, unknown language)."""


def _lang(lang: str) -> Lang:
    if lang not in LANGUAGES:
        raise SayError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    return lang  # type: ignore[return-value]


# ---------------------------------------------------------------- Mandarin integers

_ZH_PLACE = ("", "num/10", "num/100", "num/1000")
_ZH_GROUP: tuple[tuple[str, ...], ...] = ((), ("num/10000",), ("num/100000000",),
                                          ("num/10000", "num/100000000"))


def _zh_group(value: int, opens: bool, liang: bool, unit_follows: bool) -> list[str]:
    """One four-digit group (1..9999) without its 万/亿 unit.

    `opens`: the group is the first thing said (so 十 drops its 一, 两百 applies);
    `unit_follows`: a 万 or 亿 comes after the group (so a lone 2 is 两).
    """
    digits = (value // 1000, value // 100 % 10, value // 10 % 10, value % 10)
    out: list[str] = []
    zero_pending = False
    for index, digit in enumerate(digits):
        place = 3 - index
        if digit == 0:
            zero_pending = zero_pending or bool(out)
            continue
        if zero_pending:
            out.append("num/0")
            zero_pending = False
        at_start = opens and not out
        if place == 1 and digit == 1 and at_start:
            out.append("num/10")
            continue
        word = f"num/{digit}"
        if digit == 2 and liang and (
            place == 3 or (place == 2 and at_start) or (place == 0 and value == 2 and unit_follows)
        ):
            word = "num/liang"
        out.append(word)
        if place:
            out.append(_ZH_PLACE[place])
    return out


def _zh_int(n: int, liang: bool) -> list[str]:
    if n == 0:
        return ["num/0"]
    if n >= ZH_MAX:
        raise SayError(f"{n} is too large to say in Mandarin (limit {ZH_MAX - 1})")
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out: list[str] = []
    higher: int | None = None  # index of the last group spoken
    for k in range(len(groups) - 1, -1, -1):
        value = groups[k]
        if value == 0:
            continue
        # A zero is heard between this group and the one above when whole groups were skipped or
        # this group starts with a zero (一亿零一千, 一千万零一百); trailing zeros of the group above
        # are covered by its unit.
        if higher is not None and (higher - k > 1 or value < 1000):
            out.append("num/0")
        out += _zh_group(value, opens=not out, liang=liang, unit_follows=k > 0)
        # 万亿 shares its 亿 with a nonzero 亿 group after it: 一万零一亿, but 一万亿.
        out += _ZH_GROUP[k] if not (k == 3 and groups[2]) else _ZH_GROUP[1]
        higher = k
    return out


# ---------------------------------------------------------------- English integers

def _en_below_1000(n: int) -> list[str]:
    out: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        out += [f"num/{hundreds}", "num/100"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        out.append(f"num/{tens * 10}")
        if ones:
            out.append(f"num/{ones}")
    elif rest:
        out.append(f"num/{rest}")
    return out


_EN_SCALE = ("", "num/1000", "num/1000000", "num/1000000000")


def _en_int(n: int) -> list[str]:
    if n == 0:
        return ["num/0"]
    if n >= EN_MAX:
        raise SayError(f"{n} is too large to say in English (limit {EN_MAX - 1})")
    chunks = []
    while n:
        chunks.append(n % 1000)
        n //= 1000
    out: list[str] = []
    for k in range(len(chunks) - 1, -1, -1):
        if chunks[k]:
            out += _en_below_1000(chunks[k])
            if k:
                out.append(_EN_SCALE[k])
    return out


# ---------------------------------------------------------------- public: numbers

def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise SayError(f"cannot say {value!r} as a number")
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise SayError(f"cannot say {value!r} as a number") from None
    if not number.is_finite():
        raise SayError(f"cannot say {value!r} as a number")
    return number


def _int(lang: Lang, n: int, liang: bool) -> list[str]:
    return _zh_int(n, liang) if lang == "zh" else _en_int(n)


def number(value: int | float | Decimal | str, lang: str = "zh", *, liang: bool = True) -> list[str]:
    """A number as it is read out: 一千零五, 一百二十三点四五, minus one point five.

    value: an int, float, Decimal or numeric string; decimals are read digit by digit after 点 /
    "point", keeping the digits given (a string "12.30" keeps its zero).
    lang: "zh" or "en".  liang: use 两 where Mandarin speakers do (see the module docstring).
    """
    language = _lang(lang)
    dec = _decimal(value)
    sign, digits, exponent = dec.as_tuple()
    out = ["num/minus"] if sign else []
    dec = abs(dec)
    whole = int(dec)
    out += _int(language, whole, liang)
    if isinstance(exponent, int) and exponent < 0:
        fraction = "".join(map(str, digits))[exponent:].rjust(-exponent, "0")
        out.append("num/point")
        out += [f"num/{d}" for d in fraction]
    return out


def count(n: int, lang: str = "zh") -> list[str]:
    """A quantity before a measure word: 两 for a lone 2 (两条, 两元), otherwise as `number`."""
    language = _lang(lang)
    if n < 0:
        return ["num/minus", *count(-n, lang)]
    if language == "zh" and n == 2:
        return ["num/liang"]
    return _int(language, n, True)


def digits(text: str | int, lang: str = "zh", *, yao: bool = True, group: int = 0) -> list[str]:
    """A digit string read one digit at a time (phone, account and work-order numbers).

    text: the digits; spaces and dashes are allowed and ignored, anything else is an error.
    yao: say 1 as 幺 (Mandarin only).  group: pause after every `group` digits (0: no pauses).
    """
    language = _lang(lang)
    chars = [c for c in str(text) if c not in " -"]
    if not chars or not all(c.isdigit() and c.isascii() for c in chars):
        raise SayError(f"cannot read {text!r} digit by digit")
    out: list[str] = []
    for i, c in enumerate(chars):
        if group and i and i % group == 0:
            out.append(PAUSE)
        out.append("num/yao" if (c == "1" and yao and language == "zh") else f"num/{c}")
    return out


def amount(fen: int, lang: str = "zh", *, zheng: bool = True, liang: bool = True) -> list[str]:
    """A money amount given in fen (1/100 yuan): 一百二十三元四角五分, 123 yuan and 45 fen.

    fen: the amount as an integer number of fen (the database keeps money in fen);
    zheng: end whole-yuan amounts with 整;  liang: 两元, 两角, 两分 for a 2.
    """
    language = _lang(lang)
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise SayError(f"an amount is an integer number of fen, got {fen!r}")
    out = ["num/minus"] if fen < 0 else []
    fen = abs(fen)
    yuan, cents = divmod(fen, 100)
    if language == "en":
        if yuan or not cents:
            out += _en_int(yuan) + ["money/yuan"]
        if cents:
            if yuan:
                out.append("money/and")
            out += _en_int(cents) + ["money/fen"]
        return out
    jiao, fen_digit = divmod(cents, 10)

    def small(d: int) -> str:
        return "num/liang" if d == 2 and liang else f"num/{d}"

    if yuan:
        out += (count(yuan, "zh") if liang else _zh_int(yuan, False)) + ["money/yuan"]
    if jiao:
        out += [small(jiao), "money/jiao"]
    elif yuan and fen_digit:
        out.append("num/0")
    if fen_digit:
        out += [small(fen_digit), "money/fen"]
    if not fen:
        out += ["num/0", "money/yuan"]
    elif yuan and not cents and zheng:
        out.append("money/zheng")
    return out


# ---------------------------------------------------------------- dates and times

_EN_MONTHS = tuple(f"month/{m}" for m in range(1, 13))


def _en_year(year: int) -> list[str]:
    if 2000 <= year <= 2009 or year < 1000:
        return _en_int(year)
    high, low = divmod(year, 100)
    if low == 0:
        return _en_int(high) + ["num/100"]
    return _en_int(high) + (["num/oh", f"num/{low}"] if low < 10 else _en_int(low))


def _relative(day: dt.date, today: dt.date | None) -> str | None:
    if today is None:
        return None
    return {0: "date/today", 1: "date/tomorrow", -1: "date/yesterday"}.get((day - today).days)


def date(day: dt.date, lang: str = "zh", *, today: dt.date | None = None) -> list[str]:
    """A calendar date: 二零二六年五月一日 / May first twenty twenty-six.

    today: when given, a date that is today, tomorrow or yesterday is said as that word.
    """
    language = _lang(lang)
    word = _relative(day, today)
    if word:
        return [word]
    if language == "zh":
        year = [f"num/{d}" for d in str(day.year)]
        return [*year, "date/year", *_zh_int(day.month, False), "date/month",
                *_zh_int(day.day, False), "date/day"]
    return [_EN_MONTHS[day.month - 1], f"ordinal/{day.day}", *_en_year(day.year)]


def month(year: int, month_number: int, lang: str = "zh") -> list[str]:
    """A billing period: 二零二六年五月 / May twenty twenty-six."""
    language = _lang(lang)
    if not 1 <= month_number <= 12:
        raise SayError(f"no month {month_number}")
    if language == "zh":
        return [*[f"num/{d}" for d in str(year)], "date/year",
                *_zh_int(month_number, False), "date/month"]
    return [_EN_MONTHS[month_number - 1], *_en_year(year)]


def time(moment: dt.time, lang: str = "zh") -> list[str]:
    """A time of day: 十八点三十分, 两点零五分, 十八点整 / six thirty p m, two oh five a m."""
    language = _lang(lang)
    hour, minute = moment.hour, moment.minute
    if language == "zh":
        out = (["num/0"] if hour == 0 else count(hour, "zh")) + ["time/hour"]
        if minute == 0:
            return out + ["time/sharp"]
        if minute < 10:
            out.append("num/0")
        return out + _zh_int(minute, False) + ["time/minute"]
    out = _en_int(hour % 12 or 12)
    if minute:
        out += ["num/oh", f"num/{minute}"] if minute < 10 else _en_int(minute)
    return out + ["time/am" if hour < 12 else "time/pm"]


def datetime(moment: dt.datetime, lang: str = "zh", *, today: dt.date | None = None) -> list[str]:
    """A date and a time: 明天十八点整 / tomorrow six p m (see `date` for `today`)."""
    return date(moment.date(), lang, today=today) + time(moment.time(), lang)


# ---------------------------------------------------------------- what the catalogue must hold

def required_prompts(lang: str) -> frozenset[str]:
    """Every prompt name this module can produce for `lang`."""
    language = _lang(lang)
    names = {f"num/{d}" for d in range(10)} | {"num/minus", "num/point", PAUSE,
                                                "date/today", "date/tomorrow", "date/yesterday"}
    names |= {"money/yuan", "money/fen"}
    if language == "zh":
        names |= {"num/10", "num/100", "num/1000", "num/10000", "num/100000000", "num/liang",
                  "num/yao", "money/jiao", "money/zheng", "date/year", "date/month", "date/day",
                  "time/hour", "time/minute", "time/sharp"}
    else:
        names |= {f"num/{n}" for n in range(10, 20)} | {f"num/{n}" for n in range(20, 100, 10)}
        names |= {"num/100", "num/1000", "num/1000000", "num/1000000000", "num/oh",
                  "money/and", "time/am", "time/pm"}
        names |= set(_EN_MONTHS) | {f"ordinal/{d}" for d in range(1, 32)}
    return frozenset(names)
