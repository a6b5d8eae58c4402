"""Complex relative permittivity of moist soil (Mironov 2009) and of open water (Debye).

Convention: ``eps = eps' + j eps''`` with ``eps'' >= 0`` (lossy media have a positive imaginary
part), the form the Fresnel equations of :mod:`sm_nb.scenario.radiative` expect.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..exceptions import ConfigError, DataError

__all__ = [
    "EPS_VACUUM",
    "EPS_INF",
    "EPS_ICE",
    "THETA_LIQUID_FROZEN",
    "mironov",
    "mironov_mvt",
    "water_permittivity",
]

#: permittivity of free space, F m-1
EPS_VACUUM = 8.854e-12
#: high-frequency limit of water permittivity (Mironov 2009; Stogryn 1971)
EPS_INF = 4.9
#: real permittivity of ice (frozen-soil extension, spec §8 [A])
EPS_ICE = 3.15
#: unfrozen (liquid) water content kept in frozen soil, m3 m-3 (spec §8 [A])
THETA_LIQUID_FROZEN = 0.04


def _check_freq(freq_ghz: ArrayLike) -> np.ndarray:
    f = np.asarray(freq_ghz, dtype=np.float64)
    if not np.all(np.isfinite(f)) or np.any(f <= 0):
        raise ConfigError(f"freq_ghz must be finite and > 0 GHz; got {freq_ghz!r}")
    return f * 1e9


def _debye_refraction(
    eps_static: np.ndarray | float, tau_s: np.ndarray | float, sigma: np.ndarray | float, f_hz: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Refractive index n and normalised attenuation κ of a Debye medium with ohmic loss."""
    wt = 2.0 * np.pi * f_hz * tau_s
    den = 1.0 + wt * wt
    e_re = EPS_INF + (eps_static - EPS_INF) / den
    e_im = (eps_static - EPS_INF) * wt / den + sigma / (2.0 * np.pi * f_hz * EPS_VACUUM)
    mod = np.hypot(e_re, e_im)
    return np.sqrt(0.5 * (mod + e_re)), np.sqrt(0.5 * (mod - e_re))


def mironov(
    theta: ArrayLike,
    clay_pct: ArrayLike,
    freq_ghz: ArrayLike,
    sigma_sal: ArrayLike = 0.0,
    frozen: ArrayLike | None = None,
) -> np.ndarray:
    """Complex permittivity of moist soil, Mironov et al. (2009) GRMDM, with two extensions.

    Parameters
    ----------
    theta : array_like, m3 m-3
        Volumetric soil moisture (total water, liquid + ice); NaN propagates.
    clay_pct : array_like, %
        Clay content in percent (0–100), not a fraction.
    freq_ghz : array_like, GHz
        Frequency.
    sigma_sal : array_like, S m-1, default 0
        Extra pore-water conductivity from salinity, added to the free-water conductivity
        σ_u (playa extension).
    frozen : array_like of bool, optional
        Where true, only ``min(theta, 0.04)`` stays liquid; the rest is ice.

    Returns
    -------
    ndarray of complex128
        ``eps' + j eps''`` broadcast over all inputs.

    Notes
    -----
    Spec §8 [S] (Mironov et al. 2009, IEEE TGRS 47:2059, Eqs. 11–25; cf. SCoBi
    ``dielMironov.m``). With clay C in %:

    .. math::

        n_d = 1.634 - 0.539\\,10^{-2} C + 0.2748\\,10^{-4} C^2,\\quad
        k_d = 0.03952 - 0.04038\\,10^{-2} C,\\quad m_{vt} = 0.02863 + 0.30673\\,10^{-2} C

        \\varepsilon_{0b} = 79.8 - 85.4\\,10^{-2} C + 32.7\\,10^{-4} C^2,\\quad
        \\tau_b = 1.062\\,10^{-11} + 3.450\\,10^{-14} C,\\quad
        \\sigma_b = 0.3112 + 0.467\\,10^{-2} C

        \\sigma_u = 0.3631 + 1.217\\,10^{-2} C,\\quad \\varepsilon_{0u} = 100,\\quad
        \\tau_u = 8.5\\,10^{-12},\\quad \\varepsilon_\\infty = 4.9

    Bound (b) and free (u) water are Debye media with ohmic loss; their refractive index n and
    attenuation κ enter the refractive mixing
    :math:`n_m = n_d + (n_b - 1)\\min(\\theta, m_{vt}) + (n_u - 1)\\max(\\theta - m_{vt}, 0)`
    (same for κ with :math:`k_d, \\kappa_b, \\kappa_u`), and
    :math:`\\varepsilon = n_m^2 - \\kappa_m^2 + j\\,2 n_m \\kappa_m`.
    Extensions [A]: playa salinity adds ``sigma_sal`` to σ_u; frozen soil keeps
    :math:`\\theta_l = \\min(\\theta, 0.04)` liquid and adds :math:`(\\sqrt{3.15} - 1)(\\theta - \\theta_l)`
    to :math:`n_m` (lossless ice). The model is for 20 °C and has no temperature dependence.
    """
    th = np.asarray(theta, dtype=np.float64)
    c = np.asarray(clay_pct, dtype=np.float64)
    sal = np.asarray(sigma_sal, dtype=np.float64)
    if np.any(c < 0) or np.any(c > 100):
        raise DataError(f"clay_pct must be in 0–100 % (percent, not fraction); got range "
                        f"[{np.nanmin(c):.4g}, {np.nanmax(c):.4g}]")
    if np.any(th < 0):
        raise DataError(f"theta must be >= 0 m3 m-3; got minimum {np.nanmin(th):.4g}")
    if np.any(sal < 0):
        raise DataError(f"sigma_sal must be >= 0 S m-1; got minimum {np.nanmin(sal):.4g}")
    return _mironov(th, c, _check_freq(freq_ghz), sal, frozen)


