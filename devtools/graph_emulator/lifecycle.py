"""Lifecycle events of subscriptions: what each does to the subscription, and the notification.

- reauthorizationRequired: marks the subscription; change notifications keep flowing for
  `grace_seconds` (emulator clock, default 10 minutes) and are lost after that until the app
  calls `POST /subscriptions/{id}/reauthorize` or renews with PATCH.
- subscriptionRemoved: the subscription is gone (404 from then on); queued change notifications
  for it are lost.
- missed: queued change notifications for it are lost (and the next `drop_next` ones too); the
  app is told to resynchronise.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from devtools.graph_emulator.notifications import LIFECYCLE_EVENTS, hub_of
from devtools.graph_emulator.state import EmulatorState

DEFAULT_REAUTHORIZATION_GRACE = timedelta(minutes=10)


class NoSuchSubscription(LookupError):
    pass


def trigger(
    state: EmulatorState,
    subscription_id: str,
    event: str,
    *,
    grace_seconds: float | None = None,
    drop_next: int = 0,
) -> dict[str, Any]:
    """Make `event` happen to a live subscription; answers what was queued and what was lost."""
    if event not in LIFECYCLE_EVENTS:
        raise ValueError(f"event must be one of {', '.join(LIFECYCLE_EVENTS)}")
    hub = hub_of(state)
    store = hub.subscriptions
    subscription = store.live(subscription_id)
    if subscription is None:
        raise NoSuchSubscription(subscription_id)
    now = state.clock.now_utc()
    lost = 0
    if event == "reauthorizationRequired":
        grace = (
            DEFAULT_REAUTHORIZATION_GRACE
            if grace_seconds is None
            else timedelta(seconds=float(grace_seconds))
        )
        subscription = (
            store.update(subscription_id, reauthorize_requested=now, paused_from=now + grace)
            or subscription
        )
        item = hub.lifecycle(subscription, event)
    elif event == "subscriptionRemoved":
        item = hub.lifecycle(subscription, event)
        store.remove(subscription_id)
        lost = hub.drop_pending(subscription_id, "subscription removed")
    else:
        lost = hub.drop_pending(subscription_id, "missed (control API)")
        if drop_next:
            store.update(subscription_id, drop_next=max(0, int(drop_next)))
        item = hub.lifecycle(subscription, event)
    return {"event": event, "notification": item, "lost": lost}


def reauthorized(state: EmulatorState, subscription_id: str) -> None:
    """The app reauthorized (or renewed): notifications flow again."""
    hub_of(state).subscriptions.update(
        subscription_id, reauthorize_requested=None, paused_from=None
    )
