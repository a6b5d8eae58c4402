"""C-band (ASCAT) backscatter: water-cloud model with an arid subsurface-scattering term.

σ⁰ is returned in LINEAR units (m2 m-2) so that footprints are aggregated linearly;
:func:`to_db` / :func:`from_db` convert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..exceptions import ConfigError, DataError
from . import classes as lc
from .dielectric import THETA_LIQUID_FROZEN

__all__ = [
    "WCM_A",
    "WCM_B",
    "WCM_D",
    "C_LC_DB",
    "C_SAND_DB",
    "S_MAX",
    "K_S",
    "WATER_DB",
    "sigma0_water_cloud",
    "to_db",
    "from_db",
]

#: vegetation backscatter A (linear, per kg m-2) and attenuation B (m2 kg-1) [A]
WCM_A, WCM_B = 0.05, 0.25
#: soil sensitivity D, dB per m3 m-3 [A]
WCM_D = 17.0
#: σ⁰_soil intercept C_lc in dB at θ = 0 per land cover [A]; BARREN is graded by sand fraction
C_LC_DB: dict[int, float] = {
    lc.WATER: -18.0, lc.PLAYA: -18.0, lc.BARREN: -18.0, lc.SNOW_ICE: -18.0,
    lc.DESERT_STEPPE: -18.0, lc.ALPINE_STEPPE: -17.0, lc.MEADOW: -16.0, lc.FOREST: -16.0,
    lc.CROPLAND: -16.0,
}
#: BARREN intercept: gobi (sand ≤ 0.6) → −18 dB, dune sand (sand ≥ 0.85) → −20 dB [A]
C_SAND_DB = (-18.0, -20.0)
_SAND_GOBI, _SAND_DUNE = 0.60, 0.85
#: subsurface term S_max (linear) and decay k_s (per m3 m-3) on sand/gravel desert [A]
S_MAX, K_S = 0.015, 40.0
#: open-water σ⁰ at 40° VV, dB: a fixed moderate wind (≈ 5 m s-1, azimuth-averaged) [A]
WATER_DB = -19.0


def _table(values: Mapping[int, float]) -> np.ndarray:
    arr = np.full(max(lc.LAND_COVER) + 1, np.nan, dtype=np.float32)
    for code, v in values.items():
        arr[code] = v
    return arr


def to_db(sigma0: ArrayLike) -> np.ndarray:
    """Linear σ⁰ → dB (10 log10); values ≤ 0 give NaN."""
    x = np.asarray(sigma0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, 10.0 * np.log10(np.where(x > 0, x, 1)), np.nan).astype(
            np.result_type(x.dtype, np.float32))


def from_db(sigma0_db: ArrayLike) -> np.ndarray:
    """dB → linear σ⁰ (10^(dB/10))."""
    x = np.asarray(sigma0_db)
    return np.power(np.asarray(10.0, dtype=np.result_type(x.dtype, np.float32)), x / 10)


def sigma0_water_cloud(
    state: Mapping[str, ArrayLike], static: Mapping[str, Any] | Any, incidence_deg: float = 40.0, *,
    water_db: float = WATER_DB,
) -> np.ndarray:
    """VV backscatter of every fine pixel (ASCAT, normalised to 40°), linear units.

    Parameters
    ----------
    state : mapping (lat, lon)
        ``theta`` (m3 m-3), ``vwc`` (kg m-2), ``frozen`` (bool).
    static : xr.Dataset or mapping (lat, lon)
        ``land_cover`` (class codes), ``water_fraction`` (1), ``sand`` (fraction 0–1).
    incidence_deg : float, degree
    water_db : float, dB, keyword-only
        σ⁰ of open water, mixed in linearly by ``water_fraction``.

    Returns
    -------
    ndarray of float32 (lat, lon), m2 m-2 (linear σ⁰)

    Notes
    -----
    Spec §8 (Attema & Ulaby 1978 [S] + Wagner et al. 2022 subsurface term [S], tuned values [A]):

    .. math::

        \\sigma^0 = A V\\cos\\theta\\,(1 - \\gamma^2) + \\gamma^2(\\sigma^0_{soil} + \\sigma^0_{sub}),
        \\quad \\gamma^2 = \\exp(-2 B V / \\cos\\theta)

        \\sigma^0_{soil}[dB] = C_{lc} + D\\,\\theta,\\quad
        \\sigma^0_{sub} = S_{max} \\exp(-k_s \\theta)\\ \\text{(BARREN only)}

    with V = VWC, A = 0.05, B = 0.25 m2 kg-1, D = 17 dB, S_max = 0.015, k_s = 40; C_lc from
    :data:`C_LC_DB`, BARREN graded from −18 dB (gobi, sand ≤ 0.6) to −20 dB (sand ≥ 0.85).
    Between θ ≈ 0.02 and 0.07 the subsurface term makes desert σ⁰ *fall* as it wets.
    Frozen soil uses its liquid water only, min(θ, 0.04). Open water (wind-dependent in
    reality) is a constant ``water_db`` mixed linearly by the water fraction; such pixels are
    flagged downstream. Snow is not modelled (masked by flags).
    """
    need_state, need_static = ("theta", "vwc", "frozen"), ("land_cover", "water_fraction", "sand")
    for obj, keys, what in ((state, need_state, "state"), (static, need_static, "static")):
        missing = [k for k in keys if k not in obj]
        if missing:
            raise DataError(f"{what} lacks {missing}; expected at least {list(keys)}")
    if not 0 <= incidence_deg < 90:
        raise ConfigError(f"incidence_deg must be in [0, 90) degree; got {incidence_deg}")
    f32 = np.float32
    theta = np.asarray(state["theta"], dtype=f32)
    frozen = np.asarray(state["frozen"], dtype=bool)
    vwc = np.asarray(state["vwc"], dtype=f32)
    codes = np.asarray(static["land_cover"])
    sand = np.asarray(static["sand"], dtype=f32)
    fw = np.asarray(static["water_fraction"], dtype=f32)
    shapes = {a.shape for a in (theta, frozen, vwc, codes, sand, fw)}
    if len(shapes) != 1:
        raise DataError(f"state and static fields must share one shape; got {sorted(shapes)}")
    if codes.dtype.kind not in "iu" or (codes.size and (codes.min() < 0 or codes.max() > max(lc.LAND_COVER))):
        raise DataError(f"land_cover must hold class codes {sorted(lc.LAND_COVER)}; got dtype "
                        f"{codes.dtype}, range [{codes.min()}, {codes.max()}]")
    c_db = _table(C_LC_DB)[codes]
    if np.isnan(c_db).any():
        bad = sorted(set(np.unique(codes[np.isnan(c_db)]).tolist()))
        raise DataError(f"land_cover has unknown class code(s) {bad}; expected {sorted(lc.LAND_COVER)}")
    barren = codes == lc.BARREN
    grade = np.clip((sand - f32(_SAND_GOBI)) / f32(_SAND_DUNE - _SAND_GOBI), 0, 1)
    c_db = np.where(barren, f32(C_SAND_DB[0]) + f32(C_SAND_DB[1] - C_SAND_DB[0]) * grade, c_db)

    liquid = np.where(frozen, np.minimum(theta, f32(THETA_LIQUID_FROZEN)), theta)
    soil = from_db(c_db + f32(WCM_D) * liquid)
    soil = soil + np.where(barren, f32(S_MAX) * np.exp(f32(-K_S) * liquid), f32(0))
    mu = f32(np.cos(np.deg2rad(incidence_deg)))
    g2 = np.exp(f32(-2 * WCM_B) * vwc / mu)
    sig = f32(WCM_A) * vwc * mu * (1 - g2) + g2 * soil
    sig = (1 - fw) * sig + fw * f32(from_db(water_db))
    return sig.astype(f32, copy=False)
