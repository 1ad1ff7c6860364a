"""The wallboard's words: texts.toml, Chinese by default, English second.

    t = Texts("zh")
    t("stale", time="08:30:05", age="35秒")

A key missing in English falls back to Chinese; a key missing everywhere shows as `{key}`, so a
typo is visible on screen rather than a crash on a wall nobody is watching.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

LANGUAGES = ("zh", "en")
TEXTS_FILE = Path(__file__).with_name("texts.toml")


@lru_cache(maxsize=1)
def _load() -> dict[str, dict[str, str]]:
    with TEXTS_FILE.open("rb") as f:
        return tomllib.load(f)


class _Keep(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Texts:
    """The catalogue in one language ('zh' or 'en'; anything else means Chinese)."""

    def __init__(self, language: str = "zh") -> None:
        self.language = language if language in LANGUAGES else "zh"
        data = _load()
        self._table = {**data["zh"], **data.get(self.language, {})}

    def __call__(self, key: str, /, **values: Any) -> str:
        text = self._table.get(key)
        if text is None:
            return "{" + key + "}"
        return text.format_map(_Keep(values)) if values else text

    def state(self, state: str) -> str:
        return self(f"state_{state}")

    def reason(self, code: str) -> str:
        """A not-ready reason: the standard codes in words, a site's own codes as they are."""
        return self._table.get(f"reason_{code}", code)

    def other(self) -> Texts:
        """The catalogue in the other language (the board's language key toggles)."""
        return Texts("en" if self.language == "zh" else "zh")


def keys(language: str) -> set[str]:
    return set(_load().get(language, {}))
