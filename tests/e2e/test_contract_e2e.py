"""Schemathesis runs /api/openapi.json against the running app: every operation, with links.

A fixed seed and a modest budget (python -m bench.contract fuzzes longer). Passing means: no
5xx, every status, content type, header and body as documented, every error problem+json,
invalid input refused, and a created conversation readable, changeable and then gone.
"""

import pytest

from devtools.contract_fuzz import fuzzing_caller, run_schemathesis
from tests.openapi_contract import operations

pytestmark = pytest.mark.e2e
SEED = 20260302
EXAMPLES_PER_OPERATION = 8


def test_every_operation_keeps_the_contract_under_generated_input(host_app, local_host, tmp_path):
    token = fuzzing_caller(host_app)
    run = run_schemathesis(
        local_host.base_url,
        token,
        tmp_path,
        seed=SEED,
        max_examples=EXAMPLES_PER_OPERATION,
    )
    assert run.report, run.output[-4000:]
    assert run.operations_tested == len(list(operations())), run.summary()
    assert run.failures == [], run.summary() + "\n" + run.output[-6000:]
    assert run.errors == [], run.summary()
    phases = run.report["phases"]
    assert phases["stateful"]["status"] == "success", phases
    assert run.exit_code == 0, run.output[-4000:]
