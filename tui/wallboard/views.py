"""What each part of the board shows, as Rich renderables built from a Wallboard (no I/O).

The widgets in app.py only place these; keeping the drawing here makes it testable without a
terminal and keeps app.py about behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ccd.reports.board import AgentRow, Alert, QueueRow, Wallboard
from ccd.reports.metrics import Figures
from tui.wallboard import format as fmt
from tui.wallboard.catalogue import Texts


def _figure_cells(f: Figures, waiting: int | None, longest: float | None, board: Wallboard
                  ) -> list[Text]:
    t = board.thresholds
    cells = [Text(""), Text("")]
    if waiting is not None:
        cells = [
            fmt.styled(str(waiting), fmt.metric_level("waiting", waiting, t)),
            fmt.styled(fmt.duration(longest), fmt.metric_level("longest_wait_s", longest, t)),
        ]
    cells += [
        fmt.styled(fmt.percent(f.service_level),
                   fmt.metric_level("service_level", f.service_level, t)),
        Text(str(f.offered)),
        Text(str(f.answered)),
        Text(str(f.abandoned)),
        Text(str(f.short_abandoned), style="dim"),
        fmt.styled(fmt.percent(f.abandon_rate),
                   fmt.metric_level("abandon_rate", f.abandon_rate, t)),
        fmt.styled(fmt.duration(f.asa_s), fmt.metric_level("asa_s", f.asa_s, t)),
        fmt.styled(fmt.duration(f.aht_s), fmt.metric_level("aht_s", f.aht_s, t)),
    ]
    return cells


METRIC_HEADERS = ("h_waiting", "h_longest", "h_sl", "h_offered", "h_answered", "h_abandoned",
                  "h_short", "h_abandon_rate", "h_asa", "h_aht")


def _table(t: Texts, first: str, first_width: int) -> Table:
    # No padding and no edges (the box's column separators are spaces): ten numeric columns
    # then fit an 80-column terminal.
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, padding=0)
    table.add_column(first, no_wrap=True, overflow="ellipsis", max_width=first_width)
    for key in METRIC_HEADERS:
        table.add_column(t(key), justify="right", no_wrap=True)
    return table


def headline(board: Wallboard, t: Texts) -> Table:
    """Today and the current interval: waiting, longest wait, SL, offered ... AHT."""
    table = _table(t, "", 12)
    h = board.headline
    table.add_row(Text(t("today"), style="bold"),
                  *_figure_cells(h.today, h.waiting, h.longest_wait_s, board))
    table.add_row(Text(t("h_interval", label=board.interval_label), style="bold"),
                  *_figure_cells(h.current, None, None, board))
    return table


def big_figures(board: Wallboard) -> dict[str, tuple[str, str]]:
    """The kiosk's big numbers: {key: (figure, level)}; level 'ok', 'warn', 'alarm' or ''."""
    h, t = board.headline, board.thresholds
    return {
        "waiting": (str(h.waiting), fmt.metric_level("waiting", h.waiting, t)),
        "longest": (fmt.duration(h.longest_wait_s),
                    fmt.metric_level("longest_wait_s", h.longest_wait_s, t)),
        "sl": (_digits(fmt.percent(h.today.service_level)),
               fmt.metric_level("service_level", h.today.service_level, t)),
        "abandon": (_digits(fmt.percent(h.today.abandon_rate)),
                    fmt.metric_level("abandon_rate", h.today.abandon_rate, t)),
        "ready": (str(h.agents.ready), ""),
        "talking": (str(h.agents.talking + h.agents.on_hold), ""),
    }


def _digits(text: str) -> str:
    return "-" if text == "—" else text  # Digits draws '-', not an em dash


def legend(board: Wallboard, t: Texts) -> Text:
    return Text(t("legend", seconds=f"{board.short_abandon_s:g}"), style="dim")


def agent_line(board: Wallboard, t: Texts) -> Text:
    a = board.headline.agents
    return Text(t("agents_line", logged_in=a.logged_in, ready=a.ready, ringing=a.ringing,
                  talking=a.talking, on_hold=a.on_hold, wrap_up=a.wrap_up,
                  not_ready=a.not_ready))


