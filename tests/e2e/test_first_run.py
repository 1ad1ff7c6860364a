"""A site answers from its first run: `ccd init` then `ccd run`, nothing in between.

Real parts only: the `ccd` command line, the daemon as a subprocess, SIPp's stock `uac_pcap`
caller and the project's own pjsua2 phone on loopback, espeak-ng for the prompts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from hw.sipphone import open_phone
from tests.daemon_proc import DaemonProcess, free_port
from tests.e2e.test_ivr_calls import Hotline
from tests.sip.conftest import free_rtp_block

pytestmark = pytest.mark.sip


def init(folder: Path, *args: str, env: dict[str, str] | None = None) -> Path:
    out = subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(folder), *args],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return folder / "ccd.toml"


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    config = init(tmp_path_factory.mktemp("first") / "site", "--demo", "--customers", "300")
    daemon = DaemonProcess(config).start()
    try:
        yield Hotline(config, daemon)
    finally:
        assert daemon.stop() == 0, daemon.output


def test_init_made_the_prompts_of_its_flow(first_run):
    prompts = first_run.config.parent / "prompts"
    assert (prompts / "zh" / "greeting" / "welcome.wav").stat().st_size > 1000
    assert (prompts / "en" / "menu" / "main.wav").exists()


async def test_sipp_uac_pcap_is_answered_and_walks_the_ivr(first_run, tmp_path):
    (tmp_path / "pcap").symlink_to("/usr/share/sip-tester")
    host = first_run.uri.split("@", 1)[1].split(";")[0]
    with trio.fail_after(60):
        out = await trio.run_process(
            ["sipp", "-sn", "uac_pcap", "-s", "hotline", host, "-i", "127.0.0.1",
             "-p", str(free_port()), "-mp", str(free_rtp_block()), "-m", "1", "-l", "1",
             "-timeout", "40s", "-timeout_error", "-nostdin", "-trace_err",
             "-error_file", str(tmp_path / "errors.log")],
            cwd=tmp_path, capture_stdout=True, capture_stderr=True, check=False,
        )
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert out.returncode == 0, out.stdout.decode()[-2000:] + errors
    rows = first_run.query("SELECT id FROM calls WHERE src = 'sipp' ORDER BY start DESC LIMIT 1")
    assert rows, "the daemon wrote no call record for SIPp's call"
    call_id = rows[0][0]
    record = await first_run.wait_ended(call_id)  # SIPp may exit before the row is closed
    assert record["disposition"] == "ANSWERED" and record["hangup_by"] == "caller"
    assert json.loads(record["ivr_path"])[:5] == ["screen", "greeting", "outage_check",
                                                  "menu_choice", "main"]
    played = [d for k, d in first_run.events(call_id) if k == "play"]
    assert played[0]["prompts"] == ["greeting/welcome"]
    assert not [k for k, _ in first_run.events(call_id) if k in ("prompt_missing", "flow_error")]


async def test_own_phone_hears_the_balance_on_a_new_site(first_run):
    async with open_phone(rtp_port=free_rtp_block()) as phone:
        call, call_id = await first_run.dial(phone, "13800000004")
        await first_run.wait_for(call_id, "play", "main")
        await call.send_dtmf("1", "rfc4733")
        await first_run.wait_for(call_id, "play", "say_balance")
        await call.hangup()
    record = await first_run.wait_ended(call_id)
    assert record["disposition"] == "ANSWERED" and record["digits"] == "1"


async def test_a_prompt_deleted_under_the_daemon_costs_only_itself(tmp_path, first_run):
    config = init(tmp_path / "site", "--demo", "--customers", "50", "--no-prompts")
    site_prompts = config.parent / "prompts"
    shutil.rmtree(site_prompts)
    shutil.copytree(first_run.config.parent / "prompts", site_prompts)
    daemon = DaemonProcess(config).start()
    try:
        hotline = Hotline(config, daemon)
        gone = site_prompts / "zh" / "menu" / "main.wav"
        gone.unlink()
        async with open_phone(rtp_port=free_rtp_block()) as phone:
            call, call_id = await hotline.dial(phone, "13800000004")
            main = await hotline.wait_for(call_id, "play", "main")
            await call.send_dtmf("1", "rfc4733")
            await hotline.wait_for(call_id, "play", "say_balance")
            await call.hangup()
        record = await hotline.wait_ended(call_id)
        missing = await hotline.wait_for(call_id, "prompt_missing")
        line = daemon.wait_for_line("prompt file missing", 5)
    finally:
        assert daemon.stop() == 0, daemon.output
    assert main["prompts"] == ["menu/main", "menu/language"]  # the menu went on without it
    assert missing["file"] == str(gone) and missing["prompt"] == "menu/main"
    assert str(gone) in line and call_id in line
    assert record["disposition"] == "ANSWERED" and record["hangup_by"] == "caller"
    assert record["digits"] == "1"


def test_run_refuses_calls_when_prompts_are_missing_and_cannot_be_made(tmp_path):
    config = init(tmp_path / "site", "--no-prompts")
    tools = tmp_path / "bin"  # a PATH with sox but without espeak-ng
    tools.mkdir()
    (tools / "sox").symlink_to(shutil.which("sox") or "/usr/bin/sox")
    env = {**os.environ, "PATH": str(tools)}
    sip = f"sip.listen=127.0.0.1:{free_port()}"
    out = subprocess.run([sys.executable, "-m", "ccd", "--config", str(config), "--set", sip,
                          "run"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ccd: ") and "prompt file(s) the IVR can play are missing" in last
    assert "en/acd/options" in last and "more)" in last  # the first, by name, and a count
    assert "'espeak-ng' is not installed" in last
    assert f"ccd --config {config} prompts build" in last
    assert "ccd.daemon: ready" not in out.stderr
    assert "Traceback" not in out.stderr
    assert not (config.parent / "run" / "ccd.sock").exists()


def test_init_says_what_to_do_when_it_cannot_make_prompts(tmp_path):
    tools = tmp_path / "bin"
    tools.mkdir()
    env = {**os.environ, "PATH": str(tools)}
    out = subprocess.run([sys.executable, "-m", "ccd", "init", "--dir", str(tmp_path / "site")],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr  # the site is made; `ccd run` will ask again
    assert "'espeak-ng' is not installed" in out.stderr
    assert "prompts build" in out.stdout
