"""Mint the host web app's user tokens (HS256 JWTs) for demos and tests.

A real host app signs these itself; the function app only verifies them (issue: connect).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import jwt


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
