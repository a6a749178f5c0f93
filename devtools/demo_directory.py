"""The seeded demo directory shared by dev tooling: organisations, people and the registered app.

Plain data, no behaviour and no third-party imports: the Graph emulator serves these people as its
Entra directory and mailboxes, and the stack script mints host-app tokens for the same people.
Every id is fixed so logs, tests and demos stay comparable between runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Mailbox(Enum):
    EXCHANGE_ONLINE = "exchange_online"
    ON_PREMISES = "on_premises"  # Graph answers MailboxNotEnabledForRESTAPI for calendar calls


@dataclass(frozen=True)
class Organisation:
    key: str
    name: str
    tenant_id: str  # the Entra tenant (directory) id
    domain: str  # verified domain: UPNs and mail addresses end with it
    host_org_id: str  # the host app's id of this organisation


@dataclass(frozen=True)
class Person:
    key: str
    display_name: str
    given_name: str
    surname: str
    mail: str
    host_user_id: str  # the host app's user id (`sub` of host-app tokens)
    host_org_id: str  # the host app's organisation (`org` of host-app tokens)
    job_title: str | None = None
    # Directory members only: None for people outside every seeded directory (guests).
    tenant_id: str | None = None
    object_id: str | None = None
    user_principal_name: str | None = None
    manager_key: str | None = None
    mailbox: Mailbox = Mailbox.EXCHANGE_ONLINE
    tenant_admin: bool = False  # may grant tenant-wide admin consent
    # SMTP addresses besides `mail` (Exchange's proxy addresses): getSchedule and invitations
    # resolve people by these and `mail` only, never by a userPrincipalName that is not one.
    other_smtp_addresses: tuple[str, ...] = ()
    # What the person's Outlook calendar allows (calendar.allowedOnlineMeetingProviders).
    online_meeting_providers: tuple[str, ...] = ("teamsForBusiness",)
    host_app_admin: bool = False  # carries the host app's `admin` role
    connects_calendar: bool = True  # False: the demo persona who never connects Outlook

    @property
    def in_directory(self) -> bool:
        return self.object_id is not None


@dataclass(frozen=True)
class ManagedIdentity:
    """A user-assigned managed identity in the publisher's tenant: the function app runs as it."""

    client_id: str
    principal_id: str  # its service principal's object id: the `sub` of its tokens
    tenant_id: str


@dataclass(frozen=True)
class FederatedCredential:
    """A federated identity credential of the app registration (Graph's
    federatedIdentityCredential): tokens from `issuer` about `subject`, for one of `audiences`, are
    accepted in place of a client secret.

    The issuer is written relative to the identity platform's host, `{host}/{tenant}/v2.0`, as
    Entra writes it for managed identities (`https://login.microsoftonline.com/{tenant}/v2.0`):
    the emulator's host is only known once it listens.
    """

    name: str
    issuer_tenant_id: str
    subject: str
    audiences: tuple[str, ...] = ("api://AzureADTokenExchange",)


@dataclass(frozen=True)
class RegisteredApp:
    """The Entra app registration the function app signs in with (a confidential web client)."""

    client_id: str
    client_secret: str
    display_name: str
    # Delegated Graph permissions of the registration: what `/.default` and admin consent grant.
    required_permissions: tuple[str, ...]
    # Redirect URIs accepted when none are configured: any port and path on loopback over http
    # (`*` matches anything, like Entra's port exception for localhost).
    default_redirect_uris: tuple[str, ...] = ("http://127.0.0.1:*", "http://localhost:*")
    # What else than the client secret proves the app: its managed identity (secretless mode).
    federated_credentials: tuple[FederatedCredential, ...] = ()


CONTOSO = Organisation(
    key="contoso",
    name="Contoso",
    tenant_id="6bb2ee6e-06cc-41b5-a063-adcfcbaa2f48",
    domain="contoso.com",
    host_org_id="org-contoso",
)
FABRIKAM = Organisation(
    key="fabrikam",
    name="Fabrikam",
    tenant_id="3a58abea-e822-4a3f-821e-37f3e6b10591",
    domain="fabrikam.com",
    host_org_id="org-fabrikam",
)
ORGANISATIONS: tuple[Organisation, ...] = (CONTOSO, FABRIKAM)

