"""`ccd status` for a person: the daemon's numbers as titled tables, in the site's language.

Each service's section (sip, acd, workorders, wallboard, api, events) is a two-column table;
a list of records inside a section (the SIP media workers) is a table of its own. `--json`
prints the daemon's reply as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccd.cli.tables import render_table
from ccd.words import text

WORDS: dict[str, dict[str, str]] = {
    "daemon": {"zh": "守护进程", "en": "daemon"},
    "item": {"zh": "项目", "en": "item"},
    "value": {"zh": "数值", "en": "value"},
    "name": {"zh": "站点", "en": "site"},
    "version": {"zh": "版本", "en": "version"},
    "pid": {"zh": "进程号", "en": "process id"},
    "uptime_s": {"zh": "已运行", "en": "up for"},
    "connections": {"zh": "连接数", "en": "connections"},
    "database": {"zh": "数据库", "en": "database"},
    "database_bytes": {"zh": "数据库大小", "en": "database size"},
    "socket": {"zh": "套接字", "en": "socket"},
    "sip": {"zh": "SIP 电话", "en": "SIP telephony"},
    "acd": {"zh": "排队分配（ACD）", "en": "ACD"},
    "workorders": {"zh": "工单", "en": "work orders"},
    "wallboard": {"zh": "监控大屏推送", "en": "wallboard pushes"},
    "api": {"zh": "接口连接", "en": "API connections"},
    "events": {"zh": "事件推送", "en": "events"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
}


def render(status: Mapping[str, Any], lang: str) -> str:
    """The whole status as text: the daemon's own numbers, then one table per section."""
    head = [(k, v) for k, v in status.items() if not isinstance(v, Mapping)]
    parts = [_section(text(WORDS, "daemon", lang), head, lang)]
    for key, value in status.items():
        if isinstance(value, Mapping):
            scalars = [(k, v) for k, v in value.items() if not _records(v)]
            parts.append(_section(_word(key, lang), scalars, lang))
            for k, v in value.items():
                if _records(v):
                    parts.append(_records_table(f"{_word(key, lang)} · {k}", v, lang))
    return "\n\n".join(p for p in parts if p)


def _section(title: str, rows: list[tuple[str, Any]], lang: str) -> str:
    if not rows:
        return ""
    table = render_table([(text(WORDS, "item", lang), "left"), (text(WORDS, "value", lang),
                                                                "right")],
                         [(_word(k, lang), _value(k, v, lang)) for k, v in rows])
    return f"{title}\n{table}"


def _records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, Mapping) for x in value)


def _records_table(title: str, records: list[Mapping[str, Any]], lang: str) -> str:
    keys: list[str] = []
    for r in records:
        keys += [k for k in r if k not in keys]
    table = render_table([(_word(k, lang), "left") for k in keys],
                         [[_value(k, r.get(k), lang) for k in keys] for r in records])
    return f"{title}\n{table}"


def _word(key: str, lang: str) -> str:
    return text(WORDS, key, lang) if key in WORDS else key


def _value(key: str, value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return text(WORDS, "yes" if value else "no", lang)
    if value is None:
        return "-"
    if key.endswith("_bytes") and isinstance(value, int | float):
        return _size(float(value))
    if key == "uptime_s" and isinstance(value, int | float):
        return _uptime(float(value))
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_value(str(k), v, lang)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_value(key, v, lang) for v in value) or "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _uptime(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock
