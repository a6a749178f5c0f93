"""Two sequences the sync model found (issue 12), kept as plain tests: a weekly series moved to
another week, once in Outlook and once from the host app. Graph's recurrenceRange.startDate
"must be the same value as the start property of the recurring event" (recurrencerange
resource), so the app's series and Outlook's must keep start and startDate together."""

from datetime import timedelta
from typing import Any

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from tests.model.machine import _iso, _wall, at, graph_time
from tests.model.stack import ModelStack, next_monday_morning


def weekly(stack: ModelStack, app: HostApp, days: int, count: int) -> dict[str, Any]:
    first = stack.now() + timedelta(days=days)
    start, end = at(first, 15)
    answer = app.call("POST", "conversations", MANAGER, json={
        "type": "check_in", "title": "Check-in", "timeZone": "UTC", "start": start, "end": end,
        "attendees": [{"email": EMPLOYEE_ALEX.mail, "userId": EMPLOYEE_ALEX.host_user_id}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1,
                        "daysOfWeek": [first.strftime("%A").lower()]},
            "range": {"type": "numbered", "startDate": str(first.date()),
                      "numberOfOccurrences": count},
        },
    })  # fmt: skip
    assert answer.status_code == 201, answer.text
    stack.drain()
    return dict(answer.json())


def master(stack: ModelStack, conversation: dict[str, Any]) -> dict[str, Any]:
    (event,) = [
        e
        for e in stack.control.mailbox_events(MANAGER.mail)
        if e["id"] == conversation["outlook"]["eventId"]
    ]
    return event


def starts_in_outlook(stack: ModelStack, conversation: dict[str, Any]) -> list[str]:
    now = stack.now()
    occurrences = stack.control.series_instances(
        MANAGER.mail, conversation["outlook"]["eventId"], _iso(now), _iso(now + timedelta(60))
    )
    return sorted(graph_time(o["start"]).isoformat() for o in occurrences)


def starts_listed(stack: ModelStack, app: HostApp, conversation: dict[str, Any]) -> list[str]:
    now = stack.now()
    window = {"start": _wall(now), "end": _wall(now + timedelta(60)), "timeZone": "UTC"}
    listed = app.call("GET", "conversations", MANAGER, params=window).json()["value"]
    return sorted(
        o["start"] for c in listed if c["id"] == conversation["id"] for o in c["occurrences"]
    )


def test_a_series_moved_a_week_later_in_outlook_moves_its_start_date_in_the_app(
    model_stack: ModelStack,
) -> None:
    app = model_stack.fresh_world(next_monday_morning)
    conversation = weekly(model_stack, app, days=10, count=3)
    event = master(model_stack, conversation)
    later = graph_time(event["start"]) + timedelta(weeks=1)
    start, end = at(later, 15)
    recurrence = event["recurrence"]
    model_stack.control.edit_outlook_event(
        MANAGER.mail, event["id"], start=start, end=end,
        recurrence={**recurrence, "range": {**recurrence["range"], "startDate": str(later.date())}},
    )  # fmt: skip
    model_stack.drain()

    shown = app.call("GET", f"conversations/{conversation['id']}", MANAGER).json()
    assert graph_time(shown["start"]) == later.replace(hour=15, minute=0, second=0, microsecond=0)
    assert shown["recurrence"]["range"]["startDate"] == str(later.date())


def test_a_series_moved_a_week_earlier_by_the_host_app_moves_in_outlook(
    model_stack: ModelStack,
) -> None:
    app = model_stack.fresh_world(next_monday_morning)
    conversation = weekly(model_stack, app, days=13, count=4)
    earlier = graph_time(conversation["start"]) - timedelta(weeks=1)
    start, end = at(earlier, 14)

    answer = app.call("PATCH", f"conversations/{conversation['id']}", MANAGER,
                      json={"start": start, "end": end, "timeZone": "UTC"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    model_stack.drain(timer=True)

    assert starts_in_outlook(model_stack, conversation) == starts_listed(
        model_stack, app, conversation
    )
    assert master(model_stack, conversation)["recurrence"]["range"]["startDate"] == str(
        earlier.date()
    )
