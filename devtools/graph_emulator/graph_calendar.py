"""`GET /me/calendar` (and `/users/{id}/calendar`): the user's default calendar in Outlook.

Connecting reads it to prove the mailbox is reachable through Graph; an on-premises mailbox answers
`MailboxNotEnabledForRESTAPI` (the pipeline's mailbox check). Events, calendarView and getSchedule
will hang their routes off the same user prefix in their own modules.
"""

from __future__ import annotations

import hashlib
from typing import Any

from werkzeug.wrappers import Response

from devtools.graph_emulator import odata, prefer
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.graph_api import GraphRequest, GraphRoutes
from devtools.graph_emulator.mailboxes import mailboxes_of
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.tokens import b64url

CALENDAR_READ = (
    "Calendars.ReadBasic",
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared",
)


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    routes.add_for_user("/calendar", get_calendar, ["GET"], self_scopes=CALENDAR_READ, mailbox=True)


def outlook_id(*parts: str) -> str:
    """A stable Outlook-looking id ("AAMkA...") for an item derived from `parts`."""
    return "AAMkA" + b64url(hashlib.sha256("/".join(parts).encode()).digest() * 2)


def calendar_resource(
    user: DirectoryUser, providers: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The default calendar; `providers`: the online meeting providers it allows (the person's
    in the directory unless the control API changed them)."""
    allowed = list(user.online_meeting_providers if providers is None else providers)
    return {
        "id": outlook_id(user.object_id, "calendar"),
        "name": "Calendar",
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": b64url(hashlib.sha256(f"{user.object_id}/calendar/v1".encode()).digest()),
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": allowed,
        "defaultOnlineMeetingProvider": allowed[0] if allowed else "unknown",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": {"name": user.display_name, "address": user.mail},
    }


def get_calendar(request: GraphRequest, target: DirectoryUser) -> Response:
    select = request.select()
    providers = mailboxes_of(request.state).online_meetings(target).providers
    body = odata.selected(calendar_resource(target, providers), select, "calendar")
    entity_set = f"users('{target.object_id}')/calendar"
    return request.respond(
        {"@odata.context": odata.context(request.graph_base_url, entity_set, select), **body},
        headers=request.prefer.applied(prefer.IMMUTABLE_ID),
    )
