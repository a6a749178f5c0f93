"""Scopes and consent: what an app asks for, what users and admins granted, and what happens next.

Entra treats a bare permission (`User.Read`) as Microsoft Graph's; the emulator also takes its own
origin (`https://127.0.0.1:<port>/User.Read`) as Graph's resource, the way a national cloud has its
own Graph host. Permission names are matched case-insensitively and kept in canonical spelling.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from devtools.demo_directory import RegisteredApp
from devtools.graph_emulator import sts_errors
from devtools.graph_emulator.persistence import PersistedFields

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_PUBLIC_RESOURCE = "https://graph.microsoft.com"
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})

# Delegated Graph permissions the emulator knows; True = only an admin can consent.
GRAPH_DELEGATED_PERMISSIONS: dict[str, bool] = {
    "User.Read": False,
    "User.ReadWrite": False,
    "User.ReadBasic.All": False,
    "User.Read.All": True,
    "Directory.Read.All": True,
    "Calendars.Read": False,
    "Calendars.ReadBasic": False,
    "Calendars.ReadWrite": False,
    "Calendars.Read.Shared": False,
    "Calendars.ReadWrite.Shared": False,
    "MailboxSettings.Read": False,
    "MailboxSettings.ReadWrite": False,
    "OnlineMeetings.ReadWrite": False,
    "People.Read": False,
    "Place.Read.All": True,
}
_CANONICAL = {name.lower(): name for name in GRAPH_DELEGATED_PERMISSIONS}


class SignInOutcome(Enum):
    """What the next interactive sign-in of a user ends with (set through the control API)."""

    CONSENT_DECLINED = "consent_declined"
    ADMIN_APPROVAL_REQUIRED = "admin_approval_required"
    SERVER_ERROR = "server_error"


class AdminConsentOutcome(Enum):
    GRANTED = "granted"
    DECLINED = "declined"


@dataclass(frozen=True)
class GraphResource:
    """The identifiers that name Graph here: Microsoft's, plus the emulator's own origins."""

    identifiers: frozenset[str]

    @classmethod
    def for_origins(cls, *origins: str) -> GraphResource:
        names = {GRAPH_PUBLIC_RESOURCE, GRAPH_APP_ID, *origins}
        return cls(frozenset(n.rstrip("/").lower() for n in names))

    def names(self, resource: str) -> bool:
        return resource.rstrip("/").lower() in self.identifiers


@dataclass(frozen=True)
class ScopeRequest:
    oidc: frozenset[str]
    permissions: frozenset[str]  # canonical Graph permission names, `.default` expanded
    resource: str | None  # how the request named Graph (None: bare permission names)
    explicit: tuple[str, ...] = ()  # the permission names as requested, canonical

    @property
    def audience(self) -> str:
        """The `aud` Entra puts in the access token: the resource as the request named it."""
        return self.resource.rstrip("/") if self.resource else GRAPH_APP_ID

    def spell(self, permission: str) -> str:
        return f"{self.resource.rstrip('/')}/{permission}" if self.resource else permission


def parse_scopes(
    raw: str, graph: GraphResource, app: RegisteredApp, tenant_name: str
) -> ScopeRequest:
    oidc: set[str] = set()
    permissions: set[str] = set()
    explicit: list[str] = []
    resource: str | None = None
    for token in raw.split():
        if token.lower() in OIDC_SCOPES:
            oidc.add(token.lower())
            continue
        owner, _, name = token.rpartition("/")
        if owner:
            if not graph.names(owner):
                raise sts_errors.unknown_resource(owner, tenant_name)
            resource = resource or owner
        if name.lower() == ".default":
            permissions.update(app.required_permissions)
            continue
        canonical = _CANONICAL.get(name.lower())
        if canonical is None:
            raise sts_errors.invalid_scope(token)
        permissions.add(canonical)
        explicit.append(canonical)
    return ScopeRequest(frozenset(oidc), frozenset(permissions), resource, tuple(explicit))


def admin_only(permissions: frozenset[str]) -> frozenset[str]:
    return frozenset(p for p in permissions if GRAPH_DELEGATED_PERMISSIONS.get(p, False))


@dataclass
class _Grants:
    user: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)  # tenant, oid, app
    tenant: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # tenant, app
    user_consent_blocked: set[str] = field(default_factory=set)  # tenants
    next_sign_in: dict[str, SignInOutcome] = field(default_factory=dict)  # oid
    next_admin_consent: dict[str, AdminConsentOutcome] = field(default_factory=dict)  # tenant


class ConsentStore(PersistedFields):
    """Delegated permission grants per user and per tenant, and the control API's next outcomes."""

    persisted = ("_grants",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants = _Grants()

    def reset(self) -> None:
        with self._lock:
            self._grants = _Grants()

    def granted(self, tenant_id: str, object_id: str, client_id: str) -> frozenset[str]:
        """What the user may use the app for: their own consent plus the tenant-wide one."""
        with self._lock:
            own = self._grants.user.get((tenant_id, object_id, client_id), set())
            tenant_wide = self._grants.tenant.get((tenant_id, client_id), set())
            return frozenset(own | tenant_wide)

    def grant_user(
        self, tenant_id: str, object_id: str, client_id: str, permissions: frozenset[str]
    ) -> None:
        with self._lock:
            self._grants.user.setdefault((tenant_id, object_id, client_id), set()).update(
                permissions
            )

    def withdraw_user(self, tenant_id: str, object_id: str, client_id: str) -> None:
        with self._lock:
            self._grants.user.pop((tenant_id, object_id, client_id), None)

    def grant_tenant(self, tenant_id: str, client_id: str, permissions: frozenset[str]) -> None:
        with self._lock:
            self._grants.tenant.setdefault((tenant_id, client_id), set()).update(permissions)

    def user_consent_allowed(self, tenant_id: str) -> bool:
        with self._lock:
            return tenant_id not in self._grants.user_consent_blocked

    def set_user_consent_allowed(self, tenant_id: str, allowed: bool) -> None:
        with self._lock:
            if allowed:
                self._grants.user_consent_blocked.discard(tenant_id)
            else:
                self._grants.user_consent_blocked.add(tenant_id)

    def set_next_sign_in(self, object_id: str, outcome: SignInOutcome | None) -> None:
        with self._lock:
            if outcome is None:
                self._grants.next_sign_in.pop(object_id, None)
            else:
                self._grants.next_sign_in[object_id] = outcome

    def take_next_sign_in(self, object_id: str) -> SignInOutcome | None:
        with self._lock:
            return self._grants.next_sign_in.pop(object_id, None)

    def set_next_admin_consent(self, tenant_id: str, outcome: AdminConsentOutcome) -> None:
        with self._lock:
            self._grants.next_admin_consent[tenant_id] = outcome

    def take_next_admin_consent(self, tenant_id: str) -> AdminConsentOutcome:
        with self._lock:
            return self._grants.next_admin_consent.pop(tenant_id, AdminConsentOutcome.GRANTED)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "users": [
                    {"tenant_id": t, "object_id": o, "client_id": c, "scopes": sorted(s)}
                    for (t, o, c), s in self._grants.user.items()
                ],
                "tenants": [
                    {"tenant_id": t, "client_id": c, "scopes": sorted(s)}
                    for (t, c), s in self._grants.tenant.items()
                ],
                "user_consent_blocked": sorted(self._grants.user_consent_blocked),
            }
