"""Socket API methods for work orders, the knowledge base and customer history.

Each method is a plain function `(service, who, params) -> result` in HANDLERS; `register()`
declares them, with their roles, on the API registry (ccd/api/methods/__init__.py calls it). The
CLI calls the same functions directly when no daemon runs (`call_local`), so both paths check the
same rules.

Who does what (issue 13):
- Department steps (accept, feedback, pause, resume, request close, and sending a dispatched work
  order back, 退单) need the caller to be a member of the work order's department, unless they
  are a team lead or an admin: a hotline agent cannot accept on a repair crew's behalf.
- Hotline steps (create, dispatch, close, cancel, and sending a close request back, 驳回) need a
  hotline role (agent, team lead, admin): back-office staff ('backoffice') cannot close or cancel.
  And a member of the order's department who is also an agent may not do the hotline's step on
  that order (closing one's own work) unless a team lead or admin: the loop stays closed by the
  hotline, not by whoever did the work.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
import sqlite_utils

from ccd.api.registry import ANY_ROLE, REGISTRY, Context, NoParams, Params, Registry
from ccd.history import history
from ccd.kb import articles
from ccd.kb.search import search
from ccd.workorders import lifecycle, queries
from ccd.workorders.daemon import settings_of
from ccd.workorders.errors import HotlineOnly, NotYourDepartment
from ccd.workorders.service import WorkOrders

HOTLINE = frozenset({"agent", "teamlead", "admin"})
SUPERVISORS = frozenset({"teamlead", "admin"})
# Whoever may call a method that is a department step in some status (the handler checks which).
STAFF = HOTLINE | {"backoffice"}
READERS = ANY_ROLE

Number = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Note = Annotated[str, msgspec.Meta(max_length=4000)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=500)]
# A row id: bounded so it always fits SQLite's 64-bit INTEGER.
RowId = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


@dataclass(frozen=True)
class Who:
    """The caller: username and roles."""

    username: str
    roles: frozenset[str]


# -- params ---------------------------------------------------------------------------------------


class Attachment(Params):
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    kind: Literal["recording", "file", "photo"] = "recording"
    recording_id: RowId | None = None
    note: Note = ""


class CreateParams(Params):
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    description: Note = ""
    priority: Literal["urgent", "high", "normal", "low"] = "normal"
    customer_id: RowId | None = None
    account_no: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] = ""
    contact_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    address: Annotated[str, msgspec.Meta(max_length=300)] = ""
    source: Literal["agent", "ivr", "cli", "web"] = "agent"
    call_id: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    department: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    attachments: list[Attachment] = []


class NumberParams(Params):
    number: Number


class ActParams(Params):
    number: Number
    note: Note = ""


class DispatchParams(Params):
    number: Number
    department: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    note: Note = ""


class ListParams(Params):
    status: list[str] = []
    department: str | None = None
    type: str | None = None
    customer_id: RowId | None = None
    phone: str | None = None
    open_only: bool = False
    overdue: bool = False
    before_id: RowId | None = None
    limit: Limit = 50


class KbSearchParams(Params):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    lang: Literal["zh", "en"] | None = None
    category: str | None = None
    include_drafts: bool = False
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


class KbGetParams(Params):
    id: RowId | None = None
    slug: str | None = None
    lang: Literal["zh", "en"] = "zh"


class HistoryParams(Params):
    customer_id: RowId | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    limit: Limit = 50


# -- handlers -------------------------------------------------------------------------------------


def wo_create(svc: WorkOrders, who: Who, p: CreateParams) -> dict[str, Any]:
    """Open a work order (and dispatch it when a department is given)."""
    return svc.create(
        type=p.type, created_by=who.username, description=p.description, priority=p.priority,
        customer_id=p.customer_id, account_no=p.account_no, phone=p.phone,
        contact_name=p.contact_name, address=p.address, source=p.source, call_id=p.call_id,
        attachments=[msgspec.to_builtins(a) for a in p.attachments], department=p.department,
    )


def wo_get(svc: WorkOrders, who: Who, p: NumberParams) -> dict[str, Any]:
    """A work order with its events and attachments."""
    return svc.get(p.number)


def wo_list(svc: WorkOrders, who: Who, p: ListParams) -> list[dict[str, Any]]:
    """Work orders, newest first, filtered."""
    return queries.list_orders(
        svc.db, status=p.status, department=p.department, type=p.type,
        customer_id=p.customer_id, phone=p.phone, open_only=p.open_only,
        overdue_at=svc.now() if p.overdue else None, before_id=p.before_id, limit=p.limit,
    )


def wo_overdue(svc: WorkOrders, who: Who, p: NoParams) -> list[dict[str, Any]]:
    """The wallboard's overdue list, most overdue first."""
    return queries.overdue(svc.db, svc.now())


def wo_departments(svc: WorkOrders, who: Who, p: NoParams) -> dict[str, Any]:
    """Departments and work-order types (for pick lists)."""
    return {"departments": queries.departments(svc.db), "types": queries.types(svc.db)}


def _act(kind: str) -> Callable[[WorkOrders, Who, Any], dict[str, Any]]:
    def handler(svc: WorkOrders, who: Who, p: Any) -> dict[str, Any]:
        state = svc.state(p.number)
        side = lifecycle.acting_side(state.status, kind)
        supervisor = bool(who.roles & SUPERVISORS)
        member = queries.is_member(svc.db, state.department, who.username)
        if side == "department" and not supervisor and not member:
            raise NotYourDepartment(
                f"{who.username} is not in department {state.department} of work order "
                f"{p.number}",
                number=p.number,
                department=state.department,
            )
        if side == "hotline" and not supervisor and (not who.roles & HOTLINE or member):
            raise HotlineOnly(
                f"'{kind}' on work order {p.number} is the hotline's step, not department "
                f"{state.department}'s",
                number=p.number, action=kind, department=state.department,
            )
        return svc.act(
            p.number, kind, actor=who.username, note=p.note,
            department=getattr(p, "department", None),
        )

    handler.__doc__ = f"Work-order action '{kind}'."
    return handler


