"""Microsoft Graph over `requests`: base URL from settings, immutable ids, throttling honoured.

Retries are bounded in count and in total wait, because callers answer a user's HTTP request;
past the budget the error says when to try again and the caller saves work for later. A call
made while a user waits passes `max_wait=0`: one attempt, and Graph's Retry-After goes to the
work item that tries again later instead of into a sleep.

An access token can be refused before the time MSAL's cache gives it (revoked sessions, a clock
that differs): with `renew_token`, a 401 is answered by one forced refresh and one more attempt.

`gate` holds one of the mailbox's concurrent slots around each attempt; `on_throttled` hears of
every Retry-After (429, 503) Graph answers, so the tenant's other work backs off too.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

import requests

from shared.graph.errors import GraphError
from shared.graph.headers import prefer_header
from shared.identity import trusting_session

logger = logging.getLogger(__name__)

_TIMEOUT_SECONDS = (5, 20)  # connect, read


class HttpSession(Protocol):
    """The transport: a requests.Session, or an in-memory Graph in unit tests."""

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = ...,
        json: Any = ...,
        headers: Mapping[str, str] | None = ...,
        timeout: tuple[float, float] = ...,
    ) -> requests.Response: ...


class GraphClient:
    def __init__(
        self,
        base_url: str,
        access_token: Callable[[], str],
        *,
        renew_token: Callable[[], str] | None = None,
        session: HttpSession | None = None,
        ca_bundle: str | None = None,
        max_attempts: int = 3,
        max_total_wait: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        gate: Callable[[], AbstractContextManager[None]] | None = None,
        on_throttled: Callable[[float], None] | None = None,
    ) -> None:
        self._gate = gate or nullcontext
        self._on_throttled = on_throttled
        self._base_url = base_url.rstrip("/")
        self._access_token = access_token
        self._renew_token = renew_token
        self._renewed: str | None = None
        self._renew_lock = threading.Lock()  # availability calls Graph from several threads
        self._session = session or trusting_session(ca_bundle)
        self._max_attempts = max_attempts
        self._max_total_wait = max_total_wait
        self._sleep = sleep

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        max_wait: float | None = None,
    ) -> dict[str, Any]:
        """The answer's JSON, or GraphError once retries are spent.

        `max_wait`: seconds this call may sleep between attempts (None: the client's budget;
        0: never, so a throttled call fails at once with its `retry_after`).
        """
        url = path if path.startswith("https://") else f"{self._base_url}/{path.lstrip('/')}"
        budget = self._max_total_wait if max_wait is None else max_wait
        waited = 0.0
        for attempt in range(1, self._max_attempts + 1):
            token = self._renewed or self._access_token()
            error = self._attempt(token, method, url, params, body, headers)
            if isinstance(error, GraphError):
                renewed = self._token_after_refusal(error, token)
                if renewed is not None:
                    error = self._attempt(renewed, method, url, params, body, headers)
            if isinstance(error, dict):
                return error
            throttled = error.status in (429, 503) and error.retry_after is not None
            if throttled and self._on_throttled is not None:
                self._on_throttled(error.retry_after or 0.0)
            if not error.transient or attempt == self._max_attempts:
                raise error
            delay = error.retry_after if error.retry_after is not None else 2 ** (attempt - 1)
            if waited + delay > budget:
                raise error
            logger.info("Graph %s %s: %s, retrying in %.1fs", method, path, error.status, delay)
            self._sleep(delay)
            waited += delay
        raise AssertionError("unreachable")

    def _token_after_refusal(self, error: GraphError, refused: str) -> str | None:
        """On Graph's 401, a freshly refreshed token: refreshed once in this client's life; a
        request refused while another thread refreshed gets that new token."""
        if error.status != 401:
            return None
        with self._renew_lock:
            if self._renewed is not None:
                return self._renewed if self._renewed != refused else None
            if self._renew_token is None:
                return None
            renew, self._renew_token = self._renew_token, None
            logger.info("Graph refused the access token (%s); refreshing it once", error.code)
            self._renewed = renew()
            return self._renewed

    def _attempt(
        self,
        token: str,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: Mapping[str, str] | None,
    ) -> dict[str, Any] | GraphError:
        request_headers = {
            "Authorization": f"Bearer {token}",
            **prefer_header(),
            "client-request-id": str(uuid.uuid4()),
            **(headers or {}),
        }
        try:
            with self._gate():
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers=request_headers,
                    timeout=_TIMEOUT_SECONDS,
                )
        except requests.RequestException as failure:
            return GraphError(0, "NetworkError", type(failure).__name__)
        if response.status_code < 400:
            return response.json() if response.content else {}
        return _error_from(response)


def _error_from(response: requests.Response) -> GraphError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    retry_after = response.headers.get("Retry-After")
    return GraphError(
        status=response.status_code,
        code=str(error.get("code", "")),
        message=str(error.get("message", response.reason)),
        retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        request_id=response.headers.get("request-id"),
    )
