"""Synthetic DEM of the Qinghai study box with SLOPE, aspect and TWI (spec §3 "DEM").

The DEM is the sum of

1. a smooth *skeleton* built analytically from named features (:mod:`sm_nb.scenario.geography`): a regional surface through
   plateau anchors, ridges and peaks (raise towards a crest elevation), elliptic basins and playas
   and river troughs (lower towards a floor elevation) and lakes (flat at their level);
2. *large-scale* fractal relief (wavelengths 25–150 km) generated on the fixed 0.0625° lattice of
   the whole study box with ``rng_for(seed, "dem_large")``;
3. *fine-scale* fractal relief (wavelengths < 25 km) generated on the 3× oversampled grid with
   ``rng_for(seed, "dem_fine")``; its rms follows the relief class (ranges 300–600 m, plateau
   100–150 m, basin floor 10–30 m, spec §3).

Parts 1–2, plus a small correction that pins the surface to the elevations of named towns and
sites, live on a fixed 1/64° lattice of the study box, so every config (``mini``, ``demo``,
``full``) sees the same large-scale geography; they reach the oversampled grid by bicubic spline.
Basins and playas are filled up to their floor (no random pits below a basin floor), and
summits above 6000 m are compressed with a tanh towards ≈ 6900 m (Bukadaban 6860 m).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import xarray as xr
from scipy.sparse.linalg import spsolve_triangular

from ..config import ScenarioConfig, check_seed
from ..conventions import LAT, LON, cf_attrs
from ..grids import EARTH_RADIUS_M, Grid, fine_grid
from ..resample import block_mean
from ..terrain import aspect_from_gradient, gradient_metric, metric_spacing
from .geography import _LAKES, PLAYAS, TOWNS, Lake, _skeleton, _synthetic_lakes, _town_correction
from .lattice import (
    _smoothstep,
    _window,
    ellipse_radius,
    lattice_grid,
    spline_to_grid,
    spline_to_points,
    xy_km,
)
from .randomfields import rng_for

__all__ = [
    "OVERSAMPLE",
    "TOWNS",
    "PLAYAS",
    "Lake",
    "LargeScaleDEM",
    "large_scale_dem",
    "lattice_grid",
    "spline_to_grid",
    "spline_to_points",
    "band_noise",
    "xy_km",
    "ellipse_radius",
    "d8_twi",
    "make_terrain",
]

#: oversampling factor of the DEM relative to the fine grid (spec §3)
OVERSAMPLE = 3
#: spherical Earth radius used for metric spacing, m
_SPLIT_KM = 25.0  # wavelength separating lattice (large) and oversampled (fine) relief
_LMAX_KM = 150.0  # longest random wavelength; the skeleton carries the rest
_BETA = 2.2  # E(k) ∝ k^-β of the radially integrated relief spectrum (spec §3 [A])
_TAN_MIN = 0.002  # tan β floor of the TWI (flat floors, lakes)
_Z_SOFTCAP = 6000.0  # summits above are compressed towards ≈ 6900 m (Bukadaban 6860 m, spec §3)

@dataclass(frozen=True, eq=False)
class LargeScaleDEM:
    """Config-independent part of the DEM on the fixed 1/64° lattice of the study box.

    Attributes
    ----------
    grid : Grid
        The lattice (study box plus a 4-cell margin).
    elevation : ndarray (lat, lon), m
        Skeleton + large-scale relief + town anchoring + lakes.
    rms_fine : ndarray (lat, lon), m
        Rms of the fine-scale relief (relief class).
    ridge_weight, flat_weight : ndarray (lat, lon), 1
        1 on mountain ranges; 1 on basin floors, valley floors and lakes.
    basin : ndarray (lat, lon), 1
        Qaidam basin weight (1 on its floor).
    lakes : tuple of Lake
        Named and synthetic lakes.
    """

    grid: Grid
    elevation: np.ndarray
    rms_fine: np.ndarray
    ridge_weight: np.ndarray
    flat_weight: np.ndarray
    basin: np.ndarray
    lakes: tuple[Lake, ...]

    def __repr__(self) -> str:
        return f"<LargeScaleDEM {self.grid!r}, {len(self.lakes)} lakes>"


# ---------------------------------------------------------------------------------------------
# geometry helpers
# ---------------------------------------------------------------------------------------------
def band_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    dy_km: float,
    dx_km: float,
    lam_max_km: float,
    lam_min_km: float | None = None,
    beta: float = _BETA,
    lam_ref_km: float | None = None,
    pad: int = 0,
) -> np.ndarray:
    """Fractal noise with radially integrated spectrum E(k) ∝ k^−β between two wavelengths.

    Parameters
    ----------
    rng : Generator
    shape : (ny, nx)
    dy_km, dx_km : float
        Grid spacing, km.
    lam_max_km : float
        Longest wavelength kept (soft high-pass 1 − exp(−(kλ)⁴)), km.
    lam_min_km : float, optional
        Shortest wavelength kept (soft low-pass exp(−(kλ)⁴/2)); default up to the Nyquist.
    beta : float
        Spectral exponent (2-D density ∝ k^−(β+1)).
    lam_ref_km : float, optional
        Normalise so that the wavelengths ≥ ``lam_ref_km`` carry unit variance; the physical
        spectral density is then the same on grids of any resolution (finer grids only add small
        scales). Default: the whole field has unit variance.
    pad : int
        Cells of padding on each side (removes the FFT's periodic wrap-around).

    Returns
    -------
    ndarray of float32, ``shape``
    """
    big = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    ky = np.fft.fftfreq(big[0], d=dy_km)[:, None]
    kx = np.fft.rfftfreq(big[1], d=dx_km)[None, :]
    k = np.sqrt(ky * ky + kx * kx)
    k[0, 0] = 1.0
    amp = k ** (-(beta + 1.0) / 2.0) * np.sqrt(-np.expm1(-((k * lam_max_km) ** 4)))
    if lam_min_km is not None:
        amp *= np.exp(-0.5 * (k * lam_min_km) ** 4)
    amp[0, 0] = 0.0
    weight = np.full(kx.shape, 2.0)
    weight[0, 0] = 1.0
    if big[1] % 2 == 0:
        weight[0, -1] = 1.0
    power = amp * amp * weight
    if lam_ref_km is not None:
        power = np.where(k <= 1.0 / lam_ref_km, power, 0.0)
    var = float(power.sum()) / (big[0] * big[1])
    noise = np.fft.rfft2(rng.standard_normal(big))
    noise *= amp
    field = np.fft.irfft2(noise, s=big)[pad : pad + shape[0], pad : pad + shape[1]]
    return (field / np.sqrt(max(var, 1e-300))).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# the config-independent large-scale DEM
# ---------------------------------------------------------------------------------------------
def large_scale_dem(seed: int) -> LargeScaleDEM:
    """The config-independent DEM on the 1/64° lattice of the study box (cached per seed).

    Skeleton (deterministic) + large-scale fractal relief (25–150 km, ``rng_for(seed,
    "dem_large")`` on the 0.0625° lattice) + town anchoring + lakes (synthetic ones from
    ``rng_for(seed, "lakes")``). Arrays are read-only.

    Notes
    -----
    Spec §1 (large-scale random fields on the fixed 0.0625° lattice) and §3 (DEM skeleton).
    """
    return _large_scale_dem(check_seed(seed))


@functools.lru_cache(maxsize=4)
def _large_scale_dem(seed: int) -> LargeScaleDEM:
    sk = _skeleton()
    grid, x, y = sk.grid, sk.x, sk.y
    coarse = lattice_grid(0.0625, margin_cells=8)
    dy = np.deg2rad(coarse.dlat) * EARTH_RADIUS_M / 1000.0
    dx = np.deg2rad(coarse.dlon) * EARTH_RADIUS_M / 1000.0 * np.cos(np.deg2rad(35.5))
    large = band_noise(rng_for(seed, "dem_large"), coarse.shape, dy, dx, _LMAX_KM, _SPLIT_KM, pad=24)
    z = sk.z_ridges + sk.rms_large * spline_to_grid(large, coarse, grid.lat, grid.lon)
    for win, g, floor, fill in sk.lowering:  # basins and playas are filled up to their floor
        zw = np.maximum(z[win], np.where(g > 0.02, floor, -np.inf)) if fill else z[win]
        z[win] = zw - g * np.maximum(zw - floor, 0.0)
    z += _town_correction(grid, z, x, y)
    lakes = [Lake(*row) for row in _LAKES] + _synthetic_lakes(seed, grid, z, sk.ridge_w)
    flat_w = sk.flat_w.copy()
    for lk in lakes:
        win = _window(grid, np.array([lk.lat]), np.array([lk.lon]), 1.7 * lk.a_km + 3.0)
        r = ellipse_radius(x[win], y[win], lk.lat, lk.lon, lk.a_km, lk.b_km, lk.angle_deg)
        z[win] += (1.0 - _smoothstep(r, 1.0, 1.6)) * (lk.level - z[win])
        flat_w[win] = np.maximum(flat_w[win], 1.0 - _smoothstep(r, 0.9, 1.4))
    rms_out = sk.rms_fine * (1.0 - 0.85 * np.clip(flat_w - sk.flat_w, 0.0, 1.0))
    tl = np.array([v[0] for v in TOWNS.values()])
    tn = np.array([v[1] for v in TOWNS.values()])
    tx, ty = xy_km(tl, tn)
    for k in range(tl.size):  # settlements sit on smooth ground
        win = _window(grid, tl[k : k + 1], tn[k : k + 1], 25.0)
        rms_out[win] *= 1.0 - 0.85 * np.exp(-((x[win] - tx[k]) ** 2 + (y[win] - ty[k]) ** 2) / 36.0)
    for a in (z, rms_out, flat_w):
        a.setflags(write=False)
    return LargeScaleDEM(grid, z, rms_out, sk.ridge_w, flat_w, sk.qaidam, tuple(lakes))


# ---------------------------------------------------------------------------------------------
# slope, aspect, TWI
# ---------------------------------------------------------------------------------------------
def d8_twi(elevation: np.ndarray, slope_deg: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Topographic wetness index ln(a / tan β) with D8 specific contributing area.

    Each pixel drains to its steepest strictly lower neighbour (metric distances); pixels without
    one are sinks. The accumulation solves (I − Mᵀ)·A = cell area with the D8 receiver matrix M,
    which is triangular once pixels are ordered by decreasing elevation (one sparse triangular
    solve, no loop over pixels). a = A / √(cell area).

    Returns
    -------
    twi : ndarray (lat, lon) float32, 1
    area : ndarray (lat, lon) float64, m2
        Upslope contributing area including the pixel itself.
    """
    z = np.asarray(elevation, dtype=np.float64)
    dx, dy = metric_spacing(lat, lon, z.shape)
    ny, nx = z.shape
    zp = np.pad(z, 1, mode="constant", constant_values=np.inf)
    best = np.zeros(z.shape)
    recv = np.full(z.shape, -1, dtype=np.int64)
    ii, jj = np.indices(z.shape)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di == 0 and dj == 0:
                continue
            dist = np.hypot(di * dy, dj * dx)[:, None]
            drop = (z - zp[1 + di : 1 + di + ny, 1 + dj : 1 + dj + nx]) / dist
            better = drop > best
            best = np.where(better, drop, best)
            recv = np.where(better, (ii + di) * nx + (jj + dj), recv)
    n = z.size
    cell = np.broadcast_to((dx * dy)[:, None], z.shape).ravel()
    order = np.argsort(-z.ravel(), kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    donors = np.flatnonzero(recv.ravel() >= 0)
    m = sp.csr_matrix(
        (np.full(donors.size, -1.0), (rank[recv.ravel()[donors]], rank[donors])), shape=(n, n)
    )
    lower = (sp.identity(n, format="csr") + m).tocsr()
    acc = spsolve_triangular(lower, cell[order], lower=True, unit_diagonal=True)
    area = np.empty(n)
    area[order] = acc
    area = area.reshape(z.shape)
    spec_area = area / np.sqrt(cell.reshape(z.shape))
    tanb = np.maximum(np.tan(np.deg2rad(np.asarray(slope_deg, dtype=np.float64))), _TAN_MIN)
    return np.log(spec_area / tanb).astype(np.float32), area


# ---------------------------------------------------------------------------------------------
# the terrain dataset
# ---------------------------------------------------------------------------------------------
def _oversampled(fine: Grid) -> Grid:
    d_lat, d_lon = fine.dlat / OVERSAMPLE, fine.dlon / OVERSAMPLE
    s, w = fine.lat[0] - fine.dlat / 2, fine.lon[0] - fine.dlon / 2
    lat = s + (np.arange(fine.lat.size * OVERSAMPLE) + 0.5) * d_lat
    lon = w + (np.arange(fine.lon.size * OVERSAMPLE) + 0.5) * d_lon
    return Grid("oversampled", lat, lon, d_lat, d_lon)


def _burn_lakes(z: np.ndarray, noise: np.ndarray, grid: Grid, lakes: tuple[Lake, ...]) -> np.ndarray:
    """Flatten lakes to their level on the oversampled grid (noisy shores); return the water mask."""
    water = np.zeros(z.shape, dtype=bool)
    for lk in lakes:
        win = _window(grid, np.array([lk.lat]), np.array([lk.lon]), 1.5 * lk.a_km + 2.0)
        if win[0].stop <= win[0].start or win[1].stop <= win[1].start:
            continue
        la, lo = np.meshgrid(grid.lat[win[0]], grid.lon[win[1]], indexing="ij")
        r = ellipse_radius(*xy_km(la, lo), lk.lat, lk.lon, lk.a_km, lk.b_km, lk.angle_deg)
        inside = r * (1.0 + 0.12 * noise[win]) < 1.0
        zw = z[win]
        zw[inside] = lk.level
        shore = ~inside & (r < 1.5)
        zw[shore] = np.maximum(zw[shore], lk.level + 0.5)
        water[win] |= inside
    return water


def make_terrain(cfg: ScenarioConfig, seed: int) -> xr.Dataset:
    """Elevation, SLOPE, aspect, TWI (and lake water fraction) on the fine grid.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
        Scenario seed; large scales use ``rng_for(seed, "dem_large")`` on the fixed lattice,
        fine relief ``rng_for(seed, "dem_fine")`` on the oversampled grid.

    Returns
    -------
    xr.Dataset (lat, lon)
        ``elevation`` (m, block mean of the 3× DEM), ``slope`` (degree, block mean of the 3×
        slope), ``aspect`` (degree, from the block-mean gradient), ``twi`` (1) and
        ``water_fraction`` (1, share of oversampled lake pixels).

    Notes
    -----
    Spec §3. SLOPE uses metric spacing on the oversampled grid (:func:`slope_aspect`). TWI is
    computed on the *fine* grid (D8 on the block-mean DEM, tan β from the block-mean SLOPE)
    rather than on the oversampled one, for speed: the full config would otherwise need a
    12.6 M-node solve.
    """
    seed = check_seed(seed)
    fine = fine_grid(cfg)
    osg = _oversampled(fine)
    big = large_scale_dem(seed)
    z = spline_to_grid(big.elevation, big.grid, osg.lat, osg.lon)
    rms = np.maximum(spline_to_grid(big.rms_fine, big.grid, osg.lat, osg.lon), 0.0)
    dy = np.deg2rad(osg.dlat) * EARTH_RADIUS_M / 1000.0
    dx = np.deg2rad(osg.dlon) * EARTH_RADIUS_M / 1000.0 * np.cos(np.deg2rad(osg.lat.mean()))
    noise = band_noise(rng_for(seed, "dem_fine"), osg.shape, dy, dx, _SPLIT_KM, None, lam_ref_km=2.0)
    z += rms * noise
    del rms
    high = z > _Z_SOFTCAP  # glacial "buzz-saw": compress summits above 6000 m (max ≈ 6900 m)
    z[high] = _Z_SOFTCAP + 900.0 * np.tanh((z[high] - _Z_SOFTCAP) / 900.0)
    water = _burn_lakes(z, noise, osg, big.lakes)
    del noise
    gx, gy = gradient_metric(z, osg.lat, osg.lon)
    slope = block_mean(np.degrees(np.arctan(np.hypot(gx, gy))), OVERSAMPLE, OVERSAMPLE).astype(np.float32)
    aspect = aspect_from_gradient(block_mean(gx, OVERSAMPLE, OVERSAMPLE), block_mean(gy, OVERSAMPLE, OVERSAMPLE))
    del gx, gy
    elevation = block_mean(z.astype(np.float64), OVERSAMPLE, OVERSAMPLE).astype(np.float32)
    water_fraction = block_mean(water.astype(np.float32), OVERSAMPLE, OVERSAMPLE)
    del z, water
    twi, _ = d8_twi(elevation, slope, fine.lat, fine.lon)
    dims = (LAT, LON)
    ds = xr.Dataset(
        {
            "elevation": (dims, elevation, cf_attrs("elevation", cell_methods="area: mean (3x3 oversampled DEM)")),
            "slope": (dims, slope, cf_attrs("slope", cell_methods="area: mean (slope of the 3x3 oversampled DEM)")),
            "aspect": (dims, aspect, cf_attrs("aspect", comment="0 where flat; from the block-mean gradient")),
            "twi": (dims, twi, {"units": "1", "long_name": "topographic wetness index ln(a / tan(beta)), D8 on the fine grid"}),
            "water_fraction": (dims, water_fraction, cf_attrs("fraction", long_name="open-water (lake) fraction of the pixel")),
        },
        coords=fine.coords(),
        attrs={"config": cfg.name, "seed": seed, "title": "synthetic Qinghai terrain (spec §3)"},
    )
    return ds
