"""`ccd deploy kamailio` writes a config that Kamailio itself accepts (`kamailio -c`)."""

import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from ccd.cli.main import app

runner = CliRunner()


@pytest.mark.skipif(shutil.which("kamailio") is None, reason="Debian's kamailio is not installed")
def test_written_config_passes_kamailios_own_check(tmp_path):
    result = runner.invoke(app, ["--set", "sip.workers=3", "--set", "sip.listen=127.0.0.1:5070",
                                 "deploy", "kamailio", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    listed = (tmp_path / "dispatcher.list").read_text().splitlines()
    assert [line.split()[1] for line in listed if not line.startswith("#")] == [
        "sip:127.0.0.1:5070", "sip:127.0.0.1:5071", "sip:127.0.0.1:5072"]
    check = subprocess.run(["kamailio", "-c", "-f", str(tmp_path / "kamailio.cfg")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-2000:]


def test_workers_on_the_public_port_are_refused(tmp_path):
    result = runner.invoke(app, ["deploy", "kamailio", "--output", str(tmp_path)])
    assert result.exit_code == 1
    assert "move them" in result.output
    assert not (tmp_path / "kamailio.cfg").exists()
