"""The sync model's stack (its own emulator and clock, the app in this process), for its module
only: the process's app services are its own while it runs."""

from collections.abc import Iterator

import pytest

from tests.model.stack import ModelStack


@pytest.fixture(scope="module")
def model_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelStack]:
    with ModelStack(tmp_path_factory.mktemp("sync-model")) as stack:
        yield stack
