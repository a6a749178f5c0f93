"""The local host answers browsers from Host.CORS origins as Core Tools does, and no others."""

import json

from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from devtools.localhost.cors import CorsMiddleware, CorsPolicy, settings_cors

PAGE = "http://127.0.0.1:3000"


@Request.application
def app(request: Request) -> Response:
    return Response(
        json.dumps({"method": request.method}),
        mimetype="application/json",
        headers={"ETag": '"v1"', "Access-Control-Expose-Headers": "ETag"},
    )


def client(origins: str, credentials: bool = False) -> Client:
    policy = CorsPolicy.parse(origins, credentials)
    assert policy is not None
    return Client(CorsMiddleware(app, policy))


def test_a_preflight_from_an_allowed_origin_allows_the_method_and_headers_asked_for():
    answer = client(f"http://localhost:3000,{PAGE}").options(
        "/api/conversations/1",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,content-type,if-match",
        },
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    assert answer.headers["Access-Control-Allow-Methods"] == "PATCH"
    assert answer.headers["Access-Control-Allow-Headers"] == "authorization,content-type,if-match"
    assert answer.headers["Vary"] == "Origin"
    assert answer.get_data() == b""


def test_a_request_from_an_allowed_origin_carries_its_origin_and_the_apps_own_headers():
    answer = client(PAGE).get("/api/me/calendar", headers={"Origin": PAGE})
    assert answer.json == {"method": "GET"}
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    assert answer.headers["Access-Control-Expose-Headers"] == "ETag"
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_other_origins_get_no_cors_headers_so_the_browser_blocks_them():
    preflight = client(PAGE).options(
        "/api/me/calendar",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "DELETE"},
    )
    assert preflight.status_code == 204
    assert "Access-Control-Allow-Origin" not in preflight.headers
    answer = client(PAGE).get("/api/me/calendar", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_star_allows_any_origin_and_credentials_are_only_sent_when_configured():
    assert (
        client("*").get("/", headers={"Origin": "http://x"}).headers["Access-Control-Allow-Origin"]
        == "*"
    )
    with_credentials = client(PAGE, credentials=True).get("/", headers={"Origin": PAGE})
    assert with_credentials.headers["Access-Control-Allow-Credentials"] == "true"


def test_no_origins_means_no_cors_and_the_settings_file_is_read_like_core_tools(tmp_path):
    assert CorsPolicy.parse("") is None
    assert CorsPolicy.parse(None) is None
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"Values": {}, "Host": {"CORS": PAGE, "CORSCredentials": True}}))
    assert settings_cors(settings) == (PAGE, True)
    assert settings_cors(tmp_path / "missing.json") == (None, False)
