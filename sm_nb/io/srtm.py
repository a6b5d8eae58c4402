"""SRTM DEM tiles (``.hgt``, ``.hgt.zip``, or GeoTIFF via rioxarray) → elevation, slope, aspect.

``.hgt`` [V]: ``N36E098.hgt`` is the 1° tile whose south-west corner is at 36°N 98°E; headerless
big-endian int16 metres, 1201 × 1201 (3″) or 3601 × 3601 (1″) samples whose centres lie on
the tile edges, row 0 north; void −32768 (``shared/reference/data_formats.md`` §6). GeoTIFF
tiles (CGIAR ``srtm_XX_YY.tif``) are opened with rioxarray (rasterio/GDAL) in EPSG:4326.

Slope and aspect are computed at the native resolution with metric spacing (the Horn
gradient of :func:`sm_nb.terrain.gradient_metric`, never degrees-as-metres) and then
averaged into the target cells, as the scenario does for its own DEM (spec §3).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..conventions import cf_attrs
from ..exceptions import DataError
from ._common import PathsLike, Problems, coords, finish, resolve_paths, run_per_file
from ._grids import TargetGrid, target_grid

__all__ = ["read_srtm", "HGT_NAME", "HGT_VOID", "hgt_tile_name"]

HGT_NAME = re.compile(r"^([NS])(\d{2})([EW])(\d{3})\.hgt(\.zip)?$", re.IGNORECASE)
HGT_VOID = -32768
_SIZES = {1201 * 1201 * 2: 1201, 3601 * 3601 * 2: 3601}


def hgt_tile_name(lat0: int, lon0: int) -> str:
    """Name of the tile whose south-west corner is (lat0, lon0): e.g. ``N36E098.hgt``."""
    return f"{'N' if lat0 >= 0 else 'S'}{abs(lat0):02d}{'E' if lon0 >= 0 else 'W'}{abs(lon0):03d}.hgt"


def _read_hgt(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = HGT_NAME.match(path.name)
    lat0 = int(m.group(2)) * (1 if m.group(1).upper() == "N" else -1)
    lon0 = int(m.group(4)) * (1 if m.group(3).upper() == "E" else -1)
    if m.group(5):
        try:
            with zipfile.ZipFile(path) as zf:
                inner = [n for n in zf.namelist() if n.lower().endswith(".hgt")]
                if len(inner) != 1:
                    raise DataError(f"zip archive holds {zf.namelist()}; expected exactly one .hgt file")
                raw = zf.read(inner[0])
        except zipfile.BadZipFile as exc:
            raise DataError(f"not a readable zip archive ({exc}); expected a zipped .hgt tile") from None
    else:
        raw = path.read_bytes()
    if len(raw) not in _SIZES:
        raise DataError(f"holds {len(raw)} bytes; expected {sorted(_SIZES)} (1201² or 3601² big-endian int16 samples) — truncated?")
    n = _SIZES[len(raw)]
    z = np.frombuffer(raw, dtype=">i2").reshape(n, n)[::-1].astype(np.float32)  # south → north
    z[z == HGT_VOID] = np.nan
    lat = lat0 + np.arange(n) / (n - 1)
    lon = lon0 + np.arange(n) / (n - 1)
    return z, lat, lon


def _read_tif(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        import rioxarray
    except ImportError:  # pragma: no cover - optional dependency
        raise DataError("reading GeoTIFF DEMs needs rioxarray (pip install rioxarray)") from None
    da = rioxarray.open_rasterio(path, masked=True)
    crs = da.rio.crs
    if crs is None or not crs.is_geographic:
        raise DataError(f"GeoTIFF CRS is {crs}; expected geographic lat/lon (EPSG:4326)")
    da = da.isel(band=0) if "band" in da.dims else da
    da = da.sortby("y")
    return np.asarray(da.values, dtype=np.float32), np.asarray(da["y"].values), np.asarray(da["x"].values)


def _read_tile(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if HGT_NAME.match(path.name):
        return _read_hgt(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        return _read_tif(path)
    raise DataError("file name is neither an SRTM .hgt tile (e.g. 'N36E098.hgt') nor a GeoTIFF (.tif)")


def _bin_tile(z: np.ndarray, lat: np.ndarray, lon: np.ndarray, grid: TargetGrid, acc: dict[str, np.ndarray]) -> None:
    from ..terrain import gradient_metric

    s, n, w, e = grid.bounds
    rows = np.flatnonzero((lat >= s - 0.01) & (lat <= n + 0.01))
    cols = np.flatnonzero((lon >= w - 0.01) & (lon <= e + 0.01))
    if rows.size < 3 or cols.size < 3:
        return
    z = z[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    la, lo = lat[rows[0] : rows[-1] + 1], lon[cols[0] : cols[-1] + 1]
    gx, gy = gradient_metric(z, la, lo)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    mlat, mlon = np.meshgrid(la, lo, indexing="ij")
    idx = grid.index(mlat, mlon).reshape(-1)
    size = grid.shape[0] * grid.shape[1]
    # nearest sample of every target cell whose centre lies inside this tile's samples: used where a
    # cell holds no sample at all (a target grid finer than the source)
    ti = np.flatnonzero((grid.lat >= la.min()) & (grid.lat <= la.max()))
    tj = np.flatnonzero((grid.lon >= lo.min()) & (grid.lon <= lo.max()))
    near_r = _nearest(la, grid.lat[ti])
    near_c = _nearest(lo, grid.lon[tj])
    cells = (ti[:, None] * grid.shape[1] + tj[None, :]).reshape(-1)
    for key, v in (("elevation", z), ("slope", slope), ("gx", gx), ("gy", gy)):
        acc[f"near_{key}"][cells] = np.asarray(v, dtype=np.float64)[np.ix_(near_r, near_c)].reshape(-1)
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        ok = (idx >= 0) & np.isfinite(v)
        acc[key] += np.bincount(idx[ok], weights=v[ok], minlength=size)
        acc[f"n_{key}"] += np.bincount(idx[ok], minlength=size)


def _nearest(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Index of the nearest value of the sorted or reverse-sorted 1-D ``src`` for each ``dst``."""
    order = np.argsort(src)
    s = src[order]
    k = np.clip(np.searchsorted(s, dst), 1, max(s.size - 1, 1))
    left = np.abs(dst - s[k - 1]) <= np.abs(s[np.minimum(k, s.size - 1)] - dst)
    return order[np.where(left, k - 1, np.minimum(k, s.size - 1))]


