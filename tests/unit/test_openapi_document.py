"""The OpenAPI document cannot drift from the code: routes, problem codes, examples, package."""

import subprocess

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from functions.api_docs import render_docs
from functions.openapi import DOCUMENT, openapi_document
from tests.openapi_contract import (
    PROJECT_ROOT,
    codes_in_code,
    documented_codes,
    http_routes,
    operations,
    resolve,
)

# Codes the document lists that no `code=` literal names: none today. Graph's own error codes
# (502 answers) are passed through and documented as free text, not listed.
COMPUTED_CODES: set[str] = set()


def test_the_document_is_valid_openapi_3_1():
    document = openapi_document()
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_every_route_the_app_registers_is_documented_and_nothing_else():
    documented = {(op.method, op.path) for op in operations()}
    assert documented == http_routes()


def test_every_problem_code_the_code_can_raise_is_documented_and_every_documented_one_exists():
    in_code = codes_in_code()
    in_document = {code for op in operations() for code in documented_codes(op)}
    undocumented = {
        code: sorted(where) for code, where in in_code.items() if code not in in_document
    }
    assert undocumented == {}, "codes raised in the code that no operation of the document lists"
    assert in_document - set(in_code) - COMPUTED_CODES == set(), "documented codes nothing raises"


def test_every_operation_has_an_id_a_summary_and_documents_its_failures():
    document = openapi_document()
    ids = [op.spec["operationId"] for op in operations()]
    assert len(ids) == len(set(ids))
    for op in operations():
        assert op.spec.get("summary"), op.label
        statuses = set(op.spec["responses"])
        if "meta" in op.spec["tags"]:
            continue  # health and the document itself answer without the problem+json wrapper
        assert "500" in statuses, op.label
        if op.spec.get("security", document["security"]) != []:
            assert "401" in statuses, f"{op.label} takes a token, so it can answer 401"
        for status, answer in op.spec["responses"].items():
            content = resolve(document, answer).get("content", {})
            if status.startswith(("4", "5")):
                assert list(content) == ["application/problem+json"], f"{op.label} {status}"


def test_the_headers_of_concurrency_and_retries_are_documented():
    by_id = {op.spec["operationId"]: op for op in operations()}
    document = openapi_document()

    def parameters(operation_id: str) -> set[str]:
        return {
            resolve(document, p)["name"] for p in by_id[operation_id].spec.get("parameters", [])
        }

    assert "Idempotency-Key" in parameters("createConversation")
    assert "If-Match" in parameters("updateConversation")
    assert "If-Match" in parameters("putAdminSettings")
    answers = [("getConversation", "200"), ("putAdminSettings", "200"),
               ("createConversation", "201"), ("updateConversation", "200")]  # fmt: skip
    for operation_id, status in answers:
        assert "ETag" in by_id[operation_id].spec["responses"][status]["headers"], operation_id


def test_the_conversation_links_lead_from_create_to_read_change_and_cancel():
    created = next(op for op in operations() if op.spec["operationId"] == "createConversation")
    links = created.spec["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {
        "getConversation", "updateConversation", "cancelConversation", "addNote", "addAction",
    }  # fmt: skip


def test_the_document_says_times_come_back_in_utc():
    document = openapi_document()
    assert "Every time in an answer is UTC" in document["info"]["description"]
    assert "UTC" in document["components"]["schemas"]["UtcDateTime"]["description"]


@pytest.mark.parametrize("op", list(operations()), ids=lambda op: op.label)
def test_every_example_matches_its_schema(op):
    document = openapi_document()
    registry = Registry().with_resource("urn:openapi", DRAFT202012.create_resource(document))
    found = []
    bodies = [("request", op.spec.get("requestBody", {}))] + [
        (status, resolve(document, answer)) for status, answer in op.spec["responses"].items()
    ]
    for where, part in bodies:
        for media in part.get("content", {}).values():
            examples = [media["example"]] if "example" in media else []
            examples += [e["value"] for e in media.get("examples", {}).values()]
            schema = _absolute(media.get("schema", {}))
            for example in examples:
                validator = Draft202012Validator(
                    schema, registry=registry, format_checker=FormatChecker()
                )
                found += [f"{where}: {e.message}" for e in validator.iter_errors(example)]
    assert found == []


def test_the_document_ships_with_the_app():
    """.funcignore (gitignore rules) must not keep the document out of the deployment package."""
    listed = subprocess.run(  # noqa: S603
        ["git", "ls-files", "--cached", "--others", "--ignored", "--exclude-from=.funcignore",  # noqa: S607
         str(DOCUMENT.relative_to(PROJECT_ROOT))],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert listed.stdout.strip() == ""


def test_the_docs_page_lists_every_operation_and_loads_nothing_from_elsewhere():
    page = render_docs(openapi_document(), spec_url="openapi.json")
    for op in operations():
        assert f"id='{op.spec['operationId']}'" in page
    assert "<script" not in page
    assert " src=" not in page
    assert "<link" not in page


def _absolute(schema):
    """Refs inside a schema lifted out of the document, made to point into the document."""
    if isinstance(schema, dict):
        return {
            k: ("urn:openapi" + v if k == "$ref" and v.startswith("#") else _absolute(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute(v) for v in schema]
    return schema


def test_the_description_states_every_limit_a_caller_can_meet():
    from shared import limits

    description = openapi_document()["info"]["description"]
    stated = {
        "MAX_BODY_BYTES", "MAX_JSON_DEPTH", "MAX_WEBHOOK_BODY_BYTES",
        "MAX_NOTIFICATIONS_PER_POST", "MAX_HOST_ID", "MAX_TITLE", "MAX_LOCATION",
        "MAX_RECORD_TEXT", "MAX_NAME", "MAX_EMAIL", "MAX_ZONE_NAME", "MAX_ATTENDEES",
        "MAX_ATTENDEES_QUERY", "MAX_IDEMPOTENCY_KEY", "MAX_RETURN_URL", "MAX_ID",
        "MAX_LIST_DAYS", "MAX_AVAILABILITY_DAYS",
    }  # fmt: skip
    for name in sorted(stated):
        assert str(getattr(limits, name)) in description, name
    for moment in (limits.EARLIEST.date(), limits.LATEST.date(), limits.LATEST_DATE):
        assert moment.isoformat() in description
