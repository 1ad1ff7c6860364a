"""`[console]` in ccd.toml: defaults, a custom file, and every fault named by file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccd import config
from ccd.console_settings import ConsoleSettings, codes
from ccd.errors import ConfigError

CUSTOM = """
[console]
not_ready_reasons = [{ code = "coaching", zh = "辅导" }]
dispositions = [
    { code = "water_quality", zh = "水质问题", en = "water quality" },
    { code = "other", zh = "其他", en = "other" },
]

[console.survey]
intro_zh = "您好，{site}回访。"
questions = [{ id = "solved", zh = "解决了吗？", kind = "yes_no" }]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ccd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fault(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert e.value.message.startswith(f"{path}: ")
    return e.value


def test_defaults_are_the_hotline_words(tmp_path: Path) -> None:
    console = config.load(write(tmp_path, "")).console
    assert codes(console.not_ready_reasons) == [
        "break", "meal", "training", "meeting", "after_call"]
    assert [c.zh for c in console.not_ready_reasons] == ["小休", "用餐", "培训", "会议", "话后工作"]
    assert codes(console.dispositions) == [
        "enquiry", "billing", "repair", "complaint", "outage", "other"]
    assert [c.zh for c in console.dispositions][:2] == ["咨询", "缴费/账单"]
    kinds = [q.kind for q in console.survey.questions]
    assert kinds.count("score") == 1 and "yes_no" in kinds and "text" in kinds
    assert "{number}" in console.survey.intro_zh
    assert config.dump_defaults()["console"]["dispositions"][4] == {
        "code": "outage", "zh": "停水停电咨询", "en": "outage enquiry"}


def test_a_custom_section_replaces_the_lists(tmp_path: Path) -> None:
    console = config.load(write(tmp_path, CUSTOM)).console
    assert codes(console.not_ready_reasons) == ["coaching"]
    assert console.not_ready_reasons[0].en == ""  # optional
    assert codes(console.dispositions) == ["water_quality", "other"]
    assert console.survey.intro_zh == "您好，{site}回访。"
    assert console.survey.closing_zh == ConsoleSettings().survey.closing_zh  # default kept
    assert [(q.id, q.kind) for q in console.survey.questions] == [("solved", "yes_no")]


def test_overrides_reach_the_section(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, ""), [
        'console.dispositions=[{code = "meter", zh = "抄表"}]'])
    assert codes(cfg.console.dispositions) == ["meter"]


@pytest.mark.parametrize(
    ("section", "key", "words"),
    [
        ('dispositions = [{ code = "a", zh = "甲" }, { code = "a", zh = "乙" }]',
         "console.dispositions[1].code", "listed twice"),
        ('dispositions = [{ code = "Billing", zh = "账单" }]',
         "console.dispositions[0].code", "lower-case"),
        ('dispositions = [{ code = "billing-query", zh = "账单" }]',
         "console.dispositions[0].code", "lower-case"),
        ('dispositions = [{ code = "' + "a" * 33 + '", zh = "长" }]',
         "console.dispositions[0].code", "up to 31"),
        ("dispositions = []", "console.dispositions", "at least one"),
        ("not_ready_reasons = []", "console.not_ready_reasons", "at least one"),
        ('not_ready_reasons = [{ code = "missed", zh = "未接" }]',
         "console.not_ready_reasons[0].code", "set by the system"),
        ('not_ready_reasons = [{ code = "nap", zh = " " }]',
         "console.not_ready_reasons[0].zh", "must not be empty"),
    ],
)
def test_bad_pick_lists_name_the_key(tmp_path: Path, section: str, key: str, words: str) -> None:
    e = fault(tmp_path, f"[console]\n{section}\n")
    assert f"{key} " in e.message and words in e.message
    assert e.details["key"] == key


@pytest.mark.parametrize(
    ("survey", "key", "words"),
    [
        ("questions = []", "console.survey.questions", "at least one"),
        ('questions = [{ id = "a", zh = "甲", kind = "score" }, '
         '{ id = "b", zh = "乙", kind = "score" }]',
         "console.survey.questions[1].kind", "second 'score'"),
        ('questions = [{ id = "a", zh = "甲" }, { id = "a", zh = "乙" }]',
         "console.survey.questions[1].id", "listed twice"),
        ('questions = [{ id = "1st", zh = "甲" }]', "console.survey.questions[0].id",
         "lower-case"),
        ('intro_zh = "您好，{agent}为您服务"', "console.survey.intro_zh",
         "unknown placeholders ['agent']"),
        ('closing_en = "bye {"', "console.survey.closing_en", "placeholders"),
    ],
)
def test_bad_survey_scripts_name_the_key(
    tmp_path: Path, survey: str, key: str, words: str
) -> None:
    e = fault(tmp_path, f"[console.survey]\n{survey}\n")
    assert f"{key} " in e.message and words in e.message


def test_a_bad_kind_and_a_misspelt_field_are_named(tmp_path: Path) -> None:
    kind = fault(tmp_path, '[console.survey]\nquestions = [{ id = "a", zh = "甲", kind = "stars" }]\n')
    assert "'console.survey.questions.0.kind'" in kind.message
    typo = fault(tmp_path, '[console]\ndispositions = [{ code = "a", zhh = "甲" }]\n')
    assert "unknown key 'console.dispositions[0].zhh'" in typo.message
    assert "did you mean 'console.dispositions[0].zh'?" in typo.message
    missing = fault(tmp_path, '[console]\ndispositions = [{ code = "a" }]\n')
    assert "'console.dispositions.0'" in missing.message and "zh" in missing.message
