"""The API's methods: each one declares its name, the roles allowed to call it and its params.

    @method("status", roles=ANY_ROLE)
    async def status(ctx: Context, params: NoParams) -> dict: ...

    class AddParams(Params):
        username: str

    @method("users.add", roles={"admin"}, params=AddParams)
    async def add(ctx: Context, params: AddParams) -> User: ...

The server checks the roles before a handler runs (refusals are `forbidden` and audited), turns
the request's params into the declared struct (mistakes are `bad-params`), and awaits
`handler(ctx, params)`; its return value (anything msgspec can encode) is the reply's result.
A method without roles, with unknown roles or with a sync handler fails at import time.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ccd.errors import ClientError

if TYPE_CHECKING:
    from ccd.api.auth import PeerCred
    from ccd.api.server import ApiServer, Connection, Services

ROLES = ("agent", "teamlead", "qa", "admin", "backoffice")
Role = Literal["agent", "teamlead", "qa", "admin", "backoffice"]
# Callable before logging in (only `hello`, `login`, `login_peer`, `ping` should be).
PUBLIC = "public"
ANY_ROLE = frozenset(ROLES)


class RegistryError(Exception):
    """A method was declared wrongly: a bug in our code, raised at import time."""


class Params(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base for method params: unknown fields are refused, so typos do not pass silently."""


class NoParams(Params):
    pass


@dataclass(frozen=True)
class Session:
    """Who a connection is logged in as. `via` is 'password' or 'peer'; empty before login."""

    username: str = ""
    roles: frozenset[str] = frozenset()
    via: str = ""
    user_id: int | None = None
    display_name: str = ""
    language: str = ""
    peer: PeerCred | None = None

    @property
    def logged_in(self) -> bool:
        return bool(self.via)

    @property
    def actor(self) -> str:
        """The name written to the audit log for what this session does."""
        return self.username if self.logged_in else "anonymous"


@dataclass
class Context:
    """What a handler gets besides its params.

    session: the caller. services: the daemon's services (see server.Services). connection: the
    caller's connection, for login/logout/subscribe. server: the API server (statistics).
    """

    session: Session
    services: Services
    connection: Connection
    server: ApiServer
    method: str


Handler = Callable[[Context, Any], Awaitable[Any]]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    roles: frozenset[str]
    params: type[msgspec.Struct]
    handler: Handler
    summary: str = ""

    @property
    def public(self) -> bool:
        return PUBLIC in self.roles

    def allows(self, session: Session) -> bool:
        """Whether `session` may call this method (a public method: anyone)."""
        return self.public or (session.logged_in and bool(self.roles & session.roles))

    def parse_params(self, raw: dict[str, Any]) -> Any:
        """The request's params as this method's struct; raises ClientError `bad-params`."""
        try:
            return msgspec.convert(raw, self.params)
        except msgspec.ValidationError as exc:
            raise ClientError(
                f"bad parameters for {self.name!r}: {exc}",
                error_id="bad-params",
                method=self.name,
                reason=str(exc),
            ) from None


@dataclass
class Registry:
    _methods: dict[str, MethodSpec] = field(default_factory=dict)

    def method(
        self,
        name: str,
        *,
        roles: Iterable[str],
        params: type[msgspec.Struct] = NoParams,
    ) -> Callable[[Handler], Handler]:
        """Declare the decorated async function as API method `name`.

        roles: who may call it: any of 'agent', 'teamlead', 'qa', 'admin', or {PUBLIC} alone.
        params: the msgspec struct the request's params must convert to.
        """
        declared = frozenset([roles] if isinstance(roles, str) else roles)
        unknown = declared - set(ROLES) - {PUBLIC}
        if not declared:
            raise RegistryError(f"API method {name!r} declares no roles")
        if unknown:
            raise RegistryError(f"API method {name!r} declares unknown roles {sorted(unknown)}")
        if PUBLIC in declared and len(declared) > 1:
            raise RegistryError(f"API method {name!r}: PUBLIC cannot be mixed with roles")
        if not (isinstance(params, type) and issubclass(params, msgspec.Struct)):
            raise RegistryError(f"API method {name!r}: params must be a msgspec.Struct class")
        if name in self._methods:
            raise RegistryError(f"API method {name!r} is declared twice")

        def register(handler: Handler) -> Handler:
            if not inspect.iscoroutinefunction(handler):
                raise RegistryError(f"API method {name!r}: the handler must be `async def`")
            doc = inspect.getdoc(handler) or ""
            self._methods[name] = MethodSpec(
                name, declared, params, handler, doc.splitlines()[0] if doc else ""
            )
            return handler

        return register

    def get(self, name: str) -> MethodSpec | None:
        return self._methods.get(name)

    def near(self, name: str) -> list[str]:
        """Declared names close to `name`, for 'did you mean' hints."""
        return difflib.get_close_matches(name, list(self._methods), n=3, cutoff=0.6)

    def copy(self) -> Registry:
        """A registry with the same methods, to extend without touching this one (tests)."""
        return Registry(dict(self._methods))

    def __iter__(self) -> Iterator[MethodSpec]:
        return iter(sorted(self._methods.values(), key=lambda spec: spec.name))

    def __len__(self) -> int:
        return len(self._methods)


REGISTRY = Registry()
method = REGISTRY.method
