"""Telephony inside the daemon: the SIP driver, one task per call running the IVR, call records."""
