"""Work-order errors: each has a machine-readable `error_id` and details (socket `code`, CLI exit 1).

Messages are English for logs and the CLI; screens show `catalogue.error_text(error_id, lang)`.
"""

from __future__ import annotations

from ccd.errors import CcdError, ClientError, Forbidden, NotFound


class WorkOrderError(CcdError):
    error_id = "wo-error"


class IllegalTransition(ClientError, WorkOrderError):
    """An event the work order's status does not allow (closing a work order twice)."""

    error_id = "wo-illegal-transition"


class NoteRequired(ClientError, WorkOrderError):
    error_id = "wo-note-required"


class DepartmentRequired(ClientError, WorkOrderError):
    error_id = "wo-department-required"


class UnknownDepartment(ClientError, WorkOrderError):
    error_id = "wo-unknown-department"


class UnknownType(ClientError, WorkOrderError):
    error_id = "wo-unknown-type"


class BadValue(ClientError, WorkOrderError):
    error_id = "wo-bad-value"


class NoSuchWorkOrder(NotFound, WorkOrderError):
    error_id = "no-such-work-order"


class HotlineOnly(Forbidden, WorkOrderError):
    """A hotline step (dispatch, close, cancel, 驳回) by back-office staff, or by a member of the
    work order's own department."""

    error_id = "wo-hotline-only"


class NotYourDepartment(Forbidden, WorkOrderError):
    """A department action by a user who is not a member of the work order's department."""

    error_id = "wo-not-your-department"
