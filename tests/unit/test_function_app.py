"""The app's function surface, read from the same metadata the Functions host indexes."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.openapi_contract import app_functions

PROJECT_ROOT = Path(__file__).parents[2]

# name -> (trigger, route, methods, auth level, schedule or queue)
EXPECTED_FUNCTIONS = {
    "health": ("httpTrigger", "health", ["GET"], "ANONYMOUS", None),
    "openapi_json": ("httpTrigger", "openapi.json", ["GET"], "ANONYMOUS", None),
    "api_docs": ("httpTrigger", "docs", ["GET"], "ANONYMOUS", None),
    "calendar_status": ("httpTrigger", "me/calendar", ["GET"], "ANONYMOUS", None),
    "connect_calendar": ("httpTrigger", "me/calendar/connect", ["POST"], "ANONYMOUS", None),
    "check_calendar": ("httpTrigger", "me/calendar/check", ["POST"], "ANONYMOUS", None),
    "disconnect_calendar": ("httpTrigger", "me/calendar", ["DELETE"], "ANONYMOUS", None),
    "auth_callback": ("httpTrigger", "auth/callback", ["GET", "POST"], "ANONYMOUS", None),
    "complete_calendar_connection": (
        "httpTrigger",
        "me/calendar/complete",
        ["POST"],
        "ANONYMOUS",
        None,
    ),
    "get_admin_settings": ("httpTrigger", "admin/settings", ["GET"], "ANONYMOUS", None),
    "put_admin_settings": ("httpTrigger", "admin/settings", ["PUT"], "ANONYMOUS", None),
    "admin_consent_link": ("httpTrigger", "admin/consent", ["GET"], "ANONYMOUS", None),
    "admin_consent_callback": (
        "httpTrigger",
        "admin/consent/callback",
        ["GET"],
        "ANONYMOUS",
        None,
    ),
    "complete_admin_consent": (
        "httpTrigger",
        "admin/consent/complete",
        ["POST"],
        "ANONYMOUS",
        None,
    ),
    "availability": ("httpTrigger", "availability", ["GET"], "ANONYMOUS", None),
    "create_conversation": ("httpTrigger", "conversations", ["POST"], "ANONYMOUS", None),
    "list_conversations": ("httpTrigger", "conversations", ["GET"], "ANONYMOUS", None),
    "get_conversation": ("httpTrigger", "conversations/{id}", ["GET"], "ANONYMOUS", None),
    "update_conversation": ("httpTrigger", "conversations/{id}", ["PATCH"], "ANONYMOUS", None),
    "cancel_conversation": ("httpTrigger", "conversations/{id}", ["DELETE"], "ANONYMOUS", None),
    "accept_proposal": (
        "httpTrigger",
        "conversations/{id}/proposals/{proposalId}/accept",
        ["POST"],
        "ANONYMOUS",
        None,
    ),
    "dismiss_proposal": (
        "httpTrigger",
        "conversations/{id}/proposals/{proposalId}/dismiss",
        ["POST"],
        "ANONYMOUS",
        None,
    ),
    "add_note": ("httpTrigger", "conversations/{id}/notes", ["POST"], "ANONYMOUS", None),
    "add_action": ("httpTrigger", "conversations/{id}/actions", ["POST"], "ANONYMOUS", None),
    "update_occurrence": (
        "httpTrigger",
        "conversations/{id}/occurrences/{occurrenceId}",
        ["PATCH"],
        "ANONYMOUS",
        None,
    ),
    "cancel_occurrence": (
        "httpTrigger",
        "conversations/{id}/occurrences/{occurrenceId}",
        ["DELETE"],
        "ANONYMOUS",
        None,
    ),
    "my_changes": ("httpTrigger", "me/changes", ["GET"], "ANONYMOUS", None),
    "graph_notifications": ("httpTrigger", "graph/notifications", ["POST"], "ANONYMOUS", None),
    "graph_lifecycle": ("httpTrigger", "graph/lifecycle", ["POST"], "ANONYMOUS", None),
    "process_graph_notification": ("queueTrigger", None, None, None, "graph-notifications"),
    "do_maintenance_work": ("queueTrigger", None, None, None, "maintenance-work"),
    "maintenance": ("timerTrigger", None, None, None, "%MAINTENANCE_SCHEDULE%"),
}


def describe(function) -> tuple:
    trigger = next(
        json.loads(b) for b in function.get_raw_bindings() if "Trigger" in json.loads(b)["type"]
    )
    return (
        trigger["type"],
        trigger.get("route"),
        trigger.get("methods"),
        trigger.get("authLevel"),
        trigger.get("schedule") or trigger.get("queueName"),
    )


def test_every_function_has_the_expected_trigger_route_methods_auth_and_schedule():
    functions = app_functions()
    assert {f.get_function_name(): describe(f) for f in functions} == EXPECTED_FUNCTIONS


def test_importing_the_app_does_no_network_storage_or_process_io():
    """Imports run in a clean interpreter whose audit hook fails on any socket or subprocess use."""
    probe = textwrap.dedent(
        """
        import sys
        forbidden = ("socket.connect", "socket.getaddrinfo", "socket.bind", "subprocess.Popen",
                     "os.system", "urllib.Request")
        seen = []
        def hook(event, args):
            if event in forbidden:
                seen.append(event)
        sys.addaudithook(hook)
        import function_app
        print(len(function_app.app.get_functions()), seen)
        """
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin"},  # no settings at all: import must not need them
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    count, seen = result.stdout.strip().split(" ", 1)
    assert int(count) == len(EXPECTED_FUNCTIONS)
    assert seen == "[]"


def test_shared_never_imports_azure_functions():
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "shared").rglob("*.py")
        if re.search(r"^\s*(import|from) azure\.functions", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []


def test_the_azure_sdks_request_and_response_dumps_stay_out_of_the_log():
    """With the app loaded, a storage call logs no HTTP dump at INFO (the host's level)."""
    probe = textwrap.dedent(
        """
        import logging
        logging.basicConfig(level=logging.INFO)
        import function_app
        from azure.core.exceptions import AzureError
        from azure.data.tables import TableClient
        table = TableClient.from_connection_string(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;", "probe", retry_total=0)
        try:
            table.get_entity("p", "r")
        except AzureError:
            print("storage refused, as expected")
        """
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "storage refused, as expected" in result.stdout, result.stderr
    assert "Request URL" not in result.stderr
    assert "Request headers" not in result.stderr
