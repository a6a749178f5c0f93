"""Domain failures that the HTTP layer turns into problem+json answers."""

from __future__ import annotations


class DomainError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.extra = extra


class BadRequest(DomainError):
    status, title = 400, "Bad request"


class Unauthorized(DomainError):
    status, title = 401, "Unauthorized"


class Forbidden(DomainError):
    status, title = 403, "Forbidden"


class NotFound(DomainError):
    status, title = 404, "Not found"


class Conflict(DomainError):
    status, title = 409, "Conflict"


class PreconditionFailed(DomainError):
    status, title = 412, "Precondition failed"


class PreconditionRequired(DomainError):
    status, title = 428, "Precondition required"


class Unavailable(DomainError):
    status, title = 503, "Service unavailable"


class UnreadableMessage(ValueError):
    """A queue message no retry can make sense of: it goes to the poison queue at once."""
