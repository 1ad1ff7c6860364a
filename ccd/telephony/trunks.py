"""The provider trunks of `[[sip.trunks]]`: one registration each (hw/registrar.py), the calls
they may send (their addresses join the edge's allowed peers), and dialled number -> flow.

With the edge, registrations name the edge's public address as Contact, so calls reach Kamailio.
A SIGHUP re-reads the trunks: a changed password is tried at once, new trunks start, removed
ones stop. A trunk that is not registered shows as an alert on the wallboard.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import trio

from ccd.config import Config, TrunkConfig
from ccd.reports.board import Alert
from hw.registrar import TrunkAccount, TrunkRegistration


def account(trunk: TrunkConfig) -> TrunkAccount:
    return TrunkAccount(trunk.name, trunk.registrar, trunk.username, trunk.password,
                        trunk.realm, trunk.expires, trunk.retry_s, trunk.max_retry_s)


def trunk_list(config: Config) -> list[TrunkConfig]:
    """[[sip.trunks]], plus the single sip.registrar of older configs as trunk 'default'."""
    trunks = list(config.sip.trunks)
    if config.sip.registrar and not any(t.name == "default" for t in trunks):
        trunks.append(TrunkConfig(name="default", registrar=config.sip.registrar,
                                  username=config.sip.username, password=config.sip.password,
                                  realm="" if config.sip.realm == "*" else config.sip.realm,
                                  expires=config.sip.register_expires_s))
    return trunks


def trunk_peers(config: Config) -> list[str]:
    """Addresses trunks send calls from: their `allowed` lists and registrars given as IPs."""
    peers: list[str] = []
    for trunk in trunk_list(config):
        peers += trunk.allowed
        if trunk.registrar:
            host = account(trunk).host_port[0]
            try:
                ipaddress.ip_address(host)
                peers.append(host)
            except ValueError:
                pass  # a name: list its addresses in `allowed`
    return peers


class Trunks:
    def __init__(self, config: Config, daemon: Any = None) -> None:
        self.daemon = daemon
        host, _, port = config.sip.listen.rpartition(":")
        self.contact_host = config.sip.public_address or host
        self.contact_port = int(port)
        self.bind_host = host if host not in ("0.0.0.0", "::") else "0.0.0.0"
        self.config = config
        self.registrations: dict[str, TrunkRegistration] = {}
        self._scopes: dict[str, trio.CancelScope] = {}
        self._nursery: trio.Nursery | None = None

    def flow_for(self, called: str) -> str:
        """The flow file for a dialled number ('' : the default flow)."""
        for trunk in trunk_list(self.config):
            if called in trunk.dids:
                return trunk.dids[called]
        return ""

    def statistics(self) -> list[dict[str, Any]]:
        out = []
        for name, reg in self.registrations.items():
            s = reg.state
            out.append({"name": name, "state": s.state, "code": s.code, "reason": s.reason,
                        "since": round(s.since, 3), "retry_in_s": s.retry_in_s,
                        "expires": s.expires})
        return out

    def alerts(self) -> list[Alert]:
        return [Alert("trunk", "warn", name, None, reg.state.code, reg.state.since,
                      text=reg.state.reason)
                for name, reg in self.registrations.items() if reg.state.state == "failed"]

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self.reload(self.config)
            task_status.started()
            await trio.sleep_forever()

    def reload(self, config: Config) -> None:
        """Apply `config.sip.trunks`: update, start and stop registrations."""
        self.config = config
        wanted = {t.name: t for t in trunk_list(config) if t.registrar}
        for name in list(self.registrations):
            if name not in wanted:
                self._scopes.pop(name).cancel()
                del self.registrations[name]
        for name, trunk in wanted.items():
            if name in self.registrations:
                if self.registrations[name].account != account(trunk):
                    self.registrations[name].update(account(trunk))
                continue
            reg = TrunkRegistration(account(trunk), contact_host=self.contact_host,
                                    contact_port=self.contact_port, bind_host=self.bind_host)
            self.registrations[name] = reg
            assert self._nursery is not None
            self._nursery.start_soon(self._run_one, name, reg)

    async def _run_one(self, name: str, reg: TrunkRegistration) -> None:
        with trio.CancelScope() as scope:
            self._scopes[name] = scope
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._publish_changes, reg)
                await reg.run()

    async def _publish_changes(self, reg: TrunkRegistration) -> None:
        """Keep the wallboard's trunk alerts current."""
        while True:
            await reg.wait_changed()
            publisher = getattr(self.daemon, "wallboard", None)
            if publisher is not None:
                publisher.board.trunk_alerts = self.alerts()
                publisher.poke()
