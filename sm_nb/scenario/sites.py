"""In-situ sites: the six 10 cm soil-moisture stations, seven rain gauges and the CLDAS gauge network.

Coordinates and elevations are those of spec §11 (Delingha and Golmud **[S]**, the rest [A]
± 0.1°). Golmud and Nuomuhong stations sit in irrigated oasis farmland (spec §11, default on);
the irrigated oases of :data:`sm_nb.scenario.landcover.OASES` contain exactly these two station
pixels. The CLDAS gauge network adds ~35 synthetic county-seat gauges whose density follows P_ann
and which are sparse in Hoh Xil and the western Qaidam (spec §10).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..config import STUDY_BOX, ScenarioConfig, check_seed
from ..exceptions import DataError
from ..grids import Grid, coarse_grid, fine_grid
from . import classes as C
from .landcover import climate_lattice
from .randomfields import rng_for
from .terrain import ellipse_radius, large_scale_dem, xy_km

__all__ = [
    "SM_STATIONS",
    "RAIN_GAUGES",
    "N_COUNTY_GAUGES",
    "sm_stations",
    "rain_gauges",
    "named_sites",
    "cldas_gauges",
    "sites_in_domain",
    "locate_sites",
    "sites_geodataframe",
]

#: SM stations (name, lat, lon, elevation m, irrigated) — spec §11
SM_STATIONS: tuple[tuple[str, float, float, float, bool], ...] = (
    ("Delingha", 37.37, 97.36, 2982.0, False),
    ("Dulan", 36.30, 98.10, 3189.0, False),
    ("Golmud", 36.41, 94.93, 2809.0, True),
    ("Nuomuhong", 36.43, 96.42, 2790.0, True),
    ("Tianjun", 37.30, 99.02, 3420.0, False),
    ("Wulan", 36.93, 98.48, 2950.0, False),
)
#: rain gauges (name, lat, lon, elevation m) — spec §11
RAIN_GAUGES: tuple[tuple[str, float, float, float], ...] = (
    ("Yeniugou", 38.42, 99.58, 3320.0),
    ("Xiaozaohuo", 36.80, 93.68, 2770.0),
    ("Dachaidan", 37.85, 95.37, 3175.0),
    ("Chaka", 36.78, 99.08, 3090.0),
    ("Wudaoliang", 35.22, 93.08, 4610.0),
    ("Xinghai", 35.58, 99.98, 3320.0),
    ("Qumarai", 34.13, 95.78, 4175.0),
)
#: synthetic county-seat gauges over the whole study box (spec §10, "~35")
N_COUNTY_GAUGES = 35
_COLUMNS = ["name", "lat", "lon", "elevation", "kind", "irrigated"]
_MIN_SPACING_KM = 40.0


def sm_stations() -> pd.DataFrame:
    """The six 10 cm soil-moisture stations: name, lat, lon, elevation (m), kind, irrigated."""
    rows = [(n, la, lo, z, "sm_station", irr) for n, la, lo, z, irr in SM_STATIONS]
    return pd.DataFrame(rows, columns=_COLUMNS)


def rain_gauges() -> pd.DataFrame:
    """The seven daily rain gauges: name, lat, lon, elevation (m), kind, irrigated (False)."""
    rows = [(n, la, lo, z, "rain_gauge", False) for n, la, lo, z in RAIN_GAUGES]
    return pd.DataFrame(rows, columns=_COLUMNS)


def named_sites() -> pd.DataFrame:
    """The 13 named sites (stations then gauges)."""
    return pd.concat([sm_stations(), rain_gauges()], ignore_index=True)


def _check_frame(df: pd.DataFrame, name: str = "sites") -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{name} is a {type(df).__name__}; expected a pandas.DataFrame with columns lat, lon")
    missing = [c for c in ("name", "lat", "lon") if c not in df.columns]
    if missing:
        raise DataError(f"{name} lacks column(s) {missing}; has {list(df.columns)}, expected name, lat, lon")


def sites_in_domain(df: pd.DataFrame, cfg: ScenarioConfig) -> pd.DataFrame:
    """Rows of ``df`` whose point lies inside the config domain [south, north) × [west, east)."""
    _check_frame(df)
    lat = df["lat"].to_numpy(float)
    lon = df["lon"].to_numpy(float)
    keep = (lat >= cfg.south) & (lat < cfg.north) & (lon >= cfg.west) & (lon < cfg.east)
    return df.loc[keep].reset_index(drop=True)


def locate_sites(df: pd.DataFrame, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Row/column indices of the ``grid`` cells containing each site.

    Raises
    ------
    DataError
        Naming every site that falls outside the grid.
    """
    _check_frame(df)
    if grid.dlat is None or grid.dlon is None:
        raise DataError(f"grid {grid.name!r} is irregular; expected a regular lat/lon grid")
    lat = df["lat"].to_numpy(float)
    lon = df["lon"].to_numpy(float)
    i = np.floor((lat - (grid.lat[0] - grid.dlat / 2)) / grid.dlat).astype(int)
    j = np.floor((lon - (grid.lon[0] - grid.dlon / 2)) / grid.dlon).astype(int)
    bad = (i < 0) | (i >= grid.lat.size) | (j < 0) | (j >= grid.lon.size)
    if bad.any():
        names = [f"{n} ({a:.2f}°N {o:.2f}°E)" for n, a, o in zip(df["name"][bad], lat[bad], lon[bad], strict=True)]
        raise DataError(
            f"site(s) {names} outside grid {grid.name!r} "
            f"({grid.lat[0] - grid.dlat / 2:.4f}–{grid.lat[-1] + grid.dlat / 2:.4f}°N, "
            f"{grid.lon[0] - grid.dlon / 2:.4f}–{grid.lon[-1] + grid.dlon / 2:.4f}°E); "
            "expected sites inside the domain (use sites_in_domain first)"
        )
    return i, j


