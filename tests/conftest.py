"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real NetFlow samples (../shared/data from the repository root); skips if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real NetFlow samples not available: {SHARED_DATA} does not exist")
    return SHARED_DATA
