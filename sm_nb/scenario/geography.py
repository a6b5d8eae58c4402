"""Named geography of the Qinghai study box: the skeleton of the synthetic DEM (spec §3).

Everything named lives here: regional surface anchors, mountain ranges and peaks, river troughs,
elliptic basins and playas, lakes (named ones plus seed-drawn small plateau lakes) and the towns
and sites whose elevations pin the surface, together with the functions that turn them into the
deterministic skeleton on the 1/64° lattice (:func:`_skeleton`), the town-anchoring correction
(:func:`_town_correction`) and the synthetic lakes (:func:`_synthetic_lakes`). The random relief
and the DEM products (SLOPE, aspect, TWI) are in :mod:`sm_nb.scenario.terrain`, which combines
them; both use the geometric helpers of :mod:`sm_nb.scenario.lattice` (local projection,
ellipses, polylines, lattice splines).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import RBFInterpolator

from ..grids import Grid
from .lattice import (
    _kernel_interp,
    _polyline,
    _smoothstep,
    _window,
    ellipse_radius,
    lattice_grid,
    spline_to_points,
    xy_km,
)
from .randomfields import rng_for

__all__ = ["TOWNS", "PLAYAS", "Lake"]

# --- named features [A] (approximate; anchors of spec §3) ---------------------------------------
# regional surface anchors (lat, lon, z m), Gaussian-kernel interpolated (L = 90 km)
_BASE = [
    (37.3, 94.5, 3100), (38.3, 91.5, 3300), (36.7, 97.0, 3300), (38.9, 93.5, 3500), (38.5, 96.5, 3900),
    (38.6, 98.5, 3900), (37.9, 100.0, 3700), (37.5, 101.8, 3100), (37.0, 102.8, 2500), (39.8, 98.0, 1900),
    (39.6, 100.3, 1800), (40.0, 95.5, 2000), (40.1, 92.5, 2300), (40.1, 89.5, 2400), (38.6, 89.5, 3900),
    (37.4, 89.6, 4100), (36.3, 90.0, 4800), (36.0, 93.0, 4600), (36.0, 96.0, 4300), (35.8, 98.5, 4100),
    (35.3, 90.0, 4950), (35.0, 92.0, 4850), (34.5, 93.5, 4750), (34.2, 90.5, 4900), (33.3, 90.0, 5000),
    (33.0, 92.5, 4950), (32.0, 90.0, 4800), (31.3, 91.5, 4700), (31.5, 93.5, 4550), (34.3, 95.5, 4550),
    (33.5, 96.0, 4450), (34.5, 97.5, 4450), (34.2, 99.0, 4350), (33.6, 99.8, 4250), (32.8, 97.5, 4400),
    (32.0, 96.0, 4400), (31.3, 97.5, 4300), (31.5, 99.5, 4250), (32.3, 100.5, 4050), (33.0, 101.5, 3800),
    (32.3, 102.5, 3700), (31.3, 102.5, 3800), (34.5, 101.5, 3700), (35.2, 102.5, 3100), (35.3, 101.0, 3500),
    (36.0, 100.0, 3500), (36.5, 101.5, 3000), (36.0, 102.8, 2400), (37.0, 100.0, 3500), (37.3, 99.0, 3700),
]
# ridges: name → vertices (lat, lon, crest z m, half-width km)
_RIDGES = {
    "Kunlun": [(36.35, 88.8, 5400, 28), (36.1, 90.0, 5600, 30), (36.0, 90.9, 5800, 30), (35.85, 92.5, 5450, 30),
               (35.65, 94.2, 5500, 30), (35.9, 95.5, 5100, 26), (35.95, 97.0, 5000, 24), (35.75, 98.3, 4800, 20)],
    "Qimantag": [(36.9, 89.0, 5000, 16), (37.3, 90.5, 5100, 16), (37.55, 91.8, 4700, 14)],
    "Altun": [(38.2, 88.8, 5300, 22), (38.7, 90.5, 5000, 22), (39.1, 92.0, 4500, 20), (39.4, 93.5, 4000, 16),
              (39.65, 94.6, 3600, 14)],
    "Saishiteng": [(39.0, 92.8, 4600, 12), (38.65, 94.5, 4700, 12), (38.2, 95.8, 4500, 12)],
    "Danghe Nanshan": [(39.3, 94.3, 5000, 16), (38.9, 95.5, 5300, 16), (38.55, 96.6, 5200, 15)],
    "Shule Nanshan": [(38.85, 96.0, 5000, 14), (38.5, 97.7, 5600, 16), (38.05, 99.0, 5000, 14)],
    "Tuolai Shan": [(39.05, 97.2, 4800, 12), (38.7, 98.5, 5000, 13), (38.3, 100.0, 4700, 12)],
    "Zoulang Nanshan": [(39.55, 96.6, 4800, 14), (39.25, 98.0, 5300, 15), (38.85, 99.6, 5200, 15),
                        (38.3, 101.2, 4600, 14), (37.6, 102.8, 4000, 12)],
    "Datong Shan": [(38.2, 98.8, 4700, 13), (37.7, 100.3, 4800, 13), (37.3, 101.5, 4400, 12)],
    "Daban Shan": [(37.5, 100.8, 4300, 10), (37.0, 102.0, 4200, 10), (36.7, 103.0, 3700, 10)],
    "Zongwulong": [(37.75, 96.4, 4600, 12), (37.6, 98.0, 4700, 12), (37.45, 99.1, 4400, 11)],
    "Qinghai Nanshan": [(36.95, 98.6, 4300, 12), (36.65, 99.8, 4500, 12), (36.4, 100.6, 4300, 11),
                        (36.25, 101.0, 4000, 10)],
    "Riyue-Laji": [(36.85, 101.0, 4200, 9), (36.4, 101.2, 4300, 9), (36.2, 102.0, 4100, 10), (35.9, 102.6, 3900, 10)],
    "Ela Shan": [(35.95, 98.9, 4800, 14), (35.6, 99.7, 4600, 14), (35.35, 100.3, 4400, 12)],
    "Amne Machin": [(35.3, 98.3, 5000, 16), (34.8, 99.45, 5600, 18), (34.3, 100.5, 4900, 16), (33.9, 101.3, 4500, 14)],
    "Bayan Har": [(34.8, 95.3, 5100, 18), (34.2, 97.0, 5100, 18), (33.9, 98.5, 5000, 16), (33.4, 100.0, 4800, 15),
                  (32.9, 101.1, 4500, 14)],
    "Hoh Xil Shan": [(35.55, 89.3, 5400, 14), (35.75, 90.8, 5600, 15), (35.55, 92.5, 5400, 14), (35.5, 93.6, 5100, 12)],
    "Ulan Ul Shan": [(34.35, 89.3, 5300, 12), (34.5, 90.9, 5400, 12), (34.45, 92.3, 5100, 11)],
    "Tanggula": [(33.0, 88.8, 5500, 22), (33.25, 90.0, 5600, 22), (33.45, 91.2, 5800, 22), (33.2, 92.5, 5600, 20),
                 (32.8, 93.8, 5300, 18), (32.35, 95.0, 5000, 16)],
    "Nyainqentanglha N": [(31.0, 91.5, 5600, 15), (31.3, 93.0, 5500, 15), (31.2, 94.5, 5300, 14)],
    "Shaluli": [(32.6, 98.8, 5000, 12), (31.8, 99.05, 5600, 14), (31.0, 99.3, 5300, 14)],
    "Qionglai N": [(32.5, 101.5, 4600, 12), (31.8, 102.3, 4900, 12), (31.1, 102.9, 5000, 12)],
}
# peaks: (name, lat, lon, z, half-width km)
_PEAKS = [
    ("Bukadaban", 36.0, 90.9, 6860, 9), ("Yuzhu Feng", 35.63, 94.22, 6178, 8), ("Amne Machin", 34.8, 99.47, 6282, 9),
    ("Geladaindong", 33.45, 91.2, 6621, 9), ("Tuanjie Feng", 38.47, 97.72, 5808, 7), ("Chola Shan", 31.8, 99.0, 6168, 7),
]
# river troughs: name → vertices (lat, lon, floor z m, half-width km)
_TROUGHS = {
    "Yellow upper": [(34.92, 98.2, 4220, 6), (34.4, 99.0, 4080, 6), (33.75, 99.65, 3950, 6), (33.5, 100.5, 3700, 6),
                     (33.4, 101.2, 3560, 7), (33.6, 101.8, 3460, 7), (34.0, 102.1, 3400, 8)],
    "Yellow lower": [(34.0, 102.1, 3400, 8), (34.6, 101.3, 3150, 6), (35.05, 100.6, 2900, 6), (35.5, 100.35, 2750, 6),
                     (36.1, 100.9, 2450, 6), (36.04, 101.43, 2200, 7), (35.95, 101.9, 2050, 6), (35.85, 102.5, 1880, 6),
                     (36.1, 103.1, 1650, 7)],
    "Huangshui": [(37.1, 100.9, 3150, 6), (36.68, 101.25, 2670, 6), (36.62, 101.78, 2260, 8), (36.48, 102.4, 1980, 7),
                  (36.32, 102.85, 1700, 7), (36.15, 103.1, 1620, 7)],
    "Datong": [(38.1, 99.0, 3800, 7), (37.7, 100.3, 3300, 7), (37.38, 101.62, 2850, 8), (37.0, 102.4, 2300, 6),
               (36.45, 102.85, 1800, 6)],
    "Heihe": [(38.1, 99.2, 3700, 6), (38.42, 99.58, 3320, 7), (38.18, 100.25, 2790, 7), (38.6, 100.35, 2300, 6),
              (38.95, 100.45, 1500, 8)],
    "Shule": [(38.3, 97.0, 3900, 7), (38.9, 96.8, 3300, 7), (39.6, 96.9, 2200, 8), (40.3, 96.8, 1700, 8)],
    "Tongtian-Jinsha": [(34.22, 92.43, 4530, 8), (34.0, 93.8, 4420, 8), (33.85, 95.6, 4170, 7), (33.3, 96.6, 3800, 6),
                        (33.0, 97.05, 3560, 5), (32.4, 98.3, 3250, 5), (31.6, 98.6, 3050, 5), (30.8, 99.0, 2800, 5)],
    "Zaqu-Lancang": [(33.3, 94.5, 4300, 6), (32.9, 95.3, 4060, 6), (32.2, 96.48, 3640, 5), (31.6, 96.9, 3450, 5),
                     (31.14, 97.17, 3240, 5), (30.7, 97.4, 3100, 5)],
    "Yalong": [(33.6, 97.5, 4300, 6), (32.98, 98.1, 4100, 6), (32.3, 99.1, 3800, 5), (31.62, 99.99, 3390, 5),
               (30.8, 100.5, 3000, 5)],
    "Nu": [(31.48, 92.05, 4500, 7), (31.45, 93.8, 3950, 6), (31.1, 95.0, 3700, 5), (30.7, 96.3, 3300, 5)],
    "Zequ-Dadu": [(33.2, 101.2, 3700, 6), (32.3, 101.6, 3200, 5), (31.9, 102.2, 2650, 5), (31.2, 102.95, 2300, 5)],
}
# basins: (name, lat, lon, a km, b km, angle deg CCW from east, z centre, z edge); floor = zc + (ze - zc) r²
_BASINS = [
    ("Qaidam", 37.27, 94.45, 390, 115, -15, 2760, 3020),
    ("Qinghai Lake basin", 36.95, 100.1, 78, 45, -12, 3200, 3400),
    ("Gonghe", 36.2, 100.3, 60, 28, -20, 2850, 3050),
    ("Chaka", 36.75, 99.2, 35, 15, 0, 3060, 3160),
    ("Delingha", 37.3, 97.4, 45, 18, -10, 2940, 3080),
    ("Hexi corridor", 39.35, 99.6, 300, 42, -29, 1500, 1900),
    ("Kumkol", 37.45, 89.9, 70, 28, 20, 3880, 4000),
    ("Sugan", 38.85, 94.0, 50, 20, -15, 2800, 3000),
    ("Hala Lake", 38.3, 97.6, 30, 20, 0, 4080, 4200),
    ("Yellow source", 34.85, 97.85, 60, 25, 5, 4280, 4350),
    ("Zoige", 33.7, 102.6, 70, 45, 40, 3440, 3500),
]
#: playas / salt flats on the Qaidam floor: (name, lat, lon, a km, b km, angle deg, floor z m)
PLAYAS = [
    ("Qarhan", 36.95, 95.25, 72, 22, 0, 2675), ("Taijinar", 37.55, 93.65, 50, 18, 35, 2680),
    ("Kunteyi", 38.55, 93.45, 40, 14, 20, 2700), ("Mahai", 38.2, 94.3, 30, 14, 10, 2720),
    ("Yiliping", 37.0, 94.0, 55, 18, 5, 2690), ("Gas Hure", 38.1, 90.95, 32, 12, 15, 2850),
    ("Da Qaidam", 37.8, 95.15, 18, 8, 0, 3050), ("Huobuxun", 36.9, 96.2, 32, 12, 10, 2690),
]
# named lakes: (name, lat, lon, a km, b km, angle, level m)
_LAKES = [
    ("Qinghai Lake", 36.9, 100.2, 52.5, 30, -12, 3196), ("Gyaring", 34.93, 97.27, 17, 8.5, 0, 4292),
    ("Ngoring", 34.9, 97.7, 15, 13, 20, 4272), ("Hala", 38.3, 97.6, 15, 12.5, 0, 4077),
    ("Ayakkum", 37.55, 89.4, 26, 12, 15, 3876), ("Jingyu", 36.35, 89.45, 15, 7, 10, 4708),
    ("Ulan Ul", 34.8, 90.5, 20, 10, 10, 4854), ("Xijir Ulan", 35.2, 90.3, 17, 7.5, 0, 4769),
    ("Dogai Coring", 34.55, 89.1, 16, 8, 30, 4818), ("Hoh Xil", 35.6, 91.1, 12, 8, 0, 4886),
    ("Zonag", 35.6, 91.9, 12, 7, 15, 4770), ("Lexie Wudan", 35.72, 90.2, 13, 6, 0, 4867),
    ("Kusai", 35.72, 92.9, 14, 6, 20, 4475), ("Taiyang", 35.9, 90.6, 8, 4, 0, 4880),
    ("Dabuxun", 36.97, 95.2, 15, 4.5, 5, 2675), ("Dong Taijinar", 37.4, 93.9, 12, 5, 40, 2680),
    ("Xi Taijinar", 37.7, 93.4, 9, 5, 40, 2680), ("Toson", 37.13, 96.93, 14, 5, 45, 2810),
    ("Sugan", 38.87, 93.9, 10, 4.5, 0, 2795), ("Donggi Cona", 35.3, 98.55, 15, 5, 0, 4090),
    ("Chaka Salt Lake", 36.7, 99.1, 11, 5, 0, 3059), ("Siling Co", 31.8, 89.0, 36, 12, -5, 4530),
    ("Co Nag", 32.0, 91.45, 20, 9, 0, 4585), ("Dorsoidong Co", 33.4, 89.85, 20, 10, 20, 4935),
    ("Migriggyangzham Co", 33.4, 90.3, 16, 8, 0, 4935), ("Zige Tangco", 32.1, 90.8, 15, 6, 0, 4560),
]
#: named towns and sites (lat, lon, elevation m) that pin the DEM [A, spec §11 for the sites]
TOWNS: dict[str, tuple[float, float, float]] = {
    "Delingha": (37.37, 97.36, 2982), "Dulan": (36.30, 98.10, 3189), "Golmud": (36.41, 94.93, 2809),
    "Nuomuhong": (36.43, 96.42, 2790), "Tianjun": (37.30, 99.02, 3420), "Wulan": (36.93, 98.48, 2950),
    "Yeniugou": (38.42, 99.58, 3320), "Xiaozaohuo": (36.80, 93.68, 2770), "Dachaidan": (37.85, 95.37, 3175),
    "Chaka": (36.78, 99.08, 3090), "Wudaoliang": (35.22, 93.08, 4610), "Xinghai": (35.58, 99.98, 3320),
    "Qumarai": (34.13, 95.78, 4175), "Lenghu": (38.38, 93.37, 2770), "Mangnai": (38.25, 90.85, 2945),
    "Xiangride": (36.06, 97.80, 3050), "Xining": (36.62, 101.78, 2261), "Minhe": (36.32, 102.85, 1813),
    "Gangcha": (37.33, 100.13, 3301), "Qilian": (38.18, 100.25, 2787), "Tuole": (38.80, 98.42, 3367),
    "Menyuan": (37.38, 101.62, 2850), "Gonghe": (36.27, 100.62, 2835), "Guide": (36.04, 101.43, 2237),
    "Tongde": (35.25, 100.65, 3289), "Zeku": (35.03, 101.47, 3662), "Henan": (34.73, 101.60, 3500),
    "Maqin": (34.48, 100.23, 3719), "Madoi": (34.92, 98.20, 4272), "Darlag": (33.75, 99.65, 3968),
    "Zhiduo": (33.85, 95.60, 4180), "Zadoi": (32.90, 95.30, 4066), "Nangqian": (32.20, 96.48, 3644),
    "Yushu": (33.00, 97.02, 3681), "Jiuzhi": (33.43, 101.48, 3629), "Banma": (32.93, 100.75, 3530),
    "Tuotuohe": (34.22, 92.43, 4533), "Amdo": (32.35, 91.10, 4800), "Nagqu": (31.48, 92.05, 4507),
    "Qamdo": (31.14, 97.17, 3240), "Shiqu": (32.98, 98.10, 4200), "Seda": (32.27, 100.33, 3890),
    "Ganzi": (31.62, 99.99, 3390), "Aba": (32.90, 101.70, 3290), "Hongyuan": (32.80, 102.55, 3490),
    "Zoige": (33.58, 102.97, 3440), "Maqu": (34.00, 102.08, 3470), "Xiahe": (35.20, 102.50, 2920),
    "Jiuquan": (39.77, 98.50, 1477), "Zhangye": (38.93, 100.45, 1483),
}
# relief-class anchors (lat, lon, rms of the fine relief m) away from ranges/basins [A]
_RELIEF = [
    (35.0, 91.0, 110), (33.0, 90.5, 140), (34.2, 96.0, 140), (34.5, 98.8, 130), (32.5, 97.5, 380), (31.6, 98.5, 460),
    (31.5, 96.0, 420), (32.2, 101.5, 300), (31.3, 100.5, 420), (32.0, 99.8, 350), (31.2, 102.3, 450), (33.8, 102.5, 60), (35.5, 102.0, 250), (36.8, 102.0, 220), (38.0, 100.5, 250),
    (38.6, 97.0, 220), (39.7, 99.0, 40), (40.0, 91.0, 120), (37.4, 89.8, 90), (31.4, 92.5, 160),
]


@dataclass(frozen=True)
class Lake:
    """An elliptic lake: centre (deg), semi-axes (km), orientation (deg CCW from east), level (m)."""

    name: str
    lat: float
    lon: float
    a_km: float
    b_km: float
    angle_deg: float
    level: float


@dataclass(frozen=True, eq=False)
class _Skeleton:
    grid: Grid
    x: np.ndarray
    y: np.ndarray
    z_ridges: np.ndarray  # regional surface + ridges and peaks
    lowering: tuple  # (window, weight, floor z, fill) of basins, playas, troughs, in order
    rms_fine: np.ndarray
    rms_large: np.ndarray
    ridge_w: np.ndarray
    flat_w: np.ndarray
    qaidam: np.ndarray


@functools.lru_cache(maxsize=1)
def _skeleton() -> _Skeleton:
    """Deterministic part of the large-scale DEM on the 1/64° lattice (seed-independent)."""

    grid = lattice_grid(1 / 64)
    x, y = xy_km(*grid.mesh())
    z = _kernel_interp(x, y, np.array(_BASE, float), 90.0)
    ridge_w, valley_w, flat_w, near_w, qaidam = (np.zeros_like(z) for _ in range(5))
    ridges = [np.array(v, float) for v in _RIDGES.values()]
    ridges += [np.array([(la, lo, zz, w), (la + 1e-4, lo, zz, w)], float) for _, la, lo, zz, w in _PEAKS]
    for verts in ridges:
        win = _window(grid, verts[:, 0], verts[:, 1], 3.5 * verts[:, 3].max())
        d, zt, w = _polyline(x[win], y[win], verts)
        z[win] += np.exp(-((d / w) ** 2)) * np.maximum(zt - z[win], 0.0)
        ridge_w[win] = np.maximum(ridge_w[win], np.exp(-((d / (1.6 * w)) ** 2)))
    ops = []
    for name, la, lo, a, b, ang, zc, ze in _BASINS:
        win = _window(grid, np.array([la]), np.array([lo]), 1.5 * a)
        r = ellipse_radius(x[win], y[win], la, lo, a, b, ang)
        g = 1.0 - _smoothstep(r, 0.85, 1.15)
        ops.append((win, g, zc + (ze - zc) * np.minimum(r, 1.2) ** 2, True))
        flat_w[win] = np.maximum(flat_w[win], 1.0 - _smoothstep(r, 0.85, 1.05))
        near_w[win] = np.maximum(near_w[win], 1.0 - _smoothstep(r, 0.85, 1.4))
        if name == "Qaidam":
            qaidam[win] = g
    for _, la, lo, a, b, ang, zp in PLAYAS:
        win = _window(grid, np.array([la]), np.array([lo]), 1.6 * a)
        r = ellipse_radius(x[win], y[win], la, lo, a, b, ang)
        ops.append((win, 1.0 - _smoothstep(r, 0.8, 1.5), np.full(r.shape, float(zp)), True))
        flat_w[win] = np.maximum(flat_w[win], 1.0 - _smoothstep(r, 0.8, 1.3))
    for verts in (np.array(v, float) for v in _TROUGHS.values()):
        win = _window(grid, verts[:, 0], verts[:, 1], 3.5 * verts[:, 3].max())
        d, zt, w = _polyline(x[win], y[win], verts)
        ops.append((win, np.exp(-((d / w) ** 2)), zt, False))
        valley_w[win] = np.maximum(valley_w[win], np.exp(-((d / (0.6 * w)) ** 2)))
    rms = np.maximum(_kernel_interp(x, y, np.array(_RELIEF, float), 120.0), 480.0 * ridge_w)
    rms_large = 0.5 * rms * (1.0 - 0.95 * near_w) * (1.0 - 0.6 * valley_w)
    rms *= (1.0 - 0.93 * flat_w) * (1.0 - 0.6 * valley_w)
    flat_w = np.maximum(flat_w, valley_w)
    return _Skeleton(grid, x, y, z, tuple(ops), rms, rms_large, ridge_w, flat_w, qaidam)


def _town_correction(grid: Grid, z: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smooth correction (Gaussian RBF, 10 km) pinning the surface to the town elevations."""

    names = list(TOWNS)
    tl = np.array([TOWNS[n][0] for n in names])
    tn = np.array([TOWNS[n][1] for n in names])
    tz = np.array([TOWNS[n][2] for n in names])
    inside = (tl > grid.lat[0]) & (tl < grid.lat[-1]) & (tn > grid.lon[0]) & (tn < grid.lon[-1])
    resid = tz[inside] - spline_to_points(z, grid, tl[inside], tn[inside])
    txy = np.column_stack(xy_km(tl[inside], tn[inside]))
    rbf = RBFInterpolator(txy, resid, kernel="gaussian", epsilon=1.0 / 10.0, degree=-1)
    corr = np.zeros_like(z)
    for k in range(txy.shape[0]):  # evaluate near each town only
        win = _window(grid, tl[inside][k : k + 1], tn[inside][k : k + 1], 40.0)
        pts = np.column_stack([x[win].ravel(), y[win].ravel()])
        corr[win] = rbf(pts).reshape(x[win].shape)
    return corr


