"""The ACD's configuration tables: queues, stations and agents' skills, read and written.

Queues: the `queues` row (name, display name, strategy, wrap-up, service-level target, ring
time-out, maximum wait, wrap-up code required), its `queue_skills`, and the other
`QueueSettings` fields as JSON in `queues.settings`; a column field left unset is listed in that
JSON's "inherit" and takes the `[acd]` default (rows written by other tools, such as the demo
data, use their columns; a NULL `wrap_up_required` also takes the default). Stations:
`stations` (name -> SIP URI). Agents: enabled users with the 'agent' role and their
`agent_skills`. Queues and stations may also come from `[acd]` in ccd.toml; a queue or station
defined in both is taken from the file.

Every write commits in one transaction (the connection is in autocommit mode).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlite_utils

from ccd.acd import model as m
from ccd.acd.settings import AcdSettings, QueueSettings, queue_config
from ccd.errors import CcdError, ClientError, ConfigError, NotFound
from ccd.timefmt import iso
from db import lookup
from db.users import transaction

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# QueueSettings fields stored in their own columns; the rest go to queues.settings as JSON.
_COLUMNS = {
    "display_name": "display_name",
    "strategy": "strategy",
    "wrap_up_s": "wrap_up_s",
    "service_level_s": "sl_target_s",
    "ring_timeout_s": "ring_timeout_s",
    "max_wait_s": "max_wait_s",
    "wrap_up_required": "wrap_up_required",
}


class NoSuchStation(NotFound):
    error_id = "no-such-station"


class BadName(ClientError):
    error_id = "bad-name"


def check_name(kind: str, name: str) -> None:
    if not NAME.match(name):
        raise BadName(
            f"bad {kind} name {name!r}: lower-case letters, digits, _ and -, at most 32",
            kind=kind,
            name=name,
        )


# ---------------------------------------------------------------- queues


def _queue_from_row(row: dict[str, Any], skills: dict[str, int]) -> QueueSettings:
    extra = json.loads(row["settings"] or "{}")
    inherit = set(extra.pop("inherit", ()))  # columns left unset: the [acd] default applies
    data = {field: None if field in inherit else row[column]
            for field, column in _COLUMNS.items()}
    return msgspec.convert({**extra, **data, "skills": skills}, QueueSettings, strict=False)


def db_queues(db: sqlite_utils.Database) -> dict[str, QueueSettings]:
    """Every queue in the database, by name."""
    skills: dict[str, dict[str, int]] = {}
    for queue, skill, level in db.execute("SELECT queue, skill, min_level FROM queue_skills"):
        skills.setdefault(queue, {})[skill] = level
    return {
        row["name"]: _queue_from_row(row, skills.get(row["name"], {}))
        for row in db.query("SELECT * FROM queues ORDER BY name")
    }


def all_queues(db: sqlite_utils.Database, settings: AcdSettings) -> dict[str, QueueSettings]:
    """Database queues and `[acd.queues]`, the file winning for a name in both."""
    return {**db_queues(db), **settings.queues}


def queue_configs(db: sqlite_utils.Database, settings: AcdSettings) -> list[m.QueueConfig]:
    """The core's configs of every queue, checked (overflow targets must exist)."""
    queues = all_queues(db, settings)
    known = set(queues)
    return [queue_config(name, q, settings, known) for name, q in queues.items()]


def _write_queue(db: sqlite_utils.Database, name: str, q: QueueSettings) -> None:
    data = msgspec.to_builtins(q)
    skills = data.pop("skills")
    columns = {column: data.pop(field) for field, column in _COLUMNS.items()}
    inherit = [field for field, column in _COLUMNS.items() if columns[column] is None]
    for field in inherit:
        columns.pop(_COLUMNS[field])  # the column's default, marked as "take [acd]'s"
    extra = {k: v for k, v in data.items() if v is not None and v != [] and v != {}}
    if inherit:
        extra["inherit"] = inherit
    db.execute("DELETE FROM queues WHERE name = ?", [name])
    names = ["name", *columns, "settings"]
    db.execute(
        f"INSERT INTO queues ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [name, *columns.values(), json.dumps(extra, ensure_ascii=False)],
    )
    for skill, level in skills.items():
        db.execute("INSERT OR IGNORE INTO skills (name) VALUES (?)", [skill])
        db.execute(
            "INSERT INTO queue_skills (queue, skill, min_level) VALUES (?, ?, ?)",
            [name, skill, level],
        )


def _check_queue(
    db: sqlite_utils.Database, name: str, q: QueueSettings, settings: AcdSettings
) -> None:
    """Raise the config error this queue would cause when the ACD loads it."""
    queues = {**all_queues(db, settings), name: q}
    try:
        queue_config(name, q, settings, set(queues))
    except ConfigError as exc:
        raise ClientError(exc.message, error_id="bad-queue", queue=name, **exc.details) from None


