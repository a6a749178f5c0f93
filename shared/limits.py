"""Every limit on what the app takes in, in one place; the OpenAPI description lists them.

Beyond a limit the answer is a 4xx problem+json with a code, never a 500, and nothing is stored:
a body too large is 413 `too_large`, anything else 400 with the code of the field at fault (or
401 for a token). Each limit keeps what is stored readable and every storage key under Azure
Tables' 1 KiB, in any time zone.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, Final

from shared.errors import ErrorCode, InvalidRequest, TooLarge

# --- bodies -----------------------------------------------------------------------------------
# A conversation with 100 attendees of the longest names and a recurrence is under 80 KB.
MAX_BODY_BYTES: Final = 256 * 1024  # every JSON API body
MAX_JSON_DEPTH: Final = 16  # nesting of objects and arrays; a conversation needs 4
MAX_SIGN_IN_ANSWER_BYTES: Final = 64 * 1024  # Microsoft's form_post: a code, state, client_info
MAX_SIGN_IN_FIELDS: Final = 20

# --- who calls (the host app's token) -----------------------------------------------------------
# Azure Tables keys hold 1 KiB of UTF-16: 512 characters. table_key escapes a character of
# "/\\#?%|" as three, so the longest key, org|user|"series", stays within them when ids do.
MAX_KEY_CHARS: Final = 512
MAX_HOST_ID: Final = 80  # `sub`, `org`, an attendee's `userId`
MAX_EMAIL: Final = 320  # the longest address RFC 5321 allows
MAX_NAME: Final = 255  # display names

# --- time -------------------------------------------------------------------------------------
# Every instant taken in lies between these, in UTC: Azure Tables keeps dates from 1601 and the
# SDK reads back only years from 1000; a day's margin at either end keeps every local time (up
# to 14 hours from UTC) and a day-long conversation inside years 1900 to 9999, where Graph and
# Python's datetime work too.
EARLIEST: Final = datetime(1900, 1, 2, tzinfo=UTC)
LATEST: Final = datetime(9999, 12, 30, tzinfo=UTC)
LATEST_DATE: Final = date(9999, 12, 29)  # a recurrence's endDate
MAX_ZONE_NAME: Final = 64  # the longest IANA name is about 30 characters
MAX_LIST_DAYS: Final = 366  # GET /conversations
MAX_AVAILABILITY_DAYS: Final = 61  # getSchedule needs under 62 days

# --- conversations ------------------------------------------------------------------------------
MAX_ID: Final = 100  # conversation ids are UUIDs; a longer one is no id of ours
MAX_TITLE: Final = 255
MAX_LOCATION: Final = 255
MAX_RECORD_TEXT: Final = 4000  # a note or an action
MAX_ATTENDEES: Final = 100
MAX_IDEMPOTENCY_KEY: Final = 128  # printable ASCII: escaped, it still fits a storage key

# --- availability -----------------------------------------------------------------------------
MAX_ATTENDEES_QUERY: Final = 4000  # `attendees=`: 100 host-app ids with room to spare
MAX_ATTENDEE_NAME: Final = 320  # an email address; a user id is MAX_HOST_ID

# --- sign-in ----------------------------------------------------------------------------------
MAX_RETURN_URL: Final = 2048
MAX_STATE: Final = 128  # states and completion codes: base64url, ours 43 characters, MSAL's 22

# --- Graph's webhooks ---------------------------------------------------------------------------
# Graph batches a few notifications per POST (its docs name no maximum; an item is under 1 KB):
# a thousand is far above what it sends, and bounds what one anonymous POST can make the app do.
MAX_WEBHOOK_BODY_BYTES: Final = 1024 * 1024
MAX_NOTIFICATIONS_PER_POST: Final = 1000
MAX_SUBSCRIPTION_ID: Final = 128  # Graph's are GUIDs (36)
MAX_CLIENT_STATE: Final = 128  # Graph's own limit
MAX_VALIDATION_TOKEN: Final = 4096  # echoed at the subscription handshake (Graph's are short)
# Subscriptions made before clientStates were signed can only be checked against storage: at
# most this many uncached lookups per POST (each subscription is cached once seen).
MAX_LEGACY_LOOKUPS_PER_POST: Final = 10


def parse_json(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The JSON value of a request body: TooLarge beyond `max_bytes`, InvalidRequest
    (`invalid_json`) when it is not JSON or nests deeper than MAX_JSON_DEPTH."""
    if len(body) > max_bytes:
        raise TooLarge(f"The request body is larger than {max_bytes} bytes.")
    try:
        value = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting
        raise InvalidRequest(
            "The request body is not valid JSON.", ErrorCode.INVALID_JSON
        ) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise InvalidRequest(
            f"The request body nests deeper than {MAX_JSON_DEPTH} levels.", ErrorCode.INVALID_JSON
        )
    return value


def within_time_range(moment: datetime) -> bool:
    return EARLIEST <= moment <= LATEST


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
    return deepest
