"""`/v1.0/subscriptions`: change-notification subscriptions on the caller's Outlook events.

POST   /subscriptions                      create (validation handshake first), 201
GET    /subscriptions                      the caller's (this app, this user) live subscriptions
GET    /subscriptions/{id}                 one of them
PATCH  /subscriptions/{id}                 renew (`expirationDateTime`) and/or move
                                           (`notificationUrl`, validated again); reauthorizes
DELETE /subscriptions/{id}                 204
POST   /subscriptions/{id}/reauthorize     204; clears a pending reauthorizationRequired

Another user's (or app's) subscription, an expired one and a removed one all answer 404.
"""

from __future__ import annotations

from typing import Any

import requests
from werkzeug.wrappers import Response

from devtools.graph_emulator import errors, lifecycle, prefer
from devtools.graph_emulator.change_feed import CHANGE_TYPES
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.graph_api import GraphRequest, GraphRoutes
from devtools.graph_emulator.notifications import hub_of
from devtools.graph_emulator.schema import validate_body
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.subscriptions import (
    CLIENT_STATE_MAX,
    TLS_VERSIONS,
    Subscription,
    checked_expiry,
    checked_url,
    handshake,
    handshake_failed,
    new_subscription_id,
)

# Creating a subscription on events needs read access to them (Calendars.Read is the least).
SUBSCRIPTION_SCOPES = (
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared",
)
PATCHABLE = {"expirationDateTime", "notificationUrl"}


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    hub_of(state)
    scopes = {"scopes": SUBSCRIPTION_SCOPES}
    routes.add("/subscriptions", create_subscription, ["POST"], **scopes)
    routes.add("/subscriptions", list_subscriptions, ["GET"], **scopes)
    routes.add("/subscriptions/<subscription_id>", get_subscription, ["GET"], **scopes)
    routes.add("/subscriptions/<subscription_id>", update_subscription, ["PATCH"], **scopes)
    routes.add("/subscriptions/<subscription_id>", delete_subscription, ["DELETE"], **scopes)
    routes.add("/subscriptions/<subscription_id>/reauthorize", reauthorize, ["POST"], **scopes)


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback endpoints; no proxies or CA bundles from the env
    return session


def _validate(request: GraphRequest, *urls: str) -> None:
    timeout = hub_of(request.state).settings.handshake_timeout_seconds
    with _session() as session:
        for url in urls:
            result = handshake(session, url, timeout)
            if not result.ok:
                raise handshake_failed(result)


def _body(request: GraphRequest) -> dict[str, Any]:
    body = request.json_body()
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    validate_body("subscription", body)
    return body


def _answer(request: GraphRequest, subscription: Subscription, status: int = 200) -> Response:
    context = f"{request.graph_base_url}/$metadata#subscriptions/$entity"
    return request.respond(
        {"@odata.context": context, **subscription.as_graph()},
        status=status,
        headers=request.prefer.applied(prefer.IMMUTABLE_ID),
    )


def _mailbox_of(request: GraphRequest, resource: str) -> str:
    """The mailbox (object id) a resource path watches; only the caller's own events."""
    parts = [p for p in resource.strip().strip("/").split("/") if p]
    caller = request.caller.user
    lowered = [p.lower() for p in parts]
    if lowered == ["me", "events"]:
        return caller.object_id
    if len(parts) == 3 and lowered[0] == "users" and lowered[2] == "events":
        target = request.state.directory.user_in_tenant(caller.tenant_id, parts[1])
        if target is None:
            raise errors.directory_object_not_found(parts[1])
        if target.object_id != caller.object_id:
            raise errors.mailbox_access_denied()
        return target.object_id
    raise GraphError(
        400,
        "InvalidRequest",
        f"The resource '{resource}' is not supported: subscribe to 'me/events' or "
        "'users/{id}/events'.",
    )


