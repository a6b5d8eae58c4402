"""Swath and overpass geometry of the sun-synchronous sensors (spec §9).

:func:`swath_mask` — which product cells a sensor's ascending or descending pass sees on a
day (ground tracks and swath limits); :func:`observed_fraction` — the fraction of the domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ConfigError
from ..grids import Grid
from .sensor_specs import KM_PER_DEG, SensorSpec, _check_orbit, _spec

__all__ = ["TRACK_LAT", "swath_mask", "observed_fraction"]

#: latitude (degrees N) at which the ground-track longitudes of the specs are given
TRACK_LAT = 35.5
_EPOCH = pd.Timestamp("2000-01-01")


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
