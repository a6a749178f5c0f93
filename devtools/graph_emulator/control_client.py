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

    def _call(self, method: str, path: str, body: Any = None) -> Any:
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
        tenant_id: str | None = None,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"path_prefix": path_prefix, "status": status}
        extra = (("count", count), ("retry_after", retry_after), ("method", method),
                 ("tenant_id", tenant_id))  # fmt: skip
        for key, value in extra:
            if value is not None:
                spec[key] = value
        return self._call("POST", "/faults", spec)

    def hold_answers(
        self, path_prefix: str, *, method: str | None = None, count: int | None = 1
    ) -> dict[str, Any]:
        """Matching requests are carried out; their answers wait for `release_answers`."""
        spec = {"path_prefix": path_prefix, "hold": True, "method": method, "count": count}
        return self._call("POST", "/faults", {k: v for k, v in spec.items() if v is not None})

    def drop_answers(
        self, path_prefix: str, *, method: str | None = None, count: int | None = 1
    ) -> dict[str, Any]:
        """Matching requests are carried out; their connections close without an answer."""
        spec = {"path_prefix": path_prefix, "drop": True, "method": method, "count": count}
        return self._call("POST", "/faults", {k: v for k, v in spec.items() if v is not None})

    def held_answers(self) -> int:
        return int(self._call("GET", "/faults")["held"])

    def release_answers(self, *, answer: bool = True) -> int:
        return int(self._call("POST", "/faults/release", {"answer": answer})["released"])

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

    def assignment(self, tenant_id: str, **changes: Any) -> dict[str, Any]:
        """The tenant's "Assignment required?" and who is assigned; `required`, `users` (UPNs,
        mails or ids), `groups` (ids) change it."""
        path = f"/tenants/{tenant_id}/assignment"
        return self._call("PATCH", path, changes) if changes else self._call("GET", path)

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

    def move_clock(self, move: str) -> dict[str, Any]:
        """`+8d`, `-1h`, ... (devtools.clock's moves); never before real time."""
        return self._call("POST", "/clock", {"move": move})

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/clock")

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read the settings, or change some: access_token_lifetime, redirect_uris,
        mailbox_limits={"concurrency", "requests", "window_seconds"},
        managed_identity_token_lifetime."""
        if changes:
            return self._call("PATCH", "/settings", changes)
        return self._call("GET", "/settings")

    def federated_credentials(
        self, replace_with: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """The app registration's federated identity credentials, or replace them with
        [{"name", "issuer_tenant_id", "subject", "audiences"}] (reset restores the seed's)."""
        if replace_with is not None:
            return self._call("PUT", "/app/federated-credentials", replace_with)["value"]
        return self._call("GET", "/app/federated-credentials")["value"]

    # --- people working in Outlook (control_outlook.py) ---------------------------------------

    def mailbox_events(self, person: str) -> list[dict[str, Any]]:
        """The mailbox's stored items (single events, series masters, meeting copies)."""
        return self._call("GET", f"/mailboxes/{person}/events")["value"]

    def create_outlook_event(
        self, person: str, subject: str, start: str, end: str, **fields: Any
    ) -> dict[str, Any]:
        """`start`/`end` wall-clock in `timeZone=` (default UTC); also location, showAs,
        sensitivity, isOnlineMeeting, body, recurrence, attendees=[{email, name}]."""
        body = {"subject": subject, "start": start, "end": end, **fields}
        return self._call("POST", f"/mailboxes/{person}/events", body)

    def edit_outlook_event(self, person: str, event_id: str, **changes: Any) -> dict[str, Any]:
        """start, end, timeZone, location, subject, isOnlineMeeting, showAs, sensitivity,
        recurrence. A series master's id edits the series, an occurrence's id that occurrence."""
        return self._call("PATCH", f"/mailboxes/{person}/events/{event_id}", changes)

    def delete_outlook_event(self, person: str, event_id: str) -> None:
        response = self._session.delete(
            f"{self._base}/mailboxes/{person}/events/{event_id}", timeout=self._timeout
        )
        if response.status_code >= 400:
            raise RuntimeError(f"control API DELETE event: {response.status_code} {response.text}")

    def series_instances(
        self, person: str, series_id: str, start: str, end: str
    ) -> list[dict[str, Any]]:
        """A series' occurrences and exceptions in [start, end) (ISO 8601, UTC by default)."""
        path = f"/mailboxes/{person}/events/{series_id}/instances?start={start}&end={end}"
        return self._call("GET", path)["value"]

    def online_meetings(self, person: str, **settings: Any) -> dict[str, Any]:
        """Read or change a mailbox's Teams set-up: allowed_providers ([] or
        ["teamsForBusiness"]), join_url_delay_seconds (None: the join URL is in the answer that
        creates the meeting)."""
        if settings:
            return self._call("PUT", f"/mailboxes/{person}/online-meetings", settings)
        return self._call("GET", f"/mailboxes/{person}/online-meetings")

    def respond_in_outlook(
        self,
        person: str,
        event_id: str,
        response: str,
        proposed_new_time: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """`response`: accepted | declined | tentativelyAccepted; `proposed_new_time`
        ({start, end, timeZone?}) with a tentative or declining answer, as Outlook proposes."""
        path = f"/mailboxes/{person}/events/{event_id}/respond"
        body: dict[str, Any] = {"response": response}
        if proposed_new_time is not None:
            body["proposedNewTime"] = proposed_new_time
        return self._call("POST", path, body)

    def add_attendee_in_outlook(
        self, organiser: str, event_id: str, email: str, name: str | None = None
    ) -> dict[str, Any]:
        body = {"email": email, **({"name": name} if name else {})}
        return self._call("POST", f"/mailboxes/{organiser}/events/{event_id}/attendees", body)

    def set_free_busy_sharing(self, person: str, level: str) -> None:
        """`level`: none | free_busy | limited (the default) | full."""
        self._call("PUT", f"/mailboxes/{person}/sharing", {"free_busy": level})

    def mailbox_changes(self, person: str, since: int = 0) -> list[dict[str, Any]]:
        """The mailbox's change feed after sequence number `since`."""
        return self._call("GET", f"/mailboxes/{person}/changes?since={since}")["value"]

    # --- change notifications, subscriptions, delta (control_sync.py) ----------------

    def flush_notifications(
        self, *, timeout_seconds: float = 30, horizon_seconds: float | None = None
    ) -> dict[str, Any]:
        """Wait until every deliverable notification was posted; `delivered` lists every
        notification item delivered since the reset."""
        body: dict[str, Any] = {"timeout_seconds": timeout_seconds}
        if horizon_seconds is not None:
            body["horizon_seconds"] = horizon_seconds
        return self._call("POST", "/notifications/flush", body)

    def notifications(self) -> dict[str, Any]:
        """The delivery log, the pending queue, modes, settings and endpoint health."""
        return self._call("GET", "/notifications")

    def clear_notification_log(self) -> None:
        self._call("DELETE", "/notifications")

    def hold_notifications(self) -> dict[str, Any]:
        return self._call("POST", "/notifications/hold")

    def release_notifications(self, *, shuffle: bool = False) -> dict[str, Any]:
        return self._call("POST", "/notifications/release", {"shuffle": shuffle})

    def duplicate_notifications(self, times: int) -> dict[str, Any]:
        return self._call("POST", "/notifications/duplicate", {"times": times})

    def shuffle_notifications(self, on: bool = True, seed: int | None = None) -> dict[str, Any]:
        return self._call("POST", "/notifications/shuffle", {"on": on, "seed": seed})

    def drop_notifications(self, on: bool = True) -> dict[str, Any]:
        return self._call("POST", "/notifications/drop", {"on": on})

    def notification_settings(self, **changes: Any) -> dict[str, Any]:
        """Read or change delivery settings (see control_sync.py for the names)."""
        if changes:
            return self._call("PATCH", "/notifications/settings", changes)
        return self._call("GET", "/notifications/settings")

    def subscriptions(self) -> list[dict[str, Any]]:
        return self._call("GET", "/subscriptions")["value"]

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._call("GET", f"/subscriptions/{subscription_id}")

    def forget_subscription(self, subscription_id: str) -> None:
        """Graph drops the subscription without telling anyone (a renewal then answers 404)."""
        response = self._session.delete(
            f"{self._base}/subscriptions/{subscription_id}", timeout=self._timeout
        )
        if response.status_code >= 400:
            raise RuntimeError(f"control API DELETE subscription: {response.status_code}")

    def lifecycle_event(self, subscription_id: str, event: str, **options: Any) -> dict[str, Any]:
        """`event`: reauthorizationRequired (grace_seconds=) | subscriptionRemoved |
        missed (drop_next=)."""
        return self._call(
            "POST", f"/subscriptions/{subscription_id}/lifecycle", {"event": event, **options}
        )

    def invalidate_delta_tokens(self, mailbox: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/delta/invalidate", {"mailbox": mailbox} if mailbox else {})
