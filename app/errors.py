"""Errors a user can cause, raised by services and turned into pages or form messages by the web layer."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors that services raise on purpose."""


class ValidationFailed(DomainError):
    """A form's fields were refused; `errors` maps each faulty field to its message (in French)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class NotFound(DomainError):
    """The object does not exist for this user (another tenant's objects included: no leak)."""


class Forbidden(DomainError):
    """The user may see the object but their role does not allow this write."""


class RateLimited(DomainError):
    """Too many attempts in the window; `retry_after` in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
