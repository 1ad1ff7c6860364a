"""Errors that leave the daemon: each carries a machine-readable id and details.

Socket replies carry `error_id` as their `code`; the CLI prints `message` and exits 1. Split by who
is at fault (STYLE.md): `ClientError` for a misbehaving or unauthorised socket client, `ConfigError`
for a bad config file, `CcdError` for the rest of the domain.
"""

from __future__ import annotations

from typing import Any


class CcdError(Exception):
    error_id = "error"

    def __init__(self, message: str, *, error_id: str | None = None, **details: Any) -> None:
        super().__init__(message)
        if error_id is not None:
            self.error_id = error_id
        self.message = message
        self.details = details


class ConfigError(CcdError):
    error_id = "bad-config"


class SchemaError(CcdError):
    error_id = "bad-schema"


class ClientError(CcdError):
    """The peer on the socket sent something we refuse; the connection (and daemon) carry on."""

    error_id = "bad-request"


class Forbidden(ClientError):
    error_id = "forbidden"


class NotFound(CcdError):
    error_id = "not-found"


class DatabaseBusy(CcdError):
    """Another process held SQLite's write lock for longer than we wait: nothing was written.

    Raised only where a refused write left no trace (a BEGIN IMMEDIATE that could not start, a
    queued write withdrawn before it ran), so the caller may safely try again.
    """

    error_id = "database-busy"