def mironov_mvt(clay_pct: ArrayLike) -> np.ndarray:
    """Maximum bound-water fraction m_vt of Mironov (2009) Eq. 19, m3 m-3 (clay in %)."""
    return 0.02863 + 0.30673e-2 * np.asarray(clay_pct)


def _mironov(th: np.ndarray, c: np.ndarray, f_hz: np.ndarray, sal: np.ndarray,
             frozen: ArrayLike | None) -> np.ndarray:
    """GRMDM without input checks; linear (in refractive index) extrapolation for θ < 0."""
    nd = 1.634 - 0.539e-2 * c + 0.2748e-4 * c * c
    kd = 0.03952 - 0.04038e-2 * c
    mvt = mironov_mvt(c)
    eps0b = 79.8 - 85.4e-2 * c + 32.7e-4 * c * c
    taub = 1.062e-11 + 3.450e-14 * c
    sigb = 0.3112 + 0.467e-2 * c
    sigu = 0.3631 + 1.217e-2 * c + sal
    nb, kb = _debye_refraction(eps0b, taub, sigb, f_hz)
    nu, ku = _debye_refraction(100.0, 8.5e-12, sigu, f_hz)

    if frozen is None:
        liquid, ice = th, 0.0
    else:
        fz = np.asarray(frozen, dtype=bool)
        liquid = np.where(fz, np.minimum(th, THETA_LIQUID_FROZEN), th)
        ice = th - liquid
    bound = np.minimum(liquid, mvt)
    free = np.maximum(liquid - mvt, 0.0)
    n_m = nd + (nb - 1.0) * bound + (nu - 1.0) * free + (np.sqrt(EPS_ICE) - 1.0) * ice
    k_m = kd + kb * bound + ku * free
    return (n_m * n_m - k_m * k_m) + 1j * (2.0 * n_m * k_m)


def water_permittivity(t_c: ArrayLike, freq_ghz: ArrayLike) -> np.ndarray:
    """Complex permittivity of fresh open water, single Debye relaxation.

    Parameters
    ----------
    t_c : array_like, degC
        Water temperature in degrees Celsius (not K).
    freq_ghz : array_like, GHz
        Frequency.

    Returns
    -------
    ndarray of complex128
        ``eps' + j eps''``.

    Notes
    -----
    Spec §8 [S] (Klein & Swift 1977 / Stogryn 1971 polynomials, as in SCoBi ``dielDobson.m``):

    .. math::

        \\varepsilon_s = 88.045 - 0.4147 T + 6.295\\,10^{-4} T^2 + 1.075\\,10^{-5} T^3

        2\\pi\\tau = 1.1109\\,10^{-10} - 3.824\\,10^{-12} T + 6.938\\,10^{-14} T^2
        - 5.096\\,10^{-16} T^3

        \\varepsilon = \\varepsilon_\\infty + \\frac{\\varepsilon_s - \\varepsilon_\\infty}{1 - j f\\,2\\pi\\tau},
        \\quad \\varepsilon_\\infty = 4.9

    No ionic conductivity (fresh water); at 1.4 GHz, 20 °C this gives ε' ≈ 79.6, ε'' ≈ 6.5.
    """
    t = np.asarray(t_c, dtype=np.float64)
    if np.any(t < -5) or np.any(t > 60):
        raise DataError(f"t_c must be a liquid-water temperature in degC (-5 to 60); got range "
                        f"[{np.nanmin(t):.4g}, {np.nanmax(t):.4g}] (Kelvin passed by mistake?)")
    f_hz = _check_freq(freq_ghz)
    eps_s = 88.045 - 0.4147 * t + 6.295e-4 * t**2 + 1.075e-5 * t**3
    two_pi_tau = 1.1109e-10 - 3.824e-12 * t + 6.938e-14 * t**2 - 5.096e-16 * t**3
    wt = f_hz * two_pi_tau
    den = 1.0 + wt * wt
    return (EPS_INF + (eps_s - EPS_INF) / den) + 1j * ((eps_s - EPS_INF) * wt / den)
