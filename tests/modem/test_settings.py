"""`[[modem]]` in ccd.toml: good entries load, bad ones name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccd import config
from ccd.errors import ConfigError

LINE = '[[modem]]\nname = "line1"\nport = "/dev/ttyACM0"\n'


def load(tmp_path: Path, text: str):
    path = tmp_path / "ccd.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path), path


def test_lines_load_with_defaults(tmp_path):
    cfg, _ = load(tmp_path, LINE + '[[modem]]\nname = "line2"\nport = "/dev/ttyACM1"\n'
                  'sample_format = "ULAW"\n[modem.quirks]\noffhook = 2\n')
    assert [m.name for m in cfg.modem] == ["line1", "line2"]
    assert cfg.modem[0].baud == 115200 and cfg.modem[0].caller_id == "formatted"
    assert cfg.modem[1].quirks.offhook == 2 and cfg.modem[1].sample_format == "ULAW"


@pytest.mark.parametrize(("text", "key", "words"), [
    (LINE + "baud = 57600\n", "modem[0].baud", "faster port"),
    (LINE + 'sample_format = "MP3"\n', "modem[0].sample_format", "not a voice format"),
    (LINE + LINE, "modem[1].name", "already modem[0]"),
    (LINE + "rings = 0\n", "modem[0].rings", "between 1 and 10"),
    (LINE + "bawd = 115200\n", "modem[0].bawd", "did you mean 'modem[0].baud'"),
    (LINE + 'caller_id = "yes"\n', "modem.0.caller_id", "Invalid enum value 'yes'"),
    ('[[modem]]\nname = "line1"\n', "modem.0", "port"),
])
def test_bad_line_names_file_and_key(tmp_path, text, key, words):
    with pytest.raises(ConfigError) as e:
        load(tmp_path, text)
    assert str(tmp_path / "ccd.toml") in e.value.message
    assert key in e.value.message and words in e.value.message


def test_shipped_example_is_valid(tmp_path):
    shipped = (Path(__file__).resolve().parents[2] / "ccd.toml").read_text(encoding="utf-8")
    example = shipped[shipped.index("#   [[modem]]"):]
    text = "\n".join(line[4:] for line in example.splitlines() if line.startswith("#   "))
    cfg, _ = load(tmp_path, text)
    assert cfg.modem[0].name == "line1" and cfg.modem[0].quirks.offhook == 1
