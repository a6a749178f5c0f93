from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devtools.localhost.hostconfig import HostConfig
from devtools.localhost.routes import RouteTemplate
from devtools.localhost.timers import next_occurrence


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("health", "/api/health", {}),
        ("health", "/api/health/", {}),
        ("health", "/api/healthz", None),
        ("users/{id}", "/api/users/42", {"id": "42"}),
        ("users/{id}", "/api/users/", None),
        ("users/{id:int}", "/api/users/abc", None),
        ("users/{id:int}", "/api/users/-7", {"id": "-7"}),
        (
            "users/{id:guid}",
            "/api/users/6b1d4f1c-1b53-4c3f-9a3e-0c4f4b1e2d11",
            {"id": "6b1d4f1c-1b53-4c3f-9a3e-0c4f4b1e2d11"},
        ),
        ("pages/{slug?}", "/api/pages", {}),
        ("pages/{slug?}", "/api/pages/intro", {"slug": "intro"}),
        ("files/{*rest}", "/api/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        ("files/{*rest}", "/api/files", {}),
    ],
)
def test_route_templates_match_like_the_functions_host(template, path, expected):
    assert RouteTemplate.compile(template, "api").match(path) == expected


def test_an_empty_route_prefix_serves_from_the_root():
    assert RouteTemplate.compile("health", "").match("/health") == {}


def test_literal_segments_take_precedence_over_parameters():
    templates = [
        RouteTemplate.compile(t, "api")
        for t in ("items/{*rest}", "items/{name}", "items/{id:int}", "items/special")
    ]
    ordered = [t.template for t in sorted(templates, key=RouteTemplate.sort_key)]
    assert ordered == ["items/special", "items/{id:int}", "items/{name}", "items/{*rest}"]


@pytest.mark.parametrize("bad", ["users/{id:nonsense}", "a/{*rest}/b", "a/{x?}/b", "a/{x"])
def test_unsupported_templates_are_refused_at_start(bad):
    with pytest.raises(ValueError, match="route"):
        RouteTemplate.compile(bad, "api")


def test_ncrontab_schedules_have_seconds_first():
    start = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert next_occurrence("30 */5 * * * *", start) == start + timedelta(seconds=30)
    assert next_occurrence("0 0 9 * * Mon-Fri", start) == datetime(2026, 1, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="six fields"):
        next_occurrence("*/5 * * * *", start)


def test_host_json_of_the_project_is_read_with_its_queue_options():
    config = HostConfig.load(Path(__file__).parents[2] / "host.json")
    assert config.route_prefix == "api"
    assert config.queues.max_dequeue_count == 5
    assert config.queues.max_polling_interval == timedelta(seconds=2)
    assert config.queues.visibility_timeout == timedelta(seconds=10)
    assert (config.queues.batch_size, config.queues.new_batch_threshold) == (16, 8)


def test_host_json_defaults_apply_when_absent(tmp_path):
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    config = HostConfig.load(tmp_path / "host.json")
    assert config.route_prefix == "api"
    assert config.queues.max_dequeue_count == 5
    assert config.queues.max_polling_interval == timedelta(minutes=1)


def test_new_batch_threshold_defaults_to_half_the_batch_as_in_the_functions_host(tmp_path):
    (tmp_path / "host.json").write_text('{"extensions": {"queues": {"batchSize": 10}}}')
    assert HostConfig.load(tmp_path / "host.json").queues.new_batch_threshold == 5


def test_request_telemetry_never_records_query_strings():
    """docs/deploy.md, Security notes: Azure's request log keeps URLs without their query."""
    import json

    settings = json.loads((Path(__file__).parents[2] / "host.json").read_text())
    assert settings["logging"]["applicationInsights"]["enableQueryStringTracing"] is False
