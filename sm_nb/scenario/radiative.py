"""Passive microwave forward model: Fresnel, HQN roughness, τ–ω vegetation, T_eff, terrain, lakes.

:func:`brightness_temperature` maps a surface state (dict of fine-grid arrays, see
``contracts.md``) and the static fields to H/V brightness temperatures on the fine grid. The soil
reflectivity comes from a :class:`ReflectivityLUT` (built once per frequency, cached) so that one
channel pair on the 1.4 M pixel ``full`` grid takes well under a second.

The module stays whole (a little over 500 lines) because it is one concept, the τ–ω emission
model: the parameter tables, the emission equations, the LUT that tabulates exactly those
equations and the block loop that chains them must change together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..exceptions import ConfigError, DataError
from . import classes as lc
from .dielectric import THETA_LIQUID_FROZEN, _mironov, mironov, mironov_mvt, water_permittivity

__all__ = [
    "H_L", "OMEGA_L", "OMEGA_CX", "B_L", "H_CX_SCALE", "Q_L", "Q_CX", "N_HQN", "B_FREQ_EXPONENT",
    "F_REF_GHZ", "SurfaceParams", "surface_params", "parameters_for", "choudhury_c", "fresnel",
    "rough_reflectivity", "tau_omega", "effective_temperature", "ReflectivityLUT", "get_lut",
    "brightness_temperature",
]

# ---- per-land-cover parameters (spec §8) ------------------------------------------------
#: L-band roughness h (SMAP, Wigneron et al. 2017 Table 2 via the IGBP class of each code) [S]
H_L: dict[int, float] = {
    lc.WATER: 0.0, lc.PLAYA: 0.150, lc.BARREN: 0.150, lc.SNOW_ICE: 0.0, lc.DESERT_STEPPE: 0.110,
    lc.ALPINE_STEPPE: 0.156, lc.MEADOW: 0.156, lc.FOREST: 0.160, lc.CROPLAND: 0.108,
}
#: L-band single-scattering albedo ω (SMAP table: 0.05 vegetated, 0 barren/water/snow) [S]
OMEGA_L: dict[int, float] = {
    lc.WATER: 0.0, lc.PLAYA: 0.0, lc.BARREN: 0.0, lc.SNOW_ICE: 0.0, lc.DESERT_STEPPE: 0.05,
    lc.ALPINE_STEPPE: 0.05, lc.MEADOW: 0.05, lc.FOREST: 0.05, lc.CROPLAND: 0.05,
}
#: C/X-band ω (0.06 vegetated) [A]
OMEGA_CX: dict[int, float] = {k: (0.06 if v > 0 else 0.0) for k, v in OMEGA_L.items()}
#: L-band b in τ = b·VWC, m2 kg-1 [A; SMAP uses ≈ 0.1]
B_L: dict[int, float] = {k: (0.0 if k == lc.WATER else 0.10) for k in H_L}
#: h multiplier at C/X band [A] (tunable 1–3)
H_CX_SCALE = 1.5
#: polarisation mixing Q at L and C/X band [A]
Q_L, Q_CX = 0.0, 0.15
#: exponent N of cos^N θ in HQN (N_H = N_V = 2) [S]
N_HQN = 2.0
#: b(f) = b_L (f / F_REF_GHZ) ** B_FREQ_EXPONENT [S: Schmugge & Jackson 1992]
B_FREQ_EXPONENT = 1.0
F_REF_GHZ = 1.41
_L_BAND_MAX_GHZ = 3.0
_MU_MIN = float(np.cos(np.deg2rad(89.0)))  # local incidence is clipped to 89°


def _table(values: Mapping[int, float]) -> np.ndarray:
    arr = np.full(max(lc.LAND_COVER) + 1, np.nan, dtype=np.float32)
    for code, v in values.items():
        arr[code] = v
    return arr


@dataclass(frozen=True)
class SurfaceParams:
    """Band parameters of the τ–ω/HQN model; arrays follow the land-cover array (dimensionless)."""

    h: np.ndarray
    q: float
    n: float
    omega: np.ndarray
    b: np.ndarray


def _is_l_band(freq_ghz: float) -> bool:
    if not np.isfinite(freq_ghz) or freq_ghz <= 0:
        raise ConfigError(f"freq_ghz must be > 0 GHz; got {freq_ghz!r}")
    return freq_ghz < _L_BAND_MAX_GHZ


def surface_params(land_cover: ArrayLike, freq_ghz: float) -> SurfaceParams:
    """h, Q, N, ω and b of every pixel from its land-cover code (:mod:`~sm_nb.scenario.classes`).

    Notes
    -----
    Spec §8: L band uses :data:`H_L`, Q = 0, :data:`OMEGA_L`; above 3 GHz (C/X) h × 1.5,
    Q = 0.15, ω = 0.06 on vegetated classes; b(f) = b_L (f/1.41 GHz)^1 everywhere.
    """
    codes = np.asarray(land_cover)
    if codes.dtype.kind not in "iu":
        raise DataError(f"land_cover must hold integer class codes; got dtype {codes.dtype}")
    known = sorted(lc.LAND_COVER)
    h_tab = _table(H_L)
    if codes.size and (codes.min() < 0 or codes.max() >= h_tab.size):
        bad = sorted(set(np.unique(codes).tolist()) - set(known))
        raise DataError(f"land_cover has unknown class code(s) {bad}; expected codes {known}")
    l_band = _is_l_band(float(freq_ghz))
    h = h_tab[codes]
    if np.isnan(h).any():
        bad = sorted(set(np.unique(codes[np.isnan(h)]).tolist()))
        raise DataError(f"land_cover has unknown class code(s) {bad}; expected codes {known}")
    if not l_band:
        h *= np.float32(H_CX_SCALE)
    omega = _table(OMEGA_L if l_band else OMEGA_CX)[codes]
    b = _table(B_L)[codes] * np.float32((freq_ghz / F_REF_GHZ) ** B_FREQ_EXPONENT)
    return SurfaceParams(h=h, q=Q_L if l_band else Q_CX, n=N_HQN, omega=omega, b=b)


def parameters_for(land_cover: ArrayLike, freq_ghz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, ω, b) arrays of :func:`surface_params` — the per-pixel inputs of :func:`~.retrieval.retrieve_sm`."""
    par = surface_params(land_cover, freq_ghz)
    return par.h, par.omega, par.b


