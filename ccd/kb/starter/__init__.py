"""The demo site's starter knowledge base: Markdown articles a water/power/gas hotline needs,
each in Chinese (`<slug>.zh.md`) and English (`<slug>.en.md`)."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from ccd.kb.markdown import KbImportReport, import_files

FOLDER = Path(__file__).resolve().parent


def files() -> list[Path]:
    return sorted(FOLDER.glob("*.md"))


def load(db: sqlite_utils.Database, *, actor: str = "demo", now: float | None = None
         ) -> KbImportReport:
    """Import the starter articles (published); re-running changes nothing."""
    return import_files(db, [FOLDER], actor=actor, note="starter knowledge base", now=now)
