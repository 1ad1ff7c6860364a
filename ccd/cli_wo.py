"""`ccd wo`, `ccd kb` and `ccd customers`: work orders, the knowledge base, customer import.

Work-order and search commands go through the daemon's socket when it runs (so it checks who may
do what); with the daemon stopped they open the database directly as a local admin, through the
same handlers (ccd.api_methods_wo). Bulk commands (`kb import/export`, `customers import`,
holidays and departments) always open the database directly: SQLite in WAL mode lets them write
in short transactions next to a running daemon.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
import sqlite_utils
import typer

import db as database
from ccd.cli.context import connect, fail, state
from ccd.cli.tables import show_table
from ccd.errors import CcdError
from ccd.lock import is_locked
from ccd.timefmt import parse
from ccd.words import text
from ccd.workorders import catalogue

wo_app = typer.Typer(help="Work orders (工单): open, dispatch, follow, close.", no_args_is_help=True)
kb_app = typer.Typer(help="The knowledge base (知识库): search, import, export.",
                     no_args_is_help=True)
customers_app = typer.Typer(help="Customer data from the billing system.", no_args_is_help=True)
holiday_app = typer.Typer(help="The holiday calendar deadlines are counted on.",
                          no_args_is_help=True)
department_app = typer.Typer(help="Departments work orders are dispatched to.",
                             no_args_is_help=True)
wo_app.add_typer(holiday_app, name="holiday")
wo_app.add_typer(department_app, name="department")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NoteOption = Annotated[str, typer.Option("--note", "-n", help="Why (kept in the trail).")]


def register(app: typer.Typer) -> None:
    """Add the three command groups to the main `ccd` app."""
    app.add_typer(wo_app, name="wo")
    app.add_typer(kb_app, name="kb")
    app.add_typer(customers_app, name="customers")


# -- plumbing -------------------------------------------------------------------------------------


@contextmanager
def open_db(ctx: typer.Context) -> Iterator[sqlite_utils.Database]:
    """The site's database, migrated unless a daemon holds it (the daemon migrates itself)."""
    path = state(ctx).config.database_path
    if not path.exists():
        raise fail(f"{path}: no database; run `ccd init` first or check --config")
    db = database.open_database(path, apply_migrations=not is_locked(path))
    try:
        yield db
    finally:
        db.conn.close()


def call(ctx: typer.Context, name: str, **params: Any) -> Any:
    """Call an API method: through the daemon when it runs, else locally as an admin."""
    config = state(ctx).config
    try:
        if is_locked(config.database_path):
            with connect(ctx) as client:
                return client.call(name, **params)
        from ccd.api_methods_wo import Who, call_local, service_for

        who = Who(os.environ.get("CCD_USER") or f"cli:{getpass.getuser()}", frozenset({"admin"}))
        with open_db(ctx) as db:
            return call_local(service_for(db, config), who, name, params)
    except CcdError as e:
        raise fail(e.message) from None


def _lang(ctx: typer.Context) -> str:
    return state(ctx).config.site.language


def _local(ctx: typer.Context, stamp: str | None) -> str:
    if not stamp:
        return "-"
    tz = ZoneInfo(state(ctx).config.site.timezone)
    return dt.datetime.fromtimestamp(parse(stamp), tz).strftime("%Y-%m-%d %H:%M")


LIST_WORDS: dict[str, dict[str, str]] = {
    "col_number": {"zh": "工单号", "en": "number"},
    "col_status": {"zh": "状态", "en": "status"},
    "col_type": {"zh": "类型", "en": "type"},
    "col_priority": {"zh": "紧急程度", "en": "priority"},
    "col_department": {"zh": "处理部门", "en": "department"},
    "col_created": {"zh": "受理时间", "en": "opened"},
    "col_summary": {"zh": "内容", "en": "summary"},
    "escalated": {"zh": "（已督办）", "en": " (escalated)"},
    "empty": {"zh": "没有符合条件的工单", "en": "no work orders match"},
}


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=None))


# -- wo -------------------------------------------------------------------------------------------


