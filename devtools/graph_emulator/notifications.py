"""Webhook delivery: change and lifecycle notifications posted by background workers.

A change in the calendar store reaches `on_change` (inside the store's write lock, so it only
queues); a dispatcher thread takes what is due, groups it per URL into `{"value": [...]}` posts
(several notifications per POST, as Graph batches them) and hands each post to a small pool, at
most one post in flight per URL. Never inside the request that made the change.

- Any 2xx is delivered. Anything else (or no answer within `timeout_seconds`) is retried with
  exponential back-off, `retry_base_seconds * 2**n` capped at `retry_max_seconds`, for
  `retry_window_seconds` (Graph: 4 hours) of emulator time, then discarded (and a `missed`
  lifecycle notification queued). Due times are on the emulator clock: advancing it makes
  delayed deliveries due at once.
- Slow endpoints: every answer is timed. Over `slow_window_seconds` (10 minutes), once at least
  `slow_min_samples` answers are in, more than `slow_percent` (10%) of them over
  `slow_after_seconds` (10 s) makes the endpoint "slow": new notifications wait
  `slow_delay_seconds` (10 s); more than `drop_percent` (15%) makes it "drop": new change
  notifications are lost for `drop_seconds` (10 minutes) and a `missed` lifecycle notification
  is queued.
- Hostile modes for tests: duplicate every notification N times, shuffle each post, hold and
  release deliveries, lose everything (`dropping`), lose the next N of one subscription.
- `flush()` lets tests wait: it returns once nothing is in flight and nothing (not held) is due
  within `flush_horizon_seconds`.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

import requests

from devtools.graph_emulator.change_feed import FeedChange, feed_of
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.subscriptions import (
    Subscription,
    SubscriptionStore,
    graph_instant,
)

logger = logging.getLogger("devtools.graph_emulator.notifications")

LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
_LOG_SIZE = 5_000
_POLL = 0.05  # seconds between looks at the emulator clock while something waits to be due


@dataclass(frozen=True)
class DeliverySettings:
    timeout_seconds: float = 10.0
    batch_size: int = 50
    retry_base_seconds: float = 0.1
    retry_max_seconds: float = 600.0
    retry_window_seconds: float = 4 * 3600.0
    slow_after_seconds: float = 10.0
    slow_window_seconds: float = 600.0
    slow_min_samples: int = 100
    slow_percent: float = 10.0
    drop_percent: float = 15.0
    slow_delay_seconds: float = 10.0
    drop_seconds: float = 600.0
    handshake_timeout_seconds: float = 10.0
    flush_horizon_seconds: float = 2.0

    def changed(self, values: dict[str, Any]) -> DeliverySettings:
        known = {f.name: f.type for f in fields(self)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown delivery settings: {sorted(unknown)}")
        typed: dict[str, Any] = {}
        for name, value in values.items():
            number = float(value)
            if number < 0:
                raise ValueError(f"{name} must not be negative")
            typed[name] = int(number) if name in ("batch_size", "slow_min_samples") else number
        if typed.get("batch_size", 1) < 1:
            raise ValueError("batch_size must be at least 1")
        return replace(self, **typed)


@dataclass
class Pending:
    seq: int
    url: str
    kind: str  # "change" | "lifecycle"
    subscription_id: str
    item: dict[str, Any]
    due: float  # emulator epoch seconds
    attempts: int = 0
    first_attempt: float | None = None


@dataclass
class EndpointHealth:
    samples: deque[tuple[float, bool]] = field(default_factory=deque)  # (when, slow)
    state: str = "normal"  # normal | slow | drop
    drop_until: float | None = None

    def record(self, now: float, slow: bool, settings: DeliverySettings) -> None:
        self.samples.append((now, slow))
        self.refresh(now, settings)

    def refresh(self, now: float, settings: DeliverySettings) -> None:
        while self.samples and self.samples[0][0] <= now - settings.slow_window_seconds:
            self.samples.popleft()
        if self.state == "drop" and self.drop_until is not None and now < self.drop_until:
            return
        self.drop_until = None
        total = len(self.samples)
        if total == 0 or total < settings.slow_min_samples:
            self.state = "normal"
            return
        percent = 100.0 * sum(1 for _, slow in self.samples if slow) / total
        if percent > settings.drop_percent:
            self.state, self.drop_until = "drop", now + settings.drop_seconds
        elif percent > settings.slow_percent:
            self.state = "slow"
        else:
            self.state = "normal"

    def view(self, now: float, settings: DeliverySettings) -> dict[str, Any]:
        self.refresh(now, settings)
        total = len(self.samples)
        slow = sum(1 for _, s in self.samples if s)
        return {
            "state": self.state,
            "samples": total,
            "slow": slow,
            "slowPercent": round(100.0 * slow / total, 2) if total else 0.0,
            "dropUntil": _iso(self.drop_until) if self.drop_until else None,
        }


class NotificationHub:
    """Subscriptions' delivery queue, workers, hostile modes and the delivery log."""

    def __init__(self, state: EmulatorState, subscriptions: SubscriptionStore) -> None:
        self._state = state
        self._clock = state.clock
        self.subscriptions = subscriptions
        self._cond = threading.Condition(threading.RLock())
        self._epoch = 0
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook")
        self._clear()
        threading.Thread(
            target=self._dispatch_forever, name="webhook-dispatch", daemon=True
        ).start()

    # --- state ---------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.settings = DeliverySettings()
        self._pending: list[Pending] = []
        self._in_flight: dict[str, list[Pending]] = {}
        self._delivered: list[dict[str, Any]] = []
        self._log: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)
        self._endpoints: dict[str, EndpointHealth] = {}
        self._etags: dict[str, str] = {}
        self._seq = 0
        self._log_seq = 0
        self.duplicate = 1
        self.shuffle = False
        self.held = False
        self.dropping = False
        self._random = random.Random()

    def reset(self) -> None:
        with self._cond:
            self._epoch += 1  # answers to posts already out are ignored
            self._clear()
            self._cond.notify_all()

    def configure(self, values: dict[str, Any]) -> DeliverySettings:
        with self._cond:
            self.settings = self.settings.changed(values)
            self._cond.notify_all()
            return self.settings

    def set_modes(self, **modes: Any) -> dict[str, Any]:
        with self._cond:
            if "duplicate" in modes:
                times = int(modes["duplicate"])
                if times < 1:
                    raise ValueError("times must be at least 1")
                self.duplicate = times
            for name in ("shuffle", "dropping"):
                if name in modes:
                    setattr(self, name, bool(modes[name]))
            if modes.get("seed") is not None:  # a seeded shuffle, for repeatable tests
                self._random.seed(int(modes["seed"]))
            self._cond.notify_all()
            return self.modes()

    def modes(self) -> dict[str, Any]:
        return {
            "duplicate": self.duplicate,
            "shuffle": self.shuffle,
            "held": self.held,
            "dropping": self.dropping,
        }

    def hold(self) -> dict[str, Any]:
        with self._cond:
            self.held = True
            return self.summary()

    def release(self, shuffle: bool = False) -> dict[str, Any]:
        with self._cond:
            self.held = False
            if shuffle:
                self._random.shuffle(self._pending)
                for pending in self._pending:  # the new order is the delivery order
                    pending.seq = self._next_seq()
            self._cond.notify_all()
            return self.summary()

    # --- queueing ------------------------------------------------------------------------------

    def on_change(self, change: FeedChange) -> None:
        """A change in a mailbox: queue a notification for each live subscription covering it."""
        subscriptions = [
            s
            for s in self.subscriptions.for_mailbox(change.mailbox)
            if s.covers(change.change_type)
        ]
        if not subscriptions:
            return
        etag = self._etag(change)
        now_dt = self._clock.now_utc()
        now = now_dt.timestamp()
        with self._cond:
            for subscription in subscriptions:
                item = change_notification(subscription, change, etag)
                reason = self._loss(subscription, now_dt)
                if reason is not None:
                    self._record_drop([item], subscription.notification_url, reason)
                    continue
                health = self._health(subscription.notification_url, now)
                if health.state == "drop":
                    self._record_drop([item], subscription.notification_url, "endpoint throttled")
                    self._queue_missed(subscription, now)
                    continue
                due = now + (self.settings.slow_delay_seconds if health.state == "slow" else 0)
                for _ in range(self.duplicate):
                    self._push(
                        subscription.notification_url, "change", subscription.id, dict(item), due
                    )
            self._cond.notify_all()

    def lifecycle(self, subscription: Subscription, event: str) -> dict[str, Any]:
        """Queue a lifecycle notification (the caller changes the subscription itself)."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"event must be one of {LIFECYCLE_EVENTS}")
        item = lifecycle_notification(subscription, event)
        with self._cond:
            if subscription.lifecycle_url is None:
                self._record_drop([item], "", "no lifecycleNotificationUrl")
            else:
                self._push(
                    subscription.lifecycle_url,
                    "lifecycle",
                    subscription.id,
                    item,
                    self._clock.now(),
                )
            self._cond.notify_all()
        return item

    def drop_pending(self, subscription_id: str, reason: str) -> int:
        """Lose the queued (not in-flight) change notifications of a subscription."""
        with self._cond:
            lost = [
                p
                for p in self._pending
                if p.kind == "change" and p.subscription_id == subscription_id
            ]
            if lost:
                self._pending = [p for p in self._pending if p not in lost]
                self._record_drop([p.item for p in lost], lost[0].url, reason)
            self._cond.notify_all()
            return len(lost)

    def _loss(self, subscription: Subscription, now: datetime) -> str | None:
        if self.dropping:
            return "dropping (control API)"
        if subscription.paused(now):
            return "reauthorization required"
        if self.subscriptions.take_drop(subscription.id):
            return "missed (control API)"
        return None

    def _queue_missed(self, subscription: Subscription, now: float) -> None:
        if subscription.lifecycle_url is None:
            return
        already = any(
            p.kind == "lifecycle"
            and p.subscription_id == subscription.id
            and p.item.get("lifecycleEvent") == "missed"
            for p in self._pending
        )
        if not already:
            self._push(
                subscription.lifecycle_url,
                "lifecycle",
                subscription.id,
                lifecycle_notification(subscription, "missed"),
                now,
            )

    def _push(
        self, url: str, kind: str, subscription_id: str, item: dict[str, Any], due: float
    ) -> None:
        self._pending.append(Pending(self._next_seq(), url, kind, subscription_id, item, due))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _etag(self, change: FeedChange) -> str:
        owner = self._state.directory.user(change.mailbox)
        event = feed_of(self._state).event(owner, change.event_id) if owner else None
        if event and event.get("changeKey"):
            etag = f'W/"{event["changeKey"]}"'
            with self._cond:
                self._etags[change.event_id] = etag
            return etag
        with self._cond:
            known = self._etags.get(change.event_id)
        return known or f'W/"{base64.b64encode(str(change.sequence).encode()).decode()}"'

    def _health(self, url: str, now: float) -> EndpointHealth:
        health = self._endpoints.setdefault(url, EndpointHealth())
        health.refresh(now, self.settings)
        return health

    # --- delivery ------------------------------------------------------------------------------

    def _dispatch_forever(self) -> None:
        while True:
            try:
                self._dispatch_once()
            except Exception:  # never let the dispatcher die
                logger.exception("webhook dispatch failed")
                time.sleep(_POLL)

    def _dispatch_once(self) -> None:
        with self._cond:
            now = self._clock.now()
            batch = None if self.held else self._next_batch(now)
            if batch is None:
                waiting = not self.held and any(p.url not in self._in_flight for p in self._pending)
                self._cond.wait(_POLL if waiting else 1.0)
                return
            url = batch[0].url
            self._in_flight[url] = batch
            epoch = self._epoch
        self._pool.submit(self._send, epoch, url, batch)

    def _next_batch(self, now: float) -> list[Pending] | None:
        due = [p for p in self._pending if p.due <= now and p.url not in self._in_flight]
        if not due:
            return None
        url = min(due, key=lambda p: (p.due, p.seq)).url
        batch = sorted((p for p in due if p.url == url), key=lambda p: p.seq)
        batch = batch[: self.settings.batch_size]
        taken = {id(p) for p in batch}
        self._pending = [p for p in self._pending if id(p) not in taken]
        live = []
        for pending in batch:
            gone = (
                pending.kind == "change"
                and self.subscriptions.live(pending.subscription_id) is None
            )
            if gone:
                self._record_drop([pending.item], url, "subscription gone", outcome="discarded")
            else:
                live.append(pending)
        if not live:
            return self._next_batch(now)
        if self.shuffle:
            self._random.shuffle(live)
        for pending in live:
            pending.attempts += 1
            if pending.first_attempt is None:
                pending.first_attempt = now
        return live

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # loopback receivers; no proxies or CA bundles from env
            self._local.session = session
        return session

    def _send(self, epoch: int, url: str, batch: list[Pending]) -> None:
        body = json.dumps({"value": [p.item for p in batch]})
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            answer = self._session().post(
                url,
                data=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=self.settings.timeout_seconds,
            )
            status = answer.status_code
        except requests.Timeout:
            error = "timeout"
        except requests.RequestException as failure:
            error = type(failure).__name__
        latency = time.perf_counter() - started
        with self._cond:
            if epoch != self._epoch:
                return
            self._in_flight.pop(url, None)
            now = self._clock.now()
            settings = self.settings
            health = self._endpoints.setdefault(url, EndpointHealth())
            health.record(
                now, error == "timeout" or latency > settings.slow_after_seconds, settings
            )
            delivered = status is not None and 200 <= status < 300
            self._log_attempt(url, batch, status, error, latency, delivered)
            if delivered:
                self._delivered.extend(p.item for p in batch)
            else:
                self._retry(batch, now)
            self._cond.notify_all()

    def _retry(self, batch: list[Pending], now: float) -> None:
        settings = self.settings
        for pending in batch:
            first = pending.first_attempt if pending.first_attempt is not None else now
            if now - first >= settings.retry_window_seconds:
                self._record_drop([pending.item], pending.url, "retry window over")
                subscription = self.subscriptions.live(pending.subscription_id)
                if pending.kind == "change" and subscription is not None:
                    self._queue_missed(subscription, now)
                continue
            delay = min(
                settings.retry_base_seconds * 2 ** (pending.attempts - 1),
                settings.retry_max_seconds,
            )
            pending.due = now + delay
            self._pending.append(pending)

    # --- the log, and waiting for it -----------------------------------------------------------

    def _log_attempt(
        self,
        url: str,
        batch: list[Pending],
        status: int | None,
        error: str | None,
        latency: float,
        delivered: bool,
    ) -> None:
        self._log_seq += 1
        self._log.append(
            {
                "id": self._log_seq,
                "at": _iso(self._clock.now()),
                "url": url,
                "kind": batch[0].kind,
                "outcome": "delivered" if delivered else "failed",
                "reason": None if delivered else (error or f"HTTP {status}"),
                "status": status,
                "latencyMs": round(latency * 1000, 3),
                "attempt": max(p.attempts for p in batch),
                "count": len(batch),
                "notifications": [_summary(p.item) for p in batch],
            }
        )

    def _record_drop(
        self, items: list[dict[str, Any]], url: str, reason: str, outcome: str = "dropped"
    ) -> None:
        self._log_seq += 1
        self._log.append(
            {
                "id": self._log_seq,
                "at": _iso(self._clock.now()),
                "url": url,
                "kind": "lifecycle" if items and "lifecycleEvent" in items[0] else "change",
                "outcome": outcome,
                "reason": reason,
                "status": None,
                "latencyMs": None,
                "attempt": 0,
                "count": len(items),
                "notifications": [_summary(i) for i in items],
            }
        )

    def flush(self, timeout: float = 30.0, horizon: float | None = None) -> dict[str, Any]:
        """Wait until nothing is in flight and nothing deliverable is due within `horizon`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            window = self.settings.flush_horizon_seconds if horizon is None else horizon
            while True:
                now = self._clock.now()
                busy = bool(self._in_flight) or (
                    not self.held and any(p.due <= now + window for p in self._pending)
                )
                left = deadline - time.monotonic()
                if not busy or left <= 0:
                    return {**self.summary(), "timedOut": busy}
                self._cond.wait(min(left, _POLL))

    def summary(self) -> dict[str, Any]:
        with self._cond:
            return {
                "delivered": list(self._delivered),
                "pending": len(self._pending),
                "inFlight": sum(len(b) for b in self._in_flight.values()),
                "held": self.held,
            }

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            now = self._clock.now()
            return {
                "deliveries": list(self._log),
                "pending": [
                    {
                        **_summary(p.item),
                        "url": p.url,
                        "kind": p.kind,
                        "due": _iso(p.due),
                        "attempts": p.attempts,
                    }
                    for p in sorted(self._pending, key=lambda p: (p.due, p.seq))
                ],
                "inFlight": sum(len(b) for b in self._in_flight.values()),
                "deliveredCount": len(self._delivered),
                "modes": self.modes(),
                "settings": asdict(self.settings),
                "endpoints": {
                    url: health.view(now, self.settings) for url, health in self._endpoints.items()
                },
            }

    def clear_log(self) -> None:
        with self._cond:
            self._log.clear()


