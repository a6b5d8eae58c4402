"""Thermal state: skin, 2.5 cm and deep soil temperature, canopy temperature, freezing, lakes.

``Thermal(cfg, static).day(weather, veg, theta_daily)`` builds a :class:`DayThermal` whose
:meth:`DayThermal.at` evaluates the diurnal cycle at any local solar hour — a scalar, or a
fine-grid array when a product samples a fixed UTC time (spec §7). The skin curve is a
Göttsche–Olesen-type shape (cosine by day peaking at 13:00, exponential night decay) scaled
by a thermal-inertia amplitude; soil at 2.5 cm is its first three harmonics damped and
lagged by the heat-conduction solution; T∞ is the 3-day running mean soil temperature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..config import ScenarioConfig
from ..exceptions import ConfigError, DataError
from ..grids import fine_grid
from .classes import SNOW_ICE
from .vegetation import DayVegetation
from .weather import DayWeather, as_timestamp, static_array

__all__ = [
    "DayThermal",
    "Thermal",
    "skin_shape",
    "thermal_inertia",
    "damping_depth",
    "T_FREEZE",
    "OMEGA",
]

T_FREEZE = 273.15  # K
OMEGA = 2 * np.pi / 86400.0  # s-1
Z_SOIL = 0.025  # m, depth of the "surface" soil temperature
P_DRY, P_SAT = 700.0, 2250.0  # J m-2 K-1 s-1/2 [A]
G0 = 130.0  # W m-2, clear-sky ground-heat amplitude [A]
KAPPA_DRY, KAPPA_WET = 0.2e-6, 0.8e-6  # m2 s-1 [A]
HOUR_MAX, SUNRISE, DECAY_START, TAU_NIGHT = 13.0, 6.0, 18.0, 4.0  # h LST [A]
CANOPY_PEAK = 15.0  # h LST [A]
N_HARMONICS = 3
SNOW_SOIL_DAMPING = 0.3  # soil diurnal amplitude factor under snow [A]


def skin_shape(n: int = 1440) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The normalised diurnal skin-temperature shape s(h) and its harmonics.

    Day (06–18 LST): cos(π(h − 13)/ω) with ω = 2(13 − 6) h, zero at sunrise; night: exponential
    decay (τ = 4 h) from the 18:00 value towards the level that meets the next sunrise
    (Göttsche & Olesen 2001 type). Scaled to min −1, max +1 and centred on its daily mean.

    Returns
    -------
    hours : ndarray (n + 1,), h
    s : ndarray (n + 1,), 1 — zero daily mean, range 2
    harmonics : ndarray (3, 2) — (a_k, b_k) of s ≈ Σ a_k cos(kΩh) + b_k sin(kΩh)
    """
    h = np.linspace(0.0, 24.0, n + 1)
    width = 2 * (HOUR_MAX - SUNRISE)
    day = np.cos(np.pi * (h - HOUR_MAX) / width)
    s_ss = np.cos(np.pi * (DECAY_START - HOUR_MAX) / width)
    e = np.exp(-(24.0 - (DECAY_START - SUNRISE)) / TAU_NIGHT)
    floor = -s_ss * e / (1 - e)  # continuity at the next sunrise (value 0)
    hh = np.where(h >= DECAY_START, h, h + 24.0)
    night = floor + (s_ss - floor) * np.exp(-(hh - DECAY_START) / TAU_NIGHT)
    s = np.where((h >= SUNRISE) & (h < DECAY_START), day, night)
    s = 2 * (s - s.min()) / (s.max() - s.min()) - 1
    s -= s[:-1].mean()
    k = np.arange(1, N_HARMONICS + 1)[:, None]
    arg = k * 2 * np.pi * h[None, :-1] / 24.0
    harm = np.stack([2 * np.mean(s[:-1] * np.cos(arg), axis=1), 2 * np.mean(s[:-1] * np.sin(arg), axis=1)], axis=1)
    return h, s, harm


_HOURS, _SHAPE, _HARM = skin_shape()


def thermal_inertia(rel_theta: np.ndarray) -> np.ndarray:
    """P(θ) = P_dry + (P_sat − P_dry)√(θ/θ_s), J m-2 K-1 s-1/2 (spec §7 [A])."""
    return P_DRY + (P_SAT - P_DRY) * np.sqrt(np.clip(rel_theta, 0.0, 1.0))


def damping_depth(rel_theta: np.ndarray) -> np.ndarray:
    """Diurnal damping depth d = √(2κ_h/Ω), m, κ_h = 0.2 … 0.8 × 10⁻⁶ m2 s-1 rising as √(θ/θ_s)."""
    kappa = KAPPA_DRY + (KAPPA_WET - KAPPA_DRY) * np.sqrt(np.clip(rel_theta, 0.0, 1.0))
    return np.sqrt(kappa * (2 / OMEGA))


