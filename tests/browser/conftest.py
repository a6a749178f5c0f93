"""The demo page in a real browser: Debian's Chromium, driven by Playwright, against `make run`'s
whole stack (Azurite, the emulator, the local host, the demo page) on free ports.

Every page load must be free of JavaScript errors and failed requests; each journey saves
screenshots under test-results/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from devtools.demo_directory import Person
from devtools.host_app import HostApp
from devtools.stack import LocalStack, free_port

PROJECT_ROOT = Path(__file__).parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SCREENSHOTS = PROJECT_ROOT / "test-results" / "screenshots"
ZONE = "Europe/London"
WAIT_MS = 30_000  # an upper bound on waiting for a condition (Outlook's notification, a sync)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"No Chromium at {CHROMIUM}: the browser tests need Debian's chromium package "
            "(`apt-get install -y chromium`; `make test` installs it when run as root), or "
            "CHROMIUM=/path/to/chromium. Playwright's own browser downloads are not used.",
            pytrace=False,
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """`make run` on free ports, storage in memory; the page polls the feed every second."""
    state = tmp_path_factory.mktemp("stack")
    demo = LocalStack(
        state,
        host_port=free_port(),
        emulator_port=free_port(),
        azurite_ports=(0, 0, 0),
        in_memory=True,
        demo_port=free_port(),
        extra_settings={"DEMO_POLL_SECONDS": "1"},
    )
    with demo:
        yield demo


@pytest.fixture(scope="module")
def host(stack: LocalStack) -> HostApp:
    """The host app's backend, for setting the scene through the public API (as the page would)."""
    return HostApp(stack.host_url, stack.emulator_url, stack.ca_file, stack.environ)


def connect(host: HostApp, person: Person) -> None:
    """Connect through the real redirects, in the person's own organisation (the page's)."""
    assert host.connect(person, org_id=person.host_org_id) == {"outlook": "connected"}


class DemoPage:
    """The page, as a person using it; `errors` collects what the browser console complained of."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", lambda message: self.errors.append(f"console: {message.text}")
                if message.type == "error" else None)  # fmt: skip
        page.set_default_timeout(WAIT_MS)

    def open(self, path: str, person: Person | None = None) -> Page:
        self.page.goto(self.base_url + path)
        self.page.wait_for_selector("body[data-ready=true]")
        if person is not None:
            self.be(person)
        return self.page

    def be(self, person: Person) -> None:
        who = self.page.get_by_label("You are")
        if who.input_value() != person.key:
            who.select_option(person.key)
        self.page.wait_for_function(
            "key => sessionStorage.getItem('person') === key", arg=person.key
        )

    def go(self, link: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
        self.page.get_by_role("heading", level=1).first.wait_for()

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def demo(browser: Browser, stack: LocalStack) -> Iterator[DemoPage]:
    context = browser.new_context(
        ignore_https_errors=True,  # the emulator's sign-in pages use its own CA
        timezone_id=ZONE,
        locale="en-GB",
        viewport={"width": 1280, "height": 900},
    )
    page = DemoPage(context.new_page(), stack.demo_url)
    yield page
    context.close()
    assert page.errors == [], "the browser reported errors"
