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


@schemathesis.check
def removed_conversations_stay_removed(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's use_after_free, as this API means DELETE: 204 when the conversation was
    removed, 200 when it was kept (cancelled, because it has notes or actions). Only after a
    204 must the conversation answer 404. (ctx.internals is the pinned version's scenario log.)"""
    conversation_id = (case.path_parameters or {}).get("id")
    if conversation_id is None or not 200 <= response.status_code < 300:
        return None
    if case.method.upper() == "DELETE":
        return None  # deleting again is allowed: idempotent
    for earlier in ctx.internals.find_related(case_id=case.id):
        if (
            earlier.method.upper() != "DELETE"
            or (earlier.path_parameters or {}).get("id") != conversation_id
        ):
            continue
        removed = ctx.internals.find_response(case_id=earlier.id)
        if removed is not None and removed.status_code == 204:
            raise AssertionError(
                f"{case.method} {case.formatted_path} answered {response.status_code} after "
                f"DELETE removed the conversation (204)"
            )
    return None
