"""ACD errors, each with a machine-readable id and details.

Split by who is at fault (STYLE.md): a request that is wrong in the current state or names an
unknown agent, queue or call comes from a client (an agent console, a team lead, the IVR) and is a
`ClientError` the socket layer reports; a bad queue definition is a `ConfigError`. Late or stale
telephony events (an answer after the caller left) are not errors: the core absorbs them.
"""

from __future__ import annotations

from ccd.errors import ClientError, ConfigError, NotFound


class NoSuchQueue(NotFound):
    error_id = "no-such-queue"


class NoSuchAgent(NotFound):
    error_id = "no-such-agent"


class NoSuchCall(NotFound):
    error_id = "no-such-call"


class BadQueueConfig(ConfigError):
    error_id = "bad-queue-config"


class BadAgentTransition(ClientError):
    """The agent's state does not allow this request (e.g. hold while ready)."""

    error_id = "bad-agent-transition"


class AgentNotAvailable(ClientError):
    """A transfer or consultation named an agent who is not ready."""

    error_id = "agent-not-available"


class StationInUse(ClientError):
    error_id = "station-in-use"


class DuplicateCall(ClientError):
    error_id = "duplicate-call"


class WrapUpRequired(ClientError):
    """The agent's queue requires a disposition code before the next call, and none was given
    for the call they are wrapping up (`agent.wrap_up` codes it; a team lead can override)."""

    error_id = "wrap-up-required"
