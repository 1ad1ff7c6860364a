"""Work orders (工单): the closed loop from a caller's report to the customer being told.

lifecycle.py is the state machine (no I/O), calendar.py and deadlines.py the business-time
rules, sampling.py the satisfaction sample; service.py and queries.py do the SQL; scheduler.py
chases deadlines (a trio service); daemon.py wires them into `ccd run`.

Kept free of imports so `ccd.config` can import `ccd.workorders.settings` at its top.
"""
