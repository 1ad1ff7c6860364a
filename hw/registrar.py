"""Registration of the hotline with a provider's trunk: SIP REGISTER with digest authentication,
refreshed before it expires, retried with back-off after 401/403/time-outs.

Each trunk has its own `TrunkRegistration` task. It sends from its own UDP socket on the edge's
host, with a Contact naming the edge's public address, so the provider sends calls to the edge
(Kamailio), never to this socket. Every state change is logged and kept in `state` for
`ccd status` and the wallboard. `digest_response` and `parse_challenge` are pure.

    reg = TrunkRegistration(TrunkAccount("main", "sip:203.0.113.5", "8675", "secret"),
                            contact_host="198.51.100.7", contact_port=5060)
    nursery.start_soon(reg.run)
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass, replace

import trio

log = logging.getLogger("hw.registrar")

RETRANSMIT_S = (0.5, 1.0, 2.0, 4.0)  # Timer E doubling; then the attempt has timed out


@dataclass(frozen=True)
class TrunkAccount:
    """name: for logs and status; registrar: 'sip:host[:port]'; username/password/realm:
    digest credentials (realm '' = whatever the registrar names); expires: asked lifetime;
    retry_s / max_retry_s: back-off after a failure, doubling up to the maximum."""

    name: str
    registrar: str
    username: str
    password: str
    realm: str = ""
    expires: int = 300
    retry_s: float = 30.0
    max_retry_s: float = 600.0

    @property
    def host_port(self) -> tuple[str, int]:
        rest = self.registrar.split(":", 1)[1] if ":" in self.registrar else self.registrar
        rest = rest.split(";", 1)[0]
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
        return host, int(port) if port else 5060


@dataclass(frozen=True)
class RegistrationState:
    """state: 'registering' | 'registered' | 'failed'; code/reason: the last final response
    (0 and 'timeout' when none came); since: Unix time of the change; retry_in_s: seconds
    until the next attempt when failed; expires: granted lifetime when registered."""

    trunk: str
    state: str
    code: int = 0
    reason: str = ""
    since: float = 0.0
    retry_in_s: float = 0.0
    expires: int = 0


def parse_challenge(header: str) -> dict[str, str]:
    """'Digest realm="x", nonce="y", qop="auth"' -> {'realm': 'x', 'nonce': 'y', 'qop': 'auth'}."""
    _, _, params = header.partition(" ")
    out: dict[str, str] = {}
    for match in re.finditer(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', params):
        out[match.group(1).lower()] = match.group(2) if match.group(2) is not None else (
            match.group(3))
    return out


def digest_response(*, username: str, password: str, realm: str, method: str, uri: str,
                    nonce: str, qop: str = "", nc: str = "00000001", cnonce: str = "") -> str:
    """RFC 2617 / 7616 MD5 digest `response` (qop 'auth' or none)."""
    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - SIP digest is MD5

    ha1 = md5(f"{username}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    if qop:
        return md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return md5(f"{ha1}:{nonce}:{ha2}")


class TrunkRegistration:
    """One trunk's registration loop. `contact_host`/`contact_port`: where the provider must send
    calls (the edge); `bind_host`: the local address to send from."""

    def __init__(self, account: TrunkAccount, *, contact_host: str, contact_port: int,
                 bind_host: str = "0.0.0.0") -> None:
        self.account = account
        self.contact_host = contact_host
        self.contact_port = contact_port
        self.bind_host = bind_host
        self.state = RegistrationState(account.name, "registering", since=time.time())
        self.call_id = f"{os.urandom(8).hex()}@ccd"
        self.cseq = 0
        self._changed = trio.Event()
        self._retry_now = trio.Event()

    def update(self, account: TrunkAccount) -> None:
        """New settings (SIGHUP): use them and try again at once."""
        self.account = account
        self._retry_now.set()

    def _set(self, **fields: object) -> None:
        new = replace(self.state, **fields)  # type: ignore[arg-type]
        if (new.state, new.code) != (self.state.state, self.state.code):
            new = replace(new, since=time.time())
            level = logging.INFO if new.state == "registered" else logging.WARNING
            log.log(level, "trunk %s: %s (%s %s)%s", new.trunk, new.state, new.code or "-",
                    new.reason, f"; retrying in {new.retry_in_s:.0f} s" if new.state ==
                    "failed" else "")
        self.state = new
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        await self._changed.wait()

    async def wait_state(self, state: str) -> RegistrationState:
        while self.state.state != state:
            await self._changed.wait()
        return self.state

    async def run(self) -> None:
        delay = self.account.retry_s
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        with sock:
            await sock.bind((self.bind_host, 0))
            while True:
                code, reason, expires = await self._register(sock)
                if 200 <= code < 300:
                    delay = self.account.retry_s
                    self._set(state="registered", code=code, reason=reason, expires=expires,
                              retry_in_s=0.0)
                    wait = max(5.0, expires * 0.8) if expires else self.account.expires * 0.8
                else:
                    self._set(state="failed", code=code, reason=reason, expires=0,
                              retry_in_s=delay)
                    wait = delay
                    delay = min(delay * 2, self.account.max_retry_s)
                self._retry_now = trio.Event()
                with trio.move_on_after(wait):
                    await self._retry_now.wait()
                    delay = self.account.retry_s  # new settings: a fresh start

    async def _register(self, sock: trio.socket.SocketType) -> tuple[int, str, int]:
        """One REGISTER (answering one digest challenge): (code, reason, granted expires)."""
        account = self.account
        authorization = ""
        challenged = False
        while True:
            reply = await self._transaction(sock, authorization)
            if reply is None:
                return 0, "timeout", 0
            code, reason, headers = reply
            if code in (401, 407) and not challenged:
                name = "www-authenticate" if code == 401 else "proxy-authenticate"
                challenge = parse_challenge(headers.get(name, ""))
                if "nonce" not in challenge:
                    return code, reason, 0
                challenged = True
                authorization = self._authorization(code, challenge)
                continue
            if code in (401, 407):
                reason = f"{reason} (credentials refused)"
            expires = _int(headers.get("expires", "")) or _contact_expires(
                headers.get("contact", "")) or account.expires
            return code, reason, expires if 200 <= code < 300 else 0

    def _authorization(self, code: int, challenge: dict[str, str]) -> str:
        account = self.account
        realm = challenge.get("realm", account.realm)
        qop = "auth" if "auth" in challenge.get("qop", "").split(",") else ""
        cnonce = os.urandom(8).hex()
        uri = account.registrar
        response = digest_response(username=account.username, password=account.password,
                                   realm=realm, method="REGISTER", uri=uri,
                                   nonce=challenge["nonce"], qop=qop, cnonce=cnonce)
        fields = [f'username="{account.username}"', f'realm="{realm}"',
                  f'nonce="{challenge["nonce"]}"', f'uri="{uri}"', f'response="{response}"',
                  'algorithm=MD5']
        if qop:
            fields += [f"qop={qop}", "nc=00000001", f'cnonce="{cnonce}"']
        if "opaque" in challenge:
            fields.append(f'opaque="{challenge["opaque"]}"')
        header = "Authorization" if code == 401 else "Proxy-Authorization"
        return f"{header}: Digest {', '.join(fields)}\r\n"

    async def _transaction(self, sock: trio.socket.SocketType, authorization: str
                           ) -> tuple[int, str, dict[str, str]] | None:
        account = self.account
        self.cseq += 1
        branch = f"z9hG4bK{os.urandom(6).hex()}"
        local_host, local_port = sock.getsockname()[:2]
        host, port = account.host_port
        domain = account.registrar.split(":", 1)[1].split(";", 1)[0]
        request = (
            f"REGISTER {account.registrar} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {self.contact_host}:{local_port};rport;branch={branch}\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:{account.username}@{domain}>;tag={self.call_id[:8]}\r\n"
            f"To: <sip:{account.username}@{domain}>\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {self.cseq} REGISTER\r\n"
            f"Contact: <sip:{account.username}@{self.contact_host}:{self.contact_port}>\r\n"
            f"Expires: {account.expires}\r\n"
            f"{authorization}"
            f"User-Agent: ccd\r\n"
            f"Content-Length: 0\r\n\r\n"
        ).encode()
        del local_host
        addresses = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_DGRAM)
        target = addresses[0][4]
        for wait in RETRANSMIT_S:
            await sock.sendto(request, target)
            with trio.move_on_after(wait):
                while True:
                    data = await sock.recv(65536)
                    parsed = _parse_response(data, branch)
                    if parsed is not None and parsed[0] >= 200:
                        return parsed
        return None


def _parse_response(data: bytes, branch: str) -> tuple[int, str, dict[str, str]] | None:
    """(code, reason, lower-cased headers) of a response to our transaction, else None."""
    try:
        text = data.decode("utf-8", "replace")
        head = text.split("\r\n\r\n", 1)[0].split("\r\n")
        status = head[0].split(" ", 2)
        if status[0] != "SIP/2.0" or branch not in text:
            return None
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        return int(status[1]), status[2] if len(status) > 2 else "", headers
    except (ValueError, IndexError):
        return None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _contact_expires(contact: str) -> int:
    match = re.search(r"expires=(\d+)", contact)
    return int(match.group(1)) if match else 0
