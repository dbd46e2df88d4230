"""Typed errors shared by every layer: each says what was wrong, where, and carries a code.

Errors also subclass the matching built-in (ValueError, LookupError, PermissionError) so
callers that only know Python's exceptions still catch them sensibly.
"""

from __future__ import annotations


class ApplianceError(Exception):
    """Base of every error the appliance raises on purpose.

    `where` names the place (file:line, config key, field) so a merchant or technician
    can find and fix it; `code` is stable for scripts and logs.
    """

    code = "error"

    def __init__(self, message: str, *, where: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(ApplianceError, ValueError):
    """The configuration file (or a key in it) is wrong."""

    code = "config"


class InputError(ApplianceError, ValueError):
    """Bad input from outside: a barcode, a CSV row, an amount typed by a person."""

    code = "input"


class DomainError(ApplianceError):
    """A business rule refuses the action; state is unchanged."""

    code = "refused"


class NotFound(DomainError, LookupError):
    """A product, receipt, operator or voucher that does not exist."""

    code = "not_found"


class PermissionDenied(DomainError, PermissionError):
    """The operator's role does not allow the action (a supervisor may approve it)."""

    code = "permission"


class AuthenticationFailed(DomainError, PermissionError):
    """Wrong operator code or PIN, or the operator is locked out."""

    code = "auth"


class StoreError(ApplianceError):
    """The local database is missing, unreadable or inconsistent."""

    code = "store"


class JournalBroken(StoreError):
    """The hash-chained journal does not verify; `seq` is the first bad entry."""

    code = "journal"

    def __init__(self, message: str, *, seq: int | None):
        super().__init__(message, where=f"journal seq {seq}" if seq is not None else "journal")
        self.seq = seq
