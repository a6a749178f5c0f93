"""Each row of Microsoft's "Flex Consumption plan deprecations" table, written into the function
app, is reported by the template checks; the templates as they are declare none of them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.infra import flex_consumption
from tests.infra import template_checks as tc
from tests.infra.conftest import Templates

check = tc.function_app_declares_only_what_flex_consumption_takes


def site_of(templates: Templates) -> dict[str, Any]:
    [(_, _, site)] = tc.resources_of_type(templates, "Microsoft.Web/sites")
    return site


def with_site_property(templates: Templates, where: str, name: str) -> Templates:
    changed = copy.deepcopy(templates)
    properties = site_of(changed)["properties"]
    target = properties if where == "properties" else properties.setdefault("siteConfig", {})
    target[name] = "any value"
    return changed


def with_app_setting(templates: Templates, name: str) -> Templates:
    changed = copy.deepcopy(templates)
    for _, _, body in tc.resources_of_type(changed, "Microsoft.Web/sites/config"):
        if body.get("name") == "appsettings":
            body["properties"][name] = "any value"
    return changed


def test_the_table_has_every_row_of_microsofts_docs() -> None:
    settings = [row for row in flex_consumption.TABLE if not row.is_site_property]
    properties = [row for row in flex_consumption.TABLE if row.is_site_property]
    assert (len(settings), len(properties)) == (17, 17)
    ftps = flex_consumption.SITE_PROPERTIES["ftpsstate"]
    assert (ftps.name, ftps.reason) == ("properties.ftpsState", "FTPS not supported")


@pytest.mark.parametrize(
    "row",
    [row for row in flex_consumption.TABLE if row.is_site_property],
    ids=lambda row: row.property_name,
)
@pytest.mark.parametrize("where", ["properties", "properties.siteConfig"])
def test_each_site_property_flex_refuses_is_reported(
    templates: Templates, row: flex_consumption.Deprecated, where: str
) -> None:
    assert check(templates) == []
    for spelling in (row.property_name, row.property_name.lower()):
        problems = check(with_site_property(templates, where, spelling))
        assert any(
            f"{where}: {spelling} is not for Flex Consumption ({row.reason})" in p for p in problems
        ), problems


@pytest.mark.parametrize(
    "row",
    [
        row
        for row in (*flex_consumption.TABLE, *flex_consumption.ALSO_REFUSED)
        if not row.is_site_property
    ],
    ids=lambda row: row.name,
)
def test_each_app_setting_flex_refuses_is_reported(
    templates: Templates, row: flex_consumption.Deprecated
) -> None:
    problems = check(with_app_setting(templates, row.name))
    assert any(
        f"app setting {row.name} is not for Flex Consumption ({row.reason})" in p for p in problems
    ), problems


def test_a_web_config_resource_is_checked_too(templates: Templates) -> None:
    changed = copy.deepcopy(templates)
    tree = changed[tc.FUNCTION_APP]
    tree["resources"]["webConfig"] = {
        "type": "Microsoft.Web/sites/config",
        "existing": False,
        "config": {"name": "web", "properties": {"ftpsState": "Disabled", "alwaysOn": False}},
    }
    problems = check(changed)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "ftpsState is not for Flex Consumption (FTPS not supported)",
        "alwaysOn is not for Flex Consumption (Not valid)",
    ]
