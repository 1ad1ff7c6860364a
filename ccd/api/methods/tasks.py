"""The agent's task list: callbacks to make and satisfaction surveys (满意度回访) to run.

    agent.tasks {limit}                        pending callbacks, then surveys; earliest due first
    task.survey {id}                           one survey: customer, work order, the script to read
    task.survey_save {id, status, answers}     its outcome and answers, checked against the script
    task.callback_done {id, result, note}      a callback's outcome

A survey made when a work order closes has a callback row of kind 'survey' beside it (for the
dialler): the task list shows the survey, not that callback, and saving the survey closes it too
('done' when the customer was reached, 'failed' on no answer). Callbacks of kind 'request' (the
caller asked in the IVR) and 'notify' (tell the customer their work order is closed) are the
callback tasks. In `callbacks`, `note` says why the callback was asked for and `result` holds the
agent's note on how it went.

Each outcome, its answers, the agent who recorded it (`handled_by`) and an audit entry are
committed in one transaction before the reply, then published on topic 'tasks' so other consoles
can drop the task from their lists. Every survey answer is checked against `[console.survey]`:
a score is "1".."5", a yes/no question "yes" or "no", a text at most 500 characters; an answered
survey needs every score and yes/no question answered.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

import msgspec

from ccd.api.methods.agent import console
from ccd.api.registry import Context, Params, method
from ccd.console_settings import Question
from ccd.errors import ClientError, NotFound
from ccd.timefmt import iso
from db import users
from db.users import transaction

HOTLINE = {"agent", "teamlead", "admin"}
TOPIC = "tasks"
RowId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
QuestionId = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
SCORES = ("1", "2", "3", "4", "5")
YES_NO = ("yes", "no")
MAX_TEXT = 500
CALLBACK_OPEN = ("pending", "dialing")

TASKS_SQL = """
SELECT * FROM (
    SELECT 'callback' AS kind, b.id, b.kind AS callback_kind, b.phone, b.customer_id,
           c.name AS customer_name, w.number AS work_order, b.due_at, b.status, b.attempts,
           b.note
    FROM callbacks b
    LEFT JOIN customers c ON c.id = b.customer_id
    LEFT JOIN work_orders w ON w.id = b.work_order_id
    WHERE b.status = 'pending' AND b.kind IN ('request', 'notify')
    UNION ALL
    SELECT 'survey', s.id, NULL, s.phone, s.customer_id, c.name, w.number,
           COALESCE(b.due_at, s.created_at), s.status, COALESCE(b.attempts, 0), ''
    FROM surveys s
    LEFT JOIN callbacks b ON b.id = s.callback_id
    LEFT JOIN customers c ON c.id = s.customer_id
    LEFT JOIN work_orders w ON w.id = s.work_order_id
    WHERE s.status = 'pending'
)
ORDER BY kind = 'survey', due_at, id
LIMIT ?
"""

SURVEY_SQL = """
SELECT s.id, s.status, s.phone, s.score, s.created_at, s.answered_at, s.handled_by,
       s.customer_id, c.name AS customer_name,
       w.number, w.type, w.description, w.closed_at, w.resolution
FROM surveys s
LEFT JOIN customers c ON c.id = s.customer_id
LEFT JOIN work_orders w ON w.id = s.work_order_id
WHERE s.id = ?
"""


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _no_such_task(kind: str, task_id: int) -> NotFound:
    return NotFound(f"no {kind} task {task_id}", error_id="no-such-task", kind=kind, id=task_id)


def _task_done(kind: str, task_id: int, status: str) -> ClientError:
    return ClientError(
        f"{kind} task {task_id} has already been dealt with ({status})",
        error_id="task-done",
        kind=kind,
        id=task_id,
        status=status,
    )


# ---------------------------------------------------------------- the list


class TasksParams(Params):
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


def _split_note(note: str) -> tuple[str, dict[str, Any]]:
    """The IVR stores a callback request's queue and account as JSON in `note`."""
    if note.startswith("{"):
        try:
            data = json.loads(note)
        except ValueError:
            return note, {}
        if isinstance(data, dict):
            return "", data
    return note, {}


