"""`flows validate` and `prompts build` through typer's CliRunner."""

from __future__ import annotations

import os
import shutil
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ccd.ivr.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_validate_the_demo_flow() -> None:
    result = runner.invoke(app, ["flows", "validate", str(ROOT / "ccd" / "ivr" / "flows" / "utility.toml")])
    assert result.exit_code == 0, result.output
    assert "utility.toml: ok (utility: 63 nodes, languages zh, en)" in result.output


def test_validate_a_folder_with_a_bad_flow(tmp_path: Path) -> None:
    shutil.copy(ROOT / "ccd" / "ivr" / "flows" / "utility.toml", tmp_path / "good.toml")
    (tmp_path / "bad.toml").write_text(
        '[flow]\nname = "bad"\nstart = "a"\n[nodes.a]\nkind = "play"\n'
        'prompts = ["menu/mian"]\nnext = "b"\n', encoding="utf-8")
    result = runner.invoke(app, ["flows", "validate", "--flows-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path}/good.toml: ok" in result.output
    assert (f"{tmp_path}/bad.toml: node 'a': unknown target 'b' in next" in result.output)
    assert (f"{tmp_path}/bad.toml: node 'a': missing prompt 'menu/mian' in prompts[0]: not in "
            "the zh/en catalogue; did you mean 'menu/main'?") in result.output
    assert "1 of 2 flow file(s) refused" in result.output


def test_validate_an_empty_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["flows", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "no flow files" in result.output


def test_build_prompts(tmp_path: Path) -> None:
    args = ["prompts", "build", "--lang", "zh", "--prompts-dir", str(tmp_path),
            "--only", "num/1", "--only", "greeting/welcome"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "zh: 2 made, 0 cached, 0 studio recordings kept" in result.output
    with wave.open(str(tmp_path / "zh" / "greeting" / "welcome.wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    again = runner.invoke(app, args)
    assert "zh: 0 made, 2 cached" in again.output


def test_build_without_espeak_says_what_to_install(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = runner.invoke(app, ["prompts", "build", "--prompts-dir", str(tmp_path / "p"),
                                 "--only", "num/1"])
    assert result.exit_code == 1
    assert "'espeak-ng' is not installed" in result.output
    assert "apt install espeak-ng" in result.output
    assert os.environ["PATH"] == str(empty)


def test_build_an_unknown_language(tmp_path: Path) -> None:
    result = runner.invoke(app, ["prompts", "build", "--lang", "fr", "--prompts-dir",
                                 str(tmp_path)])
    assert result.exit_code == 1
    assert "no catalogue for language 'fr'" in result.output
