"""The trunk registration client against a fake registrar over real UDP."""

from __future__ import annotations

import trio
import trio.testing

from hw.registrar import TrunkAccount, TrunkRegistration, digest_response, parse_challenge
from tests.trunks.fake_registrar import FakeRegistrar


def test_digest_matches_rfc_2617s_example() -> None:
    assert digest_response(username="Mufasa", realm="testrealm@host.com",
                           password="Circle Of Life", method="GET", uri="/dir/index.html",
                           nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth",
                           nc="00000001", cnonce="0a4f113b") == "6629fae49393a05397450978507c4ef1"
    assert parse_challenge('Digest realm="a b", nonce=xyz, qop="auth,auth-int"') == {
        "realm": "a b", "nonce": "xyz", "qop": "auth,auth-int"}


async def test_wrong_password_backs_off_then_new_settings_register_at_once() -> None:
    registrar = FakeRegistrar(password="right")
    port = await registrar.bind()
    account = TrunkAccount("main", f"sip:127.0.0.1:{port}", "8675", "wrong", retry_s=0.2,
                           max_retry_s=0.8)
    reg = TrunkRegistration(account, contact_host="127.0.0.1", contact_port=5999,
                            bind_host="127.0.0.1")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(registrar.serve)
        nursery.start_soon(reg.run)
        with trio.fail_after(10):
            failed = await reg.wait_state("failed")
        assert failed.code == 401 and "credentials refused" in failed.reason
        # It keeps trying, waiting longer each time (0.2, 0.4, 0.8, 0.8 s ...).
        with trio.fail_after(10):
            while registrar.registers < 8:
                await reg.wait_changed()
        assert reg.state.retry_in_s == 0.8
        assert 200 not in registrar.answers
        reg.update(TrunkAccount("main", f"sip:127.0.0.1:{port}", "8675", "right"))
        with trio.fail_after(5):
            ok = await reg.wait_state("registered")
        assert ok.code == 200 and ok.expires == 120
        assert registrar.contacts[-1] == "<sip:8675@127.0.0.1:5999>"  # calls go to the edge
        nursery.cancel_scope.cancel()


async def test_a_registrar_that_never_answers_is_a_timeout(
        autojump_clock: trio.testing.MockClock) -> None:
    silent = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    with silent:
        await silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        reg = TrunkRegistration(TrunkAccount("x", f"sip:127.0.0.1:{port}", "u", "p"),
                                contact_host="127.0.0.1", contact_port=5999,
                                bind_host="127.0.0.1")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reg.run)
            with trio.fail_after(15):
                state = await reg.wait_state("failed")
            assert (state.code, state.reason, state.retry_in_s) == (0, "timeout", 30.0)
            nursery.cancel_scope.cancel()
