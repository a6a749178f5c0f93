"""The host web app's frontend and its user's browser, as tests, benchmarks and demos drive them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from devtools.demo_directory import Person
from devtools.graph_emulator.control_client import trusting_session
from devtools.host_tokens import mint_host_token

TIMEOUT = 15


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def with_login_hint(url: str, person: Person) -> str:
    """The same sign-in link, for `person` to sign in with (the emulator picks the account from
    `login_hint`, as a person picks theirs at Microsoft)."""
    parts = urlsplit(url)
    query = {
        **dict(parse_qsl(parts.query)),
        "login_hint": person.user_principal_name or person.mail,
    }
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Answer:
    """Microsoft's answer as the browser brings it to the app's callback: a form it posts
    (response_mode=form_post) or a redirect it follows (GET, the fields in the query)."""

    method: str
    url: str
    fields: dict[str, str]

    def with_fields(self, **fields: str) -> Answer:
        return replace(self, fields={**self.fields, **fields})


class _Form(HTMLParser):
    """The form of Microsoft's form_post page: its action and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = values.get("action")
        elif tag == "input" and "name" in values:
            self.fields[values["name"]] = values.get("value", "")


class Browser:
    """A person's browser: Microsoft's pages (the emulator's CA trusted) and the app's."""

    def __init__(self, ca_file: Path, app: requests.Session | None = None) -> None:
        self._emulator = trusting_session(ca_file)
        self._app = app or requests.Session()

    def browse(self, url: str) -> requests.Response:
        """One step: the page or redirect at `url`, not followed."""
        session = self._emulator if url.startswith("https://") else self._app
        return session.get(url, allow_redirects=False, timeout=TIMEOUT)

    def at_microsoft(self, url: str) -> Answer:
        """The browser at a sign-in or consent link: Microsoft's answer for the app."""
        page = self.browse(url)
        if page.status_code == 302:
            location = page.headers["Location"]
            return Answer("GET", location.split("?", 1)[0], query_of(location))
        form = _Form()
        form.feed(page.text)
        assert page.status_code == 200, page.text
        assert form.action, page.text
        return Answer("POST", form.action, form.fields)

    def deliver(self, answer: Answer) -> requests.Response:
        """The browser bringing Microsoft's answer to the app's callback."""
        sent = {"params": answer.fields} if answer.method == "GET" else {"data": answer.fields}
        return self._app.request(answer.method, answer.url, allow_redirects=False,
                                 timeout=TIMEOUT, **sent)  # fmt: skip


