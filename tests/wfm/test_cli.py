"""`ccd wfm erlang|staff` and `ccd simulate`, through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ccd import cli_wfm
from ccd.wfm.erlang import erlang_c_figures, staff
from ccd.wfm.erlang_a import erlang_a_figures

# The lead joins these onto the main app the same way.
app = typer.Typer()
app.add_typer(cli_wfm.wfm_app, name="wfm")
app.command("simulate", help=cli_wfm.simulate.__doc__)(cli_wfm.simulate)
runner = CliRunner()

LOAD = ["--calls", "100", "--interval", "1800", "--aht", "180"]


def test_erlang_json_has_the_issues_keys() -> None:
    result = runner.invoke(
        app, ["wfm", "erlang", *LOAD, "--agents", "14", "--target", "20", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert round(data["service_level"], 4) == 0.8884
    assert round(data["asa_s"], 4) == 7.8359
    assert round(data["probability_wait"], 4) == 0.1741
    assert round(data["occupancy"], 4) == 0.7143


def test_erlang_for_people_in_chinese_by_default_and_english_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["wfm", "erlang", *LOAD, "--agents", "14", "--target", "20"]
    monkeypatch.delenv("CCD_LANG", raising=False)
    zh = runner.invoke(app, args)
    assert zh.exit_code == 0 and "服务水平（20秒接通率）: 88.84%" in zh.output
    assert "平均应答时长: 7.8 秒" in zh.output
    monkeypatch.setenv("CCD_LANG", "en")
    en = runner.invoke(app, args)
    assert "service level (answered in 20 s): 88.84%" in en.output


def test_erlang_with_patience_is_erlang_a() -> None:
    args = ["wfm", "erlang", *LOAD, "--agents", "12", "--target", "20", "--patience", "120"]
    data = json.loads(runner.invoke(app, [*args, "--json"]).output)
    expected = erlang_a_figures(100, 1800, 180, 12, 20, 120)
    assert data["probability_abandon"] == pytest.approx(expected.probability_abandon)
    assert data["service_level"] == pytest.approx(expected.service_level)


def test_staff_json_gives_agents() -> None:
    args = ["wfm", "staff", *LOAD, "--target", "20", "--service-level", "0.8", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["agents"] == staff(100, 1800, 180, 20, 0.8).agents == 14


def test_staff_per_interval_from_volumes(tmp_path: Path) -> None:
    csv = tmp_path / "day.csv"
    csv.write_text("interval,calls\n08:00,60\n08:30,100\n09:00,160\n", encoding="utf-8")
    args = ["wfm", "staff", "--volumes", str(csv), "--interval", "1800", "--aht", "180"]
    result = runner.invoke(app, [*args, "--target", "20", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    agents = [row["agents"] for row in data["intervals"]]
    assert agents == [staff(c, 1800, 180, 20, 0.8).agents for c in (60, 100, 160)]
    assert data["agents"] == max(agents)
    text = runner.invoke(app, [*args, "--target", "20"])
    assert text.exit_code == 0 and "09:00" in text.output


def test_mistakes_exit_1_with_a_one_line_message(tmp_path: Path) -> None:
    both = runner.invoke(app, ["wfm", "staff", *LOAD, "--volumes", str(tmp_path / "x.csv")])
    assert both.exit_code == 1 and "--calls or --volumes" in both.output
    bad = runner.invoke(app, ["wfm", "erlang", "--calls", "-5", "--aht", "180", "--agents", "3"])
    assert bad.exit_code == 1 and "calls" in bad.output
    missing = tmp_path / "none.csv"
    gone = runner.invoke(app, ["wfm", "staff", "--volumes", str(missing), "--aht", "180"])
    assert gone.exit_code == 1 and "none.csv" in gone.output


def test_simulate_json() -> None:
    args = ["simulate", "--calls-per-hour", "200", "--aht", "180", "--agents", "14"]
    result = runner.invoke(
        app, [*args, "--hours", "2", "--target-s", "20", "--seed", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in ("offered", "answered", "abandoned", "service_level", "asa_s", "occupancy"):
        assert key in data
    assert data["answered"] == data["offered"] > 300 and data["abandoned"] == 0
    assert data["erlang"]["service_level"] == pytest.approx(
        erlang_c_figures(200, 3600, 180, 14, 20).service_level
    )
    again = json.loads(runner.invoke(app, [*args, "--hours", "2", "--seed", "3", "--json"]).output)
    assert again["service_level"] == data["service_level"]


def test_simulate_for_people_and_with_patience(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCD_LANG", "en")
    args = ["simulate", "--calls-per-hour", "200", "--aht", "180", "--agents", "8"]
    result = runner.invoke(app, [*args, "--hours", "1", "--patience", "60"])
    assert result.exit_code == 0, result.output
    assert "abandoned" in result.output and "simulated calls per second" in result.output
    bad = runner.invoke(app, [*args, "--patience", "0"])
    assert bad.exit_code == 1


def test_help_has_examples() -> None:
    assert "ccd wfm erlang --calls 100" in runner.invoke(app, ["wfm", "--help"]).output
    assert "ccd simulate --calls-per-hour" in runner.invoke(app, ["simulate", "--help"]).output


def test_simulate_prints_a_table_not_tabs() -> None:
    from ccd.wfm.catalogue import text

    args = ["simulate", "--calls-per-hour", "200", "--aht", "180", "--agents", "14", "--hours",
            "1", "--seed", "3"]
    out = runner.invoke(app, args).output
    assert "\t" not in out
    lines = out.splitlines()
    assert lines[0].split() == [text("measured"), text("predicted")]  # a header row
    assert set(lines[1]) == {"─"}  # the rule under it
    assert lines[2].split()[0] == text("offered")
    # right-aligned measured figures end in the same column as their header
    from rich.cells import cell_len
    end = cell_len(lines[0][:lines[0].index(text("measured")) + len(text("measured"))])
    for line in lines[2:5]:
        figure = line.split()[1]
        assert cell_len(line[:line.index(figure, len(line.split()[0])) + len(figure)]) == end
