"""How Graph answers with events: times in the zone `Prefer: outlook.timezone` names (UTC
otherwise), an `@odata.etag` from the change key, trimmed to `$select`."""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator import odata, prefer
from devtools.graph_emulator.graph_api import GraphRequest
from devtools.graph_emulator.time_zones import in_zone, instant, zone


def answer_zone(request: GraphRequest) -> str:
    """The zone answers are written in; an unknown name is Graph's 400, as for bodies."""
    name = request.prefer.outlook_timezone or "UTC"
    zone(name)
    return name


def shown(event: dict[str, Any], zone_name: str, select: list[str] | None) -> dict[str, Any]:
    body = {"@odata.etag": f'W/"{event["changeKey"]}"', **event}
    body["start"] = in_zone(instant(event["start"]), zone_name)
    body["end"] = in_zone(instant(event["end"]), zone_name)
    if any("proposedNewTime" in a for a in event.get("attendees", [])):
        body["attendees"] = [_attendee_in_zone(a, zone_name) for a in event["attendees"]]
    return odata.selected(body, select, "event")


def applied(request: GraphRequest) -> dict[str, str]:
    """`Preference-Applied` for the Outlook preferences the client sent."""
    return request.prefer.applied(prefer.OUTLOOK_TIMEZONE, prefer.IMMUTABLE_ID)


def _attendee_in_zone(attendee: dict[str, Any], zone_name: str) -> dict[str, Any]:
    slot = attendee.get("proposedNewTime")
    if slot is None:
        return attendee
    moved = {k: in_zone(instant(v), zone_name) for k, v in slot.items()}
    return {**attendee, "proposedNewTime": moved}