def queue_table(queues: Sequence[QueueRow], board: Wallboard, t: Texts, *, current: bool
                ) -> Table:
    """One row per queue: waiting, longest wait and today's (or this interval's) figures."""
    table = _table(t, t("queue"), 16)
    for q in queues:
        figures = q.current if current else q.today
        table.add_row(Text(q.name), *_figure_cells(figures, q.waiting, q.longest_wait_s, board))
    return table


def queues_page(board: Wallboard, t: Texts) -> Group:
    return Group(
        Text(t("today"), style="bold underline"),
        queue_table(board.queues, board, t, current=False),
        Text(t("current", label=board.interval_label), style="bold underline"),
        queue_table(board.queues, board, t, current=True),
        legend(board, t),
    )


def queue_name(board: Wallboard, queue: str) -> str:
    for q in board.queues:
        if q.queue == queue:
            return q.name
    return queue


def alert_text(alert: Alert, t: Texts, board: Wallboard) -> str:
    if alert.kind == "service_level":
        value = fmt.percent(alert.value)
    elif alert.kind == "long_wait":
        value = fmt.duration(alert.value)
    elif alert.kind == "trunk":
        value = str(alert.count or "")
    elif alert.kind == "surge":
        value = "∞" if alert.value is None else f"{alert.value:.1f}"
    else:
        value = "" if alert.value is None else str(alert.value)
    subject = queue_name(board, alert.subject) if alert.subject else t("all_queues")
    return t(f"alert_{alert.kind}", subject=subject, value=value, count=alert.count,
             text=alert.text, items="、".join(alert.items))


def alerts_summary(board: Wallboard, t: Texts, limit: int) -> Text:
    if not board.alerts:
        return Text(t("no_alerts"), style="green")
    out = Text()
    for alert in board.alerts[:limit]:
        style = fmt.LEVEL_STYLES["alarm" if alert.severity == "alarm" else "warn"]
        out.append("● ", style=style)
        out.append(alert_text(alert, t, board) + "\n")
    if len(board.alerts) > limit:
        out.append(f"… +{len(board.alerts) - limit}", style="dim")
    return out


def agent_cells(agent: AgentRow, now: float, board: Wallboard, t: Texts) -> list[Text]:
    """The agents grid's cells for one agent (name, number, state, time, caller, queue, calls)."""
    style = fmt.STATE_STYLES.get(agent.state, "")
    late = fmt.agent_level(agent, now, board.state_limits) == "alarm"
    state = t.state(agent.state) + (f"·{t.reason(agent.reason)}" if agent.reason else "")
    timer = fmt.duration(fmt.in_state_seconds(agent, now))
    return [
        Text(agent.name),
        Text(agent.number),
        Text(state, style=fmt.LEVEL_STYLES["alarm"] if late else style),
        Text(timer, style=fmt.LEVEL_STYLES["alarm"] if late else ""),
        Text(agent.caller),
        Text(queue_name(board, agent.queue) if agent.queue else ""),
        Text(str(agent.calls_today), justify="right"),
    ]


def agent_sort_key(key: str, now: float):  # -> Callable[[AgentRow], object]
    order = {s: i for i, s in enumerate(fmt.STATE_ORDER)}
    if key == "state":
        return lambda a: (order.get(a.state, 99), -fmt.in_state_seconds(a, now), a.agent)
    if key == "time":
        return lambda a: (-fmt.in_state_seconds(a, now), a.agent)
    if key == "calls":
        return lambda a: (-a.calls_today, a.agent)
    return lambda a: (a.number or a.agent, a.agent)


def alert_cells(alert: Alert, t: Texts, board: Wallboard, since: str) -> list[Text]:
    """since: when the alert began, as the board shows clock times ('' when unknown)."""
    style = fmt.LEVEL_STYLES["alarm" if alert.severity == "alarm" else "warn"]
    return [Text("●", style=style), Text(since), Text(alert_text(alert, t, board))]