def kb_search(svc: WorkOrders, who: Who, p: KbSearchParams) -> list[dict[str, Any]]:
    """Knowledge search: hits with id, title, marked title and snippet."""
    status = ["published"]
    if p.include_drafts and who.roles & (SUPERVISORS | {"qa"}):
        status.append("draft")
    hits = search(svc.db, p.query, lang=p.lang, category=p.category, status=status,
                  limit=p.limit)
    return [msgspec.to_builtins(h) for h in hits]


def kb_get(svc: WorkOrders, who: Who, p: KbGetParams) -> dict[str, Any]:
    """One article (by id, or by slug and language) with its translations' ids."""
    if p.id is not None:
        art = articles.get(svc.db, p.id)
    elif p.slug:
        art = articles.get_by_slug(svc.db, p.slug, p.lang)
    else:
        raise articles.ArticleError("give an article id or slug")
    if art["status"] != "published" and not who.roles & (SUPERVISORS | {"qa"}):
        raise articles.NoSuchArticle(f"no article {art['id']}", id=art["id"])
    art["translations"] = articles.translations(svc.db, art["slug"])
    return art


def customer_history(svc: WorkOrders, who: Who, p: HistoryParams) -> list[dict[str, Any]]:
    """Every call, work order, callback and survey of a customer or phone, newest first."""
    return history(svc.db, customer_id=p.customer_id, phone=p.phone, limit=p.limit)


@dataclass(frozen=True)
class Spec:
    roles: frozenset[str]
    params: type[msgspec.Struct]
    handler: Callable[[WorkOrders, Who, Any], Any]


HANDLERS: dict[str, Spec] = {
    "wo.create": Spec(HOTLINE, CreateParams, wo_create),
    "wo.get": Spec(READERS, NumberParams, wo_get),
    "wo.list": Spec(READERS, ListParams, wo_list),
    "wo.overdue": Spec(READERS, NoParams, wo_overdue),
    "wo.departments": Spec(READERS, NoParams, wo_departments),
    "wo.dispatch": Spec(HOTLINE, DispatchParams, _act("dispatch")),
    "wo.accept": Spec(STAFF, ActParams, _act("accept")),
    "wo.feedback": Spec(STAFF, ActParams, _act("feedback")),
    "wo.pause": Spec(STAFF, ActParams, _act("pause")),
    "wo.resume": Spec(STAFF, ActParams, _act("resume")),
    "wo.request_close": Spec(STAFF, ActParams, _act("request_close")),
    "wo.close": Spec(HOTLINE, ActParams, _act("close")),
    "wo.send_back": Spec(STAFF, ActParams, _act("send_back")),
    "wo.cancel": Spec(HOTLINE, ActParams, _act("cancel")),
    "kb.search": Spec(READERS, KbSearchParams, kb_search),
    "kb.get": Spec(READERS, KbGetParams, kb_get),
    "customer.history": Spec(READERS, HistoryParams, customer_history),
}


def service_for(db: sqlite_utils.Database, config: Any = None) -> WorkOrders:
    """A WorkOrders service on `db` with the config's settings (the CLI's offline path)."""
    settings = settings_of(config)
    site = getattr(config, "site", None)
    return WorkOrders(
        db, settings, timezone=getattr(site, "timezone", "Asia/Shanghai"),
        site_name=getattr(site, "name", ""), now=time.time,
    )


def call_local(svc: WorkOrders, who: Who, name: str, params: dict[str, Any]) -> Any:
    """Run method `name` in this process with the same checks as the socket API; the result is
    what the socket would reply (plain JSON-able values)."""
    from ccd.errors import ClientError, Forbidden

    spec = HANDLERS.get(name)
    if spec is None:
        raise ClientError(f"unknown method {name!r}", error_id="unknown-method", method=name)
    if not spec.roles & who.roles:
        raise Forbidden(f"{who.username} may not call {name}", method=name)
    try:
        parsed = msgspec.convert(params, spec.params)
    except msgspec.ValidationError as e:
        raise ClientError(f"bad parameters for {name!r}: {e}", error_id="bad-params",
                          method=name) from None
    return msgspec.to_builtins(spec.handler(svc, who, parsed))


# -- registration on the socket API --------------------------------------------------------------


def _service(ctx: Context) -> WorkOrders:
    found = getattr(ctx.services, "workorders", None)
    if isinstance(found, WorkOrders):
        return found
    return service_for(ctx.services.db, ctx.services.config)


def register(registry: Registry = REGISTRY) -> None:
    """Declare every method of HANDLERS on `registry` (the daemon's REGISTRY by default).

    Called once by ccd/api/methods/__init__.py; tests register on `REGISTRY.copy()`.
    """
    from ccd.api import catalogue
    from ccd.kb import catalogue as kb_catalogue
    from ccd.workorders import catalogue as wo_catalogue

    catalogue.register(wo_catalogue.ERRORS)
    catalogue.register(kb_catalogue.ERRORS)
    for name, spec in HANDLERS.items():
        registry.method(name, roles=spec.roles, params=spec.params)(_async(name, spec))


def _async(name: str, spec: Spec) -> Callable[[Context, Any], Awaitable[Any]]:
    async def handler(ctx: Context, params: Any) -> Any:
        who = Who(ctx.session.username, frozenset(ctx.session.roles))
        return spec.handler(_service(ctx), who, params)

    handler.__doc__ = spec.handler.__doc__
    handler.__name__ = name.replace(".", "_")
    return handler
