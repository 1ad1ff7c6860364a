"""Errors of workforce-management computations, each with a machine-readable id and details."""

from __future__ import annotations

from ccd.errors import CcdError


class BadLoad(CcdError):
    """A load or staffing question that has no answer (negative calls, zero AHT, ...)."""

    error_id = "bad-load"


class BadVolumes(CcdError):
    """A volumes CSV that cannot be read; details name the file and the line."""

    error_id = "bad-volumes"


class NoStaffing(CcdError):
    """No number of agents up to the search limit meets the target."""

    error_id = "no-staffing"
