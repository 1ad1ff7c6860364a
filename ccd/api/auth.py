"""Who is on the other end of the socket: scrypt password hashes and SO_PEERCRED peer checks.

Password hashes are self-describing strings, `scrypt$n=16384,r=8,p=1$<salt>$<key>` (base64
without padding), so the cost can be raised later without invalidating stored hashes. Hashing
costs about 16 MiB and tens of milliseconds: the server runs it in a worker thread.
"""

from __future__ import annotations

import base64
import grp
import hashlib
import hmac
import os
import pwd
import secrets
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from ccd.errors import CcdError

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
# A hash string read from the database must not make us allocate gigabytes.
MAX_N = 2**20
MAX_R = 32
MAX_P = 16

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r * p + (1 << 20),
        dklen=KEY_BYTES,
    )


def check_password_policy(password: str) -> None:
    """Raise `weak-password` / `bad-password` errors for passwords we refuse to store."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CcdError(
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters",
            error_id="weak-password",
            min_length=MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise CcdError(
            f"the password is too long (at most {MAX_PASSWORD_LENGTH} characters)",
            error_id="bad-password",
            max_length=MAX_PASSWORD_LENGTH,
        )


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A new scrypt hash of `password` with a random salt.

    n, r, p: scrypt's cost parameters (n a power of two); they are stored in the result.
    """
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, n, r, p)
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    try:
        scheme, params, salt, key = encoded.split("$")
        values = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
        if scheme != "scrypt" or set(values) != {"n", "r", "p"}:
            return None
        if not (1 < n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
            return None
        return n, r, p, _unb64(salt), _unb64(key)
    except (ValueError, KeyError):
        return None


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches the stored hash `encoded` (constant-time comparison).

    A malformed or empty hash (an account without a password) never matches.
    """
    parsed = _parse(encoded)
    if parsed is None:
        dummy_verify(password)
        return False
    n, r, p, salt, key = parsed
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), key)


def dummy_verify(password: str) -> None:
    """Spend the time of one verification, so unknown users answer as slowly as known ones."""
    _scrypt(password, b"\0" * SALT_BYTES, SCRYPT_N, SCRYPT_R, SCRYPT_P)


@dataclass(frozen=True)
class PeerCred:
    """The process at the other end of a Unix socket, as the kernel reports it."""

    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket) -> PeerCred | None:
    """SO_PEERCRED of a connected Unix socket (Linux); None where the kernel cannot tell."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or sock.family != socket.AF_UNIX:
        return None
    size = struct.calcsize("3i")
    try:
        pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, size))
    except OSError:
        return None
    return PeerCred(pid, uid, gid)


def user_name(uid: int) -> str:
    """The login name of `uid`, or the number as text for a uid without a passwd entry."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_id(name: str) -> int | None:
    """The gid of group `name`, or None when no such group exists on this machine."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def groups_of(peer: PeerCred) -> set[int]:
    """The peer's primary group and the supplementary groups its user belongs to."""
    groups = {peer.gid}
    try:
        groups.update(os.getgrouplist(pwd.getpwuid(peer.uid).pw_name, peer.gid))
    except (KeyError, OSError):
        pass
    return groups


def peer_is_trusted(
    peer: PeerCred, *, daemon_uid: int, trusted_gid: int | None, peer_groups: Iterable[int]
) -> bool:
    """Whether a local peer may log in as admin without a password (the decision alone).

    daemon_uid: the daemon's effective uid. trusted_gid: the configured group's gid (None when the
    group does not exist). peer_groups: every group the peer's user is in.
    """
    if peer.uid == 0 or peer.uid == daemon_uid:
        return True
    return trusted_gid is not None and trusted_gid in set(peer_groups)


def peer_may_log_in(peer: PeerCred | None, *, enabled: bool, group: str) -> bool:
    """The `login_peer` check against this machine's users and groups.

    peer: the connection's SO_PEERCRED (None: unknown, refused). enabled: api.peer_credentials.
    group: api.group, the group whose members count as local administrators.
    """
    if peer is None or not enabled:
        return False
    return peer_is_trusted(
        peer,
        daemon_uid=os.geteuid(),
        trusted_gid=group_id(group),
        peer_groups=groups_of(peer),
    )