@method("agent.tasks", roles=HOTLINE, params=TasksParams)
async def agent_tasks(ctx: Context, params: TasksParams) -> list[dict[str, Any]]:
    """Pending callbacks, then satisfaction surveys, each earliest due first."""
    now = iso(time.time())
    out = _rows(ctx.services.db.execute(TASKS_SQL, [params.limit]))
    for task in out:
        task["due"] = task["due_at"] <= now
        task["note"], task["details"] = _split_note(task["note"] or "")
    return out


# ---------------------------------------------------------------- surveys


class _Fill(dict):  # type: ignore[type-arg]
    """format_map helper: a placeholder the script names but we cannot fill stays visible."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _script(ctx: Context, number: str | None) -> dict[str, Any]:
    """The configured survey with `{site}` and `{number}` filled in."""
    script: dict[str, Any] = msgspec.to_builtins(console(ctx).survey)
    site = getattr(getattr(ctx.services.config, "site", None), "name", "")
    values = _Fill(site=site, number=number or "")
    for key in ("intro_zh", "intro_en", "closing_zh", "closing_en"):
        script[key] = script[key].format_map(values)
    return script


def _answers(ctx: Context, survey_id: int) -> dict[str, str]:
    return {
        question: answer
        for question, answer in ctx.services.db.execute(
            "SELECT question, answer FROM survey_answers WHERE survey_id = ? ORDER BY id",
            [survey_id],
        ).fetchall()
    }


class TaskParams(Params):
    id: RowId


@method("task.survey", roles=HOTLINE, params=TaskParams)
async def survey(ctx: Context, params: TaskParams) -> dict[str, Any]:
    """One satisfaction survey: the customer, the work order, the script to read, any answers."""
    found = _rows(ctx.services.db.execute(SURVEY_SQL, [params.id]))
    if not found:
        raise _no_such_task("survey", params.id)
    row = found[0]
    customer = None
    if row["customer_id"] is not None:
        customer = {"id": row["customer_id"], "name": row["customer_name"]}
    work_order = None
    if row["number"] is not None:
        work_order = {key: row[key] for key in
                      ("number", "type", "description", "closed_at", "resolution")}
    return {
        "id": row["id"],
        "status": row["status"],
        "phone": row["phone"],
        "score": row["score"],
        "created_at": row["created_at"],
        "answered_at": row["answered_at"],
        "handled_by": row["handled_by"],
        "customer": customer,
        "work_order": work_order,
        "script": _script(ctx, row["number"]),
        "answers": _answers(ctx, params.id),
    }


def check_answers(
    questions: list[Question], status: str, answers: dict[str, str]
) -> dict[str, str]:
    """The answers to store, in the script's order; raises ClientError naming the question.

    questions: the configured survey's questions. status: the outcome being saved ('answered'
    needs every score and yes/no question answered). answers: question id -> answer as sent.
    Blank text answers are dropped.
    """
    by_id = {q.id: q for q in questions}
    for question_id in answers:
        if question_id not in by_id:
            raise ClientError(
                f"the survey has no question {question_id!r}",
                error_id="unknown-question",
                question=question_id,
                known=list(by_id),
            )
    out: dict[str, str] = {}
    for q in questions:
        if q.id not in answers:
            continue
        value = answers[q.id].strip()
        allowed = SCORES if q.kind == "score" else YES_NO if q.kind == "yes_no" else None
        if allowed is not None and value not in allowed:
            raise ClientError(
                f"{value!r} is not an answer to question {q.id!r} (one of: {', '.join(allowed)})",
                error_id="bad-answer",
                question=q.id,
                value=value[:40],
                allowed=list(allowed),
            )
        if allowed is None and len(value) > MAX_TEXT:
            raise ClientError(
                f"the answer to question {q.id!r} is longer than {MAX_TEXT} characters",
                error_id="answer-too-long",
                question=q.id,
                max_length=MAX_TEXT,
            )
        if value:
            out[q.id] = value
    if status == "answered":
        missing = [q.id for q in questions if q.kind != "text" and q.id not in out]
        if missing:
            raise ClientError(
                f"an answered survey needs answers to: {', '.join(missing)}",
                error_id="answer-missing",
                questions=missing,
            )
    return out


class SurveySaveParams(Params):
    id: RowId
    status: Literal["answered", "no_answer", "refused"]
    answers: dict[QuestionId, str] = msgspec.field(default_factory=dict)


@method("task.survey_save", roles=HOTLINE, params=SurveySaveParams)
async def survey_save(ctx: Context, params: SurveySaveParams) -> dict[str, Any]:
    """Record a survey's outcome and answers (once: a survey no longer pending is `task-done`)."""
    questions = console(ctx).survey.questions
    answers = check_answers(questions, params.status, params.answers)
    score_question = next((q.id for q in questions if q.kind == "score"), None)
    score = int(answers[score_question]) if score_question in answers else None
    db = ctx.services.db
    me = ctx.session.username
    now = iso(time.time())
    with transaction(db):
        row = db.execute("SELECT status, callback_id FROM surveys WHERE id = ?",
                         [params.id]).fetchone()
        if row is None:
            raise _no_such_task("survey", params.id)
        if row[0] != "pending":
            raise _task_done("survey", params.id, row[0])
        db.execute(
            "UPDATE surveys SET status = ?, score = ?, answered_at = ?, handled_by = ? "
            "WHERE id = ?",
            [params.status, score, now, me, params.id],
        )
        for question, answer in answers.items():
            db.execute(
                "INSERT INTO survey_answers (survey_id, question, answer, at) VALUES (?, ?, ?, ?)",
                [params.id, question, answer, now],
            )
        if row[1] is not None:
            # The dialler's callback for this survey: reached ('done') unless nobody answered.
            db.execute(
                "UPDATE callbacks SET status = ?, result = ?, attempts = attempts + 1, "
                "handled_by = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'dialing')",
                ["failed" if params.status == "no_answer" else "done", params.status, me, now,
                 row[1]],
            )
        users.audit(db, ctx.session.actor, ctx.method, target=f"survey:{params.id}",
                    details={"status": params.status, "score": score})
    ctx.services.broker.publish(TOPIC, {"kind": "survey", "id": params.id,
                                        "status": params.status, "by": me})
    return {
        "id": params.id,
        "status": params.status,
        "score": score,
        "answered_at": now,
        "handled_by": me,
        "answers": answers,
    }


