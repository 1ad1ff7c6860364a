"""Guards around pjsua2 that every part of the worker uses (see notes/pjsua2.md, "Pitfalls").

- `guarded`: every pjsua2 callback runs inside it; nothing may escape into SWIG, which would keep
  the exception (and `self`) alive in `sys.last_traceback` past `libDestroy` (pitfall 7).
- `PjFailure`: a plain exception (status, title, reason) that replaces `pj.Error` before it leaves
  the code that called pjsua2, so no traceback holding pjsua2 objects travels far (pitfall 2).
- `GcPolicy`: automatic collection off, start-up objects frozen, collection only from the pj loop
  (pitfall 3).
- `build_limits`: the real limits of the loaded build, read through ctypes.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("hw.sipworker")

F = TypeVar("F", bound=Callable[..., Any])

callback_error_hook: Callable[[str], None] | None = None
"""Set by the worker: told (with a one-line message) when a guarded callback failed."""


def forget_exception() -> None:
    """Drop every interpreter-held reference to the last exception and its frames."""
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)


def guarded(fn: F) -> F:
    """Run a pjsua2 callback so that no exception ever reaches SWIG."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - this is the last line before SWIG
            message = f"{fn.__qualname__}: {type(exc).__name__}: {exc}"
            log.error("callback failed: %s", message, exc_info=(type(exc), exc, exc.__traceback__))
            exc.__traceback__ = None
            del exc
            forget_exception()
            hook = callback_error_hook
            if hook is not None:
                try:
                    hook(message)
                except Exception:  # noqa: BLE001 - reporting must not fail the callback
                    log.exception("callback error hook failed")
            return None

    return wrapper  # type: ignore[return-value]


class PjFailure(Exception):
    """pjsua2 refused an operation: its status code, the pj function and the reason text."""

    def __init__(self, status: int, title: str, reason: str) -> None:
        super().__init__(f"{title}: {reason} (status {status})")
        self.status = status
        self.title = title
        self.reason = reason


def pj_call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a pjsua2 method; a `pj.Error` comes out as a fresh `PjFailure`.

    The failure is raised after the `except` block has ended, so it has no `__context__`
    pointing back at the pj.Error and its frames (a context manager could not do this: an
    exception raised in `__exit__` always gets the original one as its context).
    """
    import pjsua2 as pj

    failure: PjFailure | None = None
    try:
        return fn(*args)
    except pj.Error as err:
        failure = PjFailure(int(err.status), str(err.title), str(err.reason))
        err.__traceback__ = None
        del err
    forget_exception()
    raise failure


class GcPolicy:
    """Garbage collection only where pjsua2 objects may die: on the pj thread, on a schedule.

    `young_every`: seconds between collections of generations 0 and 1; `full_every`: seconds
    between full passes (a full pass at ~500 live calls took ~45 ms, so rarely).
    """

    def __init__(self, young_every: float = 1.0, full_every: float = 60.0) -> None:
        self.young_every = young_every
        self.full_every = full_every
        self._next_young = 0.0
        self._next_full = 0.0

    def start(self, now: float) -> None:
        gc.disable()
        gc.collect()
        gc.freeze()
        self._next_young = now + self.young_every
        self._next_full = now + self.full_every

    def tick(self, now: float) -> None:
        if now >= self._next_full:
            gc.collect(2)
            self._next_full = now + self.full_every
            self._next_young = now + self.young_every
        elif now >= self._next_young:
            gc.collect(1)
            self._next_young = now + self.young_every


class PjLib:
    """C functions of the loaded pjsua2 extension, for numbers the Python API does not give."""

    def __init__(self) -> None:
        ext = importlib.import_module("pjsua2._pjsua2")
        path = ext.__file__
        if path is None:
            raise RuntimeError("pjsua2 extension module has no file")
        self._lib = ctypes.CDLL(path)
        for name in (
            "pjsua_call_get_max_count",
            "pjsua_call_get_count",
            "pjsua_conf_get_max_ports",
            "pjsua_conf_get_active_ports",
        ):
            getattr(self._lib, name).restype = ctypes.c_uint
            getattr(self._lib, name).argtypes = []

    def call_max_count(self) -> int:
        return int(self._lib.pjsua_call_get_max_count())

    def call_count(self) -> int:
        return int(self._lib.pjsua_call_get_count())

    def conf_max_ports(self) -> int:
        return int(self._lib.pjsua_conf_get_max_ports())

    def conf_active_ports(self) -> int:
        return int(self._lib.pjsua_conf_get_active_ports())


def count_pj_objects() -> dict[str, int]:
    """Live Python proxies of the pjsua2 classes that matter for leaks (walks the heap)."""
    import pjsua2 as pj

    kinds = {
        "Call": pj.Call,
        "AudioMediaPlayer": pj.AudioMediaPlayer,
        "AudioMediaRecorder": pj.AudioMediaRecorder,
        "AudioMedia": pj.AudioMedia,
        "Account": pj.Account,
    }
    subclassed = {"Call", "Account"}  # the worker subclasses these; media classes are used as is
    counts = dict.fromkeys(kinds, 0)
    for obj in gc.get_objects():
        for name, cls in kinds.items():
            if isinstance(obj, cls) if name in subclassed else type(obj) is cls:
                counts[name] += 1
    return counts
