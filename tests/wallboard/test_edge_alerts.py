"""The wallboard's words for the alerts of surge mode and of a trunk that is not registered."""

from __future__ import annotations

from types import SimpleNamespace

from ccd.reports.board import Alert
from tui.wallboard.catalogue import Texts
from tui.wallboard.views import alert_text

BOARD = SimpleNamespace(queues=[])


def test_surge_and_trunk_alerts_read_in_both_languages() -> None:
    surge = Alert("surge", "warn", "", 3.5, 14, 0.0)
    assert alert_text(surge, Texts("zh"), BOARD) == (  # type: ignore[arg-type]
        "来电激增：语音导航已切换到激增模式（每位在岗座席 3.5 位等待）")
    assert "surge mode (∞ waiting" in alert_text(  # type: ignore[arg-type]
        Alert("surge", "warn", "", None, 3), Texts("en"), BOARD)
    trunk = Alert("trunk", "warn", "telecom", None, 401, 0.0, text="Unauthorized")
    assert alert_text(trunk, Texts("en"), BOARD) == (  # type: ignore[arg-type]
        "Trunk telecom is not registered (401 Unauthorized)")
    assert "中继线 telecom 未注册" in alert_text(trunk, Texts("zh"), BOARD)  # type: ignore[arg-type]
