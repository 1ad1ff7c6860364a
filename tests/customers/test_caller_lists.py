"""`ccd callers`: blocked (黑名单), VIP and restricted numbers, for customers and for numbers that
are nobody's customer; the IVR's caller flags read them whatever form the caller ID takes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import typer
from typer.testing import CliRunner

from ccd.cli.main import main_options
from ccd.cli_callers import app as callers_app
from ccd.config import Config
from db import lookup, open_database
from tests.acd_runtime.test_cli import site_config as cli_site

site_config = cli_site  # the CLI tests' fixture: a seeded database, no daemon

app = typer.Typer()
app.callback()(main_options)
app.add_typer(callers_app, name="callers")
runner = CliRunner()


def ccd(config: Config, *args: str):
    return runner.invoke(app, ["--config", config.source, *args])


def flags(config: Config, phone: str) -> dict[str, bool]:
    db = open_database(Path(config.database_path))
    try:
        return lookup.caller_flags(db, phone)
    finally:
        db.close()


def test_a_nuisance_number_that_is_no_customer_can_be_blocked(site_config: Config) -> None:
    empty = ccd(site_config, "callers", "list")
    assert empty.exit_code == 0 and empty.output.strip() == "名单上没有号码"
    assert flags(site_config, "13955556666")["blocked"] is False
    done = ccd(site_config, "callers", "block", "+86 139-5555-6666", "--note", "骚扰电话")
    assert done.exit_code == 0, done.output
    assert "13955556666" in done.output and "黑名单" in done.output and "非客户" in done.output
    for form in ("13955556666", "+8613955556666", "sip:013955556666@10.0.0.1"):
        assert flags(site_config, form) == {"known": False, "vip": False, "blocked": True,
                                            "restricted": False}
    listed = ccd(site_config, "callers", "list").output.splitlines()
    assert listed[0].split() == ["号码", "名单", "客户", "备注", "设置人", "设置时间"]
    assert "13955556666" in listed[2] and "骚扰电话" in listed[2]


def test_vip_restricted_and_clear(site_config: Config) -> None:
    assert ccd(site_config, "callers", "vip", "057188001234").exit_code == 0
    assert flags(site_config, "0571-88001234")["vip"] is True
    assert ccd(site_config, "callers", "restrict", "057188001234").exit_code == 0  # one list
    assert flags(site_config, "057188001234") == {"known": False, "vip": False,
                                                  "blocked": False, "restricted": True}
    as_json = json.loads(ccd(site_config, "callers", "list", "--json").output)
    assert [(c["phone"], c["list"]) for c in as_json] == [("057188001234", "restricted")]
    assert ccd(site_config, "callers", "clear", "057188001234").exit_code == 0
    assert flags(site_config, "057188001234")["restricted"] is False
    again = ccd(site_config, "callers", "clear", "057188001234")
    assert again.exit_code == 1 and "057188001234" in again.output
    bad = ccd(site_config, "callers", "block", "anonymous")
    assert bad.exit_code == 1 and "anonymous" in bad.output
    db = sqlite3.connect(site_config.database_path)
    actions = [r[0] for r in db.execute(
        "SELECT action FROM audit_log WHERE action LIKE 'callers.%' ORDER BY id")]
    db.close()
    assert actions == ["callers.set", "callers.set", "callers.clear"]
