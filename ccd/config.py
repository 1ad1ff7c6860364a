"""The one config file, `ccd.toml`, parsed into typed structs.

Every setting has a default that runs on one machine, so an empty file is a valid config. Errors
name the file and the dotted key, and for an unknown key suggest the nearest valid one. Relative
paths are taken from the folder holding the config file, so a site folder made by `ccd init` can
be moved as a whole.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, get_type_hints

import msgspec

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from ccd import config_addresses, console_settings, secrets
from ccd.acd import settings as acd_settings
from ccd.acd.settings import AcdSettings
from ccd.console_settings import ConsoleSettings
from ccd.errors import ConfigError
from ccd.ivr import surge as surge_settings
from ccd.ivr.surge import SurgeSettings
from ccd.reports import settings as wallboard_settings
from ccd.reports.settings import WallboardSettings
from ccd.workorders import settings as workorder_settings
from ccd.workorders.settings import WorkOrderSettings
from db import settings as database_settings
from db.settings import DatabaseSettings
from hw.dialogic import settings as dialogic_settings
from hw.dialogic.settings import DialogicSettings
from hw.modem import settings as modem_settings
from hw.modem.settings import ModemSettings


class Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class SiteConfig(Base):
    name: str = "演示水务热线"
    language: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"


class PathsConfig(Base):
    data_dir: str = "var"
    database: str = "var/ccd.sqlite3"
    run_dir: str = "var/run"
    prompts: str = "var/prompts"
    recordings: str = "var/recordings"
    flows: str = "var/flows"
    backups: str = "var/backups"


class LogConfig(Base):
    level: Literal["debug", "info", "warning", "error"] = "info"
    # 'journal': "<6>ccd.api: message" lines that journald maps to priorities;
    # 'plain': with a timestamp, for a terminal.
    format: Literal["journal", "plain"] = "plain"


class ApiConfig(Base):
    socket: str = "ccd.sock"  # relative to paths.run_dir
    socket_mode: int = 0o660
    group: str = "ccd"
    max_connections: int = 256
    max_line_bytes: int = 65536
    requests_per_second: float = 50.0
    burst: int = 100
    idle_timeout_s: float = 900.0
    login_timeout_s: float = 10.0
    peer_credentials: bool = True
    max_connections_per_uid: int = 64
    max_sessions_per_user: int = 8
    login_free_failures: int = 3
    login_backoff_max_s: float = 300.0


class TrunkConfig(Base):
    """One provider trunk ([[sip.trunks]]): where to REGISTER and with what, which addresses
    its calls come from, and which dialled numbers (DIDs) go to which flow."""

    name: str
    registrar: str = ""  # empty: no registration (an IP trunk that sends calls anyway)
    username: str = ""
    password: str = ""
    realm: str = ""
    expires: int = 300
    retry_s: float = 30.0
    max_retry_s: float = 600.0
    allowed: list[str] = msgspec.field(default_factory=list)
    dids: dict[str, str] = msgspec.field(default_factory=dict)


class SipConfig(Base):
    enabled: bool = True
    listen: str = "127.0.0.1:5060"
    edge: Literal["kamailio", "none"] = "kamailio"
    edge_retry_after_s: int = 10
    edge_requests_per_source: int = 200
    workers: int = 1
    rtp_port_start: int = 20000
    rtp_ports_per_worker: int = 200
    max_calls_per_worker: int = 28
    max_new_calls_per_second: int = 8
    legs_reserved_per_call: int = 0
    followup_legs_per_worker: int = 4
    overflow_legs_per_worker: int = 2
    allowed_peers: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.1"])
    public_address: str = ""
    registrar: str = ""
    username: str = ""
    password: str = ""
    realm: str = "*"
    register_expires_s: int = 300
    trunks: list[TrunkConfig] = msgspec.field(default_factory=list)


class IvrConfig(Base):
    flow: str = "utility.toml"
    overflow_flow: str = "overflow.toml"
    agent_uri: str = ""
    surge: SurgeSettings = msgspec.field(default_factory=SurgeSettings)


class Config(Base):
    site: SiteConfig = msgspec.field(default_factory=SiteConfig)
    paths: PathsConfig = msgspec.field(default_factory=PathsConfig)
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    api: ApiConfig = msgspec.field(default_factory=ApiConfig)
    sip: SipConfig = msgspec.field(default_factory=SipConfig)
    ivr: IvrConfig = msgspec.field(default_factory=IvrConfig)
    acd: AcdSettings = msgspec.field(default_factory=AcdSettings)
    workorders: WorkOrderSettings = msgspec.field(default_factory=WorkOrderSettings)
    wallboard: WallboardSettings = msgspec.field(default_factory=WallboardSettings)
    console: ConsoleSettings = msgspec.field(default_factory=ConsoleSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    # Analog lines, one `[[modem]]` table each (none by default; ccd.toml shows an example).
    modem: list[ModemSettings] = msgspec.field(default_factory=list)
    # Dialogic voice-board channels, one `[[dialogic]]` table each (none by default).
    dialogic: list[DialogicSettings] = msgspec.field(default_factory=list)
    # Where the file was read from: relative paths are resolved against its folder.
    source: str = ""

    def path(self, relative: str) -> Path:
        """An absolute path for a path setting, relative to the config file's folder."""
        p = Path(relative).expanduser()
        if p.is_absolute():
            return p
        base = Path(self.source).parent if self.source else Path.cwd()
        return (base / p).resolve()

    @property
    def database_path(self) -> Path:
        return self.path(self.paths.database)

    @property
    def run_dir(self) -> Path:
        return self.path(self.paths.run_dir)

    @property
    def socket_path(self) -> Path:
        sock = Path(self.api.socket)
        return sock if sock.is_absolute() else self.run_dir / sock


