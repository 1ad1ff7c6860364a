"""`ccd` with the `agent` command, for tests run before the lead registers it:
    python -m tests.agent_console.ccd_cli --config site/ccd.toml agent
"""

from __future__ import annotations

from ccd.cli.main import app, main
from tui.agent.cli import agent

if not any(c.name == "agent" for c in app.registered_commands):
    app.command("agent", help=agent.__doc__)(agent)

if __name__ == "__main__":
    main()
