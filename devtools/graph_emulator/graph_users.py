"""`GET /me` and `GET /users/{id | userPrincipalName}`: the directory's view of a user."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from devtools.graph_emulator import odata
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.graph_api import GraphRequest, GraphRoutes
from devtools.graph_emulator.state import EmulatorState

READ_SELF = (
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "Directory.Read.All",
)
READ_OTHERS = ("User.ReadBasic.All", "User.Read.All", "Directory.Read.All")


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    routes.add_for_user("", get_user, ["GET"], self_scopes=READ_SELF, other_scopes=READ_OTHERS)


def user_resource(user: DirectoryUser) -> dict[str, Any]:
    """The default property set Graph v1.0 returns for a user."""
    return {
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": user.surname,
        # null for the one demo account without a UPN (demo_directory.NO_USER_PRINCIPAL_NAME)
        "userPrincipalName": user.user_principal_name or None,
        "id": user.object_id,
    }


def proxy_addresses(user: DirectoryUser) -> list[str]:
    """Exchange's proxyAddresses: `SMTP:` marks the primary (mail), `smtp:` the others."""
    return [f"{'SMTP' if i == 0 else 'smtp'}:{a}" for i, a in enumerate(user.smtp_addresses)]


def get_user(request: GraphRequest, target: DirectoryUser) -> Response:
    select = request.select()
    # proxyAddresses is not in the default set: only `$select` brings it (user resource docs).
    resource = user_resource(target) | {"proxyAddresses": proxy_addresses(target)}
    body = odata.selected(resource, select, "user") if select else user_resource(target)
    return request.respond(
        {"@odata.context": odata.context(request.graph_base_url, "users", select), **body}
    )
