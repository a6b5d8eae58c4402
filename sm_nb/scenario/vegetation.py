"""Vegetation phenology (green cover, NDVI, VWC) and the optical surface (MODIS bands 1, 2, 3, 6, 7).

``Vegetation(cfg, seed, year, static).day(date, theta_anom30)`` gives the true green cover
``fc``, NDVI and SMAP-form vegetation water content of one day (spec §5);
:func:`reflectance` mixes vegetation and moisture-darkened soil end members into MODIS
surface reflectances, from which the MODIS products and the soil indices (NDVI, EVI, NSDSI)
are computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..config import ScenarioConfig, check_seed
from ..exceptions import ConfigError, DataError
from ..grids import cldas_grid, fine_grid
from .classes import ALPINE_STEPPE, MEADOW, PLAYA, SNOW_ICE, WATER
from .randomfields import rng_for
from .weather import SpectralField, as_timestamp, static_array

__all__ = [
    "DayVegetation",
    "Vegetation",
    "BANDS",
    "ENDMEMBERS",
    "double_logistic",
    "fc_from_ndvi",
    "ndvi_from_fc",
    "vwc_smap",
    "soil_endmembers",
    "reflectance",
    "ndvi_from_reflectance",
    "evi_from_reflectance",
]

#: MODIS bands simulated: b01 red, b02 NIR, b03 blue, b06 1.64 µm, b07 2.13 µm.
BANDS = ("b01", "b02", "b03", "b06", "b07")
#: End-member reflectances per band (spec §5 [A]; salt crust, snow/ice and water [A] here).
#: Deviation from spec §5: soil NIR (b02) lowered from 0.32 → 0.29 (sand) and 0.18 → 0.13
#: (meadow soil) so that bare-soil NDVI is 0.07 / 0.13 instead of 0.12 / 0.29 — the spec's
#: values put bare soil above its own NDVI targets (desert 0.05–0.10, dormant meadow
#: 0.10–0.20). SWIR (b06, b07, hence NSDSI) and the other bands are the spec's.
ENDMEMBERS: dict[str, dict[str, float]] = {
    "vegetation": {"b03": 0.03, "b01": 0.04, "b02": 0.45, "b06": 0.25, "b07": 0.12},
    "desert_sand": {"b03": 0.15, "b01": 0.25, "b02": 0.29, "b06": 0.40, "b07": 0.35},
    "meadow_soil": {"b03": 0.06, "b01": 0.10, "b02": 0.13, "b06": 0.26, "b07": 0.20},
    "salt_crust": {"b03": 0.35, "b01": 0.40, "b02": 0.43, "b06": 0.42, "b07": 0.36},
    "snow_ice": {"b03": 0.75, "b01": 0.72, "b02": 0.65, "b06": 0.12, "b07": 0.08},
    "water": {"b03": 0.05, "b01": 0.03, "b02": 0.02, "b06": 0.01, "b07": 0.005},
}
#: Moisture-darkening coefficients c_b and residual fractions φ_b (spec §5 [A]).
DARKENING_C = {"b01": 2.0, "b02": 2.0, "b03": 2.0, "b06": 2.5, "b07": 3.2}
DARKENING_PHI = {"b01": 0.5, "b02": 0.5, "b03": 0.5, "b06": 0.35, "b07": 0.25}
GRASS = (ALPINE_STEPPE, MEADOW)
GREENUP_DELAY = 5.0 / 100.0  # days per m above 3500 m [A]
_WIDTH_UP, _WIDTH_DOWN = 8.0, 10.0  # days, logistic widths [A]
_ANOM_SCALE = 0.04  # m3 m-3 of 30-day θ anomaly giving tanh(1) of the ±15 % f_max scaling [A]


@dataclass
class DayVegetation:
    """One day of vegetation state on the fine grid (float32 arrays).

    Attributes
    ----------
    date : pd.Timestamp
    fc : green vegetation cover, 1
    ndvi : true NDVI of the land part, 1
    vwc : vegetation water content (SMAP form), kg m-2
    """

    date: pd.Timestamp
    fc: np.ndarray
    ndvi: np.ndarray
    vwc: np.ndarray

    def __repr__(self) -> str:
        return (
            f"<DayVegetation {self.date.date()} fc {np.nanmean(self.fc):.2f}, "
            f"NDVI {np.nanmean(self.ndvi):.2f}, VWC {np.nanmean(self.vwc):.2f} kg m-2>"
        )


def double_logistic(doy: float, greenup: np.ndarray, senescence: np.ndarray,
                    width_up: float = _WIDTH_UP, width_down: float = _WIDTH_DOWN) -> np.ndarray:
    """Seasonal greenness g ∈ [0, 1]: rising logistic at ``greenup``, falling at ``senescence`` (DOY).

    g = σ((t − t_up)/w_up) · (1 − σ((t − t_down)/w_down)), σ the logistic function; the two
    dates are the 50 % points of green-up and senescence.
    """
    up = 1.0 / (1.0 + np.exp(-(doy - greenup) / width_up))
    down = 1.0 / (1.0 + np.exp((doy - senescence) / width_down))
    return (up * down).astype(np.float32)


def ndvi_from_fc(fc: np.ndarray, soil_red: np.ndarray, soil_nir: np.ndarray) -> np.ndarray:
    """NDVI of a linear mixture of green vegetation (cover ``fc``) and dry soil (red, NIR reflectances).

    NDVI = (c + f (a − c)) / (d + f (b − d)), a/b = vegetation NIR − red / NIR + red,
    c/d = the same for the soil (the mixing model of :func:`reflectance` with θ = 0).
    """
    veg = ENDMEMBERS["vegetation"]
    a, b = veg["b02"] - veg["b01"], veg["b02"] + veg["b01"]
    c, d = soil_nir - soil_red, soil_nir + soil_red
    fc = np.asarray(fc, dtype=np.float32)
    return ((c + fc * (a - c)) / (d + fc * (b - d))).astype(np.float32)


def fc_from_ndvi(ndvi: np.ndarray, soil_red: np.ndarray, soil_nir: np.ndarray) -> np.ndarray:
    """Green cover whose dry-soil mixture has ``ndvi`` (inverse of :func:`ndvi_from_fc`), clipped to 0–1.

    f = (N d − c) / ((a − c) − N (b − d)); NDVI below the bare-soil NDVI gives f = 0.
    """
    veg = ENDMEMBERS["vegetation"]
    a, b = veg["b02"] - veg["b01"], veg["b02"] + veg["b01"]
    c, d = soil_nir - soil_red, soil_nir + soil_red
    n = np.asarray(ndvi, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (n * d - c) / ((a - c) - n * (b - d))
    return np.clip(np.nan_to_num(f, nan=0.0), 0.0, 1.0).astype(np.float32)


def vwc_smap(ndvi: np.ndarray, ndvi_min: np.ndarray, ndvi_max: np.ndarray, f_stem: np.ndarray) -> np.ndarray:
    """Vegetation water content, kg m-2 (SMAP ancillary form).

    Notes
    -----
    VWC = max(0, 1.9134 NDVI² − 0.3215 NDVI) + F_stem (NDVI_max − NDVI_min)/(1 − NDVI_min)
    (spec §5 [S]; foliage term after Jackson et al. 1999, stem term from the annual NDVI range).
    """
    ndvi = np.asarray(ndvi, dtype=np.float32)
    foliage = np.maximum(0.0, 1.9134 * ndvi**2 - 0.3215 * ndvi)
    with np.errstate(divide="ignore", invalid="ignore"):
        stem = np.where(ndvi_min < 1, f_stem * (ndvi_max - ndvi_min) / (1.0 - ndvi_min), 0.0)
    return (foliage + np.maximum(stem, 0.0)).astype(np.float32)


def soil_endmembers(static: xr.Dataset) -> dict[str, np.ndarray]:
    """Dry-soil reflectance per band and pixel from texture and land cover.

    Sand fraction blends the meadow-soil (sand ≤ 0.40) and desert-sand (≥ 0.85) end members
    linearly; playa pixels get salt crust, snow/ice pixels snow (which does not darken).
    Returns float32 arrays per band plus ``"darkens"`` (1 where moisture darkening applies).
    """
    sand = np.asarray(static["sand"].values, dtype=np.float32)
    lc = np.asarray(static["land_cover"].values)
    w = np.clip((sand - 0.40) / 0.45, 0.0, 1.0)
    playa = lc == PLAYA
    if "playa" in static:
        playa |= np.asarray(static["playa"].values, dtype=bool)
    snow = lc == SNOW_ICE
    out: dict[str, np.ndarray] = {}
    for b in BANDS:
        rho = w * ENDMEMBERS["desert_sand"][b] + (1 - w) * ENDMEMBERS["meadow_soil"][b]
        rho = np.where(playa, ENDMEMBERS["salt_crust"][b], rho)
        out[b] = np.where(snow, ENDMEMBERS["snow_ice"][b], rho).astype(np.float32)
    out["darkens"] = (~snow).astype(np.float32)
    return out


def reflectance(fc: np.ndarray, theta: np.ndarray, static: xr.Dataset,
                soil: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """MODIS surface reflectances b01, b02, b03, b06, b07 (1) by linear mixing.

    Parameters
    ----------
    fc : ndarray (lat, lon), 1
        Green cover.
    theta : ndarray (lat, lon), m3 m-3
        Surface soil moisture at the overpass.
    static : xr.Dataset
        Uses ``theta_s``, ``water_fraction`` (and ``sand``, ``land_cover`` unless ``soil``).
    soil : dict, optional
        Precomputed :func:`soil_endmembers` (build once, apply many).

    Notes
    -----
    ρ_b = (1 − w)[f_c ρ_b^veg + (1 − f_c) ρ_b^dry (φ_b + (1 − φ_b) exp(−c_b θ/θ_s))] + w ρ_b^water,
    w the open-water fraction (spec §5; exponential darkening after Lobell & Asner 2002).
    """
    soil = soil_endmembers(static) if soil is None else soil
    theta_s = np.asarray(static["theta_s"].values, dtype=np.float32)
    water = np.asarray(static["water_fraction"].values, dtype=np.float32) if "water_fraction" in static else 0.0
    fc = np.clip(np.asarray(fc, dtype=np.float32), 0, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(theta_s > 0, np.clip(np.asarray(theta, dtype=np.float32), 0, None) / theta_s, 0.0)
    rel = np.nan_to_num(rel, nan=0.0).astype(np.float32)
    out = {}
    for b in BANDS:
        phi, c = np.float32(DARKENING_PHI[b]), np.float32(DARKENING_C[b])
        dark = phi + (1 - phi) * np.exp(-c * rel)
        dark = 1 + soil["darkens"] * (dark - 1)
        land = fc * np.float32(ENDMEMBERS["vegetation"][b]) + (1 - fc) * soil[b] * dark
        out[b] = ((1 - water) * land + water * np.float32(ENDMEMBERS["water"][b])).astype(np.float32)
    return out


def ndvi_from_reflectance(b01: np.ndarray, b02: np.ndarray) -> np.ndarray:
    """NDVI = (b2 − b1)/(b2 + b1) (MODIS red b01, NIR b02)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((b02 - b01) / (b02 + b01)).astype(np.float32)


