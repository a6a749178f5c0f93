"""Every .bicep file parses (pycep) and keeps the deployment's promises (template_checks)."""

from __future__ import annotations

import pytest

from tests.infra.template_checks import CHECKS, Check, Templates

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_templates_keep_their_promise(templates: Templates, check: Check) -> None:
    problems = check(templates)
    assert not problems, "\n".join(problems)
