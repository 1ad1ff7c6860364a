"""ctypes bindings of the Dialogic R4 voice API (`libdxxx`) and its event library (`libsrl`).

Only what the driver uses: open/close a channel, hook state, play and record with `DX_IOTT`
chains and `DV_TPT` termination conditions, digits, caller ID, CT-bus time slots, and the
asynchronous events of `sr_waitevt`. The structures follow dxxxlib.h / srllib.h on 64-bit Linux,
where C `long` (and Dialogic's `ULONG`) is 8 bytes: `c_long` / `c_ulong`, never `c_int32`.

The runtime is proprietary and licensed; `load()` finds it (or the directory given) and raises
`RuntimeMissing` naming the library it could not load when it is not installed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int,
    c_long,
    c_uint,
    c_ulong,
    c_ushort,
    c_void_p,
)
from dataclasses import dataclass

# ------------------------------------------------------------------ constants (dxxxlib.h)
EV_SYNC, EV_ASYNC = 0x0000, 0x8000
DX_ONHOOK, DX_OFFHOOK = 0, 1
IO_CONT, IO_LINK, IO_EOT = 0x01, 0x02, 0x04
IO_DEV, IO_MEM = 0x00, 0x08
# termination parameters (DV_TPT.tp_termno)
DX_MAXDTMF, DX_MAXSIL, DX_MAXNOSIL, DX_LCOFF, DX_IDDTIME, DX_MAXTIME, DX_DIGMASK = 1, 2, 3, 4, 5, 6, 7
TF_EDGE, TF_LEVEL, TF_CLREND, TF_CLRBEG, TF_USE, TF_SETINIT, TF_10MS = 0, 1, 2, 4, 8, 0x10, 0x20
# why an operation ended (ATDX_TERMMSK)
TM_MAXDTMF, TM_MAXSIL, TM_LCOFF, TM_IDDTIME, TM_MAXTIME = 0x1, 0x2, 0x8, 0x10, 0x20
TM_DIGIT, TM_USRSTOP, TM_EOD, TM_ERROR = 0x40, 0x100, 0x200, 0x80000
# event types (sr_getevttype)
TDX_PLAY, TDX_RECORD, TDX_GETDIG, TDX_DIAL, TDX_CST, TDX_SETHOOK, TDX_ERROR = (
    0x81, 0x82, 0x83, 0x84, 0x86, 0x88, 0x89)
# call-status events (DX_CST.cst_event) and the mask that enables them
DE_RINGS, DE_LCON, DE_LCOFF, DE_DIGITS = 0x01, 0x02, 0x03, 0x08
DM_RINGS, DM_LCOFF, DM_LCON = 0x0002, 0x0010, 0x0020
DXCH_CALLID, DX_CALLIDENABLE = 0x0816, 1
# DX_XPB formats
FILE_FORMAT_VOX, DATA_FORMAT_PCM, DATA_FORMAT_MULAW, DATA_FORMAT_ALAW = 1, 1, 7, 6
DRT_8KHZ = 0x30
DIGIT_MASKS = {d: 1 << i for i, d in enumerate("0123456789*#ABCD")}  # DM_0... DM_D
DG_MAXDIGS = 31


class DX_IOTT(Structure):  # noqa: N801 - the C name
    pass


DX_IOTT._fields_ = [
    ("io_type", c_ushort),
    ("rfu", c_ushort),
    ("io_fhandle", c_int),
    ("io_bufp", c_char_p),
    ("io_offset", c_ulong),  # C unsigned long: 8 bytes
    ("io_length", c_long),  # C long: 8 bytes (-1: to the end of the file)
    ("io_nextp", POINTER(DX_IOTT)),
    ("io_prevp", POINTER(DX_IOTT)),
]


class DV_TPT(Structure):  # noqa: N801
    pass


DV_TPT._fields_ = [
    ("tp_type", c_ushort),
    ("tp_termno", c_ushort),
    ("tp_length", c_ushort),
    ("tp_flags", c_ushort),
    ("tp_data", c_ushort),
    ("rfu", c_ushort),
    ("tp_nextp", POINTER(DV_TPT)),
]


class DV_DIGIT(Structure):  # noqa: N801
    _fields_ = [("dg_value", c_char * (DG_MAXDIGS + 1)), ("dg_type", c_char * (DG_MAXDIGS + 1))]


class DX_XPB(Structure):  # noqa: N801
    _fields_ = [("wFileFormat", c_ushort), ("wDataFormat", c_ushort),
                ("nSamplesPerSec", c_ulong), ("wBitsPerSample", c_ulong)]


class DX_CST(Structure):  # noqa: N801
    _fields_ = [("cst_event", c_ushort), ("cst_data", c_ushort)]


class SC_TSINFO(Structure):  # noqa: N801
    _fields_ = [("sc_numts", c_ulong), ("sc_tsarrayp", POINTER(c_long))]


LIBRARIES = ("libsrl.so", "libdxxx.so")


class RuntimeMissing(Exception):
    """The Dialogic runtime (a named library) is not installed or cannot be loaded."""


@dataclass
class Runtime:
    srl: ctypes.CDLL
    dx: ctypes.CDLL

    def error(self, dev: int) -> str:
        """`ATDV_ERRMSGP` and `ATDV_LASTERR` of `dev`, as one readable string."""
        code = self.dx.ATDV_LASTERR(dev)
        message = self.dx.ATDV_ERRMSGP(dev)
        return f"{message.decode('ascii', 'replace') if message else 'error'} ({code})"


def load(directory: str = "") -> Runtime:
    """Load libsrl and libdxxx (from `directory`, or the system's library path)."""
    handles: list[ctypes.CDLL] = []
    for name in LIBRARIES:
        path = os.path.join(directory, name) if directory else (
            ctypes.util.find_library(name[3:-3]) or name)
        try:
            handles.append(ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL))
        except OSError as e:
            where = f"in {directory}" if directory else "on the library path (ldconfig)"
            raise RuntimeMissing(
                f"the Dialogic R4 runtime is not installed: {name} was not found {where} "
                f"({e}); install the Dialogic System Release, set dialogic.library_dir, or "
                "remove the [[dialogic]] entries") from None
    srl, dx = handles
    _declare(srl, dx)
    return Runtime(srl, dx)


