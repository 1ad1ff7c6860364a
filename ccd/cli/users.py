"""`ccd users`: accounts and roles, through the daemon (so the daemon checks who may)."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer

from ccd.cli.context import connect

app = typer.Typer(help="Users and their roles (agent, teamlead, qa, admin).", no_args_is_help=True)

ROLES_HELP = "Role: agent, teamlead, qa or admin (repeatable)."


def _password(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass("again: ") != first:
        raise typer.BadParameter("the two passwords differ")
    return first


@app.command("add")
def add(
    ctx: typer.Context,
    username: str,
    role: Annotated[list[str], typer.Option("--role", "-r", help=ROLES_HELP)],
    name: Annotated[str, typer.Option(help="Display name, e.g. 王芳.")] = "",
    agent_number: Annotated[str, typer.Option(help="Agent number (工号).")] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Add a user.

    Examples:

      ccd users add wangfang --role agent --name 王芳 --agent-number 1001

      echo s3cret | ccd users add lead1 -r teamlead -r agent --password-stdin
    """
    password = _password("password", password_stdin)
    with connect(ctx) as client:
        user = client.call(
            "users.add",
            username=username,
            password=password,
            roles=role,
            display_name=name,
            agent_number=agent_number or None,
        )
    typer.echo(f"added {user.get('username', username)}")


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List users with their roles.

    Examples:

      ccd users list

      ccd users list --json
    """
    with connect(ctx) as client:
        users = client.call("users.list")
    if as_json:
        typer.echo(json.dumps(users, ensure_ascii=False))
        return
    for u in users:
        flag = " (disabled)" if u.get("disabled") else ""
        typer.echo(
            f"{u['username']:<16} {u.get('display_name', ''):<10} "
            f"{','.join(u.get('roles', [])):<24}{flag}"
        )


@app.command("passwd")
def passwd(
    ctx: typer.Context,
    username: str,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Set a user's password.

    Examples:

      ccd users passwd wangfang
    """
    password = _password("new password", password_stdin)
    with connect(ctx) as client:
        client.call("users.passwd", username=username, password=password)
    typer.echo(f"password of {username} changed")


@app.command("disable")
def disable(ctx: typer.Context, username: str) -> None:
    """Disable a user: they can no longer log in; their history stays.

    Examples:

      ccd users disable wangfang
    """
    with connect(ctx) as client:
        client.call("users.disable", username=username)
    typer.echo(f"{username} disabled")


@app.command("roles")
def roles(
    ctx: typer.Context,
    username: str,
    role: Annotated[list[str], typer.Option("--role", "-r", help=ROLES_HELP)],
) -> None:
    """Replace a user's roles.

    Examples:

      ccd users roles wangfang -r agent -r teamlead
    """
    with connect(ctx) as client:
        client.call("users.set_roles", username=username, roles=role)
    typer.echo(f"{username}: {', '.join(role)}")
