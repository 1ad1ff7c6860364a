"""Help requests (求助): an agent raises a hand, a team lead answers and the agent is told.

    agent.help             (agent)            raise a hand; one open request per agent
    agent.help_cancel      (agent)            lower it
    supervisor.answer_help (teamlead, admin)  answer; pushed to the agent on 'agent.<username>'

Each change and its audit entry are committed together before the reply. Every change is also
published on topic 'help' (the wallboard publisher wakes on it).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ccd.acd.store import agent_topic
from ccd.api import catalogue
from ccd.api.registry import Context, NoParams, Params, method
from ccd.errors import CcdError
from ccd.timefmt import iso
from db import users

SUPERVISORS = frozenset({"teamlead", "admin"})
Text = Annotated[str, msgspec.Meta(max_length=500)]
HelpId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]

# The errors' messages, rendered in the caller's language by the API server.
MESSAGES = {
    "no-such-help-request": {
        "zh": "没有编号为 {id} 的求助",
        "en": "no help request {id}",
    },
    "help-not-open": {
        "zh": "求助 {id} 已处理（{status}）",
        "en": "help request {id} is already {status}",
    },
    "no-open-help": {
        "zh": "您当前没有待处理的求助",
        "en": "you have no open help request",
    },
}
catalogue.register(MESSAGES)


def _error(code: str, **details: Any) -> CcdError:
    return CcdError(MESSAGES[code]["en"].format(**details), error_id=code, **details)


def _row(ctx: Context, help_id: int) -> dict[str, Any] | None:
    cursor = ctx.services.db.execute(
        "SELECT id, agent, raised_at, message, call_id, status, answered_by, answered_at, answer "
        "FROM help_requests WHERE id = ?",
        (help_id,),
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def _changed(ctx: Context, kind: str, row: dict[str, Any]) -> None:
    ctx.services.broker.publish("help", {"kind": kind, **row})
    publisher = getattr(ctx.services, "wallboard", None)
    if publisher is not None:
        publisher.help_changed()


class RaiseParams(Params):
    message: Text = ""
    call_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


@method("agent.help", roles={"agent"}, params=RaiseParams)
async def raise_hand(ctx: Context, params: RaiseParams) -> dict[str, Any]:
    """Ask the team leads for help (a second request while one is open updates its message)."""
    db = ctx.services.db
    agent = ctx.session.username
    with users.transaction(db):
        open_row = db.execute(
            "SELECT id FROM help_requests WHERE agent = ? AND status = 'open'", (agent,)
        ).fetchone()
        if open_row is not None:
            help_id = int(open_row[0])
            db.execute(
                "UPDATE help_requests SET message = ?, call_id = coalesce(?, call_id) "
                "WHERE id = ?",
                (params.message, params.call_id, help_id),
            )
        else:
            cursor = db.execute(
                "INSERT INTO help_requests (agent, raised_at, message, call_id) VALUES (?,?,?,?)",
                (agent, iso(), params.message, params.call_id),
            )
            assert cursor.lastrowid is not None
            help_id = cursor.lastrowid
        users.audit(db, ctx.session.actor, "agent.help", target=agent,
                    details={"id": help_id, "message": params.message, "call_id": params.call_id})
    row = _row(ctx, help_id)
    assert row is not None
    _changed(ctx, "raised", row)
    return row


@method("agent.help_cancel", roles={"agent"})
async def lower_hand(ctx: Context, params: NoParams) -> dict[str, Any]:
    """Withdraw your open help request."""
    db = ctx.services.db
    agent = ctx.session.username
    with users.transaction(db):
        found = db.execute(
            "SELECT id FROM help_requests WHERE agent = ? AND status = 'open'", (agent,)
        ).fetchone()
        if found is None:
            raise _error("no-open-help")
        db.execute("UPDATE help_requests SET status = 'cancelled' WHERE id = ?", (found[0],))
        users.audit(db, ctx.session.actor, "agent.help_cancel", target=agent,
                    details={"id": found[0]})
    row = _row(ctx, int(found[0]))
    assert row is not None
    _changed(ctx, "cancelled", row)
    return row


class AnswerParams(Params):
    id: HelpId
    answer: Text = ""


@method("supervisor.answer_help", roles=SUPERVISORS, params=AnswerParams)
async def answer_help(ctx: Context, params: AnswerParams) -> dict[str, Any]:
    """Answer a help request; the agent gets it on topic 'agent.<username>' at once."""
    db = ctx.services.db
    with users.transaction(db):
        row = _row(ctx, params.id)
        if row is None:
            raise _error("no-such-help-request", id=params.id)
        if row["status"] != "open":
            raise _error("help-not-open", id=params.id, status=row["status"])
        db.execute(
            "UPDATE help_requests SET status = 'answered', answered_by = ?, answered_at = ?, "
            "answer = ? WHERE id = ?",
            (ctx.session.username, iso(), params.answer, params.id),
        )
        users.audit(db, ctx.session.actor, "supervisor.answer_help", target=row["agent"],
                    details={"id": params.id, "answer": params.answer})
    row = _row(ctx, params.id)
    assert row is not None
    ctx.services.broker.publish(agent_topic(row["agent"]), {"kind": "help_answered", **row})
    _changed(ctx, "answered", row)
    return row
