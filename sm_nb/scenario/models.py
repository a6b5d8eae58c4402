"""Model products ("reanalyses"): CLDAS-like and GEOS-5 FP-like 0–5 cm soil moisture.

Both run the truth's two-layer water balance (:mod:`.waterbalance`) on their own grid, from
*aggregated* static fields, with their own structural choices and *perturbed* precipitation
(spec §10). Nothing about their skill is imposed: it follows from the forcing and structure
errors below and is measured against the truth in ``tests/test_hydrology.py``.

Conventions: a Gaussian smoothing "of L km" uses σ = L/2; all random numbers come from
``rng_for(seed, "cldas"|"geos5", year, doy, k)`` (daily) or ``rng_for(seed, name, 0, k)``
(year-independent structure such as the soil map bias), drawn on the product's own fixed grid
so that ``demo`` and ``full`` see the same product errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage
from scipy.special import ndtr

from .. import grids
from ..config import ScenarioConfig
from ..exceptions import DataError
from ..resample import block_mean
from .randomfields import gaussian_field, rng_for
from .waterbalance import WaterBalance, WaterBalanceParams

__all__ = ["CldasModel", "Geos5Model", "gauge_distance_km", "climatological_fc", "frozen_proxy"]

_SOIL = ("theta_s", "theta_fc", "theta_w", "theta_h")
_AGG = (*_SOIL, "sand", "clay", "water_fraction", "ndvi_min", "ndvi_max", "greenup_doy", "senescence_doy")


# ----------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------
def gauge_distance_km(grid: grids.Grid, gauges: pd.DataFrame) -> np.ndarray:
    """Great-circle distance (km) from every cell centre of ``grid`` to the nearest gauge.

    Parameters
    ----------
    grid : Grid
    gauges : DataFrame with columns ``lat``, ``lon`` (degrees)

    Returns
    -------
    ndarray (lat, lon), km — ``inf`` everywhere when there is no gauge.
    """
    missing = {"lat", "lon"} - set(gauges.columns)
    if missing:
        raise DataError(f"gauges table lacks column(s) {sorted(missing)}; expected name, lat, lon, elevation")
    lat, lon = (np.deg2rad(a) for a in grid.mesh())
    best = np.full(grid.shape, np.inf)
    for glat, glon in zip(np.deg2rad(gauges["lat"].to_numpy(float)), np.deg2rad(gauges["lon"].to_numpy(float)), strict=True):
        hav = np.sin((lat - glat) / 2) ** 2 + np.cos(lat) * np.cos(glat) * np.sin((lon - glon) / 2) ** 2
        np.minimum(best, 2 * grids.EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(hav, 0, 1))), out=best)
    return best


def climatological_fc(agg: xr.Dataset, doy: int) -> np.ndarray:
    """Green cover from the phenology climatology (no antecedent-moisture response), 1.

    NDVI = NDVI_min + (NDVI_max − NDVI_min)·g(doy) with a double logistic g (8-day slopes at the
    green-up and senescence days), f_c = clip((NDVI − 0.05)/0.80, 0, 1) — the reanalyses'
    climatological LAI.
    """

    def get(name: str, default: float) -> np.ndarray:
        return np.asarray(agg[name].values, float) if name in agg else np.full(agg["theta_s"].shape, default)

    lo, hi = get("ndvi_min", 0.12), get("ndvi_max", 0.4)
    g = 1 / (1 + np.exp(-(doy - get("greenup_doy", 140.0)) / 8.0)) - 1 / (1 + np.exp(-(doy - get("senescence_doy", 265.0)) / 8.0))
    ndvi = lo + (hi - lo) * np.clip(g, 0, 1)
    return np.clip((ndvi - 0.05) / 0.80, 0, 1).astype(np.float32)


def frozen_proxy(t_mean: np.ndarray, dtr: np.ndarray, hour: float) -> np.ndarray:
    """The products' soil-freeze test: a 2.5 cm soil temperature proxy below 0 °C.

    T_soil(h) = T̄ + 1.5 + 0.35·DTR·cos(2π(h − 14)/24) (damped, lagged, slightly warmer than air).
    """
    return (t_mean + 1.5 + 0.35 * dtr * np.cos(2 * np.pi * (hour - 14.0) / 24.0)) < 0.0


def _aggregate(static: xr.Dataset, fine: grids.Grid, target: grids.Grid) -> xr.Dataset:
    """Block means of the static fields the products use (K_s as a geometric mean)."""
    fy, fx = fine.nest_factor(target)
    out: dict[str, Any] = {}
    for name in _AGG:
        if name in static:
            out[name] = (("lat", "lon"), block_mean(np.asarray(static[name].values, np.float64), fy, fx, skipna=True))
    if "ks" not in static:
        raise DataError(f"static dataset lacks 'ks'; expected variables {['ks', *_SOIL]}")
    ks = np.log(np.clip(np.asarray(static["ks"].values, np.float64), 1e-3, None))
    out["ks"] = (("lat", "lon"), np.exp(block_mean(ks, fy, fx, skipna=True)))
    if "land_cover" in static and "water_fraction" not in out:
        from .classes import WATER

        lake = (np.asarray(static["land_cover"].values) == WATER).astype(np.float64)
        out["water_fraction"] = (("lat", "lon"), block_mean(lake, fy, fx))
    ds = xr.Dataset(out, coords=target.coords())
    for v in ds.data_vars:  # all-NaN blocks (open water without soil values): domain median
        a = ds[v].values
        if np.isnan(a).any():
            a[np.isnan(a)] = np.nanmedian(a) if np.isfinite(a).any() else 0.0
    return ds


def _bmean(a: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Block mean of the last two axes by strided sums (float32; ≫ faster than a reshape-mean
    for the small factors of the daily weather aggregation)."""
    a = np.asarray(a, np.float32)
    cols = a[..., 0::fx].copy()
    for i in range(1, fx):
        cols += a[..., i::fx]
    out = cols[..., 0::fy, :].copy()
    for j in range(1, fy):
        out += cols[..., j::fy, :]
    out *= np.float32(1.0 / (fy * fx))
    return out


