"""An organisation's switches and admin consent, on the fakes."""

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from shared.connections.model import ReconnectReason
from shared.connections.sign_ins import COMPLETION_LIFETIME
from shared.errors import (
    AdminOnly,
    ErrorCode,
    InvalidRequest,
    ReconnectRequired,
    SignInNotYours,
    StaleVersion,
)
from shared.identity import RefreshRefused
from shared.organisations.model import Switches
from shared.organisations.views import settings_view
from shared.schedule import WorkKind
from shared.sync.subscriptions import LIFETIME, RENEW_BEFORE
from tests.unit.world import ADELE, ALEX, LYNNE, ORG, World

ON = Switches(allow_outlook=True, sync_conversations=True, tenant_id=None)
OFF = Switches(allow_outlook=False, sync_conversations=True, tenant_id=None)


def test_only_admins_read_or_change_the_switches():
    world = World()
    with pytest.raises(AdminOnly):
        world.app.organisations.settings(ALEX.caller)
    with pytest.raises(AdminOnly):
        world.app.lifecycle.replace_settings(ALEX.caller, ON, None)


def test_an_organisation_starts_switched_off_and_an_admin_switches_it_on():
    world = World()
    stored = world.app.organisations.settings(ADELE.caller)
    assert (stored.settings.allow_outlook, stored.etag) == (False, None)

    saved = world.app.lifecycle.replace_settings(ADELE.caller, ON, None)

    view = settings_view(saved.settings)
    assert (view["allowOutlookCalendar"], view["updatedBy"]) == (True, ADELE.user_id)
    assert world.app.organisations.settings(ADELE.caller).etag == saved.etag


def test_a_change_made_meanwhile_by_another_admin_is_not_overwritten():
    world = World()
    first = world.app.lifecycle.replace_settings(ADELE.caller, ON, None)
    world.app.lifecycle.replace_settings(ADELE.caller, OFF, first.etag)
    with pytest.raises(StaleVersion):
        world.app.lifecycle.replace_settings(ADELE.caller, ON, first.etag)


def test_switching_on_again_resubscribes_the_connections_left_inert():
    world = World()
    world.switch()
    for person in (ALEX, LYNNE):
        assert world.connect(person) == "connected"
    world.timer()
    world.switch(allow=False)
    world.clock.advance(LIFETIME - RENEW_BEFORE)
    assert world.timer()[WorkKind.RENEW_SUBSCRIPTION] == {"dropped": 2}, "inert while off"
    world.graph.subscriptions.clear()  # and Graph let them expire

    world.switch(allow=True)
    report = world.timer()

    assert report[WorkKind.RESUME_ORGANISATION] == {"resumed": 1}
    assert sorted(s["upn"] for s in world.graph.subscriptions.values()) == [ALEX.upn, LYNNE.upn]


def test_resuming_leaves_connections_that_must_be_reconnected_to_their_users():
    world = World()
    world.switch()
    for person in (ALEX, LYNNE):
        assert world.connect(person) == "connected"
    world.identity.refresh_failure = RefreshRefused(ReconnectReason.SIGN_IN_EXPIRED, "700082")
    with pytest.raises(ReconnectRequired):
        world.app.connections.graph_for(ORG, LYNNE.user_id)
    world.identity.refresh_failure = None
    world.switch(allow=False)
    world.clock.advance(LIFETIME - RENEW_BEFORE)
    world.timer()
    world.graph.subscriptions.clear()

    world.switch(allow=True)
    world.timer()

    assert [s["upn"] for s in world.graph.subscriptions.values()] == [ALEX.upn]
    later = world.clock() + timedelta(days=1)
    assert world.app.schedule.due(WorkKind.CREATE_SUBSCRIPTION, later, 10) == []


def test_switching_when_nothing_was_off_resumes_nothing():
    world = World()
    world.switch()
    world.timer()
    world.switch(sync=False)
    assert world.timer()[WorkKind.RESUME_ORGANISATION] == {}


