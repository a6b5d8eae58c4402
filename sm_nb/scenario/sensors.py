"""Native sensor products from fine-grid fields at an overpass (the instrument side, spec §9).

A fine-grid brightness temperature (or linear σ⁰) at an overpass becomes a gridded product by:

1. :func:`footprint` — block-mean to the 0.0625° lattice, then a Gaussian antenna pattern;
2. :func:`sample` — bilinear sampling at product cell centres with drop-in-bucket jitter;
3. :func:`swath_mask` — sun-synchronous ground tracks and swath limits;
4. :func:`observe` — all of the above plus RFI, calibration bias, noise and quality flags.

The forward models (Tb, σ⁰ per fine pixel) live elsewhere; this module never sees θ.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from ..config import ScenarioConfig, check_seed
from ..exceptions import ConfigError, DataError
from ..grids import EARTH_RADIUS_KM, Grid, cldas_grid, ease2_grid, fine_grid, latlon_grid
from ..resample import block_mean
from .randomfields import rng_for

__all__ = [
    "RFISpec",
    "SensorSpec",
    "SENSORS",
    "ORBITS",
    "RFI_CITIES",
    "FLAG_BITS",
    "FLAG_THRESHOLDS",
    "channels",
    "fine_keys",
    "product_grid",
    "footprint",
    "sample",
    "swath_mask",
    "observed_fraction",
    "rfi_sites",
    "observe",
]

ORBITS = ("asc", "desc")
#: km per degree of latitude on the sphere R = 6371 km (same Earth as ``grids``).
KM_PER_DEG = np.pi / 180.0 * EARTH_RADIUS_KM
#: FWHM / σ of a Gaussian, 2·sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Latitude (degrees) at which the ground-track longitude λ_c is defined (spec §9 step 5).
TRACK_LAT = 35.5
_EPOCH = pd.Timestamp("2000-01-01")
_FREEZE_K = 273.15

#: Cities around which SMAP residual RFI occurs: name → (lat, lon) in degrees (spec §9 step 2).
RFI_CITIES: dict[str, tuple[float, float]] = {
    "Xining": (36.62, 101.78),
    "Golmud": (36.41, 94.93),
    "Delingha": (37.37, 97.36),
}

#: Quality-flag bits of every product (contracts table).
FLAG_BITS: dict[str, int] = {
    "frozen": 1,
    "snow": 2,
    "water": 4,
    "rfi": 8,
    "mountainous": 16,
    "dense_vegetation": 32,
}
#: Thresholds on footprint-aggregated inputs [A]: frozen/snow are area fractions, water the
#: open-water fraction, slope_std (degree) the sub-footprint slope standard deviation, vwc in
#: kg m-2.
FLAG_THRESHOLDS: dict[str, float] = {
    "frozen": 0.5,
    "snow": 0.5,
    "water": 0.05,
    "slope_std": 3.0,
    "vwc": 5.0,
}


@dataclass(frozen=True)
class RFISpec:
    """Radio-frequency interference model of one sensor (spec §9 step 2, all values [A]).

    Attributes
    ----------
    kind : {"cities", "fixed_cells"}
        ``cities``: Bernoulli events per observation within ``radius_km`` of :data:`RFI_CITIES`;
        ``fixed_cells``: permanent emitters in ``n_sites`` cells of a global ``cell_deg`` grid
        inside ``region``, chosen once per seed (see :func:`rfi_sites`).
    amplitude_k : (low, high), K
        Uniform range of the added Tb (same value on H and V).
    frequencies : tuple of float, GHz
        Channels affected.
    probability : float
        Occurrence probability per observation (``cities``).
    flag_probability : float
        Probability that an injected event is detected and gets the RFI flag bit.
    """

    kind: str
    amplitude_k: tuple[float, float]
    frequencies: tuple[float, ...]
    probability: float = 1.0
    flag_probability: float = 0.5
    radius_km: float = 100.0
    n_sites: tuple[int, int] = (2, 3)
    region: tuple[float, float, float, float] = (35.0, 38.0, 100.5, 103.0)
    cell_deg: float = 0.25

    def __post_init__(self) -> None:
        if self.kind not in ("cities", "fixed_cells"):
            raise ConfigError(f"RFISpec kind is {self.kind!r}; expected 'cities' or 'fixed_cells'")


@dataclass(frozen=True)
class SensorSpec:
    """Instrument and orbit parameters of one sensor (spec §9 table).

    Attributes
    ----------
    name : str
        Registry key and random-stream name (``smap``, ``amsr2``, ``fy3c``, ``ascat``).
    kind : {"radiometer", "scatterometer"}
    frequencies : tuple of float, GHz
    incidence_deg : float
        Earth incidence angle (degree); the forward models use it, it is recorded here.
    overpass_asc, overpass_desc : float
        Local solar time of the ascending / descending overpass, hours.
    fwhm_km : tuple of float, km
        Gaussian footprint FWHM per frequency.
    nedt_k : tuple of float, K
        Radiometric noise per frequency (radiometers).
    noise_db : tuple of float, dB
        Independent noise terms of σ40 added in quadrature (scatterometer: Kp, normalisation).
    swath_km : (inner, outer), km
        Observed if ``inner <= cross-track distance < outer`` (inner > 0 = nadir gap).
    orbits_per_day : float
    grid : str
        Product grid, ``"ease2:M36"`` or ``"latlon:0.25"`` (see :func:`product_grid`).
    jitter_km : float
        Half-width of the uniform drop-in-bucket position jitter (½ sampling step).
    bias_h, bias_v : tuple of float, K
        Calibration bias per frequency (empty = 0).
    track_lon0 : (asc, desc), degree
        Ground-track longitude at :data:`TRACK_LAT` on 2000-01-01 [A].
    track_angle_deg : float
        Angle of the ground track from the meridian (≈10° for 98° inclination at 35.5°N).
    rfi : RFISpec or None
    """

    name: str
    long_name: str
    kind: str
    frequencies: tuple[float, ...]
    incidence_deg: float
    overpass_asc: float
    overpass_desc: float
    fwhm_km: tuple[float, ...]
    swath_km: tuple[float, float]
    orbits_per_day: float
    grid: str
    jitter_km: float
    track_lon0: tuple[float, float]
    nedt_k: tuple[float, ...] = ()
    noise_db: tuple[float, ...] = ()
    bias_h: tuple[float, ...] = ()
    bias_v: tuple[float, ...] = ()
    track_angle_deg: float = 10.0
    rfi: RFISpec | None = None

    def __post_init__(self) -> None:
        n = len(self.frequencies)
        if self.kind not in ("radiometer", "scatterometer"):
            raise ConfigError(
                f"sensor {self.name!r}: kind {self.kind!r}; "
                "expected 'radiometer' or 'scatterometer'"
            )
        for key in ("fwhm_km",) + (("nedt_k",) if self.kind == "radiometer" else ()):
            if (m := len(getattr(self, key))) != n:
                raise ConfigError(f"sensor {self.name!r}: {key} has {m} values; expected {n}")
        for key in ("bias_h", "bias_v"):
            if (m := len(getattr(self, key))) not in (0, n):
                raise ConfigError(f"sensor {self.name!r}: {key} has {m} values; expected 0 or {n}")
        if not 0 <= self.swath_km[0] < self.swath_km[1]:
            raise ConfigError(
                f"sensor {self.name!r}: swath_km {self.swath_km}; expected 0 <= inner < outer"
            )

    def overpass_hour(self, orbit: str) -> float:
        """Local solar time (hours) of the ``orbit`` overpass."""
        return self.overpass_asc if _check_orbit(orbit) == "asc" else self.overpass_desc

    def bias(self, pol: str) -> np.ndarray:
        """Calibration bias per frequency (K) for polarisation ``"h"`` or ``"v"``."""
        b = self.bias_h if pol == "h" else self.bias_v
        return np.asarray(b if b else (0.0,) * len(self.frequencies), dtype=np.float32)


SENSORS: dict[str, SensorSpec] = {
    "smap": SensorSpec(
        name="smap",
        long_name="SMAP L-band radiometer",
        kind="radiometer",
        frequencies=(1.41,),
        incidence_deg=40.0,
        overpass_asc=18.0,
        overpass_desc=6.0,
        fwhm_km=(40.0,),
        nedt_k=(1.1,),
        swath_km=(0.0, 500.0),
        orbits_per_day=14.625,
        grid="ease2:M36",
        jitter_km=18.0,
        track_lon0=(97.0, 93.0),
        rfi=RFISpec(
            "cities",
            amplitude_k=(2.0, 20.0),
            frequencies=(1.41,),
            probability=0.005,
            flag_probability=0.0,
        ),
    ),
    "amsr2": SensorSpec(
        name="amsr2",
        long_name="GCOM-W1 AMSR2",
        kind="radiometer",
        frequencies=(6.925, 7.3, 10.65),
        incidence_deg=55.0,
        overpass_asc=13.5,
        overpass_desc=1.5,
        fwhm_km=(46.6, 46.6, 31.7),
        nedt_k=(0.3, 0.3, 0.6),
        swath_km=(0.0, 725.0),
        orbits_per_day=14.5625,
        grid="latlon:0.25",
        jitter_km=5.0,
        track_lon0=(99.0, 95.5),
        rfi=RFISpec(
            "fixed_cells", amplitude_k=(3.0, 30.0), frequencies=(6.925,), flag_probability=0.5
        ),
    ),
    "fy3c": SensorSpec(
        name="fy3c",
        long_name="FY-3C MWRI",
        kind="radiometer",
        frequencies=(10.65,),
        incidence_deg=53.1,
        # the paper's overpass times (Table 1); change with dataclasses.replace if needed
        overpass_asc=13.0 + 40 / 60,
        overpass_desc=1.0 + 40 / 60,
        fwhm_km=(65.8,),
        nedt_k=(0.5,),
        swath_km=(0.0, 700.0),
        orbits_per_day=14.2,
        grid="ease2:M25",
        jitter_km=5.0,
        track_lon0=(96.0, 100.0),
        bias_h=(1.5,),
        bias_v=(1.0,),
    ),
    "ascat": SensorSpec(
        name="ascat",
        long_name="Metop ASCAT sigma40 (VV)",
        kind="scatterometer",
        frequencies=(5.255,),
        incidence_deg=40.0,
        overpass_asc=21.5,
        overpass_desc=9.5,
        fwhm_km=(30.0,),
        noise_db=(0.13, 0.15),
        swath_km=(335.0, 885.0),
        orbits_per_day=14.21,
        grid="latlon:0.125",
        jitter_km=6.0,
        track_lon0=(94.0, 98.5),
    ),
}
# channel subsets chosen by the config: sensor name → ScenarioConfig attribute
_CFG_CHANNELS = {"amsr2": "amsr2_frequencies"}


# ---- registry helpers -------------------------------------------------------------------------
def _spec(sensor: str | SensorSpec) -> SensorSpec:
    if isinstance(sensor, SensorSpec):
        return sensor
    if sensor not in SENSORS:
        raise ConfigError(f"unknown sensor {sensor!r}; expected one of {sorted(SENSORS)}")
    return SENSORS[sensor]


def _check_orbit(orbit: str) -> str:
    if orbit not in ORBITS:
        raise ConfigError(f"orbit is {orbit!r}; expected one of {list(ORBITS)}")
    return orbit


def _freq_key(freq: float) -> str:
    return f"{freq:g}"


def channels(sensor: str | SensorSpec, cfg: ScenarioConfig) -> tuple[float, ...]:
    """Frequencies (GHz) simulated for ``sensor`` under ``cfg`` (AMSR2: cfg.amsr2_frequencies)."""
    spec = _spec(sensor)
    attr = _CFG_CHANNELS.get(spec.name)
    if attr is None:
        return spec.frequencies
    wanted = tuple(getattr(cfg, attr))
    unknown = [f for f in wanted if not np.isclose(spec.frequencies, f).any()]
    if unknown:
        raise ConfigError(
            f"config {attr} has {unknown}; expected a subset of {list(spec.frequencies)}"
        )
    return tuple(f for f in spec.frequencies if np.isclose(wanted, f).any())


def fine_keys(sensor: str | SensorSpec, cfg: ScenarioConfig) -> tuple[str, ...]:
    """Keys :func:`observe` needs in ``fine``.

    E.g. ``("tbh_1.41", "tbv_1.41", "frozen", "snow", "vwc")`` for SMAP.
    """
    spec = _spec(sensor)
    if spec.kind == "scatterometer":
        radiometric: tuple[str, ...] = ("sigma0",)
    else:
        radiometric = tuple(f"tb{p}_{_freq_key(f)}" for f in channels(spec, cfg) for p in "hv")
    return (*radiometric, "frozen", "snow", "vwc")


@functools.lru_cache(maxsize=32)
def _product_grid(grid: str, name: str, cfg: ScenarioConfig) -> Grid:
    kind, _, arg = grid.partition(":")
    if kind == "ease2":
        return ease2_grid(cfg, arg)
    if kind == "latlon":
        return latlon_grid(cfg, float(arg), name, margin=0.5)
    raise ConfigError(f"sensor grid {grid!r}; expected 'ease2:<M36|M25|M09>' or 'latlon:<degrees>'")


def product_grid(sensor: str | SensorSpec, cfg: ScenarioConfig) -> Grid:
    """Native product grid of ``sensor`` over the ``cfg`` domain (± 0.5° margin, spec §1)."""
    spec = _spec(sensor)
    return _product_grid(spec.grid, spec.name, cfg)


# ---- footprint ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Antenna:
    ky: np.ndarray  # (2 ry + 1,) y weights
    kx: np.ndarray  # (ny, 2 rx + 1) x weights per lattice row
    norm: np.ndarray  # (ny, nx) filter of ones (edge renormalisation)


def _filter(a: np.ndarray, ant: _Antenna) -> np.ndarray:
    """Separable Gaussian correlation of the last two axes, zero outside the lattice."""
    t = ndimage.correlate1d(a, ant.ky, axis=-2, mode="constant", cval=0.0)
    rx = ant.kx.shape[1] // 2
    nx = a.shape[-1]
    pad = np.pad(t, [(0, 0)] * (t.ndim - 1) + [(rx, rx)])
    out = np.zeros_like(t)
    tmp = np.empty_like(t)
    for k in range(2 * rx + 1):  # loop over kernel taps, vectorised over pixels
        np.multiply(pad[..., k : k + nx], ant.kx[:, k, None], out=tmp)
        out += tmp
    return out


@functools.lru_cache(maxsize=32)
def _antenna(cfg: ScenarioConfig, fwhm_km: float) -> _Antenna:
    lattice, fine = cldas_grid(cfg), fine_grid(cfg)
    fy, fx = fine.nest_factor(lattice)
    dx, dy = lattice.spacing_km()
    var = (fwhm_km / FWHM_PER_SIGMA) ** 2
    # the block mean already smoothed by a box of one lattice cell (minus the fine pixel):
    # remove its variance so that the effective response of footprint() has the spec FWHM
    var_y = var - (dy**2 - (dy / fy) ** 2) / 12.0
    var_x = var - (dx**2 - (dx / fx) ** 2) / 12.0
    if var_y <= 0 or var_x.min() <= 0:
        raise DataError(
            f"fwhm_km is {fwhm_km}; expected a footprint wider than the 0.0625° lattice cell"
        )
    sy = np.sqrt(var_y) / dy
    sx = np.sqrt(var_x) / dx
    ry = int(np.ceil(4.0 * sy))
    ky = np.exp(-0.5 * (np.arange(-ry, ry + 1) / sy) ** 2)
    rx = int(np.ceil(4.0 * sx.max()))
    k = np.arange(-rx, rx + 1)[None, :]
    kx = np.where(np.abs(k) <= 4.0 * sx[:, None], np.exp(-0.5 * (k / sx[:, None]) ** 2), 0.0)
    ant = _Antenna(
        (ky / ky.sum()).astype(np.float32),
        (kx / kx.sum(axis=1, keepdims=True)).astype(np.float32),
        np.empty(0, np.float32),
    )
    norm = _filter(np.ones(lattice.shape, np.float32), ant)
    return dataclasses.replace(ant, norm=norm)


def footprint(
    field_fine: np.ndarray, cfg: ScenarioConfig, fwhm_km: float, skipna: bool = True
) -> np.ndarray:
    """Fine-grid field(s) seen through a Gaussian antenna pattern, on the 0.0625° lattice.

    Parameters
    ----------
    field_fine : ndarray (..., lat, lon) on ``fine_grid(cfg)``
        Field(s) to aggregate, in the units in which the sensor adds power: Tb in K, σ⁰ in
        LINEAR units (m2 m-2, never dB), fractions in 1. Booleans are treated as 0/1.
    cfg : ScenarioConfig
    fwhm_km : float
        Full width at half maximum of the Gaussian footprint, km.
    skipna : bool
        If True (default) NaN fine pixels are ignored by normalised convolution, so gaps do not
        spread; a lattice cell stays NaN only if all its fine pixels are NaN. If False, every
        lattice cell whose (truncated, 4σ) footprint touches a NaN is NaN.

    Returns
    -------
    ndarray of float32 (..., lat, lon) on ``cldas_grid(cfg)``

    Notes
    -----
    Spec §9 step 3: block-mean to the 0.0625° lattice (exact nesting), then a Gaussian of
    σ = FWHM / 2.355, converted to lattice pixels per row (x spacing shrinks with cos lat). The
    box of the block mean is removed from the Gaussian's variance, σ_filter² = σ² − (Δ² − δ²)/12
    (Δ lattice, δ fine spacing), so demo and full have the same effective footprint. Outside the
    domain nothing is known: the weights are renormalised at the edges.
    """
    fine = fine_grid(cfg)
    a = np.asarray(field_fine)
    if a.shape[-2:] != fine.shape:
        raise DataError(
            f"field_fine has shape {a.shape}; expected (..., {fine.shape[0]}, {fine.shape[1]}) "
            "(fine grid)"
        )
    out = _footprint(list(a.reshape(-1, *fine.shape)), cfg, fwhm_km, skipna)
    return out.reshape(*a.shape[:-2], *out.shape[-2:])


def _footprint(
    fields: Sequence[np.ndarray], cfg: ScenarioConfig, fwhm_km: float, skipna: bool = True
) -> np.ndarray:
    """:func:`footprint` of a list of fine (lat, lon) arrays → (field, lat, lon) on the lattice."""
    lattice, fine = cldas_grid(cfg), fine_grid(cfg)
    fy, fx = fine.nest_factor(lattice)
    ant = _antenna(cfg, float(fwhm_km))
    blocks = np.empty((len(fields), *lattice.shape), np.float32)
    valid = None  # fraction of finite fine pixels per lattice cell, only if some NaN
    for i, field in enumerate(fields):  # loop over fields, vectorised over pixels
        bad = np.isnan(field) if field.dtype.kind == "f" else None
        if bad is None or not bad.any():
            blocks[i] = block_mean(field, fy, fx, dtype=np.float32)
        elif not skipna:
            blocks[i] = block_mean(field, fy, fx, dtype=np.float32)
        else:
            if valid is None:
                valid = np.ones_like(blocks)
            valid[i] = block_mean((~bad).astype(np.float32), fy, fx, dtype=np.float32)
            blocks[i] = block_mean(np.where(bad, np.float32(0), field), fy, fx, dtype=np.float32)
    gap = np.isnan(blocks)
    if gap.any():  # only without skipna
        out = _filter(np.where(gap, np.float32(0), blocks), ant) / ant.norm
        out[_filter(gap.astype(np.float32), ant) > 1e-6] = np.nan
    elif valid is None:
        out = _filter(blocks, ant) / ant.norm
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(valid > 0, _filter(blocks, ant) / _filter(valid, ant), np.nan)
    return out.astype(np.float32, copy=False)


# ---- sampling -----------------------------------------------------------------------------------
def _positions(
    cfg: ScenarioConfig, grid: Grid, jitter_km: float, unit: np.ndarray | None
) -> tuple[np.ndarray, ...]:
    """Bilinear stencil (i0, i1, j0, j1, wy, wx, inside) of jittered product centres."""
    lattice = cldas_grid(cfg)
    plat, plon = grid.mesh()
    inside = (
        (plat >= lattice.lat[0] - lattice.dlat / 2)
        & (plat <= lattice.lat[-1] + lattice.dlat / 2)
        & (plon >= lattice.lon[0] - lattice.dlon / 2)
        & (plon <= lattice.lon[-1] + lattice.dlon / 2)
    )
    if unit is not None and jitter_km:
        plat = plat + unit[0] * jitter_km / KM_PER_DEG
        plon = plon + unit[1] * jitter_km / (KM_PER_DEG * np.cos(np.deg2rad(plat)))
    stencil = []
    for p, axis in ((plat, lattice.lat), (plon, lattice.lon)):
        n = axis.size
        f = np.clip((p - axis[0]) / (axis[1] - axis[0]) if n > 1 else 0.0 * p, 0, n - 1)
        i0 = np.minimum(np.floor(f).astype(np.intp), max(n - 2, 0))
        stencil += [i0, np.minimum(i0 + 1, n - 1), (f - i0).astype(np.float32)]
    i0, i1, wy, j0, j1, wx = stencil
    return i0, i1, j0, j1, wy, wx, inside


def _interp(field: np.ndarray, pos: tuple[np.ndarray, ...]) -> np.ndarray:
    i0, i1, j0, j1, wy, wx, inside = pos
    out = (
        (field[..., i0, j0] * (1 - wx) + field[..., i0, j1] * wx) * (1 - wy)
        + (field[..., i1, j0] * (1 - wx) + field[..., i1, j1] * wx) * wy
    ).astype(np.float32)
    out[..., ~inside] = np.nan
    return out


def sample(
    lattice_field: np.ndarray,
    cfg: ScenarioConfig,
    product_grid: Grid,
    jitter_km: float,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """Bilinear sample of lattice field(s) at product cell centres moved by drop-in-bucket jitter.

    Parameters
    ----------
    lattice_field : ndarray (..., lat, lon) on ``cldas_grid(cfg)``
    cfg : ScenarioConfig
    product_grid : Grid
        Target grid (e.g. :func:`product_grid`); only its cell centres are used.
    jitter_km : float
        Half-width of the uniform position jitter in km, applied independently north and east
        (same offset for every leading index, i.e. all channels of one observation).
    rng : Generator or None
        Source of the jitter (one ``uniform(-1, 1, (2, *product_grid.shape))`` draw);
        None = no jitter.

    Returns
    -------
    ndarray of float32 (..., lat, lon) on ``product_grid``; NaN where the cell centre lies outside
    the lattice (domain).

    Notes
    -----
    Spec §9 step 4 (SMAP ±18 km, AMSR2/FY3C ±5 km, ASCAT ±6 km). Jittered points beyond the
    lattice's outer centres take the edge value.
    """
    lattice = cldas_grid(cfg)
    a = np.asarray(lattice_field, dtype=np.float32)
    if a.shape[-2:] != lattice.shape:
        raise DataError(
            f"lattice_field has shape {a.shape}; expected (..., {lattice.shape[0]}, "
            f"{lattice.shape[1]}) (0.0625° lattice)"
        )
    unit = None if rng is None else rng.uniform(-1.0, 1.0, (2, *product_grid.shape))
    return _interp(a, _positions(cfg, product_grid, jitter_km, unit))


# ---- swath --------------------------------------------------------------------------------------
def _timestamp(date: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(date)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise ConfigError(
            f"date is {date!r}; expected a date (datetime.date, Timestamp or 'YYYY-MM-DD')"
        )
    return ts.normalize()


def _day_number(date: Any) -> int:
    return int((_timestamp(date) - _EPOCH).days)


def swath_mask(spec: str | SensorSpec, orbit: str, date: Any, product_grid: Grid) -> np.ndarray:
    """Cells of ``product_grid`` inside the swath of the ``orbit`` passes on ``date``.

    Returns
    -------
    ndarray of bool (lat, lon)

    Notes
    -----
    Spec §9 step 5. Ground tracks are straight lines at ``track_angle_deg`` from the meridian
    (ascending NNW, descending SSW), one every Λ = 360°/N_orb of longitude, with the track
    longitude at 35.5°N λ_c(d) = λ₀ − frac(N_orb·d)·Λ, d = days since 2000-01-01. A cell is observed
    if its cross-track distance to the nearest track is in ``[inner, outer)`` of ``swath_km``.
    Local flat-Earth geometry at the cell's latitude; deterministic per date.
    """
    spec = _spec(spec)
    d = _day_number(date)
    period = 360.0 / spec.orbits_per_day
    lon0 = spec.track_lon0[0 if _check_orbit(orbit) == "asc" else 1]
    lam_c = lon0 - ((spec.orbits_per_day * d) % 1.0) * period
    az = np.deg2rad(-spec.track_angle_deg if orbit == "asc" else spec.track_angle_deg)
    plat, plon = product_grid.mesh()
    km_lon = KM_PER_DEG * np.cos(np.deg2rad(plat))
    dlon = plon - lam_c - (plat - TRACK_LAT) * KM_PER_DEG * np.tan(az) / km_lon
    dlon = (dlon + period / 2) % period - period / 2
    dist = np.abs(dlon) * km_lon * np.cos(az)
    return (dist >= spec.swath_km[0]) & (dist < spec.swath_km[1])


def observed_fraction(
    spec: str | SensorSpec, orbit: str, dates: Sequence[Any], product_grid: Grid
) -> np.ndarray:
    """Fraction of ``dates`` on which each cell is in the swath (1 / mean revisit in days)."""
    count = np.zeros(product_grid.shape, np.int32)
    for date in dates:
        count += swath_mask(spec, orbit, date, product_grid)
    return count / max(len(dates), 1)


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
