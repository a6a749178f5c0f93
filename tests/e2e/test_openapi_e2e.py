"""The contract as a frontend developer fetches it from the running app."""

import json

import pytest
import requests

from functions.openapi import DOCUMENT

pytestmark = pytest.mark.e2e


def test_the_openapi_document_is_served_as_json_without_a_token(local_host):
    answer = requests.get(f"{local_host.base_url}/api/openapi.json", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].split(";")[0] == "application/json"
    assert answer.json() == json.loads(DOCUMENT.read_text())
    assert answer.json()["openapi"].startswith("3.1.")


def test_the_docs_page_lists_the_operations_and_loads_nothing_from_elsewhere(local_host):
    answer = requests.get(f"{local_host.base_url}/api/docs", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].split(";")[0] == "text/html"
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    page = answer.text
    assert "<code>/api/conversations/{id}</code>" in page
    assert "href='openapi.json'" in page
    assert "Every time in an answer is UTC" in page
