"""Schemathesis checks of this API's own promises (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.check
def problem_json_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error answer is application/problem+json whose `status` is the answer's."""
    if response.status_code < 400 or case.method.upper() != case.operation.method.upper():
        return None  # a method the route does not take is the Functions host's 404, not ours
    media = (response.headers.get("content-type") or [""])[0].split(";", 1)[0].strip()
    if media != "application/problem+json":
        raise AssertionError(f"{response.status_code} answered as {media or 'no content type'}")
    body = json.loads(response.content)
    if body.get("status") != response.status_code or not body.get("title"):
        raise AssertionError(f"problem body does not match the status: {body}")
    return None
