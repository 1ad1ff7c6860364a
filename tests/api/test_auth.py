"""Password hashes and peer credentials."""

from __future__ import annotations

import os
import socket

import pytest

from ccd.api import auth
from ccd.errors import CcdError


def test_hash_round_trip_with_random_salt_and_stored_parameters() -> None:
    first = auth.hash_password("开门见山 password", n=2**10)
    second = auth.hash_password("开门见山 password", n=2**10)
    assert first != second  # different salts
    assert first.startswith("scrypt$n=1024,r=8,p=1$")
    assert auth.verify_password("开门见山 password", first)
    assert auth.verify_password("开门见山 password", second)
    assert not auth.verify_password("开门见山 passwore", first)
    assert not auth.verify_password("", first)


def test_default_cost_is_stored_in_the_hash() -> None:
    encoded = auth.hash_password("s3cret-pass")
    assert encoded.startswith(f"scrypt$n={auth.SCRYPT_N},r={auth.SCRYPT_R},p={auth.SCRYPT_P}$")
    assert auth.verify_password("s3cret-pass", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain",
        "scrypt$n=1024,r=8,p=1$AAAA",
        "bcrypt$n=1024,r=8,p=1$AAAA$AAAA",
        "scrypt$n=1000,r=8,p=1$AAAA$AAAA",  # n not a power of two
        f"scrypt$n={2**30},r=8,p=1$AAAA$AAAA",  # would allocate a terabyte
        "scrypt$n=1024,r=8$AAAA$AAAA",
        "scrypt$n=1024,r=8,p=1,x=2$AAAA$AAAA",
        "scrypt$n=1024,r=8,p=1$!!!!$AAAA",
    ],
)
def test_malformed_hashes_never_match(encoded: str) -> None:
    assert not auth.verify_password("anything", encoded)


def test_password_policy() -> None:
    auth.check_password_policy("8 chars!")
    with pytest.raises(CcdError) as caught:
        auth.check_password_policy("short")
    assert caught.value.error_id == "weak-password"
    assert caught.value.details == {"min_length": auth.MIN_PASSWORD_LENGTH}
    with pytest.raises(CcdError) as too_long:
        auth.check_password_policy("x" * (auth.MAX_PASSWORD_LENGTH + 1))
    assert too_long.value.error_id == "bad-password"


@pytest.mark.parametrize(
    ("uid", "gid", "groups", "trusted_gid", "expected"),
    [
        (0, 0, [0], None, True),  # root
        (1000, 1000, [1000], None, True),  # the daemon's own user
        (1001, 1001, [1001], None, False),  # nobody special, no ccd group on this machine
        (1001, 1001, [1001, 997], 997, True),  # member of the ccd group (supplementary)
        (1001, 997, [997], 997, True),  # primary group is ccd
        (1001, 1001, [1001, 4], 997, False),  # in other groups only
    ],
)
def test_peer_trust_decision(
    uid: int, gid: int, groups: list[int], trusted_gid: int | None, expected: bool
) -> None:
    peer = auth.PeerCred(pid=123, uid=uid, gid=gid)
    assert (
        auth.peer_is_trusted(peer, daemon_uid=1000, trusted_gid=trusted_gid, peer_groups=groups)
        is expected
    )


def test_so_peercred_reads_this_process_on_a_real_socket_pair() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        peer = auth.peer_credentials(a)
    assert peer == auth.PeerCred(os.getpid(), os.geteuid(), os.getegid())


def test_peer_login_switch_and_unknown_peer() -> None:
    me = auth.PeerCred(os.getpid(), os.geteuid(), os.getegid())
    assert auth.peer_may_log_in(me, enabled=True, group="no-such-group-xyz")
    assert not auth.peer_may_log_in(me, enabled=False, group="ccd")
    assert not auth.peer_may_log_in(None, enabled=True, group="ccd")


def test_tcp_sockets_have_no_peer_credentials() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        assert auth.peer_credentials(s) is None
