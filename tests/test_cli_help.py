"""Every `ccd` command has --help, and every leaf command's help shows examples."""

import typer
from typer.testing import CliRunner

from ccd.cli.main import app

runner = CliRunner()


def walk(group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from walk(command, (*path, name))


def test_top_level_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("init", "run", "status", "users", "db", "config", "flows", "prompts", "wo",
                 "kb", "customers", "wfm", "simulate"):
        assert f" {name} " in result.output, name


def test_every_command_has_help_with_examples():
    root = typer.main.get_command(app)
    leaves = [(path, cmd) for path, cmd in walk(root) if not hasattr(cmd, "commands")]
    assert len(leaves) > 20
    missing = []
    for path, _ in leaves:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        if "Example" not in result.output:
            missing.append(" ".join(path))
    assert not missing, f"commands whose --help has no examples: {missing}"
