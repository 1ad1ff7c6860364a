"""The venv is exactly requirements.lock: nothing unpinned, nothing at another version, nothing missing.

`make venv` installs the lock and then ccd itself without dependencies, so a release of any
distribution on PyPI cannot change what CI or the README's commands run. Raise a pin with
`make lock UPGRADE=name` (README, "Dependencies").
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def installed() -> dict[str, str]:
    return {normalize(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_the_lock_pins_every_requirement_of_the_project() -> None:
    pins = locked()
    requirements = metadata.requires("ccd") or []
    names = {normalize(re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0]) for r in requirements
             if "python_version < '3.11'" not in r.replace('"', "'")}
    assert names, "ccd's own metadata lists no requirements: is ccd installed?"
    assert sorted(names - pins.keys()) == []


def test_the_venv_holds_exactly_the_locked_versions() -> None:
    assert sys.prefix != sys.base_prefix, "run the tests from the venv that `make venv` builds"
    pins, present = locked(), installed()
    present.pop("ccd", None)  # the project itself, installed editable from this tree
    unpinned = sorted(f"{n}=={v}" for n, v in present.items() if n not in pins)
    wrong = sorted(f"{n}=={v} (lock: {pins[n]})" for n, v in present.items()
                   if n in pins and pins[n] != v)
    missing = sorted(f"{n}=={v}" for n, v in pins.items() if n not in present)
    assert (unpinned, wrong, missing) == ([], [], [])