# ---------------------------------------------------------------- callbacks


class CallbackDoneParams(Params):
    id: RowId
    result: Literal["done", "failed", "cancelled"]
    note: Annotated[str, msgspec.Meta(max_length=MAX_TEXT)] = ""


@method("task.callback_done", roles=HOTLINE, params=CallbackDoneParams)
async def callback_done(ctx: Context, params: CallbackDoneParams) -> dict[str, Any]:
    """Record a callback's outcome: done, failed (could not reach them) or cancelled."""
    db = ctx.services.db
    me = ctx.session.username
    now = iso(time.time())
    with transaction(db):
        row = db.execute("SELECT status, kind FROM callbacks WHERE id = ?",
                         [params.id]).fetchone()
        if row is None or row[1] == "survey":  # a survey's callback closes with its survey
            raise _no_such_task("callback", params.id)
        if row[0] not in CALLBACK_OPEN:
            raise _task_done("callback", params.id, row[0])
        db.execute(
            "UPDATE callbacks SET status = ?, result = ?, attempts = attempts + 1, "
            "handled_by = ?, updated_at = ? WHERE id = ?",
            [params.result, params.note, me, now, params.id],
        )
        users.audit(db, ctx.session.actor, ctx.method, target=f"callback:{params.id}",
                    details={"result": params.result})
        attempts = db.execute("SELECT attempts FROM callbacks WHERE id = ?",
                              [params.id]).fetchone()[0]
    ctx.services.broker.publish(TOPIC, {"kind": "callback", "id": params.id,
                                        "status": params.result, "by": me})
    return {
        "id": params.id,
        "status": params.result,
        "result": params.note,
        "attempts": attempts,
        "handled_by": me,
        "updated_at": now,
    }
