"""Grids of the real products and the binning used to put observations on them.

* EASE-Grid 2.0 global ("M") grids, EPSG:6933, via pyproj (NSIDC definition: origin at the
  upper-left corner, x0 = −ncol/2·d, y0 = +nrow/2·d);
* regular global lat/lon grids (AMSR2 0.1°/0.25° with the 0°E start, ASCAT 0.125°, …);
* :class:`TargetGrid` — the regular lat/lon grid a reader resamples to (the sm_nb fine grid
  for MODIS and SRTM). Binning operators are in :mod:`sm_nb.resample`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import DataError

__all__ = [
    "EASE2_GRIDS",
    "ease2_centres",
    "ease2_which",
    "ease2_rowcol",
    "TargetGrid",
    "target_grid",
]

#: EASE-Grid 2.0 global grids: name → (cell size m, columns, rows) — NSIDC .gpd files
EASE2_GRIDS: dict[str, tuple[float, int, int]] = {
    "M36": (36032.220840584, 964, 406),
    "M25": (25025.26000, 1388, 584),
    "M09": (9008.055210146, 3856, 1624),
}


@functools.lru_cache(maxsize=8)
def ease2_centres(which: str) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre latitudes of the rows (north → south) and longitudes of the columns (degrees)."""
    from pyproj import Transformer

    cell, ncol, nrow = _ease2(which)
    x = (np.arange(ncol) + 0.5 - ncol / 2) * cell
    y = (nrow / 2 - np.arange(nrow) - 0.5) * cell
    tr = Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True)
    lon, _ = tr.transform(x, np.zeros_like(x))
    _, lat = tr.transform(np.zeros_like(y), y)
    return np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)


def _ease2(which: str) -> tuple[float, int, int]:
    if which not in EASE2_GRIDS:
        raise DataError(f"unknown EASE-Grid 2.0 grid {which!r}; expected one of {sorted(EASE2_GRIDS)}")
    return EASE2_GRIDS[which]


def ease2_which(shape: tuple[int, ...]) -> str | None:
    """Name of the EASE-Grid 2.0 global grid with 2-D ``shape`` (rows, cols), or ``None``."""
    for name, (_, ncol, nrow) in EASE2_GRIDS.items():
        if tuple(shape[-2:]) == (nrow, ncol):
            return name
    return None


def ease2_rowcol(lat: np.ndarray, lon: np.ndarray, which: str) -> tuple[np.ndarray, np.ndarray]:
    """Row and column (int64, −1 outside) of the EASE-Grid 2.0 cell containing each point."""
    from pyproj import Transformer

    cell, ncol, nrow = _ease2(which)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)
    x, y = tr.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    col = np.floor(np.asarray(x) / cell + ncol / 2)
    row = np.floor(nrow / 2 - np.asarray(y) / cell)
    ok = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
    return np.where(ok, row, -1).astype(np.int64), np.where(ok, col, -1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class TargetGrid:
    """A regular lat/lon grid given by ascending cell centres (the grid readers resample to).

    Attributes
    ----------
    lat, lon : ndarray of float64, degrees
        Ascending cell centres with uniform spacing.
    """

    lat: np.ndarray
    lon: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.lat.size, self.lon.size)

    @property
    def dlat(self) -> float:
        return float((self.lat[-1] - self.lat[0]) / max(self.lat.size - 1, 1)) if self.lat.size > 1 else 1.0

    @property
    def dlon(self) -> float:
        return float((self.lon[-1] - self.lon[0]) / max(self.lon.size - 1, 1)) if self.lon.size > 1 else 1.0

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Outer edges (south, north, west, east)."""
        return (
            self.lat[0] - self.dlat / 2, self.lat[-1] + self.dlat / 2,
            self.lon[0] - self.dlon / 2, self.lon[-1] + self.dlon / 2,
        )

    def index(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Flat index of the cell containing each point (−1 outside the grid)."""
        s, _, w, _ = self.bounds
        i = np.floor((np.asarray(lat) - s) / self.dlat)
        j = np.floor((np.asarray(lon) - w) / self.dlon)
        ok = np.isfinite(i) & np.isfinite(j) & (i >= 0) & (i < self.lat.size) & (j >= 0) & (j < self.lon.size)
        return np.where(ok, i * self.lon.size + j, -1).astype(np.int64)

    def __repr__(self) -> str:
        return f"<TargetGrid {self.shape[0]} × {self.shape[1]} ({self.dlat:g}° × {self.dlon:g}°), bounds {tuple(round(b, 5) for b in self.bounds)}>"


