"""Sensor specifications of the scenario (spec §9): the instruments, their channels and grids.

:class:`SensorSpec` per instrument (SMAP, AMSR2, FY-3C MWRI, ASCAT) in :data:`SENSORS`, the RFI
description :class:`RFISpec`, quality-flag bits and thresholds, and the registry helpers
(:func:`channels`, :func:`fine_keys`, :func:`product_grid`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..config import ScenarioConfig
from ..exceptions import ConfigError
from ..grids import EARTH_RADIUS_KM, Grid, ease2_grid, latlon_grid

__all__ = [
    "RFISpec",
    "SensorSpec",
    "SENSORS",
    "ORBITS",
    "RFI_CITIES",
    "FLAG_BITS",
    "FLAG_THRESHOLDS",
    "KM_PER_DEG",
    "FWHM_PER_SIGMA",
    "channels",
    "fine_keys",
    "product_grid",
]

ORBITS = ("asc", "desc")
#: km per degree of latitude on the sphere R = 6371 km (same Earth as ``grids``).
KM_PER_DEG = np.pi / 180.0 * EARTH_RADIUS_KM
#: FWHM / σ of a Gaussian, 2·sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Latitude (degrees) at which the ground-track longitude λ_c is defined (spec §9 step 5).

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
        Ground-track longitude at :data:`~sm_nb.scenario.swath.TRACK_LAT` on 2000-01-01 [A].
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
