"""Tamper-evident call records: a keyed hash chain over every ended call (HMAC-SHA256).

When a call ends, in the same transaction as its end, the call's record fields (`SEALED_FIELDS`:
who called whom, the times, durations, disposition and why it ended) are sealed:

    digest[n] = HMAC(key, digest[n-1] || "v1" || n || call_id || fields)

and stored as `call_seals` row n. The key (32 random bytes) lives outside the database: the file
`database.seal_key_file` (0600, made by `ccd init` or the daemon's first start) or the
environment variable CCD_SEAL_KEY (64 hex digits). Without the key nobody can make a seal that
verifies, so `verify` reports:

- changed: a sealed call whose fields no longer match its seal (an edited duration);
- removed: a seal whose call row is gone (a deleted row), and seal numbers missing from the
  chain; and, if the chain's last link is older than the head the daemon last wrote next to
  the key (`<key file>.head`), the newest seals were cut off;
- unsealed: an ended call with no seal that is not older than sealing (a row inserted with
  sqlite3, or an edited `end` on an old open row);
- forged: a seal whose digest does not follow the chain (a seal row edited or inserted).

Fields that legitimately change after a call ends (wrap-up code and note, wrap-up time, the
ACD's queue figures) are not sealed. Cost fields do not exist yet; when they do, they join
SEALED_FIELDS under a new version tag.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets as random_secrets
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from ccd.errors import CcdError
from ccd.timefmt import iso

VERSION = "v1"
SEALED_FIELDS = ("start", "answer", "end", "src", "dst", "direction", "channel", "disposition",
                 "hangup_cause", "hangup_by", "duration", "billsec")
KEY_ENV = "CCD_SEAL_KEY"
GENESIS = "0" * 64


class SealKeyError(CcdError):
    error_id = "seal-key"


def load_key(path: Path) -> bytes | None:
    """The seal key from CCD_SEAL_KEY or the file; None when neither exists."""
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            key = bytes.fromhex(env.strip())
        except ValueError:
            raise SealKeyError(f"{KEY_ENV} is not hex") from None
        if len(key) < 32:
            raise SealKeyError(f"{KEY_ENV} must hold at least 32 bytes (64 hex digits)")
        return key
    if not path.exists():
        return None
    key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(key) < 32:
        raise SealKeyError(f"{path}: the seal key must be at least 32 bytes (64 hex digits)")
    return key


def create_key(path: Path) -> bytes:
    """A new random key written to `path` (mode 0600); refuses to replace an existing one."""
    key = random_secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
    return key


def _canonical(seq: int, call_id: str, values: tuple[object, ...]) -> bytes:
    return json.dumps([VERSION, seq, call_id, list(values)], ensure_ascii=False,
                      separators=(",", ":")).encode()


def _digest(key: bytes, previous: str, seq: int, call_id: str, values: tuple[object, ...]) -> str:
    return hmac.new(key, previous.encode() + _canonical(seq, call_id, values),
                    hashlib.sha256).hexdigest()


def _fields(db: sqlite_utils.Database, call_id: str) -> tuple[object, ...] | None:
    cols = ", ".join(f'"{f}"' for f in SEALED_FIELDS)
    row = db.execute(f"SELECT {cols} FROM calls WHERE id = ?", [call_id]).fetchone()
    return None if row is None else tuple(row)


@dataclass
class Sealer:
    """Seals ended calls with `key`; `head_path`: where the chain's head is noted (or None)."""

    key: bytes
    head_path: Path | None = None
    sealed: int = 0

    def seal(self, db: sqlite_utils.Database, call_id: str) -> None:
        """Inside the caller's transaction: add the call's seal to the chain."""
        values = _fields(db, call_id)
        if values is None or db.execute(
            "SELECT 1 FROM call_seals WHERE call_id = ?", [call_id]
        ).fetchone():
            return
        last = db.execute("SELECT seq, digest FROM call_seals ORDER BY seq DESC LIMIT 1"
                          ).fetchone()
        seq, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
        digest = _digest(self.key, previous, seq, call_id, values)
        db.execute("INSERT INTO call_seals (seq, call_id, digest, sealed_at) VALUES (?,?,?,?)",
                   [seq, call_id, digest, iso()])
        self.sealed += 1

    def note_head(self, db: sqlite_utils.Database) -> None:
        """After a commit: write the chain's head next to the key (so a cut-off tail shows)."""
        if self.head_path is None:
            return
        last = db.execute("SELECT seq, digest FROM call_seals ORDER BY seq DESC LIMIT 1"
                          ).fetchone()
        if last is None:
            return
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(f"{last[0]} {last[1]}\n")
        os.replace(tmp, self.head_path)


