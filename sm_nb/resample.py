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
cldas_sm           mean        :func:`area_mean_kernel` (numpy block sums): sum / count of
                               the finite 4 × 5 0.0625° cells nested in each coarse cell.
truth_sm, modis_*  mean        same over the fine pixels nested in a coarse cell, with
dem                            ``min_valid_fraction`` for MODIS cloud gaps.
geos5_sm           identity    already on the coarse grid; coordinates are checked.
=================  ==========  =======================================================

Every function takes and returns ``xarray`` objects with named dims (``lat``, ``lon`` plus any
others such as ``time`` or ``frequency``), keeps ``attrs`` (CF ``units`` included) and records
the method in ``attrs["regrid_method"]``. All operators run lazily on dask-backed input.
One concept — resampling between the grids of :mod:`sm_nb.grids` — hence one module (≤ 650 lines).

The numpy kernels underneath — :func:`block_mean` (area mean over nested grids),
:func:`block_repeat` (replication expansion), :func:`interp_bilinear`, :func:`bin_mean_kernel`
(non-nested grids) — are the ones the scenario generator uses too, so each resampling
operation is written once. :func:`bin_mean` (fine field → any product grid) and
:func:`bilinear_nan_aware` (renormalised bilinear) complete the set. The module is longer than
sm_nb's usual 500 lines because it is one concept — every resampling operator of the method,
each written once.

Libraries considered: ``xarray-regrid``, ``pyresample`` and ``flox`` are not used. On these grids
(exactly nested lat/lon for the area means, 1-D EASE-Grid rows/columns for bilinear) the
reshape-based block mean and ``xarray.interp`` are exact and already vectorised, the IDW is a
single ``cKDTree`` query, and the scenario generator must reproduce its fields bit for bit; a
library would add a dependency without a gain in exactness or speed here.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage, sparse
from scipy.spatial import cKDTree

from .conventions import COORD_ATTRS, LAT, LON
from .exceptions import ConfigError, DataError
from .grids import EARTH_RADIUS_KM, Grid, grid_for

__all__ = [
    "REGRID_METHOD", "METHODS", "IDWRegridder", "bilinear", "idw", "area_mean", "replicate", "identity",
    "to_coarse", "block_mean", "block_sum", "area_mean_kernel", "block_repeat", "interp_bilinear", "Binning",
    "binning", "bin_mean_kernel", "bin_mean", "bilinear_nan_aware",
]

#: dataset (catalog name) → the paper's resampling method to the coarse grid (§2.1.5).
REGRID_METHOD: dict[str, str] = {
    "smap_tb": "bilinear", "smap_sm": "bilinear", "amsr2_tb": "bilinear", "amsr2_sm": "bilinear",
    "ascat_sigma40": "idw", "fy3c_tb": "idw", "fy3c_sm": "idw",
    "cldas_sm": "mean", "truth_sm": "mean", "modis_lst": "mean", "modis_ndvi_evi": "mean",
    "modis_reflectance": "mean", "dem": "mean", "geos5_sm": "identity",
}
METHODS = ("bilinear", "idw", "mean", "identity")


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
        Target grid (e.g. :func:`~sm_nb.grids.coarse_grid`).

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
        chord_max = 2 * np.sin(self.radius_km / (2 * EARTH_RADIUS_KM))
        chord, idx = cKDTree(_xyz(slat.ravel(), slon.ravel())).query(
            _xyz(dlat.ravel(), dlon.ravel()), k=k_eff, distance_upper_bound=chord_max
        )
        chord, idx = chord.reshape(dlat.size, k_eff), idx.reshape(dlat.size, k_eff)
        found = idx < self.n_src
        dist = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.where(found, chord, 0.0) / 2, 0, 1))
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
    Paper §2.1.5 (CLDAS, MODIS, terrain). :func:`area_mean_kernel` per dask block (``lat`` and
    ``lon`` one chunk); equal weights per cell (cell-area differences within one coarse cell
    are < 0.2 %). Same numbers as ``xarray.DataArray.coarsen(...).sum()`` of the filled field
    divided by the count of finite cells.
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
    need = max(1.0, float(min_valid_fraction) * fy * fx - 1e-9)
    c = da.transpose(..., LAT, LON)
    if c.chunks is not None:
        c = c.chunk({LAT: -1, LON: -1})
    out = xr.apply_ufunc(area_mean_kernel, c, kwargs={"fy": fy, "fx": fx, "need": need}, input_core_dims=[[LAT, LON]],
                         output_core_dims=[["_lat", "_lon"]], dask="parallelized", output_dtypes=[da.dtype],
                         dask_gufunc_kwargs={"output_sizes": {"_lat": dst.shape[0], "_lon": dst.shape[1]}})
    out = out.rename({"_lat": LAT, "_lon": LON}).transpose(*da.dims)
    method = f"area mean of {fy} x {fx} cells, min_valid_fraction={min_valid_fraction:g}"
    return _on_grid(out, dst, method, da.attrs)


