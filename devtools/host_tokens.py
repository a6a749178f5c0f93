"""Mint the host web app's user tokens (HS256 JWTs) for demos and tests.

A real host app signs these itself; the function app only verifies them (issue: connect).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import jwt

from devtools.demo_directory import Person


def mint_host_token(
    *,
    user_id: str,
    org_id: str,
    secret: str,
    issuer: str,
    audience: str,
    name: str | None = None,
    email: str | None = None,
    roles: Sequence[str] = (),
    lifetime_seconds: int = 8 * 3600,
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {
        "sub": user_id,
        "org": org_id,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime_seconds,
    }
    if name:
        claims["name"] = name
    if email:
        claims["email"] = email
    if roles:
        claims["roles"] = list(roles)
    return jwt.encode(claims, secret, algorithm="HS256")


def demo_person_token(person: Person, settings: Mapping[str, str]) -> str:
    """A demo person's token in their own organisation, signed with the stack's settings
    (HOST_APP_TOKEN_SECRET, _ISSUER, _AUDIENCE), as the host app's backend would sign it."""
    return mint_host_token(
        user_id=person.host_user_id,
        org_id=person.host_org_id,
        secret=settings["HOST_APP_TOKEN_SECRET"],
        issuer=settings["HOST_APP_TOKEN_ISSUER"],
        audience=settings["HOST_APP_TOKEN_AUDIENCE"],
        name=person.display_name,
        email=person.mail,
        roles=("admin",) if person.host_app_admin else (),
    )
