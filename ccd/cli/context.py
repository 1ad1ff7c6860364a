"""What the global options give every command: the config (loaded on first use) and a client."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import typer

from ccd import config as configuration
from ccd.errors import CcdError


@dataclass
class State:
    config_path: Path | None = None
    overrides: list[str] = field(default_factory=list)
    _config: configuration.Config | None = None

    @property
    def config(self) -> configuration.Config:
        if self._config is None:
            self._config = configuration.load(self.config_path, self.overrides)
        return self._config


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def fail(message: str) -> typer.Exit:
    """Print a one-line message that says what to do, and exit 1."""
    typer.echo(f"ccd: {message}", err=True)
    return typer.Exit(code=1)


def connect(ctx: typer.Context):  # -> SyncClient
    """A logged-in client: by user and password from $CCD_USER / $CCD_PASSWORD, else by peer uid."""
    from ccd.api.client import SyncClient

    config = state(ctx).config
    try:
        client = SyncClient.connect(config.socket_path)
    except CcdError as e:
        raise fail(f"{e.message}; is `ccd run` running with this config?") from None
    user = os.environ.get("CCD_USER")
    try:
        if user:
            client.login(user, os.environ.get("CCD_PASSWORD", ""))
        else:
            client.login_peer()
    except CcdError as e:
        client.close()
        raise fail(f"login refused: {e.message}") from None
    return client
