"""Files and secrets: a site made and run under umask 022 is still closed to other local users,
and the trunk password is neither shown nor logged."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ccd import config as configuration
from ccd.errors import ConfigError
from ccd.secrets import MASK
from tests.daemon_proc import DaemonProcess


def _ccd(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    """Run the CLI as a user would from a shell whose umask is 022."""
    return subprocess.run(
        [sys.executable, "-m", "ccd", *args], capture_output=True, text=True, cwd=cwd,
        env={**os.environ, **(env or {})}, preexec_fn=lambda: os.umask(0o022),
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv],
        capture_output=True, text=True,
    )


@pytest.fixture
def open_dir():
    """A folder other users may enter (pytest's tmp_path is 0700, which would hide the site
    from `nobody` whatever its own modes)."""
    folder = Path(tempfile.mkdtemp(prefix="ccd-modes-", dir="/tmp"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_init_run_and_backup_under_umask_022_leave_nothing_world_readable(open_dir):
    tmp_path = open_dir
    out = _ccd("init", "--dir", str(tmp_path / "site"), "--demo", "--customers", "50")
    assert out.returncode == 0, out.stderr
    site = tmp_path / "site"
    config = site / "ccd.toml"
    for folder in (site, site / "run", site / "prompts", site / "recordings", site / "flows",
                   site / "backups"):
        assert _mode(folder) == 0o750, folder
    assert _mode(config) == 0o640
    assert _mode(site / "ccd.sqlite3") == 0o640

    # The daemon under umask 022: its -wal, -shm and lock files, and a backup made meanwhile.
    daemon = DaemonProcess(config, "sip.enabled=false")
    daemon.args.insert(0, "/bin/sh")
    daemon.args[1:1] = ["-c", 'umask 022; exec "$@"', "sh"]
    daemon.start()
    try:
        for name in ("ccd.sqlite3", "ccd.sqlite3-wal", "ccd.sqlite3-shm", "ccd.sqlite3.lock"):
            assert _mode(site / name) == 0o640, name
        backup = _ccd("--config", str(config), "db", "backup")
        assert backup.returncode == 0, backup.stderr
        [made] = list((site / "backups").glob("ccd-*.sqlite3"))
        assert _mode(made) == 0o640
    finally:
        assert daemon.stop() == 0, daemon.output

    if os.geteuid() != 0:
        pytest.skip("reading as another user needs root")
    for target in (site / "ccd.sqlite3", config, made):
        refused = _as_nobody("cat", str(target))
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, target
    # Even with the folder opened up, the files themselves stay closed.
    os.chmod(site, 0o755)
    for target in (site / "ccd.sqlite3", config):
        refused = _as_nobody("cat", str(target))
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, target
    probe = site / "probe.txt"  # so the check itself can fail: a 0644 file *is* readable
    probe.write_text("x")
    os.chmod(probe, 0o644)
    assert _as_nobody("cat", str(probe)).returncode == 0
    assert _as_nobody("cat", str(site / "flows" / "utility.toml")).returncode != 0


def _umask(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return line.split()[1]
    raise AssertionError("no Umask line")


def test_the_daemon_and_its_media_workers_write_with_umask_027(tmp_path, prompts):
    """Recordings are written by the media workers: they inherit the daemon's umask."""
    out = _ccd("init", "--dir", str(tmp_path / "site"))
    assert out.returncode == 0, out.stderr
    daemon = DaemonProcess(tmp_path / "site" / "ccd.toml", f"paths.prompts={prompts}")
    daemon.args.insert(0, "/bin/sh")
    daemon.args[1:1] = ["-c", 'umask 022; exec "$@"', "sh"]
    daemon.start()
    try:
        assert daemon.proc is not None
        workers = subprocess.run(["pgrep", "-P", str(daemon.proc.pid)], capture_output=True,
                                 text=True).stdout.split()
        assert workers, "no media worker"
        assert [_umask(int(p)) for p in [daemon.proc.pid, *workers]] == \
            ["0027"] * (1 + len(workers))
    finally:
        assert daemon.stop() == 0, daemon.output


