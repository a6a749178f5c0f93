"""A stand-in for the `az` and `azd` commands the deployment scripts call, for tests offline.

Installed into a folder on PATH as `az` and `azd` (see test_deploy_scripts.py). It keeps its
state in $FAKE_AZ_STATE: secrets/<name> (Key Vault), redirect_uris, service_principal,
federated_credentials.json, azd_env/<name>, and calls.jsonl, one JSON argv list per call, with
the command's name ($FAKE_AZ_NAME) first. Files it reads (--file, --body @file, --parameters
@file) are recorded under files/ by call number.

Like Microsoft Graph right after an application is created, it can answer that the application
does not exist yet: a number in the file graph_lag is how many more calls on the application get
that answer (Graph's 404 Request_ResourceNotFound, as az prints it). The file
federated_credential_fails makes creating a federated credential fail for another reason.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

APP_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "generated~client~secret"
FLEX_REGIONS = ["australiaeast", "eastus", "northeurope", "swedencentral", "westeurope"]
NOT_YET = (
    "ERROR: Resource '{}' does not exist or one of its queried reference-property objects are "
    "not present."
)
APP_COMMANDS = (
    ["rest"],
    ["ad", "app", "show"],
    ["ad", "app", "update"],
    ["ad", "sp", "create"],
    ["ad", "app", "federated-credential"],
    ["ad", "app", "credential"],
)


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def values(argv: list[str], name: str) -> list[str]:
    if name not in argv:
        return []
    out = []
    for item in argv[argv.index(name) + 1 :]:
        if item.startswith("--"):
            break
        out.append(item)
    return out


def main() -> int:
    state = Path(os.environ["FAKE_AZ_STATE"])
    secrets = state / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (state / "files").mkdir(exist_ok=True)
    argv = [os.environ.get("FAKE_AZ_NAME", "az"), *sys.argv[1:]]
    calls = state / "calls.jsonl"
    number = len(calls.read_text().splitlines()) if calls.exists() else 0
    with calls.open("a") as log:
        log.write(json.dumps(argv) + "\n")
    command = argv[:5]

    if argv[0] == "azd":
        if argv[1:3] == ["env", "set"]:
            (state / "azd_env").mkdir(exist_ok=True)
            (state / "azd_env" / argv[3]).write_text(argv[4])
        return 0
    if any(argv[1 : 1 + len(words)] == words for words in APP_COMMANDS) and _lagging(state):
        print(NOT_YET.format(APP_ID), file=sys.stderr)
        return 3
    if command[1:3] == ["functionapp", "list-flexconsumption-locations"]:
        regions = state / "flex_regions"
        print(regions.read_text() if regions.exists() else "\n".join(FLEX_REGIONS))
        return 0
    if argv[1:4] == ["ad", "app", "federated-credential"]:
        return _federated_credential(state, argv, number)
    if command[1:3] == ["keyvault", "secret"] and argv[3] == "list":
        if (state / "list_fails").exists():
            print(
                "(Forbidden) Caller is not authorized to perform action on resource.",
                file=sys.stderr,
            )
            return 1
        for path in sorted(secrets.iterdir()):
            print(path.name)
        return 0
    if command[1:4] == ["keyvault", "secret", "set"]:
        source = Path(option(argv, "--file") or "")
        content = source.read_text(encoding="utf-8")
        (state / "files" / f"{number}").write_text(content)
        (secrets / (option(argv, "--name") or "")).write_text(content)
        return 0
    if command[1:3] == ["cloud", "show"]:
        print("https://graph.microsoft.com/")
        return 0
    if command[1:4] == ["ad", "app", "create"]:
        (state / "redirect_uris").write_text("\n".join(values(argv, "--web-redirect-uris")))
        print(APP_ID)
        return 0
    if command[1:4] == ["ad", "app", "show"]:
        uris = state / "redirect_uris"
        print(uris.read_text() if uris.exists() else "")
        return 0
    if command[1:4] == ["ad", "app", "update"]:
        uris = values(argv, "--web-redirect-uris")
        if uris:
            (state / "redirect_uris").write_text("\n".join(uris))
        return 0
    if command[1:2] == ["rest"]:
        body = option(argv, "--body") or ""
        if body.startswith("@"):
            (state / "files" / f"{number}").write_text(Path(body[1:]).read_text())
        return 0
    if command[1:4] == ["ad", "sp", "show"]:
        return 0 if (state / "service_principal").exists() else 3
    if command[1:4] == ["ad", "sp", "create"]:
        (state / "service_principal").write_text(APP_ID)
        return 0
    if command[1:5] == ["ad", "app", "credential", "reset"]:
        print("WARNING: The output includes credentials that you must protect.", file=sys.stderr)
        print(CLIENT_SECRET)
        return 0
    if command[1:4] == ["functionapp", "config", "appsettings"]:
        return 0
    print(f"fake az: unexpected call {argv}", file=sys.stderr)
    return 2


def _lagging(state: Path) -> bool:
    lag = state / "graph_lag"
    if not lag.exists() or int(lag.read_text() or 0) <= 0:
        return False
    lag.write_text(str(int(lag.read_text()) - 1))
    return True


def _federated_credential(state: Path, argv: list[str], number: int) -> int:
    store = state / "federated_credentials.json"
    credentials = json.loads(store.read_text()) if store.exists() else []
    verb = argv[4]
    if verb == "list":
        query = option(argv, "--query") or ""
        if query == "[].name":
            print("\n".join(c["name"] for c in credentials))
        else:  # [?issuer=='..' && subject=='..' && contains(audiences, '..')].name
            issuer, subject, audience = (query.split("'")[i] for i in (1, 3, 5))
            print(
                "\n".join(
                    c["name"]
                    for c in credentials
                    if c["issuer"] == issuer
                    and c["subject"] == subject
                    and audience in c["audiences"]
                )
            )
        return 0
    if (state / "federated_credential_fails").exists():
        print("ERROR: Insufficient privileges to complete the operation.", file=sys.stderr)
        return 1
    source = Path((option(argv, "--parameters") or "@")[1:])
    (state / "files" / f"{number}").write_text(source.read_text())
    credential = json.loads(source.read_text())
    credentials = [c for c in credentials if c["name"] != credential["name"]] + [credential]
    store.write_text(json.dumps(credentials))
    return 0


if __name__ == "__main__":
    sys.exit(main())
