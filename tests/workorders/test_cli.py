"""`ccd wo …` with the daemon stopped: the same handlers as the socket API, on the site's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from db import connect
from tests.workorders.cli_app import build, make_site

runner = CliRunner()


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return make_site(tmp_path)


def ccd(cfg: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(build(), ["--config", str(cfg), *args])
    return result.exit_code, result.output


def test_create_dispatch_accept_feedback_close_show_and_list(cfg: Path) -> None:
    code, out = ccd(cfg, "wo", "create", "-t", "repair", "--priority", "urgent",
                    "--phone", "13800000001", "路口水管爆裂")
    assert code == 0, out
    number = out.strip()
    assert number.startswith("WO-") and len(number) == len("WO-20261123-0001")
    assert ccd(cfg, "wo", "dispatch", number, "repair")[1].strip() == f"{number}: 已派单 → repair"
    assert ccd(cfg, "wo", "accept", number) == (0, f"{number}: 处理中\n")
    assert ccd(cfg, "wo", "feedback", number, "已到现场")[0] == 0
    code, out = ccd(cfg, "wo", "close", number, "不该现在结")
    assert code == 1 and "is accepted" in out and "allowed: feedback, pause, request_close" in out
    assert ccd(cfg, "wo", "request-close", number, "已修复")[0] == 0
    assert ccd(cfg, "wo", "close", number, "已修复，客户确认") == (0, f"{number}: 已办结\n")
    code, out = ccd(cfg, "wo", "show", number)
    assert code == 0
    assert "已办结" in out and "路口水管爆裂" in out and "已修复，客户确认" in out
    assert [line.split()[2] for line in out.splitlines() if line.startswith("  20")] == [
        "受理", "派单", "接单", "回复", "申请结单", "结单", "通知客户"]
    code, out = ccd(cfg, "wo", "show", number, "--json")
    assert json.loads(out)["status"] == "closed"
    code, out = ccd(cfg, "wo", "list", "--json")
    assert [w["number"] for w in json.loads(out)] == [number]
    assert ccd(cfg, "wo", "list", "--open", "--json")[1].strip() == "[]"
    db = connect(cfg.parent / "ccd.sqlite3")
    assert db.execute("SELECT phone FROM sms_outbox").fetchall() == [("13800000001",)]
    db.conn.close()


def test_errors_are_one_line_with_what_to_do(cfg: Path) -> None:
    code, out = ccd(cfg, "wo", "show", "WO-20000101-0001")
    assert (code, out) == (1, "ccd: no work order WO-20000101-0001\n")
    code, out = ccd(cfg, "wo", "create", "-t", "teleport", "x")
    assert code == 1 and "no work order type 'teleport'" in out and "repair" in out
    number = ccd(cfg, "wo", "create", "-t", "enquiry", "x")[1].strip()
    code, out = ccd(cfg, "wo", "send-back", number)
    assert code == 1 and "needs a note" in out


def test_holidays_and_departments(cfg: Path) -> None:
    assert ccd(cfg, "wo", "holiday", "add", "2026-10-01", "--name", "国庆节")[0] == 0
    assert ccd(cfg, "wo", "holiday", "add", "2026-10-10", "--work")[0] == 0
    assert ccd(cfg, "wo", "holiday", "list")[1].split("\n")[:2] == [
        "2026-10-01  off   国庆节", "2026-10-10  work  "]
    assert ccd(cfg, "wo", "holiday", "add", "tomorrow")[0] == 1
    assert ccd(cfg, "wo", "department", "head", "repair", "zhang")[0] == 0
    assert "head: zhang" in ccd(cfg, "wo", "department", "list")[1]
    code, out = ccd(cfg, "wo", "department", "member", "repair", "nobody")
    assert code == 1 and "no user 'nobody'" in out


def test_the_list_is_a_table_in_words_and_says_when_it_is_empty(cfg: Path) -> None:
    code, out = ccd(cfg, "wo", "list")
    assert code == 0 and out.strip() == "没有符合条件的工单"  # not silence
    number = ccd(cfg, "wo", "create", "-t", "repair", "--phone", "13800000001", "水表漏水")[1]
    ccd(cfg, "wo", "dispatch", number.strip(), "repair")
    code, out = ccd(cfg, "wo", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["工单号", "状态", "类型", "紧急程度", "处理部门", "受理时间", "内容"]
    row = next(line for line in lines if line.startswith("WO-"))
    assert "已派单" in row and "一般" in row and "水表漏水" in row
    assert not any(code in row.split() for code in ("dispatched", "repair", "normal"))
