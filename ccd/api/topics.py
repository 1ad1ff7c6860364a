"""Who may subscribe to which event topic: every topic declares its roles, like every method.

A topic not listed here is refused (`unknown-topic`): new topics are closed until declared.
'agent.<username>' carries one agent's offers (caller numbers), state and help answers: the agent
themself, team leads and admins. Admins may subscribe to everything.
"""

from __future__ import annotations

from ccd.acd.store import AGENT_TOPIC, QUEUE_TOPIC, agent_topic
from ccd.api.registry import ANY_ROLE, Session
from ccd.errors import CcdError, Forbidden

HOTLINE = frozenset({"agent", "teamlead", "admin"})
SUPERVISORS = frozenset({"teamlead", "admin"})
WATCHERS = frozenset({"teamlead", "admin", "qa"})

TOPIC_ROLES: dict[str, frozenset[str]] = {
    "wallboard": WATCHERS,  # the whole floor: every agent, caller numbers waiting
    QUEUE_TOPIC: SUPERVISORS,  # every queue event, with caller numbers
    AGENT_TOPIC: SUPERVISORS,  # every agent's state changes
    "help": SUPERVISORS,  # agents' help requests and their texts
    "tasks": HOTLINE,  # callback and survey tasks the hotline works
    "wo.timer": ANY_ROLE,  # work-order reminders and escalations (any staff may read orders)
}
AGENT_PREFIX = "agent."


def roles_for(topic: str, session: Session) -> frozenset[str] | None:
    """The roles that may subscribe to `topic` (None: no such topic)."""
    if topic in TOPIC_ROLES:
        return TOPIC_ROLES[topic]
    if topic.startswith(AGENT_PREFIX):
        return SUPERVISORS
    return None


def check(topic: str, session: Session) -> None:
    """Raise unless `session` may receive events on `topic`."""
    if session.via == "password" and topic == agent_topic(session.username):
        return  # one's own console topic
    roles = roles_for(topic, session)
    if roles is None:
        raise CcdError(f"no event topic named {topic!r}", error_id="unknown-topic", topic=topic,
                       known=sorted(TOPIC_ROLES) + ["agent.<username>"])
    if "admin" in session.roles or roles & session.roles:
        return
    raise Forbidden(
        f"your roles ({', '.join(sorted(session.roles))}) may not subscribe to {topic!r}",
        error_id="forbidden-topic", target=topic, topic=topic, roles=sorted(roles),
    )
