"""A user's connection on the fakes: connect, the reasons a sign-in ends, tokens, reminders."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from shared.connections.model import ConnectionStatus, ReconnectReason, add_months
from shared.connections.sign_ins import COMPLETION_LIFETIME
from shared.connections.views import status_view
from shared.errors import (
    ErrorCode,
    InvalidRequest,
    NotConnected,
    OutlookSwitchedOff,
    OutlookUnavailable,
    ReconnectRequired,
    SignInNotYours,
    SignInUnavailable,
)
from shared.identity import IdentityUnavailable, RefreshRefused
from shared.schedule import WorkKind
from shared.storage import names
from shared.storage.keys import table_key
from shared.token_cipher import Sealed, TokenCipherError
from tests.unit.world import ADELE, ALEX, HOST_APP, LYNNE, NOW, ORG, World

WARNING = timedelta(days=30)


@pytest.fixture
def world() -> World:
    world = World()
    world.switch()
    return world


def status(world: World, person=ALEX) -> dict:
    return status_view(world.app.connections.status(person.caller))


# --- connecting -----------------------------------------------------------------------------------


def test_a_user_connects_their_own_calendar_which_is_then_watched(world):
    assert status(world) == {"status": "not_connected"}

    assert world.connect(ALEX) == "connected"

    shown = status(world)
    assert shown["status"] == "connected"
    assert shown["account"] == {"userPrincipalName": ALEX.upn, "displayName": ALEX.name}
    assert shown["reconnectBy"] == add_months(NOW, 9).isoformat()
    assert [s["upn"] for s in world.graph.subscriptions.values()] == [ALEX.upn]
    warn = world.app.schedule.due(WorkKind.WARN_RECONNECT, add_months(NOW, 9) - WARNING, 10)
    assert [item.properties["UserId"] for item in warn] == [ALEX.user_id]


def test_the_stored_connection_holds_no_readable_token(world):
    world.connect(ALEX)
    (row,) = world.tables.table(names.CONNECTIONS_TABLE).rows()
    assert row.properties["TokenKeyId"] == "k1"
    assert world.graph.token_for(ALEX.upn).encode() not in row.properties["TokenCache"]


def test_while_the_organisation_has_it_off_nobody_connects(world):
    world.switch(allow=False)
    with pytest.raises(OutlookSwitchedOff):
        world.app.connections.begin_connect(ALEX.caller, None)
    assert status(world)["status"] == "disabled"


def test_switching_off_between_the_redirect_and_the_completion_connects_nobody(world):
    back = world.sign_in(ALEX)
    world.switch(allow=False)
    finished = world.app.connections.complete_connect(ALEX.caller, back["outlookCompletion"])
    assert (finished.outcome, finished.connected) == ("disabled", None)


# --- the sign-in is bound to the user who started it ----------------------------------------


def test_someone_who_opens_another_users_sign_in_link_links_nothing_to_them(world):
    back = world.sign_in(ALEX, as_upn=LYNNE.upn)  # Alex's link, Lynne's browser and account

    with pytest.raises(SignInNotYours):  # Lynne's host-app page completes with her token
        world.app.lifecycle.complete_connect(LYNNE.caller, back["outlookCompletion"])

    with pytest.raises(InvalidRequest) as spent:  # and the code is spent for Alex too
        world.app.lifecycle.complete_connect(ALEX.caller, back["outlookCompletion"])
    assert spent.value.code is ErrorCode.INVALID_STATE
    assert status(world) == {"status": "not_connected"}
    assert status(world, LYNNE) == {"status": "not_connected"}
    assert world.graph.subscriptions == {}, "nobody's mailbox is watched"
    assert world.identity.redeemed == 0, "Lynne's sign-in was never redeemed"


def test_the_same_user_id_in_another_organisation_cannot_complete(world):
    back = world.sign_in(ALEX)
    elsewhere = replace(ALEX.caller, org_id="org-elsewhere")
    with pytest.raises(SignInNotYours):
        world.app.lifecycle.complete_connect(elsewhere, back["outlookCompletion"])
    assert status(world) == {"status": "not_connected"}


def test_completing_shows_the_microsoft_account_that_signed_in(world):
    back = world.sign_in(ALEX)
    finished = world.app.lifecycle.complete_connect(ALEX.caller, back["outlookCompletion"])
    assert finished.outcome == "connected"
    assert finished.signed_in_as is not None
    assert finished.signed_in_as.user_principal_name == ALEX.upn


def test_the_callback_redeems_nothing_and_the_code_is_not_the_state(world):
    back = world.sign_in(ALEX)
    assert world.identity.redeemed == 0
    assert set(back) == {"outlookCompletion"}
    with pytest.raises(InvalidRequest):  # a completion code is no state for the callback
        world.app.connections.sign_in_returned({"state": back["outlookCompletion"], "code": "c"})
    assert world.app.lifecycle.complete_connect(ALEX.caller, back["outlookCompletion"]).outcome == (
        "connected"
    )


def test_a_completion_that_comes_too_late_connects_nobody(world):
    back = world.sign_in(ALEX)
    world.clock.advance(COMPLETION_LIFETIME)
    finished = world.app.lifecycle.complete_connect(ALEX.caller, back["outlookCompletion"])
    assert (finished.outcome, world.identity.redeemed) == ("sign_in_expired", 0)
    assert status(world) == {"status": "not_connected"}


@pytest.mark.parametrize("code", [None, 42, "", "x" * 5000, "unknown"])
def test_a_completion_code_that_is_not_one_is_refused(world, code):
    with pytest.raises(InvalidRequest) as refused:
        world.app.lifecycle.complete_connect(ALEX.caller, code)
    assert refused.value.code is ErrorCode.INVALID_STATE


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ({"error": "access_denied"}, "consent_declined"),
        ({"error": "consent_required"}, "admin_approval_required"),
        (
            {"error": "invalid_request", "error_description": "AADSTS90094: approval"},
            "admin_approval_required",
        ),
        (
            {"error": "invalid_request", "error_description": "AADSTS65004: declined"},
            "consent_declined",
        ),
        ({"error": "server_error"}, "sign_in_failed"),
    ],
)
def test_microsofts_answers_become_outcomes_the_host_app_can_show(world, answer, outcome):
    assert world.connect(ALEX, **answer) == outcome
    assert status(world)["status"] == "not_connected"


def test_one_microsoft_account_belongs_to_one_user(world):
    assert world.connect(ALEX) == "connected"
    assert world.connect(LYNNE, as_upn=ALEX.upn) == "account_already_linked"
    world.app.lifecycle.disconnect(ALEX.caller)
    assert world.connect(LYNNE, as_upn=ALEX.upn) == "connected"


def test_an_organisation_limited_to_its_tenant_refuses_other_tenants(world):
    world.switch(tenant="contoso.example")
    assert world.connect(ALEX) == "wrong_tenant"


def test_a_sign_in_comes_back_once_and_only_while_fresh(world):
    started = world.app.connections.begin_connect(ALEX.caller, None)
    state = started.url.split("state=")[1]
    world.identity.signing_in = ALEX.upn
    world.clock.advance(timedelta(minutes=11))

    late = world.app.connections.sign_in_returned({"state": state, "code": "c"})

    assert late == f"{HOST_APP}/?outlook=sign_in_expired"
    with pytest.raises(InvalidRequest) as again:
        world.app.connections.sign_in_returned({"state": state, "code": "c"})
    assert again.value.code is ErrorCode.INVALID_STATE


def test_a_huge_error_description_is_read_for_its_codes_only(world):
    answer = {"error": "invalid_request", "error_description": "AADSTS" + "9" * 5000}
    assert world.connect(ALEX, **answer) == "sign_in_failed"


def test_the_way_back_is_only_ever_to_the_host_app(world):
    with pytest.raises(InvalidRequest) as refused:
        world.app.connections.begin_connect(ALEX.caller, "https://evil.test/")
    assert refused.value.code is ErrorCode.RETURN_URL_NOT_ALLOWED


def test_microsoft_unreachable_at_completion_says_try_again_later(world):
    world.graph.fail("GET", "me", 503, times=3)
    assert world.connect(ALEX) == "temporarily_unavailable"


# --- using the connection -------------------------------------------------------------------------


def test_a_refresh_microsoft_refuses_marks_the_connection_and_drops_its_tokens(world):
    world.connect(ALEX)
    world.identity.refresh_failure = RefreshRefused(ReconnectReason.ACCESS_REVOKED, "50173")

    with pytest.raises(ReconnectRequired):
        world.app.connections.graph_for(ORG, ALEX.user_id)

    shown = status(world)
    assert (shown["status"], shown["reason"]) == ("reconnect_required", "access_revoked")
    (row,) = world.tables.table(names.CONNECTIONS_TABLE).rows()
    assert "TokenCache" not in row.properties or row.properties["TokenCache"] == b""
    world.identity.refresh_failure = None
    with pytest.raises(ReconnectRequired):  # until the user connects again
        world.app.connections.graph_for(ORG, ALEX.user_id)


def test_a_dead_sign_in_found_in_the_background_is_reported_once_with_its_reason(world):
    world.connect(ALEX)
    world.identity.refresh_failure = RefreshRefused(ReconnectReason.ACCESS_REVOKED, "50173")

    for _ in range(3):  # a push, a mailbox read, a timer run: each finds it dead
        with pytest.raises(ReconnectRequired):
            world.app.connections.graph_for(ORG, ALEX.user_id)
    world.timer()

    reported = [c for c in world.feed(ALEX) if c["kind"] == "reconnect_required"]
    assert [c["reason"] for c in reported] == ["access_revoked"]


def test_an_unreachable_identity_platform_is_not_the_users_fault(world):
    world.connect(ALEX)
    world.identity.refresh_failure = IdentityUnavailable("down")
    with pytest.raises(SignInUnavailable):
        world.app.connections.graph_for(ORG, ALEX.user_id)
    world.identity.refresh_failure = None
    assert status(world)["status"] == "connected"


def test_no_graph_for_the_unconnected_or_a_switched_off_organisation(world):
    with pytest.raises(NotConnected):
        world.app.connections.graph_for(ORG, ALEX.user_id)
    world.connect(ALEX)
    world.switch(allow=False)
    with pytest.raises(OutlookSwitchedOff):
        world.app.connections.graph_for(ORG, ALEX.user_id)


def test_a_token_graph_refuses_is_refreshed_once_and_the_request_tried_again(world):
    world.connect(ALEX)
    world.graph.fail("GET", "me", 401, code="InvalidAuthenticationToken")

    assert world.app.connections.check(ALEX.caller).status is ConnectionStatus.CONNECTED

    assert world.identity.forced_refreshes == 1
    assert world.graph.requests[-3:] == ["GET me", "GET me", "GET me/calendar"]


def test_check_proves_the_connection_works_now(world):
    world.connect(ALEX)
    assert world.app.connections.check(ALEX.caller).status is ConnectionStatus.CONNECTED
    world.graph.fail("GET", "me", 503, times=3)
    with pytest.raises(OutlookUnavailable):
        world.app.connections.check(ALEX.caller)


def test_check_brings_a_new_mail_and_teams_policy_up_to_date(world):
    world.connect(ALEX)
    mailbox = world.graph.mailboxes[ALEX.upn]
    mailbox.mail, mailbox.teams = "alex.wilber@contoso-renamed.test", False  # changed since

    shown = status_view(world.app.connections.check(ALEX.caller))

    assert [n["code"] for n in shown["notices"]] == ["teams_unavailable"]
    connection = world.app.connections.connection_of(ORG, ALEX.user_id)
    assert connection.account.smtp_address == "alex.wilber@contoso-renamed.test"
    assert world.app.people.user_with_mail(ORG, "alex.wilber@contoso-renamed.test") == ALEX.user_id


# --- the reconnect date ---------------------------------------------------------------------------


def test_before_the_reconnect_date_the_user_is_warned_once(world):
    world.connect(ALEX)
    world.clock.now = add_months(NOW, 9) - WARNING

    assert world.timer()[WorkKind.WARN_RECONNECT] == {"warned": 1}
    assert world.timer()[WorkKind.WARN_RECONNECT] == {}

    assert [c["kind"] for c in world.feed(ALEX)] == ["connection_expiring_soon"]
    assert status(world)["expiringSoon"] is True


def test_past_the_reconnect_date_the_connection_must_be_renewed(world):
    world.connect(ALEX)
    world.clock.now = add_months(NOW, 9) - WARNING
    world.timer()
    world.clock.now = add_months(NOW, 9)

    assert world.timer()[WorkKind.EXPIRE_CONNECTION] == {"expired": 1}

    shown = status(world)
    assert (shown["status"], shown["reason"]) == ("reconnect_required", "reconnect_due")
    kinds = [c["kind"] for c in world.feed(ALEX)]
    assert kinds == ["connection_expiring_soon", "reconnect_required"]
    assert world.table_rows(names.SUBSCRIPTIONS_TABLE) == 0, "no longer watched"
    assert world.table_rows(names.MAILBOX_SYNC_TABLE) == 0
    assert world.connect(ALEX) == "connected"
    assert status(world)["status"] == "connected"


def test_an_expiry_that_comes_after_a_reconnect_leaves_the_connection_alone(world):
    world.connect(ALEX)
    world.clock.now = add_months(NOW, 9)
    world.connect(ALEX)  # renewed: a new reconnect date
    outcome = world.app.connections.expire_if_due(ORG, ALEX.user_id)
    assert outcome == "renewed meanwhile"
    assert status(world)["status"] == "connected"


def test_reconnecting_before_the_date_moves_the_reminders(world):
    world.connect(ALEX)
    world.clock.advance(timedelta(days=100))
    world.connect(ALEX)
    world.clock.now = add_months(NOW, 9)
    assert world.timer()[WorkKind.WARN_RECONNECT] == {}, "the old reminder went"


# --- disconnecting --------------------------------------------------------------------------------


def test_disconnecting_stops_watching_first_and_keeps_the_conversations(world):
    world.connect(ADELE)
    from shared.conversations.requests import parse_new_conversation

    new = parse_new_conversation(
        {
            "type": "check_in",
            "title": "1:1",
            "attendees": [],
            "timeZone": "UTC",
            "start": "2026-12-07T09:00:00",
            "end": "2026-12-07T09:30:00",
        }
    )
    conversation = world.app.conversations.create(ADELE.caller, new, None).conversation

    world.app.lifecycle.disconnect(ADELE.caller)

    assert world.graph.subscriptions == {}, "deleted in Graph while the token still worked"
    assert world.table_rows(names.MAILBOX_SYNC_TABLE) == 0
    assert status(world, ADELE) == {"status": "not_connected"}
    assert world.app.conversations.get(ADELE.caller, conversation.id).id == conversation.id
    warn = world.app.schedule.due(WorkKind.WARN_RECONNECT, add_months(NOW, 12), 10)
    assert warn == []


# --- what a sealed token cache is bound to ----------------------------------------------------


def test_a_cache_sealed_to_the_old_ambiguous_binding_is_read_and_sealed_anew(world):
    world.connect(ALEX)
    table = world.tables.table(names.CONNECTIONS_TABLE)
    (row,) = table.rows()
    cipher = world.app.cipher
    old = cipher.seal(json.dumps({"upn": ALEX.upn}).encode(), f"connection/{ORG}/{ALEX.user_id}")
    table.plant(row.partition_key, row.row_key,
                {**row.properties, "TokenKeyId": old.key_id, "TokenCache": old.blob})  # fmt: skip

    world.app.connections.graph_for(ORG, ALEX.user_id)  # reads it, and seals it anew

    (row,) = table.rows()
    resealed = Sealed(row.properties["TokenKeyId"], bytes(row.properties["TokenCache"]))
    binding = "connection:" + table_key(ORG, ALEX.user_id)
    assert json.loads(cipher.open(resealed, binding)) == {"upn": ALEX.upn}


def test_a_cache_of_one_pair_of_ids_never_opens_for_another_that_joins_the_same():
    world = World()
    cipher = world.app.cipher
    sealed = cipher.seal(b"cache", "connection:" + table_key("a/b", "c"))
    with pytest.raises(TokenCipherError):
        cipher.open(sealed, "connection:" + table_key("a", "b/c"))