SECTIONS: dict[str, type[msgspec.Struct]] = {
    name: hint for name, hint in get_type_hints(Config).items() if name != "source"
}


def _fields(struct: type[msgspec.Struct]) -> tuple[str, ...]:
    return struct.__struct_fields__


def _is_struct(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, msgspec.Struct)


def _check_keys(
    data: dict[str, Any], struct: type[msgspec.Struct], file: str, prefix: str = ""
) -> None:
    """Refuse unknown keys before msgspec sees them, suggesting the nearest valid key."""
    valid = [f for f in _fields(struct) if f != "source"]
    hints = get_type_hints(struct)
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in valid:
            near = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            hint = f"; did you mean '{prefix}{near[0]}'?" if near else ""
            raise ConfigError(
                f"{file}: unknown key '{dotted}'{hint}", file=file, key=dotted, suggestion=near
            )
        sub = hints[key]
        if _is_struct(sub):
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{file}: '{dotted}' must be a table ([{dotted}]), not {type(value).__name__}",
                    file=file,
                    key=dotted,
                )
            _check_keys(value, sub, file, f"{dotted}.")
        elif getattr(sub, "__origin__", None) is list and _is_struct(sub.__args__[0]):
            for i, item in enumerate(value if isinstance(value, list) else []):
                if isinstance(item, dict):
                    _check_keys(item, sub.__args__[0], file, f"{dotted}[{i}].")


