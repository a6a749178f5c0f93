"""Issue 17 on the demo page, in Chromium: an attendee proposes a new time in Outlook and the
organiser accepts it on the conversation's page; someone outside the group the organisation
assigned to the app sees `not_assigned` and what to do.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from devtools.demo_directory import CONTOSO, EMPLOYEE_ALEX, MANAGER, OUTSIDE_GROUP
from tests.browser.conftest import ZONE, DemoPage, connect

pytestmark = pytest.mark.browser
TITLE = "Development chat"


def next_wednesday() -> date:
    today = datetime.now(ZoneInfo(ZONE)).date()
    return today + timedelta(days=7 - today.weekday() + 2)


WEDNESDAY = next_wednesday()


def test_the_organiser_sees_a_proposed_time_and_accepts_it(demo: DemoPage, host):
    org = MANAGER.host_org_id
    assert host.set_switches(MANAGER, allow=True, org_id=org).status_code == 200
    connect(host, MANAGER)
    connect(host, EMPLOYEE_ALEX)
    created = host.call(
        "POST", "conversations", MANAGER, org_id=org,
        json={"type": "check_in", "title": TITLE, "timeZone": ZONE,
              "start": f"{WEDNESDAY}T10:00:00", "end": f"{WEDNESDAY}T10:30:00",
              "attendees": [{"email": EMPLOYEE_ALEX.mail, "userId": EMPLOYEE_ALEX.host_user_id}],
              "location": {"kind": "none"}},
    )  # fmt: skip
    assert created.status_code == 201, created.text

    page = demo.open(f"/conversations/{created.json()['id']}", MANAGER)
    expect(page.locator("dl.facts")).to_contain_text("10:00\u201310:30")
    page.get_by_label("Outlook of").select_option(EMPLOYEE_ALEX.mail)
    page.get_by_role("button", name=f"Propose {TITLE} 1 hour later").click()

    proposals = page.locator("#proposals li")
    expect(proposals).to_have_count(1)  # Graph told the app; the feed refreshed the page
    expect(proposals).to_contain_text(f"{EMPLOYEE_ALEX.display_name} proposes")
    expect(proposals).to_contain_text("11:00\u201311:30")
    expect(proposals).to_contain_text("tentative")
    expect(page.locator("#feed")).to_contain_text(f"{EMPLOYEE_ALEX.display_name} proposed")
    demo.screenshot("proposal-shown")

    page.get_by_role("button", name=f"Accept {EMPLOYEE_ALEX.display_name}'s proposed time").click()

    expect(page.get_by_role("status").filter(has_text="Moved to the proposed time")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("11:00\u201311:30")
    expect(page.locator("#sync-state")).to_have_text("synced")
    expect(page.locator("#proposals")).to_have_count(0)
    demo.screenshot("proposal-accepted")


def test_someone_outside_the_assigned_group_is_told_to_ask_their_admin(demo: DemoPage, host):
    host.control("PATCH", "settings", access_token_lifetime=120)  # every use refreshes
    connect(host, OUTSIDE_GROUP)
    host.control("PATCH", f"tenants/{CONTOSO.tenant_id}/assignment", required=True)

    page = demo.open("/settings", OUTSIDE_GROUP)
    page.get_by_role("button", name="Check connection").click()

    banner = page.locator("#banners")
    expect(banner).to_contain_text("Reconnect required")
    expect(banner).to_contain_text("ask your admin")
    expect(page.locator("#calendar-status")).to_have_attribute("data-status", "reconnect_required")
    demo.screenshot("not-assigned")
    refused = [e for e in demo.errors if "409" in e]  # the check's answer: expected here
    for error in refused:
        demo.errors.remove(error)

    page.get_by_role("button", name="Reconnect Outlook").first.click()
    expect(page.locator("body")).to_contain_text("AADSTS50105")  # Microsoft's page: no way back
    demo.screenshot("not-assigned-at-microsoft")
    microsoft = [e for e in demo.errors if "400" in e]
    for error in microsoft:
        demo.errors.remove(error)
    host.control("POST", "reset")
