"""The seasons of a multi-year scenario generated side by side, one process per season.

A season's day loop depends on nothing from another season: the water balance, weather,
vegetation and model states start afresh each year (after the spin-up days) and every random
draw is keyed by (seed, name, date) (:func:`sm_nb.scenario.randomfields.rng_for`). So the
seasons of ``full`` (2017 and 2018) can run in separate processes and be joined afterwards into
exactly the stores the one-process loop writes:

* the first season writes the fine-grid stores (truth, MODIS) in place and hands back its
  appenders with the days not yet flushed (:class:`sm_nb.store.ZarrAppender` is plain data);
* every later season writes its own scratch stores, which are then fed day by day, in order,
  into those appenders — the same chunks, encoding and values as one loop over the years;
* the native-grid products and the in-situ series (small) are concatenated in order.

Each process rebuilds the static fields (:func:`sm_nb.scenario.static.make_static`,
deterministic) rather than receiving them. Peak memory is one season's per process (≈ 2.6 GB
on ``full``).
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import xarray as xr

from ..config import usable_cores
from ..exceptions import ConfigError, DataError
from .world import World

__all__ = ["run_seasons_side_by_side", "season_workers"]

#: the fine-grid appenders of :class:`sm_nb.scenario.world.World`, in the order they are handed back
APPENDERS = ("truth", "lst", "vi", "refl")
_DAY = "sm_nb-season-day"


def season_workers(workers: int | None, n_years: int) -> int:
    """Seasons generated at once: ``workers`` (checked; default one per core), at most one per year."""
    if workers is None:
        workers = usable_cores()
    elif isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers={workers!r}; expected a positive integer (seasons generated side by side)")
    return max(1, min(workers, n_years))


class _LineBar:
    """A progress bar stand-in in a worker process: one line on stdout per day done."""

    def update(self, n: int = 1) -> None:
        sys.stdout.write(f"{_DAY} {int(n)}\n")
        sys.stdout.flush()


def _season(job: Path) -> None:
    """One season in a fresh interpreter (``job``: its pickled arguments); its state for the join
    is pickled to ``job``'s ``result`` path."""
    from .static import make_static

    def exit_with_parent() -> None:  # stdin is a pipe from the parent: EOF when it ends, however it ends
        sys.stdin.read()
        os._exit(1)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    with open(job, "rb") as f:
        a = pickle.load(f)
    a["out"].mkdir(parents=True, exist_ok=True)
    world = World(a["cfg"], a["seed"], make_static(a["cfg"], a["seed"]).load(), a["out"], a["prov"])
    try:
        world.run_year(a["year"], _LineBar())
    finally:
        world._pool.shutdown()
    appenders = {name: getattr(world, name) for name in APPENDERS}
    if not a["first"]:  # a later season's stores are read back whole: flush them
        for app in appenders.values():
            app.close()
        appenders = {name: app.path for name, app in appenders.items()}
    state = {"appenders": appenders, "products": world.products,
             "stations": world.station_parts, "gauges": world.gauge_parts}
    with open(a["result"], "wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)


def _feed(appender: Any, path: Path) -> None:
    """Append every day of the store at ``path`` to ``appender``, one chunk of days at a time."""
    if not path.exists():  # no day of this season was stored (e.g. no composite overlaps it)
        return
    ds = xr.open_zarr(path, consolidated=False)
    names = list(ds.data_vars)
    for start in range(0, ds.sizes["time"], appender.chunk):
        block = ds.isel(time=slice(start, start + appender.chunk)).load()
        for i, t in enumerate(block["time"].values):
            appender.add(t, **{n: block[n].values[i] for n in names})


def run_seasons_side_by_side(world: Any, bar: Any, workers: int) -> None:
    """Run every season of ``world.cfg`` in up to ``workers`` processes and join them into ``world``.

    Afterwards ``world`` holds what ``for year in cfg.years: world.run_year(year, bar)`` would
    leave: the first season's appenders (with their unflushed days) fed with the later seasons'
    days, the products' daily arrays and the in-situ parts in year order. ``world.finish()``
    then writes the stores as usual.
    """
    years = list(world.cfg.years)
    scratch = world.out / ".seasons"
    scratch.mkdir()
    # fresh interpreters importing this very copy of sm_nb (no fork of a process with threads,
    # no re-import of the caller's __main__ as multiprocessing's spawn would do)
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); "
            "from sm_nb.scenario.seasons import _season; _season(__import__('pathlib').Path(sys.argv[1]))")
    jobs = []
    for i, year in enumerate(years):
        job = scratch / f"job_{year}.pkl"
        with open(job, "wb") as f:
            pickle.dump({"cfg": world.cfg, "seed": world.seed, "prov": world.prov, "year": year, "first": i == 0,
                         "out": world.out if i == 0 else scratch / str(year),
                         "result": scratch / f"state_{year}.pkl"}, f)
        jobs.append(job)
    lock = threading.Lock()

    def run(job: Path) -> tuple[int, str]:
        with subprocess.Popen([sys.executable, "-c", code, str(job)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as proc:
            procs.append(proc)
            err: list[str] = []
            reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
            reader.start()
            for line in proc.stdout:  # anything else a season prints is ignored
                if line.startswith(_DAY):
                    with lock:
                        bar.update(int(line.split()[1]))
            proc.wait()
            reader.join()
            return proc.returncode, "".join(err[-20:])

    procs: list[subprocess.Popen] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        try:
            for year, fut in zip(years, futures, strict=True):
                code_, err = fut.result()
                if code_:
                    raise DataError(f"generating the {year} season failed (exit code {code_}):\n{err}")
        except BaseException:
            for f in futures:
                f.cancel()
            for proc in procs:
                proc.kill()
            raise
    states = []
    for year in years:
        with open(scratch / f"state_{year}.pkl", "rb") as fh:
            states.append(pickle.load(fh))
    first = states[0]
    for name in APPENDERS:
        setattr(world, name, first["appenders"][name])
    world.products = first["products"]
    world.station_parts, world.gauge_parts = list(first["stations"]), list(first["gauges"])
    for state in states[1:]:
        for name in APPENDERS:
            _feed(getattr(world, name), state["appenders"][name])
        for key, col in state["products"].items():
            target = world.products[key]
            target.times.extend(col.times)
            for var, arrays in col.data.items():
                target.data.setdefault(var, []).extend(arrays)
        world.station_parts += state["stations"]
        world.gauge_parts += state["gauges"]
    shutil.rmtree(scratch)