def _county_gauges(seed: int) -> pd.DataFrame:
    """~35 synthetic county-seat gauges over the whole study box (config-independent).

    Sampled on the 1/16° lattice with density ∝ P_ann, away from lakes and above-4400 m terrain,
    preferring low local relief (towns sit in valleys), ×0.05 in Hoh Xil and ×0.2 on the western
    Qaidam floor, at least 40 km from each other and from the named sites [A].
    """
    grid, p_ann, _, dz = climate_lattice(seed)
    big = large_scale_dem(seed)
    sl = (slice(2, None, 4), slice(2, None, 4))  # 1/64° → 1/16° centres
    lat2, lon2 = (a[sl] for a in grid.mesh())
    z, p, dzl, qaidam = big.elevation[sl], p_ann[sl], dz[sl], big.basin[sl]
    x, y = xy_km(lat2, lon2)
    weight = p * np.exp(-np.maximum(dzl, 0.0) / 200.0) * (z < 4400.0)
    weight *= np.where((lat2 > 34.0) & (lat2 < 36.3) & (lon2 < 93.6), 0.05, 1.0)
    weight *= np.where((qaidam > 0.5) & (lon2 < 94.0), 0.2, 1.0)
    s, n, w, e = STUDY_BOX
    weight *= (lat2 > s + 0.1) & (lat2 < n - 0.1) & (lon2 > w + 0.1) & (lon2 < e - 0.1)
    for lk in big.lakes:
        weight[ellipse_radius(x, y, lk.lat, lk.lon, lk.a_km, lk.b_km, lk.angle_deg) < 1.3] = 0.0
    named = named_sites()
    for nx_, ny_ in zip(*xy_km(named["lat"].to_numpy(float), named["lon"].to_numpy(float)), strict=True):
        weight[np.hypot(x - nx_, y - ny_) < _MIN_SPACING_KM] = 0.0
    rng = rng_for(seed, "cldas_gauges")
    rows = []
    flat_w = weight.ravel().astype(np.float64)
    for k in range(N_COUNTY_GAUGES):
        total = flat_w.sum()
        if total <= 0:
            break
        idx = int(rng.choice(flat_w.size, p=flat_w / total))
        la, lo = float(lat2.flat[idx]), float(lon2.flat[idx])
        rows.append((f"county_{k + 1:02d}", round(la, 4), round(lo, 4), float(z.flat[idx]), "county_gauge", False))
        flat_w[(np.hypot(x - x.flat[idx], y - y.flat[idx]) < _MIN_SPACING_KM).ravel()] = 0.0
    return pd.DataFrame(rows, columns=_COLUMNS)


