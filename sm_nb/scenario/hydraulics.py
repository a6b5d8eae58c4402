"""Per-pixel parameters of the two-layer water balance: soil hydraulics and surface specials.

:class:`WaterBalanceParams` holds the soil hydraulic constants (θ_s, θ_fc, θ_w, θ_h, K_s of both
layers, drainage shape β_L, L1–L2 exchange K₁₂), the snowmelt degree-day factor, the
TOPMODEL-like TWI redistribution, playa and lake relaxation targets and the irrigation
calendar; :meth:`WaterBalanceParams.from_static` derives them from the static fields (spec §6).
The daily stepping that uses them is :class:`sm_nb.scenario.waterbalance.WaterBalance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from .. import grids
from ..config import ScenarioConfig
from ..exceptions import DataError
from . import classes
from .randomfields import gaussian_field, rng_for

__all__ = ["WaterBalanceParams"]

_REQUIRED = ("theta_s", "theta_fc", "theta_w", "theta_h", "ks")


def _norm(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


@dataclass
class WaterBalanceParams:
    """Per-pixel parameters of the two-layer water balance (all arrays share one 2-D shape).

    Attributes
    ----------
    theta_s, theta_fc, theta_w, theta_h : ndarray (lat, lon), m3 m-3
        Porosity, field capacity, wilting and hygroscopic points (θ_h < θ_w < θ_fc < θ_s).
    ks, ks2 : ndarray (lat, lon), mm d-1
        Saturated conductivity of layer 1 (also the infiltration capacity rate) and of layer 2.
    k12 : ndarray (lat, lon), mm d-1 per unit θ
        Diffusive L1–L2 exchange coefficient K₁₂.
    beta_l : ndarray (lat, lon), 1
        Drainage shape β_L.
    ddf : ndarray (lat, lon), mm degC-1 d-1
        Degree-day snowmelt factor.
    twi, twi_ref : ndarray (lat, lon), 1
        Topographic wetness index and its local (5 km smoothed) reference.
    kappa_t : ndarray (lat, lon), 1
        TOPMODEL-like redistribution strength κ_t (0 disables the term).
    playa, water : ndarray of bool (lat, lon)
        Playa pixels (θ relaxes to ``theta_brine``) and open-water pixels (θ held at θ_s).
    theta_brine : ndarray (lat, lon), m3 m-3
        Relaxation target where ``playa`` (0.2–0.3) or ``water`` (θ_s).
    tau : ndarray (lat, lon), d
        Relaxation time (10 d playa, 0.25 d water).
    irrigated : ndarray of bool (lat, lon)
    irr_index : ndarray of int64 (n_irr,)
        Flat indices of the irrigated pixels.
    irr_days : ndarray of int16 (n_events, n_irr)
        Irrigation days as offsets from 1 May (−1 = none); 12 ± 3 d apart, May–September.
    irr_amount : float, mm
        Water applied per irrigation (60 mm).
    dz1, dz2 : float, mm
        Layer thicknesses (50 and 350 mm).
    notes : dict
        Provenance (repaired pixels, options).

    Notes
    -----
    Spec §6 (values tagged [A] there); κ_t, K₁₂, β_L are derived from texture (clay, sand)
    so they aggregate sensibly for the model products (§10).
    """

    theta_s: np.ndarray
    theta_fc: np.ndarray
    theta_w: np.ndarray
    theta_h: np.ndarray
    ks: np.ndarray
    ks2: np.ndarray
    k12: np.ndarray
    beta_l: np.ndarray
    ddf: np.ndarray
    twi: np.ndarray
    twi_ref: np.ndarray
    kappa_t: np.ndarray
    playa: np.ndarray
    water: np.ndarray
    theta_brine: np.ndarray
    tau: np.ndarray
    irrigated: np.ndarray
    irr_index: np.ndarray
    irr_days: np.ndarray
    irr_amount: float = 60.0
    dz1: float = 50.0
    dz2: float = 350.0
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.theta_s.shape

    def replace(self, **changes: Any) -> WaterBalanceParams:
        """Copy with ``changes`` (unknown names raise :class:`DataError`)."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise DataError(f"unknown WaterBalanceParams field(s) {sorted(unknown)}; expected one of {sorted(names)}")
        return replace(self, **changes)

    def __repr__(self) -> str:
        return (
            f"<WaterBalanceParams {self.shape[0]} × {self.shape[1]}, θ_s {np.nanmean(self.theta_s):.3f}, "
            f"θ_fc {np.nanmean(self.theta_fc):.3f}, playa {int(self.playa.sum())}, water {int(self.water.sum())}, "
            f"irrigated {int(self.irrigated.sum())}, κ_t ≤ {float(np.max(self.kappa_t, initial=0)):.3f}>"
        )

    # ------------------------------------------------------------------------------------
    @classmethod
    def from_static(
        cls,
        static: xr.Dataset,
        cfg: ScenarioConfig,
        seed: int,
        *,
        twi: bool = True,
        playa: bool = True,
        irrigation: bool = True,
    ) -> WaterBalanceParams:
        """Derive the parameters from the ``static`` dataset (any lat/lon grid inside the domain).

        Parameters
        ----------
        static : Dataset (lat, lon)
            Needs ``theta_s``, ``theta_fc``, ``theta_w``, ``theta_h`` (m3 m-3) and ``ks`` (mm d-1);
            uses ``sand``, ``clay``, ``twi``, ``land_cover``, ``water_fraction``, ``playa``,
            ``irrigated``, ``ndvi_max`` when present.
        cfg : ScenarioConfig
        seed : int
            Feeds ``rng_for(seed, "waterbalance", k)`` (brine θ, irrigation calendar), drawn on
            the fixed 0.0625° lattice so every grid sees the same values.
        twi, playa, irrigation : bool
            Switch the TWI redistribution, the playa brine and the irrigation off (model products).

        Raises
        ------
        DataError
            If a required variable is missing or a soil field is outside (0, 1).

        Notes
        -----
        Spec §6 [A]: K₁₂ = 6–10 mm d⁻¹ (more for finer texture), β_L = 12–16 (more for sand),
        κ_t = 0.03–0.06 (more for clay), K_s2 = K_s/2, degree-day factor 5 − 2·NDVI_max
        (3–5 mm °C⁻¹ d⁻¹). Ordering θ_h < θ_w < θ_fc < θ_s is enforced with small margins and
        the number of repaired pixels is recorded in ``notes``.
        """
        missing = [v for v in _REQUIRED if v not in static]
        if missing:
            raise DataError(f"static dataset lacks {missing}; expected variables {list(_REQUIRED)} (m3 m-3, ks mm d-1)")
        shape = static["theta_s"].shape
        f64 = {v: np.asarray(static[v].values, dtype=np.float64) for v in _REQUIRED}
        water = np.zeros(shape, bool)
        if "land_cover" in static:
            water |= np.asarray(static["land_cover"].values) == classes.WATER
        if "water_fraction" in static:
            water |= np.nan_to_num(np.asarray(static["water_fraction"].values, dtype=float)) > 0.5
        for v, arr in f64.items():  # lakes may carry NaN soil: fill with the land median
            bad = ~np.isfinite(arr)
            if bad.all():
                raise DataError(f"static variable {v!r} is all NaN; expected finite soil values")
            if bad.any():
                arr[bad] = np.nanmedian(arr)
            if v != "ks" and (arr.min() < 0 or arr.max() >= 1):
                raise DataError(f"static variable {v!r} spans {arr.min():.3g}–{arr.max():.3g}; expected 0 ≤ θ < 1 (m3 m-3)")
        if f64["ks"].min() <= 0:
            raise DataError(f"static variable 'ks' has minimum {f64['ks'].min():.3g}; expected > 0 mm d-1")
        ts, tfc, tw, th = f64["theta_s"], f64["theta_fc"], f64["theta_w"], f64["theta_h"]
        ts_new = np.maximum(ts, tfc + 0.03)
        tw_new = np.minimum(tw, tfc - 0.02)
        th_new = np.clip(np.minimum(th, tw_new - 0.005), 0.002, None)
        tw_new = np.maximum(tw_new, th_new + 0.005)
        repaired = int(np.sum((ts_new != ts) | (tw_new != tw) | (th_new != th)))

        def opt(name: str, default: float) -> np.ndarray:
            if name in static:
                a = np.asarray(static[name].values, dtype=np.float64)
                return np.where(np.isfinite(a), a, default)
            return np.full(shape, default)

        sand, clay = opt("sand", 0.6), opt("clay", 0.1)
        lat = np.asarray(static["lat"].values, dtype=float)
        lon = np.asarray(static["lon"].values, dtype=float)
        lattice = grids.cldas_grid(cfg)
        iy = np.clip(np.floor((lat - cfg.south) / lattice.dlat).astype(int), 0, lattice.shape[0] - 1)
        ix = np.clip(np.floor((lon - cfg.west) / lattice.dlon).astype(int), 0, lattice.shape[1] - 1)
        dx_km, dy_km = lattice.spacing_km()

        kappa = 0.03 + 0.03 * _norm(clay, 0.04, 0.18)
        twi_arr = opt("twi", 8.0)
        if twi and "twi" in static:
            g = grids.grid_for(static)
            try:
                gdx, gdy = g.spacing_km()
                sig = (5.0 / gdy, 5.0 / float(np.mean(gdx)))
            except DataError:
                sig = (1.0, 1.0)
            twi_ref = ndimage.gaussian_filter(twi_arr, sig, mode="nearest")
        else:
            twi_ref = twi_arr.copy()
            kappa = np.zeros(shape)
        playa_m = np.zeros(shape, bool)
        if playa and "playa" in static:
            playa_m = np.asarray(static["playa"].values).astype(bool) & ~water
        kappa = np.where(playa_m | water, 0.0, kappa)
        brine_lat = 0.25 + 0.05 * np.clip(
            gaussian_field(rng_for(seed, "waterbalance", 0), lattice.shape, dy_km, float(dx_km.mean()), 30.0), -1, 1
        )
        brine = np.where(water, ts_new, brine_lat[np.ix_(iy, ix)])
        tau = np.where(water, 0.25, 10.0)

        irrigated = np.zeros(shape, bool)
        if irrigation and "irrigated" in static:
            irrigated = np.asarray(static["irrigated"].values).astype(bool) & ~water & ~playa_m
        irr_index = np.flatnonzero(irrigated)
        # calendar per 0.0625° lattice cell: first event 0–11 d after 1 May, then every 12 ± 3 d
        rng = rng_for(seed, "waterbalance", 1)
        n_ev = 17
        first = rng.integers(0, 12, lattice.shape)
        gaps = rng.integers(9, 16, (n_ev - 1, *lattice.shape))
        days = np.concatenate([first[None], first[None] + np.cumsum(gaps, axis=0)])
        days = np.where(days <= 152, days, -1).astype(np.int16)  # 1 May + 152 d = 30 Sep
        cell_y, cell_x = np.divmod(irr_index, shape[1])
        irr_days = days[:, iy[cell_y], ix[cell_x]]

        ndvi_max = opt("ndvi_max", 0.5)
        f32 = np.float32
        return cls(
            theta_s=ts_new.astype(f32), theta_fc=tfc.astype(f32), theta_w=tw_new.astype(f32),
            theta_h=th_new.astype(f32), ks=f64["ks"].astype(f32), ks2=(0.5 * f64["ks"]).astype(f32),
            k12=(6.0 + 4.0 * _norm(clay, 0.04, 0.18)).astype(f32),
            beta_l=(12.0 + 4.0 * _norm(sand, 0.4, 0.85)).astype(f32),
            ddf=np.clip(5.0 - 2.0 * ndvi_max, 3.0, 5.0).astype(f32),
            twi=twi_arr.astype(f32), twi_ref=twi_ref.astype(f32), kappa_t=kappa.astype(f32),
            playa=playa_m, water=water, theta_brine=brine.astype(f32), tau=tau.astype(f32),
            irrigated=irrigated, irr_index=irr_index, irr_days=irr_days,
            notes={"repaired_pixels": repaired, "twi": twi, "playa": playa, "irrigation": irrigation, "seed": seed},
        )