# ---- surface emission --------------------------------------------------------------------
def fresnel(eps: ArrayLike, incidence_deg: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Specular (Fresnel) power reflectivities of a half space.

    Parameters
    ----------
    eps : array_like of complex
        Relative permittivity ``eps' + j eps''``.
    incidence_deg : array_like, degree
        Incidence angle (0 = nadir).

    Returns
    -------
    r_h, r_v : ndarray, 1

    Notes
    -----
    Spec §8 [S]:
    :math:`r_H = |(\\cos\\theta - \\sqrt{\\varepsilon - \\sin^2\\theta}) / (\\cos\\theta + \\sqrt{\\varepsilon - \\sin^2\\theta})|^2`,
    :math:`r_V = |(\\varepsilon\\cos\\theta - \\sqrt{\\cdot}) / (\\varepsilon\\cos\\theta + \\sqrt{\\cdot})|^2`.
    """
    e = np.asarray(eps, dtype=np.complex128)
    th = np.deg2rad(np.asarray(incidence_deg, dtype=np.float64))
    ct = np.cos(th)
    root = np.sqrt(e - np.sin(th) ** 2)
    with np.errstate(invalid="ignore"):  # NaN ε (no data) → NaN, silently
        r_h = np.abs((ct - root) / (ct + root)) ** 2
        r_v = np.abs((e * ct - root) / (e * ct + root)) ** 2
    return r_h, r_v


def rough_reflectivity(
    r_h: ArrayLike, r_v: ArrayLike, h: ArrayLike, q: ArrayLike, n: ArrayLike, incidence_deg: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """HQN rough-surface reflectivities.

    Notes
    -----
    Spec §8 [S] (CMEM ``rghref_sub.F90``):
    :math:`r^*_p = [(1 - Q) r_p + Q r_q] \\exp(-h \\cos^N\\theta)`.
    """
    rh, rv = np.asarray(r_h), np.asarray(r_v)
    att = np.exp(-np.asarray(h) * np.cos(np.deg2rad(incidence_deg)) ** np.asarray(n))
    q = np.asarray(q)
    return ((1 - q) * rh + q * rv) * att, ((1 - q) * rv + q * rh) * att


def tau_omega(
    r_p: ArrayLike, t_eff: ArrayLike, t_canopy: ArrayLike, tau: ArrayLike, omega: ArrayLike,
    incidence_deg: ArrayLike,
) -> np.ndarray:
    """Zeroth-order τ–ω brightness temperature, K.

    Notes
    -----
    Spec §8 [S]: :math:`T_B = T_{eff}(1 - r)\\gamma + T_c(1 - \\omega)(1 - \\gamma)(1 + r\\gamma)`,
    :math:`\\gamma = \\exp(-\\tau/\\cos\\theta)`. No sky term (2.7 K, negligible).
    """
    r = np.asarray(r_p)
    gamma = np.exp(-np.asarray(tau) / np.cos(np.deg2rad(incidence_deg)))
    return t_eff * (1 - r) * gamma + t_canopy * (1 - np.asarray(omega)) * (1 - gamma) * (1 + r * gamma)


def choudhury_c(freq_ghz: float) -> float:
    """Choudhury et al. (1982) T_eff coefficient C for the wavelength of ``freq_ghz``.

    Notes
    -----
    CMEM ``teff_sub.F90`` table [S]: λ < 4.4 cm → 0.802, < 8.5 → 0.667, < 16 → 0.480,
    < 35 → 0.246, else 0.084 (1.41 GHz → 0.246; 6.9–10.65 GHz → 0.802).
    """
    _is_l_band(float(freq_ghz))
    lam_cm = 29.9792458 / freq_ghz
    for edge, c in ((4.4, 0.802), (8.5, 0.667), (16.0, 0.480), (35.0, 0.246)):
        if lam_cm < edge:
            return c
    return 0.084


def effective_temperature(
    t_2p5: ArrayLike, t_deep: ArrayLike, freq_ghz: float, theta: ArrayLike | None = None,
    method: str = "choudhury",
) -> np.ndarray:
    """Soil effective temperature T_eff = T_∞ + C (T_s − T_∞), K.

    Parameters
    ----------
    t_2p5 : array_like, K
        Soil temperature at 2.5 cm (T_s).
    t_deep : array_like, K
        Deep soil temperature T_∞ (3-day running mean).
    freq_ghz : float, GHz
    theta : array_like, m3 m-3, optional
        Surface soil moisture; required by ``method="wigneron"``.
    method : {"choudhury", "wigneron"}

    Notes
    -----
    Spec §7 [S]: Choudhury (1982) C from :func:`choudhury_c`; Wigneron et al. (2001)
    :math:`C = \\max(0.001, (\\theta/w_0)^{b_w})`, w0 = 0.3, b_w = 0.3 (as CMEM; C exceeds 1
    above θ = 0.3).
    """
    ts, td = np.asarray(t_2p5), np.asarray(t_deep)
    if method == "choudhury":
        c = choudhury_c(freq_ghz)
    elif method == "wigneron":
        if theta is None:
            raise ConfigError("effective_temperature(method='wigneron') needs theta (m3 m-3); got None")
        th = np.asarray(theta)
        c = np.maximum(np.float32(0.001), (np.maximum(th, 0) / np.float32(0.3)) ** np.float32(0.3))
    else:
        raise ConfigError(f"method={method!r} unknown; expected one of ['choudhury', 'wigneron']")
    return td + c * (ts - td)


# ---- reflectivity look-up table ----------------------------------------------------------
class ReflectivityLUT:
    """Q-mixed specular soil reflectivities tabulated on (frozen, clay, moisture, local incidence).

    Build once per frequency (and Q), then :meth:`specular` / :meth:`rough` for any number of
    pixels by trilinear interpolation; roughness ``exp(-h cos^N θ)`` is applied analytically
    afterwards since h is a land-cover property.

    Parameters
    ----------
    freq_ghz : float, GHz
    q : float, optional
        HQN polarisation mixing; default the band value (0 at L, 0.15 at C/X).
    n_theta : int
        Moisture steps on [0, theta_max] (spec §8: 601, i.e. 0.001 m3 m-3).
    theta_max : float, m3 m-3
        Largest θ covered.
    clay_step, n_clay : float (%), int
        Clay node spacing and count (default 16 nodes 2.5 % apart covering 0–35 %).
    n_mu : int
        Nodes of the local-incidence axis, uniform in μ = cos θ_loc on [cos 89°, 1].

    Notes
    -----
    Spec §8 ("precompute reflectivity LUTs r_p(θ, clay class, f, incidence), 601 θ steps × 8 clay
    classes"). Mironov's ε has a kink at the bound-water limit m_vt(clay); to keep linear
    interpolation across clay classes exact there, the unfrozen block is tabulated against
    u = θ − m_vt(clay) (the grid extends below 0 by m_vt of the largest clay), the frozen block
    against u = θ (kink at the 0.04 liquid limit), and the clay nodes are offset so that one
    falls on the clay where m_vt = 0.04 (3.71 %, a kink along clay in frozen soil; the node
    below it is at negative clay, evaluated by the same polynomials). The incidence axis is
    uniform in cos θ, which puts nodes where r_V curves (near grazing). Brightness-temperature
    error against direct Mironov + Fresnel: < 0.03 K at θ_loc < 70° (frozen soil < 0.05 K except
    θ < 0.04 with clay < 3.7 %, ≤ 0.13 K), < 0.07 K at 70–80°, up to ≈ 0.6 K (V) beyond 80°.
    Saline pixels and (θ, clay) outside the table are not covered (:meth:`covers`);
    :func:`brightness_temperature` computes those directly.
    """

    def __init__(self, freq_ghz: float, q: float | None = None, n_theta: int = 601,
                 theta_max: float = 0.6, clay_step: float = 2.5, n_clay: int = 16,
                 n_mu: int = 91) -> None:
        if min(n_theta, n_clay, n_mu) < 2 or theta_max <= 0 or clay_step <= 0:
            raise ConfigError(f"ReflectivityLUT needs n_theta, n_clay, n_mu >= 2 and theta_max, "
                              f"clay_step > 0; got n_theta={n_theta}, n_clay={n_clay}, n_mu={n_mu}, "
                              f"theta_max={theta_max}, clay_step={clay_step}")
        self.freq_ghz = float(freq_ghz)
        self.q = float(Q_L if _is_l_band(self.freq_ghz) else Q_CX) if q is None else float(q)
        self.theta_max = float(theta_max)
        self.d_theta = self.theta_max / (n_theta - 1)
        c_kink = (THETA_LIQUID_FROZEN - float(mironov_mvt(0.0))) / float(mironov_mvt(1.0) - mironov_mvt(0.0))
        c0 = c_kink - clay_step * np.ceil(c_kink / clay_step)
        self.clay_pct = c0 + clay_step * np.arange(n_clay, dtype=np.float64)
        if self.clay_pct[-1] > 100:
            raise ConfigError(f"clay nodes exceed 100 %: clay_step={clay_step}, n_clay={n_clay}")
        n_below = int(np.ceil(float(mironov_mvt(self.clay_pct[-1])) / self.d_theta)) + 1
        self.u = self.d_theta * np.arange(-n_below, n_theta)
        self.mu = np.linspace(_MU_MIN, 1.0, n_mu)
        fz = np.array([False, True])[:, None, None, None]
        cl = self.clay_pct[None, :, None, None]
        th = self.u[None, None, :, None] + np.where(fz, 0.0, mironov_mvt(cl))
        eps = _mironov(th, cl, self.freq_ghz * 1e9, np.zeros(()), fz)
        rh, rv = fresnel(eps, np.degrees(np.arccos(self.mu)))
        rh, rv = rough_reflectivity(rh, rv, 0.0, self.q, N_HQN, 0.0)
        # r_h and r_v packed as real and imaginary part: one gather serves both polarisations
        self.table_ = (rh + 1j * rv).astype(np.complex64).ravel()
        self.shape_ = rh.shape

    def __repr__(self) -> str:
        return (f"ReflectivityLUT(freq_ghz={self.freq_ghz}, q={self.q}, theta=0–{self.theta_max:g} "
                f"step {self.d_theta:g}, clay={self.clay_pct[0]:g}–{self.clay_pct[-1]:g} % "
                f"({self.clay_pct.size} nodes), incidence=0–89° ({self.mu.size} nodes in cos), "
                f"frozen/unfrozen; {self.table_.nbytes / 1e6:.1f} MB)")

    def covers(self, theta: np.ndarray, clay_pct: np.ndarray) -> np.ndarray:
        """True where (θ, clay) lie inside the table (NaN θ is not covered)."""
        return ((theta >= 0) & (theta <= self.theta_max)
                & (clay_pct >= max(0.0, self.clay_pct[0])) & (clay_pct <= self.clay_pct[-1]))

    @staticmethod
    def _axis(x: np.ndarray, x0: float, dx: float, n: int) -> tuple[np.ndarray, np.ndarray]:
        u = (x - np.float32(x0)) * np.float32(1.0 / dx)
        np.clip(u, 0, n - 1.001, out=u)
        i = u.astype(np.int32)
        return i, u - i

    def specular(self, theta: ArrayLike, clay_pct: ArrayLike, incidence_deg: ArrayLike,
                 frozen: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Q-mixed specular (h = 0) reflectivities (r_h, r_v) by trilinear interpolation, float32.

        Values outside the table are clamped to its edges; check :meth:`covers` first.
        """
        mu = np.cos(np.deg2rad(np.asarray(incidence_deg, dtype=np.float32)))
        r = self.specular_packed(theta, clay_pct, mu, frozen)
        return np.ascontiguousarray(r.real), np.ascontiguousarray(r.imag)

    def specular_packed(self, theta: ArrayLike, clay_pct: ArrayLike, cos_incidence: ArrayLike,
                        frozen: ArrayLike | None = None) -> np.ndarray:
        """As :meth:`specular` but from cos θ_loc and packed ``r_h + j r_v`` (complex64; fast path)."""
        th = np.asarray(theta, dtype=np.float32)
        shape = np.broadcast_shapes(th.shape, np.shape(clay_pct), np.shape(cos_incidence),
                                    np.shape(frozen) if frozen is not None else ())
        cl = np.broadcast_to(np.asarray(clay_pct, dtype=np.float32), shape)
        mu = np.broadcast_to(np.asarray(cos_incidence, dtype=np.float32), shape)
        shift = np.float32(0.02863) + np.float32(0.30673e-2) * cl  # mironov_mvt
        if frozen is not None:
            fz = np.broadcast_to(np.asarray(frozen, dtype=bool), shape)
            shift = np.where(fz, np.float32(0), shift)
        u = np.nan_to_num(th - shift, nan=0.0)
        _, nc, nu, ni = self.shape_
        ic, wc = self._axis(cl, self.clay_pct[0], self.clay_pct[1] - self.clay_pct[0], nc)
        iu, wu = self._axis(u, self.u[0], self.d_theta, nu)
        ii, wi = self._axis(mu, self.mu[0], self.mu[1] - self.mu[0], ni)
        base = (ic * nu + iu) * ni + ii
        if frozen is not None:
            base += fz.astype(np.int32) * (nc * nu * ni)
        tab = self.table_
        out = None
        for dc, w_c in ((0, None), (nu * ni, wc)):
            acc = None
            for dt in (0, ni):
                k = base + (dc + dt) if dc + dt else base
                lo = np.take(tab, k)
                v = lo + (np.take(tab, k + 1) - lo) * wi
                acc = v if acc is None else acc + (v - acc) * wu
            out = acc if w_c is None else out + (acc - out) * w_c
        return out

    def rough(self, theta: ArrayLike, clay_pct: ArrayLike, incidence_deg: ArrayLike, h: ArrayLike,
              n: float = N_HQN, frozen: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """HQN rough reflectivities (r*_h, r*_v), float32 (see :func:`rough_reflectivity`)."""
        rh, rv = self.specular(theta, clay_pct, incidence_deg, frozen)
        att = np.exp(-np.asarray(h, dtype=np.float32)
                     * np.cos(np.deg2rad(np.asarray(incidence_deg, dtype=np.float32))) ** np.float32(n))
        return rh * att, rv * att


@lru_cache(maxsize=16)
def get_lut(freq_ghz: float, q: float | None = None) -> ReflectivityLUT:
    """The cached default :class:`ReflectivityLUT` for ``freq_ghz`` (first use builds it: ~0.15 s, 17 MB)."""
    return ReflectivityLUT(float(freq_ghz), q)


# ---- top level ---------------------------------------------------------------------------
_STATE_KEYS = ("theta", "t_2p5", "t_deep", "t_canopy", "frozen", "vwc", "t_water")
_STATIC_KEYS = ("land_cover", "water_fraction", "clay", "sigma_sal", "slope", "aspect")
_BLOCK_PX = 1 << 17  # pixels per block of brightness_temperature


def _fields(obj: Mapping[str, Any] | Any, keys: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    missing = [k for k in keys if k not in obj]
    if missing:
        raise DataError(f"{what} lacks {missing}; expected at least {list(keys)}")
    out = {k: np.asarray(obj[k]) for k in keys}
    shape = out[keys[0]].shape
    bad = {k: v.shape for k, v in out.items() if v.shape != shape}
    if bad:
        raise DataError(f"{what} fields must share the shape {shape}; got {bad}")
    return out


def brightness_temperature(
    state: Mapping[str, ArrayLike], static: Mapping[str, Any] | Any, freq_ghz: float,
    incidence_deg: float, look_azimuth_deg: float = 0.0, atmosphere_k: float = 0.0, *,
    lut: ReflectivityLUT | bool = True, teff_method: str = "choudhury",
) -> tuple[np.ndarray, np.ndarray]:
    """H and V brightness temperature of every fine pixel at one overpass, K.

    Parameters
    ----------
    state : mapping of str to ndarray (lat, lon)
        Surface state at the overpass (``contracts.md``): ``theta`` (m3 m-3), ``t_2p5``,
        ``t_deep``, ``t_canopy``, ``t_water`` (K), ``frozen`` (bool), ``vwc`` (kg m-2). Other keys
        (``snow``, ``ndvi`` …) are ignored — snow is masked by the product flags, not here.
    static : xr.Dataset or mapping (lat, lon)
        ``land_cover`` (class codes), ``water_fraction`` (1), ``clay`` (fraction 0–1),
        ``sigma_sal`` (S m-1), ``slope``, ``aspect`` (degree, aspect clockwise from north).
    freq_ghz : float, GHz
    incidence_deg : float, degree
        Nominal incidence angle on a horizontal surface.
    look_azimuth_deg : float, degree
        Horizontal direction in which the sensor looks (from the sensor to the pixel),
        clockwise from north.
    atmosphere_k : float, K
        Upwelling atmospheric emission added to both polarisations (C/X: 1–3 K; L: 0).
    lut : ReflectivityLUT or bool, keyword-only
        ``True`` (default) uses the cached :func:`get_lut`; ``False`` evaluates Mironov and
        Fresnel for every pixel (slow, reference).
    teff_method : {"choudhury", "wigneron"}, keyword-only

    Returns
    -------
    tbh, tbv : ndarray of float32 (lat, lon), K

    Notes
    -----
    Spec §8. Land part: Mironov ε (clay %, salinity, frozen) → Fresnel at the local incidence
    :math:`\\cos\\theta_{loc} = \\cos s\\cos\\theta - \\sin s\\sin\\theta\\cos(a - \\phi)`
    (s slope, a aspect, φ look azimuth; = θ ∓ s in the look plane; clipped to 89°) → HQN with
    land-cover h, Q → τ–ω with τ = b(f)·VWC along the nominal incidence (canopies are
    vertical), T_eff from :func:`effective_temperature`, T_c = ``t_canopy``. Relief
    polarisation mixing [A] :math:`T'_p = (1 - m) T_p + m T_q`, :math:`m = \\sin^2\\psi`,
    :math:`\\psi = s\\,|\\sin(a - \\phi)|`. Lakes (flat, nominal incidence, specular):
    :math:`(1 - r_p) T_{water}` with the Debye ε of ``t_water`` (clipped to ≥ 0 °C, no ice
    cover), mixed linearly by ``water_fraction``. The land part of a ``WATER``-class pixel is
    smooth bare soil (h = ω = b = 0).
    """
    st = _fields(state, _STATE_KEYS, "state")
    sf = _fields(static, _STATIC_KEYS, "static")
    shape = st["theta"].shape
    if shape != sf["land_cover"].shape:
        raise DataError(f"state shape {shape} != static shape {sf['land_cover'].shape}")
    if not 0 <= incidence_deg < 90:
        raise ConfigError(f"incidence_deg must be in [0, 90) degree; got {incidence_deg}")
    q = Q_L if _is_l_band(float(freq_ghz)) else Q_CX
    table = None
    if lut is not False:
        table = get_lut(float(freq_ghz), q) if lut is True else lut
        if not isinstance(table, ReflectivityLUT):
            raise ConfigError(f"lut must be a ReflectivityLUT or bool; got {type(lut).__name__}")
        if not (np.isclose(table.freq_ghz, freq_ghz) and np.isclose(table.q, q)):
            raise ConfigError(f"lut was built for {table.freq_ghz} GHz, Q = {table.q}; "
                              f"expected freq_ghz={freq_ghz}, Q = {q}")
    args = (float(freq_ghz), float(incidence_deg), float(look_azimuth_deg), table, teff_method)
    rows = max(1, _BLOCK_PX // max(1, int(np.prod(shape[1:]))))
    if len(shape) < 1 or shape[0] <= rows:
        tbh, tbv = _tb_block(st, sf, *args)
    else:  # row blocks: bounded temporaries (~30 MB) and cache-friendly table look-ups
        tbh, tbv = np.empty(shape, np.float32), np.empty(shape, np.float32)
        for i in range(0, shape[0], rows):
            blk = slice(i, i + rows)
            tbh[blk], tbv[blk] = _tb_block({k: v[blk] for k, v in st.items()},
                                           {k: v[blk] for k, v in sf.items()}, *args)
    if atmosphere_k:
        tbh += np.float32(atmosphere_k)
        tbv += np.float32(atmosphere_k)
    return tbh, tbv


def _tb_block(st: dict[str, np.ndarray], sf: dict[str, np.ndarray], freq_ghz: float, incidence_deg: float,
              look_azimuth_deg: float, table: ReflectivityLUT | None, teff_method: str,
              ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`brightness_temperature` on one block of pixels (no atmosphere)."""
    f32 = np.float32
    par = surface_params(sf["land_cover"], freq_ghz)
    theta = st["theta"].astype(f32, copy=False)
    clay = sf["clay"].astype(f32) * f32(100.0)
    frozen = st["frozen"].astype(bool, copy=False)

    # geometry
    inc = f32(np.deg2rad(incidence_deg))
    s = np.deg2rad(sf["slope"].astype(f32))
    rel = np.deg2rad(sf["aspect"].astype(f32) - f32(look_azimuth_deg))
    cos_loc = np.cos(s) * np.cos(inc) - np.sin(s) * np.sin(inc) * np.cos(rel)
    np.clip(cos_loc, f32(_MU_MIN), f32(1), out=cos_loc)
    m = np.sin(s * np.abs(np.sin(rel))) ** 2

    # soil reflectivity, packed r_h + j r_v (complex64) so every step serves both polarisations
    sal = sf["sigma_sal"].astype(f32, copy=False)
    if table is None:
        direct = np.ones(theta.shape, dtype=bool)
        r = np.empty(theta.shape, np.complex64)
    else:
        r = table.specular_packed(theta, clay, cos_loc, frozen)
        direct = ~table.covers(theta, clay) | (sal > 0)
    if direct.any():
        eps = mironov(theta[direct], clay[direct], freq_ghz, sal[direct], frozen[direct])
        dh, dv = fresnel(eps, np.degrees(np.arccos(cos_loc[direct])))
        dh, dv = rough_reflectivity(dh, dv, 0.0, par.q, par.n, 0.0)
        r[direct] = dh + 1j * dv
    r *= np.exp(-par.h * cos_loc ** f32(par.n))

    # vegetation (τ–ω) and temperatures
    t_eff = effective_temperature(st["t_2p5"].astype(f32, copy=False), st["t_deep"].astype(f32, copy=False),
                                  freq_ghz, theta, teff_method)
    tc = st["t_canopy"].astype(f32, copy=False)
    gamma = np.exp(-(par.b * st["vwc"].astype(f32, copy=False)) * f32(1.0 / np.cos(inc)))
    veg_up = tc * (1 - par.omega) * (1 - gamma)
    eg = t_eff * gamma
    # T_B = eg (1 - r) + veg_up (1 + r γ) = (eg + veg_up) + r (veg_up γ - eg)
    tb = r * (veg_up * gamma - eg)
    base = eg + veg_up

    # relief polarisation mixing T'_h = T_h + m (T_v - T_h), T'_v = T_v - m (T_v - T_h)
    d = m * (tb.imag - tb.real)
    tbh = tb.real + (base + d)
    tbv = tb.imag + (base - d)

    # lakes
    fw = sf["water_fraction"].astype(f32, copy=False)
    wet = fw > 0
    if wet.any():
        tw = st["t_water"][wet].astype(np.float64)
        wh, wv = fresnel(water_permittivity(np.maximum(tw - 273.15, 0.0), freq_ghz), incidence_deg)
        fwi = fw[wet]
        full = fwi >= 1  # pure lake pixels ignore the (possibly NaN) land state
        tbh[wet] = np.where(full, 0, (1 - fwi) * tbh[wet]) + fwi * (1 - wh) * tw
        tbv[wet] = np.where(full, 0, (1 - fwi) * tbv[wet]) + fwi * (1 - wv) * tw
    return tbh.astype(f32, copy=False), tbv.astype(f32, copy=False)