def create_subscription(request: GraphRequest) -> Response:
    body = _body(request)
    for name in ("changeType", "notificationUrl", "resource"):
        if not body.get(name):
            raise GraphError(
                400, "InvalidRequest", f"{name} is a required property for subscription creation."
            )
    change_types = tuple(t.strip() for t in str(body["changeType"]).split(",") if t.strip())
    if not change_types or any(t not in CHANGE_TYPES for t in change_types):
        raise GraphError(
            400,
            "InvalidRequest",
            f"'{body['changeType']}' is not a valid changeType: use created, updated and/or "
            "deleted, comma-separated.",
        )
    client_state = body.get("clientState")
    if client_state is not None and len(str(client_state)) > CLIENT_STATE_MAX:
        raise GraphError(
            400,
            "InvalidRequest",
            f"clientState exceeds the maximum length of {CLIENT_STATE_MAX} characters.",
        )
    tls = body.get("latestSupportedTlsVersion") or "v1_2"
    if tls not in TLS_VERSIONS:
        raise GraphError(
            400, "InvalidRequest", f"'{tls}' is not a valid latestSupportedTlsVersion."
        )
    if body.get("includeResourceData"):
        raise GraphError(
            400,
            "InvalidRequest",
            "includeResourceData is not supported by the emulator (it needs an "
            "encryptionCertificate).",
        )
    mailbox = _mailbox_of(request, str(body["resource"]))
    if request.caller.user.mailbox_on_premises:
        raise errors.mailbox_not_enabled()
    notification_url = checked_url(body["notificationUrl"], "notificationUrl")
    lifecycle_url = body.get("lifecycleNotificationUrl")
    if lifecycle_url is not None:
        lifecycle_url = checked_url(lifecycle_url, "lifecycleNotificationUrl")
    now = request.state.clock.now_utc()
    expires = checked_expiry(body.get("expirationDateTime"), now, creating=True)
    _validate(request, *filter(None, (notification_url, lifecycle_url)))
    subscription = Subscription(
        id=new_subscription_id(),
        app_id=request.caller.app_id,
        creator_id=request.caller.user.object_id,
        tenant_id=request.caller.user.tenant_id,
        mailbox=mailbox,
        resource=str(body["resource"]),
        change_types=change_types,
        notification_url=notification_url,
        lifecycle_url=lifecycle_url,
        client_state=None if client_state is None else str(client_state),
        expires=expires,
        tls_version=tls,
        immutable_ids=request.prefer.immutable_ids,
        created=now,
    )
    hub_of(request.state).subscriptions.add(subscription)
    return _answer(request, subscription, 201)


def list_subscriptions(request: GraphRequest) -> Response:
    mine = [
        s.as_graph()
        for s in hub_of(request.state).subscriptions.all_live()
        if s.app_id == request.caller.app_id and s.creator_id == request.caller.user.object_id
    ]
    return request.respond(
        {"@odata.context": f"{request.graph_base_url}/$metadata#subscriptions", "value": mine}
    )


def _owned(request: GraphRequest, subscription_id: str) -> Subscription:
    subscription = hub_of(request.state).subscriptions.live(subscription_id)
    if (
        subscription is None
        or subscription.app_id != request.caller.app_id
        or subscription.creator_id != request.caller.user.object_id
    ):
        raise GraphError(
            404, "ResourceNotFound", f"The subscription '{subscription_id}' was not found."
        )
    return subscription


def get_subscription(request: GraphRequest, subscription_id: str) -> Response:
    return _answer(request, _owned(request, subscription_id))


def update_subscription(request: GraphRequest, subscription_id: str) -> Response:
    subscription = _owned(request, subscription_id)
    body = _body(request)
    other = set(body) - PATCHABLE
    if other:
        raise GraphError(
            400,
            "InvalidRequest",
            f"Only expirationDateTime and notificationUrl can be updated, not {sorted(other)}.",
        )
    if not body.get("expirationDateTime") and not body.get("notificationUrl"):
        checked_expiry(None, request.state.clock.now_utc(), creating=False)
    changes: dict[str, Any] = {}
    if body.get("expirationDateTime"):
        changes["expires"] = checked_expiry(
            body["expirationDateTime"], request.state.clock.now_utc(), creating=False
        )
    new_url = body.get("notificationUrl")
    if new_url and new_url != subscription.notification_url:
        changes["notification_url"] = checked_url(new_url, "notificationUrl")
        _validate(request, changes["notification_url"])
    store = hub_of(request.state).subscriptions
    updated = store.update(subscription_id, **changes, reauthorize_requested=None, paused_from=None)
    if updated is None:
        raise GraphError(
            404, "ResourceNotFound", f"The subscription '{subscription_id}' was not found."
        )
    return _answer(request, updated)


def delete_subscription(request: GraphRequest, subscription_id: str) -> Response:
    _owned(request, subscription_id)
    hub = hub_of(request.state)
    hub.subscriptions.remove(subscription_id)
    hub.drop_pending(subscription_id, "subscription deleted")
    return Response(status=204, headers=request.ids.headers())


def reauthorize(request: GraphRequest, subscription_id: str) -> Response:
    _owned(request, subscription_id)
    if request.http.get_data():
        request.json_body()  # an empty object is fine; malformed JSON is not
    lifecycle.reauthorized(request.state, subscription_id)
    return Response(status=204, headers=request.ids.headers())
