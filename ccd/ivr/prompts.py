"""Prompt files: building them from the catalogue, and finding them at call time.

Layout: `<prompts dir>/<lang>/<name>.wav`, e.g. `site/prompts/zh/menu/main.wav`, plus
`<prompts dir>/<lang>/manifest.json` recording, for each file `build_prompts` made, a hash of what
it was made from (text, voice, pipeline) and a hash of the file. That gives three cases:

- made by us and unchanged, text unchanged: cached, skipped;
- made by us, but the catalogue text or voice changed (or `force`): made again;
- not made by us (not in the manifest, or the file changed since): a studio recording, never
  overwritten, not even with `force`.

Speech is synthesized by espeak-ng processes run in parallel from a thread pool (see `synth`).
Free text known only during a call (an outage's area and cause) is spoken by `PromptStore.speech`,
which synthesizes it once and keeps it under `<lang>/tts/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ccd.errors import CcdError
from ccd.ivr import synth
from ccd.ivr.catalogue import Catalogue, CatalogueError, Entry, Voice, load_catalogue
from ccd.ivr.synth import SynthesisError, ToolMissing, require_tools

__all__ = ["BuildReport", "PromptStore", "PromptsMissing", "build_prompts", "ensure_prompts",
           "missing_prompts", "load_catalogue", "Catalogue", "CatalogueError", "SynthesisError",
           "ToolMissing"]

MANIFEST = "manifest.json"
TTS_DIR = "tts"


@dataclass
class BuildReport:
    """What `build_prompts` did, per language: prompt names made, cached and left as studio."""

    made: dict[str, list[str]] = field(default_factory=dict)
    cached: dict[str, list[str]] = field(default_factory=dict)
    studio: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def total(self, what: str) -> int:
        return sum(len(v) for v in getattr(self, what).values())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_manifest(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return dict(data.get("prompts", {}))
    except (OSError, ValueError, AttributeError):
        return {}


def _write_manifest(path: Path, prompts: dict[str, dict[str, str]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"version": 1, "prompts": dict(sorted(prompts.items()))},
                              ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def prompt_path(root: Path, name: str, lang: str) -> Path:
    return root / lang / f"{name}.wav"


def _voice_for(catalogue: Catalogue, entry: Entry, lang: str) -> Voice:
    return catalogue.voice(entry.lang or lang)


def _trimmed(voice: Voice, name: str) -> bool:
    return any(name.startswith(prefix) for prefix in voice.trim)


def build_prompts(
    directory: Path | str,
    languages: Iterable[str] = ("zh", "en"),
    force: bool = False,
    *,
    catalogue: Catalogue | None = None,
    names: Iterable[str] | None = None,
    workers: int | None = None,
) -> BuildReport:
    """Synthesize every catalogue prompt that is missing or out of date into `directory`.

    directory: the prompts folder (`<directory>/<lang>/<name>.wav`);
    languages: language codes to build; force: make again every prompt this tool made (studio
    recordings are still kept); catalogue: defaults to the package catalogue; names: only these
    prompt names (default: all); workers: parallel espeak-ng jobs (default: one per CPU).
    Raises `ToolMissing` when espeak-ng or sox is not installed, `SynthesisError` naming the
    prompt when one fails.
    """
    started = time.monotonic()
    root = Path(directory)
    catalogue = catalogue or load_catalogue()
    only = set(names) if names is not None else None
    report = BuildReport()
    jobs: list[tuple[str, str, Entry, Voice, bool, str]] = []
    manifests: dict[str, dict[str, dict[str, str]]] = {}
    for lang in languages:
        catalogue.voice(lang)  # an unknown language is an error, not an empty build
        manifest = manifests[lang] = _read_manifest(root / lang / MANIFEST)
        for kind in ("made", "cached", "studio"):
            getattr(report, kind)[lang] = []
        for name in catalogue.names(lang):
            if only is not None and name not in only:
                continue
            entry = catalogue.entry(name, lang)
            voice = _voice_for(catalogue, entry, lang)
            trim = _trimmed(catalogue.voice(lang), name)
            key = synth.cache_key(entry, voice, trim)
            path = prompt_path(root, name, lang)
            known = manifest.get(name)
            if path.exists():
                if known is None or known.get("sha256") != _sha256(path):
                    report.studio[lang].append(name)
                    manifest.pop(name, None)
                    continue
                if known.get("key") == key and not force:
                    report.cached[lang].append(name)
                    continue
            jobs.append((lang, name, entry, voice, trim, key))
    if jobs:
        require_tools()
        # espeak-ng is CPU-bound: one job per core was fastest (2 cores: 12 s with 1, 6-7 s with
        # 2, slower again with 4 or 8).
        count = workers or os.cpu_count() or 2

        def run(job: tuple[str, str, Entry, Voice, bool, str]) -> tuple[str, str, str, str]:
            lang, name, entry, voice, trim, key = job
            path = prompt_path(root, name, lang)
            synth.synthesize(entry, voice, path, trim=trim, what=f"{lang}/{name}")
            return lang, name, key, _sha256(path)

        try:
            with ThreadPoolExecutor(max_workers=count) as pool:
                for lang, name, key, digest in pool.map(run, jobs):
                    manifests[lang][name] = {"key": key, "sha256": digest}
                    report.made[lang].append(name)
        finally:
            # Whatever finished is recorded, so an interrupted build resumes where it stopped.
            for lang, manifest in manifests.items():
                (root / lang).mkdir(parents=True, exist_ok=True)
                _write_manifest(root / lang / MANIFEST, manifest)
    else:
        for lang, manifest in manifests.items():
            if (root / lang).is_dir():
                _write_manifest(root / lang / MANIFEST, manifest)
    report.seconds = time.monotonic() - started
    return report


class PromptsMissing(CcdError):
    """Prompt files a flow can play do not exist and cannot be made here."""

    error_id = "prompts-missing"


def missing_prompts(directory: Path | str, needed: dict[str, set[str]]) -> list[str]:
    """The needed prompts (`{lang: names}`) that have no file, as sorted `lang/name` strings."""
    root = Path(directory)
    return sorted(f"{lang}/{name}" for lang, names in needed.items() for name in names
                  if not prompt_path(root, name, lang).exists())


def ensure_prompts(
    directory: Path | str, needed: dict[str, set[str]], *, catalogue: Catalogue | None = None,
    build_command: str = "ccd prompts build",
) -> list[str]:
    """Make sure every needed prompt (`{lang: names}`) has a file, synthesizing the missing ones.

    Returns the `lang/name` of the prompts it made (empty when all were there). Raises
    `PromptsMissing`, naming the prompts and `build_command`, when some are missing and cannot be
    made (espeak-ng or sox not installed, or synthesis failed). Blocking: run it in a thread
    from async code.
    """
    missing = missing_prompts(directory, needed)
    if not missing:
        return []
    try:
        build_prompts(directory, sorted(needed), catalogue=catalogue,
                      names={item.split("/", 1)[1] for item in missing})
    except (ToolMissing, SynthesisError) as e:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise PromptsMissing(
            f"{len(missing)} prompt file(s) the IVR can play are missing in {directory} "
            f"({shown}) and cannot be made here: {e.message}. Make them with `{build_command}` "
            "(or drop studio recordings at those paths)",
            missing=missing, cause=e.message,
        ) from None
    still = missing_prompts(directory, needed)
    if still:
        raise PromptsMissing(f"prompts still missing after a build: {', '.join(still)}",
                             missing=still)
    return missing


class PromptStore:
    """Where a call finds its prompt files.

    root: the prompts folder; catalogue: used for the voice of `speech` (default: the package's).
    """

    def __init__(self, root: Path | str, catalogue: Catalogue | None = None) -> None:
        self.root = Path(root)
        self._catalogue = catalogue

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = load_catalogue()
        return self._catalogue

    def path(self, name: str, lang: str) -> Path:
        """The file of prompt `name` in `lang` (it may be a studio recording)."""
        return prompt_path(self.root, name, lang)

    def find(self, name: str, lang: str) -> Path | None:
        """The file of prompt `name` in `lang`, or None when there is none (a prompt deleted
        under a running daemon: start-up made sure they all existed)."""
        path = self.path(name, lang)
        return path if path.exists() else None

    def speech_path(self, text: str, lang: str) -> Path:
        """Where the speech of `text` in `lang` is kept (it may not be made yet)."""
        key = synth.cache_key(Entry(text=text), self.catalogue.voice(lang), False)
        return self.root / lang / TTS_DIR / f"{key[:32]}.wav"

    def speech_ready(self, text: str, lang: str) -> Path | None:
        """The speech file of `text` if it is already made, without blocking on synthesis."""
        path = self.speech_path(text, lang)
        return path if path.exists() else None

    def speech(self, text: str, lang: str) -> Path:
        """A WAV of free `text` spoken in `lang`, synthesized on first use and then reused.

        Blocking (it runs espeak-ng): call it from a worker thread in async code.
        """
        entry = Entry(text=text)
        voice = self.catalogue.voice(lang)
        path = self.speech_path(text, lang)
        if not path.exists():
            require_tools()
            synth.synthesize(entry, voice, path, what=f"{lang} speech {text[:20]!r}")
        return path