def _synthetic_lakes(seed: int, grid: Grid, z: np.ndarray, ridge_w: np.ndarray) -> list[Lake]:
    """Small plateau lakes (Hoh Xil, N Tibet, Sanjiangyuan), log-uniform 20–320 km² [A]."""

    rng = rng_for(seed, "lakes")
    regions = [((34.0, 36.3, 89.0, 94.0), 100), ((31.2, 34.0, 89.0, 93.5), 60), ((33.6, 35.6, 94.0, 99.5), 60)]
    taken = [(*xy_km(np.array(lk[1]), np.array(lk[2])), lk[3]) for lk in _LAKES]
    taken += [(*xy_km(np.array(t[0]), np.array(t[1])), 12.0) for t in TOWNS.values()]
    out: list[Lake] = []
    for (s, n, w, e), count in regions:
        made = tries = 0
        while made < count and tries < 40 * count:
            tries += 1
            la, lo = rng.uniform(s, n), rng.uniform(w, e)
            area = np.exp(rng.uniform(np.log(20.0), np.log(320.0)))
            elong, ang = rng.uniform(1.2, 2.4), rng.uniform(0.0, 180.0)
            i, j = np.searchsorted(grid.lat, la), np.searchsorted(grid.lon, lo)
            zc = float(z[i, j])
            if not (4200.0 <= zc <= 5200.0) or ridge_w[i, j] > 0.35:
                continue
            a = float(np.sqrt(area * elong / np.pi))
            cx, cy = xy_km(np.array(la), np.array(lo))
            if any(np.hypot(cx - tx, cy - ty) < 1.3 * (a + ta) + 2.0 for tx, ty, ta in taken):
                continue
            taken.append((cx, cy, a))
            out.append(Lake(f"lake_{len(out) + 1:03d}", la, lo, a, a / elong, ang, round(zc - 2.0, 1)))
            made += 1
    return out