def replicate(da: xr.DataArray, dst: Grid | xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Replication expansion: copy each coarse cell into the ``dst`` cells nested in it.

    Parameters
    ----------
    da : DataArray (..., lat, lon)
        Field on a coarse grid in which ``dst`` nests exactly (any units, kept).
    dst : Grid, DataArray or Dataset
        The finer grid (or an object on it).

    Returns
    -------
    DataArray (..., lat, lon) on ``dst``, dims in the order of ``da``: values unchanged, so the
    area mean of the result is the input. :func:`block_repeat` per block; lazy and cheap on
    dask (``lat``/``lon`` become single chunks).

    Notes
    -----
    Paper §2.2.3: "resampled to 1 km spatial resolution by replication expansion, without
    changing the specific values".
    """
    _check_latlon(da, "replicate input")
    fg = dst if isinstance(dst, Grid) else grid_for(dst, "fine")
    src = grid_for(da, "source")
    try:
        fy, fx = fg.nest_factor(src)
    except DataError:
        raise DataError(f"replicate: the {fg.shape[0]} × {fg.shape[1]} grid {fg.name!r} does not nest exactly in the "
                        f"{src.shape[0]} × {src.shape[1]} grid of {da.name!r}") from None
    c = da.transpose(..., LAT, LON)
    if c.chunks is not None:
        c = c.chunk({LAT: -1, LON: -1})
    out = xr.apply_ufunc(block_repeat, c, kwargs={"fy": fy, "fx": fx}, input_core_dims=[[LAT, LON]],
                         output_core_dims=[["_lat", "_lon"]], dask="parallelized", output_dtypes=[c.dtype],
                         dask_gufunc_kwargs={"output_sizes": {"_lat": fg.shape[0], "_lon": fg.shape[1]}})
    out = out.rename({"_lat": LAT, "_lon": LON}).transpose(*da.dims)
    return _on_grid(out, fg, f"replication expansion {fy} x {fx}", da.attrs).rename(da.name)


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
def to_coarse(obj: xr.DataArray | xr.Dataset, method: str, dst: Grid, **kwargs: Any) -> xr.DataArray | xr.Dataset:
    """Regrid a DataArray or Dataset to a target grid (the paper's 0.25° × 0.3125° grid, §2.1.5).

    Parameters
    ----------
    obj : DataArray or Dataset (..., lat, lon)
        Native-grid product. In a Dataset, variables without ``lat``/``lon`` are kept as they
        are and non-float variables (quality flags, class codes) are dropped; their names are
        listed in ``attrs["regrid_dropped"]``.
    method : {"bilinear", "idw", "mean", "identity"}
        See :data:`REGRID_METHOD` for the paper's choice per dataset.
    dst : Grid
        The target grid (e.g. :attr:`sm_nb.StudyArea.coarse`, :func:`sm_nb.grids.coarse_grid`).
    **kwargs
        Passed to the method: ``k``, ``radius_km``, ``power`` (idw), ``min_valid_fraction`` (mean).

    Returns
    -------
    Same type as ``obj`` on the coarse grid.
    """
    funcs = {"bilinear": bilinear, "idw": idw, "mean": area_mean, "identity": identity}
    if method not in funcs:
        raise ConfigError(f"regridding method {method!r} unknown; expected one of {list(METHODS)}")
    if not isinstance(dst, Grid):
        raise ConfigError(f"dst is a {type(dst).__name__}; expected a sm_nb.grids.Grid (e.g. study.area.coarse)")
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


# ---------------------------------------------------------------------------------------------
# numpy kernels (shared with the scenario generator)
# ---------------------------------------------------------------------------------------------
def block_mean(a: np.ndarray, fy: int, fx: int, skipna: bool = False, dtype: Any = None) -> np.ndarray:
    """Mean over non-overlapping ``fy`` × ``fx`` blocks of the last two axes (area-mean aggregation).

    Parameters
    ----------
    a : ndarray (..., ny, nx)
        Field in any units; ``ny``/``nx`` multiples of ``fy``/``fx``.
    fy, fx : int
        Block size along the last two axes (cells).
    skipna : bool
        Ignore NaNs (a block that is all NaN stays NaN); else any NaN makes the block NaN.
    dtype : numpy dtype, optional
        Accumulation and output dtype; default ``a.dtype`` for floats, float64 otherwise.

    Returns
    -------
    ndarray (..., ny / fy, nx / fx), same units as ``a``.

    Notes
    -----
    Strided sums (one pass per block offset) instead of a reshape-mean, which is 10–30× faster
    for the small block factors used here.
    """
    a = np.asarray(a)
    ny, nx = a.shape[-2:]
    if ny % fy or nx % fx:
        raise DataError(f"array of shape {a.shape} cannot be split in {fy} × {fx} blocks")
    if dtype is None:
        dtype = a.dtype if a.dtype.kind == "f" else np.float64
    if skipna:
        valid = np.isfinite(a)
        total = block_mean(np.where(valid, a, 0).astype(dtype), fy, fx)
        frac = block_mean(valid.astype(dtype), fy, fx)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(frac > 0, total / frac, np.nan).astype(dtype, copy=False)
    rows = a[..., 0::fy, :].astype(dtype, copy=True)
    for i in range(1, fy):
        rows += a[..., i::fy, :]
    out = rows[..., 0::fx].copy()
    for j in range(1, fx):
        out += rows[..., j::fx]
    out *= np.dtype(dtype).type(1.0 / (fy * fx))
    return out


def block_sum(a: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Sum over non-overlapping ``fy`` × ``fx`` blocks of the last two axes (reshape-sum).

    ``a`` (..., ny, nx) of any dtype (bool sums to int), ``fy``/``fx`` the block size in cells;
    returns (..., ny / fy, nx / fx) in the units of ``a``. numpy's summation order over the
    reshaped array, i.e. the numbers of ``xarray.DataArray.coarsen(...).sum()``;
    :func:`block_mean` accumulates strided rows instead (faster for the scenario's small
    blocks): the two differ in float32 rounding only and each keeps its callers' numbers.
    """
    a = np.asarray(a)
    ny, nx = a.shape[-2:]
    if ny % fy or nx % fx:
        raise DataError(f"array of shape {a.shape} cannot be split in {fy} × {fx} blocks")
    return a.reshape(*a.shape[:-2], ny // fy, fy, nx // fx, fx).sum(axis=(-3, -1))


def area_mean_kernel(a: np.ndarray, fy: int, fx: int, need: float = 1.0) -> np.ndarray:
    """NaN-aware block mean of the last two axes: sum / count of the non-NaN cells of each block.

    ``a`` (..., ny, nx) float, ``fy``/``fx`` the block size in cells, ``need`` the minimum number
    of non-NaN cells of a block (fewer → NaN); returns (..., ny / fy, nx / fx) of ``a.dtype``.
    """
    a = np.asarray(a)
    ok = ~np.isnan(a)
    s = block_sum(np.where(ok, a, 0).astype(a.dtype, copy=False), fy, fx)
    n = block_sum(ok, fy, fx)
    return (s / np.where(n >= need, n, np.nan)).astype(a.dtype)


def block_repeat(a: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Replicate each cell of the last two axes into an ``fy`` × ``fx`` block (replication expansion)."""
    return np.repeat(np.repeat(a, fy, axis=-2), fx, axis=-1)


def interp_bilinear(a: np.ndarray, src: Grid, dst: Grid) -> np.ndarray:
    """Bilinear interpolation of the last two axes of ``a`` from ``src`` to ``dst`` centres.

    Points outside ``src`` take the nearest edge value (constant extrapolation), which is
    what the scenario needs when a lattice is slightly smaller than the domain. NaNs propagate
    to every target whose 2 × 2 stencil touches them (see :func:`bilinear_nan_aware` for the
    renormalised variant).
    """
    fy = np.interp(dst.lat, src.lat, np.arange(src.lat.size))
    fx = np.interp(dst.lon, src.lon, np.arange(src.lon.size))
    yy, xx = np.meshgrid(fy, fx, indexing="ij")
    lead = a.shape[:-2]
    flat = a.reshape(-1, *src.shape)
    out = np.empty((flat.shape[0], *dst.shape), dtype=np.result_type(a.dtype, np.float32))
    for i, field in enumerate(flat):
        out[i] = ndimage.map_coordinates(field, [yy, xx], order=1, mode="nearest")
    return out.reshape(*lead, *dst.shape)


def _edges(centres: np.ndarray, name: str) -> np.ndarray:
    c = np.asarray(centres, dtype=float)
    if c.size < 2 or np.any(np.diff(c) <= 0):
        raise DataError(f"grid coordinate {name!r} must be ascending with >= 2 values; got {c[:5]}")
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


@dataclass(frozen=True)
class Binning:
    """Source pixel → target cell assignment of :func:`bin_mean`: ``matrix`` (n_cells, n_src) of 0/1,
    target ``shape`` (lat, lon) and ``coverage`` (lat, lon), source pixels in a cell / a full cell."""

    matrix: sparse.csr_matrix
    shape: tuple[int, int]
    coverage: np.ndarray


def binning(src: xr.DataArray | xr.Dataset | Grid, dst: xr.DataArray | xr.Dataset | Grid) -> Binning:
    """Assign each ``src`` pixel to the ``dst`` cell whose edges (half-way between centres) contain it."""
    flat_, flon = (np.asarray(getattr(src, d) if isinstance(src, Grid) else src[d].values, dtype=float) for d in (LAT, LON))
    glat, glon = (np.asarray(getattr(dst, d) if isinstance(dst, Grid) else dst[d].values, dtype=float) for d in (LAT, LON))
    ey, ex = _edges(glat, "lat"), _edges(glon, "lon")
    iy = np.searchsorted(ey, flat_, side="right") - 1
    ix = np.searchsorted(ex, flon, side="right") - 1
    ny, nx = glat.size, glon.size
    valid = ((iy >= 0) & (iy < ny))[:, None] & ((ix >= 0) & (ix < nx))[None, :]
    cell = (iy[:, None] * nx + ix[None, :])[valid]
    cols = np.flatnonzero(valid.ravel())
    m = sparse.csr_matrix((np.ones(cols.size), (cell, cols)), shape=(ny * nx, valid.size))
    dlat_f = float(np.median(np.diff(flat_))) if flat_.size > 1 else 1.0
    dlon_f = float(np.median(np.diff(flon))) if flon.size > 1 else 1.0
    full = np.outer(np.diff(ey) / dlat_f, np.diff(ex) / dlon_f)
    counts = np.asarray(m.sum(axis=1)).reshape(ny, nx)
    return Binning(m, (ny, nx), counts / full)


def bin_mean_kernel(values: np.ndarray, binning: Binning) -> np.ndarray:
    """NaN-skipping mean of ``values`` (..., ny_src, nx_src) in the cells of ``binning`` → float32."""
    lead = values.shape[:-2]
    v = values.reshape(-1, values.shape[-2] * values.shape[-1]).astype(np.float64)
    finite = np.isfinite(v)
    s = (binning.matrix @ np.where(finite, v, 0.0).T).T
    c = (binning.matrix @ finite.T.astype(np.float64)).T
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(c > 0, s / c, np.nan)
    return out.reshape(*lead, *binning.shape).astype(np.float32)


def bin_mean(da: xr.DataArray, grid: xr.Dataset | xr.DataArray, min_coverage: float = 0.5) -> xr.DataArray:
    """Area mean of a fine field in the cells of any (non-nested) product grid.

    Parameters
    ----------
    da : DataArray (..., lat, lon)
        Fine-grid field (any units); NaNs are skipped. Dask-backed input stays lazy (the
        kernel runs per chunk of the non-spatial dims).
    grid : Dataset or DataArray
        Anything with ascending 1-D ``lat``/``lon`` cell-centre coordinates (regular lat/lon or
        EASE-Grid 2.0 rows/columns).
    min_coverage : float
        Cells whose area is covered by the fine domain less than this fraction are NaN.

    Returns
    -------
    DataArray (..., lat, lon), float32
        On ``grid``'s coordinates, with ``da``'s attributes and a ``coverage`` (lat, lon)
        coordinate (fraction of the cell inside the fine domain).

    Notes
    -----
    Each fine pixel goes to the product cell whose edges (half-way between neighbouring
    centres) contain its centre: the paper's simple average aggregation (§2.1.5) on regular
    grids, nearest-centre bins on EASE-Grid 2.0. Fine pixels are treated as equal-area (the
    cos-latitude change inside one product cell is < 1 %).
    """
    if not isinstance(da, xr.DataArray):
        raise DataError(f"bin_mean needs a DataArray (e.g. ds['sm']); got {type(da).__name__}")
    b = binning(da, grid)
    ny, nx = b.shape
    out = xr.apply_ufunc(
        bin_mean_kernel, da, kwargs={"binning": b},
        input_core_dims=[[LAT, LON]], output_core_dims=[["_lat", "_lon"]],
        dask="parallelized", output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"_lat": ny, "_lon": nx}, "allow_rechunk": True},
    )
    out = out.rename({"_lat": LAT, "_lon": LON}).assign_coords({LAT: grid[LAT].values, LON: grid[LON].values})
    for d in (LAT, LON):
        out[d].attrs = dict(grid[d].attrs)
    out = out.where(xr.DataArray(b.coverage >= min_coverage, dims=(LAT, LON)))
    out = out.assign_coords(coverage=((LAT, LON), b.coverage.astype(np.float32)))
    out.attrs = {**da.attrs, "regridding": "area mean of fine pixels in each cell (nearest-centre bins)"}
    return out.rename(da.name)


def bilinear_nan_aware(coarse: xr.DataArray, fine: Grid) -> xr.DataArray:
    """Bilinear interpolation with the weights of missing neighbours dropped (renormalised).

    Parameters
    ----------
    coarse : DataArray (..., lat, lon)
        Field on a regular grid (any units); NaNs are gaps.
    fine : Grid
        Target grid.

    Returns
    -------
    DataArray (..., lat, lon) float64 on ``fine``. Edge cells are padded by repetition so border
    pixels need no extrapolation; a target is NaN only where all four neighbours are. Lazy on dask.
    """
    c = coarse.astype(np.float64).transpose(..., LAT, LON)
    if c.chunks is not None:
        c = c.chunk({LAT: -1, LON: -1})
    lat, lon = c[LAT].values, c[LON].values
    plat = np.concatenate([[2 * lat[0] - lat[1]], lat, [2 * lat[-1] - lat[-2]]])
    plon = np.concatenate([[2 * lon[0] - lon[1]], lon, [2 * lon[-1] - lon[-2]]])
    padded = c.pad({LAT: 1, LON: 1}, mode="edge").assign_coords({LAT: plat, LON: plon})
    target = {LAT: fine.lat, LON: fine.lon}
    num = padded.fillna(0.0).interp(target, method="linear")
    den = padded.notnull().astype(np.float64).interp(target, method="linear")
    return (num / den.where(den > 1e-9)).assign_coords({LAT: fine.lat, LON: fine.lon})
