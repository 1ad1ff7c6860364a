"""The agent console (`ccd agent`): see tui/agent/app.py."""
