"""A typed client for the emulator's control API, for tests, benchmarks and dev scripts.

control = EmulatorControl(emulator.base_url, emulator.ca_file)
control.reset()
control.add_fault("/v1.0/me", status=429, count=2, retry_after=1)
control.refresh_tokens("adele.vance@contoso.com", "revoke")
control.graph_requests()  # the Graph requests answered so far
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests


def trusting_session(ca_file: Path | str) -> requests.Session:
    """A session that trusts exactly the emulator's CA.

    `trust_env` is off because requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the
    environment override a session's `verify`; that would replace the emulator's CA.
    """
    session = requests.Session()
    session.verify = str(ca_file)
    session.trust_env = False
    return session


class EmulatorControl:
    def __init__(self, base_url: str, ca_file: Path | str, timeout: float = 10) -> None:
        self._base = base_url.rstrip("/") + "/_emulator"
        self._session = trusting_session(ca_file)
        self._timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._session.request(
            method, self._base + path, json=body, timeout=self._timeout
        )
        if response.status_code >= 400:
            raise RuntimeError(f"control API {method} {path}: {response.status_code} "
                               f"{response.text}")  # fmt: skip
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/reset")

    def directory(self) -> dict[str, Any]:
        return self._call("GET", "/directory")

    def add_fault(
        self,
        path_prefix: str,
        status: int,
        *,
        count: int | None = None,
        retry_after: int | None = None,
        method: str | None = None,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"path_prefix": path_prefix, "status": status}
        for key, value in (("count", count), ("retry_after", retry_after), ("method", method)):
            if value is not None:
                spec[key] = value
        return self._call("POST", "/faults", spec)

    def set_latency(self, milliseconds: int) -> None:
        self._call("POST", "/faults", {"latency_ms": milliseconds})

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def refresh_tokens(self, user: str, action: str) -> dict[str, Any]:
        """`action`: expire | revoke | withdraw_consent."""
        return self._call("POST", f"/users/{user}/refresh-tokens", {"action": action})

    def next_sign_in(self, user: str, outcome: str | None) -> None:
        """`outcome`: consent_declined | admin_approval_required | server_error | None."""
        self._call("POST", f"/users/{user}/next-sign-in", {"outcome": outcome})

    def next_admin_consent(self, tenant_id: str, outcome: str) -> None:
        """`outcome`: granted | declined."""
        self._call("POST", f"/tenants/{tenant_id}/next-admin-consent", {"outcome": outcome})

    def set_user_consent_allowed(self, tenant_id: str, allowed: bool) -> None:
        self._call("PATCH", f"/tenants/{tenant_id}", {"user_consent_allowed": allowed})

    def consents(self) -> dict[str, Any]:
        return self._call("GET", "/consents")

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/requests")["requests"]

    def graph_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["area"] == "graph"]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "/clock", {"advance_seconds": seconds})

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read the settings, or change some: access_token_lifetime, redirect_uris,
        mailbox_limits={"concurrency", "requests", "window_seconds"}."""
        if changes:
            return self._call("PATCH", "/settings", changes)
        return self._call("GET", "/settings")
