"""`ccd phone` as a person (or a script) uses it: the real daemon and the real command in its own
process. It shows what the IVR says, is driven from a pipe, ends by itself when the far end hangs
up, stops cleanly on Ctrl-C, and prints no PJSIP noise and no traceback."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.e2e.test_ivr_calls import hotline  # noqa: F401  (the fixture)

pytestmark = pytest.mark.sip


def _phone(hotline, caller: str) -> subprocess.Popen[bytes]:  # noqa: F811
    return subprocess.Popen(
        [sys.executable, "-m", "ccd", "--config", str(hotline.config), "phone", hotline.uri,
         "--from", caller],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _until(proc: subprocess.Popen[bytes], needle: str, out: list[str], limit_s: float = 30
           ) -> None:
    """Read the phone's output into `out` until a line holds `needle`."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + limit_s
    text = "".join(out)
    while needle not in text:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} within {limit_s} s:\n{text}"
        ready, _, _ = select.select([fd], [], [], left)
        chunk = os.read(fd, 65536) if ready else b""
        assert chunk, f"the phone ended before {needle!r}:\n{text}"
        out.append(chunk.decode(errors="replace"))
        text = "".join(out)


def test_it_shows_the_ivr_and_ends_when_the_far_end_hangs_up(hotline) -> None:  # noqa: F811
    proc = _phone(hotline, "13800000003")  # blocked: the IVR says so and hangs up
    out: list[str] = []
    try:
        _until(proc, "[ivr] 对不起，您的号码暂时无法使用本热线的服务", out)
        code = proc.wait(15)  # stdin still open, nothing typed: it ends by itself
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stdout is not None and proc.stderr is not None
    out.append(proc.stdout.read().decode())
    text, errors = "".join(out), proc.stderr.read().decode()
    assert code == 0 and "the far end hung up" in text
    assert "pjlib" not in text + errors and "Traceback" not in text + errors


def test_a_piped_script_drives_it_and_ctrl_c_hangs_up_cleanly(hotline) -> None:  # noqa: F811
    proc = _phone(hotline, "13800000004")
    assert proc.stdin is not None
    out: list[str] = []
    try:
        _until(proc, "[ivr] 您好", out)
        proc.stdin.write(b"wait 1\n1\n")
        proc.stdin.flush()
        _until(proc, "sent 1", out)
        _until(proc, "[ivr] 您的账户余额为负一百二十三元四角五分", out)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stdout is not None and proc.stderr is not None
    out.append(proc.stdout.read().decode())
    text, errors = "".join(out), proc.stderr.read().decode()
    assert code == 130 and text.rstrip().endswith("hung up")
    assert "Traceback" not in text + errors and "pjlib" not in text + errors
    assert errors.strip() == ""
