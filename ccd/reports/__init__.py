"""Reports and the wallboard's numbers, computed from the ACD's stored events.

    rows.py        queue_events / agent_state_log rows as typed events (and back)
    intervals.py   local days and 15/30-minute intervals
    metrics.py     counters and figures: the conventions (short abandons, SL, ASA, AHT)
    aggregator.py  the incremental aggregator (no I/O): events in, statistics out
    records.py     the frozen records it answers with
    batch.py       a day's report through the same aggregator
    source.py      reading rows, queues, names, help requests, work orders (the only I/O)
    board.py       the wallboard's wire format: snapshots, deltas, alerts
    live.py        the daemon's live board: an aggregator kept up to date from new rows
    publisher.py   the daemon task pushing coalesced updates on topic 'wallboard'
    settings.py    the [wallboard] config section
"""
