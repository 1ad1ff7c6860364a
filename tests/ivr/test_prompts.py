"""The prompt catalogue and the prompt builder (real espeak-ng and sox on a few prompts)."""

from __future__ import annotations

import os
import shutil
import wave
from pathlib import Path

import pytest

from ccd.ivr import synth
from ccd.ivr.catalogue import CatalogueError, Entry, load_catalogue
from ccd.ivr.flow import validate_flow
from ccd.ivr.nodes import Part
from ccd.ivr.prompts import PromptStore, build_prompts
from ccd.ivr.synth import ToolMissing

ROOT = Path(__file__).resolve().parents[2]
FEW = ["num/1", "menu/language", "pause/short", "common/beep", "greeting/welcome"]


def wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), \
            w.getnframes() / w.getframerate()


# ---------------------------------------------------------------- catalogue


def test_both_languages_have_the_same_flow_prompts() -> None:
    catalogue = load_catalogue()
    say_words = {"num", "money", "date", "time", "month", "ordinal"}
    common = {lang: {n for n in catalogue.names(lang) if n.split("/")[0] not in say_words}
              for lang in ("zh", "en")}
    assert common["zh"] == common["en"]
    assert len(common["zh"]) > 50


def test_every_prompt_of_the_demo_flow_is_in_both_catalogues() -> None:
    catalogue = load_catalogue()
    flow = validate_flow(ROOT / "ccd" / "ivr" / "flows" / "utility.toml", catalogue)
    used = {item for node in flow.nodes.values() for _, items in node.prompt_lists()
            for item in items if isinstance(item, str)}
    for node in flow.nodes.values():
        for _, items in node.prompt_lists():
            for item in items:
                if isinstance(item, Part) and item.say == "prompt":
                    used |= {item.prefix + c for c in item.choices} | {item.fallback}
    assert {"greeting/welcome", "menu/main", "wo/status/closed", "common/beep"} <= used
    for lang in ("zh", "en"):
        assert [name for name in used if not catalogue.has(name, lang)] == []


def test_site_catalogue_overrides_and_extends(tmp_path: Path) -> None:
    (tmp_path / "zh.toml").write_text('[prompts.greeting]\nwelcome = "您好，这里是自来水公司。"\n'
                                      '[prompts.extra]\nnote = "测试"\n', encoding="utf-8")
    catalogue = load_catalogue(tmp_path)
    assert catalogue.entry("greeting/welcome", "zh").text == "您好，这里是自来水公司。"
    assert catalogue.has("extra/note", "zh")
    assert catalogue.has("menu/main", "zh")  # the rest is kept
    assert catalogue.voice("zh").espeak == "cmn-latn-pinyin"