@wo_app.command("list")
def wo_list(
    ctx: typer.Context,
    status: Annotated[list[str] | None, typer.Option("--status", "-s",
                      help="Only this status (repeatable): new, dispatched, accepted, paused, "
                      "close_requested, closed, cancelled.")] = None,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    phone: Annotated[str | None, typer.Option(help="Only this contact phone.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open ones.")] = False,
    overdue: Annotated[bool, typer.Option(help="Only overdue ones.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many (1-500).")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List work orders, newest first.

    Examples:

      ccd wo list --open

      ccd wo list --overdue --department repair --json
    """
    params: dict[str, Any] = {"status": status or [], "open_only": open_only,
                              "overdue": overdue, "limit": limit}
    if department:
        params["department"] = department
    if phone:
        params["phone"] = phone
    found = call(ctx, "wo.list", **params)
    if as_json:
        _echo_json(found)
        return
    lang = _lang(ctx)
    en = lang == "en"
    rows = []
    for w in found:
        late = w.get("escalated_at") and w["status"] not in ("closed", "cancelled")
        rows.append((
            w["number"],
            catalogue.word(catalogue.STATUS, w["status"], lang)
            + (text(LIST_WORDS, "escalated", lang) if late else ""),
            (en and w.get("type_name_en")) or w.get("type_name") or w["type"],
            catalogue.word(catalogue.PRIORITY, w["priority"], lang),
            (en and w.get("department_name_en")) or w.get("department_name")
            or w["department"] or "-",
            _local(ctx, w["created_at"]),
            " ".join(str(w["summary"] or "").split()) or "-",
        ))
    show_table([(text(LIST_WORDS, key, lang), "left") for key in (
        "col_number", "col_status", "col_type", "col_priority", "col_department", "col_created",
        "col_summary")], rows, text(LIST_WORDS, "empty", lang))


@wo_app.command("show")
def wo_show(ctx: typer.Context, number: str, as_json: JsonOption = False) -> None:
    """Show a work order with its whole trail.

    Examples:

      ccd wo show WO-20261123-0042
    """
    w = call(ctx, "wo.get", number=number)
    if as_json:
        _echo_json(w)
        return
    lang = _lang(ctx)
    rows = [
        ("number", w["number"]),
        ("status", catalogue.word(catalogue.STATUS, w["status"], lang)
         + ("  (overdue)" if w["overdue"] else "")),
        ("type", w["type"]),
        ("priority", catalogue.word(catalogue.PRIORITY, w["priority"], lang)),
        ("customer", f"{w['contact_name']} {w['phone']} {w['account_no'] or ''}".strip()),
        ("address", w["address"]),
        ("department", w["department"] or "-"),
        ("owner", w["owner"] or "-"),
        ("created", f"{_local(ctx, w['created_at'])} by {w['created_by']}"),
        ("deadline", _local(ctx, w["deadline_at"])),
        ("closed", _local(ctx, w["closed_at"])),
        ("description", w["description"]),
        ("resolution", w["resolution"] or "-"),
    ]
    for key, value in rows:
        typer.echo(f"{key:<12} {value}")
    for a in w["attachments"]:
        typer.echo(f"{'attachment':<12} {a['kind']} {a['path']}")
    typer.echo("trail:")
    for e in w["events"]:
        note = f"  {e['note']}" if e["note"] else ""
        typer.echo(f"  {_local(ctx, e['at'])}  {catalogue.word(catalogue.EVENT, e['kind'], lang)}"
                   f"  {e['actor']}{note}")


@wo_app.command("create")
def wo_create(
    ctx: typer.Context,
    description: Annotated[str, typer.Argument(help="What the customer reported.")],
    type_: Annotated[str, typer.Option("--type", "-t", help="repair, complaint, enquiry, "
                     "billing, meter, new_connection, outage_report, suggestion, praise.")],
    priority: Annotated[str, typer.Option(help="urgent, high, normal or low.")] = "normal",
    phone: Annotated[str, typer.Option(help="Contact phone.")] = "",
    account: Annotated[str | None, typer.Option(help="Account number (户号).")] = None,
    customer_id: Annotated[int | None, typer.Option(help="Customer id.")] = None,
    name: Annotated[str, typer.Option(help="Contact name.")] = "",
    address: Annotated[str, typer.Option(help="Address (default: the account's).")] = "",
    department: Annotated[str | None, typer.Option(help="Dispatch at once to this department.")
                          ] = None,
    attach: Annotated[list[str] | None, typer.Option(help="Attach a file (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Open a work order; prints its number.

    Examples:

      ccd wo create -t repair --priority urgent --phone 13800000001 "路口水管爆裂"

      ccd wo create -t enquiry --account 1030000001 --department billing "水费偏高"
    """
    params: dict[str, Any] = {"type": type_, "description": description, "priority": priority,
                              "phone": phone, "contact_name": name, "address": address,
                              "source": "cli"}
    for key, value in (("account_no", account), ("customer_id", customer_id),
                       ("department", department)):
        if value is not None:
            params[key] = value
    if attach:
        params["attachments"] = [{"path": p, "kind": "file"} for p in attach]
    w = call(ctx, "wo.create", **params)
    if as_json:
        _echo_json(w)
        return
    typer.echo(w["number"])


def _action(name: str, needs_note: bool, help_text: str, example: str) -> None:
    def command(
        ctx: typer.Context,
        number: Annotated[str, typer.Argument(help="The work order number.")],
        note: Annotated[str, typer.Argument(help="Why / what was done.")] = "",
        as_json: JsonOption = False,
    ) -> None:
        if needs_note and not note.strip():
            raise fail(f"`ccd wo {name.replace('_', '-')}` needs a note: what was done or why")
        w = call(ctx, f"wo.{name}", number=number, note=note)
        if as_json:
            _echo_json(w)
            return
        typer.echo(f"{w['number']}: {catalogue.word(catalogue.STATUS, w['status'], _lang(ctx))}")

    command.__doc__ = f"{help_text}\n\n    Examples:\n\n      {example}\n"
    wo_app.command(name.replace("_", "-"))(command)


_action("accept", False, "Accept a dispatched work order for your department (接单).",
        "ccd wo accept WO-20261123-0042")
_action("feedback", True, "Report progress on an accepted work order (回复).",
        'ccd wo feedback WO-20261123-0042 "已到现场，正在关阀抢修"')
_action("pause", True, "Stop the deadline clock while waiting for the customer (挂起).",
        'ccd wo pause WO-20261123-0042 "客户不在家，约定周一上门"')
_action("resume", False, "Restart the deadline clock (恢复).", "ccd wo resume WO-20261123-0042")
_action("request_close", True, "Ask the hotline to close: the work is done (申请结单).",
        'ccd wo request-close WO-20261123-0042 "已更换阀门，恢复供水"')
_action("close", True, "Close the work order; the customer is notified (结单).",
        'ccd wo close WO-20261123-0042 "已修复，客户确认"')
_action("send_back", True, "Send back: to the department for more work, or (by the department) "
        "to the hotline to dispatch elsewhere (退单).",
        'ccd wo send-back WO-20261123-0042 "非本部门职责"')
_action("cancel", True, "Cancel a duplicate or mistaken work order (撤销).",
        'ccd wo cancel WO-20261123-0042 "重复工单，见 WO-20261123-0041"')


@wo_app.command("dispatch")
def wo_dispatch(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="The work order number.")],
    department: Annotated[str, typer.Argument(help="Department code (repair, billing, ...).")],
    note: NoteOption = "",
    as_json: JsonOption = False,
) -> None:
    """Dispatch a work order to a department (派单), or to another one before it is accepted.

    Examples:

      ccd wo dispatch WO-20261123-0042 repair
    """
    w = call(ctx, "wo.dispatch", number=number, department=department, note=note)
    if as_json:
        _echo_json(w)
        return
    typer.echo(f"{w['number']}: {catalogue.word(catalogue.STATUS, w['status'], _lang(ctx))} "
               f"→ {w['department']}")


