"""One encoding per imported file: detected, or named with --encoding, never a mix.

Billing systems in China often export GBK, sometimes UTF-8; a file stitched together from both
would be decoded wrongly in part whichever encoding is picked (mojibake stored as a customer's
name). So the file as a whole is decoded with one encoding or refused:

- `--encoding X`: every line must be valid X, else the file is refused naming the first bad
  lines.
- detected: valid UTF-8 throughout (a BOM is skipped) → UTF-8. Otherwise, if any line holds
  non-ASCII text that *is* valid UTF-8, the file mixes encodings → refused, naming a UTF-8 line
  and the lines that are not. Otherwise valid GB18030 (a superset of GBK) throughout → GB18030.
  Otherwise refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccd.errors import CcdError


class ImportFailed(CcdError):
    """The file as a whole cannot be read (one encoding, a header, a mapping): nothing was
    imported."""

    error_id = "import-failed"


@dataclass
class Decoded:
    encoding: str
    lines: list[tuple[int, str]]  # (line number from 1, text without the line break)


def split_lines(data: bytes) -> list[bytes]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _bad_lines(lines: list[bytes], encoding: str) -> list[tuple[int, int, int]]:
    """(line, column, byte) of each line that is not valid `encoding`."""
    bad = []
    for number, raw in enumerate(lines, start=1):
        try:
            raw.decode(encoding)
        except UnicodeDecodeError as e:
            bad.append((number, e.start + 1, raw[e.start]))
    return bad


def _where(bad: list[tuple[int, int, int]]) -> str:
    shown = ", ".join(f"line {n} (byte 0x{b:02x} at column {c})" for n, c, b in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return shown + more


def decode(data: bytes, encoding: str | None = None, *, file: str = "-") -> Decoded:
    """The file's lines, all decoded with one encoding; `ImportFailed` if that cannot be."""
    lines = split_lines(data)
    if encoding is not None:
        try:
            "".encode(encoding)
        except LookupError:
            raise ImportFailed(f"unknown encoding {encoding!r}", encoding=encoding) from None
        bad = _bad_lines(lines, encoding)
        if bad:
            raise ImportFailed(
                f"{file}: not valid {encoding}: {_where(bad)}; nothing imported", file=file,
                encoding=encoding, lines=[n for n, _, _ in bad])
        return Decoded(encoding, [(n, raw.decode(encoding)) for n, raw in
                                  enumerate(lines, start=1)])
    bad_utf8 = _bad_lines(lines, "utf-8")
    if not bad_utf8:
        return Decoded("utf-8", [(n, raw.decode("utf-8")) for n, raw in
                                 enumerate(lines, start=1)])
    bad_numbers = {n for n, _, _ in bad_utf8}
    utf8_text = [n for n, raw in enumerate(lines, start=1)
                 if n not in bad_numbers and any(b >= 0x80 for b in raw)]
    if utf8_text:
        raise ImportFailed(
            f"{file}: mixes encodings: line {utf8_text[0]} is UTF-8 text but "
            f"{_where(bad_utf8)} is not UTF-8 (GBK?); save the whole file in one encoding, or "
            "pass --encoding to read all of it as one; nothing imported",
            file=file, utf8_line=utf8_text[0], lines=sorted(bad_numbers))
    bad_gb = _bad_lines(lines, "gb18030")
    if bad_gb:
        raise ImportFailed(
            f"{file}: neither UTF-8 nor GBK/GB18030: {_where(bad_gb)}; pass --encoding; "
            "nothing imported", file=file, lines=[n for n, _, _ in bad_gb])
    return Decoded("gb18030", [(n, raw.decode("gb18030")) for n, raw in
                               enumerate(lines, start=1)])
