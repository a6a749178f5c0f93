"""Who may sign in to the app, per tenant: the enterprise application's "Assignment required?"
and the people and groups assigned to it.

Entra (servicePrincipal `appRoleAssignmentRequired`; learn.microsoft.com/entra/identity/
enterprise-apps/assign-user-or-group-access-portal): with assignment required, a token is issued
only to a user assigned directly or as a direct member of an assigned group (nested groups do not
count). Anyone else gets AADSTS50105 (reference-error-codes: "EntitlementGrantsNotFound - The
signed in user isn't assigned to a role for the signed in app"): at the authorize endpoint on
Microsoft's own error page, the browser never sent back to the app, and at the token endpoint
(a code or a refresh token) as `invalid_grant`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from devtools.demo_directory import GROUPS
from devtools.graph_emulator.persistence import PersistedFields


@dataclass
class TenantAssignment:
    required: bool = False
    users: set[str] = field(default_factory=set)  # object ids, lower case
    groups: set[str] = field(default_factory=set)  # group object ids, lower case

    def as_json(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "users": sorted(self.users),
            "groups": sorted(self.groups),
        }


def _seed() -> dict[str, TenantAssignment]:
    # The group the admin guide has admins assign; "required" stays off until switched on.
    seeded: dict[str, TenantAssignment] = {}
    for group in GROUPS:
        seeded.setdefault(group.tenant_id.lower(), TenantAssignment()).groups.add(
            group.object_id.lower()
        )
    return seeded


class AssignmentStore(PersistedFields):
    persisted = ("_tenants",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tenants = _seed()

    def reset(self) -> None:
        with self._lock:
            self._tenants = _seed()

    def of(self, tenant_id: str) -> dict[str, Any]:
        with self._lock:
            return self._tenants.get(tenant_id.lower(), TenantAssignment()).as_json()

    def configure(
        self,
        tenant_id: str,
        *,
        required: bool | None = None,
        users: list[str] | None = None,
        groups: list[str] | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            current = self._tenants.setdefault(tenant_id.lower(), TenantAssignment())
            if required is not None:
                current.required = required
            if users is not None:
                current.users = {u.lower() for u in users}
            if groups is not None:
                current.groups = {g.lower() for g in groups}
            return current.as_json()

    def allows(self, tenant_id: str, object_id: str, groups: frozenset[str]) -> bool:
        """Whether Entra issues this user tokens for the app."""
        with self._lock:
            assignment = self._tenants.get(tenant_id.lower())
            if assignment is None or not assignment.required:
                return True
            return object_id.lower() in assignment.users or bool(groups & assignment.groups)
