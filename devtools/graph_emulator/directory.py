"""The emulator's Entra directories (tenants, users, groups), built from the seeded demo data.

Read-only after construction but for one thing an admin can fix at run time, a user's
userPrincipalName (`set_user_principal_name`, back to the seed on reset; not kept across
restarts). What else changes at run time (consents, tokens, sign-in outcomes) lives in the stores
that own it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from devtools import demo_directory
from devtools.demo_directory import Group, Mailbox, Organisation, Person


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    domain: str


@dataclass(frozen=True)
class DirectoryUser:
    object_id: str
    tenant_id: str
    user_principal_name: str
    mail: str
    display_name: str
    given_name: str
    surname: str
    job_title: str | None
    tenant_admin: bool
    mailbox_on_premises: bool
    manager_id: str | None
    # `mail` first, then the other proxy addresses: what Exchange resolves a recipient by.
    smtp_addresses: tuple[str, ...] = ()
    online_meeting_providers: tuple[str, ...] = ("teamsForBusiness",)

    def has_smtp_address(self, address: str) -> bool:
        return any(_same(a, address) for a in self.smtp_addresses)


class Directory:
    def __init__(
        self,
        organisations: Iterable[Organisation],
        people: Iterable[Person],
        groups: Iterable[Group] = (),
    ) -> None:
        self._tenants = {
            o.tenant_id.lower(): Tenant(o.tenant_id, o.name, o.domain) for o in organisations
        }
        members = [p for p in people if p.in_directory]
        ids_by_key = {p.key: p.object_id for p in members}
        self._users = [
            DirectoryUser(
                object_id=str(p.object_id),
                tenant_id=str(p.tenant_id),
                user_principal_name=str(p.user_principal_name),
                mail=p.mail,
                display_name=p.display_name,
                given_name=p.given_name,
                surname=p.surname,
                job_title=p.job_title,
                tenant_admin=p.tenant_admin,
                mailbox_on_premises=p.mailbox is Mailbox.ON_PREMISES,
                manager_id=ids_by_key.get(p.manager_key) if p.manager_key else None,
                smtp_addresses=(p.mail, *p.other_smtp_addresses),
                online_meeting_providers=p.online_meeting_providers,
            )
            for p in members
        ]
        self._seeded_users = list(self._users)
        self._groups = {
            g.object_id.lower(): frozenset(
                str(ids_by_key[k]).lower() for k in g.member_keys if k in ids_by_key
            )
            for g in groups
        }
        self._group_names = {g.object_id.lower(): g for g in groups}

    @classmethod
    def seeded(cls) -> Directory:
        return cls(demo_directory.ORGANISATIONS, demo_directory.PEOPLE, demo_directory.GROUPS)

    def reset(self) -> None:
        self._users = list(self._seeded_users)

    def set_user_principal_name(self, object_id: str, upn: str) -> DirectoryUser:
        """An admin gives the account a (new) userPrincipalName: what Graph answers from now."""
        users = list(self._users)
        index = next(i for i, u in enumerate(users) if _same(u.object_id, object_id))
        users[index] = replace(users[index], user_principal_name=upn)
        self._users = users  # one assignment: readers see the old list or the new one
        return users[index]

    def group(self, object_id: str) -> Group | None:
        return self._group_names.get(object_id.lower())

    def groups_of(self, object_id: str) -> frozenset[str]:
        """The ids of the groups the user is a direct member of."""
        key = object_id.lower()
        return frozenset(g for g, members in self._groups.items() if key in members)

    def tenants(self) -> list[Tenant]:
        return list(self._tenants.values())

    def tenant(self, reference: str) -> Tenant | None:
        """A tenant by id or verified domain (what Entra accepts in the authority path)."""
        key = reference.lower()
        found = self._tenants.get(key)
        if found is None:
            found = next((t for t in self._tenants.values() if t.domain.lower() == key), None)
        return found

    def users(self, tenant_id: str | None = None) -> list[DirectoryUser]:
        return [u for u in self._users if tenant_id is None or _same(u.tenant_id, tenant_id)]

    def user(self, object_id: str) -> DirectoryUser | None:
        return next((u for u in self._users if _same(u.object_id, object_id)), None)

    def user_by_sign_in_name(self, name: str) -> DirectoryUser | None:
        """Whoever signs in with this name (UPN, or mail as Entra's sign-in page also allows)."""
        return next(
            (
                u
                for u in self._users
                if (u.user_principal_name and _same(u.user_principal_name, name))
                or _same(u.mail, name)
            ),
            None,
        )

    def user_by_smtp_address(self, address: str) -> DirectoryUser | None:
        """The mailbox an SMTP address belongs to (mail or a proxy address), as Exchange resolves
        recipients and getSchedule's `schedules`: a userPrincipalName that is no SMTP address of
        the person finds nobody (calendar-getschedule: "SMTP address of users")."""
        return next((u for u in self._users if u.has_smtp_address(address)), None)

    def user_in_tenant(self, tenant_id: str, reference: str) -> DirectoryUser | None:
        """A member of one tenant by object id or userPrincipalName, as `/users/{id}` takes it."""
        return next(
            (
                u
                for u in self.users(tenant_id)
                if _same(u.object_id, reference) or _same(u.user_principal_name, reference)
            ),
            None,
        )


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()
