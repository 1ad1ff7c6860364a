"""The `[acd]` section of ccd.toml: defaults for every queue, and queues and stations in TOML.

Queues and stations live in the database (`ccd queues ...`, `ccd stations ...`); the config may
define more, or override a database queue of the same name (the file wins, so a site kept under
version control says what runs). Times are seconds; 0 turns an optional feature off
(`max_wait_s = 0`: callers wait as long as they like; `announce_every_s = 0`: no announcements).

    [acd]
    ring_timeout_s = 20
    wrap_up_s = 30
    wrap_up_required = false      # true: a wrap-up code is needed before the next call

    [acd.queues.water]
    skills = { water = 1 }
    strategy = "best_skill"
    overflow = [{ after_s = 60, add_skills = { billing = 3 } },
                { after_s = 180, to_queue = "general" }]

    [acd.stations]
    seat01 = "sip:agent1001@10.0.0.21"
"""

from __future__ import annotations

from typing import Literal

import msgspec

from ccd.acd import model as m
from ccd.errors import ConfigError

StrategyName = Literal["longest_idle", "fewest_calls", "best_skill", "round_robin", "ring_all"]
STRATEGIES: tuple[str, ...] = tuple(s.value for s in m.Strategy)


class _Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class OverflowSettings(_Base):
    """After `after_s` seconds in the queue: also accept agents with `add_skills`
    (skill -> minimum level), or move the caller to `to_queue`. Give exactly one of the two."""

    after_s: float
    add_skills: dict[str, int] | None = None
    to_queue: str | None = None


class QueueSettings(_Base):
    """One queue. Fields left unset take the `[acd]` default of the same name."""

    display_name: str = ""
    skills: dict[str, int] = msgspec.field(default_factory=dict)
    strategy: StrategyName = "longest_idle"
    wrap_up_s: float | None = None
    service_level_s: float | None = None
    ring_timeout_s: float | None = None
    max_wait_s: float | None = None
    overflow: list[OverflowSettings] = msgspec.field(default_factory=list)
    weight: float = 1.0
    default_aht_s: float = 180.0
    music: str | None = None
    announce_every_s: float | None = None
    callback_key: str | None = None
    ivr_key: str | None = None
    wrap_up_required: bool | None = None


class AcdSettings(_Base):
    """The ACD's settings (see the module docstring and ccd.toml for each key)."""

    enabled: bool = True
    # Defaults for queues that do not set their own.
    ring_timeout_s: float = 20.0
    wrap_up_s: float = 30.0
    # The agent must record a wrap-up code (话后处理代码) before the next call; past the
    # wrap-up time they stay in wrap-up until they do.
    wrap_up_required: bool = False
    service_level_s: float = 20.0
    max_wait_s: float = 0.0
    announce_every_s: float = 60.0
    music: str = ""
    callback_key: str = "1"
    ivr_key: str = "*"
    # Caller priority: an IVR priority at or above vip_priority makes the caller a VIP (served
    # first); a repeat caller (another call within repeat_window_h hours) and a caller from an
    # area with an outage are credited these many seconds of extra wait.
    vip_priority: int = 10
    repeat_caller_s: float = 60.0
    repeat_window_h: float = 24.0
    outage_area_s: float = 30.0
    # Recording of bridged calls into paths.recordings.
    record_calls: bool = True
    # Number shown on agents' phones when they are rung ("": the caller's number).
    caller_id: str = ""
    # Where agent.dial sends an outside number: a SIP URI with {number} ("": dialling out is off).
    outbound_uri: str = ""
    # How long a team lead's phone rings for listen / whisper / barge.
    spy_ring_timeout_s: float = 20.0
    queues: dict[str, QueueSettings] = msgspec.field(default_factory=dict)
    # Station name -> SIP URI of the desk phone.
    stations: dict[str, str] = msgspec.field(default_factory=dict)


def _fail(key: str, why: str) -> ConfigError:
    return ConfigError(f"'acd.{key}' {why}", key=f"acd.{key}")