def cldas_gauges(cfg: ScenarioConfig, seed: int, static: xr.Dataset) -> pd.DataFrame:
    """The CLDAS precipitation gauge network inside the config domain.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    static : xr.Dataset
        The static dataset (synthetic gauges take the DEM elevation of their fine pixel).

    Returns
    -------
    pandas.DataFrame
        Columns name, lat, lon, elevation (m), kind (``sm_station``, ``rain_gauge``,
        ``county_gauge``), irrigated: the 13 named sites plus the synthetic county-seat gauges
        (≈ 35 over the study box, the same in every config) that fall inside the domain.

    Notes
    -----
    Spec §10 (CLDAS forcing: gauges + satellite; density ∝ P_ann, sparse in Hoh Xil and the
    western Qaidam).
    """
    seed = check_seed(seed)
    county = sites_in_domain(_county_gauges(seed), cfg)
    if len(county):
        fine = fine_grid(cfg)
        i, j = locate_sites(county, fine)
        if "elevation" in static:
            county["elevation"] = np.asarray(static["elevation"].values, dtype=float)[i, j].round(1)
    return pd.concat([sites_in_domain(named_sites(), cfg), county], ignore_index=True)


def sites_geodataframe(cfg: ScenarioConfig, static: xr.Dataset, sites: pd.DataFrame | None = None):
    """The sites as a ``geopandas.GeoDataFrame`` with their fine and coarse cells.

    Parameters
    ----------
    cfg : ScenarioConfig
    static : xr.Dataset
        Static dataset on ``fine_grid(cfg)`` (``land_cover``, ``elevation`` are read).
    sites : DataFrame, optional
        Sites to locate; default the named stations and gauges inside the domain.

    Returns
    -------
    geopandas.GeoDataFrame (EPSG:4326)
        name, kind, lat, lon, elevation (nominal, m), irrigated, dem_elevation (m, fine pixel),
        land_cover (class name at the fine pixel), fine_i, fine_j, fine_lat, fine_lon, coarse_i,
        coarse_j, coarse_lat, coarse_lon, geometry (Point lon/lat).

    Raises
    ------
    DataError
        If a site lies outside the grid (the message names it) or ``static`` is not on the grid.
    """
    import geopandas as gpd

    fine, coarse = fine_grid(cfg), coarse_grid(cfg)
    df = sites_in_domain(named_sites(), cfg) if sites is None else sites.reset_index(drop=True).copy()
    _check_frame(df)
    for col, default in (("kind", "site"), ("elevation", np.nan), ("irrigated", False)):
        if col not in df:
            df[col] = default
    shape = (static.sizes.get("lat"), static.sizes.get("lon"))
    if shape != fine.shape:
        raise DataError(f"static has (lat, lon) = {shape}; expected the fine grid {fine.shape} of config {cfg.name!r}")
    fi, fj = locate_sites(df, fine)
    ci, cj = locate_sites(df, coarse)
    lc = np.asarray(static["land_cover"].values)[fi, fj]
    out = pd.DataFrame(
        {
            "name": df["name"].astype(str).to_numpy(),
            "kind": df["kind"].astype(str).to_numpy(),
            "lat": df["lat"].to_numpy(float),
            "lon": df["lon"].to_numpy(float),
            "elevation": df["elevation"].to_numpy(float),
            "irrigated": df["irrigated"].to_numpy(bool),
            "dem_elevation": np.asarray(static["elevation"].values, dtype=float)[fi, fj],
            "land_cover": [C.LAND_COVER.get(int(c), "unknown") for c in lc],
            "fine_i": fi,
            "fine_j": fj,
            "fine_lat": fine.lat[fi],
            "fine_lon": fine.lon[fj],
            "coarse_i": ci,
            "coarse_j": cj,
            "coarse_lat": coarse.lat[ci],
            "coarse_lon": coarse.lon[cj],
        }
    )
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")
