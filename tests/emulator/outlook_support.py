"""Helpers for the Outlook calendar tests: people calling Graph as the app does, and bodies.

Fixtures here are imported by the test modules that use them (`from ... import as_person`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from devtools.demo_directory import Person
from devtools.graph_emulator.control_client import trusting_session
from devtools.graph_emulator.server import GraphEmulator
from tests.emulator.conftest import Identity

# Exactly what the app sends: one Prefer header, comma-separated.
PREFER = 'outlook.timezone="UTC", IdType="ImmutableId"'


@dataclass
class Outlook:
    """One signed-in person calling the emulator's Graph over HTTPS."""

    http: requests.Session
    base: str  # https://127.0.0.1:<port>/v1.0
    token: str

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        prefer: str | None = PREFER,
    ) -> requests.Response:
        url = path if path.startswith("https://") else f"{self.base}{path}"
        headers = {"Authorization": f"Bearer {self.token}", "client-request-id": "test-1"}
        if prefer:
            headers["Prefer"] = prefer
        return self.http.request(method, url, json=body, params=params, headers=headers, timeout=30)

    def create(self, **overrides: Any) -> dict[str, Any]:
        answer = self.call("POST", "/me/events", event_body(**overrides))
        assert answer.status_code == 201, answer.text
        return answer.json()

    def view(
        self, start: str, end: str, *, prefer: str | None = PREFER, **params: str
    ) -> requests.Response:
        window = {"startDateTime": start, "endDateTime": end}
        return self.call("GET", "/me/calendarView", params={**window, **params}, prefer=prefer)

    def schedule(self, schedules: list[str], start: str, end: str, **extra: Any) -> Any:
        body = {
            "schedules": schedules,
            "startTime": {"dateTime": start, "timeZone": "UTC"},
            "endTime": {"dateTime": end, "timeZone": "UTC"},
            "availabilityViewInterval": 60,
            **extra,
        }
        return self.call("POST", "/me/calendar/getSchedule", body)


def event_body(
    subject: str = "Weekly check-in",
    start: str = "2026-06-01T09:00:00",
    end: str = "2026-06-01T09:30:00",
    zone: str = "GMT Standard Time",
    attendees: list[Person] = (),  # type: ignore[assignment]
    **extra: Any,
) -> dict[str, Any]:
    """A body shaped like the app's create (html body, Windows zone names, required attendees)."""
    return {
        "subject": subject,
        "body": {"contentType": "html", "content": "<p>Open it in <a href='x'>the app</a></p>"},
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        "attendees": [
            {"emailAddress": {"address": p.mail, "name": p.display_name}, "type": "required"}
            for p in attendees
        ],
        "location": {"displayName": "Room 4.01"},
        "isOnlineMeeting": False,
        "allowNewTimeProposals": False,
        **extra,
    }


def teams() -> dict[str, Any]:
    return {
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
        "location": {"displayName": "Microsoft Teams Meeting"},
    }


# Access tokens per emulator and person: signing in once is enough (a reset keeps them valid).
_TOKENS: dict[tuple[str, str], str] = {}


@pytest.fixture
def as_person(emulator: GraphEmulator) -> Iterator[Callable[[Person], Outlook]]:
    session = trusting_session(emulator.ca_file)

    def outlook(person: Person) -> Outlook:
        key = (emulator.base_url, person.key)
        if key not in _TOKENS:
            _, result = Identity(emulator, session).sign_in(str(person.user_principal_name))
            _TOKENS[key] = result["access_token"]
        return Outlook(session, emulator.graph_base_url, _TOKENS[key])

    yield outlook
    session.close()
