"""In situ records: 10 cm soil-moisture stations and daily rain gauges (spec §11).

Both recorders are fed by the generator's day loop and sample the fine-grid truth at the
pixel nearest to each site; ``to_dataset()`` returns an ``xr.Dataset`` with dims
``(station, time)``, the site name as the ``station`` coordinate and ``name``/``lat``/``lon``/
``elevation`` coordinates along ``station``. Stations report the soil water index of the
truth (:class:`SwiFilter`, :func:`soil_water_index`: the recursive exponential filter).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import grids
from ..config import ScenarioConfig
from ..conventions import COORD_ATTRS, STATION, TIME, cf_attrs
from ..exceptions import DataError
from .randomfields import rng_for

__all__ = ["StationRecorder", "GaugeRecorder", "SwiFilter", "soil_water_index", "KAPPA_RAIN", "KAPPA_SNOW"]

#: gauge catch ratios (undercatch) for rain and snow [A]
KAPPA_RAIN = 0.92
KAPPA_SNOW = 0.75
_EPOCH = pd.Timestamp("2000-01-01")



# ----------------------------------------------------------------------------------------
# Soil water index (recursive exponential filter)
# ----------------------------------------------------------------------------------------
class SwiFilter:
    """Streaming soil water index, one observation time at a time.

    Parameters
    ----------
    t_days : float
        Characteristic time T, days (3 d default; 2–6 d in spec §11).

    Notes
    -----
    Albergel et al. (2008) recursive form of Wagner et al. (1999):
    SWI_n = SWI_{n−1} + K_n(θ_n − SWI_{n−1}), K_n = K_{n−1}/(K_{n−1} + e^{−(t_n − t_{n−1})/T}),
    K_0 = 1, SWI_0 = θ_0. Elements with NaN input keep their state; the gap enters the next
    t_n − t_{n−1}.
    """

    def __init__(self, t_days: float = 3.0) -> None:
        if not t_days or t_days <= 0:
            raise DataError(f"SWI characteristic time T is {t_days!r}; expected > 0 days")
        self.t_days = float(t_days)
        self.swi: np.ndarray | None = None
        self._gain: np.ndarray | None = None
        self._t_last: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"<SwiFilter T={self.t_days:g} d, {'empty' if self.swi is None else self.swi.shape}>"

    def update(self, theta: np.ndarray | float, t_days: float) -> np.ndarray:
        """Ingest θ observed at time ``t_days`` (days) and return the SWI (NaN where never observed)."""
        x = np.asarray(theta, dtype=np.float64)
        if self.swi is None:
            self.swi = np.full(x.shape, np.nan)
            self._gain = np.ones(x.shape)
            self._t_last = np.full(x.shape, np.nan)
        ok = np.isfinite(x)
        first = ok & ~np.isfinite(self._t_last)
        nxt = ok & ~first
        with np.errstate(invalid="ignore", over="ignore"):
            k = self._gain / (self._gain + np.exp(-(t_days - self._t_last) / self.t_days))
            self._gain = np.where(nxt, k, np.where(first, 1.0, self._gain))
            self.swi = np.where(first, x, np.where(nxt, self.swi + self._gain * (x - self.swi), self.swi))
        self._t_last = np.where(ok, t_days, self._t_last)
        return self.swi.copy()


def soil_water_index(theta_series: np.ndarray, dt_days: float | np.ndarray, T: float = 3.0) -> np.ndarray:
    """Soil water index of a series along its first axis (Wagner 1999 / Albergel 2008 filter).

    Parameters
    ----------
    theta_series : array (time, ...), m3 m-3
        Surface moisture; NaN = no observation (the gap lengthens the next Δt).
    dt_days : float or array (time,), days
        Regular spacing, or the observation times themselves.
    T : float, days
        Characteristic time.

    Returns
    -------
    ndarray (time, ...), m3 m-3
        SWI at every time; NaN where the input is NaN (the state is carried over the gap).
    """
    x = np.asarray(theta_series, dtype=np.float64)
    if x.ndim == 0:
        raise DataError("theta_series is a scalar; expected an array with time as the first axis")
    times = np.asarray(dt_days, dtype=np.float64)
    if times.ndim == 0:
        times = np.arange(x.shape[0]) * float(times)
    elif times.shape != (x.shape[0],):
        raise DataError(f"dt_days has shape {times.shape}; expected a scalar or ({x.shape[0]},) times")
    filt = SwiFilter(T)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = np.where(np.isfinite(x[i]), filt.update(x[i], times[i]), np.nan)
    return out


def _sites(table: pd.DataFrame, grid: grids.Grid, what: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """Validate a site table; keep the sites inside ``grid`` and return their nearest pixel indices."""
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{what} is a {type(table).__name__}; expected a pandas DataFrame with name, lat, lon, elevation")
    missing = {"name", "lat", "lon"} - set(table.columns)
    if missing:
        raise DataError(f"{what} table lacks column(s) {sorted(missing)}; expected name, lat, lon, elevation")
    table = table.reset_index(drop=True).copy()
    if "elevation" not in table:
        table["elevation"] = np.nan
    half_y = (grid.dlat or 0.0) / 2
    half_x = (grid.dlon or 0.0) / 2
    inside = (
        (table["lat"] >= grid.lat[0] - half_y) & (table["lat"] <= grid.lat[-1] + half_y)
        & (table["lon"] >= grid.lon[0] - half_x) & (table["lon"] <= grid.lon[-1] + half_x)
    )
    dropped = table.loc[~inside, "name"].astype(str).tolist()
    table = table[inside].reset_index(drop=True)
    iy = np.abs(grid.lat[None, :] - table["lat"].to_numpy(float)[:, None]).argmin(axis=1)
    ix = np.abs(grid.lon[None, :] - table["lon"].to_numpy(float)[:, None]).argmin(axis=1)
    return table, iy, ix, dropped


def _site_coords(table: pd.DataFrame, times: pd.DatetimeIndex) -> dict[str, Any]:
    names = np.array([str(n) for n in table["name"]], dtype=str)  # fixed-width unicode (netCDF/zarr safe)
    return {
        STATION: xr.Variable(STATION, names, {"long_name": "site name"}),
        TIME: xr.Variable(TIME, times, COORD_ATTRS[TIME]),
        "name": xr.Variable(STATION, names, {"long_name": "site name"}),
        "lat": xr.Variable(STATION, table["lat"].to_numpy(float), COORD_ATTRS["lat"]),
        "lon": xr.Variable(STATION, table["lon"].to_numpy(float), COORD_ATTRS["lon"]),
        "elevation": xr.Variable(STATION, table["elevation"].to_numpy(float), {"units": "m", "long_name": "station elevation", "standard_name": "surface_altitude"}),
    }


def _day_of(time: Any) -> pd.Timestamp:
    """Day an end-of-interval instant belongs to: (d 00:00, d+1 00:00] → d."""
    return (pd.Timestamp(time) - pd.Timedelta(microseconds=1)).normalize()


class StationRecorder:
    """10 cm soil-moisture stations: the truth filtered, blended, calibrated and gapped.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    year : int
    stations : DataFrame
        Columns ``name``, ``lat``, ``lon``, ``elevation``; sites outside ``fine_grid`` are dropped
        (listed in the output's ``dropped_sites`` attribute).
    fine_grid : Grid
        The truth grid.
    swi_days : float
        SWI characteristic time T, days (3 d; spec range 2–6 d).
    w_l2 : float
        Weight of layer 2 (5–40 cm) in the 10 cm value (0.3).
    t_lag_hours : float
        Relaxation time turning the supplied 2.5 cm temperature into a 10 cm one (6 h; 0 if the
        caller already passes a 10 cm temperature).
    irrigated_mask : ndarray of bool (lat, lon), optional
        The truth's irrigated pixels; stations whose table row has ``irrigated`` True (Golmud,
        Nuomuhong: sited in oasis farmland, spec §11) then sample the nearest irrigated pixel
        within 15 km instead of the nearest pixel.

    Notes
    -----
    Spec §11 [A]. For every station, δ_s ~ N(0, 0.03), a_s ~ N(0, 0.02), b_s ~ U(0.85, 1.15) and
    σ_η ~ U(0.010, 0.015) are drawn once (``rng_for(seed, "stations", 0)``, the same every year);
    the AR(1) noise and the gaps use ``rng_for(seed, "stations", year)``. At every model step

    * θ_pt,i = θ_true,i(pixel) + δ_s for both layers (floored at 0.005);
    * x = (1 − w)·SWI_T(θ_pt,1) + w·θ_pt,2 — the 10 cm probe sits below the 0–5 cm layer: the
      exponential filter of the surface (Wagner 1999; Albergel 2008) supplies the lagged,
      smoothed infiltration signal, the 5–40 cm layer the slow storage the surface layer does
      not see (e.g. irrigation water drained to depth, the end of long drydowns);
    * the soil temperature is relaxed toward the supplied one with ``t_lag_hours`` (damping
    × 0.54 and lag ≈ 4 h of the diurnal wave for 6 h — the 2.5 → 10 cm conduction).

    Daily: θ_stn = a_s + b_s·mean_day(x) + η_t, η AR(1) (r₁ = 0.9, σ_η), clipped at 0; missing
    when the daily mean 10 cm temperature is below 0 °C, and in random blocks of 1–10 days
    covering ≈ 5 % of the days. A step sampled at time t belongs to the day (d 00:00, d+1 00:00].
    """

    def __init__(
        self,
        cfg: ScenarioConfig,
        seed: int,
        year: int,
        stations: pd.DataFrame,
        fine_grid: grids.Grid,
        swi_days: float = 3.0,
        w_l2: float = 0.3,
        t_lag_hours: float = 6.0,
        irrigated_mask: np.ndarray | None = None,
    ) -> None:
        if not 0.0 <= w_l2 <= 1.0:
            raise DataError(f"w_l2 is {w_l2!r}; expected a weight in [0, 1]")
        self.cfg, self.seed, self.year, self.grid = cfg, int(seed), int(year), fine_grid
        self.table, self._iy, self._ix, self.dropped = _sites(stations, fine_grid, "stations")
        if irrigated_mask is not None and "irrigated" in self.table:
            self._snap_to_irrigated(np.asarray(irrigated_mask, bool))
        self.swi_days, self.w_l2, self.t_lag_hours = float(swi_days), float(w_l2), float(t_lag_hours)
        n = len(self.table)
        rng = rng_for(seed, "stations", 0)
        draws = rng.standard_normal((max(n, 1), 2))[:n]
        self.delta = 0.03 * draws[:, 0]
        self.a = 0.02 * draws[:, 1]
        self.b = rng.uniform(0.85, 1.15, max(n, 1))[:n]
        self.sigma_eta = rng.uniform(0.010, 0.015, max(n, 1))[:n]
        self._swi = SwiFilter(swi_days)
        self._t10: np.ndarray | None = None
        self._t_last: pd.Timestamp | None = None
        self._days: list[pd.Timestamp] = []
        self._x: list[np.ndarray] = []
        self._temp: list[np.ndarray] = []
        self._acc: tuple[pd.Timestamp, np.ndarray, np.ndarray, int] | None = None

    def _snap_to_irrigated(self, mask: np.ndarray) -> None:
        if mask.shape != self.grid.shape:
            raise DataError(f"irrigated_mask has shape {mask.shape}; expected the fine grid {self.grid.shape}")
        iy, ix = np.nonzero(mask)
        if iy.size == 0:
            return
        lat, lon = self.grid.lat[iy], self.grid.lon[ix]
        for s in np.flatnonzero(self.table["irrigated"].fillna(False).to_numpy(bool)):
            slat, slon = float(self.table.at[s, "lat"]), float(self.table.at[s, "lon"])
            d = np.hypot((lat - slat) * 111.2, (lon - slon) * 111.2 * np.cos(np.deg2rad(slat)))
            k = int(np.argmin(d))
            if d[k] <= 15.0:
                self._iy[s], self._ix[s] = iy[k], ix[k]

    def __repr__(self) -> str:
        return f"<StationRecorder {len(self.table)} stations, {len(self._days)} days, T={self.swi_days:g} d, w_l2={self.w_l2:g}>"

    def add_step(self, time: Any, theta1: np.ndarray, theta2: np.ndarray, t_soil_k: np.ndarray) -> None:
        """Ingest one model step.

        Parameters
        ----------
        time : timestamp
            End of the step (local solar time).
        theta1, theta2 : ndarray (lat, lon), m3 m-3
            Truth 0–5 cm (after the TWI redistribution) and 5–40 cm moisture.
        t_soil_k : ndarray (lat, lon), K
            Soil temperature at 2.5 cm (or at 10 cm with ``t_lag_hours=0``).
        """
        time = pd.Timestamp(time)
        if self._t_last is not None and time <= self._t_last:
            raise DataError(f"StationRecorder.add_step got {time} after {self._t_last}; expected increasing times")
        shape = self.grid.shape
        for name, arr in (("theta1", theta1), ("theta2", theta2), ("t_soil_k", t_soil_k)):
            if np.shape(arr) != shape:
                raise DataError(f"{name} has shape {np.shape(arr)}; expected the fine grid {shape}")
        iy, ix = self._iy, self._ix
        x1 = np.maximum(np.asarray(theta1)[iy, ix].astype(float) + self.delta, 0.005)
        x2 = np.maximum(np.asarray(theta2)[iy, ix].astype(float) + self.delta, 0.005)
        swi = self._swi.update(x1, (time - _EPOCH) / pd.Timedelta(days=1))
        x = (1 - self.w_l2) * swi + self.w_l2 * x2
        temp = np.asarray(t_soil_k)[iy, ix].astype(float)
        if self._t10 is None or self.t_lag_hours <= 0:
            self._t10 = temp
        else:
            hours = (time - self._t_last) / pd.Timedelta(hours=1)
            self._t10 = temp + (self._t10 - temp) * np.exp(-hours / self.t_lag_hours)
        self._t_last = time
        day = _day_of(time)
        if self._acc is not None and self._acc[0] != day:
            self._close_day()
        if self._acc is None:
            self._acc = (day, np.zeros(len(self.table)), np.zeros(len(self.table)), 0)
        d, sx, st, k = self._acc
        self._acc = (d, sx + x, st + self._t10, k + 1)

    def _close_day(self) -> None:
        if self._acc is None:
            return
        d, sx, st, k = self._acc
        self._days.append(d)
        self._x.append(sx / k)
        self._temp.append(st / k)
        self._acc = None

    def to_dataset(self) -> xr.Dataset:
        """Daily 10 cm series of every day fed so far (incl. spin-up): ``sm`` (station, time), m3 m-3."""
        self._close_day()
        n, t = len(self.table), len(self._days)
        times = pd.DatetimeIndex(self._days)
        raw = np.array(self._x).T.reshape(n, t) if t else np.zeros((n, 0))
        temp = np.array(self._temp).T.reshape(n, t) if t else np.zeros((n, 0))
        rng = rng_for(self.seed, "stations", self.year)
        innov = rng.standard_normal((max(n, 1), max(t, 1)))[:n, :t]
        eta = np.zeros((n, t))
        for i in range(t):  # AR(1), r1 = 0.9, unit variance, scaled per station
            eta[:, i] = innov[:, 0] if i == 0 else 0.9 * eta[:, i - 1] + np.sqrt(1 - 0.81) * innov[:, i]
        sm = self.a[:, None] + self.b[:, None] * raw + self.sigma_eta[:, None] * eta
        sm = np.maximum(sm, 0.0)
        gaps = _gap_mask(rng, n, t, 0.05)
        frozen = temp < 273.15
        sm = np.where(gaps | frozen, np.nan, sm).astype(np.float32)
        attrs = cf_attrs("sm", long_name="in situ volumetric soil moisture at 10 cm, daily mean")
        ds = xr.Dataset({"sm": ((STATION, TIME), sm, attrs)}, coords=_site_coords(self.table, times))
        ds.attrs.update({
            "title": "synthetic 10 cm soil-moisture stations",
            "method": (f"a + b*((1-w)*SWI_T(theta_0-5cm + delta) + w*(theta_5-40cm + delta)) + AR(1); "
                       f"T={self.swi_days:g} d, w={self.w_l2:g}; missing when T10 < 0 C and in 1-10 d gaps"),
            "seed": self.seed, "year": self.year, "dropped_sites": ",".join(self.dropped),
            "source": "sm_nb synthetic scenario, spec section 11",
        })
        return ds


def _gap_mask(rng: np.random.Generator, n: int, t: int, fraction: float) -> np.ndarray:
    """Random 1–10 day blocks covering about ``fraction`` of each station's days."""
    mask = np.zeros((n, t), bool)
    if t == 0:
        return mask
    n_blocks = rng.poisson(fraction * t / 5.5, max(n, 1))[:n]
    for s in range(n):
        starts = rng.integers(0, t, n_blocks[s])
        lengths = rng.integers(1, 11, n_blocks[s])
        for a, b in zip(starts, lengths, strict=True):
            mask[s, a : a + b] = True
    return mask


