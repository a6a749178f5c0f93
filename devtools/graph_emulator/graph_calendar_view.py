"""`GET /me/calendarView?startDateTime=&endDateTime=` (also `/me/calendar/calendarView` and under
`/users/{id}`): single events and series occurrences overlapping the window, in pages.

Window values without an offset are UTC (`Prefer: outlook.timezone` does not change how they are
read, as documented). Pages hold `$top` items (default 10, at most 1,000), or
`Prefer: odata.maxpagesize=N`; `@odata.nextLink` continues with `$skip`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from devtools.graph_emulator import prefer
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.event_views import answer_zone, applied, shown
from devtools.graph_emulator.graph_api import GRAPH_VERSION, GraphRequest, GraphRoutes
from devtools.graph_emulator.graph_calendar import CALENDAR_READ
from devtools.graph_emulator.mailboxes import mailboxes_of
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.time_zones import query_instant

DEFAULT_PAGE = 10
MAX_PAGE = 1000


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    mailboxes_of(state)
    for suffix in ("/calendarView", "/calendar/calendarView"):
        routes.add_for_user(suffix, calendar_view, ["GET"], self_scopes=CALENDAR_READ, mailbox=True)


def required_window(request: GraphRequest) -> tuple[datetime, datetime]:
    """`startDateTime` and `endDateTime` (names case-insensitive), which a view must have."""
    args = {k.lower(): v for k, v in request.http.args.items()}
    if not args.get("startdatetime") or not args.get("enddatetime"):
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    return (
        query_instant(args["startdatetime"], "StartDateTime"),
        query_instant(args["enddatetime"], "EndDateTime"),
    )


def calendar_view(request: GraphRequest, target: DirectoryUser) -> Response:
    zone_name = answer_zone(request)
    args = {k.lower(): v for k, v in request.http.args.items()}  # names are case-insensitive
    start, end = required_window(request)
    size, from_prefer = _page_size(request, args)
    skip = _count(args.get("$skip", "0"), "$skip")
    found = mailboxes_of(request.state).instances(target, start, end)
    select = request.select()
    context = f"{request.graph_base_url}/$metadata#users('{target.object_id}')/calendarView"
    body: dict[str, Any] = {
        "@odata.context": f"{context}({','.join(select)})" if select else context,
        "value": [shown(e, zone_name, select) for e in found[skip : skip + size]],
    }
    if skip + size < len(found):
        body["@odata.nextLink"] = _next_link(request, skip + size)
    headers = applied(request)
    if from_prefer:
        both = [headers.get("Preference-Applied"), f"{prefer.MAX_PAGE_SIZE}={size}"]
        headers = {"Preference-Applied": ", ".join(h for h in both if h)}
    return request.respond(body, headers=headers)


def _page_size(request: GraphRequest, args: dict[str, str]) -> tuple[int, bool]:
    """(page size, whether `odata.maxpagesize` chose it)."""
    if "$top" in args:
        return min(max(_count(args["$top"], "$top"), 1), MAX_PAGE), False
    wanted = request.prefer.max_page_size
    if wanted is not None:
        return min(wanted, MAX_PAGE), True
    return DEFAULT_PAGE, False


def _count(text: str, option: str) -> int:
    if not text.isdigit():
        raise GraphError(
            400,
            "BadRequest",
            f"Invalid value '{text}' for {option} query option found. The {option} query option "
            "requires a non-negative integer value.",
        )
    return int(text)


def _next_link(request: GraphRequest, skip: int) -> str:
    query = [(k, v) for k, v in request.http.args.items(multi=True) if k.lower() != "$skip"]
    path = request.http.path[len(GRAPH_VERSION) :]
    return f"{request.graph_base_url}{path}?{urlencode([*query, ('$skip', str(skip))])}"
