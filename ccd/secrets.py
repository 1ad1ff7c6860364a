"""Secrets in the config: kept out of ccd.toml if the site wishes, and never shown or logged.

A secret setting (`SECRET_KEYS`) may hold the secret itself, or say where it is:

    password = "env:CCD_SIP_PASSWORD"          # an environment variable of the daemon
    password = "file:secrets/sip-password"     # a file (relative to ccd.toml), first line

A secret file must not be readable by group or others (like ssh keys): the config is refused
otherwise, naming the file and the key. `ccd config show` prints secrets as "********" (with
where they came from), and the daemon's log handler replaces any secret value that would appear
in a log line with "********".
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from ccd.errors import ConfigError

# (section, key) of every secret setting.
SECRET_KEYS: tuple[tuple[str, str], ...] = (("sip", "password"),)
MASK = "********"


def resolve(raw: str, *, file: str, key: str, base: Path) -> str:
    """The secret a setting names: itself, `env:NAME` or `file:PATH` (relative to `base`)."""
    if raw.startswith("env:"):
        name = raw[4:]
        if not name or name not in os.environ:
            raise ConfigError(f"{file}: '{key}' names the environment variable {name!r}, "
                              "which is not set", file=file, key=key)
        return os.environ[name]
    if raw.startswith("file:"):
        path = Path(raw[5:]).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            st = path.stat()
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"{file}: '{key}': cannot read the secret file {path}: "
                              f"{e.strerror}", file=file, key=key) from None
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise ConfigError(
                f"{file}: '{key}': the secret file {path} is readable by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 {path}", file=file, key=key)
        lines = text.splitlines()
        return lines[0].strip() if lines else ""
    return raw


def apply(config: Any, file: str) -> Any:
    """Resolve every secret setting of `config` (read from `file`); returns the new config."""
    import msgspec

    base = Path(file).resolve().parent
    for section, key in SECRET_KEYS:
        part = getattr(config, section)
        raw = getattr(part, key)
        if not isinstance(raw, str) or not raw:
            continue
        value = resolve(raw, file=file, key=f"{section}.{key}", base=base)
        if value != raw:
            config = msgspec.structs.replace(
                config, **{section: msgspec.structs.replace(part, **{key: value})})
    return config


def masked(data: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """`data` (a config as builtins) with each secret replaced by MASK and, when the file named
    a source (`raw`: the file as read), that source: '******** (env:CCD_SIP_PASSWORD)'."""
    for section, key in SECRET_KEYS:
        part = data.get(section)
        if not isinstance(part, dict) or not part.get(key):
            continue
        source = raw.get(section, {}).get(key, "") if isinstance(raw.get(section), dict) else ""
        named = isinstance(source, str) and source.startswith(("env:", "file:"))
        part[key] = f"{MASK} ({source})" if named else MASK
    return data


def values(config: Any) -> list[str]:
    """The secret values in `config` (non-empty, at least 4 characters), for the log filter."""
    out = []
    for section, key in SECRET_KEYS:
        value = getattr(getattr(config, section), key, "")
        if isinstance(value, str) and len(value) >= 4:
            out.append(value)
    return out


class SecretFilter(logging.Filter):
    """Replaces secret values in every log record's message (and its arguments)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = message
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, MASK)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                if secret in text:
                    record.exc_text = text.replace(secret, MASK)
                    record.exc_info = None
                    record.msg = f"{record.msg}\n{record.exc_text}"
                    record.exc_text = None
                    break
        return True


def install_log_filter(config: Any) -> None:
    """Mask `config`'s secrets in everything the root logger's handlers write."""
    secret_filter = SecretFilter(values(config))
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretFilter)]:
            handler.removeFilter(old)
        handler.addFilter(secret_filter)