def _validate(config: Config, file: str) -> None:
    def fail(key: str, why: str) -> None:
        raise ConfigError(f"{file}: '{key}' {why}", file=file, key=key)

    host, sep, port = config.sip.listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail("sip.listen", f"must be HOST:PORT, got {config.sip.listen!r}")
    if not 1 <= config.sip.workers <= 64:
        fail("sip.workers", f"must be between 1 and 64, got {config.sip.workers}")
    if not 1 <= config.sip.max_calls_per_worker <= 32:
        fail("sip.max_calls_per_worker", "must be between 1 and 32 (the pjsua2 build's cap)")
    # notes/pjsua2.md: the 64-handle ioqueue aborts when maxCalls > (64 - new calls/s) / 2.
    budget = (64 - config.sip.max_new_calls_per_second) // 2
    if config.sip.max_calls_per_worker > budget:
        fail(
            "sip.max_calls_per_worker",
            f"is {config.sip.max_calls_per_worker}, but with max_new_calls_per_second = "
            f"{config.sip.max_new_calls_per_second} at most {budget} calls fit one worker's "
            "64 media sockets",
        )
    names: set[str] = set()
    for i, trunk in enumerate(config.sip.trunks):
        key = f"sip.trunks[{i}]"
        if not trunk.name or trunk.name in names:
            fail(f"{key}.name", f"must be set and unique, got {trunk.name!r}")
        names.add(trunk.name)
        if trunk.registrar and not trunk.registrar.startswith("sip:"):
            fail(f"{key}.registrar", f"must be a SIP URI such as sip:203.0.113.5, got "
                 f"{trunk.registrar!r}")
        if trunk.registrar and not trunk.username:
            fail(f"{key}.username", "is needed to register")
        if trunk.expires < 30 or trunk.retry_s <= 0 or trunk.max_retry_s < trunk.retry_s:
            fail(f"{key}.expires", "must be >= 30 s, with 0 < retry_s <= max_retry_s")
        for peer in trunk.allowed:
            try:
                ipaddress.ip_network(peer.strip(), strict=False)
            except ValueError:
                fail(f"{key}.allowed", f"{peer!r} is not an IP address or network (CIDR)")
    if config.sip.edge == "kamailio" and host in ("0.0.0.0", "::") and not (
            config.sip.public_address):
        fail("sip.public_address", "is needed when the edge listens on every interface "
             f"({config.sip.listen}): it is the address callers send audio to")
    if config.sip.edge_retry_after_s < 1 or config.sip.edge_requests_per_source < 1:
        fail("sip.edge_retry_after_s" if config.sip.edge_retry_after_s < 1
             else "sip.edge_requests_per_source", "must be at least 1")
    if config.sip.registrar and not config.sip.registrar.startswith(("sip:", "sips:")):
        fail("sip.registrar", f"must be a SIP URI such as sip:provider.example, got "
             f"{config.sip.registrar!r}")
    if config.sip.registrar and not config.sip.username:
        fail("sip.username", "is needed to register with sip.registrar")
    config_addresses.check(config, file)
    bad = surge_settings.check(config.ivr.surge)
    if bad is not None:
        fail(f"ivr.surge.{bad[0]}", bad[1])
    pool = config.sip.followup_legs_per_worker
    if not 0 <= pool <= config.sip.max_calls_per_worker - 2:
        fail("sip.followup_legs_per_worker", "must be between 0 and max_calls_per_worker - 2")
    if not 0 <= config.sip.overflow_legs_per_worker <= pool:
        fail("sip.overflow_legs_per_worker", "must be between 0 and followup_legs_per_worker")
    if config.sip.rtp_ports_per_worker < 4 * config.sip.max_calls_per_worker:
        fail("sip.rtp_ports_per_worker", "must be at least 4 per call (RTP and RTCP, and reuse)")
    for key in ("max_connections", "max_line_bytes", "burst", "max_connections_per_uid",
                "max_sessions_per_user"):
        if getattr(config.api, key) < 1:
            fail(f"api.{key}", "must be at least 1")
    for key in ("requests_per_second", "idle_timeout_s", "login_timeout_s",
                "login_backoff_max_s"):
        if getattr(config.api, key) <= 0:
            fail(f"api.{key}", "must be greater than 0")
    try:
        acd_settings.check(config.acd)
        workorder_settings.validate(config.workorders)
        wallboard_settings.validate(config.wallboard)
        console_settings.validate(config.console)
        database_settings.validate(config.database)
        modem_settings.validate(config.modem)
        dialogic_settings.validate(config.dialogic)
    except ConfigError as e:
        raise ConfigError(f"{file}: {e.message}", file=file, **e.details) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """`section.key=value` → (['section', 'key'], value); the value is read as TOML if it can be."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or "." not in key:
        raise ConfigError(
            f"--set {text!r}: expected SECTION.KEY=VALUE, e.g. sip.listen=127.0.0.1:5099",
            key=key,
        )
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def _apply(data: dict[str, Any], keys: list[str], value: Any) -> None:
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {'.'.join(keys)}: '{k}' is not a table", key=".".join(keys))
    node[keys[-1]] = value


def default_path() -> Path:
    env = os.environ.get("CCD_CONFIG")
    return Path(env) if env else Path("ccd.toml")


def load(path: Path | str | None = None, overrides: Iterable[str] = ()) -> Config:
    """Read and validate a config file; `overrides` are `section.key=value` strings from `--set`.

    A missing file is an error, also when no path was asked for and the current folder has no
    `ccd.toml`: silently running on defaults hid typos in `--config` and wrong folders.
    """
    file = Path(path) if path is not None else default_path()
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{file}: not valid TOML: {e}", file=str(file)) from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{file}: cannot read: {e}", file=str(file)) from None
    else:
        raise ConfigError(
            f"{file}: no such config file; make a site with `ccd init --dir DIR` and pass "
            "`--config DIR/ccd.toml` (or set CCD_CONFIG)", file=str(file))
    _check_keys(data, Config, str(file))
    for text in overrides:
        keys, value = parse_override(text)
        _check_keys(_nest(keys, value), Config, f"--set {text}")
        _apply(data, keys, value)
    data["source"] = str(file.resolve())
    try:
        config = msgspec.convert(data, Config, strict=False)
    except msgspec.ValidationError as e:
        raise ConfigError(_explain(str(e), str(file)), file=str(file)) from None
    config = secrets.apply(config, str(file))  # 'env:NAME' and 'file:PATH' secrets
    _validate(config, str(file))
    return config


def _nest(keys: list[str], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _apply(out, keys, value)
    return out


def _explain(message: str, file: str) -> str:
    """msgspec says 'Expected `int`, got `str` - at `$.sip.workers`': name the key first."""
    text, _, where = message.rpartition(" - at ")
    if where.startswith("`$.") and text:
        key = where.strip("`")[2:]
        key = key.replace("[", ".").replace("]", "")
        return f"{file}: '{key}': {text}"
    return f"{file}: {message}"


def dump_defaults() -> dict[str, dict[str, Any]]:
    """Every setting and its default, by section (used by tests to keep ccd.toml complete)."""
    out = msgspec.to_builtins(Config())
    out.pop("source", None)
    for entries in ("modem", "dialogic"):  # arrays of tables: ccd.toml has a commented example instead
        out.pop(entries, None)
    return out
