"""Sign-ins in flight: a user connecting, or an admin granting consent, between the redirect to
Microsoft and its callback. Each is single use, short-lived and sealed (MSAL's flow holds the
PKCE verifier), and comes back only to one of the host app's own origins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shared.connections.repository import PendingSignIn, PendingSignInRepository
from shared.errors import ErrorCode, InvalidRequest
from shared.token_cipher import TokenCipher

SIGN_IN_LIFETIME = timedelta(minutes=10)
MAX_RETURN_URL = 2048
MAX_STATE = 512  # ours are 32 random bytes, base64url; a longer one is no key of ours


class SignInKind(StrEnum):
    CONNECT = "connect"
    ADMIN_CONSENT = "admin_consent"


@dataclass(frozen=True)
class SignInStarted:
    url: str  # where to send the browser
    expires_at: datetime


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
        sealed = self._cipher.seal(json.dumps(flow).encode(), _binding(state))
        self._pending.add(
            PendingSignIn(state, kind, org_id, user_id, return_url, sealed, expires_at)
        )
        return expires_at

    def take(self, state: str | None, kind: SignInKind) -> PendingSignIn:
        """The pending sign-in for a callback's state: once only (expired ones too, so that the
        caller can say so)."""
        if not state:
            raise InvalidRequest("The sign-in response has no state.", ErrorCode.INVALID_STATE)
        pending = self._pending.take(state) if len(state) <= MAX_STATE else None
        if pending is None or pending.kind != kind:
            raise InvalidRequest(
                "This sign-in link has already been used or is unknown; start again.",
                ErrorCode.INVALID_STATE,
            )
        return pending

    def expired(self, pending: PendingSignIn) -> bool:
        return self._clock() >= pending.expires_at

    def flow_of(self, pending: PendingSignIn) -> dict[str, Any]:
        flow: dict[str, Any] = json.loads(self._cipher.open(pending.flow, _binding(pending.state)))
        return flow

    def return_url(self, requested: str | None) -> str:
        """The host app's page to come back to; only the configured origins are allowed."""
        if not requested:
            return self._allowed_origins[0] + "/"
        try:
            parts = urlsplit(requested)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            parts = urlsplit("")
        origin = f"{parts.scheme}://{parts.netloc}"
        if (
            len(requested) > MAX_RETURN_URL
            or parts.scheme not in ("http", "https")
            or origin not in self._allowed_origins
        ):
            raise InvalidRequest(
                f"returnUrl must be on one of the host app's origins (at most {MAX_RETURN_URL} "
                "characters).",
                ErrorCode.RETURN_URL_NOT_ALLOWED,
            )
        return requested


def with_query(url: str, values: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    return urlunsplit(parts._replace(query=urlencode(query + list(values.items()))))


def _binding(state: str) -> str:
    return f"sign-in/{state}"
