"""Hypothesis over everything that reads outside input: each parser either takes the input or
refuses it with a problem the API answers (4xx), never another exception (a 500); and what the
conversation parsers take can be stored and read back (issue 13, findings 2 and 5).

Seeded (derandomize) with a fixed budget, so `make test` runs the same cases every time; the
schemathesis contract test (tests/e2e/test_contract_e2e.py) fuzzes the running app's every
operation and both webhooks on top of this.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.availability.service import attendees_asked
from shared.caller import HostTokenVerifier
from shared.conversations.requests import (
    parse_change,
    parse_new_conversation,
    parse_record_text,
    parse_window_query,
)
from shared.errors import InvalidRequest, TooLarge, Unauthenticated, UnreadableMessage
from shared.limits import parse_json
from shared.sync.notifications import NotificationKind
from tests.unit.world import ADELE, World

BUDGET = settings(
    max_examples=150,
    derandomize=True,
    database=None,  # nothing kept between runs: each run is the seed's alone
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REFUSALS = (InvalidRequest, TooLarge)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

# Values near what the parsers check: edges of the calendar, of every range, and zones.
YEARS = st.sampled_from([1, 999, 1000, 1899, 1900, 1901, 2026, 9998, 9999])
ZONES = st.sampled_from(
    ["UTC", "Europe/London", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12", "Europe",
     "Mars/Olympus", "", "x" * 70]
)  # fmt: skip


@st.composite
def moments(draw: Any) -> str:
    year, month, day = draw(YEARS), draw(st.integers(1, 12)), draw(st.integers(1, 31))
    hour = draw(st.integers(0, 23))
    offset = draw(st.sampled_from(["", "Z", "+14:00", "-12:00", "+05:30"]))
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00:00{offset}"


patterns = st.fixed_dictionaries(
    {"type": st.sampled_from(["daily", "weekly", "absoluteMonthly", "relativeMonthly",
                              "absoluteYearly", "relativeYearly", "funday"])},
    optional={
        "interval": st.integers(-1, 101) | json_values,
        "daysOfWeek": st.lists(st.sampled_from(["monday", "sunday", "funday"]), max_size=3),
        "dayOfMonth": st.integers(-1, 33),
        "month": st.integers(-1, 14),
        "index": st.sampled_from(["first", "last", "fifth"]),
        "firstDayOfWeek": st.sampled_from(["monday", "funday"]),
    },
)  # fmt: skip
ranges = st.fixed_dictionaries(
    {"type": st.sampled_from(["noEnd", "endDate", "numbered", "sometimes"])},
    optional={
        "endDate": st.sampled_from(["0999-01-01", "2026-12-01", "2027-06-30", "9999-12-31",
                                    "20271231"]),
        "numberOfOccurrences": st.integers(-1, 1001),
    },
)  # fmt: skip
conversations = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["check_in", "Check In", ""]) | st.text(max_size=70),
        "title": st.text(max_size=300),
        "start": moments() | json_values,
        "end": moments() | json_values,
        "timeZone": ZONES | json_values,
    },
    optional={
        "attendees": st.lists(
            st.fixed_dictionaries(
                {"email": st.sampled_from(["alex@contoso.test", "x", "a" * 330 + "@x.io"])},
                optional={"userId": st.text(max_size=90), "name": st.text(max_size=260)},
            )
            | json_values,
            max_size=3,
        ),
        "location": st.fixed_dictionaries(
            {"kind": st.sampled_from(["none", "text", "teams", "zoom"])},
            optional={"text": st.text(max_size=260)},
        ),
        "recurrence": st.fixed_dictionaries({"pattern": patterns, "range": ranges}) | json_values,
        "extra": json_values,
    },
)


@BUDGET
@given(st.binary(max_size=2000) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_body_is_json_within_the_limits_or_refused(body):
    try:
        parse_json(body)
    except REFUSALS:
        pass


@BUDGET
@given(conversations)
def test_a_conversation_taken_is_stored_read_back_and_listed(body):
    try:
        new = parse_new_conversation(body)
    except InvalidRequest:
        return
    world = World()
    world.switch()
    created = world.app.conversations.create(ADELE.caller, new, None).conversation
    assert world.app.conversations.get(ADELE.caller, created.id).id == created.id
    window = parse_window_query(
        {"start": created.start.isoformat(), "end": created.end.isoformat()}, max_days=366
    )
    world.clock.now = min(created.start, datetime(9999, 1, 1, tzinfo=UTC))
    listed = [c.conversation.id for c in world.app.conversations.in_window(ADELE.caller, window)]
    if new.recurrence is None:
        assert listed == [created.id]
    else:  # a series' first occurrence may fall after its start (weekly on another day)
        assert listed in ([created.id], [])


@BUDGET
@given(st.dictionaries(st.sampled_from(["start", "end", "timeZone", "location", "title", "x"]),
                       moments() | ZONES | json_values, max_size=4))  # fmt: skip
def test_a_change_is_taken_or_refused(body):
    try:
        parse_change(body)
    except InvalidRequest:
        pass


@BUDGET
@given(
    st.dictionaries(st.sampled_from(["start", "end", "timeZone"]), moments() | ZONES | st.text())
)
def test_a_window_query_is_taken_or_refused(params):
    try:
        parse_window_query(params, max_days=366)
    except InvalidRequest:
        pass


@BUDGET
@given(st.text(max_size=5000))
def test_an_attendees_query_is_taken_or_refused(raw):
    try:
        attendees_asked(raw)
    except InvalidRequest:
        pass


@BUDGET
@given(json_values)
def test_a_note_is_taken_or_refused(body):
    try:
        parse_record_text(body if isinstance(body, dict) else {"text": body})
    except InvalidRequest:
        pass


@BUDGET
@given(st.text(max_size=3000))
def test_a_return_url_is_taken_only_on_the_host_apps_origin(requested):
    sign_ins = World().app.sign_ins
    try:
        taken = sign_ins.return_url(requested)
    except InvalidRequest:
        return
    assert taken == sign_ins.return_url(None) or taken.startswith("https://people.test/")


@BUDGET
@given(
    st.fixed_dictionaries(
        {"iss": st.just("https://people.test"), "aud": st.just("calendar-sync"),
         "exp": st.just(4102444800)},
        optional={"sub": json_values | st.text(max_size=200), "org": json_values,
                  "email": json_values, "name": json_values, "roles": json_values},
    )
)  # fmt: skip
def test_any_claims_make_a_caller_or_are_refused(claims):
    secret = "a-host-app-secret-that-is-long-enough"
    verifier = HostTokenVerifier(issuer=claims["iss"], audience=claims["aud"], secret=secret)
    token = jwt.encode(claims, secret, algorithm="HS256")
    try:
        caller = verifier.verify(f"Bearer {token}")
    except Unauthenticated:
        return
    assert 0 < len(caller.user_id) <= 80
    assert 0 < len(caller.org_id) <= 80


@BUDGET
@given(st.binary(max_size=3000) | json_values.map(lambda v: json.dumps({"value": v}).encode()))
def test_any_webhook_body_is_queued_dropped_or_refused(body):
    inbox = World().app.webhooks
    try:
        inbox.accept(body, NotificationKind.CHANGE)
    except REFUSALS:
        pass


@BUDGET
@given(st.text(max_size=500) | json_values.map(json.dumps))
def test_any_queue_message_is_handled_or_unreadable(text):
    world = World()
    try:
        world.app.sync_worker.process(text)
    except UnreadableMessage:
        pass
