"""How numbers look on the board and which colour they get against their thresholds (no I/O).

A level is 'ok', 'warn', 'alarm' or 'none' (no value yet). The colour of each level and of each
agent state is in LEVEL_STYLES / STATE_STYLES below (Rich styles, used inside table cells; the
layout and panel colours are in wallboard.tcss).
"""

from __future__ import annotations

from rich.text import Text

from ccd.reports.board import AgentRow
from ccd.reports.settings import Thresholds

LEVEL_STYLES = {
    "ok": "bold green",
    "warn": "bold yellow",
    "alarm": "bold white on red",
    "none": "dim",
}
STATE_STYLES = {
    "ready": "green",
    "ringing": "bold yellow",
    "talking": "cyan",
    "on_hold": "magenta",
    "wrap_up": "blue",
    "not_ready": "yellow",
    "logged_out": "dim",
}
# The agents grid sorts states in this order (who needs a look first).
STATE_ORDER = ("ringing", "talking", "on_hold", "wrap_up", "not_ready", "ready", "logged_out")


def level_low_is_bad(value: float | None, warn_below: float, alarm_below: float) -> str:
    """Service level: under `alarm_below` is an alarm, under `warn_below` a warning."""
    if value is None:
        return "none"
    if value < alarm_below:
        return "alarm"
    if value < warn_below:
        return "warn"
    return "ok"


def level_high_is_bad(value: float | None, warn_at: float, alarm_at: float) -> str:
    """Abandon rate, ASA, AHT, waiting callers, longest wait: from `alarm_at` up an alarm."""
    if value is None:
        return "none"
    if value >= alarm_at:
        return "alarm"
    if value >= warn_at:
        return "warn"
    return "ok"


def metric_level(metric: str, value: float | None, t: Thresholds) -> str:
    """The level of one headline metric by name."""
    if metric == "service_level":
        return level_low_is_bad(value, t.service_level_goal, t.service_level_alarm)
    bounds = {
        "abandon_rate": (t.abandon_rate_warn, t.abandon_rate_alarm),
        "asa_s": (t.asa_warn_s, t.asa_alarm_s),
        "aht_s": (t.aht_warn_s, t.aht_alarm_s),
        "waiting": (t.waiting_warn, t.waiting_alarm),
        "longest_wait_s": (t.longest_wait_warn_s, t.longest_wait_alarm_s),
    }.get(metric)
    if bounds is None:
        return "none" if value is None else "ok"
    return level_high_is_bad(value, *bounds)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def duration(seconds: float | None) -> str:
    """'0:07', '12:05', '1:02:03'; '—' for no value."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def age(seconds: float, language: str) -> str:
    """How old the data is, in words: '35秒' / '35 s', '2分5秒' / '2 min 5 s'."""
    s = max(0, int(seconds))
    m, s = divmod(s, 60)
    if language == "en":
        return f"{m} min {s} s" if m else f"{s} s"
    return f"{m}分{s}秒" if m else f"{s}秒"


def styled(text: str, level: str) -> Text:
    return Text(text, style=LEVEL_STYLES.get(level, ""))


def in_state_seconds(agent: AgentRow, now: float) -> float:
    return max(0.0, now - agent.since)


def agent_level(agent: AgentRow, now: float, limits: dict[str, float]) -> str:
    """'alarm' when the agent has been in their state longer than its limit."""
    limit = limits.get(agent.state)
    if limit is not None and in_state_seconds(agent, now) > limit:
        return "alarm"
    return "ok"
