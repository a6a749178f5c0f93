"""The reconnect banner, seen after moving the stack's one clock from the demo page (its panel
calls the emulator's `POST /_emulator/clock {"move": ...}`, which devtools.clock shares).

A stack of its own: moving the clock moves it for everything on that stack. Connections here
must be renewed monthly, with a week's warning, so moves stay under Microsoft's 90 days of
refresh-token inactivity (the maintenance timer refreshes between moves, as in production).
"""

import pytest
from playwright.sync_api import expect

from devtools.demo_directory import MANAGER
from devtools.host_app import HostApp
from devtools.stack import LocalStack, free_port
from tests.browser.conftest import DemoPage, connect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    monthly = LocalStack(
        tmp_path_factory.mktemp("stack"),
        host_port=free_port(),
        emulator_port=free_port(),
        azurite_ports=(0, 0, 0),
        in_memory=True,
        demo_port=free_port(),
        extra_settings={
            "DEMO_POLL_SECONDS": "1",
            "RECONNECT_INTERVAL_MONTHS": "1",
            "RECONNECT_WARNING_DAYS": "7",
        },
    )
    with monthly:
        yield monthly


def test_moving_the_clock_brings_the_renewal_banner_then_reconnect_required(
    demo: DemoPage, host: HostApp
):
    assert host.set_switches(MANAGER, allow=True, org_id=MANAGER.host_org_id).status_code == 200
    connect(host, MANAGER)
    page = demo.open("/settings", MANAGER)
    expect(page.locator("#calendar-status")).to_have_attribute("data-status", "connected")
    expect(page.locator("#banners")).to_be_empty()

    page.get_by_label("Move the clock by").fill("+25d")
    page.get_by_role("button", name="Move clock").click()
    banner = page.locator("#banners .banner")
    expect(banner).to_contain_text("Your Outlook connection must be renewed by")
    expect(page.get_by_role("button", name="Reconnect now")).to_be_visible()
    demo.screenshot("banner-expiring-soon")

    page.get_by_label("Move the clock by").fill("+10d")
    page.get_by_role("button", name="Move clock").click()
    expect(banner).to_contain_text("Reconnect required")
    expect(banner).to_contain_text("the periodic renewal date has passed")
    expect(page.locator("#calendar-status")).to_have_attribute("data-status", "reconnect_required")
    demo.screenshot("banner-reconnect-required")

    page.get_by_role("button", name="Back to real time").click()
    expect(page.locator("#clock-now")).to_contain_text("(real time)")
