"""Method declarations: mistakes fail at import time; params are validated by their struct."""

from __future__ import annotations

import pytest

import ccd.api.server  # noqa: F401  (imports and registers every method)
from ccd.api.registry import (
    ANY_ROLE,
    PUBLIC,
    REGISTRY,
    NoParams,
    Params,
    Registry,
    RegistryError,
    Session,
)
from ccd.errors import ClientError


async def handler(ctx: object, params: object) -> None:
    return None


def test_a_method_without_roles_cannot_be_declared() -> None:
    registry = Registry()
    with pytest.raises(TypeError):
        registry.method("x")  # type: ignore[call-arg]
    with pytest.raises(RegistryError, match="declares no roles"):
        registry.method("x", roles=set())
    assert len(registry) == 0


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ({"admin", "root"}, "unknown roles"),
        ({PUBLIC, "admin"}, "cannot be mixed"),
        ({"superuser"}, "unknown roles"),
    ],
)
def test_bad_role_declarations_fail(roles: set[str], message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        Registry().method("x", roles=roles)


def test_handlers_must_be_async_and_names_unique() -> None:
    registry = Registry()

    def sync_handler(ctx: object, params: object) -> None:
        return None

    with pytest.raises(RegistryError, match="async def"):
        registry.method("x", roles={"admin"})(sync_handler)
    registry.method("y", roles={"admin"})(handler)
    with pytest.raises(RegistryError, match="twice"):
        registry.method("y", roles={"qa"})
    with pytest.raises(RegistryError, match="msgspec.Struct"):
        registry.method("z", roles={"qa"}, params=dict)  # type: ignore[arg-type]


def test_every_registered_method_declares_known_roles_and_a_struct() -> None:
    assert len(REGISTRY) >= 15
    for spec in REGISTRY:
        assert spec.roles, spec.name
        assert spec.roles <= ANY_ROLE | {PUBLIC}, spec.name
        assert spec.summary, f"{spec.name}: the handler needs a docstring"


def test_only_session_opening_methods_are_public() -> None:
    public = {spec.name for spec in REGISTRY if spec.public}
    assert public == {"hello", "ping", "login", "login_peer"}


def test_allows_checks_login_and_role_overlap() -> None:
    spec = REGISTRY.get("users.list")
    assert spec is not None
    assert not spec.allows(Session())
    assert not spec.allows(Session("ann", frozenset({"agent", "qa"}), "password"))
    assert spec.allows(Session("bob", frozenset({"agent", "admin"}), "password"))
    # Roles without a login (impossible in the server, but the check must not rely on it).
    assert not spec.allows(Session("eve", frozenset({"admin"}), ""))
    hello = REGISTRY.get("hello")
    assert hello is not None and hello.allows(Session())


class Sample(Params):
    name: str
    count: int = 1


def test_params_are_converted_strictly_with_clear_errors() -> None:
    registry = Registry()
    registry.method("sample", roles={"admin"}, params=Sample)(handler)
    spec = registry.get("sample")
    assert spec is not None
    assert spec.parse_params({"name": "x"}) == Sample(name="x", count=1)
    for raw, reason in [
        ({}, "missing required field `name`"),
        ({"name": "x", "count": "2"}, "Expected `int`, got `str`"),
        ({"name": "x", "cuont": 2}, "unknown field `cuont`"),
    ]:
        with pytest.raises(ClientError) as caught:
            spec.parse_params(raw)
        assert caught.value.error_id == "bad-params"
        assert reason in caught.value.details["reason"]
        assert caught.value.details["method"] == "sample"
    no_params = Registry()
    no_params.method("n", roles={"qa"})(handler)
    spec_n = no_params.get("n")
    assert spec_n is not None and spec_n.params is NoParams
    with pytest.raises(ClientError):
        spec_n.parse_params({"surprise": 1})


def test_near_names_for_did_you_mean() -> None:
    assert "status" in REGISTRY.near("statsu")
    assert REGISTRY.near("zzzzzzzz") == []
