"""Generate, cache and open the synthetic Qinghai scenario.

One concept: the generation and its cache; the day loop is :mod:`sm_nb.scenario.world`.

The generator follows the spec's order (grids → terrain → climatology → land cover and soil →
sites → daily weather → vegetation → water balance (truth) → thermal state → microwave forward
models per overpass → sensor products → retrievals → model products → MODIS → in situ) in one
streaming day loop per season (the seasons of a multi-year config side by side, one process
each: :mod:`sm_nb.scenario.seasons`), so the ``full`` config never holds a season of fine-grid fields
in memory: fine cubes are appended to zarr every ``cfg.time_chunk`` days, native-grid products
(≤ 0.1 GB) are collected and written at the end. The whole scenario is written into a
temporary folder and renamed into the cache when complete.

Simplifications with respect to the spec (the physics of each step is kept):

* the model day is the local solar day of each pixel (overpass times are local solar times;
  GEOS-5's fixed 05:30 UTC becomes a longitude-dependent local hour);
* θ at an overpass is interpolated linearly between water-balance steps (Δt = 6 h demo,
  3 h full);
* retrieval products use their own ancillary (footprint-mean VWC with a static ±20 % error
  field, footprint-mean texture, effective temperature with a 2 K daily error field, no
  terrain correction) instead of a separate climatological NDVI run.
"""

from __future__ import annotations

import json
import logging
import time as _time
from pathlib import Path
from typing import Any

import xarray as xr

from .._version import __version__
from ..config import ScenarioConfig, check_seed, get_config
from ..exceptions import CatalogError, DataError
from ..fingerprint import code_hash
from ..store import COMPLETE_MARKER, atomic_dir, cache_root, provenance, write_zarr
from .world import World

__all__ = [
    "STORES",
    "scenario_path",
    "ensure_scenario",
    "generate",
    "open_scenario_dataset",
    "open_sites",
]

log = logging.getLogger(__name__)

#: every store the generator writes (catalog ``args.dataset`` values)
STORES = (
    "truth_sm", "dem", "land_cover", "smap_tb", "smap_sm", "amsr2_tb", "amsr2_sm", "fy3c_tb",
    "fy3c_sm", "ascat_sigma40", "modis_lst", "modis_ndvi_evi", "modis_reflectance", "cldas_sm",
    "geos5_sm", "stations_sm", "rain_gauges", "sites",
)
def scenario_path(cfg: ScenarioConfig, seed: int) -> Path:
    """Cache folder of one scenario: config name and hash, seed, package version and a hash of the
    scenario code (:func:`sm_nb.fingerprint.code_hash`), so that edited code never reuses a stale scenario."""
    return cache_root() / f"{cfg.name}-{cfg.key}-seed{seed}-v{__version__}-code{code_hash(__name__)}"


def ensure_scenario(cfg: ScenarioConfig | str, seed: int = 0, progress: bool = True, force: bool = False,
                    workers: int | None = None) -> Path:
    """Return the cached scenario folder, generating it first if needed (``workers``: :func:`generate`)."""
    cfg = get_config(cfg)
    seed = check_seed(seed)
    path = scenario_path(cfg, seed)
    if force or not (path / COMPLETE_MARKER).exists():
        generate(cfg, seed, path, progress=progress, workers=workers)
    return path


def open_scenario_dataset(
    name: str, config: ScenarioConfig | str = "demo", seed: int = 0, chunks: dict | None = None, progress: bool = True
) -> xr.Dataset:
    """Open one store of the (cached or freshly generated) scenario.

    Small stores (``chunks`` empty) are loaded into memory; the others open lazily with dask.
    """
    if name not in STORES:
        raise CatalogError(f"unknown scenario store {name!r}; expected one of {sorted(STORES)}")
    path = ensure_scenario(config, seed, progress=progress) / f"{name}.zarr"
    if not path.exists():
        raise DataError(f"scenario store {path} is missing; regenerate with `sm-nb scenario --force`")
    if chunks:
        ds = xr.open_zarr(path, chunks=chunks)
    else:
        ds = xr.open_zarr(path, chunks=None).load()
    return ds


def open_sites(config: ScenarioConfig | str = "demo", seed: int = 0, kind: str | None = None):
    """Stations and rain gauges as a ``geopandas.GeoDataFrame`` (``kind``: ``sm_station``/``rain_gauge``)."""
    import geopandas as gpd

    df = open_scenario_dataset("sites", config, seed).to_dataframe().reset_index()
    if kind is not None:
        kinds = sorted(df["kind"].unique())
        if kind not in kinds:
            raise DataError(f"site kind {kind!r} unknown; expected one of {kinds}")
        df = df[df["kind"] == kind]
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


# --------------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------------
def _static_stores(static: xr.Dataset, prov: dict[str, Any]) -> tuple[xr.Dataset, xr.Dataset]:
    dem = static[["elevation", "slope", "aspect"]]
    lc_vars = [v for v in static.data_vars if v not in ("elevation", "slope", "aspect")]
    land = static[lc_vars]
    dem.attrs = {**prov, "title": "SRTM-like DEM, slope and aspect"}
    land.attrs = {**prov, "title": "land cover, soil and climatology"}
    return dem, land


def generate(cfg: ScenarioConfig, seed: int, out: Path, progress: bool = True, workers: int | None = None) -> Path:
    """Generate every store of the scenario into ``out`` (atomically).

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
        Non-negative integer; the same (cfg, seed) gives bit-identical arrays.
    out : Path
        Final folder; written under a temporary name and renamed when complete.
    progress : bool
        Show a tqdm bar over the simulated days.
    workers : int, optional
        Seasons generated side by side, one process each (:mod:`sm_nb.scenario.seasons`; the
        stores are the same as with 1). Default: one per core, at most one per year.
    """
    from tqdm.auto import tqdm

    from .static import make_static

    seed = check_seed(seed)
    from .seasons import run_seasons_side_by_side, season_workers

    workers = season_workers(workers, len(cfg.years))
    t0 = _time.perf_counter()
    prov = provenance(cfg.name, cfg.key, seed)
    with atomic_dir(out) as tmp:
        static = make_static(cfg, seed)
        dem, land = _static_stores(static, prov)
        write_zarr(dem, tmp / "dem.zarr")
        write_zarr(land, tmp / "land_cover.zarr")
        static = static.load()
        world = World(cfg, seed, static, tmp, prov)
        n_days = sum(len(cfg.run_dates(y)) for y in cfg.years)
        with tqdm(total=n_days, desc=f"scenario {cfg.name} seed {seed}", unit="day", disable=not progress) as bar:
            if workers > 1:
                run_seasons_side_by_side(world, bar, workers)
            else:
                for year in cfg.years:
                    world.run_year(year, bar)
        world.finish()
        (tmp / "config.json").write_text(json.dumps({"config": cfg.to_dict(), "seed": seed, **prov}, indent=2, default=str))
        (tmp / COMPLETE_MARKER).write_text(f"generated in {_time.perf_counter() - t0:.1f} s\n")
    return out
