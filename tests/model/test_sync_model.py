"""Issue 12: the sync model (tests/model/machine.py) on a fixed, seeded budget. A longer run:
`python -m bench.sync_model --steps N`."""

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.model.machine import SyncModel
from tests.model.stack import ModelStack

# Derandomized: the same sequences on every run. No shrinking here (it replays each failing
# sequence many times against the real stack); the bench shrinks.
BUDGET = settings(
    max_examples=6,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def test_the_app_shows_what_outlook_holds_after_every_step(model_stack: ModelStack) -> None:
    SyncModel.stack = model_stack
    run_state_machine_as_test(SyncModel, settings=BUDGET)
