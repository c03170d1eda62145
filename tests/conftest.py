"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture
def scenario_dir() -> Path:
    """Folder of the tiny hand-built test scenarios."""
    return SCENARIOS
