"""Sign-ins in flight: a user connecting, or an admin granting consent, from the redirect to
Microsoft until the host app completes it with the same user's token.

Two single-use, short-lived, sealed steps, both in the `authstates` table:

1. `begin` remembers who started the sign-in under its OAuth `state` (MSAL's flow holds the PKCE
   verifier) and where to send the browser back (only one of the host app's own origins).
2. Microsoft's answer comes back to the callback in whatever browser signed in, which may not be
   the starter's. The callback `park`s the answer, unredeemed, under a new one-time completion
   code that the browser carries back to the host app. Only the host-app user (and organisation)
   who started the sign-in can `redeem` it, with their own bearer token: a person who opens
   someone else's sign-in link links nothing to that someone.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shared.caller import Caller
from shared.connections.repository import PendingSignIn, PendingSignInRepository
from shared.errors import ErrorCode, InvalidRequest, SignInNotYours
from shared.limits import MAX_RETURN_URL, MAX_STATE
from shared.token_cipher import TokenCipher

SIGN_IN_LIFETIME = timedelta(minutes=10)
# What a state (ours or MSAL's) or a completion code looks like: anything else is none of ours,
# and is refused without a storage read.
_STATE = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_STATE}}}")
# The host app's page completes at once on load; Entra's authorization codes live about 10
# minutes (v2-oauth2-auth-code-flow), so a parked answer is worth nothing much later anyway.
COMPLETION_LIFETIME = timedelta(minutes=5)


class SignInKind(StrEnum):
    CONNECT = "connect"  # a user connecting their calendar: state -> the starter
    ADMIN_CONSENT = "admin_consent"  # an admin granting tenant-wide consent: state -> the admin
    CONNECT_ANSWER = "connect_answer"  # Microsoft's answer, waiting for the starter to complete
    CONSENT_ANSWER = "consent_answer"  # the consent answer, waiting for the admin to complete


@dataclass(frozen=True)
class SignInStarted:
    url: str  # where to send the browser
    expires_at: datetime


@dataclass(frozen=True)
class ParkedAnswer:
    """Microsoft's answer, redeemed by the user who started the sign-in."""

    org_id: str
    user_id: str
    values: dict[str, Any] | None  # None: it waited too long, nothing may be done with it


class SignIns:
    def __init__(
        self,
        *,
        pending: PendingSignInRepository,
        cipher: TokenCipher,
        allowed_origins: tuple[str, ...],
        clock: Callable[[], datetime],
    ) -> None:
        self._pending = pending
        self._cipher = cipher
        self._allowed_origins = allowed_origins
        self._clock = clock

    def begin(
        self,
        kind: SignInKind,
        *,
        state: str,
        org_id: str,
        user_id: str,
        return_url: str,
        flow: dict[str, Any],
    ) -> datetime:
        """Remember the sign-in until its callback; returns when it expires."""
        expires_at = self._clock() + SIGN_IN_LIFETIME
        self._add(kind, state, org_id, user_id, return_url, flow, expires_at)
        return expires_at

    def take(self, state: str | None, kind: SignInKind) -> PendingSignIn:
        """The pending sign-in for a callback's state: once only (expired ones too, so that the
        caller can say so)."""
        if not state:
            raise InvalidRequest("The sign-in response has no state.", ErrorCode.INVALID_STATE)
        pending = self._pending.take(state, kind) if _STATE.fullmatch(state) else None
        if pending is None:
            raise InvalidRequest(
                "This sign-in link has already been used or is unknown; start again.",
                ErrorCode.INVALID_STATE,
            )
        return pending

    def expired(self, pending: PendingSignIn) -> bool:
        return self._clock() >= pending.expires_at

    def flow_of(self, pending: PendingSignIn) -> dict[str, Any]:
        return self._open(pending)

    def park(self, pending: PendingSignIn, kind: SignInKind, values: dict[str, Any]) -> str:
        """Keep Microsoft's answer for the user who started `pending`; the one-time code the
        browser carries back to the host app, which completes it with that user's token."""
        code = secrets.token_urlsafe(32)
        expires_at = self._clock() + COMPLETION_LIFETIME
        self._add(kind, code, pending.org_id, pending.user_id, "", values, expires_at)
        return code

    def redeem(self, code: object, kind: SignInKind, caller: Caller) -> ParkedAnswer:
        """The parked answer, once: InvalidRequest when the code is unknown or used,
        SignInNotYours when the caller is not who started the sign-in (the code is spent)."""
        if not isinstance(code, str):
            raise InvalidRequest(
                "code is the completion code the sign-in sent back.", ErrorCode.INVALID_STATE
            )
        parked = self.take(code, kind)
        if (parked.org_id, parked.user_id) != (caller.org_id, caller.user_id):
            raise SignInNotYours(
                "This sign-in was started by someone else: nothing was connected. Start again "
                "from your own account."
            )
        if self.expired(parked):
            return ParkedAnswer(parked.org_id, parked.user_id, None)
        return ParkedAnswer(parked.org_id, parked.user_id, self._open(parked))

    def return_url(self, requested: str | None) -> str:
        """The host app's page to come back to; only the configured origins are allowed."""
        if not requested:
            return self._allowed_origins[0] + "/"
        try:
            parts = urlsplit(requested)
            usable = (
                len(requested) <= MAX_RETURN_URL
                and requested.isascii()
                and requested.isprintable()
                and parts.scheme in ("http", "https")
                and f"{parts.scheme}://{parts.netloc}" in self._allowed_origins
            )
        except ValueError:  # an unclosed IPv6 bracket, a netloc that changes under NFKC
            usable = False
        if not usable:
            raise InvalidRequest(
                "returnUrl must be an address on one of the host app's origins, in ASCII "
                f"(percent-encoded), of at most {MAX_RETURN_URL} characters.",
                ErrorCode.RETURN_URL_NOT_ALLOWED,
            )
        return requested

    def _add(
        self,
        kind: SignInKind,
        key: str,
        org_id: str,
        user_id: str,
        return_url: str,
        values: dict[str, Any],
        expires_at: datetime,
    ) -> None:
        sealed = self._cipher.seal(json.dumps(values).encode(), _binding(key))
        self._pending.add(PendingSignIn(key, kind, org_id, user_id, return_url, sealed, expires_at))

    def _open(self, pending: PendingSignIn) -> dict[str, Any]:
        values: dict[str, Any] = json.loads(
            self._cipher.open(pending.flow, _binding(pending.state))
        )
        return values


def with_query(url: str, values: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    return urlunsplit(parts._replace(query=urlencode(query + list(values.items()))))


def _binding(key: str) -> str:
    """What a sealed sign-in is bound to: its one key, a random string of ours."""
    return f"sign-in/{key}"
