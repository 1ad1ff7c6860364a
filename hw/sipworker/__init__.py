"""SIP media worker: one pjsua2 endpoint in its own process, driven over a socketpair.

Worker process side (imports pjsua2; runs only inside `python -m hw.sipworker --fd N ...`):
`worker` (the one-thread loop and command handlers), `endpoint` (config, transports, accounts),
`legs` (Call subclass and per-leg state), `media` (players, recorders, bridges, spy, hold),
`dtmf` (ordered sending), `pjutil` (the guards: callbacks, pj.Error, GC, ctypes limits).

Shared plain data (no pjsua2, no I/O): `protocol` (commands, events, framing), `admission`
(call/rate caps, peers, follow-up room), `wav` (prompt checks), `uri`, `options` (ports and argv).

Daemon side (trio, no pjsua2): `link` (one worker process and its socket) and `channel`
(`SipChannel`, a leg as an hw.base.Channel). The supervisor is `hw.sip.SipDriver`.
"""
