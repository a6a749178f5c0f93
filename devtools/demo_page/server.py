"""The demo host app's small dev server: the page, its people's tokens, and Outlook's people.

The page itself calls only the function app's public API, from the browser (CORS), as a real
host app's frontend would. This server does what a real host app's backend would (sign its
users' tokens) and what no real one does: act as any demo person in their Outlook, through the
Graph emulator's control API (which uses its own CA, so the browser could not call it itself).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.security import safe_join
from werkzeug.wrappers import Request, Response

from devtools.demo_directory import PEOPLE, Mailbox, Person
from devtools.graph_emulator.control_client import trusting_session
from devtools.host_tokens import demo_person_token

STATIC = Path(__file__).with_name("static")
PAGES = ("/", "/settings", "/admin", "/schedule", "/conversations")
TIMEOUT = 15
TOKEN_SETTINGS = ("HOST_APP_TOKEN_SECRET", "HOST_APP_TOKEN_ISSUER", "HOST_APP_TOKEN_AUDIENCE")


@dataclass(frozen=True)
class DemoConfig:
    api_url: str  # the function app, e.g. http://127.0.0.1:7071
    emulator_url: str
    ca_file: Path
    token_settings: Mapping[str, str]  # HOST_APP_TOKEN_SECRET, _ISSUER, _AUDIENCE
    poll_seconds: float = 3.0

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, api_url: str, emulator_url: str, ca_file: Path
    ) -> DemoConfig:
        return cls(
            api_url=api_url.rstrip("/"),
            emulator_url=emulator_url.rstrip("/"),
            ca_file=ca_file,
            token_settings={name: environ[name] for name in TOKEN_SETTINGS},
            poll_seconds=float(environ.get("DEMO_POLL_SECONDS", "3")),
        )


def person_view(person: Person) -> dict[str, Any]:
    return {
        "key": person.key,
        "name": person.display_name,
        "email": person.mail,
        "userId": person.host_user_id,
        "orgId": person.host_org_id,
        "jobTitle": person.job_title,
        "admin": person.host_app_admin,
        # Whom the Outlook panel can play: a directory member with an Exchange Online mailbox.
        "outlook": person.in_directory and person.mailbox is Mailbox.EXCHANGE_ONLINE,
    }


class DemoPage:
    def __init__(self, config: DemoConfig) -> None:
        self._config = config
        self._emulator = trusting_session(config.ca_file)
        outlook = "/demo/outlook/<mail>/events"
        self._map = Map(
            [Rule(page, endpoint="page") for page in PAGES]
            + [
                Rule("/conversations/<conversation_id>", endpoint="page"),
                Rule("/static/<path:name>", endpoint="static"),
                Rule("/demo/config", endpoint="demo_config", methods=["GET"]),
                Rule("/demo/token", endpoint="token", methods=["POST"]),
                Rule(outlook, endpoint="outlook", methods=["GET", "POST"]),
                Rule(f"{outlook}/<event_id>", endpoint="outlook", methods=["PATCH", "DELETE"]),
                Rule(f"{outlook}/<event_id>/respond", endpoint="outlook", methods=["POST"]),
                Rule("/demo/clock", endpoint="clock", methods=["GET", "POST"]),
            ]
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, values = self._map.bind_to_environ(environ).match()
            response = getattr(self, f"_{endpoint}")(request, **values)
        except HTTPException as error:
            response = _json({"error": error.description}, error.code or 500)
        except requests.RequestException as error:
            response = _json({"error": f"the Graph emulator did not answer: {error}"}, 502)
        return response(environ, start_response)

    # --- the page ------------------------------------------------------------------------------

    def _page(self, request: Request, conversation_id: str | None = None) -> Response:
        response = self._file("index.html")
        api_origin = self._config.api_url
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; connect-src 'self' {api_origin}; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        )
        return response

    def _static(self, request: Request, name: str) -> Response:
        return self._file(name)

    def _file(self, name: str) -> Response:
        path = safe_join(str(STATIC), name)
        if path is None or not Path(path).is_file():
            raise NotFound()
        media = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return Response(
            Path(path).read_bytes(),
            content_type=f"{media}; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    # --- the host app's backend: who you are ----------------------------------------------------

    def _demo_config(self, request: Request) -> Response:
        return _json(
            {
                "apiBase": f"{self._config.api_url}/api",
                "pollSeconds": self._config.poll_seconds,
                "people": [person_view(p) for p in PEOPLE],
            }
        )

    def _token(self, request: Request) -> Response:
        key = (request.get_json(silent=True) or {}).get("person")
        person = next((p for p in PEOPLE if p.key == key), None)
        if person is None:
            return _json({"error": "no such demo person"}, 404)
        token = demo_person_token(person, self._config.token_settings)
        return _json({"token": token, "person": person_view(person)})

    # --- Outlook and the clock, through the emulator's control API ------------------------------

    def _outlook(self, request: Request, mail: str, event_id: str | None = None) -> Response:
        path = f"/_emulator/mailboxes/{mail}/events"
        if event_id is not None:
            path += f"/{event_id}"
        if request.path.endswith("/respond"):
            path += "/respond"
        return self._forward(request, path)

    def _clock(self, request: Request) -> Response:
        return self._forward(request, "/_emulator/clock")

    def _forward(self, request: Request, path: str) -> Response:
        answer = self._emulator.request(
            request.method,
            self._config.emulator_url + path,
            data=request.get_data() or None,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
        return Response(
            answer.content,
            status=answer.status_code,
            content_type=answer.headers.get("Content-Type", "application/json"),
        )


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
