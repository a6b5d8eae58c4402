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
def demo_scenario(tmp_path_factory) -> Path:
    """The ``demo`` scenario, seed 0, generated once per test run and shared by every worker.

    It lives in a cache folder of its own; under pytest-xdist that folder is shared by the
    workers and the first one generates the scenario under a file lock while the others wait.
    Tests link it into their own cache (:func:`link_scenario`), so their experiments stay
    private.
    """
    import fcntl

    from sm_nb.config import get_config
    from sm_nb.scenario.generate import ensure_scenario

    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "demo-scenario-cache"
    shared.mkdir(exist_ok=True)
    previous = os.environ.get("SM_NB_CACHE")
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.environ["SM_NB_CACHE"] = str(shared)
        try:
            return ensure_scenario(get_config("demo"), 0, progress=False)
        finally:
            if previous is None:
                os.environ.pop("SM_NB_CACHE", None)
            else:
                os.environ["SM_NB_CACHE"] = previous


def link_scenario(scenario: Path, cache: Path) -> Path:
    """A cache folder ``cache`` holding a link to the generated ``scenario``; returns ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    (cache / scenario.name).symlink_to(scenario, target_is_directory=True)
    return cache


#: the longest tests, in the order parallel workers (pytest-xdist) should start them
FIRST = ("test_demo_notebooks_execute[03-05]", "test_notebook_01_runs_on_real_format_files",
         "test_demo_notebooks_execute[01-02]")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Order and group the tests for parallel workers (``pytest -n 2 --dist loadgroup``).

    The longest tests come first (:data:`FIRST`, then other slow and browser tests) so that the
    workers start them early; a stable sort keeps each module's other tests together. Each test
    of :data:`FIRST` is a work unit of its own; every other test goes with its module, whose
    module-scoped fixtures are then set up once, on one worker.
    """

    def rank(item) -> tuple[int, int]:
        if item.name in FIRST:
            return 0, FIRST.index(item.name)
        if item.get_closest_marker("slow"):
            return 1, 0
        return (2, 0) if item.get_closest_marker("browser") else (3, 0)

    items.sort(key=rank)
    for item in items:
        group = item.name if item.name in FIRST else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def mini(cache_dir) -> Path:
    """The ``mini`` scenario (4 × 5 coarse cells, 60 days), seed 0."""
    from sm_nb.config import get_config
    from sm_nb.scenario.generate import ensure_scenario

    return ensure_scenario(get_config("mini"), 0, progress=False)


# ---------------------------------------------------------------------------------------------
# numpy and dask: one fixture, one contract
# ---------------------------------------------------------------------------------------------
@pytest.fixture(params=["numpy", "dask"])
def backend(request) -> str:
    """Run a test once with numpy-backed and once with dask-backed xarray objects."""
    return request.param


def as_backend(obj, backend: str, chunks: dict | None = None):
    """``obj`` (DataArray/Dataset, or a list/dict of them; other values pass through) on ``backend``."""
    import xarray as xr

    if isinstance(obj, list | tuple):
        return type(obj)(as_backend(o, backend, chunks) for o in obj)
    if isinstance(obj, dict):
        return {k: as_backend(v, backend, chunks) for k, v in obj.items()}
    if not isinstance(obj, xr.DataArray | xr.Dataset):
        return obj
    if backend == "numpy":
        return obj.load() if hasattr(obj, "load") else obj
    sizes = dict(obj.sizes)
    default = {d: max(1, (n + 1) // 2) for d, n in sizes.items()}
    return obj.chunk({**default, **(chunks or {})})


def assert_xarray_contract(func, *args, units: str | None = None, rtol: float = 1e-12, chunks: dict | None = None,
                           **kwargs) -> None:
    """``func`` keeps named dims, coords and CF units, and gives equal numbers on numpy and dask.

    ``units``: the ``units`` attribute every returned DataArray (or Dataset variable named in
    the result) must carry; ``None`` checks that the result carries *some* units attribute.
    """
    import dask
    import numpy as np
    import xarray as xr

    ref = func(*as_backend(list(args), "numpy"), **as_backend(dict(kwargs), "numpy"))
    with dask.config.set(scheduler="synchronous"):
        lazy = func(*as_backend(list(args), "dask", chunks), **as_backend(dict(kwargs), "dask", chunks))
        got = lazy.compute() if hasattr(lazy, "compute") else lazy
    arrays = ({"": ref}, {"": got}) if isinstance(ref, xr.DataArray) else (
        {k: ref[k] for k in ref.data_vars}, {k: got[k] for k in got.data_vars})
    assert set(arrays[0]) == set(arrays[1]), f"{func.__name__}: variables differ between numpy and dask"
    for k, a in arrays[0].items():
        b = arrays[1][k]
        where = f"{func.__module__}.{func.__name__}{'[' + k + ']' if k else ''}"
        assert a.dims == b.dims, f"{where}: dims {a.dims} (numpy) vs {b.dims} (dask)"
        assert all(isinstance(d, str) and d for d in a.dims), f"{where}: unnamed dims {a.dims}"
        for c in a.coords:
            np.testing.assert_array_equal(np.asarray(a[c].values), np.asarray(b[c].values), err_msg=f"{where}: coord {c}")
        if k == "":  # a DataArray result: CF units required
            if units is None:
                assert "units" in a.attrs, f"{where}: no CF units attribute"
            else:
                assert a.attrs.get("units") == units, f"{where}: units {a.attrs.get('units')!r}, expected {units!r}"
        assert a.attrs.get("units") == b.attrs.get("units"), f"{where}: units differ numpy/dask"
        np.testing.assert_allclose(np.asarray(a.values, dtype=float), np.asarray(b.values, dtype=float),
                                   rtol=rtol, atol=0, equal_nan=True, err_msg=f"{where}: numbers differ numpy/dask")