def read_srtm(
    paths: PathsLike,
    *,
    grid: Any,
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read SRTM tiles and aggregate elevation, slope and aspect onto a regular lat/lon grid.

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        ``.hgt``/``.hgt.zip`` tiles, GeoTIFFs, or folders of them.
    grid : mapping, xarray object or sm_nb Grid
        Target grid (see :func:`sm_nb.io._grids.target_grid`).
    variables, chunks
        Output variables to keep; dask chunks.

    Returns
    -------
    xr.Dataset
        ``elevation`` (lat, lon), m — mean of the samples in each cell (the nearest sample where
        a cell holds none, i.e. where the target grid is finer than the tiles; counted in
        ``attrs["n_cells_nearest_sample"]``); ``slope``, degree — mean of the native-resolution slope; ``aspect``, degree clockwise from north (downslope),
        from the cell-mean gradient, 0 where flat.
    """
    files = resolve_paths(paths, ("*.hgt", "*.hgt.zip", "*.HGT", "*.tif", "*.tiff"), "SRTM", "N36E098.hgt")
    problems = Problems("SRTM")
    tgt = target_grid(grid)
    size = tgt.shape[0] * tgt.shape[1]
    acc = {k: np.zeros(size) for k in ("elevation", "slope", "gx", "gy", "n_elevation", "n_slope", "n_gx", "n_gy")}
    acc.update({f"near_{k}": np.full(size, np.nan) for k in ("elevation", "slope", "gx", "gy")})
    run_per_file(files, problems, lambda p: _bin_tile(*_read_tile(p), tgt, acc))
    problems.raise_if_any(len(files))
    if not acc["n_elevation"].any():
        raise DataError(f"none of the {len(files)} SRTM tile(s) overlaps the target grid {tgt}")
    mean = {}
    for key in ("elevation", "slope", "gx", "gy"):
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[key] = np.where(acc[f"n_{key}"] > 0, acc[key] / np.maximum(acc[f"n_{key}"], 1),
                                 acc[f"near_{key}"]).reshape(tgt.shape)
    n_nearest = int(np.count_nonzero((acc["n_elevation"] == 0) & np.isfinite(acc["near_elevation"])))
    gx, gy = mean["gx"], mean["gy"]
    aspect = np.where((gx == 0) & (gy == 0), 0.0, np.degrees(np.arctan2(-gx, -gy)) % 360.0)
    ds = xr.Dataset(
        {
            "elevation": (("lat", "lon"), mean["elevation"].astype(np.float32), cf_attrs("elevation", cell_methods="area: mean (SRTM samples)")),
            "slope": (("lat", "lon"), mean["slope"].astype(np.float32), cf_attrs("slope", cell_methods="area: mean (slope of the SRTM samples, metric spacing)")),
            "aspect": (("lat", "lon"), aspect.astype(np.float32), cf_attrs("aspect", comment="0 where flat; from the cell-mean gradient")),
        },
        coords=coords(None, tgt.lat, tgt.lon),
    )
    if n_nearest:  # said, never silent: the target grid is finer than the tiles somewhere
        for v in ("elevation", "slope"):
            ds[v].attrs["cell_methods"] += f"; nearest SRTM sample in {n_nearest} cell(s) holding no sample"
        ds.attrs["n_cells_nearest_sample"] = n_nearest
    return finish(ds, "SRTM", files, variables, chunks, reader="read_srtm")
