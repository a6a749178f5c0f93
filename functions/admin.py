"""Organisation admins: the Outlook switches and the tenant-wide admin consent."""

import re
from typing import Any

import azure.functions as func

from functions.http import (
    api,
    authenticate,
    completion_code,
    json_response,
    read_json,
    redirect,
    services,
    sign_in_answer,
)
from shared.connections.views import sign_in_view
from shared.errors import ErrorCode, InvalidRequest
from shared.organisations.model import Switches
from shared.organisations.views import settings_view

blueprint = func.Blueprint()

_SWITCH_FIELDS = ("allowOutlookCalendar", "syncConversations", "tenantId")
_TENANT = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"
)


@blueprint.route(route="admin/settings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def get_admin_settings(req: func.HttpRequest) -> func.HttpResponse:
    stored = services().organisations.settings(authenticate(req))
    headers = {"ETag": stored.etag} if stored.etag else None
    return json_response(settings_view(stored.settings), headers=headers)


@blueprint.route(route="admin/settings", methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def put_admin_settings(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    switches = parse_switches(read_json(req))
    saved = services().lifecycle.replace_settings(caller, switches, req.headers.get("If-Match"))
    return json_response(settings_view(saved.settings), headers={"ETag": saved.etag})


@blueprint.route(route="admin/consent", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def admin_consent_link(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    started = services().organisations.consent_link(caller, req.params.get("returnUrl"))
    return json_response(sign_in_view("consentUrl", started.url, started.expires_at))


@blueprint.route(
    route="admin/consent/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS
)
@api
def admin_consent_callback(req: func.HttpRequest) -> func.HttpResponse:
    return redirect(services().organisations.consent_returned(sign_in_answer(req)))


@blueprint.route(
    route="admin/consent/complete", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS
)
@api
def complete_admin_consent(req: func.HttpRequest) -> func.HttpResponse:
    """The admin page, back from Microsoft with `adminConsentCompletion`, records the answer
    with the token of the admin who asked for it."""
    caller = authenticate(req)
    completed = services().organisations.complete_consent(caller, completion_code(req))
    stored = completed.settings
    body = {"outcome": completed.outcome.value, "settings": settings_view(stored.settings)}
    return json_response(body, headers={"ETag": stored.etag} if stored.etag else None)


def parse_switches(body: dict[str, Any]) -> Switches:
    unknown = sorted(set(body) - set(_SWITCH_FIELDS))
    if unknown:
        raise InvalidRequest(
            f"Unknown fields: {', '.join(unknown)} (allowed: {', '.join(_SWITCH_FIELDS)}).",
            ErrorCode.UNKNOWN_FIELDS,
        )
    allow, sync = body.get("allowOutlookCalendar"), body.get("syncConversations")
    if not isinstance(allow, bool) or not isinstance(sync, bool):
        raise InvalidRequest(
            "allowOutlookCalendar and syncConversations are required booleans.",
            ErrorCode.INVALID_SETTINGS,
        )
    tenant = body.get("tenantId")
    if tenant is not None and (
        not isinstance(tenant, str) or len(tenant) > 253 or not _TENANT.fullmatch(tenant)
    ):
        raise InvalidRequest(
            "tenantId must be a Microsoft Entra tenant id (GUID) or domain, or null.",
            ErrorCode.INVALID_TENANT,
        )
    return Switches(allow_outlook=allow, sync_conversations=sync, tenant_id=tenant)
