"""Control API for change notifications, subscriptions and delta tokens (tests, dev).

GET    /_emulator/notifications                  delivery log (every POST: url, kind, outcome,
                                                 status, latencyMs, attempt, notifications),
                                                 pending queue, modes, settings, endpoint health
DELETE /_emulator/notifications                  clear the delivery log
POST   /_emulator/notifications/flush            wait until nothing is in flight and nothing
       {timeout_seconds?, horizon_seconds?}      is due within the horizon (default 2 s);
                                                 answers {delivered: [every notification item
                                                 delivered since the reset], pending, inFlight,
                                                 held, timedOut}
POST   /_emulator/notifications/hold             stop posting (changes keep queueing)
POST   /_emulator/notifications/release          post again {shuffle?: true = in random order}
POST   /_emulator/notifications/duplicate        {times}: queue every notification n times
POST   /_emulator/notifications/shuffle          {on, seed?}: shuffle the notifications of each
                                                 POST (and of `release`)
POST   /_emulator/notifications/drop             {on}: lose every new change notification
GET    /_emulator/notifications/settings         delivery settings
PATCH  /_emulator/notifications/settings         {timeout_seconds, batch_size, retry_base_seconds,
                                                 retry_max_seconds, retry_window_seconds,
                                                 slow_after_seconds, slow_window_seconds,
                                                 slow_min_samples, slow_percent, drop_percent,
                                                 slow_delay_seconds, drop_seconds,
                                                 handshake_timeout_seconds,
                                                 flush_horizon_seconds}
GET    /_emulator/subscriptions                  every live subscription {value: [...]}
GET    /_emulator/subscriptions/{id}             one (Graph's view plus mailbox, paused, ...)
DELETE /_emulator/subscriptions/{id}             Graph forgets it silently (renewal then 404)
POST   /_emulator/subscriptions/{id}/lifecycle   {event: reauthorizationRequired
                                                 [grace_seconds] | subscriptionRemoved |
                                                 missed [drop_next]}
POST   /_emulator/delta/invalidate               {mailbox?: upn or object id}: delta and skip
                                                 tokens issued so far answer 410
"""

from __future__ import annotations

import json
import logging
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools.graph_emulator import graph_delta, lifecycle
from devtools.graph_emulator.notifications import hub_of
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.web import json_response

logger = logging.getLogger("devtools.graph_emulator")
PREFIXES = (
    "/_emulator/notifications",
    "/_emulator/subscriptions",
    "/_emulator/delta",
)


def handles(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PREFIXES)


class SyncControl:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        n, s = "/_emulator/notifications", "/_emulator/subscriptions"
        self._map = Map(
            [
                Rule(n, endpoint="notifications", methods=["GET", "DELETE"]),
                Rule(f"{n}/flush", endpoint="flush", methods=["POST"]),
                Rule(f"{n}/hold", endpoint="hold", methods=["POST"]),
                Rule(f"{n}/release", endpoint="release", methods=["POST"]),
                Rule(f"{n}/duplicate", endpoint="duplicate", methods=["POST"]),
                Rule(f"{n}/shuffle", endpoint="shuffle", methods=["POST"]),
                Rule(f"{n}/drop", endpoint="drop", methods=["POST"]),
                Rule(f"{n}/settings", endpoint="settings", methods=["GET", "PATCH"]),
                Rule(s, endpoint="subscriptions", methods=["GET"]),
                Rule(f"{s}/<subscription_id>", endpoint="subscription", methods=["GET", "DELETE"]),
                Rule(f"{s}/<subscription_id>/lifecycle", endpoint="lifecycle", methods=["POST"]),
                Rule("/_emulator/delta/invalidate", endpoint="invalidate", methods=["POST"]),
            ],
            strict_slashes=False,
        )

    def handle(self, request: Request) -> Response:
        try:
            endpoint, values = self._map.bind("control").match(request.path, request.method)
            return getattr(self, f"_{endpoint}")(request, **values)
        except HTTPException as error:
            return json_response({"error": error.description}, status=error.code or 400)
        except lifecycle.NoSuchSubscription as missing:
            return json_response({"error": f"no live subscription {missing}"}, status=404)
        except (ValueError, TypeError, KeyError) as error:
            return json_response({"error": f"bad request: {error}"}, status=400)
        except Exception:
            logger.exception("control %s %s failed", request.method, request.path)
            return json_response({"error": "the emulator failed; see its log"}, status=500)

    @property
    def _hub(self):  # type: ignore[no-untyped-def]
        return hub_of(self._state)

    # --- notifications -----------------------------------------------------------------------

    def _notifications(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._hub.clear_log()
        return json_response(self._hub.snapshot())

    def _flush(self, request: Request) -> Response:
        body = _body(request)
        horizon = body.get("horizon_seconds")
        return json_response(
            self._hub.flush(
                timeout=float(body.get("timeout_seconds", 30)),
                horizon=None if horizon is None else float(horizon),
            )
        )

    def _hold(self, request: Request) -> Response:
        return json_response(self._hub.hold())

    def _release(self, request: Request) -> Response:
        return json_response(self._hub.release(shuffle=bool(_body(request).get("shuffle"))))

    def _duplicate(self, request: Request) -> Response:
        modes = self._hub.set_modes(duplicate=_body(request).get("times", 1))
        return json_response({"times": modes["duplicate"], **modes})

    def _shuffle(self, request: Request) -> Response:
        body = _body(request)
        return json_response(
            self._hub.set_modes(shuffle=bool(body.get("on", True)), seed=body.get("seed"))
        )

    def _drop(self, request: Request) -> Response:
        modes = self._hub.set_modes(dropping=bool(_body(request).get("on", True)))
        return json_response({"dropping": modes["dropping"], **modes})

    def _settings(self, request: Request) -> Response:
        from dataclasses import asdict

        if request.method == "PATCH":
            self._hub.configure(_body(request))
        return json_response(asdict(self._hub.settings))

    # --- subscriptions -----------------------------------------------------------------------

    def _subscriptions(self, request: Request) -> Response:
        now = self._state.clock.now_utc()
        return json_response(
            {"value": [s.as_control(now) for s in self._hub.subscriptions.all_live()]}
        )

    def _subscription(self, request: Request, subscription_id: str) -> Response:
        store = self._hub.subscriptions
        subscription = store.live(subscription_id)
        if subscription is None:
            raise lifecycle.NoSuchSubscription(subscription_id)
        if request.method == "DELETE":
            store.remove(subscription_id)
            return Response(status=204)
        return json_response(subscription.as_control(self._state.clock.now_utc()))

    def _lifecycle(self, request: Request, subscription_id: str) -> Response:
        body = _body(request)
        return json_response(
            lifecycle.trigger(
                self._state,
                subscription_id,
                str(body.get("event")),
                grace_seconds=body.get("grace_seconds"),
                drop_next=int(body.get("drop_next", 0)),
            )
        )

    # --- delta ---------------------------------------------------------------------------

    def _invalidate(self, request: Request) -> Response:
        reference = _body(request).get("mailbox")
        mailbox = None
        if reference:
            directory = self._state.directory
            user = directory.user_by_sign_in_name(reference) or directory.user(reference)
            if user is None:
                return json_response({"error": f"no directory user {reference!r}"}, status=404)
            mailbox = user.object_id
        invalidated = graph_delta.tokens_of(self._state).invalidate(mailbox)
        return json_response({"invalidated": invalidated if mailbox else "all"})


def _body(request: Request) -> dict[str, Any]:
    text = request.get_data(as_text=True)
    if not text:
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data