@dataclass
class DayThermal:
    """Diurnal thermal state of one day; evaluate it with :meth:`at` (fine-grid float32 arrays).

    Attributes
    ----------
    date : pd.Timestamp
    t_skin_mean : daily mean land skin (= 2.5 cm soil) temperature, K
    amplitude : skin diurnal half-amplitude A_s, K
    coef : (2, 3, n_lat, n_lon) cos/sin coefficients of the 2.5 cm harmonics, K
    t_deep : T∞, 3-day running mean soil temperature, K
    t_air : daily mean air temperature, K
    dtr : diurnal air-temperature range, K
    water_fraction : open-water fraction, 1
    t_water : lake surface temperature, K
    cold_cap : bool, skin and soil capped at 273.15 K (glacier/snow-covered pixels)
    """

    date: pd.Timestamp
    t_skin_mean: np.ndarray
    amplitude: np.ndarray
    coef: np.ndarray
    t_deep: np.ndarray
    t_air: np.ndarray
    dtr: np.ndarray
    water_fraction: np.ndarray
    t_water: np.ndarray
    cold_cap: np.ndarray

    @staticmethod
    def _hour(hour_local: float | np.ndarray) -> np.ndarray | float:
        h = np.asarray(hour_local, dtype=np.float32)
        return float(h % 24.0) if h.ndim == 0 else h % np.float32(24.0)

    def _cap(self, t: np.ndarray) -> np.ndarray:
        return np.where(self.cold_cap, np.minimum(t, T_FREEZE), t)

    def skin(self, hour_local: float | np.ndarray) -> np.ndarray:
        """Radiometric skin temperature (land blended with lake surface by water fraction), K."""
        h = self._hour(hour_local)
        s = np.interp(h, _HOURS, _SHAPE).astype(np.float32)
        land = self._cap(self.t_skin_mean + self.amplitude * s)
        return ((1 - self.water_fraction) * land + self.water_fraction * self.t_water).astype(np.float32)

    def soil(self, hour_local: float | np.ndarray) -> np.ndarray:
        """Soil temperature at 2.5 cm, K (land only)."""
        h = self._hour(hour_local)
        w = np.float32(2 * np.pi / 24.0)
        c1, s1 = np.cos(w * h), np.sin(w * h)
        c2, s2 = c1 * c1 - s1 * s1, 2 * s1 * c1
        c3, s3 = c2 * c1 - s2 * s1, s2 * c1 + c2 * s1
        t = self.t_skin_mean.copy()
        for k, (c, s) in enumerate(((c1, s1), (c2, s2), (c3, s3))):
            t += self.coef[0, k] * c + self.coef[1, k] * s
        return self._cap(t).astype(np.float32)

    def canopy(self, hour_local: float | np.ndarray) -> np.ndarray:
        """Canopy temperature = air temperature curve, half-amplitude DTR/2, peak 15:00 LST, K."""
        h = self._hour(hour_local)
        return (self.t_air + 0.5 * self.dtr * np.cos(np.float32(2 * np.pi / 24.0) * (h - CANOPY_PEAK))).astype(np.float32)

    def at(self, hour_local: float | np.ndarray) -> dict[str, np.ndarray]:
        """All temperatures at ``hour_local`` (LST, h; scalar or fine-grid array).

        Returns
        -------
        dict with ``t_skin``, ``t_2p5``, ``t_deep``, ``t_canopy`` (K, float32) and ``frozen``
        (bool, t_2p5 < 273.15 K).
        """
        t_soil = self.soil(hour_local)
        return {
            "t_skin": self.skin(hour_local),
            "t_2p5": t_soil,
            "t_deep": self.t_deep,
            "t_canopy": self.canopy(hour_local),
            "frozen": t_soil < T_FREEZE,
        }

    def lst_modis(self, rng: np.random.Generator, hour: float = 10.5, jitter: float = 0.5,
                  noise: float = 1.0) -> np.ndarray:
        """MODIS-like LST: skin at ``hour`` ± U(``jitter``) h (one view time per day) + N(0, ``noise``) K."""
        h = hour + rng.uniform(-jitter, jitter)
        t = self.skin(h)
        return (t + rng.standard_normal(t.shape, dtype=np.float32) * np.float32(noise)).astype(np.float32)

    def __repr__(self) -> str:
        return (
            f"<DayThermal {self.date.date()} skin mean {np.nanmean(self.t_skin_mean):.1f} K, "
            f"A_s {np.nanmean(self.amplitude):.1f} K>"
        )


