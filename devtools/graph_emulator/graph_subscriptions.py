"""Change notifications: subscriptions on mailbox events, webhook delivery, lifecycle events,
and calendarView delta, all built on the mailboxes' change feed.

Delivery runs on its own thread, never inside the request that made the change. Tests wait for
it with `POST /_emulator/notifications/flush`, which returns once everything queued was posted.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from werkzeug.wrappers import Response

from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.graph_api import GraphRequest, GraphRoutes
from devtools.graph_emulator.graph_calendar import CALENDAR_READ
from devtools.graph_emulator.graph_mailbox_events import mailboxes_of
from devtools.graph_emulator.mailboxes import Change, event_end, event_start
from devtools.graph_emulator.schema import validate_body
from devtools.graph_emulator.state import EmulatorState

MAX_LIFETIME = timedelta(minutes=10_080)  # Outlook resources
HANDSHAKE_TIMEOUT = 10


@dataclass
class Subscription:
    id: str
    mailbox: str
    tenant_id: str
    change_types: set[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime
    resource: str

    def as_json(self, creator: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "changeType": ",".join(sorted(self.change_types)),
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "clientState": self.client_state,
            "creatorId": creator,
            "expirationDateTime": self.expires.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            "latestSupportedTlsVersion": "v1_2",
            "includeResourceData": False,
        }


@dataclass
class Notifications:
    """Subscriptions and their delivery queue; `reset` empties both."""

    state: EmulatorState
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    pending: deque[tuple[str, dict[str, Any]]] = field(default_factory=deque)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    duplicate: int = 1
    dropping: bool = False

    def __post_init__(self) -> None:
        self.lock = threading.Condition()
        self._session = requests.Session()
        self._session.trust_env = False
        self._busy = False
        threading.Thread(target=self._deliver_forever, name="notifications", daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.subscriptions.clear()
            self.pending.clear()
            self.delivered.clear()
            self.duplicate, self.dropping = 1, False

    def live(self, subscription_id: str) -> Subscription | None:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None or subscription.expires <= self.state.clock.now_utc():
            return None
        return subscription

    def on_change(self, change: Change) -> None:
        with self.lock:
            if self.dropping:
                return
            for subscription in list(self.subscriptions.values()):
                if (
                    subscription.mailbox != change.mailbox
                    or change.change_type not in subscription.change_types
                ):
                    continue
                if self.live(subscription.id) is None:
                    continue
                resource = f"Users/{change.mailbox}/Events/{change.event_id}"
                item = {
                    "subscriptionId": subscription.id,
                    "subscriptionExpirationDateTime": subscription.expires.isoformat(),
                    "changeType": change.change_type,
                    "resource": resource,
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.Event",
                        "@odata.id": resource,
                        "@odata.etag": f'W/"{change.sequence}"',
                        "id": change.event_id,
                    },
                    "clientState": subscription.client_state,
                    "tenantId": subscription.tenant_id,
                }
                for _ in range(self.duplicate):
                    self.pending.append((subscription.notification_url, item))
            self.lock.notify_all()

    def lifecycle(self, subscription: Subscription, event: str) -> None:
        item = {
            "lifecycleEvent": event,
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": subscription.expires.isoformat(),
            "clientState": subscription.client_state,
            "tenantId": subscription.tenant_id,
        }
        with self.lock:
            if event == "subscriptionRemoved":
                self.subscriptions.pop(subscription.id, None)
            if subscription.lifecycle_url:
                self.pending.append((subscription.lifecycle_url, item))
            self.lock.notify_all()

    def flush(self, timeout: float = 30) -> list[dict[str, Any]]:
        with self.lock:
            self.lock.wait_for(lambda: not self.pending and not self._busy, timeout)
            return list(self.delivered)

    def _deliver_forever(self) -> None:
        while True:
            with self.lock:
                self.lock.wait_for(lambda: bool(self.pending))
                url = self.pending[0][0]
                batch = []
                while self.pending and self.pending[0][0] == url and len(batch) < 100:
                    batch.append(self.pending.popleft()[1])
                self._busy = True
            status = self._post(url, {"value": batch})
            with self.lock:
                if status is None or status >= 300:  # not delivered: back in front, retried
                    self.pending.extendleft(reversed([(url, item) for item in batch]))
                else:
                    self.delivered.extend(batch)
                self._busy = False
                self.lock.notify_all()
            if status is None or status >= 300:
                threading.Event().wait(0.2)  # back-off before retrying a failed delivery

    def _post(self, url: str, body: dict[str, Any]) -> int | None:
        try:
            return self._session.post(url, json=body, timeout=HANDSHAKE_TIMEOUT).status_code
        except requests.RequestException:
            return None


def notifications_of(state: EmulatorState) -> Notifications:
    existing = getattr(state, "notifications", None)
    if existing is None:
        existing = Notifications(state)
        state.notifications = existing  # type: ignore[attr-defined]
        state.register_store(existing)
        mailboxes_of(state).on_change(existing.on_change)
    return existing


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    notifications_of(state)
    scopes = ("Calendars.ReadWrite", "Calendars.Read")
    routes.add("/subscriptions", create_subscription, ["POST"], scopes=scopes)
    routes.add("/subscriptions/<subscription_id>", update_subscription, ["PATCH"], scopes=scopes)
    routes.add("/subscriptions/<subscription_id>", delete_subscription, ["DELETE"], scopes=scopes)
    routes.add("/subscriptions/<subscription_id>/reauthorize", reauthorize, ["POST"], scopes=scopes)
    routes.add_for_user(
        "/calendarView/delta", delta, ["GET"], self_scopes=CALENDAR_READ, mailbox=True
    )


def _handshake(session: requests.Session, url: str) -> bool:
    token = f"Validation: {uuid.uuid4()}"
    try:
        answer = session.post(f"{url}?validationToken={quote(token)}", timeout=HANDSHAKE_TIMEOUT)
    except requests.RequestException:
        return False
    return answer.status_code == 200 and answer.text == token


def _expiry(request: GraphRequest, value: Any) -> datetime:
    try:
        expires = _instant(str(value))
    except ValueError:
        raise GraphError(400, "InvalidRequest", "expirationDateTime is not a valid date.") from None
    now = request.state.clock.now_utc()
    if expires <= now:
        raise GraphError(
            400, "InvalidRequest", "Subscription expiration can only be in the future."
        )
    return min(expires.astimezone(UTC), now + MAX_LIFETIME)


def _instant(text: str) -> datetime:
    head, _, rest = text.replace("Z", "+00:00").partition(".")
    if rest:  # Graph writes up to 7 fraction digits; Python reads 6
        digits = "".join(c for c in rest if c.isdigit())
        head = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    moment = datetime.fromisoformat(head)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_subscription(request: GraphRequest) -> Response:
    body = request.json_body()
    validate_body("subscription", body)
    resource = str(body.get("resource", "")).strip("/")
    if resource.lower() not in (
        "me/events",
        f"users/{request.caller.user.object_id}/events".lower(),
    ):
        raise GraphError(400, "ExtensionError", f"Resource '{resource}' is not supported here.")
    notifications = notifications_of(request.state)
    for url in filter(None, (body.get("notificationUrl"), body.get("lifecycleNotificationUrl"))):
        if not _handshake(notifications._session, url):
            raise GraphError(
                400,
                "InvalidRequest",
                "Subscription validation request failed. Notification endpoint must respond "
                "with 200 OK to validation request.",
            )
    subscription = Subscription(
        id=str(uuid.uuid4()),
        mailbox=request.caller.user.object_id,
        tenant_id=request.caller.user.tenant_id,
        change_types={c.strip() for c in str(body.get("changeType", "")).split(",") if c.strip()},
        notification_url=body["notificationUrl"],
        lifecycle_url=body.get("lifecycleNotificationUrl"),
        client_state=body.get("clientState"),
        expires=_expiry(request, body.get("expirationDateTime")),
        resource=resource,
    )
    with notifications.lock:
        notifications.subscriptions[subscription.id] = subscription
    return request.respond(subscription.as_json(request.caller.user.object_id), status=201)


def _owned(request: GraphRequest, subscription_id: str) -> Subscription:
    subscription = notifications_of(request.state).live(subscription_id)
    if subscription is None or subscription.mailbox != request.caller.user.object_id:
        raise GraphError(
            404, "ResourceNotFound", f"The object was not found: subscription {subscription_id}."
        )
    return subscription


def update_subscription(request: GraphRequest, subscription_id: str) -> Response:
    subscription = _owned(request, subscription_id)
    body = request.json_body()
    validate_body("subscription", body)
    subscription.expires = _expiry(request, body.get("expirationDateTime"))
    return request.respond(subscription.as_json(request.caller.user.object_id))


def delete_subscription(request: GraphRequest, subscription_id: str) -> Response:
    _owned(request, subscription_id)
    with notifications_of(request.state).lock:
        notifications_of(request.state).subscriptions.pop(subscription_id, None)
    return Response(status=204)


def reauthorize(request: GraphRequest, subscription_id: str) -> Response:
    _owned(request, subscription_id)
    return Response(status=204)


def delta(request: GraphRequest, target: DirectoryUser) -> Response:
    """Initial round: every event in the window; later rounds: what the change feed says."""
    args = request.http.args
    mailboxes = mailboxes_of(request.state)
    window = (args.get("startDateTime"), args.get("endDateTime"))
    if None in window:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by StartDateTime and EndDateTime.",
        )
    start, end = (_instant(str(w)) for w in window)
    feed = list(mailboxes.feed)
    position = feed[-1].sequence if feed else 0
    token = args.get("$deltatoken")
    if token is None:
        items = [
            e for e in mailboxes.events(target) if event_start(e) < end and event_end(e) > start
        ]
    else:
        changed = dict.fromkeys(
            c.event_id for c in feed if c.sequence > int(token) and c.mailbox == target.object_id
        )
        items = []
        for event_id in changed:
            event = mailboxes.event(target, event_id)
            items.append(
                event if event is not None else {"@removed": {"reason": "deleted"}, "id": event_id}
            )
    link = (
        f"{request.graph_base_url}/me/calendarView/delta?$deltatoken={position}"
        f"&startDateTime={quote(window[0])}&endDateTime={quote(window[1])}"
    )
    return request.respond({"value": items, "@odata.deltaLink": link})


class NotificationControl:
    """Control API for delivery, for tests:

    POST /_emulator/notifications/flush                 wait until every queued one was posted
    POST /_emulator/notifications/duplicate {times}     deliver each notification `times` times
    POST /_emulator/notifications/drop {on}             lose notifications (for "missed")
    GET  /_emulator/subscriptions                       the live subscriptions
    POST /_emulator/subscriptions/{id}/lifecycle {event}  reauthorizationRequired,
                                                        subscriptionRemoved or missed
    DELETE /_emulator/subscriptions/{id}                Graph forgets it silently (renewal then 404)
    """

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def handle(self, request: Any) -> Response:
        from devtools.graph_emulator.web import json_response

        notifications = notifications_of(self._state)
        parts = [p for p in request.path.split("/") if p][1:]
        body = request.get_json(silent=True) or {}
        if parts == ["notifications", "flush"]:
            return json_response({"delivered": notifications.flush()})
        if parts == ["notifications", "duplicate"]:
            notifications.duplicate = max(1, int(body.get("times", 1)))
            return json_response({"times": notifications.duplicate})
        if parts == ["notifications", "drop"]:
            notifications.dropping = bool(body.get("on"))
            return json_response({"dropping": notifications.dropping})
        if parts == ["subscriptions"]:
            creator = ""
            return json_response(
                {"value": [s.as_json(creator) for s in notifications.subscriptions.values()]}
            )
        if len(parts) >= 2 and parts[0] == "subscriptions":
            subscription = notifications.subscriptions.get(parts[1])
            if subscription is None:
                return json_response({"error": "no such subscription"}, status=404)
            if request.method == "DELETE" and len(parts) == 2:
                with notifications.lock:
                    notifications.subscriptions.pop(parts[1], None)
                return Response(status=204)
            if parts[2:] == ["lifecycle"]:
                event = body.get("event")
                if event not in ("reauthorizationRequired", "subscriptionRemoved", "missed"):
                    return json_response({"error": "unknown lifecycle event"}, status=400)
                notifications.lifecycle(subscription, event)
                return json_response({"event": event})
        return json_response({"error": "unknown control endpoint"}, status=404)
