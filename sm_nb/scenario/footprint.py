"""Antenna footprint and sampling of a sensor (spec §9).

1. :func:`footprint` — block-mean of a fine field to the 0.0625° lattice, then a Gaussian
   antenna pattern of the sensor's FWHM;
2. :func:`sample` — bilinear sampling at product cell centres with drop-in-bucket jitter.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..config import ScenarioConfig
from ..exceptions import DataError
from ..grids import Grid, cldas_grid, fine_grid
from ..resample import block_mean
from .sensor_specs import FWHM_PER_SIGMA, KM_PER_DEG

__all__ = ["footprint", "sample"]


# ---- footprint ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Antenna:
    ky: np.ndarray  # (2 ry + 1,) y weights
    kx: np.ndarray  # (ny, 2 rx + 1) x weights per lattice row
    norm: np.ndarray  # (ny, nx) filter of ones (edge renormalisation)


def _filter(a: np.ndarray, ant: _Antenna) -> np.ndarray:
    """Separable Gaussian correlation of the last two axes, zero outside the lattice."""
    t = ndimage.correlate1d(a, ant.ky, axis=-2, mode="constant", cval=0.0)
    rx = ant.kx.shape[1] // 2
    nx = a.shape[-1]
    pad = np.pad(t, [(0, 0)] * (t.ndim - 1) + [(rx, rx)])
    out = np.zeros_like(t)
    tmp = np.empty_like(t)
    for k in range(2 * rx + 1):  # loop over kernel taps, vectorised over pixels
        np.multiply(pad[..., k : k + nx], ant.kx[:, k, None], out=tmp)
        out += tmp
    return out


@functools.lru_cache(maxsize=32)
def _antenna(cfg: ScenarioConfig, fwhm_km: float) -> _Antenna:
    lattice, fine = cldas_grid(cfg), fine_grid(cfg)
    fy, fx = fine.nest_factor(lattice)
    dx, dy = lattice.spacing_km()
    var = (fwhm_km / FWHM_PER_SIGMA) ** 2
    # the block mean already smoothed by a box of one lattice cell (minus the fine pixel):
    # remove its variance so that the effective response of footprint() has the spec FWHM
    var_y = var - (dy**2 - (dy / fy) ** 2) / 12.0
    var_x = var - (dx**2 - (dx / fx) ** 2) / 12.0
    if var_y <= 0 or var_x.min() <= 0:
        raise DataError(
            f"fwhm_km is {fwhm_km}; expected a footprint wider than the 0.0625° lattice cell"
        )
    sy = np.sqrt(var_y) / dy
    sx = np.sqrt(var_x) / dx
    ry = int(np.ceil(4.0 * sy))
    ky = np.exp(-0.5 * (np.arange(-ry, ry + 1) / sy) ** 2)
    rx = int(np.ceil(4.0 * sx.max()))
    k = np.arange(-rx, rx + 1)[None, :]
    kx = np.where(np.abs(k) <= 4.0 * sx[:, None], np.exp(-0.5 * (k / sx[:, None]) ** 2), 0.0)
    ant = _Antenna(
        (ky / ky.sum()).astype(np.float32),
        (kx / kx.sum(axis=1, keepdims=True)).astype(np.float32),
        np.empty(0, np.float32),
    )
    norm = _filter(np.ones(lattice.shape, np.float32), ant)
    return dataclasses.replace(ant, norm=norm)


def footprint(
    field_fine: np.ndarray, cfg: ScenarioConfig, fwhm_km: float, skipna: bool = True
) -> np.ndarray:
    """Fine-grid field(s) seen through a Gaussian antenna pattern, on the 0.0625° lattice.

    Parameters
    ----------
    field_fine : ndarray (..., lat, lon) on ``fine_grid(cfg)``
        Field(s) to aggregate, in the units in which the sensor adds power: Tb in K, σ⁰ in
        LINEAR units (m2 m-2, never dB), fractions in 1. Booleans are treated as 0/1.
    cfg : ScenarioConfig
    fwhm_km : float
        Full width at half maximum of the Gaussian footprint, km.
    skipna : bool
        If True (default) NaN fine pixels are ignored by normalised convolution, so gaps do not
        spread; a lattice cell stays NaN only if all its fine pixels are NaN. If False, every
        lattice cell whose (truncated, 4σ) footprint touches a NaN is NaN.

    Returns
    -------
    ndarray of float32 (..., lat, lon) on ``cldas_grid(cfg)``

    Notes
    -----
    Spec §9 step 3: block-mean to the 0.0625° lattice (exact nesting), then a Gaussian of
    σ = FWHM / 2.355, converted to lattice pixels per row (x spacing shrinks with cos lat). The
    box of the block mean is removed from the Gaussian's variance, σ_filter² = σ² − (Δ² − δ²)/12
    (Δ lattice, δ fine spacing), so demo and full have the same effective footprint. Outside the
    domain nothing is known: the weights are renormalised at the edges.
    """
    fine = fine_grid(cfg)
    a = np.asarray(field_fine)
    if a.shape[-2:] != fine.shape:
        raise DataError(
            f"field_fine has shape {a.shape}; expected (..., {fine.shape[0]}, {fine.shape[1]}) "
            "(fine grid)"
        )
    out = _footprint(list(a.reshape(-1, *fine.shape)), cfg, fwhm_km, skipna)
    return out.reshape(*a.shape[:-2], *out.shape[-2:])


def _footprint(
    fields: Sequence[np.ndarray], cfg: ScenarioConfig, fwhm_km: float, skipna: bool = True
) -> np.ndarray:
    """:func:`footprint` of a list of fine (lat, lon) arrays → (field, lat, lon) on the lattice."""
    lattice, fine = cldas_grid(cfg), fine_grid(cfg)
    fy, fx = fine.nest_factor(lattice)
    ant = _antenna(cfg, float(fwhm_km))
    blocks = np.empty((len(fields), *lattice.shape), np.float32)
    valid = None  # fraction of finite fine pixels per lattice cell, only if some NaN
    for i, field in enumerate(fields):  # loop over fields, vectorised over pixels
        bad = np.isnan(field) if field.dtype.kind == "f" else None
        if bad is None or not bad.any():
            blocks[i] = block_mean(field, fy, fx, dtype=np.float32)
        elif not skipna:
            blocks[i] = block_mean(field, fy, fx, dtype=np.float32)
        else:
            if valid is None:
                valid = np.ones_like(blocks)
            valid[i] = block_mean((~bad).astype(np.float32), fy, fx, dtype=np.float32)
            blocks[i] = block_mean(np.where(bad, np.float32(0), field), fy, fx, dtype=np.float32)
    gap = np.isnan(blocks)
    if gap.any():  # only without skipna
        out = _filter(np.where(gap, np.float32(0), blocks), ant) / ant.norm
        out[_filter(gap.astype(np.float32), ant) > 1e-6] = np.nan
    elif valid is None:
        out = _filter(blocks, ant) / ant.norm
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(valid > 0, _filter(blocks, ant) / _filter(valid, ant), np.nan)
    return out.astype(np.float32, copy=False)


# ---- sampling -----------------------------------------------------------------------------------
def _positions(
    cfg: ScenarioConfig, grid: Grid, jitter_km: float, unit: np.ndarray | None
) -> tuple[np.ndarray, ...]:
    """Bilinear stencil (i0, i1, j0, j1, wy, wx, inside) of jittered product centres."""
    lattice = cldas_grid(cfg)
    plat, plon = grid.mesh()
    inside = (
        (plat >= lattice.lat[0] - lattice.dlat / 2)
        & (plat <= lattice.lat[-1] + lattice.dlat / 2)
        & (plon >= lattice.lon[0] - lattice.dlon / 2)
        & (plon <= lattice.lon[-1] + lattice.dlon / 2)
    )
    if unit is not None and jitter_km:
        plat = plat + unit[0] * jitter_km / KM_PER_DEG
        plon = plon + unit[1] * jitter_km / (KM_PER_DEG * np.cos(np.deg2rad(plat)))
    stencil = []
    for p, axis in ((plat, lattice.lat), (plon, lattice.lon)):
        n = axis.size
        f = np.clip((p - axis[0]) / (axis[1] - axis[0]) if n > 1 else 0.0 * p, 0, n - 1)
        i0 = np.minimum(np.floor(f).astype(np.intp), max(n - 2, 0))
        stencil += [i0, np.minimum(i0 + 1, n - 1), (f - i0).astype(np.float32)]
    i0, i1, wy, j0, j1, wx = stencil
    return i0, i1, j0, j1, wy, wx, inside


def _interp(field: np.ndarray, pos: tuple[np.ndarray, ...]) -> np.ndarray:
    i0, i1, j0, j1, wy, wx, inside = pos
    out = (
        (field[..., i0, j0] * (1 - wx) + field[..., i0, j1] * wx) * (1 - wy)
        + (field[..., i1, j0] * (1 - wx) + field[..., i1, j1] * wx) * wy
    ).astype(np.float32)
    out[..., ~inside] = np.nan
    return out


def sample(
    lattice_field: np.ndarray,
    cfg: ScenarioConfig,
    product_grid: Grid,
    jitter_km: float,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """Bilinear sample of lattice field(s) at product cell centres moved by drop-in-bucket jitter.

    Parameters
    ----------
    lattice_field : ndarray (..., lat, lon) on ``cldas_grid(cfg)``
    cfg : ScenarioConfig
    product_grid : Grid
        Target grid (e.g. :func:`product_grid`); only its cell centres are used.
    jitter_km : float
        Half-width of the uniform position jitter in km, applied independently north and east
        (same offset for every leading index, i.e. all channels of one observation).
    rng : Generator or None
        Source of the jitter (one ``uniform(-1, 1, (2, *product_grid.shape))`` draw);
        None = no jitter.

    Returns
    -------
    ndarray of float32 (..., lat, lon) on ``product_grid``; NaN where the cell centre lies outside
    the lattice (domain).

    Notes
    -----
    Spec §9 step 4 (SMAP ±18 km, AMSR2/FY3C ±5 km, ASCAT ±6 km). Jittered points beyond the
    lattice's outer centres take the edge value.
    """
    lattice = cldas_grid(cfg)
    a = np.asarray(lattice_field, dtype=np.float32)
    if a.shape[-2:] != lattice.shape:
        raise DataError(
            f"lattice_field has shape {a.shape}; expected (..., {lattice.shape[0]}, "
            f"{lattice.shape[1]}) (0.0625° lattice)"
        )
    unit = None if rng is None else rng.uniform(-1.0, 1.0, (2, *product_grid.shape))
    return _interp(a, _positions(cfg, product_grid, jitter_km, unit))