def target_grid(grid: Any) -> TargetGrid:
    """Build a :class:`TargetGrid` from a mapping, an object with ``lat``/``lon`` (xarray or sm_nb Grid).

    Accepted: ``{"lat": [...], "lon": [...]}``; ``{"south", "north", "west", "east", "dlat", "dlon"}``
    (edges and spacing, degrees); an ``xr.Dataset``/``DataArray`` or :class:`sm_nb.grids.Grid`.
    """
    if isinstance(grid, TargetGrid):
        return grid
    if isinstance(grid, Mapping):
        if "lat" in grid and "lon" in grid:
            lat, lon = np.asarray(grid["lat"], float), np.asarray(grid["lon"], float)
        elif {"south", "north", "west", "east", "dlat", "dlon"} <= set(grid):
            s, n, w, e, dy, dx = (float(grid[k]) for k in ("south", "north", "west", "east", "dlat", "dlon"))
            lat = s + dy * (np.arange(round((n - s) / dy)) + 0.5)
            lon = w + dx * (np.arange(round((e - w) / dx)) + 0.5)
        else:
            raise DataError(f"grid has keys {sorted(grid)}; expected 'lat' and 'lon', or south/north/west/east/dlat/dlon")
    elif hasattr(grid, "lat") and hasattr(grid, "lon"):
        lat = np.asarray(getattr(grid.lat, "values", grid.lat), float)
        lon = np.asarray(getattr(grid.lon, "values", grid.lon), float)
    else:
        raise DataError(f"grid is a {type(grid).__name__}; expected a mapping or an object with lat/lon coordinates")
    for name, v in (("lat", lat), ("lon", lon)):
        d = np.diff(v)
        if v.ndim != 1 or v.size == 0 or (v.size > 1 and (np.any(d <= 0) or not np.allclose(d, d[0], rtol=1e-6))):
            raise DataError(f"grid {name} must be 1-D, ascending and evenly spaced; got {v.size} values")
    return TargetGrid(lat, lon)


def window(lat: np.ndarray, lon: np.ndarray, bbox: Any) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the rows and columns whose centres lie in ``bbox`` = (south, north, west, east).

    ``lat``/``lon`` are the stored centre coordinates of the rows and columns (any order,
    longitudes in −180…180 or 0…360). The indices are ordered so that the selected latitudes and
    longitudes (converted to −180…180) ascend. ``bbox`` ``None`` keeps everything.

    Raises
    ------
    DataError
        If ``bbox`` is malformed or selects no row or no column.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon180 = (np.asarray(lon, dtype=np.float64) + 180.0) % 360.0 - 180.0
    if bbox is None:
        rows = np.arange(lat.size)
        cols = np.arange(lon180.size)
    else:
        try:
            s, n, w, e = (float(b) for b in bbox)
        except (TypeError, ValueError):
            raise DataError(f"bbox is {bbox!r}; expected (south, north, west, east) in degrees") from None
        if not (s <= n and w <= e):
            raise DataError(f"bbox is {bbox!r}; expected south <= north and west <= east (degrees, -180..180)")
        rows = np.flatnonzero((lat >= s) & (lat <= n))
        cols = np.flatnonzero((lon180 >= w) & (lon180 <= e))
        if rows.size == 0 or cols.size == 0:
            raise DataError(
                f"bbox {tuple(bbox)} contains no cell centre of the grid "
                f"(lat {lat.min():.3f}..{lat.max():.3f}, lon {lon180.min():.3f}..{lon180.max():.3f})"
            )
    rows = rows[np.argsort(lat[rows], kind="stable")]
    cols = cols[np.argsort(lon180[cols], kind="stable")]
    return rows, cols


def read_window(dset: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Read ``dset[rows, cols, ...]`` reading only the bounding block (h5py/netCDF4/pyhdf datasets)."""
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    c0, c1 = int(cols.min()), int(cols.max()) + 1
    block = np.asarray(dset[r0:r1, c0:c1])
    return block[np.ix_(rows - r0, cols - c0)]
