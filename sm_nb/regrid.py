"""Regridding every product to the paper's 0.25° × 0.3125° grid (paper §2.1.5) and back to fine.

The paper resamples "all data … to a grid of 0.25° × 0.3125°": SMAP and AMSR2 by bilinear
interpolation, ASCAT and FY3C by inverse-distance weighting, CLDAS, MODIS and terrain by
simple average aggregation. For the downscaling step (§2.2.3) the coarse microwave inputs are
put back on the fine grid by "replication expansion, without changing the specific values".

=================  ==========  =======================================================
dataset            method      library and why
=================  ==========  =======================================================
smap_tb, smap_sm   bilinear    ``xarray.DataArray.interp`` (scipy linear): SMAP EASE-Grid
                               2.0 M36 rows/columns are 1-D ``lat``/``lon`` coordinates, so
                               interpolation is separable; a NaN anywhere in a target's
                               2 × 2 stencil makes it NaN (no silent fill).
amsr2_tb, amsr2_sm bilinear    same, on the regular 0.25° grid.
ascat_sigma40      idw         ``scipy.spatial.cKDTree`` on unit-sphere xyz (chord → great
                               circle distance, km): the k nearest source cells within
                               ``radius_km``, weights 1/d², NaN-aware (missing neighbours
                               are dropped and the weights renormalised).
fy3c_tb, fy3c_sm   idw         same, on EASE-Grid 2.0 M25 centres.
cldas_sm           mean        ``xarray.DataArray.coarsen(...)``: sum / count of the finite
                               4 × 5 0.0625° cells nested in each coarse cell.
truth_sm, modis_*  mean        same over the fine pixels nested in a coarse cell, with
dem                            ``min_valid_fraction`` for MODIS cloud gaps.
geos5_sm           identity    already on the coarse grid; coordinates are checked.
=================  ==========  =======================================================

Every function takes and returns ``xarray`` objects with named dims (``lat``, ``lon`` plus any
others such as ``time`` or ``frequency``), keeps ``attrs`` (CF ``units`` included) and records
the method in ``attrs["regrid_method"]``. All operators run lazily on dask-backed input.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from .conventions import COORD_ATTRS, LAT, LON
from .exceptions import ConfigError, DataError
from .scenario.config import ScenarioConfig, get_config
from .scenario.grids import Grid, coarse_grid, grid_for

__all__ = [
    "REGRID_METHOD",
    "METHODS",
    "IDWRegridder",
    "bilinear",
    "idw",
    "area_mean",
    "replicate",
    "identity",
    "to_coarse",
    "coarse_dataset",
    "R_EARTH_KM",
]

#: dataset (catalog name) → the paper's resampling method to the coarse grid (§2.1.5).
REGRID_METHOD: dict[str, str] = {
    "smap_tb": "bilinear",
    "smap_sm": "bilinear",
    "amsr2_tb": "bilinear",
    "amsr2_sm": "bilinear",
    "ascat_sigma40": "idw",
    "fy3c_tb": "idw",
    "fy3c_sm": "idw",
    "cldas_sm": "mean",
    "truth_sm": "mean",
    "modis_lst": "mean",
    "modis_ndvi_evi": "mean",
    "modis_reflectance": "mean",
    "dem": "mean",
    "geos5_sm": "identity",
}
METHODS = ("bilinear", "idw", "mean", "identity")
R_EARTH_KM = 6371.0


def _check_latlon(da: xr.DataArray, name: str = "input") -> None:
    missing = [d for d in (LAT, LON) if d not in da.dims]
    if missing:
        raise DataError(f"{name} lacks dimension(s) {missing}; it has {tuple(da.dims)}, expected 'lat' and 'lon'")
    if not np.issubdtype(da.dtype, np.floating):
        raise DataError(
            f"{name} ({da.name!r}) has dtype {da.dtype}; regridding needs a floating-point field "
            "(flags and class codes cannot be interpolated or averaged)"
        )


def _on_grid(da: xr.DataArray, dst: Grid, method: str, attrs: dict[str, Any] | None = None) -> xr.DataArray:
    """Attach ``dst`` coordinates (with CF attributes), the input attrs and the method."""
    out = da.assign_coords(
        {LAT: xr.Variable(LAT, dst.lat, COORD_ATTRS[LAT]), LON: xr.Variable(LON, dst.lon, COORD_ATTRS[LON])}
    )
    out.attrs = {**(attrs or {}), "regrid_method": method, "grid": dst.name}
    return out


# ---------------------------------------------------------------------------------------------
# bilinear (SMAP, AMSR2)
# ---------------------------------------------------------------------------------------------
def bilinear(da: xr.DataArray, dst: Grid) -> xr.DataArray:
    """Bilinear interpolation of a field with 1-D ``lat``/``lon`` coordinates onto ``dst``.

    Parameters
    ----------
    da : DataArray (..., lat, lon)
        Source field (any units); coordinates ascending or descending, any spacing.
    dst : Grid
        Target grid (e.g. :func:`~sm_nb.scenario.grids.coarse_grid`).

    Returns
    -------
    DataArray (..., lat, lon) on ``dst``, same units and attrs.

    Notes
    -----
    Paper §2.1.5 (SMAP, AMSR2). ``xarray.DataArray.interp(method="linear")``: separable linear
    interpolation along ``lat`` then ``lon``. NaN-aware in the strict sense: a target whose
    2 × 2 stencil touches a NaN is NaN, and targets outside the source grid are NaN. The
    stencil is the source rows (columns) i and i + 1 with x_i < x ≤ x_{i+1}, so a target lying
    exactly on a source row keeps the previous row in its stencil with zero weight: a NaN there
    also gives NaN (xarray/scipy behaviour; 0.26 % of the demo AMSR2 cells, where every fourth
    coarse column coincides with an AMSR2 column).
    """
    _check_latlon(da, "bilinear input")
    # interpolate in float64 (xarray's dask path declares the input dtype but computes float64)
    out = da.astype(np.float64).interp({LAT: dst.lat, LON: dst.lon}, method="linear").astype(da.dtype)
    return _on_grid(out, dst, "bilinear (xarray.interp)", da.attrs)


# ---------------------------------------------------------------------------------------------
# inverse-distance weighting (ASCAT, FY-3C)
# ---------------------------------------------------------------------------------------------
def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.deg2rad(lat), np.deg2rad(lon)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


class IDWRegridder:
    """Inverse-distance weighting from a lat/lon grid onto ``dst`` — build once, apply many.

    Parameters
    ----------
    src_lat, src_lon : ndarray, degrees
        1-D source cell-centre coordinates (the source is their outer product).
    dst : Grid
        Target grid.
    k : int
        Number of nearest source cells considered per target.
    radius_km : float
        Only neighbours closer than this great-circle distance (km) count.
    power : float
        Weight exponent: w = 1 / d**power.

    Notes
    -----
    Paper §2.1.5 (ASCAT, FY3C). Neighbours come from ``scipy.spatial.cKDTree`` on unit-sphere
    Cartesian coordinates; the chord distance c is converted to the great-circle distance
    d = 2 R asin(c / 2), R = 6371 km. A source cell at d = 0 gets the weight of d = 1 mm, so
    it dominates but a NaN there falls back on the other neighbours.

    .. math:: \\hat z_j = \\frac{\\sum_{i \\in N_j,\\, z_i \\text{ finite}} d_{ij}^{-p} z_i}
                               {\\sum_{i \\in N_j,\\, z_i \\text{ finite}} d_{ij}^{-p}}

    A target with no finite neighbour within ``radius_km`` is NaN.
    """

    def __init__(self, src_lat: np.ndarray, src_lon: np.ndarray, dst: Grid, k: int = 8,
                 radius_km: float = 25.0, power: float = 2.0) -> None:
        if int(k) < 1:
            raise ConfigError(f"IDW k is {k!r}; expected a positive integer")
        if not radius_km > 0:
            raise ConfigError(f"IDW radius_km is {radius_km!r}; expected a positive distance in km")
        self.src_lat = np.asarray(src_lat, dtype=float)
        self.src_lon = np.asarray(src_lon, dtype=float)
        self.dst, self.k, self.radius_km, self.power = dst, int(k), float(radius_km), float(power)
        slat, slon = np.meshgrid(self.src_lat, self.src_lon, indexing="ij")
        dlat, dlon = dst.mesh()
        self.n_src = slat.size
        k_eff = min(self.k, self.n_src)
        chord_max = 2 * np.sin(self.radius_km / (2 * R_EARTH_KM))
        chord, idx = cKDTree(_xyz(slat.ravel(), slon.ravel())).query(
            _xyz(dlat.ravel(), dlon.ravel()), k=k_eff, distance_upper_bound=chord_max
        )
        chord, idx = chord.reshape(dlat.size, k_eff), idx.reshape(dlat.size, k_eff)
        found = idx < self.n_src
        dist = 2 * R_EARTH_KM * np.arcsin(np.clip(np.where(found, chord, 0.0) / 2, 0, 1))
        self.idx_ = np.where(found, idx, self.n_src)  # n_src → the appended NaN column
        self.weights_ = np.where(found, 1.0 / np.maximum(dist, 1e-6) ** self.power, 0.0)
        self.n_neighbours_ = found.sum(axis=1).reshape(dst.shape)

    def __repr__(self) -> str:
        return (
            f"<IDWRegridder {self.src_lat.size} × {self.src_lon.size} → {self.dst.name} {self.dst.shape}, "
            f"k={self.k}, radius={self.radius_km:g} km, power={self.power:g}, "
            f"neighbours per target {self.n_neighbours_.min()}–{self.n_neighbours_.max()}>"
        )

    def _kernel(self, a: np.ndarray) -> np.ndarray:
        flat = a.reshape(*a.shape[:-2], self.n_src).astype(np.float64)
        flat = np.concatenate([flat, np.full((*flat.shape[:-1], 1), np.nan)], axis=-1)
        vals = flat[..., self.idx_]  # (..., n_dst, k)
        ok = np.isfinite(vals)
        w = np.where(ok, self.weights_, 0.0)
        den = w.sum(axis=-1)
        num = (np.where(ok, vals, 0.0) * w).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 0, num / den, np.nan)
        return out.reshape(*a.shape[:-2], *self.dst.shape).astype(a.dtype, copy=False)

    def __call__(self, da: xr.DataArray) -> xr.DataArray:
        """Regrid ``da`` (..., lat, lon) — its coordinates must be the ones the weights were built on."""
        _check_latlon(da, "IDW input")
        if not (np.array_equal(da[LAT].values, self.src_lat) and np.array_equal(da[LON].values, self.src_lon)):
            raise DataError(
                f"IDW input {da.name!r} has a {da.sizes[LAT]} × {da.sizes[LON]} grid that differs from the "
                f"{self.src_lat.size} × {self.src_lon.size} source grid the regridder was built for"
            )
        if da.chunks is not None:  # lat/lon must be whole chunks for the gather
            da = da.chunk({LAT: -1, LON: -1})
        out = xr.apply_ufunc(
            self._kernel,
            da,
            input_core_dims=[[LAT, LON]],
            output_core_dims=[["_lat", "_lon"]],
            dask="parallelized",
            output_dtypes=[da.dtype],
            dask_gufunc_kwargs={"output_sizes": {"_lat": self.dst.shape[0], "_lon": self.dst.shape[1]}},
            keep_attrs=True,
        ).rename({"_lat": LAT, "_lon": LON})
        out = out.transpose(*da.dims)
        method = f"idw (scipy cKDTree, k={self.k}, radius={self.radius_km:g} km, power={self.power:g})"
        return _on_grid(out, self.dst, method, da.attrs)


def idw(da: xr.DataArray, dst: Grid, k: int = 8, radius_km: float = 25.0, power: float = 2.0) -> xr.DataArray:
    """Inverse-distance weighting of ``da`` (..., lat, lon) onto ``dst`` (see :class:`IDWRegridder`).

    Parameters
    ----------
    da : DataArray (..., lat, lon)
    dst : Grid
    k : int
        Nearest neighbours considered (8 covers the 0.125° ASCAT cells around a coarse centre).
    radius_km : float
        Search radius, km (25 km = the ASCAT and FY-3C footprint).
    power : float
        Distance exponent (2, the usual IDW choice; the paper does not give one).

    Returns
    -------
    DataArray (..., lat, lon) on ``dst``, same units and attrs.
    """
    _check_latlon(da, "IDW input")
    return IDWRegridder(da[LAT].values, da[LON].values, dst, k=k, radius_km=radius_km, power=power)(da)


# ---------------------------------------------------------------------------------------------
# area mean (CLDAS, MODIS, terrain) and replication expansion
# ---------------------------------------------------------------------------------------------
def area_mean(da: xr.DataArray, dst: Grid, min_valid_fraction: float = 1.0) -> xr.DataArray:
    """Mean of the source cells nested in each ``dst`` cell (simple average aggregation).

    Parameters
    ----------
    da : DataArray (..., lat, lon)
        Field on a regular grid that nests exactly in ``dst`` (e.g. 4 × 5 CLDAS cells or
        8 × 10 demo fine pixels per coarse cell).
    dst : Grid
        The coarser grid.
    min_valid_fraction : float in [0, 1]
        A ``dst`` cell is the mean of its finite source cells when at least this fraction of
        them is finite, NaN otherwise. 1 (default) = any NaN makes the cell NaN; 0 = one
        finite cell suffices. Use e.g. 0.5 for MODIS cloud gaps.

    Returns
    -------
    DataArray (..., lat, lon) on ``dst``, same units and attrs.

    Raises
    ------
    DataError
        If the grids do not nest exactly (names both grids and their shapes).

    Notes
    -----
    Paper §2.1.5 (CLDAS, MODIS, terrain). ``xarray.DataArray.coarsen(lat=fy, lon=fx,
    boundary="exact")``; equal weights per cell (cell-area differences within one coarse
    cell are < 0.2 %).
    """
    _check_latlon(da, "area_mean input")
    if not 0.0 <= float(min_valid_fraction) <= 1.0:
        raise ConfigError(f"min_valid_fraction is {min_valid_fraction!r}; expected a fraction in [0, 1]")
    src = grid_for(da, "source")
    try:
        fy, fx = src.nest_factor(dst)
    except DataError:
        raise DataError(
            f"area_mean: the {src.shape[0]} × {src.shape[1]} source grid of {da.name!r} (lat "
            f"{src.lat[0]:.4f}…{src.lat[-1]:.4f}, lon {src.lon[0]:.4f}…{src.lon[-1]:.4f}) does not nest "
            f"exactly in {dst!r}"
        ) from None
    block = {LAT: fy, LON: fx}
    n = da.notnull().coarsen(block, boundary="exact").sum()
    s = da.fillna(0).coarsen(block, boundary="exact").sum()
    need = max(1.0, float(min_valid_fraction) * fy * fx - 1e-9)
    out = (s / n.where(n >= need)).astype(da.dtype)
    method = f"area mean of {fy} x {fx} cells (xarray.coarsen), min_valid_fraction={min_valid_fraction:g}"
    return _on_grid(out, dst, method, da.attrs)


def replicate(da: xr.DataArray, dst: Grid) -> xr.DataArray:
    """Replication expansion: copy each coarse cell into the ``dst`` cells nested in it.

    Parameters
    ----------
    da : DataArray (..., lat, lon)
        Field on a coarse grid in which ``dst`` nests exactly.
    dst : Grid
        The finer grid.

    Returns
    -------
    DataArray (..., lat, lon) on ``dst``: values unchanged, so the area mean of the result
    is the input (xarray equivalent of :func:`~sm_nb.scenario.grids.block_repeat`; lazy
    on dask input).

    Notes
    -----
    Paper §2.2.3: "resampled to 1 km spatial resolution by replication expansion, without
    changing the specific values".
    """
    _check_latlon(da, "replicate input")
    src = grid_for(da, "source")
    try:
        fy, fx = dst.nest_factor(src)
    except DataError:
        raise DataError(f"replicate: {dst!r} does not nest exactly in the {src.shape[0]} × {src.shape[1]} grid of {da.name!r}") from None
    out = da.isel({LAT: np.repeat(np.arange(src.shape[0]), fy), LON: np.repeat(np.arange(src.shape[1]), fx)})
    return _on_grid(out, dst, f"replication expansion {fy} x {fx}", da.attrs)


def identity(da: xr.DataArray, dst: Grid) -> xr.DataArray:
    """Return ``da`` unchanged after checking that it already lies on ``dst``."""
    _check_latlon(da, "identity input")
    same = (
        da.sizes[LAT] == dst.shape[0]
        and da.sizes[LON] == dst.shape[1]
        and np.allclose(da[LAT].values, dst.lat, atol=1e-6)
        and np.allclose(da[LON].values, dst.lon, atol=1e-6)
    )
    if not same:
        raise DataError(f"{da.name!r} ({da.sizes[LAT]} × {da.sizes[LON]}) is not on {dst!r}; choose a regridding method")
    return _on_grid(da, dst, "identity", da.attrs)


# ---------------------------------------------------------------------------------------------
# dispatcher
# ---------------------------------------------------------------------------------------------
def _coarse(config: str | ScenarioConfig | Grid) -> Grid:
    return config if isinstance(config, Grid) else coarse_grid(get_config(config))


def to_coarse(obj: xr.DataArray | xr.Dataset, method: str, cfg: str | ScenarioConfig | Grid = "demo",
              **kwargs: Any) -> xr.DataArray | xr.Dataset:
    """Regrid a DataArray or Dataset to the paper's 0.25° × 0.3125° grid.

    Parameters
    ----------
    obj : DataArray or Dataset (..., lat, lon)
        Native-grid product. In a Dataset, variables without ``lat``/``lon`` are kept as they
        are and non-float variables (quality flags, class codes) are dropped; their names are
        listed in ``attrs["regrid_dropped"]``.
    method : {"bilinear", "idw", "mean", "identity"}
        See :data:`REGRID_METHOD` for the paper's choice per dataset.
    cfg : str, ScenarioConfig or Grid
        Config whose :func:`~sm_nb.scenario.grids.coarse_grid` is the target (or a Grid).
    **kwargs
        Passed to the method: ``k``, ``radius_km``, ``power`` (idw), ``min_valid_fraction`` (mean).

    Returns
    -------
    Same type as ``obj`` on the coarse grid.
    """
    funcs = {"bilinear": bilinear, "idw": idw, "mean": area_mean, "identity": identity}
    if method not in funcs:
        raise ConfigError(f"regridding method {method!r} unknown; expected one of {list(METHODS)}")
    dst = _coarse(cfg)
    func = funcs[method]
    if isinstance(obj, xr.DataArray):
        return func(obj, dst, **kwargs)
    if not isinstance(obj, xr.Dataset):
        raise DataError(f"to_coarse expects an xarray DataArray or Dataset; got {type(obj).__name__}")
    out: dict[Hashable, xr.DataArray] = {}
    dropped = []
    regridder = None
    for name, var in obj.data_vars.items():
        if LAT not in var.dims or LON not in var.dims:
            continue
        if not np.issubdtype(var.dtype, np.floating):
            dropped.append(str(name))
            continue
        if method == "idw":  # one KD-tree for every variable
            regridder = regridder or IDWRegridder(obj[LAT].values, obj[LON].values, dst, **kwargs)
            out[name] = regridder(var)
        else:
            out[name] = func(var, dst, **kwargs)
    ds = xr.Dataset(out, attrs={**obj.attrs, "regrid_method": method, "grid": dst.name})
    if dropped:
        ds.attrs["regrid_dropped"] = ", ".join(dropped)
    return ds


def coarse_dataset(name: str, config: str | ScenarioConfig = "demo", seed: int = 0, **kwargs: Any) -> xr.Dataset:
    """Open catalog dataset ``name`` and regrid it to the coarse grid with the paper's method.

    Parameters
    ----------
    name : str
        A key of :data:`REGRID_METHOD` (e.g. ``"fy3c_sm"``, ``"smap_sm"``, ``"cldas_sm"``).
    config, seed
        Scenario config and seed, as for :func:`sm_nb.open_dataset`.
    **kwargs
        Method options (see :func:`to_coarse`).
    """
    from .catalog import open_dataset

    if name not in REGRID_METHOD:
        raise ConfigError(f"no regridding method for dataset {name!r}; expected one of {sorted(REGRID_METHOD)}")
    return to_coarse(open_dataset(name, config=config, seed=seed), REGRID_METHOD[name], config, **kwargs)
