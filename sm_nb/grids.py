"""Grids of the study area: the :class:`Grid` class and the grid builders.

* coarse grid — the paper's 0.25° × 0.3125° GEOS-5 grid (the NN grid, paper §2.1.5);
* fine grid — the "1 km" truth grid, nested exactly in the coarse grid;
* CLDAS grid — 0.0625°, also the fixed lattice on which all large-scale random fields
  are generated, so ``demo`` and ``full`` see the same weather;
* native sensor grids — AMSR2 0.25° and ASCAT 0.125° lat/lon, SMAP EASE-Grid 2.0 M36 and
  FY-3C 25 km (EASE-Grid 2.0 M25 as stand-in). EASE-Grid 2.0 global is cylindrical
  equal-area (EPSG:6933), so its rows have one latitude and its columns one longitude and
  the product can be stored with 1-D ``lat``/``lon`` coordinates.

Latitude is stored south → north throughout. The resampling operators between these grids
are in :mod:`sm_nb.resample`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .config import COARSE_DLAT, COARSE_DLON, ScenarioConfig
from .conventions import COORD_ATTRS, LAT, LON, TIME
from .exceptions import DataError

__all__ = [
    "Grid",
    "coarse_grid",
    "fine_grid",
    "cldas_grid",
    "latlon_grid",
    "ease2_grid",
    "grid_for",
    "grid_table",
    "EASE2",
    "EARTH_RADIUS_M",
    "EARTH_RADIUS_KM",
]

#: EASE-Grid 2.0 global (EPSG:6933) definitions: cell size (m), columns, rows.
EASE2 = {
    "M36": (36032.220840584, 964, 406),
    "M25": (25025.26000, 1388, 584),
    "M09": (9008.055210146, 3856, 1624),
}
#: Earth radius of the spherical Earth used everywhere in sm_nb, m (the only definition).
EARTH_RADIUS_M = 6_371_000.0
#: the same radius in km (exactly 6371.0)
EARTH_RADIUS_KM = EARTH_RADIUS_M / 1000.0


@dataclass(frozen=True, eq=False)
class Grid:
    """A rectilinear lat/lon grid given by cell-centre coordinates (ascending).

    Attributes
    ----------
    name : str
        Short name (``coarse``, ``fine``, ``cldas``, ``ease2_m36`` …).
    lat, lon : ndarray of float64, degrees
        Cell-centre coordinates, ascending.
    dlat, dlon : float or None
        Uniform spacing in degrees (``None`` where irregular, e.g. EASE-Grid 2.0 rows).
    """

    name: str
    lat: np.ndarray
    lon: np.ndarray
    dlat: float | None
    dlon: float | None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.lat.size, self.lon.size)

    @property
    def size(self) -> int:
        return self.lat.size * self.lon.size

    def coords(self) -> dict[str, xr.Variable]:
        """xarray coordinates with CF attributes."""
        return {
            LAT: xr.Variable(LAT, self.lat, COORD_ATTRS[LAT]),
            LON: xr.Variable(LON, self.lon, COORD_ATTRS[LON]),
        }

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """2-D (lat, lon) arrays of cell centres."""
        return np.meshgrid(self.lat, self.lon, indexing="ij")

    def spacing_km(self) -> tuple[np.ndarray, float]:
        """Metric spacing: (dx per row [km], dy [km]) using a spherical Earth (R = 6371 km)."""
        if self.dlat is None or self.dlon is None:
            raise DataError(f"grid {self.name!r} is irregular; metric spacing needs a uniform grid")
        dy = np.deg2rad(self.dlat) * EARTH_RADIUS_KM
        dx = np.deg2rad(self.dlon) * EARTH_RADIUS_KM * np.cos(np.deg2rad(self.lat))
        return dx, float(dy)

    def nest_factor(self, other: Grid) -> tuple[int, int]:
        """How many cells of this (fine) grid fit in one cell of ``other`` along (lat, lon).

        Raises
        ------
        DataError
            If the grids do not nest exactly.
        """
        if None in (self.dlat, self.dlon, other.dlat, other.dlon):
            raise DataError(f"grids {self.name!r} and {other.name!r} are not both regular")
        fy = other.dlat / self.dlat
        fx = other.dlon / self.dlon
        ok = (
            abs(fy - round(fy)) < 1e-6
            and abs(fx - round(fx)) < 1e-6
            and self.lat.size == other.lat.size * round(fy)
            and self.lon.size == other.lon.size * round(fx)
            and abs((self.lat[0] - self.dlat / 2) - (other.lat[0] - other.dlat / 2)) < 1e-6
            and abs((self.lon[0] - self.dlon / 2) - (other.lon[0] - other.dlon / 2)) < 1e-6
        )
        if not ok:
            raise DataError(f"grid {self.name!r} does not nest exactly in grid {other.name!r}")
        return round(fy), round(fx)

    def empty(self, dtype: type = np.float32, fill: float = np.nan) -> np.ndarray:
        return np.full(self.shape, fill, dtype=dtype)

    def __repr__(self) -> str:
        res = f"{self.dlat:g}° × {self.dlon:g}°" if self.dlat and self.dlon else "irregular"
        return (
            f"<Grid {self.name!r} {self.shape[0]} × {self.shape[1]} ({res}), "
            f"lat {self.lat[0]:.4f}…{self.lat[-1]:.4f}, lon {self.lon[0]:.4f}…{self.lon[-1]:.4f}>"
        )


def _regular(name: str, south: float, north: float, west: float, east: float, dlat: float, dlon: float) -> Grid:
    ny = round((north - south) / dlat)
    nx = round((east - west) / dlon)
    lat = south + (np.arange(ny) + 0.5) * dlat
    lon = west + (np.arange(nx) + 0.5) * dlon
    return Grid(name, lat, lon, dlat, dlon)


def coarse_grid(cfg: ScenarioConfig) -> Grid:
    """The paper's 0.25° × 0.3125° grid over the config domain (centres on −90 + 0.25 j, −180 + 0.3125 i)."""
    return _regular("coarse", cfg.south, cfg.north, cfg.west, cfg.east, COARSE_DLAT, COARSE_DLON)


