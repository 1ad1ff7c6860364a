"""The agent and call state machines as tables: (state, input) -> next state.

`ccd.acd.core` looks every change up here; a pair that is not in a table is a request the state
does not allow (`BadAgentTransition` for agents, a bug for calls).
"""

from __future__ import annotations

import enum

from ccd.acd.model import AgentState


class AgentInput(enum.Enum):
    LOGIN = "login"
    LOGIN_READY = "login_ready"
    LOGOUT = "logout"
    READY = "ready"
    NOT_READY = "not_ready"
    OFFER = "offer"  # a caller (or a consultation) rings this agent
    ANSWER = "answer"
    NO_ANSWER = "no_answer"  # ring timeout or unreachable station
    WITHDRAW = "withdraw"  # the caller left, or another agent answered first
    HOLD = "hold"
    UNHOLD = "unhold"
    CALL_END = "call_end"
    TRANSFER = "transfer"
    CONSULT_END = "consult_end"
    WRAP_END = "wrap_end"
    WRAP_END_NOT_READY = "wrap_end_not_ready"


S = AgentState
I = AgentInput  # noqa: E741 - a table reads better with one-letter names

AGENT_TRANSITIONS: dict[tuple[AgentState, AgentInput], AgentState] = {
    (S.LOGGED_OUT, I.LOGIN): S.NOT_READY,
    (S.LOGGED_OUT, I.LOGIN_READY): S.READY,
    (S.NOT_READY, I.READY): S.READY,
    (S.NOT_READY, I.NOT_READY): S.NOT_READY,  # a new reason
    (S.NOT_READY, I.LOGOUT): S.LOGGED_OUT,
    (S.READY, I.NOT_READY): S.NOT_READY,
    (S.READY, I.LOGOUT): S.LOGGED_OUT,
    (S.READY, I.OFFER): S.RINGING,
    (S.RINGING, I.ANSWER): S.TALKING,
    (S.RINGING, I.NO_ANSWER): S.NOT_READY,  # reason 'missed'
    (S.RINGING, I.WITHDRAW): S.READY,
    (S.RINGING, I.NOT_READY): S.NOT_READY,  # the agent refused the call
    (S.RINGING, I.LOGOUT): S.LOGGED_OUT,
    (S.TALKING, I.HOLD): S.ON_HOLD,
    (S.ON_HOLD, I.UNHOLD): S.TALKING,
    (S.TALKING, I.CALL_END): S.WRAP_UP,
    (S.ON_HOLD, I.CALL_END): S.WRAP_UP,
    (S.TALKING, I.TRANSFER): S.WRAP_UP,
    (S.ON_HOLD, I.TRANSFER): S.WRAP_UP,
    (S.TALKING, I.CONSULT_END): S.READY,  # a consulted agent hangs up the consultation
    (S.WRAP_UP, I.WRAP_END): S.READY,
    (S.WRAP_UP, I.WRAP_END_NOT_READY): S.NOT_READY,
    (S.WRAP_UP, I.READY): S.READY,  # wrap-up ended early
    (S.WRAP_UP, I.NOT_READY): S.NOT_READY,
    (S.WRAP_UP, I.LOGOUT): S.LOGGED_OUT,
}


class CallPhase(enum.Enum):
    WAITING = "waiting"  # in a queue, no station ringing
    OFFERED = "offered"  # one or more stations ringing
    CONNECTED = "connected"  # talking to (or held by) an agent
    ENDED = "ended"


class CallInput(enum.Enum):
    OFFER = "offer"
    ANSWER = "answer"
    RETURN = "return"  # every ring failed: back to the queue, same place
    REQUEUE = "requeue"  # transferred to a queue
    TRANSFER_TO_AGENT = "transfer_to_agent"
    END = "end"


P = CallPhase
C = CallInput

CALL_TRANSITIONS: dict[tuple[CallPhase, CallInput], CallPhase] = {
    (P.WAITING, C.OFFER): P.OFFERED,
    (P.WAITING, C.END): P.ENDED,  # abandoned, callback, left, max wait
    (P.OFFERED, C.ANSWER): P.CONNECTED,
    (P.OFFERED, C.RETURN): P.WAITING,
    (P.OFFERED, C.END): P.ENDED,
    (P.CONNECTED, C.REQUEUE): P.WAITING,
    (P.CONNECTED, C.TRANSFER_TO_AGENT): P.OFFERED,
    (P.CONNECTED, C.END): P.ENDED,  # completed
}

# States in which an agent counts as staffing a queue (for expected-wait estimates).
STAFFED = frozenset({S.READY, S.RINGING, S.TALKING, S.ON_HOLD, S.WRAP_UP})
