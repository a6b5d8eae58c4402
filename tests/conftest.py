"""Shared fixtures: a tiny seeded scenario (``mini``) generated once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A private cache so tests never touch (or depend on) the user's cache."""
    path = tmp_path_factory.mktemp("smnb_cache")
    os.environ["SM_NB_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def mini(cache_dir) -> Path:
    """The ``mini`` scenario (4 × 5 coarse cells, 60 days), seed 0."""
    from sm_nb.config import get_config
    from sm_nb.scenario.generate import ensure_scenario

    return ensure_scenario(get_config("mini"), 0, progress=False)
