"""Soil-moisture retrieval products: single-channel τ–ω inversion and ASCAT change detection.

The radiometer retrievals (SMAP, AMSR2, FY3C) invert the same τ–ω model as
:func:`~sm_nb.scenario.radiative.brightness_temperature` — with the product's own imperfect
ancillary inputs supplied by the caller — by a vectorised search in a reflectivity table.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from ..exceptions import ConfigError, DataError
from .dielectric import mironov
from .radiative import N_HQN, Q_CX, Q_L, _is_l_band, fresnel, rough_reflectivity, surface_params

__all__ = ["THETA_MAX", "retrieve_sm", "change_detection_sm"]

#: upper end of the retrieval table, m3 m-3
THETA_MAX = 0.6
_D_THETA = 0.001
_CLAY_STEP = 0.5  # %


@lru_cache(maxsize=32)
def _curve_table(freq_ghz: float, incidence_deg: float, q: float, pol: str) -> np.ndarray:
    """Q-mixed specular reflectivity of ``pol`` on (clay 0–100 % by 0.5, θ 0–0.6 by 0.001)."""
    theta = np.arange(round(THETA_MAX / _D_THETA) + 1) * _D_THETA
    clay = np.arange(round(100 / _CLAY_STEP) + 1) * _CLAY_STEP
    rh, rv = fresnel(mironov(theta[None, :], clay[:, None], freq_ghz), incidence_deg)
    rh, rv = rough_reflectivity(rh, rv, 0.0, q, N_HQN, 0.0)
    tab = rh if pol == "h" else rv
    if np.any(np.diff(tab, axis=1) <= 0):  # the search relies on it
        raise DataError(f"reflectivity is not increasing in theta at {freq_ghz} GHz, {incidence_deg}°")
    return tab


def _pick(name: str, given: ArrayLike | None, table: np.ndarray | None) -> np.ndarray:
    if given is not None:
        return np.asarray(given, dtype=np.float64)
    if table is None:
        raise ConfigError(f"retrieve_sm needs {name!r} (or land_cover to look it up); got None")
    return table.astype(np.float64)


def retrieve_sm(
    tb: ArrayLike, pol: str, freq_ghz: float, incidence_deg: float, t_eff: ArrayLike, vwc: ArrayLike,
    clay_pct: ArrayLike, land_cover: ArrayLike | None = None, h: ArrayLike | None = None,
    omega: ArrayLike | None = None, b: ArrayLike | None = None,
    bounds: tuple[float, float] = (0.02, 0.5), *, q: float | None = None,
    t_canopy: ArrayLike | None = None,
) -> np.ndarray:
    """Single-channel τ–ω inversion of brightness temperature for soil moisture.

    Parameters
    ----------
    tb : array_like, K
        Brightness temperature of polarisation ``pol``.
    pol : {"h", "v"}
    freq_ghz : float, GHz
    incidence_deg : float, degree
    t_eff : array_like, K
        Effective soil temperature assumed by the product.
    vwc : array_like, kg m-2
        Vegetation water content assumed by the product.
    clay_pct : array_like, %
        Clay content in percent (0–100).
    land_cover : array_like of int, optional
        Class codes; supply h, ω and b from the band tables of
        :func:`~sm_nb.scenario.radiative.surface_params`.
    h, omega, b : array_like, optional
        Override the land-cover values (required when ``land_cover`` is None).
    bounds : (float, float), m3 m-3
        Retrieval range; Tb implying θ outside it returns NaN (no clipping).
    q : float, optional, keyword-only
        HQN Q; default the band value (0 at L, 0.15 at C/X).
    t_canopy : array_like, K, optional, keyword-only
        Canopy temperature; default ``t_eff`` (single-temperature assumption of SMAP SCA).

    Returns
    -------
    ndarray of float32, m3 m-3
        Broadcast shape of the inputs; NaN where any input is NaN, the Tb is non-physical
        (implied reflectivity outside [0, 1), no soil signal left under the canopy) or
        outside ``bounds``.

    Notes
    -----
    Spec §9 (SMAP L3: V-pol at 40°; AMSR2/FY3C: H-pol at 10.65 GHz). The τ–ω equation
    (spec §8) is linear in the rough reflectivity r*, so
    :math:`r^* = (T_e\\gamma + T_c(1-\\omega)(1-\\gamma) - T_B) / (T_e\\gamma - T_c(1-\\omega)(1-\\gamma)\\gamma)`,
    :math:`\\gamma = \\exp(-b\\,VWC/\\cos\\theta)`; then
    :math:`r_{spec} = r^* \\exp(h\\cos^2\\theta)` is found on the θ axis (step 0.001) of a
    Mironov–Fresnel table of :math:`(1-Q)r_p + Q r_q` (clay step 0.5 %, interpolated) by a
    vectorised bisection (reflectivity increases monotonically with θ), followed by linear
    interpolation inside the bracketing step. No terrain, water or frozen-soil correction.
    """
    p = str(pol).lower()
    if p not in ("h", "v"):
        raise ConfigError(f"pol must be 'h' or 'v'; got {pol!r}")
    lo_b, hi_b = (float(x) for x in bounds)
    if not 0 <= lo_b < hi_b <= THETA_MAX:
        raise ConfigError(f"bounds must satisfy 0 <= low < high <= {THETA_MAX} m3 m-3; got {bounds}")
    if not 0 <= incidence_deg < 90:
        raise ConfigError(f"incidence_deg must be in [0, 90) degree; got {incidence_deg}")
    l_band = _is_l_band(float(freq_ghz))
    q_ = (Q_L if l_band else Q_CX) if q is None else float(q)
    par = surface_params(land_cover, freq_ghz) if land_cover is not None else None
    h_ = _pick("h", h, par.h if par else None)
    om = _pick("omega", omega, par.omega if par else None)
    b_ = _pick("b", b, par.b if par else None)

    tb_, te, v, cl = (np.asarray(x, dtype=np.float64) for x in (tb, t_eff, vwc, clay_pct))
    tc = te if t_canopy is None else np.asarray(t_canopy, dtype=np.float64)
    tb_, te, tc, v, cl, h_, om, b_ = np.broadcast_arrays(tb_, te, tc, v, cl, h_, om, b_)
    if np.any(cl < 0) or np.any(cl > 100):
        raise DataError(f"clay_pct must be in 0–100 % (percent, not fraction); got range "
                        f"[{np.nanmin(cl):.4g}, {np.nanmax(cl):.4g}]")

    mu = np.cos(np.deg2rad(incidence_deg))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        gamma = np.exp(-b_ * v / mu)
        veg = tc * (1 - om) * (1 - gamma)
        slope = te * gamma - veg * gamma  # −dT_B/dr*, > 0 while soil is visible
        r_rough = (te * gamma + veg - tb_) / slope
        target = r_rough * np.exp(h_ * mu**N_HQN)
    ok = (np.isfinite(target) & (slope > 1e-3) & (tb_ > 0) & (te > 0)
          & (r_rough >= 0) & (r_rough < 1) & np.isfinite(cl))
    out = np.full(tb_.shape, np.nan, dtype=np.float32)
    if not ok.any():
        return out

    tab = _curve_table(float(freq_ghz), float(incidence_deg), q_, p)
    n_th = tab.shape[1]
    flat = tab.ravel()
    tgt = target[ok]
    ci = cl[ok] / _CLAY_STEP
    ic = np.minimum(ci.astype(np.int64), tab.shape[0] - 2)
    wc = ci - ic
    row = ic * n_th

    def curve(j: np.ndarray | int) -> np.ndarray:
        a = np.take(flat, row + j)
        return a + (np.take(flat, row + n_th + j) - a) * wc

    j_lo = int(np.floor(lo_b / _D_THETA + 1e-9))
    j_hi = int(np.ceil(hi_b / _D_THETA - 1e-9))
    inside = (tgt >= curve(j_lo)) & (tgt <= curve(j_hi))
    lo = np.full(tgt.shape, j_lo, dtype=np.int64)
    hi = np.full(tgt.shape, j_hi, dtype=np.int64)
    for _ in range(int(np.ceil(np.log2(max(j_hi - j_lo, 2))))):
        mid = (lo + hi) // 2
        up = curve(mid) <= tgt
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    v_lo, v_hi = curve(lo), curve(hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(v_hi > v_lo, (tgt - v_lo) / (v_hi - v_lo), 0.0)
    theta = (lo + np.clip(frac, 0, 1) * (hi - lo)) * _D_THETA
    theta = np.where(inside & (theta >= lo_b - 1e-12) & (theta <= hi_b + 1e-12), theta, np.nan)
    out[ok] = theta
    return out


def change_detection_sm(
    sigma40_db: ArrayLike, porosity: ArrayLike, dim_axis: int = 0, *, min_count: int = 10,
) -> np.ndarray:
    """ASCAT-style change-detection soil moisture θ = m_s · θ_s, m3 m-3.

    Parameters
    ----------
    sigma40_db : array_like, dB
        σ⁰ normalised to 40°, with time along ``dim_axis``; NaN = no observation.
    porosity : array_like, m3 m-3
        θ_s, broadcastable to the array without ``dim_axis``.
    dim_axis : int
        Time axis of ``sigma40_db``.
    min_count : int, keyword-only
        Cells with fewer valid observations return NaN.

    Returns
    -------
    ndarray of float64, same shape as ``sigma40_db``

    Notes
    -----
    Spec §9 (Wagner et al. 1999 TU Wien change detection): per cell
    :math:`m_s = (\\sigma_{40} - \\sigma_{dry}) / (\\sigma_{wet} - \\sigma_{dry})` with
    σ_dry, σ_wet the 2nd and 98th percentile of the cell's series, clipped to [0, 1]
    (saturation 0–100 %), then θ = m_s θ_s. Cells with σ_wet = σ_dry return NaN.
    """
    s = np.asarray(sigma40_db, dtype=np.float64)
    if s.ndim == 0:
        raise DataError("sigma40_db must have a time axis; got a scalar")
    if not -s.ndim <= dim_axis < s.ndim:
        raise ConfigError(f"dim_axis={dim_axis} out of range for an array of {s.ndim} dims")
    axis = dim_axis % s.ndim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells → NaN percentiles
        dry, wet = np.nanpercentile(s, [2.0, 98.0], axis=axis, keepdims=True)
    count = np.sum(np.isfinite(s), axis=axis, keepdims=True)
    span = wet - dry
    valid = (count >= min_count) & (span > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ms = np.clip((s - dry) / np.where(valid, span, np.nan), 0.0, 1.0)
    try:
        por = np.expand_dims(np.asarray(porosity, dtype=np.float64), axis) if np.ndim(porosity) else porosity
        return ms * por
    except ValueError as err:
        raise DataError(f"porosity of shape {np.shape(porosity)} does not broadcast against "
                        f"sigma40_db {s.shape} without axis {axis}") from err
