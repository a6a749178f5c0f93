"""The demo host app's journeys in Chromium: switch Outlook on and connect, read the week grid,
create a Teams conversation, follow it moved and declined in Outlook, cancel it with notes.

The tests run in order on one stack (they are one story: each starts where the last ended, as a
person clicking through the demo would). Waits are Playwright's: on a condition, with a timeout.
"""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from devtools.demo_directory import EMPLOYEE_ALEX, EMPLOYEE_LYNNE, MANAGER, NEVER_CONNECTS
from devtools.host_app import with_login_hint
from tests.browser.conftest import ZONE, DemoPage, connect

pytestmark = pytest.mark.browser
TITLE = "Quarterly check-in"


def next_monday() -> date:
    today = datetime.now(ZoneInfo(ZONE)).date()
    return today + timedelta(days=7 - today.weekday())


TUESDAY = next_monday() + timedelta(days=1)


def span(start: str, end: str) -> str:
    """A time range as the page writes it, with an en dash."""
    return f"{start}\u2013{end}"


def test_an_admin_switches_outlook_on_then_connects_from_settings(demo: DemoPage):
    page = demo.open("/settings", MANAGER)
    expect(page.locator("#calendar-status")).to_have_attribute("data-status", "disabled")

    demo.go("Admin")
    page.get_by_label("Allow people to connect their Outlook calendars").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    demo.screenshot("admin")

    demo.go("Settings")
    expect(page.locator("#calendar-status")).to_have_text("Your Outlook calendar is not connected.")
    page.get_by_role(
        "button", name="Connect Outlook"
    ).click()  # to Microsoft (the emulator) and back

    page.wait_for_url("**/settings")
    expect(page.get_by_role("status").filter(has_text="Outlook is connected")).to_be_visible()
    expect(page.locator("#calendar-status")).to_have_attribute("data-status", "connected")
    expect(page.locator("dl.facts")).to_contain_text(f"{MANAGER.display_name} ({MANAGER.mail})")
    expect(page.locator("dl.facts")).to_contain_text("Renew by")
    demo.screenshot("settings-connected")


def test_the_week_grid_shows_own_titles_in_blue_busy_time_in_green_and_who_is_missing(
    demo: DemoPage, host
):
    connect(host, EMPLOYEE_ALEX)
    for person, subject, hour in ((MANAGER, "Budget review", 10), (EMPLOYEE_ALEX, "Dentist", 13)):
        host.control(
            "POST", f"mailboxes/{person.mail}/events", subject=subject, timeZone=ZONE,
            start=f"{TUESDAY}T{hour:02d}:00:00", end=f"{TUESDAY}T{hour + 1:02d}:00:00",
        )  # fmt: skip

    megan = NEVER_CONNECTS  # she uses the platform (in her organisation), never connects
    seen = host.call("GET", "me/calendar", megan, org_id=megan.host_org_id)
    assert seen.json() == {"status": "not_connected"}
    page = demo.open("/schedule", MANAGER)
    page.get_by_label(EMPLOYEE_ALEX.display_name).check()
    page.get_by_label(NEVER_CONNECTS.display_name).check()
    page.get_by_role("button", name="Next week").click()

    tuesday = page.get_by_role("group", name=f"Tuesday {TUESDAY.day} {TUESDAY:%B}")
    own = tuesday.locator(".block.own")
    expect(own).to_contain_text("Budget review")
    expect(own).to_contain_text(span("10:00", "11:00"))
    expect(own).to_have_css("background-color", "rgb(30, 64, 175)")  # blue
    busy = tuesday.locator(".block.busy")
    expect(busy).to_contain_text(f"{EMPLOYEE_ALEX.display_name} busy")
    expect(busy).to_contain_text(span("13:00", "14:00"))
    expect(busy).to_have_css("background-color", "rgb(22, 101, 52)")  # green
    expect(page.locator("#grid")).not_to_contain_text("Dentist")  # attendees' titles never shown
    missing = page.locator("#notices li")
    expect(missing).to_have_count(1)
    expect(missing).to_contain_text(f"{NEVER_CONNECTS.display_name}: ")
    expect(missing).to_contain_text("has not connected their Outlook calendar")
    demo.screenshot("schedule-week-grid")


def test_a_teams_conversation_is_created_and_reaches_outlook(demo: DemoPage):
    page = demo.open("/schedule", MANAGER)
    page.get_by_label(EMPLOYEE_ALEX.display_name).check()
    page.get_by_label(NEVER_CONNECTS.display_name).uncheck()
    page.get_by_label("Type", exact=True).select_option("check_in")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Date", exact=True).fill(TUESDAY.isoformat())
    page.get_by_label("Start time", exact=True).fill("15:00")
    page.get_by_label("Microsoft Teams meeting").check()
    page.get_by_role("button", name="Create conversation").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_role("status").filter(has_text="Created. Outlook: synced.")).to_be_visible()
    expect(page.locator("#sync-state")).to_have_text("synced")
    teams = page.get_by_role("link", name="Join in Teams")
    expect(teams).to_have_attribute("href", re.compile(r"^https://"))
    expect(page.locator("dl.facts")).to_contain_text(span("15:00", "15:30"))
    expect(page.locator("#attendees")).to_contain_text(EMPLOYEE_ALEX.mail)
    demo.screenshot("conversation-created")

    demo.go("Conversations")
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    demo.screenshot("conversations-list")