def test_bad_catalogue_names_the_file_and_prompt(tmp_path: Path) -> None:
    (tmp_path / "zh.toml").write_text('[prompts.menu]\n"Main Menu" = "主菜单"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"zh\.toml: prompt name 'menu/Main Menu'"):
        load_catalogue(tmp_path)
    (tmp_path / "zh.toml").write_text('[prompts.menu]\nmain = 5\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"prompt 'menu/main' must be text"):
        load_catalogue(tmp_path)
    with pytest.raises(CatalogueError, match="no prompt 'menu/mian'.*did you mean 'menu/main'"):
        load_catalogue().entry("menu/mian", "zh")


def test_mandarin_goes_through_tone_numbered_pinyin() -> None:
    voice = load_catalogue().voice("zh")
    assert synth.speech_input(Entry(text="您好，请按1。"), voice) == "nin2 hao3, qing3 an4 yi1."
    assert synth.to_pinyin("24小时") == "er4 shi2 si4 xiao3 shi2"
    assert synth.speech_input(Entry(text="还款", pinyin="huan2 kuan3"), voice) == "huan2 kuan3"
    english = load_catalogue().voice("en")
    assert synth.speech_input(Entry(text="Press 9."), english) == "Press 9."


# ---------------------------------------------------------------- building


def test_build_makes_8khz_mono_16bit_wavs_and_caches_them(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    report = build_prompts(tmp_path, ["zh", "en"], catalogue=catalogue, names=FEW)
    assert sorted(report.made["zh"]) == sorted(FEW)
    assert sorted(report.made["en"]) == sorted(FEW)
    for lang in ("zh", "en"):
        for name in FEW:
            rate, channels, width, seconds = wav_format(tmp_path / lang / f"{name}.wav")
            assert (rate, channels, width) == (8000, 1, 2)
            assert seconds >= synth.MIN_SECONDS
    assert wav_format(tmp_path / "zh" / "pause/short.wav")[3] == pytest.approx(0.3, abs=0.01)
    assert wav_format(tmp_path / "zh" / "common/beep.wav")[3] == pytest.approx(0.4, abs=0.01)
    # A second build finds everything in place and makes nothing.
    again = build_prompts(tmp_path, ["zh", "en"], catalogue=catalogue, names=FEW)
    assert again.total("made") == 0 and again.total("cached") == 2 * len(FEW)


def test_changed_text_is_made_again_and_studio_recordings_are_never_touched(
        tmp_path: Path) -> None:
    names = ["num/1", "greeting/welcome", "menu/main"]
    build_prompts(tmp_path, ["zh"], catalogue=load_catalogue(), names=names)
    studio = tmp_path / "zh" / "menu" / "main.wav"
    studio_bytes = b"RIFF studio recording"
    studio.write_bytes(studio_bytes)
    extra = tmp_path / "zh" / "num" / "2.wav"  # dropped in before it was ever built
    extra.write_bytes(b"RIFF studio two")
    site = tmp_path / "site"
    site.mkdir()
    (site / "zh.toml").write_text('[prompts.greeting]\nwelcome = "欢迎致电自来水公司。"\n',
                                  encoding="utf-8")
    before = (tmp_path / "zh" / "greeting/welcome.wav").read_bytes()
    report = build_prompts(tmp_path, ["zh"], catalogue=load_catalogue(site),
                           names=names + ["num/2"])
    assert report.made["zh"] == ["greeting/welcome"]
    assert report.cached["zh"] == ["num/1"]
    assert sorted(report.studio["zh"]) == ["menu/main", "num/2"]
    assert (tmp_path / "zh" / "greeting/welcome.wav").read_bytes() != before
    forced = build_prompts(tmp_path, ["zh"], force=True, catalogue=load_catalogue(site),
                           names=names + ["num/2"])
    assert sorted(forced.made["zh"]) == ["greeting/welcome", "num/1"]
    assert studio.read_bytes() == studio_bytes
    assert extra.read_bytes() == b"RIFF studio two"


def test_missing_espeak_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("sox"), bin_dir / "sox")  # sox is there, espeak-ng is not
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(ToolMissing) as caught:
        build_prompts(tmp_path / "prompts", ["zh"], names=["num/1"])
    assert "'espeak-ng' is not installed" in caught.value.message
    assert "Debian package 'espeak-ng'" in caught.value.message
    assert caught.value.details == {"tool": "espeak-ng", "package": "espeak-ng"}
    assert not (tmp_path / "prompts" / "zh" / "num/1.wav").exists()


def test_missing_sox_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("espeak-ng"), bin_dir / "espeak-ng")
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(ToolMissing, match="'sox' is not installed.*apt install sox"):
        build_prompts(tmp_path, ["en"], names=["num/1"])


def test_speech_of_free_text_is_synthesized_once(tmp_path: Path) -> None:
    store = PromptStore(tmp_path)
    first = store.speech("和平路一带", "zh")
    assert first.is_relative_to(tmp_path / "zh" / "tts")
    rate, channels, width, seconds = wav_format(first)
    assert (rate, channels, width) == (8000, 1, 2) and seconds > 0.5
    stamp = first.stat().st_mtime_ns
    assert store.speech("和平路一带", "zh") == first
    assert first.stat().st_mtime_ns == stamp
    assert store.speech("Heping Road", "en") != first
    assert store.path("menu/main", "zh") == tmp_path / "zh" / "menu" / "main.wav"
