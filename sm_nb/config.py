"""Scenario configurations (``mini``, ``demo``, ``full``) and their validation.

The study box is the union of the 0.25° × 0.3125° GEOS-5 cells whose centres lie in
31–40°N, 89–103°E (paper §2.1.5): edges 30.875–40.125°N, 88.90625–102.96875°E, 37 × 45
coarse cells. The fine "1 km" grid nests in it exactly: 1/112° × 1/96° for ``full``
(28 × 30 fine pixels per coarse cell), 1/32° for ``demo`` and ``mini`` (8 × 10).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ConfigError

__all__ = [
    "usable_cores",
    "ScenarioConfig",
    "CONFIGS",
    "get_config",
    "check_seed",
    "STUDY_BOX",
    "COARSE_DLAT",
    "COARSE_DLON",
]

#: Study box edges (south, north, west, east) in degrees.
STUDY_BOX = (30.875, 40.125, 88.90625, 102.96875)
COARSE_DLAT = 0.25
COARSE_DLON = 0.3125
_EPS = 1e-9


@dataclass(frozen=True)
class ScenarioConfig:
    """Everything that defines one synthetic scenario except the seed.

    Attributes
    ----------
    name : str
        Config name (``mini``, ``demo``, ``full`` or a user name for an override).
    fine_dlat, fine_dlon : float
        Fine ("1 km") grid spacing in degrees; must divide the coarse cell exactly.
    years : tuple of int
        Seasons to simulate (2017 and/or 2018).
    start, end : str
        First and last day of each season as ``MM-DD`` (within 04-01 … 11-30).
    spinup_days : int
        Days simulated before ``start`` to spin up the water balance (not stored).
    dt_hours : int
        Sub-daily model step of the water balance, hours (divides 24).
    south, north, west, east : float
        Domain edges in degrees; must be coarse-cell edges inside :data:`STUDY_BOX`.
    amsr2_frequencies : tuple of float
        AMSR2 channels simulated, GHz.
    time_chunk : int
        Days per chunk of the stored fine-grid cubes.
    """

    name: str
    fine_dlat: float
    fine_dlon: float
    years: tuple[int, ...]
    start: str = "04-01"
    end: str = "11-30"
    spinup_days: int = 31
    dt_hours: int = 6
    south: float = STUDY_BOX[0]
    north: float = STUDY_BOX[1]
    west: float = STUDY_BOX[2]
    east: float = STUDY_BOX[3]
    amsr2_frequencies: tuple[float, ...] = (6.925, 7.3, 10.65)
    time_chunk: int = 8

    def __post_init__(self) -> None:
        _validate(self)

    # ---- derived quantities -------------------------------------------------------------
    @property
    def fine_per_coarse(self) -> tuple[int, int]:
        """Fine pixels per coarse cell along (lat, lon)."""
        return (round(COARSE_DLAT / self.fine_dlat), round(COARSE_DLON / self.fine_dlon))

    @property
    def steps_per_day(self) -> int:
        return 24 // self.dt_hours

    def season_dates(self, year: int) -> pd.DatetimeIndex:
        """Stored days of one season (no spin-up)."""
        return pd.date_range(f"{year}-{self.start}", f"{year}-{self.end}", freq="D")

    def run_dates(self, year: int) -> pd.DatetimeIndex:
        """Simulated days of one season including the spin-up."""
        first = pd.Timestamp(f"{year}-{self.start}") - pd.Timedelta(days=self.spinup_days)
        return pd.date_range(first, f"{year}-{self.end}", freq="D")

    @property
    def dates(self) -> pd.DatetimeIndex:
        """All stored days, seasons concatenated (December–March absent)."""
        return pd.DatetimeIndex(np.concatenate([self.season_dates(y).values for y in self.years]))

    def replace(self, **changes: Any) -> ScenarioConfig:
        """Return a validated copy with ``changes`` applied."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            valid = sorted(f.name for f in dataclasses.fields(self))
            raise ConfigError(f"unknown config parameter(s) {sorted(unknown)}; expected one of {valid}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["years"] = list(self.years)
        d["amsr2_frequencies"] = list(self.amsr2_frequencies)
        return d

    @property
    def key(self) -> str:
        """Short stable hash of every field, used in cache paths."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:10]


def _validate(cfg: ScenarioConfig) -> None:
    if not cfg.years:
        raise ConfigError("config parameter 'years' is empty; expected one or more of 2017, 2018")
    for y in cfg.years:
        if not isinstance(y, int | np.integer) or not 2015 <= int(y) <= 2030:
            raise ConfigError(f"config parameter 'years' has {y!r}; expected integer years such as 2017, 2018")
    for key in ("start", "end"):
        value = getattr(cfg, key)
        try:
            md = dt.datetime.strptime(f"2017-{value}", "%Y-%m-%d")
        except (TypeError, ValueError):
            raise ConfigError(f"config parameter {key!r} is {value!r}; expected 'MM-DD'") from None
        if not (4, 1) <= (md.month, md.day) <= (11, 30):
            raise ConfigError(
                f"config parameter {key!r} is {value!r}, outside the seasons; expected a day from "
                "04-01 to 11-30 (December–March are absent, paper §2.1.5)"
            )
    if cfg.start > cfg.end:
        raise ConfigError(f"config 'start' {cfg.start!r} is after 'end' {cfg.end!r}")
    if cfg.dt_hours not in (1, 2, 3, 4, 6, 8, 12, 24):
        raise ConfigError(f"config parameter 'dt_hours' is {cfg.dt_hours!r}; expected a divisor of 24")
    if not isinstance(cfg.spinup_days, int) or cfg.spinup_days < 0:
        raise ConfigError(f"config parameter 'spinup_days' is {cfg.spinup_days!r}; expected an integer >= 0")
    for key, coarse in (("fine_dlat", COARSE_DLAT), ("fine_dlon", COARSE_DLON)):
        value = getattr(cfg, key)
        ratio = coarse / value if value and value > 0 else np.nan
        if not np.isfinite(ratio) or abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
            raise ConfigError(
                f"config parameter {key!r} is {value!r}; expected a spacing that divides the "
                f"coarse cell ({coarse}°) exactly, e.g. {coarse / 8:g}"
            )
    s, n, w, e = STUDY_BOX
    for key, lo, hi, step, origin in (
        ("south", s, n, COARSE_DLAT, s),
        ("north", s, n, COARSE_DLAT, s),
        ("west", w, e, COARSE_DLON, w),
        ("east", w, e, COARSE_DLON, w),
    ):
        value = getattr(cfg, key)
        if not lo - _EPS <= value <= hi + _EPS:
            raise ConfigError(
                f"config parameter {key!r} is {value!r}, outside the grid; expected {lo}–{hi} "
                "(the study box 30.875–40.125°N, 88.90625–102.96875°E)"
            )
        k = (value - origin) / step
        if abs(k - round(k)) > 1e-6:
            raise ConfigError(
                f"config parameter {key!r} is {value!r}; expected a coarse-cell edge "
                f"({origin} + k × {step})"
            )
    if cfg.north - cfg.south < COARSE_DLAT - _EPS or cfg.east - cfg.west < COARSE_DLON - _EPS:
        raise ConfigError(
            f"config domain south={cfg.south}, north={cfg.north}, west={cfg.west}, east={cfg.east} "
            "is empty; expected at least one coarse cell"
        )
    if cfg.time_chunk < 1:
        raise ConfigError(f"config parameter 'time_chunk' is {cfg.time_chunk!r}; expected >= 1")


CONFIGS: dict[str, ScenarioConfig] = {
    # unit tests: 4 × 5 coarse cells around Dulan–Wulan–Chaka, 60 monsoon days
    "mini": ScenarioConfig(
        name="mini", fine_dlat=1 / 32, fine_dlon=1 / 32, years=(2017,), start="06-01",
        end="07-30", spinup_days=31, dt_hours=6, south=36.125, north=37.125,
        west=97.65625, east=99.21875,
    ),
    # the embedded default: whole study box, 1/32°, the 2017 season
    "demo": ScenarioConfig(name="demo", fine_dlat=1 / 32, fine_dlon=1 / 32, years=(2017,), dt_hours=6),
    # the paper's set-up: 1/112° × 1/96° (≈1 km), both seasons
    "full": ScenarioConfig(
        name="full", fine_dlat=1 / 112, fine_dlon=1 / 96, years=(2017, 2018), dt_hours=3
    ),
}


def get_config(config: str | ScenarioConfig, **overrides: Any) -> ScenarioConfig:
    """Return a named config (optionally with ``overrides``) or pass a config through.

    Raises
    ------
    ConfigError
        If ``config`` is not a known name or an override is invalid.
    """
    if isinstance(config, ScenarioConfig):
        cfg = config
    elif isinstance(config, str) and config in CONFIGS:
        cfg = CONFIGS[config]
    else:
        raise ConfigError(f"unknown config {config!r}; expected one of {sorted(CONFIGS)}")
    return cfg.replace(**overrides) if overrides else cfg


def check_seed(seed: Any) -> int:
    """Return ``seed`` as int or raise :class:`ConfigError` (non-negative integers only)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ConfigError(f"seed is {seed!r} ({type(seed).__name__}); expected a non-negative integer")
    if seed < 0:
        raise ConfigError(f"seed is {seed}; expected a non-negative integer")
    return int(seed)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
