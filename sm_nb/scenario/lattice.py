"""Geometry on the relief lattice of the scenario: local kilometre coordinates, smooth masks,
distances to polylines and ellipses, the 1/64° lattice grid and spline interpolation from it.

Shared by :mod:`sm_nb.scenario.geography` (the named features) and
:mod:`sm_nb.scenario.terrain` (the DEM), so that neither imports the other's internals.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RectBivariateSpline

from ..config import STUDY_BOX
from ..grids import EARTH_RADIUS_KM, Grid

__all__ = ["xy_km", "ellipse_radius", "lattice_grid", "spline_to_grid", "spline_to_points"]


def xy_km(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local sinusoidal projection about 35.5°N 96°E, km (distances within a few % in the box)."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    r_km = EARTH_RADIUS_KM
    return r_km * np.cos(np.deg2rad(lat)) * np.deg2rad(lon - 96.0), r_km * np.deg2rad(lat - 35.5)


def _smoothstep(x: np.ndarray, e0: float, e1: float) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def ellipse_radius(
    x: np.ndarray, y: np.ndarray, lat: float, lon: float, a: float, b: float, angle: float, wobble: float = 0.1
) -> np.ndarray:
    """Normalised elliptic radius (1 on the outline) of points ``(x, y)`` km from :func:`xy_km`.

    ``wobble`` makes the outline irregular: r is scaled by 1 + wobble·(0.6 sin 3ψ + 0.4 sin 5ψ)
    (ψ the polar angle in the ellipse frame, phases fixed by the centre), so it stays deterministic.
    """
    x0, y0 = xy_km(np.array(lat), np.array(lon))
    c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    dx, dy = x - x0, y - y0
    u = (dx * c + dy * s) / a
    v = (-dx * s + dy * c) / b
    r = np.sqrt(u * u + v * v)
    if wobble:
        psi = np.arctan2(v, u)
        r = r * (1.0 + wobble * (0.6 * np.sin(3 * psi + 7.3 * lat) + 0.4 * np.sin(5 * psi + 5.1 * lon)))
    return r


def _polyline(x: np.ndarray, y: np.ndarray, verts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance (km) to a polyline and its vertex attributes (z, width) at the nearest point.

    ``verts`` rows are (lat, lon, z, width_km); loops over segments, never over pixels.
    """
    vx, vy = xy_km(verts[:, 0], verts[:, 1])
    best = np.full(x.shape, np.inf)
    zt = np.zeros(x.shape)
    wt = np.ones(x.shape)
    for k in range(len(verts) - 1):
        ex, ey = vx[k + 1] - vx[k], vy[k + 1] - vy[k]
        t = np.clip(((x - vx[k]) * ex + (y - vy[k]) * ey) / max(ex * ex + ey * ey, 1e-9), 0.0, 1.0)
        d = np.hypot(x - vx[k] - t * ex, y - vy[k] - t * ey)
        closer = d < best
        best = np.where(closer, d, best)
        zt = np.where(closer, verts[k, 2] + t * (verts[k + 1, 2] - verts[k, 2]), zt)
        wt = np.where(closer, verts[k, 3] + t * (verts[k + 1, 3] - verts[k, 3]), wt)
    return best, zt, wt


def _window(grid: Grid, lats: np.ndarray, lons: np.ndarray, reach_km: float) -> tuple[slice, slice]:
    """Index window of ``grid`` around the given points ± ``reach_km``."""
    dlat = reach_km / 111.0
    dlon = reach_km / (111.0 * np.cos(np.deg2rad(np.max(np.abs(lats)) + dlat)))
    i0, i1 = np.searchsorted(grid.lat, [np.min(lats) - dlat, np.max(lats) + dlat])
    j0, j1 = np.searchsorted(grid.lon, [np.min(lons) - dlon, np.max(lons) + dlon])
    return slice(int(i0), int(i1)), slice(int(j0), int(j1))


def _kernel_interp(x: np.ndarray, y: np.ndarray, anchors: np.ndarray, length_km: float) -> np.ndarray:
    """Normalised Gaussian-kernel (Nadaraya–Watson) interpolation; bounded by the anchor values."""
    ax, ay = xy_km(anchors[:, 0], anchors[:, 1])
    num = np.zeros(x.shape)
    den = np.full(x.shape, 1e-300)
    for k in range(len(anchors)):
        w = np.exp(-((x - ax[k]) ** 2 + (y - ay[k]) ** 2) / length_km**2)
        num += w * anchors[k, 2]
        den += w
    return num / den


# ---------------------------------------------------------------------------------------------
# lattices, splines, band-limited fractal noise
# ---------------------------------------------------------------------------------------------
def lattice_grid(res: float = 1 / 64, margin_cells: int = 4) -> Grid:
    """A regular lattice over the whole study box plus ``margin_cells``; the same for every config."""
    s, n, w, e = STUDY_BOX
    m = margin_cells * res
    lat = s - m + (np.arange(round((n - s + 2 * m) / res)) + 0.5) * res
    lon = w - m + (np.arange(round((e - w + 2 * m) / res)) + 0.5) * res
    return Grid(f"lattice_{res:g}", lat, lon, res, res)


def spline_to_grid(field: np.ndarray, src: Grid, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Bicubic interpolating spline of a lattice field on the grid ``lat`` × ``lon`` (float32)."""
    spl = RectBivariateSpline(src.lat, src.lon, np.asarray(field, dtype=np.float64), kx=3, ky=3, s=0)
    return spl(np.clip(lat, src.lat[0], src.lat[-1]), np.clip(lon, src.lon[0], src.lon[-1])).astype(np.float32)


def spline_to_points(field: np.ndarray, src: Grid, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Bicubic interpolating spline of a lattice field at scattered points (float64)."""
    spl = RectBivariateSpline(src.lat, src.lon, np.asarray(field, dtype=np.float64), kx=3, ky=3, s=0)
    la = np.clip(np.asarray(lat, float), src.lat[0], src.lat[-1])
    return spl.ev(la, np.clip(np.asarray(lon, float), src.lon[0], src.lon[-1]))