class HostApp:
    def __init__(
        self, base_url: str, emulator_url: str, ca_file: Path, environ: Mapping[str, str]
    ) -> None:
        self.base_url = base_url
        self.emulator_url = emulator_url
        self._emulator = trusting_session(ca_file)
        self._app = requests.Session()
        self.browser = Browser(ca_file, self._app)
        self._environ = environ
        self.origin = environ["HOST_APP_ORIGINS"].split(",")[0]
        # A fresh organisation id per test keeps tests apart; people are the emulator's.
        self.org_id = f"org-{uuid.uuid4().hex[:10]}"

    def token(
        self,
        person: Person,
        *,
        org_id: str | None = None,
        admin: bool | None = None,
        secret: str | None = None,
        audience: str | None = None,
        now: float | None = None,
    ) -> str:
        return mint_host_token(
            user_id=person.host_user_id,
            org_id=org_id or self.org_id,
            secret=secret or self._environ["HOST_APP_TOKEN_SECRET"],
            issuer=self._environ["HOST_APP_TOKEN_ISSUER"],
            audience=audience or self._environ["HOST_APP_TOKEN_AUDIENCE"],
            name=person.display_name,
            email=person.mail,
            roles=("admin",) if (person.host_app_admin if admin is None else admin) else (),
            now=now,
        )

    def call(
        self,
        method: str,
        path: str,
        person: Person | None = None,
        *,
        token: str | None = None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if person is not None or token is not None:
            headers["Authorization"] = f"Bearer {token or self.token(person, org_id=org_id)}"
        return self._app.request(method, f"{self.base_url}/api/{path}", headers=headers,
                                timeout=TIMEOUT, allow_redirects=False, **kwargs)  # fmt: skip

    def watch_answers(self, callback: Callable[[requests.Response], None]) -> None:
        """Have `callback` see every answer of the function app (tests check the contract)."""
        self._app.hooks["response"].append(lambda answer, *_, **__: callback(answer))

    def set_switches(
        self, admin: Person, *, allow: bool, tenant_id: str | None = None, org_id: str | None = None
    ) -> requests.Response:
        return self.call(
            "PUT", "admin/settings", admin, org_id=org_id,
            json={"allowOutlookCalendar": allow, "syncConversations": True, "tenantId": tenant_id},
        )  # fmt: skip

    def browse(self, url: str) -> requests.Response:
        return self.browser.browse(url)

    def at_microsoft(self, url: str) -> Answer:
        return self.browser.at_microsoft(url)

    def deliver(self, answer: Answer) -> requests.Response:
        return self.browser.deliver(answer)

    def start_connect(
        self, person: Person, *, org_id: str | None = None, return_url: str | None = None
    ) -> str:
        """The authorization URL the person's host-app page gets."""
        started = self.call(
            "POST",
            "me/calendar/connect",
            person,
            org_id=org_id,
            json={"returnUrl": return_url or f"{self.origin}/settings"},
        )
        assert started.status_code == 200, started.text
        url: str = started.json()["authorizationUrl"]
        return url

    def sign_in(self, url: str, signing_in: Person | None = None) -> dict[str, str]:
        """The browser follows a sign-in link (as `signing_in`, else the account the link
        hints at) and comes back to the host app's page: that page's query."""
        answer = self.at_microsoft(with_login_hint(url, signing_in) if signing_in else url)
        assert answer.url == f"{self.base_url}/api/auth/callback", answer
        back = self.deliver(answer)
        assert back.status_code == 302, back.text
        return query_of(back.headers["Location"])

    def complete(
        self, person: Person, back: dict[str, str], *, org_id: str | None = None
    ) -> requests.Response:
        """The host app's page completes the sign-in with its user's token."""
        body = {"code": back["outlookCompletion"]}
        return self.call("POST", "me/calendar/complete", person, org_id=org_id, json=body)

    def connect(
        self,
        person: Person,
        *,
        org_id: str | None = None,
        return_url: str | None = None,
        signing_in: Person | None = None,
    ) -> dict[str, str]:
        """Connect through the real redirects, and complete as the person's page does: the
        query the page got back, with `outlook` the outcome."""
        url = self.start_connect(person, org_id=org_id, return_url=return_url)
        back = self.sign_in(url, signing_in)
        if "outlookCompletion" not in back:  # the sign-in ended at Microsoft
            return back
        completed = self.complete(person, back, org_id=org_id)
        assert completed.status_code == 200, completed.text
        del back["outlookCompletion"]
        return {**back, "outlook": completed.json()["outcome"]}

    def consent(
        self, admin: Person, *, signing_in: Person | None = None, org_id: str | None = None
    ) -> requests.Response:
        """`admin` asks for tenant-wide consent, `signing_in` (the admin's own Microsoft account
        by default) answers it at Microsoft, and the admin page completes: its answer."""
        link = self.call(
            "GET", f"admin/consent?returnUrl={self.origin}/admin", admin, org_id=org_id
        )
        assert link.status_code == 200, link.text
        url = with_login_hint(link.json()["consentUrl"], signing_in or admin)
        back = self.deliver(self.at_microsoft(url))
        assert back.status_code == 302, back.text
        code = query_of(back.headers["Location"])["adminConsentCompletion"]
        return self.call("POST", "admin/consent/complete", admin, org_id=org_id,
                         json={"code": code})  # fmt: skip

    def control(self, verb: str, path: str, /, **body: Any) -> dict[str, Any]:
        """The emulator's control API (body fields as keywords, `method` among them)."""
        answer = self._emulator.request(
            verb, f"{self.emulator_url}/_emulator/{path}", json=body or None, timeout=TIMEOUT
        )
        answer.raise_for_status()
        return answer.json() if answer.content else {}

    def identity_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.control("GET", "requests")["requests"] if r["area"] == "identity"]
