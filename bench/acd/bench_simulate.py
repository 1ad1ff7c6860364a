"""Simulated calls per second of wall time: the real ACD core and service on trio's MockClock.

Run: .venv/bin/python bench/acd/bench_simulate.py
"""

from __future__ import annotations

from ccd.acd.simulate import simulate

CASES = [
    # calls/h, AHT s, agents, hours, target s, patience s
    (200, 180, 14, 8, 20, None),  # the example, an 8-hour day
    (200, 180, 12, 8, 20, 120),  # understaffed, callers abandon
    (2000, 180, 110, 8, 20, None),  # a big hotline: 16,000 calls
]


def main() -> None:
    print(
        "calls/h  aht  agents  hours  patience  offered  SL(sim)  SL(erlang)  ASA(sim)  wall s  calls/wall s"
    )
    for cph, aht, agents, hours, target, patience in CASES:
        r = simulate(cph, aht, agents, hours, target, patience, seed=1)
        print(
            f"{cph:7d}  {aht:3d}  {agents:6d}  {hours:5d}  {str(patience):8s}  {r.offered:7d}  "
            f"{r.service_level:7.4f}  {r.erlang.service_level:10.4f}  {r.asa_s:8.2f}  "
            f"{r.wall_s:6.2f}  {r.calls_per_wall_second:12,.0f}"
        )


if __name__ == "__main__":
    main()