def consent_answer(world: World, **answer: str) -> dict[str, str]:
    """Adele asks for consent; the query the browser brings back after Microsoft's `answer`."""
    started = world.app.organisations.consent_link(ADELE.caller, None)
    state = dict(parse_qsl(urlsplit(started.url).query))["state"]
    back = world.app.organisations.consent_returned({"state": state, **answer})
    return dict(parse_qsl(urlsplit(back).query))


def consent(world: World, **answer: str) -> str:
    """Adele asks for consent and completes the answer: the outcome."""
    back = consent_answer(world, **answer)
    code = back["adminConsentCompletion"]
    return world.app.organisations.complete_consent(ADELE.caller, code).outcome


def test_admin_consent_is_recorded_granted_or_declined():
    world = World()
    assert consent(world, admin_consent="True", tenant="t-1") == "granted"
    recorded = world.app.organisations.settings(ADELE.caller).settings.consent
    assert (recorded.status, recorded.tenant_id) == ("granted", "t-1")
    assert consent(world, error="access_denied", error_description="no") == "declined"
    recorded = world.app.organisations.settings(ADELE.caller).settings.consent
    assert (recorded.status, recorded.error) == ("declined", "access_denied")


def test_a_consent_answer_that_says_nothing_is_refused():
    world = World()
    with pytest.raises(InvalidRequest) as refused:
        consent(world)
    assert refused.value.code is ErrorCode.INVALID_CONSENT_RESPONSE
    assert world.app.organisations.settings(ADELE.caller).settings.consent.status == (
        "not_requested"
    )


def test_the_consent_link_is_for_the_organisations_own_tenant():
    world = World()
    world.app.lifecycle.replace_settings(
        ADELE.caller, Switches(True, True, "contoso.example"), None
    )
    started = world.app.organisations.consent_link(ADELE.caller, None)
    assert started.url.startswith("https://login.test/contoso.example/v2.0/adminconsent")
    assert ORG not in started.url


def test_a_consent_answer_is_recorded_only_when_the_admin_who_asked_completes_it():
    world = World()
    back = consent_answer(world, admin_consent="True", tenant="t-other")
    assert world.app.organisations.settings(ADELE.caller).settings.consent.status == (
        "not_requested"
    ), "the callback alone records nothing"
    other_admin = replace(ALEX.caller, roles=frozenset({"admin"}))
    with pytest.raises(SignInNotYours):
        world.app.organisations.complete_consent(other_admin, back["adminConsentCompletion"])
    with pytest.raises(InvalidRequest):  # spent
        world.app.organisations.complete_consent(ADELE.caller, back["adminConsentCompletion"])
    assert world.app.organisations.settings(ADELE.caller).settings.consent.status == (
        "not_requested"
    )


def test_another_organisations_admin_cannot_complete_a_consent_answer():
    world = World()
    back = consent_answer(world, admin_consent="True", tenant="t-1")
    elsewhere = replace(ADELE.caller, org_id="org-elsewhere")
    with pytest.raises(SignInNotYours):
        world.app.organisations.complete_consent(elsewhere, back["adminConsentCompletion"])
    assert world.app.organisations.settings(elsewhere).settings.consent.status == "not_requested"


def test_a_consent_answer_never_sets_the_organisations_tenant():
    world = World()
    assert consent(world, admin_consent="True", tenant="t-fabrikam") == "granted"
    settings = world.app.organisations.settings(ADELE.caller).settings
    assert (settings.tenant_id, settings.consent.tenant_id) == (None, "t-fabrikam")


def test_a_consent_completed_too_late_is_not_recorded():
    world = World()
    back = consent_answer(world, admin_consent="True", tenant="t-1")
    world.clock.advance(COMPLETION_LIFETIME)
    completed = world.app.organisations.complete_consent(
        ADELE.caller, back["adminConsentCompletion"]
    )
    assert completed.outcome == "expired"
    assert world.app.organisations.settings(ADELE.caller).settings.consent.status == (
        "not_requested"
    )