def fine_grid(cfg: ScenarioConfig) -> Grid:
    """The fine truth grid (``cfg.fine_dlat`` × ``cfg.fine_dlon``), nested in the coarse grid."""
    return _regular("fine", cfg.south, cfg.north, cfg.west, cfg.east, cfg.fine_dlat, cfg.fine_dlon)


def cldas_grid(cfg: ScenarioConfig) -> Grid:
    """The 0.0625° CLDAS grid sharing the domain edges (4 × 5 cells per coarse cell)."""
    return _regular("cldas", cfg.south, cfg.north, cfg.west, cfg.east, 0.0625, 0.0625)


def latlon_grid(cfg: ScenarioConfig, res: float, name: str, margin: float = 0.0) -> Grid:
    """A global lat/lon grid of spacing ``res`` (centres at −90 + res/2 + k·res) cut to the domain.

    ``margin`` (degrees) widens the cut so that interpolation to the domain edges is possible.
    """
    lat_all = -90 + res / 2 + res * np.arange(round(180 / res))
    lon_all = -180 + res / 2 + res * np.arange(round(360 / res))
    lat = lat_all[(lat_all > cfg.south - margin) & (lat_all < cfg.north + margin)]
    lon = lon_all[(lon_all > cfg.west - margin) & (lon_all < cfg.east + margin)]
    return Grid(name, lat, lon, res, res)


def ease2_grid(cfg: ScenarioConfig, which: str = "M36", margin: float = 0.5) -> Grid:
    """EASE-Grid 2.0 global cells (EPSG:6933) whose centres fall in the domain ± ``margin`` degrees.

    Cell centres are computed with pyproj from the grid's cell size and its symmetric extent
    (NSIDC EASE-Grid 2.0 definition: origin at the grid's upper-left corner).
    """
    from pyproj import Transformer

    if which not in EASE2:
        raise DataError(f"unknown EASE-Grid 2.0 grid {which!r}; expected one of {sorted(EASE2)}")
    cell, ncol, nrow = EASE2[which]
    x = (np.arange(ncol) + 0.5 - ncol / 2) * cell
    y = (nrow / 2 - np.arange(nrow) - 0.5) * cell
    tr = Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True)
    lon, _ = tr.transform(x, np.zeros_like(x))
    _, lat = tr.transform(np.zeros_like(y), y)
    lat = np.asarray(lat)[::-1]
    lon = np.asarray(lon)
    lat = lat[(lat > cfg.south - margin) & (lat < cfg.north + margin)]
    lon = lon[(lon > cfg.west - margin) & (lon < cfg.east + margin)]
    return Grid(f"ease2_{which.lower()}", lat, lon, None, float(np.diff(lon).mean()))


def grid_for(obj: xr.DataArray | xr.Dataset, name: str = "grid") -> Grid:
    """Build a :class:`Grid` from an xarray object's ``lat``/``lon`` coordinates."""
    lat = np.asarray(obj[LAT].values, dtype=float)
    lon = np.asarray(obj[LON].values, dtype=float)
    dlat = float(np.diff(lat).mean()) if lat.size > 1 and np.allclose(np.diff(lat), np.diff(lat)[0]) else None
    dlon = float(np.diff(lon).mean()) if lon.size > 1 and np.allclose(np.diff(lon), np.diff(lon)[0]) else None
    return Grid(name, lat, lon, dlat, dlon)


def grid_table(datasets: Mapping[str, xr.Dataset]) -> pd.DataFrame:
    """Shape, extent and spacing of each gridded dataset (one row per dataset).

    Returns
    -------
    DataFrame
        dataset, n_lat, n_lon, n_time, lat_min, lat_max, lon_min, lon_max (cell centres,
        degrees), dlat, dlon (median centre spacing, degrees), regular_lat (bool).
    """
    rows = []
    for name, ds in datasets.items():
        lat, lon = (np.asarray(ds[d].values, dtype=float) for d in (LAT, LON))
        dl = np.diff(lat)
        rows.append({
            "dataset": name, "n_lat": lat.size, "n_lon": lon.size, "n_time": int(ds.sizes.get(TIME, 0)),
            "lat_min": lat.min(), "lat_max": lat.max(), "lon_min": lon.min(), "lon_max": lon.max(),
            "dlat": float(np.median(dl)) if dl.size else np.nan,
            "dlon": float(np.median(np.diff(lon))) if lon.size > 1 else np.nan,
            "regular_lat": bool(dl.size == 0 or np.allclose(dl, dl[0], rtol=1e-4)),
        })
    return pd.DataFrame(rows)
