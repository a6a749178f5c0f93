"""One in-process stack for the sync model (its own Azurite, emulator and clock)."""

from collections.abc import Iterator

import pytest

from tests.model.stack import ModelStack


@pytest.fixture(scope="session")
def model_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelStack]:
    with ModelStack(tmp_path_factory.mktemp("sync-model")) as stack:
        yield stack
