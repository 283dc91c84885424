"""Fixtures of the control-view tests: an isolated hub (own topic prefix) on the session broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.view.support import Hub


@pytest.fixture(scope="module")
def hub(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    h = Hub(kafka_bootstrap, tmp_path_factory.mktemp("view"))
    try:
        yield h
    finally:
        h.close()