# --- payloads ----------------------------------------------------------------------------------


def change_notification(
    subscription: Subscription, change: FeedChange, etag: str
) -> dict[str, Any]:
    resource = f"Users/{change.mailbox}/Events/{change.event_id}"
    return {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": graph_instant(subscription.expires),
        "changeType": change.change_type,
        "resource": resource,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": resource,
            "@odata.etag": etag,
            "id": change.event_id,
        },
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }


def lifecycle_notification(subscription: Subscription, event: str) -> dict[str, Any]:
    return {
        "lifecycleEvent": event,
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": graph_instant(subscription.expires),
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    summary = {"subscriptionId": item.get("subscriptionId")}
    if "lifecycleEvent" in item:
        summary["lifecycleEvent"] = item["lifecycleEvent"]
    else:
        summary["changeType"] = item.get("changeType")
        summary["id"] = (item.get("resourceData") or {}).get("id")
    return summary


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


# --- wiring ------------------------------------------------------------------------------------


def hub_of(state: EmulatorState) -> NotificationHub:
    """The state's subscriptions and delivery hub, created and hooked to the feed on first use."""
    existing = getattr(state, "notification_hub", None)
    if existing is None:
        subscriptions = SubscriptionStore(state.clock)
        existing = NotificationHub(state, subscriptions)
        state.notification_hub = existing  # type: ignore[attr-defined]
        state.register_store(subscriptions)
        state.register_store(existing)
        feed_of(state).on_change(existing.on_change)
    return existing
