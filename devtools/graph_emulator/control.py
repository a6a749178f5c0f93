"""The control API under `/_emulator/` (JSON, same HTTPS port): seed, faults, outcomes, clock, log.

GET    /_emulator/health                               200 once it can serve (its Graph
                                                       schema loads), else 503 and why
POST   /_emulator/reset                                back to the seed (settings included)
GET    /_emulator/directory                            organisations, people, the app
GET    /_emulator/faults                               current latency and fault rules
POST   /_emulator/faults                               {"path_prefix", "status", "count",
                                                        "retry_after", "method"} and/or
                                                       {"latency_ms"}
POST   /_emulator/faults                               {"path_prefix", "method", "count",
                                                        "hold": true | "drop": true}: carry
                                                       the request out, then hold its answer
                                                       (until released) or drop the connection
POST   /_emulator/faults/release                       held answers go: {"answer": false}
                                                       drops them; answers {"released": n}
DELETE /_emulator/faults                               no faults, no latency (held answers
                                                       are sent)
POST   /_emulator/users/{upn}/refresh-tokens           {"action": "expire" | "revoke" |
                                                        "withdraw_consent"}
POST   /_emulator/users/{upn}/next-sign-in             {"outcome": "consent_declined" |
                                                        "admin_approval_required" |
                                                        "server_error" | null}
POST   /_emulator/tenants/{tid}/next-admin-consent     {"outcome": "granted" | "declined"}
PATCH  /_emulator/tenants/{tid}                        {"user_consent_allowed": bool}
GET    /_emulator/tenants/{tid}/assignment             the enterprise app's "Assignment
PATCH  /_emulator/tenants/{tid}/assignment             required?" and who is assigned:
                                                       {"required": bool, "users": [upn, mail
                                                        or id], "groups": [group id]}
                                                       (assignment.py: AADSTS50105)
PATCH  /_emulator/users/{upn}                          {"userPrincipalName": "..."}: an admin
                                                       gives the account a UPN
GET    /_emulator/consents                             user and tenant-wide grants
GET    /_emulator/requests   DELETE /_emulator/requests   the request log
GET    /_emulator/clock      POST /_emulator/clock     {"advance_seconds": n} (forward),
                                                       {"offset_seconds": n} (real time + n,
                                                        0 = real time) or {"move": "+8d"}
                                                       (devtools.clock's moves); with
                                                       --clock-file, the local stack's clock
GET    /_emulator/settings   PATCH /_emulator/settings {"access_token_lifetime",
                                                        "redirect_uris", "mailbox_limits":
                                                        {"concurrency", "requests",
                                                         "window_seconds"},
                                                        "managed_identity_token_lifetime"}
GET    /_emulator/app/federated-credentials            the app registration's federated
PUT    /_emulator/app/federated-credentials            identity credentials: [{"name",
                                                        "issuer_tenant_id", "subject",
                                                        "audiences"}] replaces them
"""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import Enum
from typing import Any, TypeVar

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools import demo_directory
from devtools.clock import parse_move
from devtools.demo_directory import FederatedCredential
from devtools.graph_emulator.consent import AdminConsentOutcome, SignInOutcome
from devtools.graph_emulator.directory import DirectoryUser, Tenant
from devtools.graph_emulator.schema import load_schema
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.throttle import MailboxLimits
from devtools.graph_emulator.web import json_response

