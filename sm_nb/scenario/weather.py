"""Daily meteorology of the synthetic scenario: air temperature, precipitation, cloud, radiation, PET.

One concept (the daily forcing of the water balance), a little over 500 lines.

``Weather(cfg, seed, year, static).day(date)`` returns a :class:`DayWeather` of fine-grid
float32 arrays (spec §4). Every day's random draws are keyed by ``(seed, component, year,
doy)``, so a day does not depend on how many days were simulated before it, and the
large-scale random fields (L ≥ 60 km) are evaluated on the fixed 0.0625° lattice
(:func:`~sm_nb.grids.cldas_grid`) and interpolated bilinearly to the fine grid, so
``demo`` and ``full`` see the same weather (spec §1). Convective noise (L ≈ 20 km) is
evaluated directly on the fine grid.

Random fields are stationary Gaussian fields with Gaussian covariance exp(−r²/L²) written as
truncated random Fourier series on a fixed periodic box (the study box padded by 2L per
side, the same padding as :func:`~sm_nb.scenario.randomfields.gaussian_field`). Unlike the
FFT generator they are not re-standardised per realisation, so domain-wide warm spells and
domain-wide dry days survive on small domains, and they can be evaluated on any grid.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special, stats

from ..config import STUDY_BOX, ScenarioConfig, check_seed
from ..exceptions import ConfigError, DataError
from ..grids import EARTH_RADIUS_KM, Grid, cldas_grid, fine_grid
from .randomfields import rng_for

__all__ = [
    "DayWeather",
    "Weather",
    "SpectralField",
    "Bilinear",
    "MONTHLY_SHARE",
    "WET_DAYS_YUSHU",
    "YEAR_FACTOR",
    "extraterrestrial_radiation",
    "snow_fraction",
    "hargreaves_pet",
    "as_timestamp",
    "static_array",
]

#: Monthly share of annual precipitation, Jan … Dec (Yushu CMA normals for Apr–Nov [S], rest [A]).
MONTHLY_SHARE = np.array([0.5, 0.9, 2.0, 3.4, 11.1, 21.0, 21.0, 17.3, 15.5, 6.0, 0.8, 0.5]) / 100.0
#: Wet days (≥ 0.1 mm) per month at Yushu, Jan … Dec (Apr–Nov [S], rest [A]).
WET_DAYS_YUSHU = np.array([2.0, 3.0, 6.0, 10.5, 17.8, 21.8, 20.9, 18.3, 19.4, 12.5, 3.4, 1.5])
P_ANN_YUSHU = 486.0  # mm yr-1 [S]
#: Precipitation year factors (Qinghai 2018 +30 % [S]; other years [A]).
YEAR_FACTOR = {2017: 1.0, 2018: 1.3}
GAMMA_SHAPE = 0.7
WET_THRESHOLD = 0.1  # mm, wet-day definition
_SIGMA_T = 2.5  # K, daily air-temperature anomaly
_R1_T = 0.7
_AR_TERMS = 20
_W_SYN, _W_CONV = 0.8, 0.6  # synoptic / convective weights (unit variance)


def as_timestamp(date: Any, name: str = "date") -> pd.Timestamp:
    """Return ``date`` as a normalised ``pd.Timestamp`` or raise :class:`ConfigError`."""
    try:
        ts = pd.Timestamp(date)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} is {date!r}; expected a date such as '2017-06-01'") from None
    if ts is pd.NaT:
        raise ConfigError(f"{name} is NaT; expected a date such as '2017-06-01'")
    return ts.normalize()


_BLAS: Any = None


def _single_thread_blas() -> contextlib.AbstractContextManager:
    """Limit BLAS to one thread for the skinny products of :class:`SpectralField` (if threadpoolctl exists).

    These products are small (inner dimension ≤ ~400); multi-threaded OpenBLAS gains little on
    them and, on a loaded 2-core machine, thread hand-offs made a demo day 5× slower
    (measured). threadpoolctl is optional; without it BLAS keeps its default threads.
    """
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        except ImportError:  # optional dependency
            _BLAS = False
    return _BLAS.limit(limits=1, user_api="blas") if _BLAS else contextlib.nullcontext()


class SpectralField:
    """Stationary Gaussian random fields with covariance exp(−r²/L²), as random Fourier series.

    The field lives on a periodic box = study box + 2L on each side, in a fixed equirectangular
    metric (x scaled by cos 35.5°). Its random coefficients do not depend on any grid, so the
    same draw evaluated on the 0.0625° lattice, the demo grid or the full grid gives the same
    field. Modes with spectral amplitude < ``cutoff`` of the peak are dropped (for the default
    0.01 that loses ~10⁻⁴ of the variance).

    Parameters
    ----------
    length_km : float
        Correlation length L, km.
    cutoff : float
        Relative amplitude below which Fourier modes are dropped.
    """

    def __init__(self, length_km: float, cutoff: float = 1e-2) -> None:
        if not length_km > 0:
            raise ConfigError(f"length_km is {length_km!r}; expected a positive correlation length")
        s, n, w, e = STUDY_BOX
        self.length_km = float(length_km)
        self._lat0, self._lon0 = s, w
        self._xscale = np.cos(np.deg2rad(0.5 * (s + n)))
        py = EARTH_RADIUS_KM * np.deg2rad(n - s) + 4 * length_km
        px = EARTH_RADIUS_KM * self._xscale * np.deg2rad(e - w) + 4 * length_km
        kcut = np.sqrt(2 * np.log(1 / cutoff)) / (np.pi * length_km)
        jmax, imax = int(kcut * py), int(kcut * px)
        self._ky = np.arange(-jmax, jmax + 1) / py
        self._kx = np.arange(0, imax + 1) / px
        k2 = self._ky[:, None] ** 2 + self._kx[None, :] ** 2
        h = np.exp(-0.5 * np.pi**2 * length_km**2 * k2)
        h[(self._kx[None, :] == 0) & (self._ky[:, None] <= 0)] = 0.0  # half plane, no mean
        h[h < cutoff] = 0.0
        self._h = h / np.sqrt(np.sum(h**2))
        self._basis: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def n_modes(self) -> int:
        return int(np.count_nonzero(self._h))

    def coefficients(self, rng: np.random.Generator, n: int = 1) -> np.ndarray:
        """Draw ``n`` fields' coefficient matrices, shape (n, 2·n_ky, 2·n_kx)."""
        a = rng.standard_normal((n, *self._h.shape)) * self._h
        b = rng.standard_normal((n, *self._h.shape)) * self._h
        top = np.concatenate([a, b], axis=-1)
        bottom = np.concatenate([b, -a], axis=-1)
        return np.concatenate([top, bottom], axis=-2).astype(np.float32)

    def basis(self, grid: Grid, via: Grid | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Cosine/sine bases of ``grid``: Y (n_lat, 2·n_ky) and X (2·n_kx, n_lon), float32.

        With ``via``, the bases are those of the field evaluated on ``via`` and bilinearly
        interpolated to ``grid``: interpolation is linear, so Y_grid M X_grid equals
        :class:`Bilinear` applied to the field on ``via`` (to float32 rounding), at the
        cost of evaluating on ``grid`` directly.
        """
        key = (*_grid_key(grid), *(_grid_key(via) if via is not None else ()))
        if key not in self._basis:
            if via is None:
                y = EARTH_RADIUS_KM * np.deg2rad(grid.lat - self._lat0)
                x = EARTH_RADIUS_KM * self._xscale * np.deg2rad(grid.lon - self._lon0)
                ay = 2 * np.pi * y[:, None] * self._ky[None, :]
                ax = 2 * np.pi * self._kx[:, None] * x[None, :]
                ybas = np.concatenate([np.cos(ay), np.sin(ay)], axis=1).astype(np.float32)
                xbas = np.concatenate([np.cos(ax), np.sin(ax)], axis=0).astype(np.float32)
            else:
                ysrc, xsrc = self.basis(via)
                interp = Bilinear(via, grid)
                ybas = interp.rows(ysrc)
                xbas = interp.columns(xsrc)
            self._basis[key] = (ybas, xbas)
        return self._basis[key]

    def evaluate(self, coeffs: np.ndarray, grid: Grid, via: Grid | None = None) -> np.ndarray:
        """Fields of ``coeffs`` (n, 2·n_ky, 2·n_kx) at ``grid`` centres (optionally through ``via``).

        Returns
        -------
        ndarray of float32, shape (n, n_lat, n_lon)
        """
        ybas, xbas = self.basis(grid, via)
        n, _, q = coeffs.shape
        # two BLAS calls per batch: Y·[C₁ … Cₙ], then the stacked (n·n_lat × q) block times X
        with _single_thread_blas():
            left = ybas @ np.concatenate(list(coeffs), axis=1)  # (n_lat, n·q)
            left = left.reshape(ybas.shape[0], n, q).transpose(1, 0, 2).reshape(n * ybas.shape[0], q)
            return (left @ xbas).reshape(n, ybas.shape[0], xbas.shape[1])

    def __repr__(self) -> str:
        return f"<SpectralField L={self.length_km:g} km, {self.n_modes} modes>"


class Bilinear:
    """Precomputed bilinear interpolation from ``src`` to ``dst`` centres (build once, apply many).

    Gives the same numbers as :func:`~sm_nb.resample.interp_bilinear` (constant
    extrapolation outside ``src``) but separably, with the weights computed once.
    """

    def __init__(self, src: Grid, dst: Grid) -> None:
        self.src, self.dst = src, dst
        self._y = self._axis(src.lat, dst.lat)
        self._x = self._axis(src.lon, dst.lon)

    @staticmethod
    def _axis(s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = np.interp(d, s, np.arange(s.size, dtype=float))
        i0 = np.clip(np.floor(f).astype(np.intp), 0, max(s.size - 2, 0))
        i1 = np.minimum(i0 + 1, s.size - 1)
        return i0, i1, (f - i0).astype(np.float32)

    def rows(self, a: np.ndarray) -> np.ndarray:
        """Interpolate axis −2 of ``a`` (source latitudes → destination latitudes)."""
        y0, y1, wy = self._y
        return a[..., y0, :] * (1 - wy)[:, None] + a[..., y1, :] * wy[:, None]

    def columns(self, a: np.ndarray) -> np.ndarray:
        """Interpolate axis −1 of ``a`` (source longitudes → destination longitudes)."""
        x0, x1, wx = self._x
        return a[..., x0] * (1 - wx) + a[..., x1] * wx

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """Interpolate the last two axes of ``a`` (float32 result)."""
        if a.shape[-2:] != self.src.shape:
            raise DataError(f"array of shape {a.shape} does not end with the source grid shape {self.src.shape}")
        return self.rows(self.columns(np.asarray(a, dtype=np.float32)))


def _grid_key(grid: Grid) -> tuple:
    return (grid.shape, float(grid.lat[0]), float(grid.lon[0]), float(grid.lat[-1]), float(grid.lon[-1]))


@dataclass
class DayWeather:
    """One day of meteorology on the fine grid (float32 arrays of shape (n_lat, n_lon)).

    Attributes
    ----------
    date : pd.Timestamp
    t_mean : daily mean air temperature, degC
    dtr : diurnal temperature range, K
    precip : (steps_per_day, n_lat, n_lon), mm per model step (total water equivalent); step k
        covers local solar hours [k·dt, (k+1)·dt)
    snow_fraction : solid fraction of today's precipitation, 1
    cloud : daily cloud fraction, 1
    clear_day, clear_night : bool, clear sky at the MODIS Terra 10:30 / 22:30 overpasses
    rs : daily mean downward shortwave, W m-2
    pet : potential evapotranspiration (Hargreaves–Samani), mm d-1
    """

    date: pd.Timestamp
    t_mean: np.ndarray
    dtr: np.ndarray
    precip: np.ndarray
    snow_fraction: np.ndarray
    cloud: np.ndarray
    clear_day: np.ndarray
    clear_night: np.ndarray
    rs: np.ndarray
    pet: np.ndarray

    @property
    def precip_daily(self) -> np.ndarray:
        """Daily precipitation total, mm d-1."""
        return self.precip.sum(axis=0)

    def __repr__(self) -> str:
        p = self.precip_daily
        return (
            f"<DayWeather {self.date.date()} T̄ {np.nanmean(self.t_mean):.1f} °C, P̄ {p.mean():.2f} mm, "
            f"wet {np.mean(p >= WET_THRESHOLD):.0%}, clear(10:30) {np.mean(self.clear_day):.0%}>"
        )


def extraterrestrial_radiation(lat_deg: np.ndarray, doy: int) -> np.ndarray:
    """Daily extraterrestrial radiation R_a, MJ m-2 d-1 (FAO-56 eqs. 21–25)."""
    phi = np.deg2rad(np.asarray(lat_deg, dtype=float))
    b = 2 * np.pi * doy / 365.0
    dr = 1 + 0.033 * np.cos(b)
    decl = 0.409 * np.sin(b - 1.39)
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(decl), -1.0, 1.0))
    return (24 * 60 / np.pi) * 0.0820 * dr * (ws * np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.sin(ws))


def snow_fraction(t_mean: np.ndarray) -> np.ndarray:
    """Solid precipitation fraction: 0 at T̄ ≥ +2 °C, 1 at T̄ ≤ −1 °C, linear between (spec §4)."""
    return np.clip((2.0 - t_mean) / 3.0, 0.0, 1.0).astype(np.float32)


def hargreaves_pet(ra_mm: np.ndarray, t_mean: np.ndarray, dtr: np.ndarray) -> np.ndarray:
    """PET = 0.0023·R_a·(T̄ + 17.8)·√DTR, mm d-1 (Hargreaves & Samani 1985; R_a in mm d-1, T̄ in degC)."""
    return (0.0023 * ra_mm * np.maximum(t_mean + 17.8, 0.0) * np.sqrt(np.maximum(dtr, 0.0))).astype(np.float32)


def static_array(static: xr.Dataset, name: str, shape: tuple[int, int]) -> np.ndarray:
    """``static[name]`` as a float32 array, checked to exist and to have the fine-grid ``shape``."""
    if name not in static:
        raise DataError(f"variable {name!r} not in the static dataset; expected one of {sorted(static.data_vars)}")
    arr = np.asarray(static[name].values, dtype=np.float32)
    if arr.shape != shape:
        raise DataError(f"static {name!r} has shape {arr.shape}; expected the fine-grid shape {shape}")
    return arr


class Weather:
    """Daily weather generator for one season (spec §4).

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    year : int
        Season year; :meth:`day` accepts any date of that year (spin-up days included).
    static : xr.Dataset
        Static fields on the fine grid; uses ``t_ann`` (degC), ``p_ann`` (mm yr-1),
        ``elevation`` (m) and, if present, ``water_fraction`` (1).

    Notes
    -----
    Spec §4, all values [A] unless noted:

    * T̄ = T_ann + A_T cos(2π(doy − 200)/365) + 2.5 K · AR(1) anomaly (r₁ 0.7, L 500 km),
      A_T = 10.2 + 0.85 (lat − 33) K fitted to the CMA Jan/Jul normals of Yushu, Madoi,
      Dulan and Lenghu [S]. The AR(1) state is the exact truncated series of the last 20
      daily innovations, so it needs no state.
    * Wet day where 0.8·S + 0.6·C > Φ⁻¹(1 − p_wet), S synoptic (L 150 km), C convective
      (L 20 km); p_wet = Yushu wet-day frequency × (f_y P_ann / 486 mm)^0.5 (≤ 0.95);
      amount = 0.1 mm + (μ − 0.1)·G, G the Gamma(k = 0.7, mean 1) quantile of a second
      field, μ = f_y P_ann share_m / (p_wet · days_m) — so the expected total is
      f_y P_ann share_m exactly. Year factor f_y: 2018 × 1.3 [S].
    * Start hour: 70 % in 14–22 LST, 30 % in the other 16 h, from a spatially coherent
      field; duration 2 + amount/2 h (≤ 12 h), wrapped inside the day, split on model steps.
    * Cloud probability p_c = 0.25 + 0.35·clip((P_ann − 50)/600)·season (0.25 Qaidam …
      0.6 wet SE in Jun–Jul), + 0.6 on wet pixels (cap 0.95); the 10:30 and 22:30 clear
      flags are cloudy with that probability and correlated (ρ 0.7) with the daily cloud
      fraction. Shortwave = (0.75 + 2·10⁻⁵ z) R_a (1 − 0.7 cloud) (FAO-56 R_so).
    * DTR = DTR_clim (1.15 − 0.35 cloud)(1 − 0.4 water), DTR_clim 17.5 K (arid) → 14.8 K
      (486 mm) [S anchors Lenghu 17.4, Yushu 14.8]; PET Hargreaves–Samani.
    """

    def __init__(self, cfg: ScenarioConfig, seed: int, year: int, static: xr.Dataset) -> None:
        if not isinstance(cfg, ScenarioConfig):
            raise ConfigError(f"cfg is {type(cfg).__name__}; expected a ScenarioConfig (see get_config)")
        if isinstance(year, bool) or not isinstance(year, int | np.integer):
            raise ConfigError(f"year is {year!r}; expected an integer year such as 2017")
        self.cfg, self.seed, self.year = cfg, check_seed(seed), int(year)
        self.grid = fine_grid(cfg)
        self.lattice = cldas_grid(cfg)
        shape = self.grid.shape
        self.t_ann = static_array(static, "t_ann", shape)
        self.p_ann = np.maximum(static_array(static, "p_ann", shape), 0.0)
        self.elevation = static_array(static, "elevation", shape)
        self.water = (
            np.clip(static_array(static, "water_fraction", shape), 0, 1)
            if "water_fraction" in static
            else np.zeros(shape, np.float32)
        )
        self.year_factor = float(YEAR_FACTOR.get(self.year, 1.0))
        lat = self.grid.lat.astype(np.float32)[:, None]
        self.amp_t = np.clip(10.2 + 0.85 * (lat - 33.0), 9.0, 16.0).astype(np.float32)
        self.dtr_clim = (
            (17.5 - 2.7 * np.clip((self.p_ann - 20.0) / 470.0, 0, 1)) * (1 - 0.4 * self.water)
        ).astype(np.float32)
        self.tau_clear = (0.75 + 2e-5 * np.clip(self.elevation, 0, None)).astype(np.float32)
        self._f_tair = SpectralField(500.0)
        self._f_syn = SpectralField(150.0)
        self._f_cloud = SpectralField(100.0)
        self._f_ov = SpectralField(60.0)
        self._f_conv = SpectralField(20.0)
        z = np.linspace(-8.0, 8.0, 4001)
        self._lut_z = z
        u = special.ndtr(z)
        self._lut_gamma = (stats.gamma(GAMMA_SHAPE).ppf(u) / GAMMA_SHAPE).astype(np.float32)
        # start hour, unwrapped (14 … 38 h; taken modulo 24 after interpolation)
        self._lut_hour = np.where(u < 0.7, 14 + 8 * u / 0.7, 22 + 16 * (u - 0.7) / 0.3).astype(np.float32)
        self._month: int | None = None
        self._tair_cache: dict[tuple[int, int], np.ndarray] = {}

    def __repr__(self) -> str:
        return f"<Weather year={self.year} seed={self.seed} config={self.cfg.name!r} grid {self.grid.shape}>"

    # ---- monthly climatology ------------------------------------------------------------------
    def _monthly(self, month: int) -> None:
        if self._month == month:
            return
        days = pd.Period(f"{self.year}-{month:02d}").days_in_month
        p_year = self.year_factor * self.p_ann
        p_wet = np.clip(WET_DAYS_YUSHU[month - 1] / days * np.sqrt(p_year / P_ANN_YUSHU), 0.0, 0.95)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.where(p_wet > 0, p_year * MONTHLY_SHARE[month - 1] / (p_wet * days), 0.0)
            self._thr_wet = special.ndtri(1.0 - p_wet).astype(np.float32)  # +inf where p_wet = 0
        self._mu = mu.astype(np.float32)
        season = np.clip(MONTHLY_SHARE[month - 1] / MONTHLY_SHARE.max(), 0.25, 1.0)
        p_c = 0.25 + 0.35 * np.clip((self.p_ann - 50.0) / 600.0, 0, 1) * season
        self._pc_dry = p_c.astype(np.float32)
        self._pc_wet = np.minimum(p_c + 0.6, 0.95).astype(np.float32)
        self._thr_c_dry = special.ndtri(self._pc_dry).astype(np.float32)
        self._thr_c_wet = special.ndtri(self._pc_wet).astype(np.float32)
        self._month = month

    # ---- random fields ------------------------------------------------------------------------
    def _tair_coeffs(self, d: pd.Timestamp) -> np.ndarray:
        key = (d.year, d.day_of_year)
        if key not in self._tair_cache:
            if len(self._tair_cache) > 4 * _AR_TERMS:
                self._tair_cache.clear()
            rng = rng_for(self.seed, "weather/tair", d.year, d.day_of_year)
            self._tair_cache[key] = self._f_tair.coefficients(rng)[0]
        return self._tair_cache[key]

    def _t_anomaly_coeffs(self, date: pd.Timestamp) -> np.ndarray:
        w = _R1_T ** np.arange(_AR_TERMS) * np.sqrt((1 - _R1_T**2) / (1 - _R1_T ** (2 * _AR_TERMS)))
        return sum(w[j] * self._tair_coeffs(date - pd.Timedelta(days=j)) for j in range(_AR_TERMS))

    def _lut(self, table: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Linear interpolation in a table on the uniform z grid of the LUTs (clamped)."""
        z0, dz = self._lut_z[0], self._lut_z[1] - self._lut_z[0]
        t = np.clip((z - np.float32(z0)) * np.float32(1 / dz), 0, table.size - 1.001)
        i = t.astype(np.intp)
        w = t - i
        return table[i] * (1 - w) + table[i + 1] * w

    # ---- one day ------------------------------------------------------------------------------
    def day(self, date: Any) -> DayWeather:
        """Weather of ``date`` (a day of ``year``; deterministic, independent of call order)."""
        d = as_timestamp(date)
        if d.year != self.year:
            raise ConfigError(f"date {d.date()} is not in year {self.year} of this Weather")
        doy = d.day_of_year
        self._monthly(d.month)
        grid, lat = self.grid, self.lattice

        # large-scale fields: on the 0.0625° lattice, bilinearly interpolated to the fine grid
        rng = rng_for(self.seed, "weather/lattice", self.year, doy)
        syn = self._f_syn.evaluate(self._f_syn.coefficients(rng, 3), grid, lat)  # occurrence, amount, hour
        cld = self._f_cloud.evaluate(self._f_cloud.coefficients(rng, 1), grid, lat)[0]
        ovp = self._f_ov.evaluate(self._f_ov.coefficients(rng, 2), grid, lat)  # 10:30, 22:30
        tan = self._f_tair.evaluate(self._t_anomaly_coeffs(d)[None], grid, lat)[0]
        # convective noise directly on the fine grid
        rng_c = rng_for(self.seed, "weather/convective", self.year, doy)
        conv = self._f_conv.evaluate(self._f_conv.coefficients(rng_c, 3), grid)

        t_mean = self.t_ann + self.amp_t * np.float32(np.cos(2 * np.pi * (doy - 200) / 365.0))
        t_mean += _SIGMA_T * tan

        z_occ = _W_SYN * syn[0] + _W_CONV * conv[0]
        wet = z_occ > self._thr_wet
        precip = self._split_precip(wet, _W_SYN * syn[1] + _W_CONV * conv[1], syn[2])

        z_cloud = _W_SYN * cld + _W_CONV * conv[2]
        p_cloud = np.where(wet, self._pc_wet, self._pc_dry)
        cloud = np.clip(p_cloud - 0.2 * z_cloud, 0.0, 1.0)
        thr_c = np.where(wet, self._thr_c_wet, self._thr_c_dry)
        rho = np.float32(0.7)
        rest = np.float32(np.sqrt(1 - 0.49))
        clear_day = (rho * z_cloud + rest * ovp[0]) >= thr_c
        clear_night = (rho * z_cloud + rest * ovp[1]) >= thr_c

        dtr = self.dtr_clim * (1.15 - 0.35 * cloud)
        ra = extraterrestrial_radiation(grid.lat, doy).astype(np.float32)[:, None]  # MJ m-2 d-1
        rs = ra * (1e6 / 86400.0) * self.tau_clear * (1 - 0.7 * cloud)
        pet = hargreaves_pet(ra * 0.408, t_mean, dtr)
        f32 = np.float32
        return DayWeather(
            date=d,
            t_mean=t_mean.astype(f32, copy=False),
            dtr=dtr.astype(f32, copy=False),
            precip=precip,
            snow_fraction=snow_fraction(t_mean),
            cloud=cloud.astype(f32, copy=False),
            clear_day=clear_day,
            clear_night=clear_night,
            rs=rs.astype(f32, copy=False),
            pet=pet,
        )

    def _split_precip(self, wet: np.ndarray, z_amount: np.ndarray, z_hour: np.ndarray) -> np.ndarray:
        """Wet-pixel amounts (Gamma quantile mapping) spread over the model steps of the day."""
        n_steps, step = self.cfg.steps_per_day, float(self.cfg.dt_hours)
        precip = np.zeros((n_steps, *self.grid.shape), dtype=np.float32)
        idx = np.flatnonzero(wet)
        if idx.size == 0:
            return precip
        mu = self._mu.ravel()[idx]
        g = self._lut(self._lut_gamma, z_amount.ravel()[idx])
        amount = np.where(mu > WET_THRESHOLD, WET_THRESHOLD + (mu - WET_THRESHOLD) * g, mu)
        start = self._lut(self._lut_hour, z_hour.ravel()[idx]) % np.float32(24.0)
        dur = np.clip(np.float32(2.0) + np.float32(0.5) * amount, 2.0, 12.0)
        inv = np.float32(1.0) / dur
        # cumulative fraction of the event before local hour t (the part after midnight is
        # wrapped to the start of the same day): C(0) = 0, C(24) = 1
        wrap0 = np.clip((24.0 - start) * inv, 0.0, 1.0)

        def cum(t: float) -> np.ndarray:
            c = np.clip((t - start) * inv, 0.0, 1.0)
            c += np.clip((t + 24.0 - start) * inv, 0.0, 1.0)
            c -= wrap0
            return c

        flat = precip.reshape(n_steps, -1)
        prev = np.zeros_like(amount)
        for k in range(n_steps):
            nxt = cum((k + 1) * step) if k < n_steps - 1 else np.ones_like(amount)
            flat[k, idx] = amount * (nxt - prev)
            prev = nxt
        return precip
