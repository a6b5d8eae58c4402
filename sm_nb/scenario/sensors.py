"""Native sensor products from fine-grid fields at an overpass (the instrument side, spec §9).

A fine-grid brightness temperature (or linear σ⁰) at an overpass becomes a gridded product by:

1. :func:`~sm_nb.scenario.footprint.footprint` — block-mean to the 0.0625° lattice, then a
   Gaussian antenna pattern;
2. :func:`~sm_nb.scenario.footprint.sample` — bilinear sampling at product cell centres with
   drop-in-bucket jitter;
3. :func:`~sm_nb.scenario.swath.swath_mask` — sun-synchronous ground tracks and swath limits;
4. :func:`observe` (this module) — all of the above plus RFI, calibration bias, noise and
   quality flags; :func:`rfi_sites` — the RFI sources.

The sensor specifications are in :mod:`sm_nb.scenario.sensor_specs`.

The forward models (Tb, σ⁰ per fine pixel) live elsewhere; this module never sees θ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..config import ScenarioConfig, check_seed
from ..exceptions import DataError
from ..grids import EARTH_RADIUS_KM, Grid, fine_grid
from .footprint import _footprint, _interp, _positions
from .randomfields import rng_for
from .sensor_specs import (
    FLAG_BITS,
    FLAG_THRESHOLDS,
    RFI_CITIES,
    SensorSpec,
    _check_orbit,
    _freq_key,
    _spec,
    channels,
    product_grid,
)
from .swath import _timestamp, swath_mask

__all__ = ["rfi_sites", "observe"]

_FREEZE_K = 273.15


# ---- RFI ----------------------------------------------------------------------------------------
def _distance_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    p, p0 = np.deg2rad(lat), np.deg2rad(lat0)
    h = np.sin((p - p0) / 2) ** 2 + np.cos(p) * np.cos(p0) * np.sin(np.deg2rad(lon - lon0) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))


def rfi_sites(sensor: str | SensorSpec, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed RFI emitters of ``sensor`` for ``seed``: (lat, lon, amplitude K) of the affected cells.

    Cells of a global ``rfi.cell_deg`` grid inside ``rfi.region`` (east of the domain), chosen once
    per seed from ``rng_for(seed, f"{sensor}_rfi_sites")`` (independent of config and date).
    Empty arrays for sensors without ``fixed_cells`` RFI.
    """
    spec = _spec(sensor)
    empty = np.empty(0)
    if spec.rfi is None or spec.rfi.kind != "fixed_cells":
        return empty, empty, empty
    r = spec.rfi
    s, n, w, e = r.region
    axis = -90 + r.cell_deg / 2 + r.cell_deg * np.arange(round(180 / r.cell_deg))
    lats = axis[(axis > s) & (axis < n)]
    axis = -180 + r.cell_deg / 2 + r.cell_deg * np.arange(round(360 / r.cell_deg))
    lons = axis[(axis > w) & (axis < e)]
    cand_lat, cand_lon = (c.ravel() for c in np.meshgrid(lats, lons, indexing="ij"))
    rng = rng_for(seed, f"{spec.name}_rfi_sites")
    k = int(rng.integers(r.n_sites[0], r.n_sites[1] + 1))
    pick = rng.choice(cand_lat.size, size=min(k, cand_lat.size), replace=False)
    amp = rng.uniform(*r.amplitude_k, size=pick.size)
    return cand_lat[pick], cand_lon[pick], amp


