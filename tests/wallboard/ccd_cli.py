"""`ccd` with the wallboard and deploy commands, for tests run before the lead registers them:
    python -m tests.wallboard.ccd_cli --config site/ccd.toml wallboard --kiosk
"""

from __future__ import annotations

from ccd.cli.main import app, main
from ccd.cli_deploy import deploy_app
from tui.wallboard.cli import wallboard

if not any(c.name == "wallboard" for c in app.registered_commands):
    app.command("wallboard", help=wallboard.__doc__)(wallboard)
if not any(g.name == "deploy" for g in app.registered_groups):
    app.add_typer(deploy_app, name="deploy")

if __name__ == "__main__":
    main()
