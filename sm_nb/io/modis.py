"""MODIS MOD11A1 (LST), MOD13A2 (NDVI/EVI) and MOD09A1 (reflectance) HDF4-EOS tiles (pyhdf).

Tiles ``<PROD>.A<YYYYDDD>.h<HH>v<VV>.<CCC>.<production>.hdf`` are on the sinusoidal grid (sphere
R = 6 371 007.181 m, tile 1 111 950.5197 m, origin x0 = −20 015 109.354 m, y0 = +10 007 554.677 m;
``StructMetadata.0`` gives the tile corners). Pixels are put on a regular lat/lon target grid
(the sm_nb fine grid) as the mean of the pixels whose centre falls in each target cell, with
the pixel containing the cell centre where none does; several tiles of a date are mosaicked.

Scaling differs between products [V]: MOD11 and MOD09 store value = raw · ``scale_factor`` +
``add_offset``; MOD13 stores ``scale_factor`` = 10000 with value = raw / 10000. GDAL's HDF4
driver is not in the rasterio wheels, hence pyhdf (``shared/reference/data_formats.md`` §5).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..conventions import cf_attrs
from ..exceptions import DataError
from ._common import (
    PathsLike,
    Problems,
    TimeLike,
    attr,
    check_scale,
    coords,
    finish,
    resolve_paths,
    run_per_file,
    select_time,
)
from ._grids import TargetGrid, target_grid

__all__ = ["read_modis", "MODIS_NAME", "PRODUCTS", "SINU_PROJ4", "TILE_SIZE", "X0", "Y0", "Sds", "tile_corners"]

MODIS_NAME = re.compile(r"^(MOD11A1|MYD11A1|MOD13A2|MYD13A2|MOD09A1|MYD09A1)\.A(\d{4})(\d{3})\.h(\d{2})v(\d{2})\.(\d{3})\.(\d{13})\.hdf$")
SINU_PROJ4 = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
TILE_SIZE = 1111950.5197
X0, Y0 = -20015109.354, 10007554.677
#: the HDF4 library is not thread-safe: dask tasks serialise their pyhdf calls on this lock
_HDF4_LOCK = threading.Lock()


@dataclass(frozen=True)
class Sds:
    """One scientific dataset read into an output variable.

    ``convention`` is ``"cf"`` (raw · scale + offset) or ``"vi"`` (raw / scale, MOD13).
    ``qc`` names a QC dataset and the rule applied to it (``"mod11"``: bits 0–1 ≥ 2 → missing).
    """

    name: str
    dtype: str
    scale: float
    offset: float
    fill: int
    convention: str
    kind: str
    long_name: str
    qc: str | None = None


PRODUCTS: dict[str, dict[str, Any]] = {
    "MOD11A1": {
        "grid": "MODIS_Grid_Daily_1km_LST", "npix": 1200, "days": 1,
        "vars": {
            "lst_day": Sds("LST_Day_1km", "uint16", 0.02, 0.0, 0, "cf", "lst", "MOD11A1 daytime LST (about 10:30 local solar time)", "QC_Day"),
            "lst_night": Sds("LST_Night_1km", "uint16", 0.02, 0.0, 0, "cf", "lst", "MOD11A1 night-time LST (about 22:30 local solar time)", "QC_Night"),
        },
    },
    "MOD13A2": {
        "grid": "MODIS_Grid_16DAY_1km_VI", "npix": 1200, "days": 16,
        "vars": {
            "ndvi": Sds("1 km 16 days NDVI", "int16", 10000.0, 0.0, -3000, "vi", "ndvi", "MOD13A2 16-day NDVI"),
            "evi": Sds("1 km 16 days EVI", "int16", 10000.0, 0.0, -3000, "vi", "evi", "MOD13A2 16-day EVI"),
        },
    },
    "MOD09A1": {
        "grid": "MOD_Grid_500m_Surface_Reflectance", "npix": 2400, "days": 8,
        "vars": {
            f"sur_refl_b{b:02d}": Sds(f"sur_refl_b{b:02d}", "int16", 0.0001, 0.0, -28672, "cf", "reflectance", f"MOD09A1 8-day surface reflectance, band {b}")
            for b in (1, 2, 3, 6, 7)
        },
    },
}
for _aqua, _terra in (("MYD11A1", "MOD11A1"), ("MYD13A2", "MOD13A2"), ("MYD09A1", "MOD09A1")):
    PRODUCTS[_aqua] = PRODUCTS[_terra]


def tile_corners(h: int, v: int) -> tuple[float, float, float, float]:
    """Upper-left and lower-right corners (ulx, uly, lrx, lry) of tile h/v, metres."""
    ulx, uly = X0 + h * TILE_SIZE, Y0 - v * TILE_SIZE
    return ulx, uly, ulx + TILE_SIZE, uly - TILE_SIZE


def _struct(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    ul = re.search(r"UpperLeftPointMtrs=\(([-+\d.eE]+),([-+\d.eE]+)\)", text)
    lr = re.search(r"LowerRightMtrs=\(([-+\d.eE]+),([-+\d.eE]+)\)", text)
    nx = re.search(r"XDim=(\d+)", text)
    ny = re.search(r"YDim=(\d+)", text)
    proj = re.search(r"Projection=(\w+)", text)
    if not (ul and lr and nx and ny):
        return None
    return {"ulx": float(ul.group(1)), "uly": float(ul.group(2)), "lrx": float(lr.group(1)), "lry": float(lr.group(2)),
            "nx": int(nx.group(1)), "ny": int(ny.group(1)), "projection": proj.group(1) if proj else None}


@dataclass(frozen=True, eq=False)
class _TileMap:
    block: tuple[int, int, int, int]  # r0, r1, c0, c1 of the pixels read
    pix: np.ndarray  # flat pixel index within the block, for area-mean binning
    tgt: np.ndarray  # target flat index of those pixels
    near_pix: np.ndarray  # pixel containing each target cell centre (within the block)
    near_tgt: np.ndarray


@functools.lru_cache(maxsize=16)
def _tile_map(geom: tuple[float, float, float, float, int, int], grid: TargetGrid) -> _TileMap | None:
    """Pixel ↔ target-cell correspondence of one tile geometry (built once, applied to every date)."""
    from pyproj import CRS, Transformer

    ulx, uly, lrx, lry, nx, ny = geom
    dx, dy = (lrx - ulx) / nx, (uly - lry) / ny
    sinu = CRS.from_proj4(SINU_PROJ4)
    to_ll = Transformer.from_crs(sinu, "EPSG:4326", always_xy=True)
    xs = ulx + (np.arange(nx) + 0.5) * dx
    ys = uly - (np.arange(ny) + 0.5) * dy
    s, n, w, e = grid.bounds
    rows = np.flatnonzero((ys >= (s - 1.0) * 111e3) & (ys <= (n + 1.0) * 111e3))
    if rows.size == 0:
        return None
    xx, yy = np.meshgrid(xs, ys[rows])
    lon, lat = to_ll.transform(xx, yy)
    lon = np.where(np.abs(np.asarray(lon)) <= 180.0, lon, np.nan)
    tgt = grid.index(np.asarray(lat), lon).reshape(-1)
    r_idx = np.repeat(rows, nx)
    c_idx = np.tile(np.arange(nx), rows.size)
    ok = tgt >= 0
    # pixel containing each target-cell centre
    tlat, tlon = np.meshgrid(grid.lat, grid.lon, indexing="ij")
    tx, ty = Transformer.from_crs("EPSG:4326", sinu, always_xy=True).transform(tlon.ravel(), tlat.ravel())
    pc = np.floor((np.asarray(tx) - ulx) / dx)
    pr = np.floor((uly - np.asarray(ty)) / dy)
    inside = (pc >= 0) & (pc < nx) & (pr >= 0) & (pr < ny)
    if not ok.any() and not inside.any():
        return None
    near_r, near_c = pr[inside].astype(np.int64), pc[inside].astype(np.int64)
    all_r = np.concatenate([r_idx[ok], near_r])
    all_c = np.concatenate([c_idx[ok], near_c])
    r0, r1, c0, c1 = int(all_r.min()), int(all_r.max()) + 1, int(all_c.min()), int(all_c.max()) + 1
    width = c1 - c0
    return _TileMap(
        (r0, r1, c0, c1),
        ((r_idx[ok] - r0) * width + (c_idx[ok] - c0)).astype(np.int64), tgt[ok],
        ((near_r - r0) * width + (near_c - c0)).astype(np.int64), np.flatnonzero(inside).astype(np.int64),
    )


def _header(path: Path, product: str) -> dict[str, Any]:
    """Open a tile, check its layout and return what reading it needs (no data read)."""
    from pyhdf.error import HDF4Error
    from pyhdf.SD import SD, SDC

    spec = PRODUCTS[product]
    problems = Problems("MODIS")
    try:
        sd = SD(str(path), SDC.READ)
    except HDF4Error as exc:
        raise DataError(f"not a readable HDF4 file ({exc}); expected an HDF4-EOS {product} tile (truncated download?)") from None
    try:
        names = sd.datasets()
        gattrs = sd.attributes()
        geom = _struct(gattrs.get("StructMetadata.0"))
        m = MODIS_NAME.match(path.name)
        h, v = int(m.group(4)), int(m.group(5))
        if geom is None:
            ulx, uly, lrx, lry = tile_corners(h, v)
            geom = {"ulx": ulx, "uly": uly, "lrx": lrx, "lry": lry, "nx": spec["npix"], "ny": spec["npix"], "projection": "GCTP_SNSOID"}
        elif geom["projection"] not in (None, "GCTP_SNSOID"):
            raise DataError(f"StructMetadata.0 Projection is {geom['projection']!r}; expected 'GCTP_SNSOID' (MODIS sinusoidal)")
        sds: dict[str, dict[str, Any]] = {}
        for var, s in spec["vars"].items():
            if s.name not in names:
                raise DataError(f"SDS {s.name!r} missing; expected {product} SDS {[x.name for x in spec['vars'].values()]} (file has {sorted(names)[:10]})")
            shape = tuple(names[s.name][1])
            if shape != (geom["ny"], geom["nx"]):
                raise DataError(f"SDS {s.name!r} has shape {shape}; expected ({geom['ny']}, {geom['nx']}) from StructMetadata.0")
            a = sd.select(s.name).attributes()
            scale = check_scale(path, s.name, "scale_factor", attr(a, "scale_factor"), s.scale, problems)
            offset = check_scale(path, s.name, "add_offset", attr(a, "add_offset"), s.offset, problems)
            fill = attr(a, "_FillValue", default=s.fill)
            sds[var] = {"scale": scale, "offset": offset, "fill": fill if not isinstance(fill, str) else s.fill}
            if s.qc and s.qc not in names:
                raise DataError(f"SDS {s.qc!r} missing; expected the QC dataset of {s.name!r}")
    finally:
        sd.end()
    if problems:
        raise DataError("; ".join(msg for _, msg in problems.items))
    return {"geom": (geom["ulx"], geom["uly"], geom["lrx"], geom["lry"], geom["nx"], geom["ny"]), "sds": sds}


def _read_date(paths: list[Path], headers: list[dict[str, Any]], product: str, grid: TargetGrid, var: str, qc: bool) -> np.ndarray:
    """Mosaic one variable of one date from its tiles onto ``grid`` (float32, NaN where no data)."""
    from pyhdf.SD import SD, SDC

    s = PRODUCTS[product]["vars"][var]
    size = grid.shape[0] * grid.shape[1]
    total, count = np.zeros(size), np.zeros(size)
    nearest = np.full(size, np.nan)
    for path, head in zip(paths, headers, strict=True):
        tm = _tile_map(head["geom"], grid)
        if tm is None:
            continue
        r0, r1, c0, c1 = tm.block
        with _HDF4_LOCK:
            sd = SD(str(path), SDC.READ)
            try:
                raw = np.asarray(sd.select(s.name)[r0:r1, c0:c1])
                qcv = np.asarray(sd.select(s.qc)[r0:r1, c0:c1]) if (qc and s.qc) else None
            finally:
                sd.end()
        h = head["sds"][var]
        val = raw.astype(np.float64)
        val = val / h["scale"] if s.convention == "vi" else val * h["scale"] + h["offset"]
        bad = raw == np.asarray(h["fill"]).astype(raw.dtype)
        if qcv is not None:
            bad |= (qcv & 0b11) >= 2  # MOD11 QC bits 0-1: 2 = not produced (cloud), 3 = not produced (other)
        val[bad] = np.nan
        flat = val.reshape(-1)
        v = flat[tm.pix]
        good = np.isfinite(v)
        total += np.bincount(tm.tgt[good], weights=v[good], minlength=size)
        count += np.bincount(tm.tgt[good], minlength=size)
        nearest[tm.near_tgt] = np.where(np.isfinite(flat[tm.near_pix]), flat[tm.near_pix], nearest[tm.near_tgt])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.maximum(count, 1), nearest)
    return out.astype(np.float32).reshape(grid.shape)


def read_modis(
    paths: PathsLike,
    *,
    grid: Any,
    product: str | None = None,
    time: TimeLike = None,
    qc: bool = True,
    lazy: bool = False,
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
) -> xr.Dataset:
    """Read MODIS sinusoidal tiles, mosaic them and resample to a regular lat/lon grid.

    Parameters
    ----------
    paths : str, path, glob or sequence of them
        Tiles or folders (a folder may hold several products: pick one with ``product``).
    grid : mapping, xarray object or sm_nb Grid
        Target lat/lon grid (``{"lat": …, "lon": …}`` centres, or south/north/west/east/dlat/dlon).
    product : str, optional
        ``MOD11A1``, ``MOD13A2`` or ``MOD09A1`` (or the ``MYD`` twins); default: the only one found.
    time : (start, end), optional
        Keep the dates (composite windows) overlapping this inclusive range.
    qc : bool
        MOD11A1: mask LST whose ``QC_Day``/``QC_Night`` bits 0–1 say "not produced".
    lazy : bool
        Return dask arrays, one chunk per date, read on compute (for large tile sets).
    variables, chunks
        Output variables to keep; dask chunks.

    Returns
    -------
    xr.Dataset
        MOD11A1 → ``lst_day``, ``lst_night`` (time, lat, lon), K; MOD13A2 → ``ndvi``, ``evi``, 1;
        MOD09A1 → ``sur_refl_b01`` … ``b07`` (bands 1, 2, 3, 6, 7), 1. ``time`` is the acquisition
        (composite start) date from the file name.
    """
    files = resolve_paths(paths, ("M?D11A1.A*.hdf", "M?D13A2.A*.hdf", "M?D09A1.A*.hdf"), "MODIS", "MOD11A1.A2017152.h25v05.061.2021301000000.hdf")
    problems = Problems("MODIS")
    info: dict[Path, tuple[str, pd.Timestamp]] = {}
    for p in files:
        m = MODIS_NAME.match(p.name)
        if m is None:
            problems.add(p, "file name is not a MODIS tile name; expected e.g. 'MOD11A1.A2017152.h25v05.061.2021301000000.hdf'")
            continue
        day = pd.Timestamp(f"{m.group(2)}-01-01") + pd.Timedelta(days=int(m.group(3)) - 1)
        info[p] = (m.group(1), day)
    problems.raise_if_any(len(files))
    found = sorted({prod for prod, _ in info.values()})
    if product is None:
        if len(found) > 1:
            raise DataError(f"MODIS paths hold several products {found}; expected one per call (pass product=)")
        product = found[0]
    if product not in PRODUCTS:
        raise DataError(f"MODIS product {product!r} is not supported; expected one of {sorted(PRODUCTS)}")
    files = [p for p in sorted(info) if info[p][0] == product]
    if not files:
        raise DataError(f"no {product} tile among the MODIS files found ({found})")
    length = pd.Timedelta(days=PRODUCTS[product]["days"] - 1)
    files = [files[i] for i in select_time(files, [(info[p][1], info[p][1] + length) for p in files], time, product)]
    tgt = target_grid(grid)
    headers = run_per_file(files, problems, lambda p: _header(p, product))
    problems.raise_if_any(len(files))
    for geom in {h["geom"] for h in headers}:  # build the pixel ↔ cell maps once, before any data is read
        _tile_map(geom, tgt)
    days = sorted({info[p][1] for p in files})
    by_day = {d: [i for i, p in enumerate(files) if info[p][1] == d] for d in days}
    spec = PRODUCTS[product]["vars"]
    names = list(spec) if variables is None else [v for v in spec if v in variables]
    data_vars = {}
    for var in names:
        s = spec[var]
        def load(d: pd.Timestamp, var: str = var) -> np.ndarray:
            return _read_date([files[i] for i in by_day[d]], [headers[i] for i in by_day[d]], product, tgt, var, qc)
        if lazy:
            import dask
            import dask.array as da

            arr = da.stack([da.from_delayed(dask.delayed(load)(d), shape=tgt.shape, dtype=np.float32) for d in days])
        else:
            arr = np.stack([load(d) for d in days])
        data_vars[var] = (("time", "lat", "lon"), arr, cf_attrs(s.kind, long_name=s.long_name))
    ds = xr.Dataset(data_vars, coords=coords(days, tgt.lat, tgt.lon))
    extra = {"time_meaning": "first day of the composite window" if PRODUCTS[product]["days"] > 1 else "acquisition day", "modis_product": product}
    return finish(ds, product, files, variables, chunks, reader="read_modis", extra_attrs=extra)
