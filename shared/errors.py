"""What goes wrong, named for what it means, and the complete list of error codes.

Every error the HTTP API answers is application/problem+json with a `code` from ErrorCode, so a
frontend can switch on it; functions/problems.py is the one place that gives each code its HTTP
status. The exceptions, and what to catch:

    AppError                      `detail` (safe to show a user) and `code`
    ├── InvalidRequest            the request is malformed; the code names what is wrong
    ├── TooLarge                  a body beyond the size limits of shared/limits.py
    ├── Unauthenticated           no usable host-app token (invalid_token, token_expired)
    ├── AdminOnly                 only an organisation admin may do this
    ├── SignInNotYours            a sign-in is completed only by the user who started it
    ├── OrganiserOnly             only the conversation's organiser may do this
    ├── GuestNotAllowed           a guest added in Outlook may not add notes or actions
    ├── ConversationNotFound      no such conversation, or not the caller's
    ├── OccurrenceNotFound        the series has no such occurrence (or it was cancelled)
    ├── StaleVersion              changed since the caller read it, or while saving
    ├── ConversationCancelled     a cancelled conversation cannot change
    ├── ConversationUnreadable    its stored data is damaged: its organiser can only delete it
    ├── ConversationBusy          written by others again and again: try again
    ├── OutlookNotUsable          the user's Outlook cannot be used on their behalf now
    │   ├── OutlookSwitchedOff    the organisation switched the integration off
    │   ├── NotConnected          the user has not connected their calendar
    │   ├── ReconnectRequired     the user must connect their calendar again
    │   └── SignInUnavailable     the Microsoft identity platform cannot be reached now
    ├── OutlookUnavailable        Microsoft Graph failed for now; `retry_after` if it said
    ├── OutlookRefused            Microsoft Graph refused (its own code goes to the log only)
    ├── StorageUnavailable        the app's storage cannot be reached now; `retry_after`
    ├── NotConfigured             the app's settings or secrets are not usable
    └── InternalError             anything else: a bug

UnreadableMessage is apart: a queue message no retry can help, poisoned at once.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # The request (400)
    INVALID_JSON = "invalid_json"  # the body is not a JSON object
    UNKNOWN_FIELDS = "unknown_fields"  # the body has fields this endpoint does not take
    INVALID_SETTINGS = "invalid_settings"  # admin switches are not booleans
    INVALID_TENANT = "invalid_tenant"  # tenantId is not an Entra tenant id or domain
    INVALID_RETURN_URL = "invalid_return_url"  # returnUrl is not a string
    RETURN_URL_NOT_ALLOWED = "return_url_not_allowed"  # returnUrl is not on a host-app origin
    INVALID_STATE = "invalid_state"  # a sign-in's state or completion code: unknown or used
    INVALID_CONSENT_RESPONSE = "invalid_consent_response"  # neither granted nor an error
    TOO_MANY_ATTENDEES = "too_many_attendees"
    INVALID_KEY = "invalid_key"  # Idempotency-Key
    INVALID_TEXT = "invalid_text"  # a note's or an action's text
    INVALID_TYPE = "invalid_type"  # a conversation's type
    INVALID_TITLE = "invalid_title"
    TITLE_READ_ONLY = "title_read_only"
    EMPTY = "empty"  # a change that changes nothing
    INVALID_TIME = "invalid_time"  # start, end or timeZone of a conversation
    INVALID_ATTENDEES = "invalid_attendees"
    INVALID_LOCATION = "invalid_location"
    INVALID_RECURRENCE = "invalid_recurrence"
    INVALID_WINDOW = "invalid_window"  # start, end or timeZone of a query window
    INVALID_CURSOR = "invalid_cursor"  # `since` is not a cursor the change feed gave out
    INVALID_NOTIFICATION = "invalid_notification"  # a webhook body that is not Graph's shape
    # (422)
    KEY_REUSED = "key_reused"  # an Idempotency-Key sent before with a different body
    # (413)
    TOO_LARGE = "too_large"  # a body (or a webhook's notifications) beyond shared/limits.py
    # The caller (401, 403, 404)
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - missing, malformed, forged, or not for us
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a code, not a secret
    ADMIN_ONLY = "admin_only"
    SIGN_IN_NOT_YOURS = "sign_in_not_yours"  # another user (or organisation) started it
    ORGANISER_ONLY = "organiser_only"
    GUEST = "guest"
    DISABLED = "disabled"  # the organisation has not enabled Outlook calendar sync
    NOT_FOUND = "not_found"
    OCCURRENCE_NOT_FOUND = "occurrence_not_found"  # not an occurrence of the series (any more)
    # The state of things (409, 412)
    NOT_CONNECTED = "not_connected"
    RECONNECT_REQUIRED = "reconnect_required"
    CANCELLED = "cancelled"
    UNREADABLE = "unreadable"  # a conversation whose stored data cannot be read
    BUSY = "busy"
    STALE = "stale"
    # Outlook and the app itself (500, 502, 503)
    SIGN_IN_UNAVAILABLE = "sign_in_unavailable"
    OUTLOOK_UNAVAILABLE = "outlook_unavailable"
    OUTLOOK_REFUSED = "outlook_refused"
    STORAGE_UNAVAILABLE = "storage_unavailable"  # nothing was lost: try again after Retry-After
    NOT_CONFIGURED = "not_configured"
    INTERNAL_ERROR = "internal_error"


class AppError(Exception):
    code: ErrorCode  # each kind's own; InvalidRequest and Unauthenticated say which

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(AppError):
    def __init__(self, detail: str, code: ErrorCode) -> None:
        super().__init__(detail)
        self.code = code


class IdempotencyKeyReused(AppError):
    code = ErrorCode.KEY_REUSED


class TooLarge(AppError):
    code = ErrorCode.TOO_LARGE


class Unauthenticated(AppError):
    """The message is safe to show: it never echoes the token."""

    def __init__(self, detail: str, code: ErrorCode = ErrorCode.INVALID_TOKEN) -> None:
        super().__init__(detail)
        self.code = code


class AdminOnly(AppError):
    code = ErrorCode.ADMIN_ONLY


class SignInNotYours(AppError):
    code = ErrorCode.SIGN_IN_NOT_YOURS


class OrganiserOnly(AppError):
    code = ErrorCode.ORGANISER_ONLY


class GuestNotAllowed(AppError):
    code = ErrorCode.GUEST


class ConversationNotFound(AppError):
    code = ErrorCode.NOT_FOUND


class OccurrenceNotFound(AppError):
    code = ErrorCode.OCCURRENCE_NOT_FOUND


class StaleVersion(AppError):
    code = ErrorCode.STALE


class ConversationCancelled(AppError):
    code = ErrorCode.CANCELLED


class ConversationUnreadable(AppError):
    code = ErrorCode.UNREADABLE


class ConversationBusy(AppError):
    code = ErrorCode.BUSY


class OutlookNotUsable(AppError):
    """Why the user's Outlook cannot be used for them now; the work waits or is refused."""


class OutlookSwitchedOff(OutlookNotUsable):
    code = ErrorCode.DISABLED


class NotConnected(OutlookNotUsable):
    code = ErrorCode.NOT_CONNECTED


class ReconnectRequired(OutlookNotUsable):
    code = ErrorCode.RECONNECT_REQUIRED


class SignInUnavailable(OutlookNotUsable):
    code = ErrorCode.SIGN_IN_UNAVAILABLE


class OutlookUnavailable(AppError):
    code = ErrorCode.OUTLOOK_UNAVAILABLE

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class OutlookRefused(AppError):
    code = ErrorCode.OUTLOOK_REFUSED


class StorageUnavailable(AppError):
    code = ErrorCode.STORAGE_UNAVAILABLE

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NotConfigured(AppError):
    code = ErrorCode.NOT_CONFIGURED


class InternalError(AppError):
    code = ErrorCode.INTERNAL_ERROR


class UnreadableMessage(ValueError):
    """A queue message no retry can make sense of: it goes to the poison queue at once."""
