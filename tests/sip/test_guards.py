"""The guards around pjsua2 (hw/sipworker/pjutil.py, wav.py), tested where they bite."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from hw.sipworker import pjutil
from hw.sipworker.wav import BadWav, playlist_seconds, wav_seconds
from tests.sip.audio import write_tone

ROOT = Path(__file__).resolve().parents[2]


def test_guarded_callback_swallows_reports_and_forgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pitfall 7: an exception escaping into SWIG stays in sys.last_traceback (and keeps the
    callback's `self` alive past libDestroy)."""
    reported: list[str] = []
    monkeypatch.setattr(pjutil, "callback_error_hook", reported.append)
    sys.last_traceback = None

    class Holder:
        @pjutil.guarded
        def onCallState(self, prm: object) -> None:  # noqa: N802
            raise KeyError(prm)

    assert Holder().onCallState("x") is None
    assert reported == [
        "test_guarded_callback_swallows_reports_and_forgets.<locals>.Holder."
        "onCallState: KeyError: 'x'"
    ]
    assert sys.last_traceback is None and getattr(sys, "last_value", None) is None


def _run_in_worker_like_process(code: str) -> dict:
    """pjsua2 only in a child process: the test runner must never own a pjsua2 endpoint."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_pj_error_becomes_a_plain_exception_without_frames() -> None:
    """Pitfall 2: a pj.Error's traceback holds pjsua2 objects; PjFailure carries none."""
    result = _run_in_worker_like_process(
        """
import json
import pjsua2 as pj
from hw.sipworker.pjutil import PjFailure, pj_call
ep = pj.Endpoint(); ep.libCreate()
cfg = pj.EpConfig(); cfg.logConfig.consoleLevel = 0; cfg.logConfig.level = 0
ep.libInit(cfg)
tc = pj.TransportConfig(); tc.port = 1; tc.boundAddress = "203.0.113.77"  # not ours: bind fails
try:
    pj_call(ep.transportCreate, pj.PJSIP_TRANSPORT_UDP, tc)
except PjFailure as exc:
    out = {"type": type(exc).__name__, "status": exc.status, "title": exc.title,
           "tb": exc.__traceback__ is not None and exc.__traceback__.tb_next is not None,
           "cause": exc.__cause__ is not None, "context": exc.__context__ is not None}
ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)
print(json.dumps(out))
"""
    )
    assert result["type"] == "PjFailure" and result["status"] > 0
    assert "transport" in result["title"].lower()
    assert not result["cause"] and not result["context"]


def test_gc_policy_disables_freezes_and_collects_on_schedule() -> None:
    """Pitfall 3: automatic collection could free a pjsua2 object on another thread."""
    result = _run_in_worker_like_process(
        """
import gc, json
from hw.sipworker.pjutil import GcPolicy
policy = GcPolicy(young_every=1.0, full_every=10.0)
policy.start(now=100.0)
out = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
class Cycle: pass
def make():
    a = Cycle(); a.me = a
before = gc.get_count()[0]
for _ in range(5000): make()
out["young_before_tick"] = gc.get_count()[0] - before
policy.tick(100.5); out["after_early_tick"] = gc.get_count()[0] - before
policy.tick(101.0); out["after_tick"] = gc.get_count()[0]
print(json.dumps(out))
"""
    )
    assert result["enabled"] is False and result["frozen"] > 1000
    assert result["young_before_tick"] >= 5000  # nothing collected automatically
    assert result["after_early_tick"] >= 5000  # not yet due
    assert result["after_tick"] < 100  # collected by the scheduled tick


def test_prompt_checks(tmp_path: Path) -> None:
    ok = write_tone(tmp_path / "ok.wav", 1000, 0.5)
    assert wav_seconds(str(ok))[0] == 0.5
    with pytest.raises(BadWav, match="40 ms"):
        wav_seconds(str(write_tone(tmp_path / "tiny.wav", 1000, 0.02)))
    with pytest.raises(BadWav, match="no such file"):
        wav_seconds(str(tmp_path / "missing.wav"))
    with wave.open(str(tmp_path / "8bit.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 8000)
    with pytest.raises(BadWav, match="16-bit"):
        wav_seconds(str(tmp_path / "8bit.wav"))
    with wave.open(str(tmp_path / "16k.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000)
    assert playlist_seconds([str(ok), str(ok)]) == 1.0
    with pytest.raises(BadWav, match="differs"):
        playlist_seconds([str(ok), str(tmp_path / "16k.wav")])


def test_the_daemon_side_never_loads_pjsua2() -> None:
    """Pitfall 1 at the process level: only worker processes may hold pjsua2."""
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys, hw.sip, hw.sipphone, hw.kamailio; print('pjsua2' in sys.modules)"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.strip() == "False", done.stderr
