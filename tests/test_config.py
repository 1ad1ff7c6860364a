"""Config: the shipped file is complete and valid, and every kind of bad input is named clearly."""

from pathlib import Path

import pytest
import tomllib

from ccd import config
from ccd.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ccd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_file_lists_every_setting_with_its_default():
    shipped = tomllib.loads((ROOT / "ccd.toml").read_text(encoding="utf-8"))
    assert shipped == config.dump_defaults()


def test_shipped_file_loads():
    cfg = config.load(ROOT / "ccd.toml")
    assert cfg.sip.workers == 1
    assert cfg.database_path == ROOT / "var" / "ccd.sqlite3"
    assert cfg.socket_path == ROOT / "var" / "run" / "ccd.sock"


def test_empty_file_gives_defaults(tmp_path):
    cfg = config.load(write(tmp_path, ""))
    assert cfg.api.max_line_bytes == 65536
    assert cfg.database_path == tmp_path / "var" / "ccd.sqlite3"


def test_unknown_key_names_file_key_and_nearest(tmp_path):
    path = write(tmp_path, "[sip]\nworkrs = 2\n")
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert str(path) in e.value.message
    assert "unknown key 'sip.workrs'" in e.value.message
    assert "did you mean 'sip.workers'?" in e.value.message


def test_unknown_section_suggests_section(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'sipp'; did you mean 'sip'\?"):
        config.load(write(tmp_path, "[sipp]\nworkers = 2\n"))


def test_unknown_key_without_near_match_has_no_suggestion(tmp_path):
    with pytest.raises(ConfigError) as e:
        config.load(write(tmp_path, "[api]\nzzzzzz = 1\n"))
    assert "unknown key 'api.zzzzzz'" in e.value.message
    assert "did you mean" not in e.value.message


def test_wrong_type_names_key(tmp_path):
    path = write(tmp_path, '[sip]\nworkers = "two"\n')
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert f"{path}: 'sip.workers'" in e.value.message
    assert "Expected `int`" in e.value.message


def test_section_must_be_table(tmp_path):
    with pytest.raises(ConfigError, match=r"'sip' must be a table"):
        config.load(write(tmp_path, "sip = 3\n"))


def test_bad_choice_names_key(tmp_path):
    with pytest.raises(ConfigError, match=r"'log.level'"):
        config.load(write(tmp_path, '[log]\nlevel = "loud"\n'))


def test_invalid_toml_names_file_and_line(tmp_path):
    path = write(tmp_path, "[sip\nworkers = 1\n")
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert e.value.message.startswith(f"{path}: not valid TOML")
    assert "line 1" in e.value.message


def test_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "nope.toml")


def test_semantic_checks_name_key(tmp_path):
    with pytest.raises(ConfigError, match=r"'sip.listen' must be HOST:PORT"):
        config.load(write(tmp_path, '[sip]\nlisten = "localhost"\n'))
    with pytest.raises(ConfigError, match=r"'sip.max_calls_per_worker' .*64 media sockets"):
        config.load(write(tmp_path, "[sip]\nmax_calls_per_worker = 30\nmax_new_calls_per_second = 10\n"))
    with pytest.raises(ConfigError, match=r"'api.requests_per_second' must be greater than 0"):
        config.load(write(tmp_path, "[api]\nrequests_per_second = 0\n"))


def test_overrides_apply_and_parse_values(tmp_path):
    path = write(tmp_path, "[sip]\nworkers = 1\n")
    cfg = config.load(path, ["sip.listen=127.0.0.1:5099", "sip.workers=3", "log.level=debug"])
    assert cfg.sip.listen == "127.0.0.1:5099"
    assert cfg.sip.workers == 3
    assert cfg.log.level == "debug"


def test_override_is_validated_like_the_file(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(ConfigError, match=r"--set sip.wrkers=2: unknown key 'sip.wrkers'; did you mean 'sip.workers'"):
        config.load(path, ["sip.wrkers=2"])
    with pytest.raises(ConfigError, match=r"'sip.workers'"):
        config.load(path, ["sip.workers=many"])
    with pytest.raises(ConfigError, match="expected SECTION.KEY=VALUE"):
        config.load(path, ["workers"])


def test_ccd_config_environment_variable(tmp_path, monkeypatch):
    path = write(tmp_path, "[sip]\nworkers = 4\n")
    monkeypatch.setenv("CCD_CONFIG", str(path))
    assert config.load().sip.workers == 4
    monkeypatch.setenv("CCD_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="missing.toml: no such config file"):
        config.load()


def test_registration_settings_are_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"'sip.registrar' must be a SIP URI"):
        config.load(write(tmp_path, '[sip]\nregistrar = "provider.example"\nusername = "u"\n'))
    with pytest.raises(ConfigError, match=r"'sip.username' is needed"):
        config.load(write(tmp_path, '[sip]\nregistrar = "sip:provider.example"\n'))
    cfg = config.load(write(tmp_path, '[sip]\nregistrar = "sip:p.example"\nusername = "8675"\n'
                                      'edge = "none"\n'))
    from ccd.telephony.service import make_driver
    from ccd.telephony.trunks import trunk_list

    driver = make_driver(cfg)  # without the edge the worker registers itself
    assert driver.registration is not None
    assert (driver.registration.registrar, driver.registration.user) == ("sip:p.example", "8675")
    cfg = config.load(write(tmp_path, '[sip]\nregistrar = "sip:p.example"\nusername = "8675"\n'))
    assert make_driver(cfg).registration is None  # with the edge it is trunk "default"
    assert [(t.name, t.registrar, t.username) for t in trunk_list(cfg)] == [
        ("default", "sip:p.example", "8675")]


def test_no_config_file_is_said_plainly_by_every_command(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CCD_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="ccd.toml: no such config file; make a site"):
        config.load()
    env = {k: v for k, v in os.environ.items() if k != "CCD_CONFIG"}
    for args in (["config", "check"], ["config", "show"], ["status"], ["wo", "list"],
                 ["--config", str(tmp_path / "nope.toml"), "config", "check"]):
        out = subprocess.run([sys.executable, "-m", "ccd", *args], cwd=tmp_path, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert ".toml: no such config file; make a site" in out.stderr, (args, out.stderr)
        assert "ok" not in out.stdout and "Traceback" not in out.stderr
