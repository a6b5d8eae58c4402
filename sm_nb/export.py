"""Write the synthetic scenario as files in the real products' layouts, plus a catalog pointing at them.

``sm-nb export-real-format --config demo OUTDIR`` (see :mod:`sm_nb.cli`) or :func:`export_real_format` writes

===========================  ==============================================================
folder                       files
===========================  ==============================================================
``SMAP/``                    ``SMAP_L3_SM_P_YYYYMMDD_R16515_001.h5`` (TB, SM and flags)
``AMSR2/``                   ``GW1AM2_YYYYMMDD_01D_EQM[A|D]_L3SGT{06,07,10}LA2220220.h5`` and ``…L3SGSMCLA…``
``FY3C/``                    ``FY3C_MWRI[A|D]_GBAL_L1_YYYYMMDD_HHMM_010KM_MS.HDF`` and ``…_L2_VSM_…``
``ASCAT/``                   ``W_XX-EUMETSAT-Darmstadt,SURFACE+SATELLITE,METOPB+ASCAT_C_EUMP_…_ssm_l2.nc``
``MODIS/MOD11A1`` …          ``MOD11A1.AYYYYDDD.hHHvVV.061.2021301120000.hdf`` tiles (HDF4-EOS)
``SRTM/``                    ``N36E098.hgt.zip``
``CLDAS/``                   ``Z_NAFP_C_BABJ_…_P_CLDAS_NRT_ASI_0P0625_DAY-SM000005-YYYYMMDD00.nc``
``GEOS5/``                   ``GEOS.fp.asm.tavg1_2d_lnd_Nx.YYYYMMDD_0530.V01.nc4``
``ISMN/SMNB/<station>/``     ``SMNB_SMNB_<station>_sm_0.100000_0.100000_…stm`` and ``…_p_…``
``data_catalog.yaml``        the shipped catalog with these entries switched to ``source: files``
===========================  ==============================================================

Reading them back through the catalog gives the synthetic numbers within each format's
quantisation (AMSR2 0.01 K, FY-3C 0.01 K, MODIS LST 0.02 K, NDVI/reflectance 1e-4, SRTM 1 m,
ISMN 1e-4). Quantities a format cannot carry are documented in :data:`NOT_CARRIED`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from .exceptions import ConfigError, DataError

__all__ = ["export_real_format", "FILES_ENTRIES", "NOT_CARRIED", "EXPORTERS"]

#: catalog entry → (reader, path glob relative to OUTDIR, reader args)
FILES_ENTRIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "smap_tb": ("smap", "SMAP/SMAP_L3_SM_P_*.h5", {}),
    "smap_sm": ("smap", "SMAP/SMAP_L3_SM_P_*.h5", {}),
    "amsr2_tb": ("amsr2", "AMSR2/GW1AM2_*_L3SGT*.h5", {}),
    "amsr2_sm": ("amsr2", "AMSR2/GW1AM2_*_L3SGSMC*.h5", {}),
    "fy3c_tb": ("fy3c", "FY3C/FY3C_MWRI?_GBAL_L1_*.HDF", {}),
    "fy3c_sm": ("fy3c", "FY3C/FY3C_MWRI?_GBAL_L2_VSM_*.HDF", {}),
    "ascat_sigma40": ("ascat", "ASCAT/W_XX-EUMETSAT-Darmstadt*.nc", {}),
    "modis_lst": ("modis", "MODIS/MOD11A1/MOD11A1.A*.hdf", {"product": "MOD11A1"}),
    "modis_ndvi_evi": ("modis", "MODIS/MOD13A2/MOD13A2.A*.hdf", {"product": "MOD13A2"}),
    "modis_reflectance": ("modis", "MODIS/MOD09A1/MOD09A1.A*.hdf", {"product": "MOD09A1"}),
    "dem": ("srtm", "SRTM/*.hgt.zip", {}),
    "cldas_sm": ("cldas", "CLDAS/Z_NAFP_C_BABJ_*.nc", {}),
    "geos5_sm": ("geos5", "GEOS5/GEOS.fp.asm.tavg1_2d_lnd_Nx.*.nc4", {"utc_hour": "05:30", "daily": True}),
    "stations_sm": ("ismn", "ISMN/SMNB/*/*_sm_*.stm", {"daily": True}),
    "rain_gauges": ("ismn", "ISMN/SMNB/*/*_p_*.stm", {"daily": True}),
}
#: what a real format cannot carry back (documented differences of the files path)
NOT_CARRIED = {
    "amsr2_tb": "flag_asc/flag_desc: JAXA L3 TB files have no quality flags (read back as 0)",
    "fy3c_tb": "flag_asc/flag_desc: MWRI L1 files have no sm_nb flags (read back as 0)",
    "dem": "slope/aspect are recomputed from the 3-arc-second samples, not the scenario's oversampled DEM",
    "truth_sm": "no real product: stays synthetic",
    "land_cover": "no reader for MCD12Q1/soil maps yet: stays synthetic",
}
_CRID = "R16515_001"
_MODIS_STAMP = "061.2021301120000"
_ORBITS = {"asc": "A", "desc": "D"}


def _match(values: np.ndarray, reference: np.ndarray, what: str) -> np.ndarray:
    """Index in ``reference`` of each value (to 1e-6°)."""
    idx = np.abs(np.asarray(reference)[None, :] - np.asarray(values)[:, None]).argmin(axis=1)
    if not np.allclose(np.asarray(reference)[idx], values, atol=1e-6):
        raise DataError(f"{what}: the scenario grid is not a subset of the product's native grid")
    return idx


def _place(arr: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], fill: float = np.nan) -> np.ndarray:
    out = np.full(shape, fill, dtype=np.float64 if np.isnan(fill) else arr.dtype)
    out[np.ix_(rows, cols)] = arr
    return out


def _export_smap(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io._grids import ease2_centres
    from .io.writers import write_smap_l3

    tb, sm = stores("smap_tb"), stores("smap_sm")
    lat_rows, lon_cols = ease2_centres("M36")
    rows, cols = _match(tb.lat.values, lat_rows, "SMAP rows"), _match(tb.lon.values, lon_cols, "SMAP columns")
    shape = (lat_rows.size, lon_cols.size)
    valid = _place(np.ones((rows.size, cols.size)), rows, cols, shape) == 1
    n = 0
    for t, day in enumerate(pd.DatetimeIndex(tb.time.values)):
        passes = {}
        for o in ("asc", "desc"):
            passes[o] = {
                "tbh": _place(tb[f"tbh_{o}"].values[t, 0], rows, cols, shape),
                "tbv": _place(tb[f"tbv_{o}"].values[t, 0], rows, cols, shape),
                "sm": _place(sm[f"sm_{o}"].sel(time=day).values, rows, cols, shape),
                "flag": _place(tb[f"flag_{o}"].values[t].astype(np.uint8), rows, cols, shape, fill=0),
                "valid": valid,
            }
        write_smap_l3(out / f"SMAP_L3_SM_P_{day:%Y%m%d}_{_CRID}.h5", day, passes, lat_rows, lon_cols)
        n += 1
    return n


def _export_amsr2(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io.amsr2 import FREQUENCY_CODES
    from .io.writers import write_amsr2

    tb, sm = stores("amsr2_tb"), stores("amsr2_sm")
    lat_all = 90.0 - (np.arange(720) + 0.5) * 0.25
    lon_all = (np.arange(1440) + 0.5) * 0.25
    rows = _match(tb.lat.values, lat_all, "AMSR2 rows")
    cols = _match(tb.lon.values % 360.0, lon_all, "AMSR2 columns")
    codes = {v: k for k, v in FREQUENCY_CODES.items()}
    n = 0
    for t, day in enumerate(pd.DatetimeIndex(tb.time.values)):
        for o, letter in _ORBITS.items():
            for k, f in enumerate(tb.frequency.values):
                code = codes[min(codes, key=lambda c: abs(c - float(f)))]
                arrays = {pol: _place(tb[f"tb{pol}_{o}"].values[t, k], rows, cols, (720, 1440)) for pol in "hv"}
                write_amsr2(out / f"GW1AM2_{day:%Y%m%d}_01D_EQM{letter}_L3SGT{code}LA2220220.h5", arrays, "tb", o)
                n += 1
            write_amsr2(out / f"GW1AM2_{day:%Y%m%d}_01D_EQM{letter}_L3SGSMCLA2220220.h5",
                        {"sm": _place(sm[f"sm_{o}"].sel(time=day).values, rows, cols, (720, 1440))}, "sm", o)
            n += 1
    return n


def _export_fy3c(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io._grids import ease2_centres
    from .io.fy3c import CHANNELS
    from .io.writers import write_fy3c_l1, write_fy3c_l2
    from .scenario.sensor_specs import SENSORS

    tb, sm = stores("fy3c_tb"), stores("fy3c_sm")
    lat_rows, lon_cols = ease2_centres("M25")
    rows, cols = _match(tb.lat.values, lat_rows, "FY-3C rows"), _match(tb.lon.values, lon_cols, "FY-3C columns")
    mlat, mlon = np.meshgrid(tb.lat.values, tb.lon.values, indexing="ij")
    k_of = {pol: next(k for k, (f, p) in enumerate(CHANNELS) if p == pol and np.isclose(f, 10.65)) for pol in "hv"}
    lon_c = float(np.mean(tb.lon.values))
    n = 0
    for t, day in enumerate(pd.DatetimeIndex(tb.time.values)):
        for o, letter in _ORBITS.items():
            start = day + pd.Timedelta(hours=SENSORS["fy3c"].overpass_hour(o) - lon_c / 15.0)
            chans = {k_of[pol]: tb[f"tb{pol}_{o}"].sel(frequency=10.65).values[t].ravel() for pol in "hv"}
            write_fy3c_l1(out / f"FY3C_MWRI{letter}_GBAL_L1_{start:%Y%m%d_%H%M}_010KM_MS.HDF", start, mlat.ravel(), mlon.ravel(), chans)
            field = _place(sm[f"sm_{o}"].sel(time=day).values, rows, cols, (lat_rows.size, lon_cols.size))
            write_fy3c_l2(out / f"FY3C_MWRI{letter}_GBAL_L2_VSM_MLT_ESD_{day:%Y%m%d}_POAD_025KM_MS.HDF", field)
            n += 2
    return n


def _export_ascat(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io.writers import write_ascat
    from .scenario.sensor_specs import SENSORS

    ds = stores("ascat_sigma40")
    lat, lon = ds.lat.values, ds.lon.values
    cells = 82
    per_row = -(-lon.size // cells)
    n = 0
    for t, day in enumerate(pd.DatetimeIndex(ds.time.values)):
        for o in ("asc", "desc"):
            order = np.arange(lat.size) if o == "asc" else np.arange(lat.size)[::-1]  # along-track: north-bound when ascending
            field = ds[f"sigma40_{o}"].values[t]
            rl, rn, rs, rt = [], [], [], []
            for i in order:
                for j in range(per_row):
                    seg = slice(j * cells, min((j + 1) * cells, lon.size))
                    pad = cells - (seg.stop - seg.start)
                    rl.append(np.concatenate([np.full(seg.stop - seg.start, lat[i]), np.full(pad, np.nan)]))
                    rn.append(np.concatenate([lon[seg], np.full(pad, np.nan)]))
                    rs.append(np.concatenate([field[i, seg], np.full(pad, np.nan)]))
                    hours = SENSORS["ascat"].overpass_hour(o) - float(np.mean(lon[seg])) / 15.0
                    rt.append(day + pd.Timedelta(hours=hours))
            start = min(rt)
            name = f"W_XX-EUMETSAT-Darmstadt,SURFACE+SATELLITE,METOPB+ASCAT_C_EUMP_{start:%Y%m%d%H%M%S}_{20000 + 2 * t + (o == 'desc'):05d}_eps_o_125_ssm_l2.nc"
            write_ascat(out / name, np.array(rl), np.array(rn), np.array(rs), np.array(rt, dtype="datetime64[ns]"), o == "asc", cells)
            n += 1
    return n


def _modis_tiles(grid: Any, npix: int) -> dict[tuple[int, int], tuple[tuple[float, float, float, float], np.ndarray, np.ndarray]]:
    """Tiles covering ``grid``: (h, v) → (corners as written, pixel flat index, target flat index)."""
    from pyproj import CRS, Transformer

    from .io.modis import SINU_PROJ4, TILE_SIZE, X0, Y0, tile_corners
    from .io.writers import modis_pixel_latlon

    s, nn, w, e = grid.bounds
    ring = np.linspace(0.0, 1.0, 64)
    edge_lat = np.concatenate([s + (nn - s) * ring, s + (nn - s) * ring, np.full(64, s), np.full(64, nn)])
    edge_lon = np.concatenate([np.full(64, w), np.full(64, e), w + (e - w) * ring, w + (e - w) * ring])
    xs, ys = Transformer.from_crs("EPSG:4326", CRS.from_proj4(SINU_PROJ4), always_xy=True).transform(edge_lon, edge_lat)
    out = {}
    for h in range(int((np.min(xs) - X0) // TILE_SIZE), int((np.max(xs) - X0) // TILE_SIZE) + 1):
        for v in range(int((Y0 - np.max(ys)) // TILE_SIZE), int((Y0 - np.min(ys)) // TILE_SIZE) + 1):
            corners = tuple(float(f"{c:.6f}") for c in tile_corners(h, v))
            lat, lon = modis_pixel_latlon(corners, npix)
            idx = grid.index(lat, lon).reshape(-1)
            pix = np.flatnonzero(idx >= 0)
            if pix.size:
                out[(h, v)] = (corners, pix.astype(np.int64), idx[pix])
    return out


def _export_modis(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io._grids import target_grid
    from .io.modis import PRODUCTS
    from .io.writers import write_modis_tile

    n = 0
    for product, store in (("MOD11A1", "modis_lst"), ("MOD13A2", "modis_ndvi_evi"), ("MOD09A1", "modis_reflectance")):
        ds = stores(store)
        grid = target_grid(ds)
        npix = PRODUCTS[product]["npix"]
        tiles = _modis_tiles(grid, npix)
        folder = out / product
        folder.mkdir(parents=True, exist_ok=True)
        for t, day in enumerate(pd.DatetimeIndex(ds.time.values)):
            for (h, v), (corners, pix, idx) in tiles.items():
                fields = {}
                for var in PRODUCTS[product]["vars"]:
                    full = np.full(npix * npix, np.nan)
                    full[pix] = ds[var].values[t].reshape(-1)[idx]
                    fields[var] = full.reshape(npix, npix)
                write_modis_tile(folder / f"{product}.A{day:%Y%j}.h{h:02d}v{v:02d}.{_MODIS_STAMP}.hdf", product, corners, fields, day)
                n += 1
    return n


def _export_srtm(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io._grids import target_grid
    from .io.srtm import hgt_tile_name
    from .io.writers import write_hgt_zip

    dem = stores("dem")
    grid = target_grid(dem)
    s, nn, w, e = grid.bounds
    z = dem["elevation"].values.reshape(-1)
    n = 0
    for lat0 in range(int(np.floor(s)), int(np.ceil(nn))):
        for lon0 in range(int(np.floor(w)), int(np.ceil(e))):
            lat = lat0 + np.arange(1201) / 1200
            lon = lon0 + np.arange(1201) / 1200
            mlat, mlon = np.meshgrid(lat, lon, indexing="ij")
            idx = grid.index(mlat, mlon)
            tile = np.where(idx >= 0, z[np.maximum(idx, 0)], np.nan)[::-1]  # rows north → south
            write_hgt_zip(out / f"{hgt_tile_name(lat0, lon0)}.zip", tile)
            n += 1
    return n


def _export_cldas(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io.writers import write_cldas

    ds = stores("cldas_sm")
    # the 0.0625° Asia grid (1040 × 1600 from about 0°N, 60°E); its cell phase is not documented ([T]),
    # so the scenario's phase is used
    lat_all = float(ds.lat.values[0]) % 0.0625 + 0.0625 * np.arange(1040)
    lon_all = 60.0 + (float(ds.lon.values[0]) - 60.0) % 0.0625 + 0.0625 * np.arange(1600)
    rows, cols = _match(ds.lat.values, lat_all, "CLDAS rows"), _match(ds.lon.values, lon_all, "CLDAS columns")
    for t, day in enumerate(pd.DatetimeIndex(ds.time.values)):
        produced = day + pd.Timedelta(days=1, minutes=15)
        name = f"Z_NAFP_C_BABJ_{produced:%Y%m%d%H%M%S}_P_CLDAS_NRT_ASI_0P0625_DAY-SM000005-{day:%Y%m%d}00.nc"
        write_cldas(out / name, lat_all, lon_all, _place(ds["sm"].values[t], rows, cols, (1040, 1600)))
    return ds.time.size


def _export_geos5(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io.writers import write_geos5

    ds = stores("geos5_sm")
    lat_all = -90.0 + 0.25 * np.arange(721)
    lon_all = -180.0 + 0.3125 * np.arange(1152)
    rows, cols = _match(ds.lat.values, lat_all, "GEOS-5 rows"), _match(ds.lon.values, lon_all, "GEOS-5 columns")
    for t, day in enumerate(pd.DatetimeIndex(ds.time.values)):
        stamp = day + pd.Timedelta(hours=5, minutes=30)
        write_geos5(out / f"GEOS.fp.asm.tavg1_2d_lnd_Nx.{stamp:%Y%m%d_%H%M}.V01.nc4", stamp, lat_all, lon_all, _place(ds["sm"].values[t], rows, cols, (721, 1152)))
    return ds.time.size


def _export_ismn(out: Path, stores: Callable[[str], xr.Dataset], cfg: Any) -> int:
    from .io.stations import ismn_file_name
    from .io.writers import write_ismn

    n = 0
    for store, var, code, depth in (("stations_sm", "sm", "sm", (0.1, 0.1)), ("rain_gauges", "precipitation", "p", (0.0, 0.0))):
        ds = stores(store)
        times = pd.DatetimeIndex(ds.time.values)
        for i, st in enumerate(ds.station.values):
            folder = out / "SMNB" / str(st)
            folder.mkdir(parents=True, exist_ok=True)
            name = ismn_file_name("SMNB", str(st), code, depth[0], depth[1], "SynthProbe", times[0], times[-1])
            write_ismn(folder / name, "SMNB", str(st), float(ds.lat.values[i]), float(ds.lon.values[i]), float(ds.elevation.values[i]),
                       depth, "SynthProbe", times, ds[var].values[i].astype(np.float64))
            n += 1
    return n


#: folder → exporter(out folder, store opener, config) -> number of files
EXPORTERS: dict[str, Callable[[Path, Callable[[str], xr.Dataset], Any], int]] = {
    "SMAP": _export_smap, "AMSR2": _export_amsr2, "FY3C": _export_fy3c, "ASCAT": _export_ascat, "MODIS": _export_modis,
    "SRTM": _export_srtm, "CLDAS": _export_cldas, "GEOS5": _export_geos5, "ISMN": _export_ismn,
}


def export_real_format(
    config: Any, seed: int, outdir: str | Path, products: Sequence[str] | None = None, time: tuple[Any, Any] | None = None, progress: bool = True
) -> Path:
    """Write the synthetic scenario in the real file layouts and a ``data_catalog.yaml`` pointing at them.

    Parameters
    ----------
    config : str or ScenarioConfig
        Scenario config (``mini``, ``demo``, ``full``).
    seed : int
        Scenario seed.
    outdir : path
        Output folder (created); one sub-folder per product family (see the module docstring).
    products : sequence of str, optional
        Sub-set of :data:`EXPORTERS` folders to write (default all).
    time : (start, end), optional
        Write only these days (composites whose window overlaps them); default the whole scenario.
    progress : bool
        Print one line per product family.

    Returns
    -------
    Path
        ``OUTDIR/data_catalog.yaml``: the shipped catalog's entries with the exported ones
        switched to ``source: files`` (absolute paths), the others left synthetic.
    """
    from .catalog import default_catalog_path
    from .config import check_seed, get_config
    from .io._common import parse_time_range
    from .scenario.generate import open_scenario_dataset

    cfg = get_config(config)
    seed = check_seed(seed)
    chosen = list(EXPORTERS) if products is None else list(products)
    unknown = [p for p in chosen if p not in EXPORTERS]
    if unknown:
        raise ConfigError(f"unknown product folder(s) {unknown}; expected a subset of {list(EXPORTERS)}")
    out = Path(outdir).expanduser().resolve()
    cache: dict[str, xr.Dataset] = {}

    rng = parse_time_range(time)

    def stores(name: str) -> xr.Dataset:
        if name not in cache:
            ds = open_scenario_dataset(name, cfg, seed, progress=progress)
            if rng is not None and "time" in ds.dims:
                days = 16 if name == "modis_ndvi_evi" else 8 if name == "modis_reflectance" else 1
                t = pd.DatetimeIndex(ds.time.values)
                ds = ds.isel(time=np.flatnonzero((t + pd.Timedelta(days=days - 1) >= rng[0]) & (t <= rng[1])))
            cache[name] = ds.load()
        return cache[name]

    for folder in chosen:
        target = out / folder
        target.mkdir(parents=True, exist_ok=True)
        n = EXPORTERS[folder](target, stores, cfg)
        if progress:
            print(f"  {folder:<6} {n:5d} file(s) → {target}")
    raw = yaml.safe_load(default_catalog_path().read_text())
    raw["defaults"] = {"config": cfg.name, "seed": seed}
    folders = {e: g.split("/")[0] for e, (_, g, _) in FILES_ENTRIES.items()}
    for entry, (reader, glob_, args) in FILES_ENTRIES.items():
        if entry in raw["datasets"] and folders[entry] in chosen:
            raw["datasets"][entry].update({"source": "files", "reader": reader, "path": glob_, "args": dict(args)})
            if entry in NOT_CARRIED:
                raw["datasets"][entry]["description"] += f" [files: {NOT_CARRIED[entry]}]"
    path = out / "data_catalog.yaml"
    header = f"# sm_nb catalog written by `sm-nb export-real-format` (config {cfg.name}, seed {seed}).\n"
    path.write_text(header + yaml.safe_dump(raw, sort_keys=False, width=120))
    return path
