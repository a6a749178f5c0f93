"""The emulator's parts on their own: redirect URI rules, scopes, Prefer, the throttle."""

import pytest

from devtools import demo_directory
from devtools.graph_emulator.clock import EmulatorClock
from devtools.graph_emulator.consent import GraphResource, parse_scopes
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.identity import redirect_uri_allowed
from devtools.graph_emulator.prefer import Preferences
from devtools.graph_emulator.sts_errors import StsError
from devtools.graph_emulator.throttle import MailboxLimits, MailboxThrottle

pytestmark = pytest.mark.integration

LOOPBACK_ANY = demo_directory.APP.default_redirect_uris
GRAPH = GraphResource.for_origins("https://127.0.0.1:7443", "https://localhost:7443")


@pytest.mark.parametrize(
    ("uri", "registered", "allowed"),
    [
        ("http://127.0.0.1:7071/api/auth/callback", LOOPBACK_ANY, True),
        ("http://localhost:3000/x?y=1", LOOPBACK_ANY, True),
        ("http://127.0.0.1:7071@evil.example/callback", LOOPBACK_ANY, False),
        ("https://evil.example/callback", LOOPBACK_ANY, False),
        # Entra ignores the port of http loopback redirect URIs, nothing else.
        ("http://localhost:5001/cb", ("http://localhost/cb",), True),
        ("http://localhost:5001/other", ("http://localhost/cb",), False),
        ("https://app.contoso.test/cb", ("https://app.contoso.test/cb",), True),
        ("https://app.contoso.test/cb/", ("https://app.contoso.test/cb",), False),
        ("/relative", LOOPBACK_ANY, False),
    ],
)
def test_redirect_uri_rules(uri, registered, allowed):
    assert redirect_uri_allowed(uri, registered) is allowed


def test_scopes_name_graph_by_its_public_id_its_app_id_or_the_emulators_origin():
    app = demo_directory.APP
    for resource in (
        "https://graph.microsoft.com",
        "https://localhost:7443",
        "00000003-0000-0000-c000-000000000000",
    ):
        request = parse_scopes(f"openid {resource}/user.read offline_access", GRAPH, app, "t")
        assert request.permissions == {"User.Read"}
        assert request.oidc == {"openid", "offline_access"}
        assert request.audience == resource

    bare = parse_scopes("User.Read Calendars.ReadWrite", GRAPH, app, "t")
    assert bare.audience == "00000003-0000-0000-c000-000000000000"
    assert bare.spell("User.Read") == "User.Read"
    default = parse_scopes("https://127.0.0.1:7443/.default", GRAPH, app, "t")
    assert default.permissions == set(app.required_permissions)


@pytest.mark.parametrize(
    ("scope", "code"),
    [("https://graph.microsoft.com/Mail.Nuke", 70011), ("api://other-api/read", 500011)],
)
def test_scopes_graph_does_not_have_are_refused(scope, code):
    with pytest.raises(StsError) as excinfo:
        parse_scopes(scope, GRAPH, demo_directory.APP, "t")
    assert excinfo.value.code == code


def test_prefer_headers_are_parsed_and_applied_by_name():
    prefer = Preferences.parse(
        ['outlook.timezone="W. Europe Standard Time", IdType="ImmutableId"', "return=minimal"]
    )

    assert prefer.immutable_ids
    assert prefer.outlook_timezone == "W. Europe Standard Time"
    assert prefer.get("Return") == "minimal"
    assert prefer.applied("idtype", "outlook.timezone") == {
        "Preference-Applied": 'IdType="ImmutableId", outlook.timezone="W. Europe Standard Time"'
    }
    assert Preferences.parse([]).applied("idtype") == {}


def test_the_throttle_holds_four_slots_per_app_and_mailbox():
    throttle = MailboxThrottle(EmulatorClock(), MailboxLimits(concurrency=4))
    held = [throttle.slot("app", "mailbox-1") for _ in range(4)]
    for slot in held:
        slot.__enter__()

    with pytest.raises(GraphError) as excinfo, throttle.slot("app", "mailbox-1"):
        pass
    with throttle.slot("app", "mailbox-2"), throttle.slot("other-app", "mailbox-1"):
        pass  # other mailboxes and other apps have their own budget

    assert (excinfo.value.status, excinfo.value.code) == (429, "ApplicationThrottled")
    held[0].__exit__(None, None, None)
    with throttle.slot("app", "mailbox-1"):
        pass


def test_the_request_budget_frees_up_as_the_window_moves():
    clock = EmulatorClock()
    throttle = MailboxThrottle(clock, MailboxLimits(requests=2, window_seconds=600))
    for _ in range(2):
        with throttle.slot("app", "mailbox"):
            pass

    with pytest.raises(GraphError) as excinfo, throttle.slot("app", "mailbox"):
        pass
    clock.advance(600)
    with throttle.slot("app", "mailbox"):
        pass

    assert excinfo.value.message == "Application is over its MailboxRequests limit."
    assert 599 <= int(excinfo.value.headers["Retry-After"]) <= 600
