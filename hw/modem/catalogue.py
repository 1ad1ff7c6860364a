"""What people read about analog lines, in the hotline's words (Chinese first, English second)."""

from __future__ import annotations

from ccd import words

TEXTS: dict[str, dict[str, str]] = {
    "lines": {"zh": "模拟线路", "en": "Analog lines"},
    "state.down": {"zh": "故障", "en": "down"},
    "state.starting": {"zh": "初始化", "en": "starting"},
    "state.idle": {"zh": "空闲", "en": "idle"},
    "state.ringing": {"zh": "振铃", "en": "ringing"},
    "state.talking": {"zh": "通话中", "en": "in a call"},
    "state.dialling": {"zh": "拨号中", "en": "dialling"},
    "row": {"zh": "{line}  {state}  自 {since} 起  呼叫 {calls} 次  {port}{fault}",
            "en": "{line}  {state}  since {since}  {calls} calls  {port}{fault}"},
    "fault": {"zh": "  （最近故障：{error}）", "en": "  (last fault: {error})"},
}


def state_text(state: str, lang: str = "zh") -> str:
    key = f"state.{state}"
    return words.text(TEXTS, key, lang) if key in TEXTS else state


def line_row(line: dict[str, object], since: str, lang: str = "zh") -> str:
    """One line of `ccd status` for a line's statistics (hw.modem.line.ModemLine)."""
    error = str(line.get("last_error") or "")
    fault = words.text(TEXTS, "fault", lang, error=error) if error else ""
    return words.text(TEXTS, "row", lang, line=line["line"], state=state_text(
        str(line["state"]), lang), since=since, calls=line["calls"], port=line["port"],
        fault=fault)