def test_the_daemon_tightens_a_site_left_world_readable(tmp_path):
    out = _ccd("init", "--dir", str(tmp_path / "site"))
    assert out.returncode == 0, out.stderr
    site = tmp_path / "site"
    os.chmod(site / "ccd.sqlite3", 0o644)
    os.chmod(site / "ccd.toml", 0o666)
    os.chmod(site / "recordings", 0o777)
    daemon = DaemonProcess(site / "ccd.toml", "sip.enabled=false").start()
    try:
        assert _mode(site / "ccd.sqlite3") == 0o640
        assert _mode(site / "ccd.toml") == 0o640
        assert _mode(site / "recordings") == 0o750
    finally:
        assert daemon.stop() == 0
    assert "tightened permissions" in daemon.output


SECRET = "Tr0nk-s3cret!"


def _site_config(tmp_path: Path, password_line: str) -> Path:
    config = tmp_path / "ccd.toml"
    config.write_text(
        '[sip]\nregistrar = "sip:trunk.example"\nusername = "hotline"\n' + password_line + "\n",
        encoding="utf-8",
    )
    return config


def test_config_show_masks_the_trunk_password(tmp_path):
    config = _site_config(tmp_path, f'password = "{SECRET}"')
    out = _ccd("--config", str(config), "config", "show")
    assert out.returncode == 0, out.stderr
    assert SECRET not in out.stdout
    assert f'password = "{MASK}"' in out.stdout


def test_the_password_may_come_from_the_environment(tmp_path):
    config = _site_config(tmp_path, 'password = "env:CCD_SIP_PASSWORD"')
    os.environ["CCD_SIP_PASSWORD"] = SECRET
    try:
        loaded = configuration.load(config)
    finally:
        del os.environ["CCD_SIP_PASSWORD"]
    assert loaded.sip.password == SECRET
    with pytest.raises(ConfigError) as missing:
        configuration.load(config)
    assert str(config) in missing.value.message and "'sip.password'" in missing.value.message
    out = _ccd("--config", str(config), "config", "show", env={"CCD_SIP_PASSWORD": SECRET})
    assert SECRET not in out.stdout
    assert f'password = "{MASK} (env:CCD_SIP_PASSWORD)"' in out.stdout


def test_the_password_may_come_from_a_file_only_its_owner_reads(tmp_path):
    secret_file = tmp_path / "secrets" / "sip-password"
    secret_file.parent.mkdir()
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    os.chmod(secret_file, 0o600)
    config = _site_config(tmp_path, 'password = "file:secrets/sip-password"')
    assert configuration.load(config).sip.password == SECRET
    os.chmod(secret_file, 0o644)
    with pytest.raises(ConfigError) as loose:
        configuration.load(config)
    assert "'sip.password'" in loose.value.message and "chmod 600" in loose.value.message


def test_log_lines_never_carry_the_password(tmp_path):
    config = _site_config(tmp_path, f'password = "{SECRET}"')
    script = (
        "import logging, sys\n"
        "from ccd import config, log, secrets\n"
        "c = config.load(sys.argv[1])\n"
        "log.setup('info', 'plain')\n"
        "secrets.install_log_filter(c)\n"
        "logging.getLogger('ccd.sip').warning('REGISTER to %s with %s', 'trunk', c.sip.password)\n"
        "try:\n"
        "    raise RuntimeError('auth failed for ' + c.sip.password)\n"
        "except RuntimeError:\n"
        "    logging.getLogger('ccd.sip').exception('registration failed')\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert SECRET not in out.stderr
    assert f"REGISTER to trunk with {MASK}" in out.stderr
    assert f"auth failed for {MASK}" in out.stderr
