"""The head office's typed errors, each mapped to one HTTP status of the terminal contract.

They subclass appliance.errors so a terminal-side caller and the head office share one
vocabulary (`code`, `where`), and the built-in they resemble (ValueError, PermissionError).
"""

from __future__ import annotations

from appliance.errors import ApplianceError, AuthenticationFailed, InputError, PermissionDenied


class Malformed(InputError):
    """The request body is not what the contract says; `where` names the field (HTTP 400)."""

    code = "malformed"
    status = 400


class TooLarge(Malformed):
    """The body, once unzipped, is bigger than one batch may be (HTTP 413): send smaller batches."""

    code = "too_large"
    status = 413


class Unauthorized(AuthenticationFailed):
    """Unknown or revoked device, or a signature that does not match (HTTP 401)."""

    code = "unauthorized"
    status = 401


class EnrollmentRefused(PermissionDenied):
    """The enrolment code is unknown or already used, or the device is already enrolled (HTTP 403)."""

    code = "enrollment_refused"
    status = 403


def http_status(error: ApplianceError) -> int:
    """The HTTP status for a head office error; anything else is the server's fault (500)."""
    return getattr(error, "status", 500)