PREFIX = "/_emulator"
_E = TypeVar("_E", bound=Enum)


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ControlApi:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        p = PREFIX
        self._map = Map(
            [
                Rule(f"{p}/health", endpoint="health", methods=["GET"]),
                Rule(f"{p}/reset", endpoint="reset", methods=["POST"]),
                Rule(f"{p}/directory", endpoint="directory", methods=["GET"]),
                Rule(f"{p}/faults", endpoint="faults", methods=["GET", "POST", "DELETE"]),
                Rule(f"{p}/faults/release", endpoint="release", methods=["POST"]),
                Rule(
                    f"{p}/users/<upn>/refresh-tokens", endpoint="refresh_tokens", methods=["POST"]
                ),
                Rule(f"{p}/users/<upn>/next-sign-in", endpoint="next_sign_in", methods=["POST"]),
                Rule(
                    f"{p}/tenants/<tenant_id>/next-admin-consent",
                    endpoint="next_admin_consent",
                    methods=["POST"],
                ),
                Rule(f"{p}/tenants/<tenant_id>", endpoint="tenant", methods=["PATCH"]),
                Rule(
                    f"{p}/tenants/<tenant_id>/assignment",
                    endpoint="assignment",
                    methods=["GET", "PATCH"],
                ),
                Rule(f"{p}/users/<upn>", endpoint="user_patch", methods=["PATCH"]),
                Rule(f"{p}/consents", endpoint="consents", methods=["GET"]),
                Rule(f"{p}/requests", endpoint="requests", methods=["GET", "DELETE"]),
                Rule(f"{p}/clock", endpoint="clock", methods=["GET", "POST"]),
                Rule(f"{p}/settings", endpoint="settings", methods=["GET", "PATCH"]),
                Rule(
                    f"{p}/app/federated-credentials",
                    endpoint="federated_credentials",
                    methods=["GET", "PUT"],
                ),
            ],
            strict_slashes=False,
        )

    def handle(self, request: Request) -> Response:
        try:
            endpoint, values = self._map.bind("control").match(request.path, request.method)
            return getattr(self, f"_{endpoint}")(request, **values)
        except HTTPException as error:
            return json_response({"error": error.description}, status=error.code or 400)
        except ControlError as error:
            return json_response({"error": str(error)}, status=error.status)
        except (ValueError, TypeError, KeyError) as error:
            return json_response({"error": f"bad request: {error}"}, status=400)

    # --- endpoints ------------------------------------------------------------------------

    def _health(self, request: Request) -> Response:
        try:
            load_schema()
        except Exception as error:
            problem = f"Graph's v1.0 schema does not load: {error}"
            return json_response({"status": "unhealthy", "problems": [problem]}, status=503)
        return json_response({"status": "healthy", "now": self._state.clock.now_utc().isoformat()})

    def _reset(self, request: Request) -> Response:
        self._state.reset()
        return json_response({"reset": True})

    def _directory(self, request: Request) -> Response:
        return json_response(
            {
                "organisations": [asdict(o) for o in demo_directory.ORGANISATIONS],
                "people": [
                    _plain(asdict(p)) | {"in_directory": p.in_directory}
                    for p in demo_directory.PEOPLE
                ],
                "groups": [asdict(g) for g in demo_directory.GROUPS],
                "app": _plain(asdict(self._state.app))
                | {"redirect_uris": list(self._state.settings.redirect_uris)},
            }
        )

    def _faults(self, request: Request) -> Response:
        faults = self._state.faults
        if request.method == "POST":
            rule = faults.configure(_body(request))
            return json_response(
                {"rule": asdict(rule) if rule else None, **faults.snapshot()}, status=201
            )
        if request.method == "DELETE":
            faults.reset()
        return json_response(faults.snapshot())

    def _release(self, request: Request) -> Response:
        answer = _body(request).get("answer", True)
        if not isinstance(answer, bool):
            raise ControlError(400, "answer must be true or false")
        return json_response({"released": self._state.faults.release(answer=answer)})

    def _refresh_tokens(self, request: Request, upn: str) -> Response:
        user = self._user(upn)
        action = _body(request).get("action")
        state, now = self._state, self._state.clock.now()
        if action == "expire":
            affected = state.refresh_tokens.expire_user(user.object_id, now)
        elif action == "revoke":
            affected = state.refresh_tokens.revoke_user(user.object_id, now)
        elif action == "withdraw_consent":
            state.consents.withdraw_user(user.tenant_id, user.object_id, state.app.client_id)
            affected = 0
        else:
            raise ControlError(400, "action must be expire, revoke or withdraw_consent")
        return json_response(
            {"user": user.user_principal_name, "action": action, "refresh_tokens": affected}
        )

    def _next_sign_in(self, request: Request, upn: str) -> Response:
        user = self._user(upn)
        raw = _body(request).get("outcome")
        outcome = None if raw in (None, "none", "success") else _member(SignInOutcome, raw)
        self._state.consents.set_next_sign_in(user.object_id, outcome)
        return json_response(
            {"user": user.user_principal_name, "outcome": outcome.value if outcome else None}
        )

    def _next_admin_consent(self, request: Request, tenant_id: str) -> Response:
        tenant = self._tenant_or_404(tenant_id)
        outcome = _member(AdminConsentOutcome, _body(request).get("outcome"))
        self._state.consents.set_next_admin_consent(tenant.tenant_id, outcome)
        return json_response({"tenant": tenant.tenant_id, "outcome": outcome.value})

    def _tenant(self, request: Request, tenant_id: str) -> Response:
        tenant = self._tenant_or_404(tenant_id)
        body = _body(request)
        if "user_consent_allowed" in body:
            allowed = body["user_consent_allowed"]
            if not isinstance(allowed, bool):
                raise ControlError(400, "user_consent_allowed must be true or false")
            self._state.consents.set_user_consent_allowed(tenant.tenant_id, allowed)
        return json_response(
            {
                "tenant": tenant.tenant_id,
                "user_consent_allowed": self._state.consents.user_consent_allowed(tenant.tenant_id),
            }
        )

    def _assignment(self, request: Request, tenant_id: str) -> Response:
        tenant = self._tenant_or_404(tenant_id)
        store = self._state.assignments
        if request.method == "GET":
            return json_response({"tenant": tenant.tenant_id, **store.of(tenant.tenant_id)})
        body = _body(request)
        required = body.get("required")
        if required is not None and not isinstance(required, bool):
            raise ControlError(400, "required must be true or false")
        users = body.get("users")
        groups = body.get("groups")
        for name, value in (("users", users), ("groups", groups)):
            if value is not None and not isinstance(value, list):
                raise ControlError(400, f"{name} must be a list")
        if groups is not None:
            unknown = [g for g in groups if self._state.directory.group(str(g)) is None]
            if unknown:
                raise ControlError(404, f"no group {unknown[0]!r}")
        answer = store.configure(
            tenant.tenant_id,
            required=required,
            users=None if users is None else [self._user(str(u)).object_id for u in users],
            groups=None if groups is None else [str(g) for g in groups],
        )
        return json_response({"tenant": tenant.tenant_id, **answer})

    def _user_patch(self, request: Request, upn: str) -> Response:
        user = self._user(upn)
        body = _body(request)
        name = body.get("userPrincipalName")
        if not isinstance(name, str) or "@" not in name:
            raise ControlError(400, "userPrincipalName must be name@domain")
        changed = self._state.directory.set_user_principal_name(user.object_id, name)
        return json_response({"id": changed.object_id, "userPrincipalName": name})

    def _consents(self, request: Request) -> Response:
        return json_response(self._state.consents.snapshot())

    def _requests(self, request: Request) -> Response:
        log = self._state.requests
        if request.method == "DELETE":
            log.clear()
            return json_response({"requests": []})
        return json_response({"requests": log.entries()})

    def _clock(self, request: Request) -> Response:
        clock = self._state.clock
        if request.method == "POST":
            body = _body(request)
            if "offset_seconds" in body:
                clock.set_offset(float(body["offset_seconds"]))
            elif "move" in body:
                clock.set_offset(clock.offset_seconds + parse_move(str(body["move"])))
            else:
                clock.advance(float(body["advance_seconds"]))
        return json_response(
            {"now": clock.now_utc().isoformat(), "offset_seconds": clock.offset_seconds}
        )

    def _settings(self, request: Request) -> Response:
        state = self._state
        if request.method == "PATCH":
            body = _body(request)
            changes: dict[str, Any] = {}
            if "access_token_lifetime" in body:
                lifetime = int(body["access_token_lifetime"])
                if lifetime < 1:
                    raise ControlError(400, "access_token_lifetime must be positive")
                changes["access_token_lifetime"] = lifetime
            if "redirect_uris" in body:
                changes["redirect_uris"] = tuple(str(u) for u in body["redirect_uris"])
            if "managed_identity_token_lifetime" in body:
                changes["managed_identity_token_lifetime"] = int(
                    body["managed_identity_token_lifetime"]
                )
            if changes:
                state.update_settings(**changes)
            if "mailbox_limits" in body:
                state.throttle.configure(
                    MailboxLimits(**{**asdict(state.throttle.limits), **body["mailbox_limits"]})
                )
        return json_response(
            state.settings.as_json() | {"mailbox_limits": asdict(state.throttle.limits)}
        )

    def _federated_credentials(self, request: Request) -> Response:
        store = self._state.federated_credentials
        if request.method == "PUT":
            items = json.loads(request.get_data(as_text=True) or "[]")
            if not isinstance(items, list):
                raise ControlError(400, "the body must be a JSON list of credentials")
            store.replace(
                tuple(
                    FederatedCredential(
                        name=str(item["name"]),
                        issuer_tenant_id=str(item["issuer_tenant_id"]),
                        subject=str(item["subject"]),
                        audiences=tuple(str(a) for a in item.get("audiences") or ()),
                    )
                    for item in items
                )
            )
        return json_response({"value": [asdict(c) for c in store.all()]})

    # --- lookups --------------------------------------------------------------------------

    def _user(self, reference: str) -> DirectoryUser:
        directory = self._state.directory
        user = directory.user_by_sign_in_name(reference) or directory.user(reference)
        if user is None:
            raise ControlError(404, f"no directory user {reference!r}")
        return user

    def _tenant_or_404(self, reference: str) -> Tenant:
        tenant = self._state.directory.tenant(reference)
        if tenant is None:
            raise ControlError(404, f"no tenant {reference!r}")
        return tenant


def _body(request: Request) -> dict[str, Any]:
    text = request.get_data(as_text=True)
    if not text:
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ControlError(400, "the body must be a JSON object")
    return data


def _member(enum: type[_E], value: Any) -> _E:
    try:
        return enum(value)
    except ValueError as error:
        choices = ", ".join(str(m.value) for m in enum)
        raise ControlError(400, f"outcome must be one of: {choices}") from error


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in values.items()}