def check(settings: AcdSettings) -> None:
    """Refuse values that would only fail later (a bad key in a queue, a missing target)."""
    for key in ("ring_timeout_s", "spy_ring_timeout_s"):
        if getattr(settings, key) <= 0:
            raise _fail(key, "must be greater than 0")
    for key in ("wrap_up_s", "max_wait_s", "announce_every_s", "repeat_window_h"):
        if getattr(settings, key) < 0:
            raise _fail(key, "must be 0 or more")
    if settings.outbound_uri and "{number}" not in settings.outbound_uri:
        raise _fail("outbound_uri", "must contain {number}, e.g. sip:{number}@gateway")
    for name, uri in settings.stations.items():
        if not uri.startswith(("sip:", "sips:")):
            raise _fail(f"stations.{name}", f"must be a SIP URI, got {uri!r}")
    for name in settings.queues:
        queue_config(name, settings.queues[name], settings, known=set(settings.queues))


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _key(value: str | None, default: str) -> str | None:
    key = default if value is None else value
    return key or None


def queue_config(
    name: str, q: QueueSettings, defaults: AcdSettings, known: set[str] | None = None
) -> m.QueueConfig:
    """The core's QueueConfig for queue `name`, with unset fields from `defaults`.

    known: queue names an overflow may move to (None: do not check).
    """
    where = f"queues.{name}"
    overflow = []
    for i, rule in enumerate(q.overflow):
        if known is not None and rule.to_queue is not None and rule.to_queue not in known:
            raise _fail(f"{where}.overflow[{i}].to_queue", f"names no queue: {rule.to_queue!r}")
        try:
            overflow.append(m.OverflowRule(rule.after_s, rule.add_skills, rule.to_queue))
        except ConfigError as exc:
            raise _fail(f"{where}.overflow[{i}]", exc.message) from None
    max_wait = _or(q.max_wait_s, defaults.max_wait_s)
    announce = _or(q.announce_every_s, defaults.announce_every_s)
    music = defaults.music if q.music is None else q.music
    try:
        return m.QueueConfig(
            name,
            dict(q.skills),
            m.Strategy(q.strategy),
            wrap_up_s=_or(q.wrap_up_s, defaults.wrap_up_s),
            service_level_s=_or(q.service_level_s, defaults.service_level_s),
            overflow=tuple(overflow),
            max_wait_s=max_wait or None,
            ring_timeout_s=_or(q.ring_timeout_s, defaults.ring_timeout_s),
            weight=q.weight,
            default_aht_s=q.default_aht_s,
            music=music or None,
            announce_every_s=announce or None,
            callback_key=_key(q.callback_key, defaults.callback_key),
            ivr_key=_key(q.ivr_key, defaults.ivr_key),
            wrap_up_required=(
                defaults.wrap_up_required if q.wrap_up_required is None else q.wrap_up_required
            ),
        )
    except ConfigError as exc:
        raise _fail(where, exc.message) from None


def weights(settings: AcdSettings) -> m.PriorityWeights:
    return m.PriorityWeights(settings.repeat_caller_s, settings.outage_area_s)


def _convert(data: object, kind: type, prefix: str) -> object:
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        text, _, where = str(exc).rpartition(" - at ")
        key = where.strip("`").removeprefix("$").lstrip(".").replace("[", ".").replace("]", "")
        dotted = ".".join(p for p in ("acd", prefix, key) if p)
        raise ConfigError(f"'{dotted}': {text or exc}", key=dotted) from None


def parse(data: dict[str, object]) -> AcdSettings:
    """An `[acd]` table (as read from TOML) as checked settings; errors name the key."""
    top = {k: v for k, v in data.items() if k != "queues"}
    settings = _convert(top, AcdSettings, "")
    assert isinstance(settings, AcdSettings)
    queues = data.get("queues") or {}
    if not isinstance(queues, dict):
        raise ConfigError("'acd.queues' must be a table", key="acd.queues")
    for name, table in queues.items():
        queue = _convert(table, QueueSettings, f"queues.{name}")
        assert isinstance(queue, QueueSettings)
        settings.queues[name] = queue
    check(settings)
    return settings


def from_config(config: object) -> AcdSettings:
    """The `[acd]` settings of a loaded `ccd.config.Config` (defaults when it has none yet)."""
    settings = getattr(config, "acd", None)
    if settings is None:
        return AcdSettings()
    if isinstance(settings, AcdSettings):
        return settings
    return parse(msgspec.to_builtins(settings))