def add_queue(
    db: sqlite_utils.Database, name: str, q: QueueSettings, settings: AcdSettings
) -> QueueSettings:
    """Create queue `name`; raises `queue-exists`, `bad-name`, `bad-queue`."""
    check_name("queue", name)
    _check_queue(db, name, q, settings)
    with transaction(db):
        if db.execute("SELECT 1 FROM queues WHERE name = ?", [name]).fetchone():
            raise CcdError(f"queue {name!r} already exists", error_id="queue-exists", queue=name)
        _write_queue(db, name, q)
    return db_queues(db)[name]


def set_queue(
    db: sqlite_utils.Database, name: str, changes: dict[str, Any], settings: AcdSettings
) -> QueueSettings:
    """Change fields of database queue `name` (QueueSettings field -> value; skills replace
    the old set). Raises `no-such-queue`, `bad-queue`."""
    current = db_queues(db).get(name)
    if current is None:
        raise NotFound(f"no queue {name!r} in the database", error_id="no-such-queue", queue=name)
    data = {**msgspec.to_builtins(current), **changes}
    try:
        q = msgspec.convert(data, QueueSettings, strict=False)
    except msgspec.ValidationError as exc:
        raise ClientError(f"queue {name}: {exc}", error_id="bad-queue", queue=name) from None
    _check_queue(db, name, q, settings)
    with transaction(db):
        _write_queue(db, name, q)
    return db_queues(db)[name]


def remove_queue(db: sqlite_utils.Database, name: str, settings: AcdSettings) -> None:
    """Delete database queue `name`; refused while another queue overflows to it."""
    with transaction(db):
        if not db.execute("SELECT 1 FROM queues WHERE name = ?", [name]).fetchone():
            raise NotFound(f"no queue {name!r} in the database", error_id="no-such-queue",
                           queue=name)
        for other, q in all_queues(db, settings).items():
            if other != name and any(rule.to_queue == name for rule in q.overflow):
                raise CcdError(
                    f"queue {other!r} overflows to {name!r}: change it first",
                    error_id="queue-in-use",
                    queue=name,
                    used_by=other,
                )
        db.execute("DELETE FROM queues WHERE name = ?", [name])


def queue_rows(db: sqlite_utils.Database, settings: AcdSettings) -> list[dict[str, Any]]:
    """Every queue for listing: its settings as effective values, and where it is defined."""
    in_db = db_queues(db)
    rows = []
    queues = all_queues(db, settings)
    for name, q in sorted(queues.items()):
        config = queue_config(name, q, settings)
        rows.append(
            {
                "name": name,
                "display_name": q.display_name,
                "source": "config" if name in settings.queues else "db",
                "also_in_db": name in settings.queues and name in in_db,
                "skills": dict(config.skills),
                "strategy": config.strategy.value,
                "wrap_up_s": config.wrap_up_s,
                "service_level_s": config.service_level_s,
                "ring_timeout_s": config.ring_timeout_s,
                "max_wait_s": config.max_wait_s,
                "overflow": [
                    {k: v for k, v in msgspec.to_builtins(rule).items() if v is not None}
                    for rule in q.overflow
                ],
                "weight": config.weight,
                "music": config.music,
                "announce_every_s": config.announce_every_s,
                "callback_key": config.callback_key,
                "ivr_key": config.ivr_key,
                "wrap_up_required": config.wrap_up_required,
            }
        )
    return rows


# ---------------------------------------------------------------- stations


@dataclass(frozen=True)
class Station:
    name: str
    uri: str
    kind: str = "sip"
    description: str = ""
    source: str = "db"


class StationDirectory:
    """Station name -> where to ring it, from the database and `[acd.stations]`.

    Looked up at ring time, so a station changed with `ccd stations` applies to the next call.
    """

    def __init__(self, db: sqlite_utils.Database, settings: AcdSettings) -> None:
        self.db = db
        self.settings = settings

    def all(self) -> dict[str, Station]:
        out = {
            row["name"]: Station(row["name"], row["uri"], row["kind"], row["description"])
            for row in self.db.query("SELECT * FROM stations ORDER BY name")
        }
        for name, uri in self.settings.stations.items():
            out[name] = Station(name, uri, "sip", "", "config")
        return dict(sorted(out.items()))

    def get(self, name: str) -> Station:
        """The station called `name`; raises `no-such-station`."""
        uri = self.settings.stations.get(name)
        if uri is not None:
            return Station(name, uri, "sip", "", "config")
        row = self.db.execute(
            "SELECT name, uri, kind, description FROM stations WHERE name = ?", [name]
        ).fetchone()
        if row is None:
            raise NoSuchStation(f"no station {name!r}", station=name)
        return Station(*row)


