"""What the workforce-management and simulation commands print, Chinese first, English second.

The language is `CCD_LANG` ('zh' or 'en'; anything else means Chinese).
"""

from __future__ import annotations

import os

from ccd import words

LANGUAGES = ("zh", "en")

TEXT: dict[str, dict[str, str]] = {
    "traffic": {"zh": "话务量", "en": "traffic"},
    "erlangs": {"zh": "{value:.2f} 爱尔兰", "en": "{value:.2f} erlangs"},
    "agents": {"zh": "座席数", "en": "agents"},
    "probability_wait": {"zh": "排队概率", "en": "probability of waiting"},
    "service_level": {
        "zh": "服务水平（{target:g}秒接通率）",
        "en": "service level (answered in {target:g} s)",
    },
    "asa": {"zh": "平均应答时长", "en": "average speed of answer"},
    "occupancy": {"zh": "座席占用率", "en": "occupancy"},
    "probability_abandon": {"zh": "放弃率", "en": "abandon rate"},
    "seconds": {"zh": "{value:.1f} 秒", "en": "{value:.1f} s"},
    "never": {"zh": "无法接通（话务量超过座席能力）", "en": "never (load exceeds the agents)"},
    "interval": {"zh": "时段", "en": "interval"},
    "calls": {"zh": "呼入量", "en": "calls"},
    "peak": {"zh": "高峰所需座席：{agents}", "en": "peak agents needed: {agents}"},
    "offered": {"zh": "呼入", "en": "offered"},
    "answered": {"zh": "接通", "en": "answered"},
    "abandoned": {"zh": "放弃", "en": "abandoned"},
    "measured": {"zh": "仿真", "en": "simulated"},
    "predicted": {"zh": "理论（爱尔兰公式）", "en": "Erlang formula"},
    "speed": {
        "zh": "用时 {wall:.2f} 秒，每秒仿真 {rate:.0f} 通呼叫",
        "en": "took {wall:.2f} s, {rate:.0f} simulated calls per second",
    },
}


def language() -> str:
    lang = os.environ.get("CCD_LANG", "zh")
    return lang if lang in LANGUAGES else "zh"


def text(key: str, **values: object) -> str:
    """The text for `key` in the current language, with `values` filled in."""
    return words.text(TEXT, key, language(), **values)
