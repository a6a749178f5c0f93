"""Connect a calendar without a browser, doing what the browser and the host app's page do.

    source .stack/tokens.env
    python -m devtools.connect "$EMPLOYEE_ALEX_TOKEN"

Starts the sign-in with the token (POST /api/me/calendar/connect), signs in at the emulator (as
the token's person, or `--sign-in-as` someone else), posts Microsoft's answer to the app's
callback like the browser does, and completes with the same token
(POST /api/me/calendar/complete): prints each step and the app's last answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from devtools.host_app import TIMEOUT, Browser, query_of

DEFAULT_API = "http://127.0.0.1:7071/api"
DEFAULT_CA = Path(".stack") / "emulator" / "ca.pem"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.connect",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("token", help="a host-app token (source .stack/tokens.env)")
    parser.add_argument("--api", default=DEFAULT_API, help=f"the app's API (default {DEFAULT_API})")
    parser.add_argument("--ca", type=Path, default=DEFAULT_CA, help="the emulator's CA file")
    parser.add_argument("--sign-in-as", help="the Microsoft account that signs in (a UPN)")
    args = parser.parse_args(argv)

    app = requests.Session()
    app.headers["Authorization"] = f"Bearer {args.token}"
    started = app.post(f"{args.api}/me/calendar/connect", json={}, timeout=TIMEOUT)
    if started.status_code != 200:
        print(f"connect: {started.status_code} {started.text}", file=sys.stderr)
        return 1
    url = started.json()["authorizationUrl"]
    if args.sign_in_as:
        parts = urlsplit(url)
        query = {**dict(parse_qsl(parts.query)), "login_hint": args.sign_in_as}
        url = urlunsplit(parts._replace(query=urlencode(query)))
    browser = Browser(args.ca)  # the browser carries no host-app token
    answer = browser.at_microsoft(url)
    print(f"Microsoft answers with a {answer.method} to {answer.url}")
    back = browser.deliver(answer)
    location = back.headers.get("Location", "")
    print(f"the app sends the browser back to {location or back.status_code}")
    code = query_of(location).get("outlookCompletion")
    if code is None:
        return 0 if back.status_code == 302 else 1
    completed = app.post(f"{args.api}/me/calendar/complete", json={"code": code}, timeout=TIMEOUT)
    print(json.dumps(completed.json(), indent=2))
    return 0 if completed.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
