"""`ccd callers`: the blocked list (黑名单), VIP and restricted numbers, customers or not.

Through the daemon when it runs (the IVR reads the lists on the next call), else on the database.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ccd import timefmt
from ccd.cli.context import state
from ccd.cli.tables import show_table
from ccd.cli_acd import call
from ccd.words import text

app = typer.Typer(help="Blocked (黑名单), VIP and restricted caller numbers.",
                  no_args_is_help=True, rich_markup_mode=None)

WORDS: dict[str, dict[str, str]] = {
    "blocked": {"zh": "黑名单", "en": "blocked"},
    "vip": {"zh": "VIP", "en": "VIP"},
    "restricted": {"zh": "限制（仅自助服务）", "en": "restricted (self-service only)"},
    "col_phone": {"zh": "号码", "en": "number"},
    "col_list": {"zh": "名单", "en": "list"},
    "col_customer": {"zh": "客户", "en": "customer"},
    "col_note": {"zh": "备注", "en": "note"},
    "col_by": {"zh": "设置人", "en": "set by"},
    "col_at": {"zh": "设置时间", "en": "set at"},
    "empty": {"zh": "名单上没有号码", "en": "no numbers are listed"},
    "set": {"zh": "已将 {phone} 列入{list}", "en": "{phone} is now on the {list} list"},
    "cleared": {"zh": "已将 {phone} 移出名单", "en": "{phone} is on no list now"},
    "not_customer": {"zh": "（非客户号码）", "en": " (not a customer's number)"},
}

Phone = Annotated[str, typer.Argument(help="The number, in any common form (+86 139-5555-6666).")]
Note = Annotated[str, typer.Option(help="Why (shown in `ccd callers list`).")]


def _lang(ctx: typer.Context) -> str:
    return state(ctx).config.site.language


def _set(ctx: typer.Context, phone: str, which: str, note: str) -> None:
    result = call(ctx, "callers.set", phone=phone, list=which, note=note)
    lang = _lang(ctx)
    typer.echo(text(WORDS, "set", lang, phone=result["phone"], list=text(WORDS, which, lang))
               + ("" if result.get("customer") else text(WORDS, "not_customer", lang)))


@app.command("block")
def block(ctx: typer.Context, phone: Phone, note: Note = "") -> None:
    """Refuse calls from a number politely (the IVR's `blocked` branch).

    Examples:

      ccd callers block 13955556666 --note "骚扰电话"
    """
    _set(ctx, phone, "blocked", note)


@app.command("vip")
def vip(ctx: typer.Context, phone: Phone, note: Note = "") -> None:
    """Treat a number as a VIP: greeted as such and first in the queue.

    Examples:

      ccd callers vip 057188001234 --note "市政府值班室"
    """
    _set(ctx, phone, "vip", note)


@app.command("restrict")
def restrict(ctx: typer.Context, phone: Phone, note: Note = "") -> None:
    """Self-service only: the number is not put through to an agent.

    Examples:

      ccd callers restrict 13955556666 --note "每天数十次转人工"
    """
    _set(ctx, phone, "restricted", note)


@app.command("clear")
def clear(ctx: typer.Context, phone: Phone) -> None:
    """Take a number off every list.

    Examples:

      ccd callers clear 13955556666
    """
    result = call(ctx, "callers.clear", phone=phone)
    typer.echo(text(WORDS, "cleared", _lang(ctx), phone=result["phone"]))


@app.command("list")
def list_(ctx: typer.Context, as_json: Annotated[bool, typer.Option(
        "--json", help="Print a JSON list.")] = False) -> None:
    """Every listed number.

    Examples:

      ccd callers list

      ccd callers list --json
    """
    found = call(ctx, "callers.list")
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    site = state(ctx).config.site
    lang = site.language
    rows = [(c["phone"], text(WORDS, c["list"], lang), c.get("customer") or "-",
             c.get("note") or "-", c.get("set_by") or "-",
             timefmt.local(c.get("set_at"), site.timezone, empty="-")) for c in found]
    show_table([(text(WORDS, key, lang), "left") for key in
                ("col_phone", "col_list", "col_customer", "col_note", "col_by", "col_at")],
               rows, text(WORDS, "empty", lang))