def _declare(srl: ctypes.CDLL, dx: ctypes.CDLL) -> None:
    srl.sr_waitevt.argtypes, srl.sr_waitevt.restype = [c_long], c_long
    srl.sr_getevtdev.argtypes, srl.sr_getevtdev.restype = [], c_long
    srl.sr_getevttype.argtypes, srl.sr_getevttype.restype = [], c_long
    srl.sr_getevtlen.argtypes, srl.sr_getevtlen.restype = [], c_long
    srl.sr_getevtdatap.argtypes, srl.sr_getevtdatap.restype = [], c_void_p
    dx.dx_open.argtypes, dx.dx_open.restype = [c_char_p, c_int], c_int
    dx.dx_close.argtypes, dx.dx_close.restype = [c_int], c_int
    dx.dx_sethook.argtypes, dx.dx_sethook.restype = [c_int, c_int, c_ushort], c_int
    dx.dx_wtring.argtypes, dx.dx_wtring.restype = [c_int, c_int, c_int, c_int], c_int
    dx.dx_setevtmsk.argtypes, dx.dx_setevtmsk.restype = [c_int, c_uint], c_int
    dx.dx_setparm.argtypes, dx.dx_setparm.restype = [c_int, c_ulong, c_void_p], c_int
    dx.dx_gtcallid.argtypes, dx.dx_gtcallid.restype = [c_int, c_char_p], c_int
    for name in ("dx_playiottdata", "dx_reciottdata"):
        fn = getattr(dx, name)
        fn.argtypes = [c_int, POINTER(DX_IOTT), POINTER(DV_TPT), POINTER(DX_XPB), c_ushort]
        fn.restype = c_int
    dx.dx_getdig.argtypes = [c_int, POINTER(DV_TPT), POINTER(DV_DIGIT), c_ushort]
    dx.dx_getdig.restype = c_int
    dx.dx_clrdigbuf.argtypes, dx.dx_clrdigbuf.restype = [c_int], c_int
    dx.dx_stopch.argtypes, dx.dx_stopch.restype = [c_int, c_ushort], c_int
    dx.dx_getxmitslot.argtypes, dx.dx_getxmitslot.restype = [c_int, POINTER(SC_TSINFO)], c_int
    dx.dx_listen.argtypes, dx.dx_listen.restype = [c_int, POINTER(SC_TSINFO)], c_int
    dx.dx_unlisten.argtypes, dx.dx_unlisten.restype = [c_int], c_int
    dx.ATDX_TERMMSK.argtypes, dx.ATDX_TERMMSK.restype = [c_int], c_long
    dx.ATDV_LASTERR.argtypes, dx.ATDV_LASTERR.restype = [c_int], c_long
    dx.ATDV_ERRMSGP.argtypes, dx.ATDV_ERRMSGP.restype = [c_int], c_char_p


def tpt_chain(*conditions: tuple[int, int, int]) -> ctypes.Array[DV_TPT]:
    """A DV_TPT array from (termno, length, flags) triples, linked as the API wants
    (IO_CONT on all but the last, IO_EOT on the last)."""
    array = (DV_TPT * len(conditions))()
    for i, (termno, length, flags) in enumerate(conditions):
        entry = array[i]
        entry.tp_type = IO_EOT if i == len(conditions) - 1 else IO_CONT
        entry.tp_termno, entry.tp_length, entry.tp_flags = termno, length, flags
    return array


def iott_chain(items: list[tuple[int, int, int]]) -> ctypes.Array[DX_IOTT]:
    """A DX_IOTT array from (fd, offset, length) file pieces, played or recorded in order."""
    array = (DX_IOTT * len(items))()
    for i, (fd, offset, length) in enumerate(items):
        entry = array[i]
        entry.io_type = IO_DEV | (IO_EOT if i == len(items) - 1 else IO_CONT)
        entry.io_fhandle, entry.io_offset, entry.io_length = fd, offset, length
    return array


def digit_mask(digits: str) -> int:
    mask = 0
    for d in digits:
        mask |= DIGIT_MASKS.get(d.upper(), 0)
    return mask
