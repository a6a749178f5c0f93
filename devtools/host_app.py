"""The host web app's frontend and its user's browser, as tests, benchmarks and demos drive them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from devtools.demo_directory import Person
from devtools.graph_emulator.control_client import trusting_session
from devtools.host_tokens import mint_host_token

TIMEOUT = 15


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


class HostApp:
    def __init__(
        self, base_url: str, emulator_url: str, ca_file: Path, environ: Mapping[str, str]
    ) -> None:
        self.base_url = base_url
        self.emulator_url = emulator_url
        self._emulator = trusting_session(ca_file)
        self._app = requests.Session()
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
        """The browser following one redirect step (emulator pages need its CA)."""
        session = self._emulator if url.startswith("https://") else self._app
        return session.get(url, allow_redirects=False, timeout=TIMEOUT)

    def connect(
        self, person: Person, *, org_id: str | None = None, return_url: str | None = None
    ) -> dict[str, str]:
        """Connect through the real redirects; answer the query the host app gets back."""
        started = self.call(
            "POST",
            "me/calendar/connect",
            person,
            org_id=org_id,
            json={"returnUrl": return_url or f"{self.origin}/settings"},
        )
        assert started.status_code == 200, started.text
        at_microsoft = self.browse(started.json()["authorizationUrl"])
        assert at_microsoft.status_code == 302, at_microsoft.text
        callback = at_microsoft.headers["Location"]
        assert callback.startswith(f"{self.base_url}/api/auth/callback?")
        back = self.browse(callback)
        assert back.status_code == 302, back.text
        return query_of(back.headers["Location"])

    def control(self, verb: str, path: str, /, **body: Any) -> dict[str, Any]:
        """The emulator's control API (body fields as keywords, `method` among them)."""
        answer = self._emulator.request(
            verb, f"{self.emulator_url}/_emulator/{path}", json=body or None, timeout=TIMEOUT
        )
        answer.raise_for_status()
        return answer.json() if answer.content else {}

    def identity_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.control("GET", "requests")["requests"] if r["area"] == "identity"]
