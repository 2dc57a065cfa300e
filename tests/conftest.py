"""Shared fixtures: the optional ../shared/data folder and small scorers."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (it exists only on the project's own machines)")
    return SHARED_DATA