MANAGER = Person(
    key="manager",
    display_name="Adele Vance",
    given_name="Adele",
    surname="Vance",
    job_title="Engineering Manager",
    mail="adele.vance@contoso.com",
    user_principal_name="adele.vance@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="49b71eaa-aca5-4996-88f3-e27fd33b24cb",
    host_user_id="u-manager",
    host_org_id=CONTOSO.host_org_id,
    tenant_admin=True,
    host_app_admin=True,
)
EMPLOYEE_ALEX = Person(
    key="employee_alex",
    display_name="Alex Wilber",
    given_name="Alex",
    surname="Wilber",
    job_title="Software Engineer",
    mail="alex.wilber@contoso.com",
    user_principal_name="alex.wilber@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="c145137a-e8f5-441a-a4b7-315a0bd5e7a9",
    host_user_id="u-alex",
    host_org_id=CONTOSO.host_org_id,
    manager_key=MANAGER.key,
)
EMPLOYEE_LYNNE = Person(
    key="employee_lynne",
    display_name="Lynne Robbins",
    given_name="Lynne",
    surname="Robbins",
    job_title="Product Designer",
    mail="lynne.robbins@contoso.com",
    user_principal_name="lynne.robbins@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="8052fee3-f16b-4e2e-b4f4-6b5f56abb614",
    host_user_id="u-lynne",
    host_org_id=CONTOSO.host_org_id,
    manager_key=MANAGER.key,
)
NEVER_CONNECTS = Person(
    key="never_connects",
    display_name="Megan Bowen",
    given_name="Megan",
    surname="Bowen",
    job_title="Marketing Lead",
    mail="megan.bowen@contoso.com",
    user_principal_name="megan.bowen@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="de124048-d046-4a1c-bccd-64d3e07258ae",
    host_user_id="u-megan",
    host_org_id=CONTOSO.host_org_id,
    manager_key=MANAGER.key,
    connects_calendar=False,
)
ON_PREMISES_MAILBOX = Person(
    key="on_premises",
    display_name="Isaiah Langer",
    given_name="Isaiah",
    surname="Langer",
    job_title="Sales Representative",
    mail="isaiah.langer@contoso.com",
    user_principal_name="isaiah.langer@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="1564fadd-3fa1-4c77-8d7a-f61ef1735cc5",
    host_user_id="u-isaiah",
    host_org_id=CONTOSO.host_org_id,
    mailbox=Mailbox.ON_PREMISES,
)
EXTERNAL_ATTENDEE = Person(
    key="external",
    display_name="Nestor Wilke",
    given_name="Nestor",
    surname="Wilke",
    job_title="Mentor (external)",
    mail="nestor.wilke@northwind.example",
    host_user_id="u-nestor",
    host_org_id=CONTOSO.host_org_id,
    connects_calendar=False,
)
FABRIKAM_USER = Person(
    key="fabrikam_user",
    display_name="Pradeep Gupta",
    given_name="Pradeep",
    surname="Gupta",
    job_title="Operations Manager",
    mail="pradeep.gupta@fabrikam.com",
    user_principal_name="pradeep.gupta@fabrikam.com",
    tenant_id=FABRIKAM.tenant_id,
    object_id="c036a429-478a-43ad-bbf4-cf7f65e267b5",
    host_user_id="u-pradeep",
    host_org_id=FABRIKAM.host_org_id,
    tenant_admin=True,
    host_app_admin=True,
)
# People whose mail differs from their userPrincipalName, as in many tenants: getSchedule knows
# them by their SMTP addresses only.
MAIL_ON_ALIAS_DOMAIN = Person(
    key="alias_domain",
    display_name="Miriam Graham",
    given_name="Miriam",
    surname="Graham",
    job_title="Director",
    # Contoso's UK people sign in as @contoso.com; their mailbox lives on the UK alias domain.
    mail="miriam.graham@contoso.co.uk",
    user_principal_name="miriam.graham@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="08fa38e4-cbfa-4488-94ed-c834da6539df",
    host_user_id="u-miriam",
    host_org_id=CONTOSO.host_org_id,
    manager_key=MANAGER.key,
)
RENAMED = Person(
    key="renamed",
    display_name="Debra Nguyen",
    given_name="Debra",
    surname="Nguyen",
    job_title="Operations Analyst",
    # Renamed: the mailbox took the new name (the old address was released); the sign-in did not.
    mail="debra.nguyen@contoso.com",
    user_principal_name="debra.berger@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="5f2a3c4e-6a1b-4d8e-9c7f-1b2d3e4f5a6b",
    host_user_id="u-debra",
    host_org_id=CONTOSO.host_org_id,
    manager_key=MANAGER.key,
    other_smtp_addresses=("debra.nguyen@contoso.onmicrosoft.com",),
)
# A person whose calendar offers no Teams meetings (no Teams licence).
WITHOUT_TEAMS = Person(
    key="without_teams",
    display_name="Joni Sherman",
    given_name="Joni",
    surname="Sherman",
    job_title="Paralegal",
    mail="joni.sherman@contoso.com",
    user_principal_name="joni.sherman@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="9d1c7b3a-2e4f-4a6b-8c0d-e1f2a3b4c5d6",
    host_user_id="u-joni",
    host_org_id=CONTOSO.host_org_id,
    manager_key=MANAGER.key,
    online_meeting_providers=(),
)
# Someone in Contoso's directory but not in the group its admin assigned to the app: once the
# tenant sets "Assignment required" on the enterprise application, Entra refuses them
# (AADSTS50105). Assignment is per tenant, in the emulator's control API.
OUTSIDE_GROUP = Person(
    key="outside_group",
    display_name="Grady Archie",
    given_name="Grady",
    surname="Archie",
    job_title="Designer (contractor)",
    mail="grady.archie@contoso.com",
    user_principal_name="grady.archie@contoso.com",
    tenant_id=CONTOSO.tenant_id,
    object_id="2b7e4c1d-8f3a-4e6b-9d2c-5a1f0e7b3c48",
    host_user_id="u-grady",
    host_org_id=CONTOSO.host_org_id,
    manager_key=MANAGER.key,
)
# A work account whose Graph answer has no userPrincipalName: `GET /me` gives
# `"userPrincipalName": null` (but his `mail`) and the id token no `preferred_username`. Graph
# documents the property as set for every work account (resources/user.md: "required when a user
# is created"), but its v1.0 schema declares it nullable (`Edm.String`, no Nullable="false"): this
# is the closest documented answer to the seeds' "Azure subscription for attendee has no user
# principal name". He still shows to others (`ok`): availability asks getSchedule by `mail`. The
# `no_user_principal_name` notice needs a connection with neither address on record (a row saved
# before `mail` was kept). An admin can give him a UPN (`PATCH /_emulator/users/{mail}`); after a
# reconnect his connection shows it.
NO_USER_PRINCIPAL_NAME = Person(
    key="no_upn",
    display_name="Lee Gu",
    given_name="Lee",
    surname="Gu",
    job_title="Director of Operations",
    mail="lee.gu@contoso.com",
    user_principal_name="",
    tenant_id=CONTOSO.tenant_id,
    object_id="6e3d2a1b-4c5f-4a7e-8b9d-0c1e2f3a4b5c",
    host_user_id="u-lee",
    host_org_id=CONTOSO.host_org_id,
    manager_key=MANAGER.key,
)
PEOPLE: tuple[Person, ...] = (
    MANAGER,
    EMPLOYEE_ALEX,
    EMPLOYEE_LYNNE,
    NEVER_CONNECTS,
    ON_PREMISES_MAILBOX,
    EXTERNAL_ATTENDEE,
    FABRIKAM_USER,
    MAIL_ON_ALIAS_DOMAIN,
    RENAMED,
    WITHOUT_TEAMS,
    OUTSIDE_GROUP,
    NO_USER_PRINCIPAL_NAME,
)


