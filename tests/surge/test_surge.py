"""Surge mode: the detector fed by hand, and the service on trio's MockClock."""

from __future__ import annotations

import math

import trio
import trio.testing

from ccd.ivr.surge import Load, SurgeDetector, SurgeSettings, check
from ccd.telephony.surge import SurgeService, wallboard_alert

SETTINGS = SurgeSettings(on_waiting_per_agent=3, off_waiting_per_agent=1.5,
                         on_expected_wait_s=300, off_expected_wait_s=120, min_on_s=60,
                         sample_s=5)


def test_switches_on_at_either_threshold_and_off_only_when_both_are_calm() -> None:
    d = SurgeDetector(SETTINGS, 0.0)
    assert d.update(1, Load(waiting=5, staffed=2, expected_wait_s=100)) is None  # 2.5 a head
    on = d.update(2, Load(waiting=6, staffed=2, expected_wait_s=100))  # 3 a head
    assert on is not None and on.on and on.reason == "waiting_per_agent" and on.since == 2
    # Calm by agents but the expected wait is still long: stays on.
    assert d.update(100, Load(waiting=2, staffed=2, expected_wait_s=200)) is None
    # Both calm but surge has lasted 59 s of the 60 s minimum... it is 98 s here, so off.
    off = d.update(101, Load(waiting=2, staffed=2, expected_wait_s=100))
    assert off is not None and not off.on and off.reason == "calm"
    d2 = SurgeDetector(SETTINGS, 0.0)
    assert d2.update(0, Load(waiting=1, staffed=1, expected_wait_s=300)).reason == "expected_wait"


def test_minimum_duration_and_hysteresis_prevent_flapping() -> None:
    d = SurgeDetector(SETTINGS, 0.0)
    assert d.update(10, Load(6, 2, None)) is not None
    assert d.update(20, Load(0, 2, None)) is None  # calm after 10 s: too soon
    assert d.update(69, Load(0, 2, None)) is None
    assert d.update(70, Load(0, 2, None)) is not None  # 60 s after it went on
    assert d.update(71, Load(5, 2, None)) is None  # 2.5 a head: under on, above off: stays off


def test_no_agent_staffed_is_a_surge_as_soon_as_someone_waits() -> None:
    assert Load(1, 0, None).waiting_per_agent == math.inf
    assert Load(0, 0, None).waiting_per_agent == 0
    d = SurgeDetector(SETTINGS, 0.0)
    assert d.update(1, Load(0, 0, None)) is None  # nobody staffed, nobody waiting: calm
    state = d.update(2, Load(1, 0, None))
    assert state is not None and state.on
    alert = wallboard_alert(state, 1000.0)
    assert alert is not None and alert.kind == "surge" and alert.value is None


def test_disabled_never_switches_and_bad_settings_are_named() -> None:
    d = SurgeDetector(SurgeSettings(enabled=False), 0.0)
    assert d.update(1, Load(100, 1, 9999)) is None
    assert check(SurgeSettings(on_waiting_per_agent=1, off_waiting_per_agent=2)) == (
        "off_waiting_per_agent", "must not be above on_waiting_per_agent")
    assert check(SurgeSettings(sample_s=0))[0] == "sample_s"  # type: ignore[index]
    assert check(SurgeSettings()) is None


async def test_the_service_switches_at_the_sampled_thresholds_on_a_mock_clock(
        autojump_clock: trio.testing.MockClock) -> None:
    t0 = trio.current_time()
    timeline = [  # (from time, load): a surge builds at 30 s and ebbs at 200 s
        (0, Load(2, 2, 30)), (30, Load(7, 2, 200)), (200, Load(1, 2, 60)),
    ]
    changes: list[tuple[float, bool]] = []

    def load_now() -> Load:
        now = trio.current_time() - t0
        return [load for start, load in timeline if now >= start][-1]

    service = SurgeService(SETTINGS, load_now,
                           lambda s: changes.append((trio.current_time() - t0, s.on)))
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await trio.sleep(300)
        nursery.cancel_scope.cancel()
    # Samples every 5 s: on at the first sample at or after 30 s; off at the first sample at or
    # after 200 s (calm, and on for more than min_on_s = 60 s).
    assert changes == [(30, True), (200, False)]
    assert service.status()["switches"] == 2 and not service.on