def _rfi(spec: SensorSpec, grid: Grid, seed: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Added Tb (K) and detected-mask of this observation; ``u`` = 3 uniform fields."""
    r = spec.rfi
    if r is None:
        return np.zeros(grid.shape, np.float32), np.zeros(grid.shape, bool)
    plat, plon = grid.mesh()
    if r.kind == "cities":
        near = np.zeros(grid.shape, bool)
        for lat0, lon0 in RFI_CITIES.values():
            near |= _distance_km(plat, plon, lat0, lon0) < r.radius_km
        hit = near & (u[0] < r.probability)
        amp = r.amplitude_k[0] + (r.amplitude_k[1] - r.amplitude_k[0]) * u[1]
    else:
        hit = np.zeros(grid.shape, bool)
        amp = np.zeros(grid.shape)
        for lat0, lon0, a in zip(*rfi_sites(spec, seed), strict=True):
            cell = (np.abs(plat - lat0) < r.cell_deg / 2) & (np.abs(plon - lon0) < r.cell_deg / 2)
            hit |= cell
            amp[cell] = a
    return np.where(hit, amp, 0.0).astype(np.float32), hit & (u[2] < r.flag_probability)


# ---- the entry point ----------------------------------------------------------------------------
def _fine_array(
    fine: Mapping[str, Any], key: str, shape: tuple[int, int], where: str
) -> np.ndarray:
    if key not in fine:
        raise DataError(f"{where} lacks {key!r}; it has {sorted(fine)}")
    a = np.asarray(fine[key])
    if a.shape != shape:
        raise DataError(f"{where}[{key!r}] has shape {a.shape}; expected {shape} (fine grid)")
    return a


def observe(
    sensor: str | SensorSpec,
    orbit: str,
    date: Any,
    fine: Mapping[str, np.ndarray],
    static: Any,
    cfg: ScenarioConfig,
    seed: int,
) -> dict[str, np.ndarray]:
    """One overpass of ``sensor``: fine-grid fields → native product with swath, noise, RFI, flags.

    Parameters
    ----------
    sensor : str or SensorSpec
        Key of :data:`SENSORS` or a modified spec (e.g. other overpass times via
        ``dataclasses.replace(SENSORS["fy3c"], overpass_asc=...)``).
    orbit : {"asc", "desc"}
    date : date-like
        Day of the overpass (selects the ground tracks and the random stream).
    fine : mapping of str → ndarray (lat, lon) on ``fine_grid(cfg)``
        Radiometers: ``tbh_<f>``, ``tbv_<f>`` (K) for each of :func:`channels`, keys formatted
        with ``f"{f:g}"`` (``tbh_1.41``, ``tbv_10.65``); scatterometer: ``sigma0`` (LINEAR,
        m2 m-2, at 40°).
        Always ``frozen``, ``snow`` (bool) and ``vwc`` (kg m-2); optional ``t_model`` (K, the
        product's own model soil/surface temperature) for the frozen flag. See :func:`fine_keys`.
    static : xr.Dataset or mapping
        The static dataset; ``water_fraction`` (1) and ``slope`` (degree) are used.
    cfg : ScenarioConfig
    seed : int

    Returns
    -------
    dict of ndarray on ``product_grid(sensor, cfg)``
        Radiometers: ``tbh``, ``tbv`` float32 (frequency, lat, lon) in K, frequencies as in
        :func:`channels`; scatterometer: ``sigma40`` float32 (lat, lon) in dB. Always ``flag``
        uint8 (lat, lon) with :data:`FLAG_BITS`. Outside the swath or the domain values are NaN and
        flags 0.

    Notes
    -----
    Spec §9 steps 2–7. Order: footprint of each channel group (same FWHM) → sampling with one
    jitter per cell for all channels → calibration bias → RFI → noise N(0, NEΔT) (σ40: noise in dB
    after ``10 log10`` of the linear footprint mean) → swath mask. RFI is added at product level
    (its amplitude is what reaches the antenna temperature). Flags aggregate the fine inputs
    through the sensor's widest footprint with :data:`FLAG_THRESHOLDS`. Frozen-flag simplification:
    without ``t_model`` the product's model temperature is taken to agree with the truth, i.e. the
    flag is set where the footprint frozen fraction of ``fine["frozen"]`` exceeds 0.5; with
    ``t_model`` it is set where the footprint-mean model temperature is below 273.15 K.
    Randomness: ``rng_for(seed, f"{sensor}_{orbit}", year, doy)`` (fixed draw order: jitter, noise,
    RFI), so each day is reproducible alone; AMSR2 RFI sites come from :func:`rfi_sites`.
    """
    spec = _spec(sensor)
    _check_orbit(orbit)
    seed = check_seed(seed)
    ts = _timestamp(date)
    shape = fine_grid(cfg).shape
    grid = product_grid(spec, cfg)
    freqs = channels(spec, cfg)
    rng = rng_for(seed, f"{spec.name}_{orbit}", ts.year, ts.day_of_year)
    unit = rng.uniform(-1.0, 1.0, (2, *grid.shape))
    n_noise = 2 * len(spec.frequencies) if spec.kind == "radiometer" else len(spec.noise_db)
    z = rng.standard_normal((n_noise, *grid.shape)).astype(np.float32)
    u_rfi = rng.random((3, *grid.shape))
    pos = _positions(cfg, grid, spec.jitter_km, unit)
    out: dict[str, np.ndarray] = {}

    if spec.kind == "scatterometer":
        s0 = _fine_array(fine, "sigma0", shape, "fine")
        if np.nanmin(s0, initial=np.inf) < 0:
            raise DataError(
                "fine['sigma0'] has negative values; expected LINEAR sigma0 (m2 m-2), not dB"
            )
        lin = _interp(_footprint([s0], cfg, spec.fwhm_km[0])[0], pos)
        with np.errstate(divide="ignore", invalid="ignore"):
            db = 10.0 * np.log10(np.where(lin > 0, lin, np.nan))
        out["sigma40"] = (
            db + np.tensordot(np.asarray(spec.noise_db, np.float32), z, axes=1)
        ).astype(np.float32)
    else:
        idx = [int(np.flatnonzero(np.isclose(spec.frequencies, f))[0]) for f in freqs]
        tb = np.empty((2, len(freqs), *grid.shape), np.float32)  # (pol, freq, lat, lon)
        for fwhm in sorted({spec.fwhm_km[i] for i in idx}):
            sel = [k for k, i in enumerate(idx) if spec.fwhm_km[i] == fwhm]
            stack = [
                _fine_array(fine, f"tb{p}_{_freq_key(freqs[k])}", shape, "fine")
                for p in "hv"
                for k in sel
            ]
            lat_tb = _footprint(stack, cfg, fwhm)
            tb[:, sel] = _interp(lat_tb.reshape(2, len(sel), *lat_tb.shape[1:]), pos)
        rfi_tb, rfi_flag = _rfi(spec, grid, seed, u_rfi)
        rfi_on = np.array(
            [
                spec.rfi is not None and bool(np.isclose(spec.rfi.frequencies, f).any())
                for f in freqs
            ]
        )
        nedt = np.asarray(spec.nedt_k, np.float32)[idx]
        zz = z.reshape(2, len(spec.frequencies), *grid.shape)[:, idx]
        for p, pol in enumerate("hv"):
            tb[p] += spec.bias(pol)[idx][:, None, None]
            tb[p, rfi_on] += rfi_tb
            tb[p] += nedt[:, None, None] * zz[p]
        out["tbh"], out["tbv"] = tb[0], tb[1]
        if not rfi_on.any():
            rfi_flag = np.zeros(grid.shape, bool)

    # ---- flags from the same footprint (the sensor's widest) --------------------------------
    names = ["frozen", "snow", "vwc"] + (["t_model"] if "t_model" in fine else [])
    anc = [_fine_array(fine, k, shape, "fine") for k in names]
    slope = _fine_array(static, "slope", shape, "static")
    anc += [_fine_array(static, "water_fraction", shape, "static"), slope, slope * slope]
    lat_anc = _footprint(anc, cfg, max(spec.fwhm_km))
    agg = dict(zip(names + ["water", "slope", "slope2"], _interp(lat_anc, pos), strict=True))
    frozen = (
        agg["t_model"] < _FREEZE_K
        if "t_model" in agg
        else agg["frozen"] > FLAG_THRESHOLDS["frozen"]
    )
    slope_std = np.sqrt(np.maximum(agg["slope2"] - agg["slope"] ** 2, 0.0))
    flag = (
        FLAG_BITS["frozen"] * frozen
        + FLAG_BITS["snow"] * (agg["snow"] > FLAG_THRESHOLDS["snow"])
        + FLAG_BITS["water"] * (agg["water"] > FLAG_THRESHOLDS["water"])
        + FLAG_BITS["mountainous"] * (slope_std > FLAG_THRESHOLDS["slope_std"])
        + FLAG_BITS["dense_vegetation"] * (agg["vwc"] > FLAG_THRESHOLDS["vwc"])
    )
    if spec.kind == "radiometer":
        flag = flag + FLAG_BITS["rfi"] * rfi_flag

    seen = swath_mask(spec, orbit, ts, grid) & pos[-1]
    for key in out:
        out[key][..., ~seen] = np.nan
    out["flag"] = np.where(seen, flag, 0).astype(np.uint8)
    return out