@dataclass(frozen=True)
class Group:
    """A security group of a tenant, as an admin assigns it to an enterprise application."""

    object_id: str
    tenant_id: str
    display_name: str
    member_keys: tuple[str, ...]


# What the admin guide tells Contoso's admin to assign when "Assignment required" is on: everyone
# but the contractor (OUTSIDE_GROUP).
CALENDAR_SYNC_USERS = Group(
    object_id="a3c9e1f7-2d4b-4c6e-8a0f-1b3d5e7f9a2c",
    tenant_id=CONTOSO.tenant_id,
    display_name="Calendar sync users",
    member_keys=tuple(
        p.key for p in PEOPLE if p.tenant_id == CONTOSO.tenant_id and p.key != OUTSIDE_GROUP.key
    ),
)
GROUPS: tuple[Group, ...] = (CALENDAR_SYNC_USERS,)

# The function app's identity, as in Azure (infra/core/identity): the emulator serves its tokens
# at /msi/token like App Service's identity endpoint, to callers that present this header value
# (App Service gives each app a random one in IDENTITY_HEADER).
FUNCTION_APP_IDENTITY = ManagedIdentity(
    client_id="7f0c1e55-0000-4000-8000-0000000000a1",
    principal_id="5d1c2f8e-6b0a-4c3e-9f1d-2a7b8c9d0e1f",
    tenant_id=CONTOSO.tenant_id,
)
IDENTITY_HEADER = "dev-identity-header"

APP = RegisteredApp(
    client_id="00000000-0000-0000-0000-00000000c11e",
    client_secret="test-client-secret",  # noqa: S106 - a dev-only emulator credential
    display_name="Outlook Calendar Sync (dev)",
    required_permissions=("User.Read", "Calendars.ReadWrite"),
    # What infra/entra/register-app.sh creates in managed_identity mode.
    federated_credentials=(
        FederatedCredential(
            name="function-app-identity",
            issuer_tenant_id=FUNCTION_APP_IDENTITY.tenant_id,
            subject=FUNCTION_APP_IDENTITY.principal_id,
        ),
    ),
)


def person(key: str) -> Person:
    return next(p for p in PEOPLE if p.key == key)


def organisation_of(p: Person) -> Organisation:
    return next(o for o in ORGANISATIONS if o.host_org_id == p.host_org_id)
