"""The hotline on analog lines end to end: the real daemon with `[[modem]]` lines in its config,
the pty modem emulator in the test, a real SQLite file. The same IVR flow as for SIP callers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from ccd.ivr import say
from ccd.ivr.prompts import prompt_path
from hw.modem import audio as au
from tests.daemon_proc import DaemonProcess
from tests.modem.emulator import ModemEmulator
from tests.sip.audio import hears, write_tone

FORMAT = "8-BIT LINEAR"


@pytest.fixture(scope="module")
def prompts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("prompts")
    out = subprocess.run(
        [sys.executable, "-m", "ccd", "prompts", "build", "--prompts-dir", str(folder)],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    return folder


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("modem-site")
    out = subprocess.run(
        [sys.executable, "-m", "ccd", "init", "--dir", str(base / "site"), "--demo",
         "--customers", "300"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return base / "site"


class Hotline:
    """A daemon on a fresh copy of the demo database with modem lines `names`."""

    def __init__(self, site: Path, tmp: Path, prompts: Path, names: list[str]) -> None:
        self.site = tmp / "site"
        subprocess.run(["cp", "-a", str(site), str(self.site)], check=True)
        self.prompts = prompts
        self.modems = {name: ModemEmulator(tmp / f"{name}.tty") for name in names}
        config = self.site / "ccd.toml"
        text = config.read_text(encoding="utf-8")
        for name, emu in self.modems.items():
            text += (f'\n[[modem]]\nname = "{name}"\nport = "{emu.path}"\nnumber = "96655"\n'
                     f'sample_format = "{FORMAT}"\nretry_s = 0.5\n')
        config.write_text(text, encoding="utf-8")
        self.config = config
        self.db_path = self.site / "ccd.sqlite3"
        self.daemon = DaemonProcess(config, f"paths.prompts={prompts}")

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(self.db_path)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def events(self, call_id: str) -> list[tuple[str, dict]]:
        return [(k, json.loads(d)) for k, d in self.query(
            "SELECT kind, data FROM call_events WHERE call_id = ? ORDER BY id", (call_id,))]

    async def poll(self, fn, limit: float = 30.0):
        # The daemon is another process writing SQLite: nothing to wait on but the file.
        deadline = trio.current_time() + limit
        while (found := fn()) is None:
            if trio.current_time() > deadline:
                raise AssertionError(f"not seen in {limit} s; the daemon said:\n"
                                     + self.daemon.output[-6000:])
            await trio.sleep(0.05)
        return found

    async def call_of(self, caller: str) -> str:
        def find():
            rows = self.query('SELECT id FROM calls WHERE src = ? AND "end" IS NULL', (caller,))
            return rows[0][0] if rows else None
        return await self.poll(find)

    async def wait_for(self, call_id: str, kind: str, node: str | None = None,
                       limit: float = 30.0) -> dict:
        def find():
            for k, data in self.events(call_id):
                if k == kind and (node is None or data.get("node") == node):
                    return data
            return None
        return await self.poll(find, limit)

    async def wait_ended(self, call_id: str, limit: float = 20.0) -> dict:
        def find():
            conn = sqlite3.connect(self.db_path)
            conn.row_factory = sqlite3.Row
            row = conn.execute('SELECT * FROM calls WHERE id = ?', (call_id,)).fetchone()
            conn.close()
            return dict(row) if row is not None and row["end"] is not None else None
        return await self.poll(find, limit)

    def audio(self, names: list[str]) -> bytes:
        fmt = au.format_named(FORMAT)
        return b"".join(fmt.encode(au.read_pcm(prompt_path(self.prompts, n, "zh")))
                        for n in names)

    def status(self) -> dict:
        out = subprocess.run([sys.executable, "-m", "ccd", "--config", str(self.config),
                              "status", "--json"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def lines_idle(self) -> bool:
        """Every modem line initialised and waiting for calls (as the daemon reports)."""
        lines = self.status().get("lines", {}).get("lines", [])
        return len(lines) == len(self.modems) and all(ln["state"] == "idle" for ln in lines)

    def status_text(self) -> str:
        out = subprocess.run([sys.executable, "-m", "ccd", "--config", str(self.config),
                              "status"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout


@pytest.fixture
async def hotline(demo_site, prompts, tmp_path, request):
    names = getattr(request, "param", ["line1"])
    line = Hotline(demo_site, tmp_path, prompts, names)
    async with trio.open_nursery() as nursery:
        for emu in line.modems.values():
            await nursery.start(emu.run)
        await trio.to_thread.run_sync(line.daemon.start)
        try:
            await line.poll(lambda: line.lines_idle() or None, limit=30)
            yield line
        finally:
            code = await trio.to_thread.run_sync(line.daemon.stop)
            nursery.cancel_scope.cancel()
        assert code == 0, line.daemon.output


async def test_balance_over_an_analog_line(hotline):
    emu = hotline.modems["line1"]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: emu.ring("13800000004", name="CHEN"))
        call_id = await hotline.call_of("13800000004")
        menu = await hotline.wait_for(call_id, "play", "main")
        await emu.wait_for(lambda: emu.mode == "vtx" and len(emu.sessions) >= 2)
        await trio.sleep(0.5)
        await emu.press("1")
        balance = await hotline.wait_for(call_id, "play", "say_balance")
        await hotline.wait_for(call_id, "play", "say_bill")
        expected = hotline.audio(balance["prompts"])
        await emu.wait_for(lambda: any(bytes(s.audio) == expected for s in emu.sessions))
        await emu.hang_up()
        record = await hotline.wait_ended(call_id)
    assert balance["prompts"] == ["balance/balance_is", *say.amount(-12345, "zh")]
    greeting = hotline.audio(["greeting/welcome"])
    assert bytes(emu.sessions[0].audio) == greeting and emu.sessions[0].ended == "etx"
    main = hotline.audio(menu["prompts"])
    assert emu.sessions[1].ended == "abort" and main.startswith(bytes(emu.sessions[1].audio))
    assert emu.underruns == 0
    assert record["disposition"] == "ANSWERED" and record["digits"] == "1"
    assert record["hangup_by"] == "caller"
    assert record["customer_id"] == 4 and record["account_no"] == "1060000004"
    assert record["dst"] == "96655" and record["channel"].startswith("modem/line1/")
    assert record["answer"] and record["duration"] > record["billsec"] > 0
    events = hotline.events(call_id)
    kinds = [k for k, _ in events]
    assert kinds[:3] == ["start", "callerid", "answer"] and kinds[-1] == "end"
    callerid = dict(events)["callerid"]
    assert callerid["name"] == "CHEN" and "NMBR = 13800000004" in callerid["raw"]
    await emu.wait_for(lambda: not emu.offhook)


async def test_repair_report_over_an_analog_line(hotline, tmp_path):
    emu = hotline.modems["line1"]
    fmt = au.format_named(FORMAT)
    emu.speech = fmt.encode(au.read_pcm(write_tone(tmp_path / "t.wav", 1000, 2.0)))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: emu.ring("13800000001"))
        call_id = await hotline.call_of("13800000001")
        await hotline.wait_for(call_id, "play", "main")
        await emu.press("2")
        await hotline.wait_for(call_id, "play", "report")
        await emu.press("1")
        await hotline.wait_for(call_id, "record_start", "record_repair")
        await trio.sleep(3.0)  # the caller speaks for two seconds, then a second of silence
        await emu.press("#")
        created = await hotline.wait_for(call_id, "work_order", limit=20)
        await hotline.wait_for(call_id, "play", "report_saved")
        await emu.hang_up()
        record = await hotline.wait_ended(call_id)
    wo = hotline.query("SELECT id, type, source, call_id, phone FROM work_orders WHERE number = ?",
                       ("WO-" + created["number"],))[0]
    assert wo[1:] == ("repair", "ivr", call_id, "13800000001")
    wav, seconds = hotline.query(
        "SELECT a.path, r.seconds FROM attachments a JOIN recordings r ON r.id = a.recording_id "
        "WHERE a.work_order_id = ?", (wo[0],))[0]
    assert seconds > 2.0
    recorded = au.read_pcm(Path(wav))
    assert fmt.encode(recorded[: len(emu.speech)]) == emu.speech  # what the caller said, exactly
    hears(Path(wav), present=[1000.0], absent=[2000.0])
    assert record["digits"].startswith("21") and record["disposition"] == "ANSWERED"


async def test_hang_up_mid_prompt_gives_a_complete_record(hotline):
    emu = hotline.modems["line1"]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: emu.ring("13800000005"))
        call_id = await hotline.call_of("13800000005")
        await hotline.wait_for(call_id, "play", "greeting")
        await emu.wait_session(0)
        await trio.sleep(0.3)
        await emu.hang_up()
        record = await hotline.wait_ended(call_id)
    assert record["hangup_by"] == "caller" and record["disposition"] == "ANSWERED"
    assert json.loads(record["ivr_path"])[:2] == ["screen", "greeting"]
    assert record["end"] and record["duration"] >= record["billsec"] >= 0
    kinds = [k for k, _ in hotline.events(call_id)]
    assert kinds[-1] == "end" and "hangup" in kinds
    assert 0 < len(emu.sessions[0].audio) < len(hotline.audio(["greeting/welcome"]))
    await emu.wait_for(lambda: not emu.offhook)  # the line went on hook by itself


@pytest.mark.parametrize("hotline", [["line1", "line2"]], indirect=True)
async def test_modem_vanishing_mid_call(hotline):
    one, two = hotline.modems["line1"], hotline.modems["line2"]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: one.ring("13800000004"))
        call_id = await hotline.call_of("13800000004")
        await one.wait_session(0)
        one.vanish()
        record = await hotline.wait_ended(call_id)
        assert record["disposition"] == "FAILED" and record["hangup_by"] == "line-lost"
        lines = {ln["line"]: ln for ln in hotline.status()["lines"]["lines"]}
        assert lines["line1"]["state"] in ("down", "starting") and lines["line1"]["last_error"]
        assert lines["line2"]["state"] == "idle"
        text = hotline.status_text()
        assert "模拟线路" in text and "line2  空闲" in text and "最近故障" in text
        # the other line carries on meanwhile
        nursery.start_soon(lambda: two.ring("13800000005"))
        other = await hotline.call_of("13800000005")
        await hotline.wait_for(other, "play", "greeting")
        await two.hang_up()
        await hotline.wait_ended(other)
        # plugged in again: retried and back
        one.reappear()

        def back():
            line = {ln["line"]: ln for ln in hotline.status()["lines"]["lines"]}["line1"]
            return line if line["state"] == "idle" else None
        line1 = await hotline.poll(back, limit=30)
    assert line1["restarts"] >= 1


async def test_analog_caller_asking_for_an_agent_is_offered_a_callback(hotline):
    """The demo's stations are SIP phones; audio cannot cross from a modem line to a pjsua2
    worker (hw/drivers.py), so the ACD offers a callback instead of ringing them."""
    emu = hotline.modems["line1"]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: emu.ring("13800000004"))
        call_id = await hotline.call_of("13800000004")
        await hotline.wait_for(call_id, "play", "main")
        await emu.wait_for(lambda: len(emu.sessions) >= 2)  # the menu is playing
        sessions = len(emu.sessions)
        await emu.press("0")
        offered = await hotline.wait_for(call_id, "acd_callback_offered")
        offer = hotline.audio(["callback/offer", *say.digits("13800000004", "zh"),
                               "callback/choose"])
        await emu.wait_for(lambda: any(bytes(s.audio) == offer for s in emu.sessions[sessions:]))
        await emu.press("1")  # call me back on this number
        rows = await hotline.poll(lambda: hotline.query(
            "SELECT phone, call_id, note FROM callbacks WHERE call_id = ?", (call_id,)) or None)
        record = await hotline.wait_ended(call_id)
    assert offered["reason"] == "no-station-on-this-line"
    assert rows[0][0] == "13800000004" and json.loads(rows[0][2])["queue"] == "general"
    assert record["disposition"] == "ANSWERED"
    missed = hotline.query("SELECT COUNT(*) FROM agent_state_log WHERE reason = 'missed'")
    assert missed == [(0,)]
