"""The `[wallboard]` section of ccd.toml: intervals, the short-abandon threshold, colour thresholds,
alert limits, how often the daemon pushes, and the kiosk's page cycle.

The structs mirror `ccd.config.Base` (keyword-only, unknown keys refused) without importing it, so
`ccd.config` can import this module at its top without a cycle:

    from ccd.reports.settings import WallboardSettings
    class Config(Base):
        wallboard: WallboardSettings = msgspec.field(default_factory=WallboardSettings)
"""

from __future__ import annotations

import msgspec

from ccd.errors import ConfigError

# Interval lengths that divide an hour, so every interval starts on the clock's quarter/half hour.
INTERVAL_CHOICES: tuple[int, ...] = (5, 10, 15, 20, 30, 60)


class _Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Thresholds(_Base):
    """Where a number turns yellow (warn) and red (alarm).

    Service level is worse when lower: below `service_level_goal` it is yellow (and raises an
    alert), below `service_level_alarm` red. The others are worse when higher.
    """

    service_level_goal: float = 0.8
    service_level_alarm: float = 0.7
    abandon_rate_warn: float = 0.05
    abandon_rate_alarm: float = 0.10
    asa_warn_s: float = 20.0
    asa_alarm_s: float = 40.0
    aht_warn_s: float = 360.0
    aht_alarm_s: float = 480.0
    waiting_warn: int = 3
    waiting_alarm: int = 8
    # A caller waiting longer than `longest_wait_alarm_s` is an alert ("caller waiting too long").
    longest_wait_warn_s: float = 30.0
    longest_wait_alarm_s: float = 60.0


def _default_state_limits() -> dict[str, float]:
    # Seconds in a state before the agent's row turns red: a break past ten minutes, a wrap-up
    # past two, a call past fifteen, a station ringing past half a minute, a caller held past two.
    return {
        "not_ready": 600.0,
        "wrap_up": 120.0,
        "talking": 900.0,
        "on_hold": 120.0,
        "ringing": 30.0,
    }


class WallboardSettings(_Base):
    """`[wallboard]`.

    interval_minutes: report interval (15 or 30 usual; any of 5, 10, 15, 20, 30, 60).
    short_abandon_s: callers who hang up sooner than this are short abandons: counted apart and
    left out of the abandon rate and the service level (they hung up before anyone could answer).
    default_sl_target_s: "answered within T" for a queue whose own target is unknown.
    publish_per_second: at most this many pushes on topic 'wallboard' per second (coalesced).
    heartbeat_s: a push at least this often even when nothing changed (boards tell stale data
    from a quiet centre by it). stale_after_s: a board with no push for this long says its data
    is stale. kiosk_page_s: seconds each page shows in `--kiosk`. lookback_hours: at start, the
    daemon also reads this much of yesterday, so calls in progress across midnight are known.
    work_order_refresh_s: how often overdue/escalated work orders are re-read.
    state_limits: agent state -> seconds before the row turns red.
    """

    interval_minutes: int = 15
    short_abandon_s: float = 5.0
    default_sl_target_s: float = 20.0
    publish_per_second: float = 4.0
    heartbeat_s: float = 1.0
    stale_after_s: float = 5.0
    kiosk_page_s: float = 15.0
    lookback_hours: float = 4.0
    work_order_refresh_s: float = 15.0
    thresholds: Thresholds = msgspec.field(default_factory=Thresholds)
    state_limits: dict[str, float] = msgspec.field(default_factory=_default_state_limits)


def validate(settings: WallboardSettings, where: str = "[wallboard]") -> None:
    """Raise ConfigError naming the key for values the wallboard cannot work with."""

    def fail(key: str, why: str) -> None:
        raise ConfigError(f"{where} '{key}' {why}", key=f"wallboard.{key}")

    if settings.interval_minutes not in INTERVAL_CHOICES:
        fail("interval_minutes", f"must be one of {list(INTERVAL_CHOICES)}")
    if settings.short_abandon_s < 0:
        fail("short_abandon_s", "must be >= 0")
    for key in ("default_sl_target_s", "publish_per_second", "heartbeat_s", "stale_after_s",
                "kiosk_page_s", "work_order_refresh_s"):
        if getattr(settings, key) <= 0:
            fail(key, "must be greater than 0")
    if settings.lookback_hours < 0:
        fail("lookback_hours", "must be >= 0")
    t = settings.thresholds
    if not 0 <= t.service_level_alarm <= t.service_level_goal <= 1:
        fail("thresholds", "needs 0 <= service_level_alarm <= service_level_goal <= 1")
    for low, high in (
        ("abandon_rate_warn", "abandon_rate_alarm"),
        ("asa_warn_s", "asa_alarm_s"),
        ("aht_warn_s", "aht_alarm_s"),
        ("waiting_warn", "waiting_alarm"),
        ("longest_wait_warn_s", "longest_wait_alarm_s"),
    ):
        if getattr(t, low) > getattr(t, high):
            fail(f"thresholds.{low}", f"must not be above thresholds.{high}")
    known = {"ready", "ringing", "talking", "on_hold", "wrap_up", "not_ready"}
    for state, seconds in settings.state_limits.items():
        if state not in known:
            fail(f"state_limits.{state}", f"is not an agent state (known: {sorted(known)})")
        if seconds <= 0:
            fail(f"state_limits.{state}", "must be greater than 0")


def settings_of(config: object) -> WallboardSettings:
    """The `[wallboard]` section of a Config, or the defaults while config.py lacks it."""
    found = getattr(config, "wallboard", None)
    return found if isinstance(found, WallboardSettings) else WallboardSettings()