def evi_from_reflectance(b01: np.ndarray, b02: np.ndarray, b03: np.ndarray) -> np.ndarray:
    """EVI = 2.5 (b2 − b1)/(b2 + 6 b1 − 7.5 b3 + 1) (MOD13 EVI, Huete et al. 2002).

    Where the blue band makes the denominator small (bright snow, salt crust, noise) the
    result leaves the MOD13A2 valid range [−0.2, 1]; there MOD13 falls back to the two-band
    EVI2 = 2.5 (b2 − b1)/(b2 + 2.4 b1 + 1) (Jiang et al. 2008), and so does this function.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        evi = 2.5 * (b02 - b01) / (b02 + 6.0 * b01 - 7.5 * b03 + 1.0)
        evi2 = 2.5 * (b02 - b01) / (b02 + 2.4 * b01 + 1.0)
    bad = ~((evi >= -0.2) & (evi <= 1.0))
    return np.where(bad & np.isfinite(evi2), evi2, evi).astype(np.float32)


class Vegetation:
    """Daily vegetation of one season (spec §5).

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    year : int
    static : xr.Dataset
        Uses ``ndvi_min``, ``ndvi_max``, ``f_stem``, ``greenup_doy``, ``senescence_doy``,
        ``elevation``, ``land_cover``, ``theta_s``, ``sand`` (and ``water_fraction``, ``playa``).
    elevation_delay : bool
        Add the green-up delay of 5 d per 100 m above 3500 m here. Off by default because
        ``landcover.make_landcover`` already includes it in ``greenup_doy``; switch it on
        for a static dataset whose ``greenup_doy`` is the base date.

    Notes
    -----
    * g(t) double logistic (widths 8 d up, 10 d down [A]); green-up = ``greenup_doy``
      (which includes the delay of 5 d per 100 m above 3500 m, see ``elevation_delay``) + a
      smooth year-specific jitter (σ 4 d, L 200 km, from ``rng_for(seed, "vegetation",
      year)``); green-up kept ≥ 40 d before senescence.
    * f_c = f_min + (s·f_max − f_min)·g with f_min, f_max the green covers whose mixture with
      the pixel's dry soil has NDVI ``ndvi_min``, ``ndvi_max`` (:func:`fc_from_ndvi`) and, for
      grass (alpine steppe, meadow) only, s = 1 + 0.15 tanh(Δθ₃₀/0.04) from the 30-day
      antecedent θ anomaly Δθ₃₀ (m3 m-3) — ±15 % at most [A]. No vegetation on water and
      glacier pixels.
    * NDVI = NDVI of that dry-soil mixture (:func:`ndvi_from_fc`), so the true NDVI runs from
      ``ndvi_min`` to ``ndvi_max`` (never below the bare-soil NDVI, 0.07–0.13) and the
      reflectance-based MODIS NDVI of the same f_c agrees with it up to moisture darkening;
      VWC SMAP form from this NDVI.
    """

    def __init__(self, cfg: ScenarioConfig, seed: int, year: int, static: xr.Dataset,
                 elevation_delay: bool = False) -> None:
        if not isinstance(cfg, ScenarioConfig):
            raise ConfigError(f"cfg is {type(cfg).__name__}; expected a ScenarioConfig (see get_config)")
        self.cfg, self.seed, self.year = cfg, check_seed(seed), int(year)
        self.static = static
        self.elevation_delay = bool(elevation_delay)
        self.grid = fine_grid(cfg)
        shape = self.grid.shape

        def get(name: str) -> np.ndarray:
            return static_array(static, name, shape)

        self.ndvi_min, self.ndvi_max = get("ndvi_min"), get("ndvi_max")
        static_array(static, "theta_s", shape)
        static_array(static, "sand", shape)
        lc = np.asarray(static["land_cover"].values) if "land_cover" in static else None
        if lc is None:
            raise DataError(f"variable 'land_cover' not in the static dataset; expected one of {sorted(static.data_vars)}")
        self.grass = np.isin(lc, GRASS)
        field = SpectralField(200.0)
        rng = rng_for(self.seed, "vegetation", self.year)
        jitter = 4.0 * field.evaluate(field.coefficients(rng), self.grid, cldas_grid(cfg))[0]
        delay = GREENUP_DELAY * np.clip(get("elevation") - 3500.0, 0, None) if elevation_delay else 0.0
        self.senescence = get("senescence_doy")
        self.greenup = np.minimum(get("greenup_doy") + delay + jitter, self.senescence - 40.0).astype(np.float32)
        self.stem = vwc_smap(np.zeros(shape, np.float32), self.ndvi_min, self.ndvi_max, get("f_stem"))
        self.soil = soil_endmembers(static)
        red, nir = self.soil["b01"], self.soil["b02"]
        no_veg = np.isin(lc, (WATER, SNOW_ICE))
        self.f_min = np.where(no_veg, 0.0, fc_from_ndvi(self.ndvi_min, red, nir)).astype(np.float32)
        self.f_max = np.where(no_veg, 0.0, np.maximum(fc_from_ndvi(self.ndvi_max, red, nir), self.f_min))
        self.f_max = self.f_max.astype(np.float32)

    def __repr__(self) -> str:
        return f"<Vegetation year={self.year} seed={self.seed} config={self.cfg.name!r} grid {self.grid.shape}>"

    def greenness(self, date: Any) -> np.ndarray:
        """Double-logistic seasonal greenness g ∈ [0, 1] of ``date``."""
        doy = as_timestamp(date).day_of_year
        return double_logistic(doy, self.greenup, self.senescence)

    def day(self, date: Any, theta_anom30: np.ndarray | float | None = None) -> DayVegetation:
        """Vegetation of ``date`` given the 30-day antecedent θ anomaly (m3 m-3, fine grid or scalar)."""
        d = as_timestamp(date)
        g = self.greenness(d)
        f_max = self.f_max
        if theta_anom30 is not None:
            anom = np.nan_to_num(np.asarray(theta_anom30, dtype=np.float32), nan=0.0)
            if anom.ndim and anom.shape != self.grid.shape:
                raise DataError(f"theta_anom30 has shape {anom.shape}; expected a scalar or {self.grid.shape}")
            scale = 1.0 + 0.15 * np.tanh(anom / _ANOM_SCALE)
            f_max = np.where(self.grass, np.minimum(f_max * scale, 1.0), f_max)
        fc = (self.f_min + (f_max - self.f_min) * g).astype(np.float32)
        ndvi = ndvi_from_fc(fc, self.soil["b01"], self.soil["b02"])
        vwc = (np.maximum(0.0, 1.9134 * ndvi**2 - 0.3215 * ndvi) + self.stem).astype(np.float32)
        return DayVegetation(date=d, fc=fc, ndvi=ndvi, vwc=vwc)

    def reflectance(self, fc: np.ndarray, theta: np.ndarray, static: xr.Dataset | None = None) -> dict[str, np.ndarray]:
        """:func:`reflectance` with this instance's cached soil end members.

        ``static`` may be passed for symmetry with the module function; when it is not the
        instance's own dataset the end members are recomputed from it.
        """
        if static is None or static is self.static:
            return reflectance(fc, theta, self.static, soil=self.soil)
        return reflectance(fc, theta, static)