def add_station(
    db: sqlite_utils.Database, name: str, uri: str, description: str = "", kind: str = "sip"
) -> Station:
    """Create station `name` at `uri`; raises `station-exists`, `bad-name`, `bad-uri`."""
    check_name("station", name)
    if not uri.startswith(("sip:", "sips:")):
        raise ClientError(f"not a SIP URI: {uri!r}", error_id="bad-uri", uri=uri)
    with transaction(db):
        if db.execute("SELECT 1 FROM stations WHERE name = ?", [name]).fetchone():
            raise CcdError(
                f"station {name!r} already exists", error_id="station-exists", station=name
            )
        db.execute(
            "INSERT INTO stations (name, uri, kind, description) VALUES (?, ?, ?, ?)",
            [name, uri, kind, description],
        )
    return Station(name, uri, kind, description)


def remove_station(db: sqlite_utils.Database, name: str) -> None:
    with transaction(db):
        cursor = db.execute("DELETE FROM stations WHERE name = ?", [name])
        if cursor.rowcount == 0:
            raise NoSuchStation(f"no station {name!r} in the database", station=name)


# ---------------------------------------------------------------- agents and callers


def agent_configs(db: sqlite_utils.Database) -> list[m.AgentConfig]:
    """Every enabled user with the 'agent' role, with skills."""
    skills: dict[int, dict[str, int]] = {}
    for user_id, skill, level in db.execute("SELECT user_id, skill, level FROM agent_skills"):
        skills.setdefault(user_id, {})[skill] = level
    rows = db.execute(
        "SELECT u.id, u.username, u.display_name FROM users u JOIN user_roles r"
        " ON r.user_id = u.id WHERE r.role = 'agent' AND u.disabled = 0 ORDER BY u.id"
    ).fetchall()
    return [m.AgentConfig(name, skills.get(uid, {}), display) for uid, name, display in rows]


def agent_config(db: sqlite_utils.Database, username: str) -> m.AgentConfig | None:
    """The agent `username` as the database has it now (None: not an enabled agent)."""
    for config in agent_configs(db):
        if config.agent == username:
            return config
    return None


def caller_flags(
    db: sqlite_utils.Database,
    number: str,
    call_id: str,
    settings: AcdSettings,
    now: float | None = None,
) -> dict[str, bool]:
    """Priority flags for a caller: VIP customer, repeat caller, caller in an outage area.

    number: the caller ID; call_id: this call (not counted as a repeat); now: Unix time.
    """
    now = time.time() if now is None else now
    flags = {"vip": False, "repeat_caller": False, "outage_area": False}
    if not number:
        return flags
    customer = lookup.customer_by_phone(db, number, now=now)
    if customer is not None:
        flags["vip"] = bool(customer["vip"])
        flags["outage_area"] = bool(customer.get("outages"))
    if settings.repeat_window_h > 0:
        since = iso(now - settings.repeat_window_h * 3600)
        flags["repeat_caller"] = repeat_caller(db, number, customer, call_id, since)
    return flags


def repeat_caller(db: sqlite_utils.Database, number: str, customer: dict[str, Any] | None,
                  call_id: str, since: str) -> bool:
    """Whether this caller called before (since `since`, ISO time), by the same identity the
    number lookups use: the customer first (a call recorded for them, or from any of their
    phones), then the normalised number ('+8613955556666' and '13955556666' are one caller).

    number: the caller ID as received; customer: `lookup.customer_by_phone` for it (None:
    unknown); call_id: this call, not counted."""
    normal = lookup.normalize_phone(number)
    mine = {normal} if normal else set()
    customer_id = None
    if customer is not None:
        customer_id = customer["id"]
        mine |= {lookup.normalize_phone(p["phone"]) for p in customer.get("phones") or []}
    mine.discard("")
    if not mine and customer_id is None:
        return False
    # Caller IDs are stored as received; the last 7 digits narrow the candidates, and each
    # is normalised before it is compared.
    tails = sorted({n[-7:] for n in mine})
    where = " OR ".join(["src LIKE ?"] * len(tails) + (["customer_id = ?"] if customer_id else []))
    args: list[Any] = [since, call_id, *(f"%{t}%" for t in tails)]
    if customer_id is not None:
        args.append(customer_id)
    for src, cid in db.execute(
        f"SELECT src, customer_id FROM calls WHERE start >= ? AND id != ? AND ({where})", args
    ):
        if (customer_id is not None and cid == customer_id) or lookup.normalize_phone(src) in mine:
            return True
    return False
