"""Customer data from the utility's billing system (营业抄收系统): CSV in, upsert by account number.

Run nightly: an account seen before is updated only where the file differs, so a second run of the
same file changes nothing (not even `updated_at`). A row that cannot be taken is rejected with its
line and the reason; the good rows still go in. Phones are added to the customer, never removed
(an agent may have added one the billing system does not know).

Encodings: one per file, detected (UTF-8 or GB18030/GBK) or given, never a mix: see
ccd/import_encoding.py. Every data line is counted: added, changed, unchanged or rejected with
its reason (an unbalanced quote's merged lines as one rejection covering them all). Text cells
have length limits, amounts a range, and a text cell beginning with = + - @ is stored with a
leading apostrophe so a spreadsheet never runs it as a formula. Good rows are committed in short
chunks and an interrupted import resumes (ccd/import_runs.py).

Phone normal form: `db.lookup.normalize_phone` (digits only, national format — the +86/0086 country
prefix dropped, mobiles as 11 digits, landlines with the 0 trunk prefix and area code), and a
number that does not come out as a mobile, a landline or an international number is rejected.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec
import sqlite_utils

from ccd import import_runs
from ccd.import_encoding import Decoded, ImportFailed, decode
from ccd.timefmt import iso
from ccd.workorders.store import transaction
from db import lookup
from db.lookup import DEFAULT_AREA_CODE

FIELDS = (
    "account_no", "name", "phones", "address", "district", "meter_no", "category", "utility",
    "balance", "arrears", "language", "status",
)
REQUIRED = ("account_no", "name", "address")

# Header names the billing systems we have seen use, in Chinese and English.
ALIASES: dict[str, tuple[str, ...]] = {
    "account_no": ("account_no", "account", "户号", "用户编号", "用户号", "账户号", "客户编号"),
    "name": ("name", "customer", "户名", "用户名称", "客户名称", "姓名"),
    "phones": ("phone", "phones", "mobile", "tel", "电话", "联系电话", "手机", "手机号", "手机号码"),
    "address": ("address", "地址", "用户地址", "用水地址", "用电地址", "用气地址", "装表地址"),
    "district": ("district", "district_code", "区域", "区域编码", "所属区域", "行政区"),
    "meter_no": ("meter", "meter_no", "表号", "水表号", "电表号", "气表号", "表具编号"),
    "category": ("category", "用户类别", "用户类型", "用水性质", "用电类别"),
    "utility": ("utility", "业务类型", "业务"),
    "balance": ("balance", "余额", "账户余额"),
    "arrears": ("arrears", "欠费", "欠费金额", "欠款"),
    "language": ("language", "语言"),
    "status": ("status", "状态", "账户状态"),
}

CATEGORY_WORDS = {
    "居民": "residential", "民用": "residential", "residential": "residential",
    "商业": "commercial", "非居民": "commercial", "经营": "commercial", "commercial": "commercial",
    "工业": "industrial", "industrial": "industrial",
    "行政事业": "public", "机关": "public", "public": "public",
    "特种": "special", "special": "special",
}
UTILITY_WORDS = {
    "水": "water", "供水": "water", "自来水": "water", "water": "water",
    "电": "power", "供电": "power", "power": "power", "electricity": "power",
    "气": "gas", "燃气": "gas", "天然气": "gas", "gas": "gas",
}
STATUS_WORDS = {
    "正常": "active", "active": "active", "停用": "suspended", "暂停": "suspended",
    "suspended": "suspended", "销户": "closed", "closed": "closed",
}
ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,31}$")
PHONE_SPLIT = re.compile(r"[;；/、,，]+")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0[1-9]\d{8,10}$")
INTERNATIONAL = re.compile(r"^00[1-9]\d{6,14}$")
_PHONE_CHARS = re.compile(r"^\+?[0-9\s\-().（）]+$")
# Longest text of each field, in characters (a merged or garbage row is refused, not stored).
LIMITS = {"account_no": 32, "name": 100, "phones": 200, "address": 200, "district": 40,
          "meter_no": 40, "category": 20, "utility": 20, "balance": 40, "arrears": 40,
          "language": 10, "status": 20}
# Amounts beyond ten million yuan either way are typos (or overflow SQLite's integers).
MAX_FEN = 10_000_000_00
# Text a spreadsheet would run as a formula (CSV injection) when an export is opened in Excel.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_FIELDS = ("name", "address", "meter_no")


def normalize_phone(raw: str, *, area_code: str = DEFAULT_AREA_CODE) -> str | None:
    """A phone number in the normal form of `db.lookup.normalize_phone`, or None when `raw` is
    not a phone number (letters in it, too short or too long).

    '+86 138-0000-0001' → '13800000001'; '0086 571 8800 0007' → '057188000007';
    '(0571)88000007' → '057188000007'; '88000007' → area_code + '88000007'.
    area_code: the local area code (with its 0) for 7-8 digit local numbers.
    """
    if not raw.strip() or not _PHONE_CHARS.match(raw.strip()):
        return None
    number = lookup.normalize_phone(raw, area_code=area_code)
    if MOBILE.match(number) or LANDLINE.match(number) or INTERNATIONAL.match(number):
        return number
    return None


def is_mobile(phone: str) -> bool:
    """Whether a normal-form number can receive SMS."""
    return bool(MOBILE.match(phone))


class Rejected(msgspec.Struct):
    line: int
    account_no: str
    reason_id: str
    reason: str
    lines: int = 1  # physical lines the rejected record covers (an unbalanced quote: many)


class Neutralised(msgspec.Struct):
    """A text cell that began with = + - @ (a formula when opened in a spreadsheet): stored with
    a leading apostrophe, so it shows as the text it is."""

    line: int
    account_no: str
    field: str


class Changed(msgspec.Struct):
    line: int
    account_no: str
    fields: list[str]


class ImportReport(msgspec.Struct, kw_only=True):
    file: str
    encoding: str
    rows: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = msgspec.field(default_factory=list)
    changes: list[Changed] = msgspec.field(default_factory=list)
    ignored_columns: list[str] = msgspec.field(default_factory=list)
    neutralised: list[Neutralised] = msgspec.field(default_factory=list)
    dry_run: bool = False
    run_id: int | None = None
    resumed_after_line: int | None = None  # a resumed run: lines up to here were committed before

    @property
    def rejected_lines(self) -> int:
        return sum(r.lines for r in self.rejected)


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """'户号=account_no' items (or comma-separated lists of them) → {csv column: field}."""
    out: dict[str, str] = {}
    for item in items:
        for pair in item.split(","):
            if not pair.strip():
                continue
            column, sep, field = pair.partition("=")
            field = field.strip()
            if not sep or not column.strip() or field not in FIELDS:
                raise ImportFailed(
                    f"--mapping {pair.strip()!r}: expected CSV_COLUMN=FIELD with FIELD one of "
                    f"{', '.join(FIELDS)}",
                    item=pair,
                )
            out[column.strip()] = field
    return out


# -- rows into records -------------------------------------------------------------------------


def _header_map(header: list[str], mapping: Mapping[str, str]) -> tuple[dict[int, str], list[str]]:
    by_alias = {alias.lower(): field for field, names in ALIASES.items() for alias in names}
    columns: dict[int, str] = {}
    ignored = []
    for i, name in enumerate(header):
        key = name.strip()
        field = mapping.get(key) or by_alias.get(key.lower())
        if field is None:
            ignored.append(key)
        elif field in columns.values():
            raise ImportFailed(f"two columns map to {field!r}; fix the header or --mapping",
                               field=field)
        else:
            columns[i] = field
    unknown = set(mapping) - {h.strip() for h in header}
    if unknown:
        raise ImportFailed(
            f"--mapping names columns the file does not have: {', '.join(sorted(unknown))} "
            f"(its header: {', '.join(h.strip() for h in header)})",
            columns=sorted(unknown),
        )
    missing = [f for f in REQUIRED if f not in columns.values()]
    if missing:
        raise ImportFailed(
            f"no column for {', '.join(missing)}; name it in the header or map it with "
            f"--mapping 'COLUMN={missing[0]}' (header: {', '.join(h.strip() for h in header)})",
            missing=missing,
        )
    return columns, ignored


def _fen(text: str) -> int:
    t = text.strip().replace(",", "").replace("¥", "").replace("￥", "").replace("元", "")
    if not t:
        return 0
    value = Decimal(t)
    if not value.is_finite() or abs(value) > Decimal(MAX_FEN) / 100:
        raise OverflowError
    if value != value.quantize(Decimal("0.01")):
        raise InvalidOperation
    return int(value * 100)


class _Bad(Exception):
    def __init__(self, reason_id: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_id = reason_id
        self.reason = reason


def _record(
    values: dict[str, str], districts: Mapping[str, str], area_code: str = DEFAULT_AREA_CODE
) -> dict[str, Any]:
    """Check and convert one row; raises _Bad with the reason."""
    rec: dict[str, Any] = {}
    for field, text in values.items():
        limit = LIMITS.get(field)
        if limit is not None and len(text.strip()) > limit:
            raise _Bad("too-long", f"{field} has {len(text.strip())} characters (at most "
                       f"{limit})")
    account = values.get("account_no", "").strip()
    if not ACCOUNT.match(account):
        raise _Bad("bad-account", f"account number {account!r} is missing or malformed")
    rec["account_no"] = account
    for field in ("name", "address"):
        text = values.get(field, "").strip()
        if not text:
            raise _Bad(f"missing-{field}", f"{field} is empty")
        rec[field] = text
    if "phones" in values:
        phones: list[str] = []
        for raw in PHONE_SPLIT.split(values["phones"].strip()):
            if not raw.strip():
                continue
            normal = normalize_phone(raw, area_code=area_code)
            # '13800000001 13900000002': some exports separate numbers with spaces, while
            # '+86 139 0000 0102' is one number written with them.
            found = [normal] if normal else [normalize_phone(p, area_code=area_code)
                                             for p in raw.split()]
            if not found or None in found:
                raise _Bad("bad-phone", f"phone {raw.strip()!r} is not a mobile or landline "
                           "number")
            phones.extend(p for p in found if p is not None and p not in phones)
        rec["phones"] = phones
    if "district" in values and values["district"].strip():
        d = values["district"].strip()
        if d not in districts:
            raise _Bad("unknown-district", f"district {d!r} is neither a known code nor name")
        rec["district_code"] = districts[d]
    elif "district" in values:
        rec["district_code"] = None
    if "meter_no" in values:
        rec["meter_no"] = values["meter_no"].strip() or None
    for field, words in (("category", CATEGORY_WORDS), ("utility", UTILITY_WORDS),
                         ("status", STATUS_WORDS)):
        if field in values and values[field].strip():
            word = values[field].strip()
            if word.lower() not in words and word not in words:
                raise _Bad(f"bad-{field}", f"{field} {word!r} is not one of "
                           f"{', '.join(sorted(set(words.values())))}")
            rec[field] = words.get(word.lower(), words.get(word))
    for field in ("balance", "arrears"):
        if field in values:
            try:
                rec[f"{field}_fen"] = _fen(values[field])
            except OverflowError:
                raise _Bad(f"bad-{field}", f"{field} {values[field]!r} is out of range (at most "
                           f"{MAX_FEN // 100:,} yuan either way)") from None
            except (InvalidOperation, ValueError):
                raise _Bad(f"bad-{field}", f"{field} {values[field]!r} is not an amount in yuan "
                           "with at most two decimals") from None
    if "language" in values and values["language"].strip():
        lang = values["language"].strip().lower()
        if lang not in ("zh", "en"):
            raise _Bad("bad-language", f"language {lang!r} is not zh or en")
        rec["language"] = lang
    return rec


def _records(
    decoded: Decoded, mapping: Mapping[str, str], delimiter: str | None
) -> Iterator[tuple[int, int, dict[str, str] | None, list[str], Rejected | None]]:
    """(first line, lines, values by field, ignored columns, why rejected) for each data record
    after the header; blank lines are skipped."""
    if not decoded.lines:
        raise ImportFailed("the file is empty")
    physical = {"line": 0}

    def feed() -> Iterator[str]:
        for number, text in decoded.lines:
            physical["line"] = number
            yield text

    first = decoded.lines[0][1]
    delim = delimiter or ("\t" if "\t" in first and "," not in first else ",")
    reader = csv.reader(feed(), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed("the file is empty") from None
    columns, ignored = _header_map(header, mapping)
    end = physical["line"]
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # e.g. a NUL byte
            start, end = end + 1, physical["line"]
            yield start, end - start + 1, None, ignored, Rejected(
                start, "", "bad-row", f"not a CSV row: {e}", end - start + 1)
            continue
        start, end = end + 1, physical["line"]
        count = end - start + 1
        if not any(c.strip() for c in cells):
            continue
        if count > 1:
            account = cells[0].strip()[:32] if cells else ""
            yield start, count, None, ignored, Rejected(
                start, account, "unbalanced-quote",
                f"a quoted cell runs from line {start} to line {end} ({count} lines): an "
                "unbalanced quote (\") merged them into one row; fix the quote",
                count)
            continue
        if len(cells) != len(header):
            yield start, 1, None, ignored, Rejected(
                start, "", "bad-row", f"{len(cells)} cells where the header has {len(header)}")
            continue
        yield start, 1, {f: cells[i] for i, f in columns.items()}, ignored, None


# -- writing -------------------------------------------------------------------------------------

_ACCOUNT_FIELDS = ("address", "district_code", "meter_no", "utility", "balance_fen",
                   "arrears_fen", "status")
_CUSTOMER_FIELDS = ("name", "category", "language")


def _districts(db: sqlite_utils.Database) -> dict[str, str]:
    out = {}
    for code, name, name_en in db.execute("SELECT code, name, name_en FROM districts"):
        out[code] = code
        out[name] = code
        if name_en:
            out[name_en] = code
    return out


def _upsert(
    db: sqlite_utils.Database, rec: dict[str, Any], stamp: str, write: bool = True
) -> tuple[str, list[str]]:
    """Insert or update one account; ('added'|'changed'|'unchanged', changed fields).
    write=False: only say what it would do (a dry run reads, and takes no lock)."""
    found = db.execute(
        "SELECT a.customer_id, a.address, a.district_code, a.meter_no, a.utility, a.balance_fen, "
        "a.arrears_fen, a.status, c.name, c.category, c.language "
        "FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE a.account_no = ?",
        [rec["account_no"]],
    ).fetchone()
    phones = rec.get("phones", [])
    if found is None and not write:
        return "added", []
    if found is None:
        cid = int(db.execute(
            "INSERT INTO customers (name, category, language, created_at, updated_at) "
            "VALUES (?,?,?,?,?)",
            [rec["name"], rec.get("category", "residential"), rec.get("language", "zh"),
             stamp, stamp],
        ).lastrowid or 0)
        db.execute(
            "INSERT INTO accounts (account_no, customer_id, utility, address, district_code, "
            "meter_no, balance_fen, arrears_fen, status, opened_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [rec["account_no"], cid, rec.get("utility", "water"), rec["address"],
             rec.get("district_code"), rec.get("meter_no"), rec.get("balance_fen", 0),
             rec.get("arrears_fen", 0), rec.get("status", "active"), stamp],
        )
        for phone in phones:
            _add_phone(db, cid, phone)
        return "added", []
    cid = found[0]
    current = dict(zip(_ACCOUNT_FIELDS + _CUSTOMER_FIELDS, found[1:], strict=True))
    changed = [f for f in _ACCOUNT_FIELDS + _CUSTOMER_FIELDS if f in rec and rec[f] != current[f]]
    acc = [f for f in changed if f in _ACCOUNT_FIELDS]
    cust = [f for f in changed if f in _CUSTOMER_FIELDS]
    if not write:
        known = {r[0] for r in db.execute(
            "SELECT phone FROM customer_phones WHERE customer_id = ?", [cid])}
        if any(p not in known for p in phones):
            changed.append("phones")
        return ("changed" if changed else "unchanged"), changed
    if acc:
        db.execute(
            f"UPDATE accounts SET {', '.join(f'{f} = ?' for f in acc)} WHERE account_no = ?",
            [*(rec[f] for f in acc), rec["account_no"]],
        )
    known = {r[0] for r in db.execute(
        "SELECT phone FROM customer_phones WHERE customer_id = ?", [cid])}
    new_phones = [p for p in phones if p not in known]
    for phone in new_phones:
        _add_phone(db, cid, phone)
    if new_phones:
        changed.append("phones")
    if cust or changed:
        sets = [f"{f} = ?" for f in cust] + ["updated_at = ?"]
        db.execute(
            f"UPDATE customers SET {', '.join(sets)} WHERE id = ?",
            [*(rec[f] for f in cust), stamp, cid],
        )
    return ("changed" if changed else "unchanged"), changed


def _add_phone(db: sqlite_utils.Database, customer_id: int, phone: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO customer_phones (customer_id, phone, kind) VALUES (?,?,?)",
        [customer_id, phone, "mobile" if is_mobile(phone) else "landline"],
    )


def import_csv(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
    delimiter: str | None = None,
    dry_run: bool = False,
    area_code: str = DEFAULT_AREA_CODE,
    now: float | None = None,
) -> ImportReport:
    """Import customers and accounts from a CSV file; returns what happened to each row.

    encoding: the file's encoding (default: detect UTF-8 or GB18030/GBK). mapping: {CSV column:
    field} for headers the built-in aliases do not know (fields: FIELDS). delimiter: default ','
    (tab when the header has tabs and no commas). dry_run: check and count, then roll back.
    area_code: given to 7-8 digit local phone numbers. now: the time stamped on changed rows.
    """
    data = Path(path).read_bytes()
    return import_bytes(db, data, file=str(path), encoding=encoding, mapping=mapping,
                        delimiter=delimiter, dry_run=dry_run, area_code=area_code, now=now)


def import_bytes(
    db: sqlite_utils.Database,
    data: bytes,
    *,
    file: str = "-",
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
    delimiter: str | None = None,
    dry_run: bool = False,
    area_code: str = DEFAULT_AREA_CODE,
    now: float | None = None,
) -> ImportReport:
    """As import_csv, from bytes already read.

    Three passes: decode the whole file with one encoding (or refuse it); read and check every
    row without writing (a row that cannot be taken is rejected with its reason and counted);
    then write the good rows in chunks of at most import_runs.CHUNK_ROWS rows or CHUNK_SECONDS
    seconds, each chunk one short transaction that also advances the run's row in import_runs.
    An import cut short resumes after its last committed chunk when the same file is imported
    again (`resumed_after_line`). A dry run reads and counts, writes nothing, takes no lock.
    """
    decoded = decode(data, encoding, file=file)
    report = ImportReport(file=file, encoding=decoded.encoding, dry_run=dry_run)
    districts = _districts(db)
    stamp = iso(now)
    seen: dict[str, int] = {}
    good: list[tuple[int, dict[str, Any]]] = []
    for line, lines, values, ignored, refused in _records(decoded, mapping or {}, delimiter):
        report.ignored_columns = ignored
        report.rows += lines
        if refused is not None or values is None:
            report.rejected.append(refused or Rejected(line, "", "bad-row", ""))
            continue
        try:
            rec = _record(values, districts, area_code)
        except _Bad as bad:
            report.rejected.append(
                Rejected(line, values.get("account_no", "").strip()[:32], bad.reason_id,
                         bad.reason))
            continue
        first = seen.get(rec["account_no"])
        if first is not None:
            report.rejected.append(Rejected(
                line, rec["account_no"], "duplicate",
                f"account {rec['account_no']} already appeared on line {first}",
            ))
            continue
        seen[rec["account_no"]] = line
        for field in TEXT_FIELDS:
            value = rec.get(field)
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                rec[field] = "'" + value
                report.neutralised.append(Neutralised(line, rec["account_no"], field))
        good.append((line, rec))
    report.rejected.sort(key=lambda r: r.line)
    if dry_run:
        for line, rec in good:
            _count(report, line, rec, *_upsert(db, rec, stamp, write=False))
        return report
    run = import_runs.start(db, kind="customers", file=file, digest=import_runs.file_hash(data),
                            encoding=decoded.encoding, rows=report.rows,
                            rejected=report.rejected_lines)
    report.run_id = run.id
    if run.resumed:
        report.resumed_after_line = run.next_line
        report.added, report.changed, report.unchanged = run.added, run.changed, run.unchanged
    pending = [(line, rec) for line, rec in good if line > run.next_line]
    while pending:
        started = time.monotonic()
        counts = {"added": 0, "changed": 0, "unchanged": 0}
        with transaction(db):
            done = 0
            for line, rec in pending[:import_runs.CHUNK_ROWS]:
                outcome, fields = _upsert(db, rec, stamp)
                counts[outcome] += 1
                _count(report, line, rec, outcome, fields)
                done += 1
                if time.monotonic() - started > import_runs.CHUNK_SECONDS:
                    break
            import_runs.advance(db, run, pending[done - 1][0], counts)
        pending = pending[done:]
        if pending:
            time.sleep(import_runs.PAUSE_SECONDS)  # let a waiting writer (the daemon) in
    with transaction(db):
        import_runs.finish(db, run)
    return report


def _count(report: ImportReport, line: int, rec: dict[str, Any], outcome: str,
           fields: list[str]) -> None:
    if outcome == "added":
        report.added += 1
    elif outcome == "changed":
        report.changed += 1
        report.changes.append(Changed(line, rec["account_no"], fields))
    else:
        report.unchanged += 1
