"""What `make run` prints: where everything is, and curl lines a newcomer can paste."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from devtools import clock
from devtools.azurite import AzuriteEndpoints
from devtools.demo_directory import OUTSIDE_GROUP, PEOPLE, Mailbox, Person
from devtools.host_tokens import demo_person_token


def token_variable(person: Person) -> str:
    return f"{person.key.upper()}_TOKEN"


def write_demo_tokens(environ: Mapping[str, str], path: Path) -> None:
    """Host-app tokens (8 h) for every demo person, as shell variables to `source`."""
    lines = []
    for person in PEOPLE:
        token = demo_person_token(person, environ)
        lines.append(f"# {person.display_name} <{person.mail}> ({person.host_org_id})")
        lines.append(f"export {token_variable(person)}={token}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def describe_stack(
    environ: Mapping[str, str],
    azurite: AzuriteEndpoints,
    emulator_url: str,
    health_url: str,
    state: Path,
    *,
    demo_url: str | None = None,
) -> str:
    tokens = state / "tokens.env"
    write_demo_tokens(environ, tokens)
    api = health_url.rsplit("/health", 1)[0]
    ca = state / "emulator" / "ca.pem"
    now = clock.describe(clock.ClockFile(state / clock.FILE_NAME))
    people = "\n".join(f"    ${token_variable(p):<22} {_who(p)}" for p in PEOPLE)
    demo = f"Demo page      {demo_url}   <- open this: the host app, its people and Outlook\n"
    return f"""
{demo if demo_url else ""}Functions      {api}/   (log: {state / "logs" / "functions-host.log"})
API contract   {api}/openapi.json   (readable: {api}/docs)
Graph emulator {emulator_url}   (CA: {ca}; control API: {emulator_url}/_emulator/)
  OIDC         {emulator_url}/organizations/v2.0/.well-known/openid-configuration
Azurite        table {azurite.table}  queue {azurite.queue}  blob {azurite.blob}
Clock          {now}: move it with `python -m devtools.clock +8d`
State          {state} is kept for the next run; `make reset` starts clean

Demo host-app tokens (8 hours): source {tokens}
{people}

Try (README: "Playing the demo"):
  source {tokens}
  curl {health_url}
  # Adele, admin of org-contoso, switches Outlook sync on for her organisation
  curl -X PUT {api}/admin/settings -H "Authorization: Bearer $MANAGER_TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"allowOutlookCalendar": true, "syncConversations": true, "tenantId": null}}'
  # Alex connects: the sign-in a browser and the host app's page would do
  python -m devtools.connect "$EMPLOYEE_ALEX_TOKEN" --api {api} --ca {ca}
  curl {api}/me/calendar -H "Authorization: Bearer $EMPLOYEE_ALEX_TOKEN"

Ctrl-C stops everything.
"""


def _who(person: Person) -> str:
    notes = [person.host_org_id]
    if person.host_app_admin:
        notes.append("admin")
    if not person.in_directory:
        notes.append("external")
    if person.mailbox is Mailbox.ON_PREMISES:
        notes.append("mailbox on premises")
    if not person.connects_calendar:
        notes.append("not connected")
    if person.key == OUTSIDE_GROUP.key:
        notes.append("outside the assigned group")
    if person.in_directory and not person.user_principal_name:
        notes.append("no user principal name")
    return f"{person.display_name} ({', '.join(notes)})"
