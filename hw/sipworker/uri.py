"""Picking numbers out of SIP URIs and messages (plain text; used on both sides of the socket)."""

from __future__ import annotations

import re

_USER = re.compile(r"sips?:([^@;>\s]+)@")
_REQUEST_URI = re.compile(r"^[A-Z]+\s+(\S+)\s+SIP/2\.0", re.MULTILINE)


def user_of(uri: str) -> str:
    """'"Ann" <sip:1001@host>;tag=x' -> '1001'; '' when the URI has no user part."""
    match = _USER.search(uri)
    return match.group(1) if match else ""


def request_uri(message: str) -> str:
    """The request URI of a SIP request's start line."""
    match = _REQUEST_URI.search(message)
    return match.group(1) if match else ""
