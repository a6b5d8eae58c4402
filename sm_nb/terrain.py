"""Terrain derivatives of a lat/lon DEM with metric spacing (never degrees-as-metres).

* :func:`gradient_metric` — Horn (1981) 3 × 3 gradient, m m-1;
* :func:`slope_aspect` — slope and aspect, degree.

Used by the feature builder (:mod:`sm_nb.features`), the SRTM reader and the scenario's
terrain generator. The Earth is the sphere of :data:`sm_nb.grids.EARTH_RADIUS_M`.
"""

from __future__ import annotations

import numpy as np

from .exceptions import DataError
from .grids import EARTH_RADIUS_M

__all__ = ["metric_spacing", "gradient_metric", "slope_aspect", "aspect_from_gradient"]


def metric_spacing(lat: np.ndarray, lon: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, float]:
    """Metric cell spacing of a (lat, lon) array: dx per row (m, R·cos φ·Δλ) and dy (m, R·Δφ).

    Raises
    ------
    DataError
        If ``shape`` does not match ``lat``/``lon`` or they are not ascending and uniform.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if len(shape) != 2 or shape != (lat.size, lon.size):
        raise DataError(
            f"elevation has shape {shape}; expected 2-D (lat, lon) = ({lat.size}, {lon.size}) matching lat and lon"
        )
    if lat.size < 2 or lon.size < 2:
        raise DataError(f"elevation of shape {shape} is too small; expected at least 2 × 2 pixels")
    dlat, dlon = np.diff(lat), np.diff(lon)
    if not (np.allclose(dlat, dlat[0], rtol=1e-6) and np.allclose(dlon, dlon[0], rtol=1e-6)) or dlat[0] <= 0 or dlon[0] <= 0:
        raise DataError("lat and lon must be ascending and uniformly spaced (degrees)")
    dy = EARTH_RADIUS_M * np.deg2rad(dlat[0])
    dx = EARTH_RADIUS_M * np.cos(np.deg2rad(lat)) * np.deg2rad(dlon[0])
    return dx, float(dy)


def gradient_metric(elevation: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horn (1981) 3 × 3 gradient with metric spacing: (∂z/∂x east, ∂z/∂y north), m m-1.

    Spacing dx = R·cos φ·Δλ (per row), dy = R·Δφ (R = 6371 km). Edges use odd reflection
    (linear extrapolation), exact for planes.
    """
    z = np.asarray(elevation)
    dx, dy = metric_spacing(lat, lon, z.shape)
    z = z.astype(np.float32 if z.dtype == np.float32 else np.float64, copy=False)
    zp = np.pad(z, 1, mode="reflect", reflect_type="odd")
    gx = (zp[:-2, 2:] + 2 * zp[1:-1, 2:] + zp[2:, 2:]) - (zp[:-2, :-2] + 2 * zp[1:-1, :-2] + zp[2:, :-2])
    gx /= (8.0 * dx[:, None]).astype(gx.dtype)
    gy = (zp[2:, :-2] + 2 * zp[2:, 1:-1] + zp[2:, 2:]) - (zp[:-2, :-2] + 2 * zp[:-2, 1:-1] + zp[:-2, 2:])
    gy /= gx.dtype.type(8.0 * dy)
    return gx, gy


def aspect_from_gradient(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Aspect (degree clockwise from north, downslope; 0 where flat) of a gradient (east, north)."""
    asp = np.degrees(np.arctan2(-gx, -gy)) % 360.0
    return np.where((gx == 0) & (gy == 0), 0.0, asp).astype(np.float32)


def slope_aspect(elevation: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect of a lat/lon DEM with metric spacing (never degrees-as-metres).

    Parameters
    ----------
    elevation : ndarray (lat, lon), m
    lat, lon : ndarray, degrees
        Ascending, uniformly spaced cell-centre coordinates.

    Returns
    -------
    slope : ndarray (lat, lon) float32, degree
        arctan |∇z| with the Horn (1981) gradient.
    aspect : ndarray (lat, lon) float32, degree
        Direction the slope faces (downslope), clockwise from north; 0 where flat.

    Notes
    -----
    Spec §3: SLOPE as the paper computed it from the DEM, here with dx = R·cos φ·Δλ,
    dy = R·Δφ, R = 6371 km.
    """
    gx, gy = gradient_metric(elevation, lat, lon)
    slope = np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32)
    return slope, aspect_from_gradient(gx, gy)
