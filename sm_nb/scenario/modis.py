"""MODIS Terra products emulated on the fine grid: MOD11A1 LST, MOD13A2 NDVI/EVI, MOD09A1 reflectance.

The generator calls each accumulator once per simulated day with that day's state; an
compositing accumulator's ``add_day`` returns ``(start_date, {name: fine array})`` whenever a
window is complete, else ``None``; ``flush()`` returns the last, partial window at the end of a
season. The daily LST accumulator returns its ``{name: fine array}`` every day.

Compositing windows follow the MODIS calendar of each year: 16-day windows start on DOY
1, 17, 33, … (MOD13A2) and 8-day windows on DOY 1, 9, 17, … (MOD09A1); the last window of a
year is cut at 31 December. A window is keyed by its calendar start even when only part
of it was simulated: days before the first and after the last ``add`` call simply do not
contribute (MODIS "partial" composites at the season edges — e.g. the 2017 window of DOY
81, 22 Mar – 6 Apr, holds only the days that were fed, which include the spin-up days if
the generator feeds them). :attr:`windows` records (start, number of days used) per window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..config import ScenarioConfig, check_seed
from ..exceptions import DataError
from ..grids import fine_grid
from .randomfields import rng_for
from .thermal import DayThermal
from .vegetation import BANDS, evi_from_reflectance, ndvi_from_reflectance
from .weather import DayWeather, as_timestamp

__all__ = [
    "ModisLST",
    "ModisVI",
    "ModisReflectance",
    "modis_window",
    "observed_reflectance",
    "LST_HOURS",
]

#: Terra local solar overpass hours (day, night) [A].
LST_HOURS = (10.5, 22.5)
_REFL_NOISE_ABS, _REFL_NOISE_REL = 0.003, 0.02  # surface reflectance noise σ = 0.003 + 2 % [A]

Composite = tuple[pd.Timestamp, dict[str, np.ndarray]]


def modis_window(date: Any, length: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first, last) day of the MODIS compositing window of ``length`` days containing ``date``.

    Windows start on DOY 1 + k·length of each year; the last one ends on 31 December.
    """
    d = as_timestamp(date)
    start_doy = 1 + ((d.day_of_year - 1) // length) * length
    start = pd.Timestamp(year=d.year, month=1, day=1) + pd.Timedelta(days=start_doy - 1)
    end = min(start + pd.Timedelta(days=length - 1), pd.Timestamp(year=d.year, month=12, day=31))
    return start, end


def observed_reflectance(refl: dict[str, np.ndarray], seed: int, date: Any) -> dict[str, np.ndarray]:
    """Reflectances with MODIS-like retrieval noise, σ = 0.003 + 0.02 ρ per band and pixel [A].

    Deterministic per (seed, date) — MOD13A2 and MOD09A1 see the same noisy observation.
    """
    d = as_timestamp(date)
    rng = rng_for(seed, "modis/reflectance", d.year, d.day_of_year)
    out = {}
    for b in BANDS:
        rho = np.asarray(refl[b], dtype=np.float32)
        eps = rng.standard_normal(rho.shape, dtype=np.float32)
        out[b] = rho + eps * (np.float32(_REFL_NOISE_ABS) + np.float32(_REFL_NOISE_REL) * np.abs(rho))
    return out


class ModisLST:
    """MOD11A1-like daily LST (K): skin temperature at 10:30 / 22:30 LST, NaN under cloud or snow.

    The view time varies by ± 0.5 h from day to day (one value per overpass and day) and each
    pixel gets N(0, 1 K) noise [A] (spec §7). A daily product: :meth:`add_day` returns the
    day's ``{"lst_day", "lst_night"}`` every call.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    year, static : optional
        Accepted for a uniform constructor; draws are keyed by each date's year and DOY.
    """

    def __init__(self, cfg: ScenarioConfig, seed: int, year: int | None = None, static: Any = None,
                 jitter_h: float = 0.5, noise_k: float = 1.0) -> None:
        self.cfg, self.seed, self.year = cfg, check_seed(seed), year
        self.shape = fine_grid(cfg).shape
        self.jitter_h, self.noise_k = float(jitter_h), float(noise_k)

    def __repr__(self) -> str:
        return f"<ModisLST {self.shape}, view time ±{self.jitter_h} h, noise {self.noise_k} K>"

    def add_day(self, date: Any, thermal: DayThermal, weather: DayWeather, veg: Any = None,
                snow: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """LST of ``date`` (K, float32, NaN where cloudy or where ``snow`` — bool, SWE > 2 mm — is set).

        ``veg`` is accepted and unused (the skin temperature already contains the canopy).
        """
        d = as_timestamp(date)
        rng = rng_for(self.seed, "modis/lst", d.year, d.day_of_year)
        snow_mask = np.zeros(self.shape, bool) if snow is None else np.asarray(snow, dtype=bool)
        out = {}
        for name, hour, clear in (("lst_day", LST_HOURS[0], weather.clear_day),
                                  ("lst_night", LST_HOURS[1], weather.clear_night)):
            lst = thermal.lst_modis(rng, hour=hour, jitter=self.jitter_h, noise=self.noise_k)
            out[name] = np.where(clear & ~snow_mask, lst, np.float32(np.nan)).astype(np.float32)
        return out

    def flush(self) -> list[Composite]:
        """Nothing is pending for a daily product."""
        return []


class _Compositor:
    """Shared window bookkeeping of the compositing accumulators."""

    length = 16

    def __init__(self, cfg: ScenarioConfig, seed: int, year: int | None = None, static: Any = None) -> None:
        self.cfg, self.seed, self.year = cfg, check_seed(seed), year
        self.shape = fine_grid(cfg).shape
        self.windows: list[tuple[pd.Timestamp, int]] = []
        self._start: pd.Timestamp | None = None
        self._end: pd.Timestamp | None = None
        self._n = 0
        self._ready: list[Composite] = []

    def __repr__(self) -> str:
        cur = f"open window {self._start.date()} ({self._n} d)" if self._start is not None else "no open window"
        return f"<{type(self).__name__} {self.length}-day, {len(self.windows)} emitted, {cur}>"

    def _reset(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _result(self) -> dict[str, np.ndarray]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _update(self, obs: dict[str, np.ndarray], usable: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    def _emit(self) -> Composite:
        out = (self._start, self._result())
        self.windows.append((self._start, self._n))
        self._start = self._end = None
        self._n = 0
        return out

    def add_day(self, date: Any, refl: dict[str, np.ndarray], clear: DayWeather | np.ndarray,
                snow: np.ndarray | None = None) -> Composite | None:
        """Add one day: reflectances (dict of b01 … b07), the 10:30 clear-sky flag, optional snow mask.

        ``clear`` is a bool array or the day's :class:`DayWeather` (its ``clear_day`` is used).

        Returns the finished composite when ``date`` is the last day of its window, else
        ``None``. With gaps in the day sequence a day past the open window first closes it;
        if two windows finish in one call the second is returned by the next call or by
        :meth:`flush`.
        """
        d = as_timestamp(date)
        missing = [b for b in BANDS if b not in refl]
        if missing:
            raise DataError(f"refl lacks band(s) {missing}; expected keys {list(BANDS)}")
        if self._start is not None and d < self._start:
            raise DataError(f"date {d.date()} is before the open window starting {self._start.date()}; "
                            "expected days in increasing order")
        if self._start is not None and d > self._end:
            self._ready.append(self._emit())
        if self._start is None:
            self._start, self._end = modis_window(d, self.length)
            self._reset()
        usable = np.asarray(clear.clear_day if isinstance(clear, DayWeather) else clear, dtype=bool)
        if snow is not None:
            usable = usable & ~np.asarray(snow, dtype=bool)
        self._update(observed_reflectance(refl, self.seed, d), usable)
        self._n += 1
        if d == self._end:
            self._ready.append(self._emit())
        return self._ready.pop(0) if self._ready else None

    def flush(self) -> list[Composite]:
        """Emit everything pending, including the open (partial) window."""
        out, self._ready = self._ready, []
        if self._start is not None:
            out.append(self._emit())
        return out


class ModisVI(_Compositor):
    """MOD13A2-like 16-day NDVI and EVI by maximum-NDVI compositing of clear, snow-free days.

    NDVI and EVI are computed from the noisy daily reflectances (b01, b02, b03); per pixel the
    day with the highest NDVI wins (constrained-view MVC without the view-angle term); NaN
    where no usable day occurred. Emits ``(start, {"ndvi", "evi"})``.
    """

    length = 16

    def _reset(self) -> None:
        self._ndvi = np.full(self.shape, -np.inf, np.float32)
        self._evi = np.full(self.shape, np.nan, np.float32)

    def _update(self, obs: dict[str, np.ndarray], usable: np.ndarray) -> None:
        ndvi = ndvi_from_reflectance(obs["b01"], obs["b02"])
        better = usable & (ndvi > self._ndvi)
        self._ndvi = np.where(better, ndvi, self._ndvi)
        self._evi = np.where(better, evi_from_reflectance(obs["b01"], obs["b02"], obs["b03"]), self._evi)

    def _result(self) -> dict[str, np.ndarray]:
        ndvi = np.where(np.isfinite(self._ndvi), self._ndvi, np.nan).astype(np.float32)
        return {"ndvi": ndvi, "evi": self._evi.astype(np.float32)}


class ModisReflectance(_Compositor):
    """MOD09A1-like 8-day surface reflectance (bands 1, 2, 3, 6, 7) by minimum-blue compositing.

    Per pixel the usable (clear, snow-free) day with the lowest band-3 (blue) reflectance is
    kept, all bands from that day; NaN where no usable day. Emits
    ``(start, {"sur_refl_b01", …, "sur_refl_b07"})``.
    """

    length = 8

    def _reset(self) -> None:
        self._blue = np.full(self.shape, np.inf, np.float32)
        self._bands = {b: np.full(self.shape, np.nan, np.float32) for b in BANDS}

    def _update(self, obs: dict[str, np.ndarray], usable: np.ndarray) -> None:
        better = usable & (obs["b03"] < self._blue)
        self._blue = np.where(better, obs["b03"], self._blue)
        for b in BANDS:
            self._bands[b] = np.where(better, obs[b], self._bands[b])

    def _result(self) -> dict[str, np.ndarray]:
        return {f"sur_refl_{b}": v.astype(np.float32) for b, v in self._bands.items()}