@dataclass
class VerifyReport:
    checked: int = 0
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unsealed: list[str] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)
    older_unsealed: int = 0  # ended before sealing existed (not a fault)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.removed or self.unsealed or self.forged)

    def lines(self) -> list[str]:
        out = [f"seals: {self.checked} call records checked"
               + (f", {self.older_unsealed} older than sealing" if self.older_unsealed else "")]
        out += [f"changed since sealed: {c}" for c in self.changed]
        out += [f"removed: {r}" for r in self.removed]
        out += [f"not sealed (inserted or ended outside the daemon): {u}" for u in self.unsealed]
        out += [f"seal does not follow the chain (forged or edited): {f}" for f in self.forged]
        return out


def verify(db: sqlite_utils.Database, key: bytes, head_path: Path | None = None
           ) -> VerifyReport:
    """Walk the chain and the ended calls; see the module docstring for what is reported."""
    report = VerifyReport()
    links = [(seq, call_id, digest, _fields(db, call_id)) for seq, call_id, digest in
             db.execute("SELECT seq, call_id, digest FROM call_seals ORDER BY seq").fetchall()]
    previous, expected_seq = GENESIS, 1
    for i, (seq, call_id, digest, values) in enumerate(links):
        report.checked += 1
        if seq != expected_seq:
            report.removed.append(f"seals {expected_seq}-{seq - 1} are missing from the chain")
            previous, expected_seq = digest, seq + 1
            continue
        expected_seq = seq + 1
        if values is None:
            report.removed.append(f"call {call_id} (seal {seq}) is gone")
            previous = digest
            continue
        recomputed = _digest(key, previous, seq, call_id, values)
        if not hmac.compare_digest(recomputed, digest):
            # The row changed, or the seal itself was edited: the next link tells which (it
            # was made from the genuine digest, which nobody without the key can forge).
            nxt = links[i + 1] if i + 1 < len(links) else None
            if nxt is not None and nxt[3] is not None and nxt[0] == seq + 1 and \
                    hmac.compare_digest(_digest(key, recomputed, nxt[0], nxt[1], nxt[3]), nxt[2]):
                report.forged.append(f"seal {seq} (call {call_id})")
                previous = recomputed
                continue
            report.changed.append(f"call {call_id} (seal {seq})")
        previous = digest
    if head_path is not None and head_path.exists():
        head_seq = int(head_path.read_text(encoding="ascii").split()[0])
        if head_seq >= expected_seq:
            report.removed.append(f"seals {expected_seq}-{head_seq} (the newest) are gone")
    since = db.execute("SELECT value FROM settings WHERE key = 'seal_since_rowid'").fetchone()
    watermark = int(since[0]) if since else 0
    for rowid, call_id in db.execute(
        'SELECT c.rowid, c.id FROM calls c WHERE c."end" IS NOT NULL AND NOT EXISTS '
        "(SELECT 1 FROM call_seals s WHERE s.call_id = c.id) ORDER BY c.rowid"
    ).fetchall():
        if rowid <= watermark:
            report.older_unsealed += 1
        else:
            report.unsealed.append(f"call {call_id}")
    return report


def open_sealer(db: sqlite_utils.Database, key_path: Path) -> tuple[Sealer, bool]:
    """The daemon's Sealer: the key from CCD_SEAL_KEY or `key_path`, made there when there is
    none and nothing is sealed yet. Returns (sealer, whether the key was just made).
    Raises SealKeyError when calls are sealed but the key is gone (a new key would make every
    seal look forged: restore the file instead)."""
    key = load_key(key_path)
    created = False
    if key is None:
        sealed = db.execute("SELECT count(*) FROM call_seals").fetchone()[0]
        if sealed:
            raise SealKeyError(
                f"{key_path}: the seal key is missing, but {sealed} call records are sealed "
                f"with it; restore the key file from its backup (or set {KEY_ENV})",
                path=str(key_path))
        key = create_key(key_path)
        created = True
    return Sealer(key, head_path=key_path.with_name(key_path.name + ".head")), created