@holiday_app.command("list")
def holiday_list(ctx: typer.Context) -> None:
    """List holidays and swapped working days.

    Examples:

      ccd wo holiday list
    """
    from ccd.workorders import queries

    with open_db(ctx) as db:
        for h in queries.holidays(db):
            typer.echo(f"{h['day']}  {h['kind']:<4}  {h['name']}")


@holiday_app.command("add")
def holiday_add(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD (local date).")],
    name: Annotated[str, typer.Option(help="e.g. 国庆节.")] = "",
    work: Annotated[bool, typer.Option("--work", help="A weekend day worked (调休).")] = False,
) -> None:
    """Add a holiday (or, with --work, a weekend working day); the daemon picks it up on SIGHUP.

    Examples:

      ccd wo holiday add 2026-10-01 --name 国庆节

      ccd wo holiday add 2026-10-10 --work --name 国庆调休
    """
    from ccd.workorders import queries

    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise fail(f"{day!r} is not a date; write YYYY-MM-DD") from None
    with open_db(ctx) as db:
        queries.set_holiday(db, date, "work" if work else "off", name)
    typer.echo(f"{date} {'working day' if work else 'holiday'}")


@holiday_app.command("remove")
def holiday_remove(ctx: typer.Context, day: str) -> None:
    """Remove a date from the holiday calendar.

    Examples:

      ccd wo holiday remove 2026-10-01
    """
    from ccd.workorders import queries

    with open_db(ctx) as db:
        removed = queries.remove_holiday(db, dt.date.fromisoformat(day))
    if not removed:
        raise fail(f"{day} is not in the holiday calendar")
    typer.echo(f"{day} removed")


