"""Outbound REGISTER with digest auth and re-registration, against a registrar in the test."""

from __future__ import annotations

import hashlib
import re

import pytest
import trio

from hw.sip import SipRegistration, open_sip_driver
from tests.sip.conftest import driver_kwargs

pytestmark = pytest.mark.sip

REALM, NONCE = "ccd-test", "5f3c9a"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Registrar:
    """Just enough of a SIP registrar: 401 with a digest challenge, then 200 or 403."""

    def __init__(self, user: str, password: str, expires: int) -> None:
        self.user, self.password, self.expires = user, password, expires
        self.sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        self.registered = 0
        self.challenged = 0
        self.changed = trio.Event()

    async def bind(self) -> int:
        await self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    async def serve(self) -> None:
        while True:
            data, addr = await self.sock.recvfrom(65536)
            request = data.decode(errors="replace")
            if not request.startswith("REGISTER "):
                continue
            auth = re.search(r"^Authorization:\s*Digest\s+(.*)$", request, re.M | re.I)
            if auth is None:
                self.challenged += 1
                reply = self._reply(
                    request,
                    "401 Unauthorized",
                    f'WWW-Authenticate: Digest realm="{REALM}", nonce="{NONCE}", algorithm=MD5\r\n',
                )
            elif self._valid(dict(re.findall(r'(\w+)="?([^",]*)"?', auth.group(1)))):
                self.registered += 1
                contact = re.search(r"^(Contact|m):\s*(.*)$", request, re.M | re.I)
                reply = self._reply(
                    request,
                    "200 OK",
                    f"Contact: {contact.group(2).strip() if contact else ''};"
                    f"expires={self.expires}\r\nExpires: {self.expires}\r\n",
                )
            else:
                reply = self._reply(request, "403 Forbidden", "")
            await self.sock.sendto(reply.encode(), addr)
            self.changed.set()
            self.changed = trio.Event()

    def _valid(self, fields: dict[str, str]) -> bool:
        ha1 = _md5(f"{self.user}:{REALM}:{self.password}")
        ha2 = _md5(f"REGISTER:{fields.get('uri', '')}")
        return fields.get("username") == self.user and fields.get("response") == _md5(
            f"{ha1}:{fields.get('nonce', '')}:{ha2}"
        )

    @staticmethod
    def _reply(request: str, status: str, extra: str) -> str:
        keep = [
            line
            for line in request.split("\r\n")
            if re.match(r"^(Via|v|From|f|To|t|Call-ID|i|CSeq):", line, re.I)
        ]
        keep = [
            line + ";tag=reg1" if re.match(r"^(To|t):", line, re.I) and "tag=" not in line else line
            for line in keep
        ]
        return (
            f"SIP/2.0 {status}\r\n"
            + "\r\n".join(keep)
            + "\r\n"
            + extra
            + "Content-Length: 0\r\n\r\n"
        )


async def _wait_for(registrar: Registrar, count: int) -> None:
    while registrar.registered < count:
        await registrar.changed.wait()


async def test_registers_with_digest_and_refreshes() -> None:
    registrar = Registrar("0571888", "s3cret", expires=7)
    port = await registrar.bind()
    account = SipRegistration(f"sip:127.0.0.1:{port}", "0571888", "s3cret", realm=REALM, expires=7)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(registrar.serve)
        async with open_sip_driver(**driver_kwargs(registration=account)) as driver:
            with trio.fail_after(10):
                await driver.wait_registration(0, ["registered"])
            reg = driver.statistics()["workers"][0]["registration"]  # type: ignore[index]
            assert reg["state"] == "registered" and reg["code"] == 200  # type: ignore[index]
            assert registrar.challenged >= 1
            # Granted 7 s, pjsua2 refreshes 5 s before expiry: a second REGISTER within ~2 s.
            with trio.fail_after(8):
                await _wait_for(registrar, 2)
        nursery.cancel_scope.cancel()


async def test_wrong_password_shows_as_failed() -> None:
    registrar = Registrar("0571888", "s3cret", expires=60)
    port = await registrar.bind()
    account = SipRegistration(f"sip:127.0.0.1:{port}", "0571888", "wrong", realm=REALM)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(registrar.serve)
        async with open_sip_driver(**driver_kwargs(registration=account)) as driver:
            with trio.fail_after(10):
                failed = await driver.wait_registration(0, ["failed", "registered"])
            assert (failed.state, failed.code) == ("failed", 403)
            reg = driver.statistics()["workers"][0]["registration"]  # type: ignore[index]
            assert reg["state"] == "failed"  # type: ignore[index]
            assert registrar.registered == 0
        nursery.cancel_scope.cancel()
