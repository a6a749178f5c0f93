"""Helpers for the change-notification and delta tests: a Graph caller and bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

PREFER = 'outlook.timezone="UTC", IdType="ImmutableId"'
DAY = (datetime.now(UTC) + timedelta(days=5)).date()


@dataclass
class Graph:
    """One signed-in user calling the emulator's Graph over HTTPS."""

    http: requests.Session
    base: str  # https://127.0.0.1:<port>/v1.0
    token: str

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        url = path if path.startswith("https://") else f"{self.base}{path}"
        return self.http.request(
            method,
            url,
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {self.token}", "Prefer": PREFER, **(headers or {})},
            timeout=30,
        )

    def subscribe(self, receiver: Any, **overrides: Any) -> requests.Response:
        return self.call("POST", "/subscriptions", subscription_body(receiver, **overrides))

    def create_event(self, subject: str, hour: int = 9, day: Any = DAY, **extra: Any) -> dict:
        answer = self.call("POST", "/me/events", event_body(subject, hour, day, **extra))
        assert answer.status_code == 201, answer.text
        return answer.json()


def in_minutes(minutes: float, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def subscription_body(receiver: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": receiver.url("/notify"),
        "lifecycleNotificationUrl": receiver.url("/lifecycle"),
        "resource": "me/events",
        "expirationDateTime": in_minutes(60),
        "clientState": "secret-client-state",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def event_body(subject: str, hour: int = 9, day: Any = DAY, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{day}T{hour:02d}:30:00", "timeZone": "UTC"},
        **extra,
    }
