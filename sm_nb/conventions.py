"""Dimension names, CF attributes and small helpers that keep them on every output.

All sm_nb arrays use the named dims below; coordinate attributes come from here so that
every module writes the same CF metadata (CF Conventions 1.10, standard name table v84).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .exceptions import DataError

__all__ = [
    "TIME",
    "LAT",
    "LON",
    "STATION",
    "PRODUCT",
    "SAMPLE",
    "FEATURE",
    "FREQUENCY",
    "COORD_ATTRS",
    "VAR_ATTRS",
    "cf_attrs",
    "with_attrs",
    "check_units",
    "check_dims",
]

TIME = "time"
LAT = "lat"
LON = "lon"
STATION = "station"
PRODUCT = "product"
SAMPLE = "sample"
FEATURE = "feature"
FREQUENCY = "frequency"

COORD_ATTRS: dict[str, dict[str, str]] = {
    LAT: {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude", "axis": "Y"},
    LON: {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude", "axis": "X"},
    TIME: {"standard_name": "time", "long_name": "time", "axis": "T"},
    FREQUENCY: {"units": "GHz", "long_name": "centre frequency", "standard_name": "sensor_band_central_radiation_frequency"},
}

# CF attributes of every physical variable sm_nb writes, keyed by a short name.
VAR_ATTRS: dict[str, dict[str, str]] = {
    "sm": {"units": "m3 m-3", "long_name": "volumetric soil moisture", "standard_name": "volume_fraction_of_condensed_water_in_soil"},
    "tb": {"units": "K", "long_name": "brightness temperature", "standard_name": "brightness_temperature"},
    "sigma0": {"units": "dB", "long_name": "normalised radar backscatter at 40 deg incidence", "standard_name": "surface_backwards_scattering_coefficient_of_radar_wave"},
    "elevation": {"units": "m", "long_name": "surface elevation above the geoid", "standard_name": "surface_altitude"},
    "slope": {"units": "degree", "long_name": "terrain slope"},
    "aspect": {"units": "degree", "long_name": "terrain aspect (clockwise from north, downslope direction)"},
    "temperature": {"units": "K", "long_name": "temperature", "standard_name": "surface_temperature"},
    "lst": {"units": "K", "long_name": "land surface temperature", "standard_name": "surface_temperature"},
    "precipitation": {"units": "mm d-1", "long_name": "daily precipitation amount", "standard_name": "lwe_thickness_of_precipitation_amount"},
    "ndvi": {"units": "1", "long_name": "normalised difference vegetation index", "standard_name": "normalized_difference_vegetation_index"},
    "evi": {"units": "1", "long_name": "enhanced vegetation index"},
    "reflectance": {"units": "1", "long_name": "surface bidirectional reflectance", "standard_name": "surface_bidirectional_reflectance"},
    "fraction": {"units": "1", "long_name": "area fraction", "standard_name": "area_fraction"},
}


def cf_attrs(kind: str, **extra: Any) -> dict[str, Any]:
    """Return a fresh copy of the CF attributes for ``kind`` updated with ``extra``.

    Parameters
    ----------
    kind : str
        A key of :data:`VAR_ATTRS`.
    **extra
        Attributes that override or extend the defaults (e.g. ``long_name``).
    """
    if kind not in VAR_ATTRS:
        raise DataError(f"unknown variable kind {kind!r}; expected one of {sorted(VAR_ATTRS)}")
    return {**VAR_ATTRS[kind], **extra}


def with_attrs(da: xr.DataArray, kind: str | None = None, **extra: Any) -> xr.DataArray:
    """Return ``da`` with CF attributes for ``kind`` (and ``extra``) and CF coordinate attrs."""
    attrs = dict(da.attrs)
    if kind is not None:
        attrs.update(cf_attrs(kind))
    attrs.update(extra)
    out = da.copy(deep=False)
    out.attrs = attrs
    for name, cattrs in COORD_ATTRS.items():
        if name in out.coords:
            out.coords[name].attrs.update(cattrs)
    return out


def check_dims(obj: xr.DataArray | xr.Dataset, required: tuple[str, ...], name: str = "input") -> None:
    """Raise :class:`DataError` unless ``obj`` has every dim in ``required``."""
    missing = [d for d in required if d not in obj.dims]
    if missing:
        raise DataError(f"{name} lacks dimension(s) {missing}; it has {tuple(obj.dims)}, expected {required}")


def check_units(da: xr.DataArray, expected: str | tuple[str, ...], name: str | None = None) -> None:
    """Raise :class:`DataError` unless ``da.attrs['units']`` is one of ``expected``."""
    allowed = (expected,) if isinstance(expected, str) else tuple(expected)
    got = da.attrs.get("units")
    label = name or da.name or "array"
    if got not in allowed:
        raise DataError(f"{label!r} has units {got!r}; expected one of {list(allowed)}")


def finite_fraction(values: np.ndarray | xr.DataArray) -> float:
    """Fraction of finite values (a coverage number reported beside gap-filled products)."""
    arr = np.asarray(values)
    return float(np.isfinite(arr).mean()) if arr.size else 0.0


def merge_attrs(*maps: Mapping[str, Any]) -> dict[str, Any]:
    """Merge attribute mappings left to right."""
    out: dict[str, Any] = {}
    for m in maps:
        out.update(m)
    return out