def test_moving_it_in_outlook_moves_it_in_the_app_and_a_decline_shows_as_an_rsvp(demo: DemoPage):
    """Renamed then moved in the organiser's Outlook: the time follows, the title never does."""
    page = demo.open("/conversations", MANAGER)
    page.get_by_role("link", name=TITLE).click()
    expect(page.locator("dl.facts")).to_contain_text(span("15:00", "15:30"))

    page.get_by_label("Outlook of").select_option(MANAGER.mail)
    page.get_by_role("button", name=f"Rename {TITLE} in Outlook").click()
    renamed = f"{TITLE} (renamed in Outlook)"
    page.get_by_role("button", name=f"Move {renamed} 1 hour later").click()
    expect(page.locator("dl.facts")).to_contain_text(span("16:00", "16:30"))  # Graph told the app
    expect(page.locator("#feed")).to_contain_text(f"“{TITLE}” moved in Outlook")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)  # the title stays the app's

    page.get_by_label("Outlook of").select_option(EMPLOYEE_ALEX.mail)
    page.get_by_role("button", name=f"Decline {TITLE}").click()
    expect(page.locator(f"#attendees td[data-email='{EMPLOYEE_ALEX.mail}']")).to_have_text(
        "declined"
    )
    expect(page.locator("#feed")).to_contain_text(f"{EMPLOYEE_ALEX.mail} declined “{TITLE}”")
    demo.screenshot("moved-and-declined-in-outlook")


def test_cancelling_it_with_a_note_keeps_it_marked_cancelled(demo: DemoPage):
    page = demo.open("/conversations", MANAGER)
    page.get_by_role("link", name=TITLE).click()
    page.get_by_label("Note", exact=True).fill("Agreed the Q3 goals.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("dl.facts")).to_contain_text("1 notes, 0 actions")

    page.get_by_role("button", name="Cancel conversation").click()
    page.get_by_role("button", name="Yes, cancel it").click()

    expect(
        page.get_by_role("status").filter(has_text="It is kept, marked cancelled")
    ).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Cancel conversation")).to_have_count(0)
    demo.screenshot("cancelled-and-kept")


def test_deleting_it_in_outlook_keeps_a_conversation_with_notes(demo: DemoPage):
    page = demo.open("/schedule", MANAGER)
    page.get_by_label("Title", exact=True).fill("Mentoring")
    page.get_by_label("Date", exact=True).fill(TUESDAY.isoformat())
    page.get_by_label("Start time", exact=True).fill("11:00")
    page.get_by_role("button", name="Create conversation").click()
    expect(page.locator("#sync-state")).to_have_text("synced")
    page.get_by_label("Action", exact=True).fill("Read the onboarding guide.")
    page.get_by_role("button", name="Add action").click()
    expect(page.locator("dl.facts")).to_contain_text("0 notes, 1 actions")

    page.get_by_label("Outlook of").select_option(MANAGER.mail)
    page.get_by_role("button", name="Delete Mentoring in Outlook").click()
    expect(page.locator("#feed")).to_contain_text("“Mentoring” was deleted in Outlook")
    expect(page.locator("dl.facts")).to_contain_text("cancelled")  # kept: it has an action


def test_the_page_works_at_phone_width_and_every_field_has_a_name(demo: DemoPage):
    demo.page.set_viewport_size({"width": 390, "height": 844})
    page = demo.open("/schedule", MANAGER)
    expect(page.locator("#grid .day")).to_have_count(7)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "nothing wider than the phone but the grid, which scrolls in its box"
    unnamed = page.evaluate(
        """[...document.querySelectorAll('input, select, textarea, button')]
             .filter(el => !el.labels?.length && !el.getAttribute('aria-label')
                           && !(el.tagName === 'BUTTON' && el.textContent.trim()))
             .map(el => el.outerHTML)"""
    )
    assert unnamed == []
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    demo.screenshot("phone-schedule")


def test_a_sign_in_link_someone_else_opens_connects_nobody(demo: DemoPage, host):
    """Lynne's page starts connecting and she sends the link to Megan; Megan signs in with her
    own Microsoft account and lands on the page, signed in there as herself."""
    url = host.start_connect(
        EMPLOYEE_LYNNE, org_id=EMPLOYEE_LYNNE.host_org_id, return_url=f"{demo.base_url}/settings"
    )
    page = demo.open("/settings", NEVER_CONNECTS)

    page.goto(with_login_hint(url, NEVER_CONNECTS))  # Microsoft's page posts back to the app

    page.wait_for_url("**/settings")
    expect(page.get_by_role("alert").filter(has_text="started by someone else")).to_be_visible()
    assert "outlookCompletion" not in page.url, "the used code is not left in the address bar"
    expect(page.locator("#calendar-status")).to_have_attribute("data-status", "not_connected")
    lynne = host.call("GET", "me/calendar", EMPLOYEE_LYNNE, org_id=EMPLOYEE_LYNNE.host_org_id)
    assert lynne.json() == {"status": "not_connected"}
    demo.screenshot("sign-in-not-yours")
    (refused,) = [e for e in demo.errors if "403" in e]  # the app's answer: expected here
    demo.errors.remove(refused)


def test_an_admin_grants_consent_and_sees_which_tenant_gave_it(demo: DemoPage):
    page = demo.open("/admin", MANAGER)
    page.get_by_role("button", name="Grant consent for the whole organisation").click()
    page.get_by_role("link", name=MANAGER.display_name).click()  # Microsoft: pick the admin

    page.wait_for_url("**/admin")
    expect(page.get_by_role("status").filter(has_text="consent granted")).to_be_visible()
    expect(page.locator("#consent-status")).to_contain_text("Microsoft tenant")
    assert "adminConsentCompletion" not in page.url