@department_app.command("list")
def department_list(ctx: typer.Context) -> None:
    """List departments.

    Examples:

      ccd wo department list
    """
    from ccd.workorders import queries

    with open_db(ctx) as db:
        for d in queries.departments(db):
            typer.echo(f"{d['code']:<12} {d['name']:<10} {d['name_en']:<24} "
                       f"head: {d['head_username'] or '-'}")


@department_app.command("member")
def department_member(ctx: typer.Context, department: str, username: str) -> None:
    """Make a user a member of a department (members accept and work its work orders).

    Examples:

      ccd wo department member repair wanggong
    """
    from ccd.workorders import queries

    with open_db(ctx) as db:
        try:
            queries.add_member(db, department, username)
        except CcdError as e:
            raise fail(e.message) from None
    typer.echo(f"{username} is in {department}")


@department_app.command("head")
def department_head(ctx: typer.Context, department: str, username: str) -> None:
    """Set a department's head, who hears of its escalations (督办).

    Examples:

      ccd wo department head repair zhangzhuren
    """
    with open_db(ctx) as db:
        n = db.execute("UPDATE departments SET head_username = ? WHERE code = ?",
                       [username, department]).rowcount
    if not n:
        raise fail(f"no department {department!r}; see `ccd wo department list`")
    typer.echo(f"{username} heads {department}")


# -- kb -------------------------------------------------------------------------------------------


