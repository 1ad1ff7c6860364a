"""Looking up a user-visible text in a catalogue table: {key: {"zh": ..., "en": ...}}.

Each feature keeps its own table (ccd/acd/catalogue.py, ccd/wfm/catalogue.py,
ccd/workorders/catalogue.py...); this is the one way to read them.
"""

from __future__ import annotations

from collections.abc import Mapping


def text(table: Mapping[str, Mapping[str, str]], key: str, lang: str = "zh", **values: object) -> str:
    """`table[key]` in `lang` (Chinese when that language is missing) with {placeholders} filled;
    a template whose placeholders are not all given is returned as it is."""
    entry = table[key]
    template = entry.get(lang) or entry["zh"]
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template