class GaugeRecorder:
    """Daily rain gauges: round₀.₁(κ·P_true(point)), κ = 0.92 rain / 0.75 snow (spec §11).

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    year : int
    gauges : DataFrame
        Columns ``name``, ``lat``, ``lon``, ``elevation``; sites outside the grid are dropped.
    fine_grid : Grid
    """

    def __init__(self, cfg: ScenarioConfig, seed: int, year: int, gauges: pd.DataFrame, fine_grid: grids.Grid) -> None:
        self.cfg, self.seed, self.year, self.grid = cfg, int(seed), int(year), fine_grid
        self.table, self._iy, self._ix, self.dropped = _sites(gauges, fine_grid, "gauges")
        self._days: list[pd.Timestamp] = []
        self._values: list[np.ndarray] = []

    def __repr__(self) -> str:
        return f"<GaugeRecorder {len(self.table)} gauges, {len(self._days)} days>"

    def add_day(self, date: Any, precip_fine: np.ndarray, snow_fraction: np.ndarray | float | None = None) -> None:
        """Record one day.

        Parameters
        ----------
        date : date-like
        precip_fine : ndarray (lat, lon) or (steps, lat, lon), mm
            True precipitation of the day (summed over the leading axis when 3-D).
        snow_fraction : ndarray (lat, lon) or float, optional, 1
            Solid fraction (0 = all rain when omitted).
        """
        p = np.asarray(precip_fine, dtype=float)
        if p.ndim == 3:
            p = p.sum(axis=0)
        if p.shape != self.grid.shape:
            raise DataError(f"precip_fine has shape {np.shape(precip_fine)}; expected {self.grid.shape} or (steps, *{self.grid.shape})")
        point = p[self._iy, self._ix]
        sf = 0.0 if snow_fraction is None else np.broadcast_to(np.asarray(snow_fraction, float), self.grid.shape)[self._iy, self._ix]
        kappa = KAPPA_RAIN * (1 - sf) + KAPPA_SNOW * sf
        self._days.append(pd.Timestamp(date).normalize())
        self._values.append(np.round(kappa * np.maximum(point, 0.0), 1))

    def to_dataset(self) -> xr.Dataset:
        """``precipitation`` (station, time), mm d-1, of every day recorded."""
        n, t = len(self.table), len(self._days)
        vals = np.array(self._values).T.reshape(n, t).astype(np.float32) if t else np.zeros((n, 0), np.float32)
        attrs = cf_attrs("precipitation", long_name="rain-gauge daily precipitation (undercatch, 0.1 mm resolution)")
        ds = xr.Dataset({"precipitation": ((STATION, TIME), vals, attrs)}, coords=_site_coords(self.table, pd.DatetimeIndex(self._days)))
        ds.attrs.update({
            "title": "synthetic daily rain gauges",
            "method": f"round(kappa * P_true(nearest pixel), 0.1 mm), kappa = {KAPPA_RAIN} rain / {KAPPA_SNOW} snow",
            "seed": self.seed, "year": self.year, "dropped_sites": ",".join(self.dropped),
            "source": "sm_nb synthetic scenario, spec section 11",
        })
        return ds