@kb_app.command("search")
def kb_search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Words to find (Chinese, English or pinyin).")],
    lang: Annotated[str | None, typer.Option(help="Only zh or en articles.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many hits.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Search the knowledge base; matched words are marked **like this**.

    Examples:

      ccd kb search 停水

      ccd kb search "gas leak" --json
    """
    params: dict[str, Any] = {"query": text, "limit": limit}
    if lang:
        params["lang"] = lang
    hits = call(ctx, "kb.search", **params)
    if as_json:
        _echo_json([{"id": h["id"], "title": h["title"], "snippet": h["snippet"],
                     "slug": h["slug"], "lang": h["lang"]} for h in hits])
        return
    if not hits:
        typer.echo("no match")
    for h in hits:
        typer.echo(f"[{h['id']}] {h['title_marked']}  ({h['lang']}, {h['category']})")
        typer.echo(f"     {h['snippet']}")


@kb_app.command("show")
def kb_show(
    ctx: typer.Context,
    article: Annotated[str, typer.Argument(help="Article id or slug.")],
    lang: Annotated[str, typer.Option(help="zh or en (with a slug).")] = "zh",
) -> None:
    """Print an article as Markdown.

    Examples:

      ccd kb show gas-leak-safety --lang en
    """
    from ccd.kb.markdown import dump

    params: dict[str, Any] = {"id": int(article)} if article.isdigit() else {
        "slug": article, "lang": lang}
    typer.echo(dump(call(ctx, "kb.get", **params)), nl=False)


@kb_app.command("import")
def kb_import(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Markdown files or folders (*.md).")],
    draft: Annotated[bool, typer.Option(help="Import as drafts, whatever the files say.")
                     ] = False,
    actor: Annotated[str, typer.Option(help="Recorded as who changed the articles.")] = "",
) -> None:
    """Import Markdown articles with front matter; unchanged ones make no new version.

    Examples:

      ccd kb import ./answers/

      ccd kb import faq.zh.md faq.en.md --draft
    """
    from ccd.kb.markdown import import_files

    for p in paths:
        if not p.exists():
            raise fail(f"{p}: no such file or folder")
    with open_db(ctx) as db:
        report = import_files(db, paths, actor=actor or f"cli:{getpass.getuser()}",
                              status="draft" if draft else None)
    typer.echo(f"added {report.added}, changed {report.changed}, unchanged {report.unchanged}, "
               f"rejected {len(report.rejected)}")
    for r in report.rejected:
        typer.echo(f"  rejected {r['file']}: {r['reason']}")
    if report.rejected:
        raise typer.Exit(code=1)


@kb_app.command("export")
def kb_export(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="Folder to write <slug>.<lang>.md files to.")],
    status: Annotated[list[str] | None, typer.Option(help="Only this status (repeatable).")
                      ] = None,
) -> None:
    """Export articles as Markdown files (importable again unchanged).

    Examples:

      ccd kb export ./kb-backup

      ccd kb export ./published --status published
    """
    from ccd.kb.markdown import export_dir

    with open_db(ctx) as db:
        files = export_dir(db, dest, status=status or None)
    typer.echo(f"{len(files)} articles written to {dest}")


@kb_app.command("starter")
def kb_starter(ctx: typer.Context) -> None:
    """Load the shipped starter knowledge base (water, power, gas; Chinese and English).

    Examples:

      ccd kb starter
    """
    from ccd.kb import starter

    with open_db(ctx) as db:
        report = starter.load(db)
    typer.echo(f"added {report.added}, changed {report.changed}, unchanged {report.unchanged}")


# -- customers --------------------------------------------------------------------------------------


@customers_app.command("import")
def customers_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV exported by the billing system.")],
    encoding: Annotated[str | None, typer.Option(help="e.g. gbk, utf-8 (default: detect).")
                        ] = None,
    mapping: Annotated[list[str] | None, typer.Option(
        help="CSV_COLUMN=FIELD (repeatable or comma-separated); fields: account_no, name, "
        "phones, address, district, meter_no, category, utility, balance, arrears, language, "
        "status.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="Cell separator (default ',').")] = None,
    dry_run: Annotated[bool, typer.Option(help="Check and count, change nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Import customers and accounts from CSV: upsert by account number, safe to re-run.

    Examples:

      ccd customers import customers.csv

      ccd customers import export.csv --encoding gbk --mapping 用户编号=account_no,联系人=name
    """
    from ccd.customers_import import import_csv, parse_mapping

    if not file.exists():
        raise fail(f"{file}: no such file")
    try:
        columns = parse_mapping(mapping or [])
        with open_db(ctx) as db:
            report = import_csv(db, file, encoding=encoding, mapping=columns,
                                delimiter=delimiter, dry_run=dry_run)
    except CcdError as e:
        raise fail(e.message) from None
    if as_json:
        typer.echo(msgspec.json.encode(report).decode())
        return
    typer.echo(
        f"{report.file} ({report.encoding}): {report.rows} rows — added {report.added}, "
        f"changed {report.changed}, unchanged {report.unchanged}, rejected "
        f"{report.rejected_lines}" + (" (dry run: nothing written)" if dry_run else "")
    )
    if report.resumed_after_line is not None:
        typer.echo(f"  resumed run {report.run_id}: lines up to {report.resumed_after_line} "
                   "were committed by the interrupted run (counted above)")
    for n in report.neutralised:
        typer.echo(f"  line {n.line}: {n.account_no} {n.field} begins like a spreadsheet "
                   "formula; stored with a leading '")
    for c in report.changes:
        typer.echo(f"  line {c.line}: {c.account_no} changed {', '.join(c.fields)}")
    for r in report.rejected:
        typer.echo(f"  line {r.line}: rejected {r.account_no or '-'}: {r.reason}")
    if report.ignored_columns:
        typer.echo(f"  columns not imported: {', '.join(report.ignored_columns)}")
