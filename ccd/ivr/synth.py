"""Speech synthesis of one prompt with espeak-ng and sox, into an 8 kHz mono 16-bit WAV.

Mandarin goes through pinyin: `espeak-ng -v cmn` on Debian 12 reads Chinese characters as pinyin
letters with English tone digits, while `-v cmn-latn-pinyin` speaks tone-numbered pinyin properly
(notes/pjsua2.md, "Prompts"). So Chinese text is converted with pypinyin first ("您好" ->
"nin2 hao3"), and digits in the text are turned into Chinese numerals before that.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from ccd.errors import CcdError
from ccd.ivr import say
from ccd.ivr.catalogue import Entry, Voice

RATE = 8000
MIN_SECONDS = 0.1  # pjsua2 rejects a WAV of one 20 ms frame; keep every prompt well above that
# Bumped whenever the pipeline below changes, so cached prompts are made again.
PIPELINE = 3

TOOLS = {"espeak-ng": "espeak-ng", "sox": "sox"}  # command -> Debian package


class ToolMissing(CcdError):
    error_id = "tool-missing"


class SynthesisError(CcdError):
    error_id = "synthesis-failed"


def require_tools() -> None:
    """Raise `ToolMissing` naming the command and the Debian package when one is not installed."""
    for command, package in TOOLS.items():
        if shutil.which(command) is None:
            raise ToolMissing(
                f"'{command}' is not installed, so prompts cannot be synthesized; install the "
                f"Debian package '{package}' (apt install {package})",
                tool=command, package=package,
            )


# ---------------------------------------------------------------- text to what espeak reads

_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_HANZI = re.compile(r"[\u3400-\u9fff]")
_PUNCT = {"，": ",", "、": ",", "；": ";", "：": ":", "。": ".", "！": "!", "？": "?",
          "（": ",", "）": ",", "“": "", "”": "", "《": "", "》": ""}
_ZH_WORDS = {"num/0": "零", "num/1": "一", "num/2": "二", "num/3": "三", "num/4": "四",
             "num/5": "五", "num/6": "六", "num/7": "七", "num/8": "八", "num/9": "九",
             "num/10": "十", "num/100": "百", "num/1000": "千", "num/10000": "万",
             "num/100000000": "亿", "num/liang": "两", "num/point": "点", "num/minus": "负"}


def _digits_to_hanzi(text: str) -> str:
    """'请按1' -> '请按一', '24小时' -> '二十四小时'; runs longer than 4 digits are read one by one."""

    def spell(match: re.Match[str]) -> str:
        run = match.group(0)
        if "." not in run and len(run) > 4:
            names = say.digits(run, "zh", yao=False)
        else:
            names = say.number(run, "zh", liang=False)
        return "".join(_ZH_WORDS[n] for n in names)

    return _DIGITS.sub(spell, text)


def to_pinyin(text: str) -> str:
    """Chinese text as tone-numbered pinyin for `espeak-ng -v cmn-latn-pinyin`."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(_digits_to_hanzi(text), style=Style.TONE3,
                            neutral_tone_with_five=True, tone_sandhi=True)
    words: list[str] = []
    for piece in syllables:
        piece = "".join(_PUNCT.get(c, c) for c in piece).strip()
        if not piece:
            continue
        if piece[0] in ",;:.!?" and words:
            words[-1] += piece
        else:
            words.append(piece)
    return " ".join(words)


def speech_input(entry: Entry, voice: Voice) -> str:
    """What espeak-ng is given for `entry` spoken with `voice`."""
    if entry.pinyin:
        return entry.pinyin
    if voice.espeak.startswith("cmn") and _HANZI.search(entry.text):
        return to_pinyin(entry.text)
    return entry.text


def cache_key(entry: Entry, voice: Voice, trim: bool) -> str:
    """A hash of everything the audio depends on: when it changes, the prompt is made again."""
    data = {"pipeline": PIPELINE, "kind": entry.kind, "input": speech_input(entry, voice),
            "voice": [voice.espeak, voice.speed, voice.pitch], "trim": trim,
            "silence": entry.silence, "tone": [entry.tone, entry.seconds]}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------- audio

_OUT = ["-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]
# Cut silence at both ends (sox trims the start only, so the sound is reversed around it).
_TRIM = ["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"]


def _run(cmd: list[str], what: str, stdin: str | None = None) -> None:
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)
    except FileNotFoundError:
        require_tools()
        raise
    if done.returncode != 0:
        raise SynthesisError(f"{what}: {cmd[0]} failed ({done.returncode}): "
                             f"{done.stderr.strip()[:300]}", command=cmd[0], prompt=what)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def synthesize(entry: Entry, voice: Voice, out: Path, *, trim: bool = False,
               what: str = "") -> float:
    """Write `entry` as an 8 kHz mono 16-bit WAV at `out` (atomically); return its length in s.

    voice: the voice of the language the entry is spoken in; trim: cut leading and trailing
    silence (single words that are joined into numbers); what: the prompt's name, for errors.
    """
    what = what or out.name
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ccd-prompt-") as tmp:
        work = Path(tmp)
        made = work / "out.wav"
        if entry.kind == "silence":
            _run(["sox", "-n", *_OUT, str(made), "trim", "0", f"{entry.silence:.3f}"], what)
        elif entry.kind == "tone":
            fade = min(0.01, entry.seconds / 4)
            _run(["sox", "-n", *_OUT, str(made), "synth", f"{entry.seconds:.3f}", "sine",
                  f"{entry.tone:g}", "fade", f"{fade:.3f}", f"{entry.seconds:.3f}", f"{fade:.3f}",
                  "gain", "-n", "-3"], what)
        else:
            text = speech_input(entry, voice)
            if not text.strip():
                raise SynthesisError(f"{what}: no text to speak", prompt=what)
            raw = work / "raw.wav"
            _run(["espeak-ng", "-v", voice.espeak, "-s", str(voice.speed), "-p", str(voice.pitch),
                  "-w", str(raw), "--stdin"], what, stdin=text)
            _run(["sox", str(raw), *_OUT, str(made), *(_TRIM if trim else []),
                  "gain", "-n", "-3"], what)
        seconds = wav_seconds(made)
        if seconds < MIN_SECONDS:
            padded = work / "padded.wav"
            _run(["sox", str(made), str(padded), "pad", "0", f"{MIN_SECONDS - seconds + 0.02:.3f}"],
                 what)
            made, seconds = padded, wav_seconds(padded)
        tmp_out = out.with_name(f".{out.name}.tmp")
        shutil.move(str(made), tmp_out)
        tmp_out.replace(out)
    return seconds
