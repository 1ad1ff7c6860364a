"""Addresses and networks in the config, checked when it is read (not when a worker starts).

A wrong one names the file and the key, e.g.
    ccd.toml: 'sip.allowed_peers[0]' is not an IP address or network (CIDR) such as
    192.0.2.10 or 192.0.2.0/24: '999.1.1.1'
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ccd.errors import ConfigError

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _fail(file: str, key: str, why: str) -> None:
    raise ConfigError(f"{file}: '{key}' {why}", file=file, key=key)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _check_network(file: str, key: str, text: str) -> None:
    try:
        ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        _fail(file, key, "is not an IP address or network (CIDR) such as 192.0.2.10 or "
              f"192.0.2.0/24: {text!r}")


def _check_bind_host(file: str, key: str, listen: str) -> None:
    host = listen.rpartition(":")[0]
    if host and host != "localhost" and not _is_ip(host):
        _fail(file, key, f"must listen on an IP address (such as 0.0.0.0 or 127.0.0.1) or "
              f"localhost, got {host!r}")


def check(config: Any, file: str) -> None:
    """Raise ConfigError for the first bad address or network of `config` (read from `file`)."""
    sip = config.sip
    for i, peer in enumerate(sip.allowed_peers):
        _check_network(file, f"sip.allowed_peers[{i}]", peer)
    _check_bind_host(file, "sip.listen", sip.listen)
    if sip.public_address and not (_is_ip(sip.public_address)
                                   or _HOSTNAME.match(sip.public_address)):
        _fail(file, "sip.public_address", "must be an IP address or a host name, got "
              f"{sip.public_address!r}")
    web = config.workorders.web
    _check_bind_host(file, "workorders.web.listen", web.listen)
    for i, proxy in enumerate(web.trusted_proxies):
        if not _is_ip(proxy):
            _fail(file, f"workorders.web.trusted_proxies[{i}]",
                  f"is not an IP address: {proxy!r}")