def _smooth(a: np.ndarray, grid: grids.Grid, length_km: float) -> np.ndarray:
    dx, dy = grid.spacing_km()
    return ndimage.gaussian_filter(a, (length_km / 2 / dy, length_km / 2 / float(dx.mean())), mode="nearest")


def _grf(rng: np.random.Generator, grid: grids.Grid, length_km: float) -> np.ndarray:
    dx, dy = grid.spacing_km()
    return gaussian_field(rng, grid.shape, dy, float(dx.mean()), length_km)


class _Product:
    """Common day loop: aggregate the weather, run the water balance, return the day's field."""

    name = "product"

    def __init__(self, cfg: ScenarioConfig, seed: int, year: int, static: xr.Dataset, grid: grids.Grid) -> None:
        self.cfg, self.seed, self.year = cfg, int(seed), int(year)
        self.fine = grids.fine_grid(cfg)
        self.grid = grid
        missing = [v for v in (*_SOIL, "ks") if v not in static]
        if missing:
            raise DataError(f"static dataset lacks {missing}; expected variables {[*_SOIL, 'ks']}")
        shape = static["theta_s"].shape
        if shape != self.fine.shape:
            raise DataError(f"static 'theta_s' has shape {shape}; expected the fine grid {self.fine.shape}")
        self.fy, self.fx = self.fine.nest_factor(grid)
        self.agg = _aggregate(static, self.fine, grid)
        self.params = self._params()
        theta0 = 0.6 * self.params.theta_fc
        self.wb = WaterBalance(self.params, cfg.dt_hours, theta0, theta0.copy())
        self.pet_factor = np.ones(grid.shape, np.float32)
        self.last_date: pd.Timestamp | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.grid!r}, year {self.year}, seed {self.seed}, {self.wb.n_steps} steps>"

    def _params(self) -> WaterBalanceParams:  # pragma: no cover - overridden
        raise NotImplementedError

    def _check(self, date: Any, weather: Any) -> pd.Timestamp:
        date = pd.Timestamp(date).normalize()
        if self.last_date is not None and date != self.last_date + pd.Timedelta(days=1):
            raise DataError(f"{type(self).__name__}.day got {date.date()} after {self.last_date.date()}; expected consecutive days")
        precip = np.asarray(weather.precip)
        want = (self.cfg.steps_per_day, *self.fine.shape)
        if precip.shape != want:
            raise DataError(f"weather.precip has shape {precip.shape}; expected {want} (steps, lat, lon)")
        self.last_date = date
        return date

    def _aggregate_weather(self, weather: Any) -> dict[str, np.ndarray]:
        fy, fx = self.fy, self.fx
        day_fine = np.asarray(weather.precip, np.float32).sum(axis=0)
        p_day = _bmean(day_fine, fy, fx)
        snow = _bmean(day_fine * np.asarray(weather.snow_fraction, np.float32), fy, fx)
        return {
            "snow_fraction": np.where(p_day > 0, snow / np.maximum(p_day, 1e-9), 0.0).astype(np.float32),
            "pet": _bmean(weather.pet, fy, fx),
            "t_mean": _bmean(weather.t_mean, fy, fx),
            "dtr": _bmean(getattr(weather, "dtr", np.full(self.fine.shape, 15.0)), fy, fx),
        }

    def _run_day(self, date: pd.Timestamp, precip: np.ndarray, met: dict[str, np.ndarray]) -> np.ndarray:
        """Run one day; returns θ₁ at the step boundaries, shape (steps + 1, lat, lon)."""
        dt = self.cfg.dt_hours
        fc = climatological_fc(self.agg, date.day_of_year)
        pet = (met["pet"] * self.pet_factor * (dt / 24.0)).astype(np.float32)
        states = [self.wb.surface_theta()]
        for k in range(self.cfg.steps_per_day):
            mid = (k + 0.5) * dt
            p = np.maximum(precip[k], 0).astype(np.float32)
            snow = p * met["snow_fraction"]
            tair = met["t_mean"] + 0.5 * met["dtr"] * np.cos(2 * np.pi * (mid - 15.0) / 24.0)
            frozen = frozen_proxy(met["t_mean"], met["dtr"], mid)
            self.wb.step(p - snow, snow, pet, fc, frozen, tair, date)
            states.append(self.wb.surface_theta())
        return np.stack(states)


