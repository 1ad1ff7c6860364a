"""The prompt catalogue: what every prompt says, per language, read from data files.

Each language has one TOML file (`ccd/ivr/catalog/zh.toml`, `en.toml`) with a `[voice]` table (the
espeak-ng voice that synthesizes it) and a `[prompts]` tree whose nested tables become prompt names
joined with '/': `[prompts.wo.status] closed = "已办结"` is the prompt `wo/status/closed`, played
from `<prompts dir>/zh/wo/status/closed.wav`. Code never holds prompt text; it refers to names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import tomllib

from ccd.errors import CcdError

PACKAGE_CATALOG = Path(__file__).parent / "catalog"
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


class CatalogueError(CcdError):
    error_id = "bad-catalogue"


class Voice(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """How a language is synthesized: espeak-ng voice, speed (words/minute), pitch (0-99)."""

    espeak: str
    speed: int = 160
    pitch: int = 50
    # Name prefixes of single words (digits, units) whose leading and trailing silence is cut.
    trim: tuple[str, ...] = ()


class Entry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """One prompt: text to speak (optionally in another language's voice, or with hand-written
    pinyin), or generated audio: `silence` seconds, or a sine `tone` in Hz for `seconds`."""

    text: str = ""
    pinyin: str = ""
    lang: str = ""
    silence: float = 0.0
    tone: float = 0.0
    seconds: float = 0.0

    @property
    def kind(self) -> str:
        if self.tone:
            return "tone"
        if self.silence:
            return "silence"
        return "speech"


class Language(msgspec.Struct, frozen=True):
    code: str
    voice: Voice
    prompts: dict[str, Entry]
    source: str


class Catalogue:
    """All languages' prompts. `has(name, lang)` is what flow validation asks."""

    def __init__(self, languages: dict[str, Language]) -> None:
        self.languages = languages

    def has(self, name: str, lang: str) -> bool:
        language = self.languages.get(lang)
        return language is not None and name in language.prompts

    def entry(self, name: str, lang: str) -> Entry:
        try:
            return self.languages[lang].prompts[name]
        except KeyError:
            raise CatalogueError(
                f"no prompt {name!r} in the {lang!r} catalogue{self.suggest(name, lang)}",
                error_id="no-such-prompt", prompt=name, lang=lang,
            ) from None

    def names(self, lang: str) -> list[str]:
        return sorted(self.languages[lang].prompts) if lang in self.languages else []

    def voice(self, lang: str) -> Voice:
        if lang not in self.languages:
            raise CatalogueError(f"no catalogue for language {lang!r}", error_id="no-such-language",
                                 lang=lang)
        return self.languages[lang].voice

    def suggest(self, name: str, lang: str) -> str:
        """'; did you mean ...?' for a misspelt prompt name, or ''."""
        near = difflib.get_close_matches(name, self.names(lang), n=1, cutoff=0.6)
        return f"; did you mean '{near[0]}'?" if near else ""

    def __iter__(self) -> Iterator[str]:
        return iter(self.languages)


def _flatten(tree: dict[str, Any], file: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if not set(str(key)) <= NAME_CHARS:
            raise CatalogueError(
                f"{file}: prompt name {name!r} may use only a-z, 0-9, '_' and '-'",
                file=file, prompt=name,
            )
        if isinstance(value, str):
            yield name, Entry(text=value)
        elif isinstance(value, dict) and (set(value) & {"text", "silence", "tone"}):
            try:
                entry = msgspec.convert(value, Entry)
            except msgspec.ValidationError as e:
                raise CatalogueError(f"{file}: prompt {name!r}: {e}", file=file, prompt=name) from None
            if entry.tone and entry.seconds <= 0:
                raise CatalogueError(f"{file}: prompt {name!r}: a tone needs seconds > 0",
                                     file=file, prompt=name)
            yield name, entry
        elif isinstance(value, dict):
            yield from _flatten(value, file, f"{name}/")
        else:
            raise CatalogueError(
                f"{file}: prompt {name!r} must be text or a table, not {type(value).__name__}",
                file=file, prompt=name,
            )


def load_language(path: Path, base: Language | None = None) -> Language:
    """Read one `<lang>.toml` catalogue file; `base`: the catalogue it adds to (its voice is
    kept when the file has no [voice] table, its prompts when the file does not replace them)."""
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CatalogueError(f"{file}: cannot read the catalogue: {e}", file=file) from None
    unknown = set(data) - {"voice", "prompts"}
    if unknown:
        raise CatalogueError(f"{file}: unknown table(s) {sorted(unknown)}; expected [voice] and "
                             "[prompts]", file=file)
    if "voice" in data or base is None:
        try:
            voice = msgspec.convert(data.get("voice", {}), Voice)
        except msgspec.ValidationError as e:
            raise CatalogueError(f"{file}: [voice]: {e}", file=file) from None
    else:
        voice = base.voice
    prompts = dict(_flatten(data.get("prompts", {}), file))
    return Language(path.stem, voice, {**(base.prompts if base else {}), **prompts}, file)


def load_catalogue(*dirs: Path | str, languages: Iterable[str] | None = None) -> Catalogue:
    """Read the catalogues: the package's own, then each folder in `dirs` (a site's own
    `<lang>.toml` files), whose entries add to or replace the earlier ones.

    languages: only these language codes (default: every `<lang>.toml` found).
    """
    wanted = set(languages) if languages is not None else None
    merged: dict[str, Language] = {}
    for folder in (PACKAGE_CATALOG, *map(Path, dirs)):
        for path in sorted(Path(folder).glob("*.toml")):
            if wanted is not None and path.stem not in wanted:
                continue
            merged[path.stem] = load_language(path, merged.get(path.stem))
    if wanted is not None and wanted - set(merged):
        missing = ", ".join(sorted(wanted - set(merged)))
        raise CatalogueError(f"no prompt catalogue for language(s) {missing}",
                             error_id="no-such-language", languages=sorted(wanted - set(merged)))
    return Catalogue(merged)