class Thermal:
    """Daily thermal state (spec §7); keeps the last days' soil means for T∞.

    Parameters
    ----------
    cfg : ScenarioConfig
    static : xr.Dataset
        Uses ``theta_s``, ``t_ann``, ``land_cover`` and ``water_fraction``.

    Notes
    -----
    Spec §7, values [A]: A_s = DTR/2 + (1 − f_c) G₀ (1 − 0.7 cloud)/(P(θ)√Ω), G₀ 130 W m-2,
    P(θ) 700 → 2250 J m-2 K-1 s-1/2 (→ 20–30 K dry bare, 6–10 K wet meadow); daily mean skin
    T̄_s = T̄ + 3 (1 − f_c)(1 − θ/θ_s)(1 − 0.7 cloud) K. Harmonic k at depth z: damped by
    exp(−z√k/d), lagged by z√k/d, d = √(2κ_h/Ω). Canopy = air curve (peak 15:00). Glacier
    pixels (and snow-covered pixels if ``snow`` is given) are capped at 273.15 K, with the
    soil amplitude × 0.3 under snow. Skin over lakes = lake surface temperature blended by
    the water fraction; ``t_2p5``/``t_deep`` are the land soil's.
    """

    def __init__(self, cfg: ScenarioConfig, static: xr.Dataset) -> None:
        if not isinstance(cfg, ScenarioConfig):
            raise ConfigError(f"cfg is {type(cfg).__name__}; expected a ScenarioConfig (see get_config)")
        self.cfg = cfg
        self.grid = fine_grid(cfg)
        shape = self.grid.shape
        self.theta_s = static_array(static, "theta_s", shape)
        self.t_ann = static_array(static, "t_ann", shape)
        self.water = (
            np.clip(static_array(static, "water_fraction", shape), 0, 1)
            if "water_fraction" in static
            else np.zeros(shape, np.float32)
        )
        self.glacier = np.asarray(static["land_cover"].values) == SNOW_ICE if "land_cover" in static else np.zeros(shape, bool)
        self._history: dict[pd.Timestamp, np.ndarray] = {}
        self._water_cache: tuple[pd.Timestamp, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"<Thermal config={self.cfg.name!r} grid {self.grid.shape}, {len(self._history)} days of T∞ history>"

    def t_water(self, date: Any) -> np.ndarray:
        """Lake surface temperature, K (fine grid): max(0, T_ann + 4 + 11 cos(2π(doy − 215)/365)) °C [A].

        Peaks in early August (≈ 15 °C for Qinghai Lake, T_ann ≈ 0.5 °C); at 0 °C (ice) in
        winter, i.e. ice-free April–November below ~4000 m, shorter on the high plateau.
        """
        d = as_timestamp(date)
        if self._water_cache is None or self._water_cache[0] != d:
            c = np.float32(np.cos(2 * np.pi * (d.day_of_year - 215) / 365.0))
            t = T_FREEZE + np.maximum(self.t_ann + 4.0 + 11.0 * c, 0.0)
            self._water_cache = (d, t.astype(np.float32))
        return self._water_cache[1]

    def day(self, weather: DayWeather, veg: DayVegetation, theta_daily: np.ndarray,
            snow: np.ndarray | None = None) -> DayThermal:
        """Thermal state of ``weather.date`` from today's weather, vegetation and daily mean θ (m3 m-3)."""
        shape = self.grid.shape
        theta = np.asarray(theta_daily, dtype=np.float32)
        for name, arr in (("theta_daily", theta), ("weather.t_mean", weather.t_mean), ("veg.fc", veg.fc)):
            if np.shape(arr) != shape:
                raise DataError(f"{name} has shape {np.shape(arr)}; expected the fine-grid shape {shape}")
        d = weather.date
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.nan_to_num(np.clip(theta / self.theta_s, 0.0, 1.0), nan=0.0)
        bare = 1.0 - np.clip(veg.fc, 0.0, 1.0)
        sun = 1.0 - 0.7 * weather.cloud
        amp = 0.5 * weather.dtr + bare * sun * (G0 / np.sqrt(OMEGA).item()) / thermal_inertia(rel)
        t_air = weather.t_mean + np.float32(T_FREEZE)
        mean = t_air + 3.0 * bare * (1.0 - rel) * sun
        cold = self.glacier if snow is None else (self.glacier | np.asarray(snow, dtype=bool))
        mean = np.where(cold, np.minimum(mean, T_FREEZE), mean).astype(np.float32)

        delta = (Z_SOIL / damping_depth(rel)).astype(np.float32)
        coef = np.empty((2, N_HARMONICS, *shape), dtype=np.float32)
        soil_amp = amp if snow is None else np.where(np.asarray(snow, bool), SNOW_SOIL_DAMPING * amp, amp)
        for k in range(N_HARMONICS):
            a_k, b_k = _HARM[k]
            r_k, phi_k = np.float32(np.hypot(a_k, b_k)), np.float32(np.arctan2(b_k, a_k))
            dk = delta * np.float32(np.sqrt(k + 1))
            mag = soil_amp * r_k * np.exp(-dk)
            dk += phi_k
            coef[0, k] = mag * np.cos(dk)
            coef[1, k] = mag * np.sin(dk)

        self._history = {t: v for t, v in self._history.items() if d - pd.Timedelta(days=2) <= t < d}
        self._history[d] = mean
        t_deep = (sum(self._history.values()) / len(self._history)).astype(np.float32)
        return DayThermal(
            date=d,
            t_skin_mean=mean,
            amplitude=amp.astype(np.float32),
            coef=coef,
            t_deep=t_deep,
            t_air=t_air.astype(np.float32),
            dtr=weather.dtr,
            water_fraction=self.water,
            t_water=self.t_water(d),
            cold_cap=cold,
        )