# ----------------------------------------------------------------------------------------
# CLDAS
# ----------------------------------------------------------------------------------------
class CldasModel(_Product):
    """CLDAS-like daily mean 0–5 cm soil moisture on the 0.0625° grid.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    year : int
    static : Dataset (lat, lon) on the fine grid
    gauges : DataFrame
        The CLDAS gauge network (columns ``name``, ``lat``, ``lon``, ``elevation``).

    Notes
    -----
    Spec §10 [A]. Forcing: P = G₁₅ₖₘ[P_true]·exp(εσ − σ²/2), ε a daily unit Gaussian random
    field (L = 50 km), σ = 0.15 + 0.45(1 − e^{−d_g/100 km}) with d_g the distance to the nearest
    gauge; daily totals below 0.5(1 + d_g/100) mm dropped; false light rain 0.2–1 mm (at
    16 LST) on 5 % of the dry area farther than 150 km from a gauge (thresholded L = 50 km field).
    Structure: texture smoothed (20 km) with a ±10 % smooth retention/porosity bias
    (1 + 0.1·tanh(GRF), L = 200 km), no playa brine, no irrigation, no TWI term,
    PET × (1 + 0.1·GRF) (L = 100 km). Freeze by :func:`frozen_proxy`, green cover by
    :func:`climatological_fc`. Output: the mean of θ₁ over the step boundaries of the local day
    (trapezoid), float32 (lat, lon).
    """

    name = "cldas"

    def __init__(self, cfg: ScenarioConfig, seed: int, year: int, static: xr.Dataset, gauges: pd.DataFrame) -> None:
        if not isinstance(gauges, pd.DataFrame):
            raise DataError(f"gauges is a {type(gauges).__name__}; expected a pandas DataFrame with name, lat, lon")
        self.gauges = gauges
        super().__init__(cfg, seed, year, static, grids.cldas_grid(cfg))
        self.dist_km = gauge_distance_km(self.grid, gauges)
        self.sigma = (0.15 + 0.45 * (1 - np.exp(-self.dist_km / 100.0))).astype(np.float32)
        self.drop_mm = np.minimum(0.5 * (1 + self.dist_km / 100.0), 50.0).astype(np.float32)
        self.pet_factor = (1 + 0.1 * _grf(rng_for(seed, "cldas", year, 0), self.grid, 100.0)).astype(np.float32)
        dx, dy = self.grid.spacing_km()
        self._kernel = (7.5 / dy, 7.5 / float(dx.mean()))

    def _params(self) -> WaterBalanceParams:
        agg = self.agg.copy()
        rng = rng_for(self.seed, "cldas", 0, 1)
        b_ret = 1 + 0.1 * np.tanh(_grf(rng, self.grid, 200.0))
        b_por = 1 + 0.1 * np.tanh(_grf(rng, self.grid, 200.0))
        for v in ("sand", "clay", *_SOIL):
            if v in agg:
                agg[v] = (("lat", "lon"), _smooth(agg[v].values, self.grid, 20.0))
        agg["ks"] = (("lat", "lon"), np.exp(_smooth(np.log(agg["ks"].values), self.grid, 20.0)))
        agg["theta_s"] = agg["theta_s"] * b_por
        for v in ("theta_fc", "theta_w", "theta_h"):
            agg[v] = agg[v] * b_ret
        return WaterBalanceParams.from_static(agg, self.cfg, self.seed, twi=False, playa=False, irrigation=False)

    def forcing(self, date: Any, weather: Any) -> np.ndarray:
        """CLDAS precipitation of one day, mm per step (steps, lat, lon) (no state change)."""
        date = pd.Timestamp(date)
        p = _bmean(weather.precip, self.fy, self.fx)
        p = ndimage.gaussian_filter(p, (0, *self._kernel), mode="nearest")
        rng = rng_for(self.seed, "cldas", self.year, date.day_of_year, 1)
        eps = _grf(rng, self.grid, 50.0)
        p *= np.exp(eps * self.sigma - 0.5 * self.sigma**2).astype(np.float32)[None]
        daily = p.sum(axis=0)
        p[:, daily < self.drop_mm] = 0.0
        z = _grf(rng, self.grid, 50.0)
        amount = 0.2 + 0.8 * ndtr(_grf(rng, self.grid, 50.0))
        false = (p.sum(axis=0) == 0) & (self.dist_km > 150.0) & (z > 1.6449)
        k16 = min(int(16 // self.cfg.dt_hours), p.shape[0] - 1)
        p[k16] += np.where(false, amount, 0.0).astype(np.float32)
        return p

    def day(self, date: Any, weather: Any) -> np.ndarray:
        """Advance one day and return the daily mean θ (0–5 cm), m3 m-3, float32 (lat, lon) on the CLDAS grid."""
        date = self._check(date, weather)
        states = self._run_day(date, self.forcing(date, weather), self._aggregate_weather(weather))
        mean = (0.5 * (states[0] + states[-1]) + states[1:-1].sum(axis=0)) / (states.shape[0] - 1)
        return mean.astype(np.float32)


# ----------------------------------------------------------------------------------------
# GEOS-5 FP
# ----------------------------------------------------------------------------------------
class Geos5Model(_Product):
    """GEOS-5 FP-like surface soil moisture at 05:30 UTC on the 0.25° × 0.3125° grid.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    year : int
    static : Dataset (lat, lon) on the fine grid
    lookahead : callable, optional
        ``lookahead(date) -> DayWeather`` (e.g. ``Weather(...).day``), used to fetch tomorrow's
        weather when today's forcing needs it (the −1 d shifts, ≈ 15 % of days).

    Notes
    -----
    Spec §10 [A]. Forcing: the truth precipitation on the 0.0625° lattice displaced by a daily
    N(0, 40 km) shift (edge values repeated), aggregated to the coarse grid; the day's rain moved
    by ±1 d with p = 0.15 each (keeping its sub-daily timing); × exp(0.6ε − 0.18) (ε a daily
    L = 100 km field); drizzle U(0.3, 1.5) mm spread over the day on 25 % of the dry area
    (thresholded L = 150 km field). A −1 d shift needs tomorrow's weather: pass
    ``weather_next`` to :meth:`day` or a ``lookahead``; without either, that day's rain is
    delayed by +1 d instead.
    Structure: spatially uniform porosity 0.45 + U(−0.05, 0.05), retention scaled with it
    (mineral soil, no organic topsoil), K₁₂ × 3 (stronger L1–L2 coupling), PET × 0.8–1.2
    (static L = 300 km field), no playa, irrigation or TWI. Output: θ₁ at 05:30 UTC, i.e.
    local solar hour 5.5 + lon/15, linearly interpolated between the step boundaries.
    """

    name = "geos5"

    def __init__(
        self, cfg: ScenarioConfig, seed: int, year: int, static: xr.Dataset, lookahead: Any = None
    ) -> None:
        super().__init__(cfg, seed, year, static, grids.coarse_grid(cfg))
        self.lookahead = lookahead
        self.lattice = grids.cldas_grid(cfg)
        self.ly, self.lx = self.fine.nest_factor(self.lattice)
        self.cy, self.cx = self.lattice.nest_factor(self.grid)
        self.pet_factor = (0.8 + 0.4 * ndtr(_grf(rng_for(seed, "geos5", year, 0), self.grid, 300.0))).astype(np.float32)
        hour = 5.5 + self.grid.lon / 15.0
        pos = np.clip(hour / cfg.dt_hours, 0, cfg.steps_per_day)
        self._i0 = np.minimum(np.floor(pos).astype(int), cfg.steps_per_day - 1)
        self._w = (pos - self._i0).astype(np.float32)
        self._carry: np.ndarray | None = None
        self._consumed: pd.Timestamp | None = None

    def _params(self) -> WaterBalanceParams:
        agg = self.agg.copy()
        rng = rng_for(self.seed, "geos5", 0, 1)
        porosity = 0.45 + rng.uniform(-0.05, 0.05)
        scale = porosity / np.maximum(agg["theta_s"].values, 0.2)  # same relative retention, mineral soil
        agg["theta_s"] = (("lat", "lon"), np.full(self.grid.shape, porosity))
        for v in ("theta_fc", "theta_w", "theta_h"):
            agg[v] = agg[v] * scale
        params = WaterBalanceParams.from_static(agg, self.cfg, self.seed, twi=False, playa=False, irrigation=False)
        return params.replace(k12=(params.k12 * 3.0).astype(np.float32), notes={**params.notes, "porosity": porosity})

    def shift_days(self, date: Any) -> int:
        """Timing error (days) applied to the truth rain of ``date``: −1, 0 or +1."""
        u = rng_for(self.seed, "geos5", self.year, pd.Timestamp(date).day_of_year, 2).uniform()
        return -1 if u < 0.15 else (1 if u < 0.30 else 0)

    def _displaced(self, date: pd.Timestamp, weather: Any) -> np.ndarray:
        p = _bmean(weather.precip, self.ly, self.lx)
        rng = rng_for(self.seed, "geos5", self.year, date.day_of_year, 1)
        dx, dy = self.lattice.spacing_km()
        sy, sx = (int(round(v)) for v in rng.normal(0.0, 40.0, 2) / np.array([dy, float(dx.mean())]))
        rows = np.clip(np.arange(p.shape[1]) - sy, 0, p.shape[1] - 1)
        cols = np.clip(np.arange(p.shape[2]) - sx, 0, p.shape[2] - 1)
        return _bmean(p[:, rows][:, :, cols], self.cy, self.cx)

    def forcing(self, date: Any, weather: Any, weather_next: Any = None) -> np.ndarray:
        """GEOS-5 precipitation of one day, mm per step (steps, lat, lon); updates the ±1 d buffer."""
        date = pd.Timestamp(date).normalize()
        total = np.zeros((self.cfg.steps_per_day, *self.grid.shape), np.float32)
        if self._carry is not None:
            total += self._carry
            self._carry = None
        if self._consumed != date:
            own = self._displaced(date, weather)
            if self.shift_days(date) == 0:
                total += own
            else:  # +1 d, or −1 d that could not be applied yesterday
                self._carry = own
        nxt = date + pd.Timedelta(days=1)
        if weather_next is not None and self.shift_days(nxt) == -1:
            total += self._displaced(nxt, weather_next)
            self._consumed = nxt
        rng = rng_for(self.seed, "geos5", self.year, date.day_of_year, 3)
        total *= np.exp(0.6 * _grf(rng, self.grid, 100.0) - 0.18).astype(np.float32)[None]
        dry = total.sum(axis=0) < 0.1
        z = _grf(rng, self.grid, 150.0)
        drizzle = rng.uniform(0.3, 1.5, self.grid.shape)
        total += (np.where(dry & (z > 0.6745), drizzle, 0.0) / total.shape[0]).astype(np.float32)[None]
        return total

    def day(self, date: Any, weather: Any, weather_next: Any = None) -> np.ndarray:
        """Advance one day; θ (0–5 cm) at 05:30 UTC, m3 m-3, float32 (lat, lon) on the coarse grid."""
        date = self._check(date, weather)
        nxt = date + pd.Timedelta(days=1)
        if weather_next is None and self.lookahead is not None and nxt.year == self.year and self.shift_days(nxt) == -1:
            weather_next = self.lookahead(nxt)
        states = self._run_day(date, self.forcing(date, weather, weather_next), self._aggregate_weather(weather))
        cols = np.arange(self.grid.shape[1])
        a = states[self._i0, :, cols]  # (lon, lat)
        b = states[self._i0 + 1, :, cols]
        return ((1 - self._w)[:, None] * a + self._w[:, None] * b).T.astype(np.float32)
