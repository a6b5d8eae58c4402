"""Synthetic DEM of the Qinghai study box with SLOPE, aspect and TWI (spec §3 "DEM").

The DEM is the sum of

1. a smooth *skeleton* built analytically from named features: a regional surface through
   plateau anchors, ridges and peaks (raise towards a crest elevation), elliptic basins and playas
   and river troughs (lower towards a floor elevation) and lakes (flat at their level);
2. *large-scale* fractal relief (wavelengths 25–150 km) generated on the fixed 0.0625° lattice of
   the whole study box with ``rng_for(seed, "dem_large")``;
3. *fine-scale* fractal relief (wavelengths < 25 km) generated on the 3× oversampled grid with
   ``rng_for(seed, "dem_fine")``; its rms follows the relief class (ranges 300–600 m, plateau
   100–150 m, basin floor 10–30 m, spec §3).

Parts 1–2, plus a small correction that pins the surface to the elevations of named towns and
sites, live on a fixed 1/64° lattice of the study box, so every config (``mini``, ``demo``,
``full``) sees the same large-scale geography; they reach the oversampled grid by bicubic spline.
Basins and playas are filled up to their floor (no random pits below a basin floor), and
summits above 6000 m are compressed with a tanh towards ≈ 6900 m (Bukadaban 6860 m).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import xarray as xr
from scipy.interpolate import RBFInterpolator, RectBivariateSpline
from scipy.sparse.linalg import spsolve_triangular

from ..config import STUDY_BOX, ScenarioConfig, check_seed
from ..conventions import LAT, LON, cf_attrs
from ..grids import EARTH_RADIUS_KM, EARTH_RADIUS_M, Grid, fine_grid
from ..resample import block_mean
from ..terrain import aspect_from_gradient, gradient_metric, metric_spacing
from .randomfields import rng_for

__all__ = [
    "OVERSAMPLE",
    "TOWNS",
    "PLAYAS",
    "Lake",
    "LargeScaleDEM",
    "large_scale_dem",
    "lattice_grid",
    "spline_to_grid",
    "spline_to_points",
    "band_noise",
    "xy_km",
    "ellipse_radius",
    "d8_twi",
    "make_terrain",
]

#: oversampling factor of the DEM relative to the fine grid (spec §3)
OVERSAMPLE = 3
#: spherical Earth radius used for metric spacing, m
_SPLIT_KM = 25.0  # wavelength separating lattice (large) and oversampled (fine) relief
_LMAX_KM = 150.0  # longest random wavelength; the skeleton carries the rest
_BETA = 2.2  # E(k) ∝ k^-β of the radially integrated relief spectrum (spec §3 [A])
_TAN_MIN = 0.002  # tan β floor of the TWI (flat floors, lakes)
_Z_SOFTCAP = 6000.0  # summits above are compressed towards ≈ 6900 m (Bukadaban 6860 m, spec §3)

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
class LargeScaleDEM:
    """Config-independent part of the DEM on the fixed 1/64° lattice of the study box.

    Attributes
    ----------
    grid : Grid
        The lattice (study box plus a 4-cell margin).
    elevation : ndarray (lat, lon), m
        Skeleton + large-scale relief + town anchoring + lakes.
    rms_fine : ndarray (lat, lon), m
        Rms of the fine-scale relief (relief class).
    ridge_weight, flat_weight : ndarray (lat, lon), 1
        1 on mountain ranges; 1 on basin floors, valley floors and lakes.
    basin : ndarray (lat, lon), 1
        Qaidam basin weight (1 on its floor).
    lakes : tuple of Lake
        Named and synthetic lakes.
    """

    grid: Grid
    elevation: np.ndarray
    rms_fine: np.ndarray
    ridge_weight: np.ndarray
    flat_weight: np.ndarray
    basin: np.ndarray
    lakes: tuple[Lake, ...]

    def __repr__(self) -> str:
        return f"<LargeScaleDEM {self.grid!r}, {len(self.lakes)} lakes>"


# ---------------------------------------------------------------------------------------------
# geometry helpers
# ---------------------------------------------------------------------------------------------
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


def band_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    dy_km: float,
    dx_km: float,
    lam_max_km: float,
    lam_min_km: float | None = None,
    beta: float = _BETA,
    lam_ref_km: float | None = None,
    pad: int = 0,
) -> np.ndarray:
    """Fractal noise with radially integrated spectrum E(k) ∝ k^−β between two wavelengths.

    Parameters
    ----------
    rng : Generator
    shape : (ny, nx)
    dy_km, dx_km : float
        Grid spacing, km.
    lam_max_km : float
        Longest wavelength kept (soft high-pass 1 − exp(−(kλ)⁴)), km.
    lam_min_km : float, optional
        Shortest wavelength kept (soft low-pass exp(−(kλ)⁴/2)); default up to the Nyquist.
    beta : float
        Spectral exponent (2-D density ∝ k^−(β+1)).
    lam_ref_km : float, optional
        Normalise so that the wavelengths ≥ ``lam_ref_km`` carry unit variance; the physical
        spectral density is then the same on grids of any resolution (finer grids only add small
        scales). Default: the whole field has unit variance.
    pad : int
        Cells of padding on each side (removes the FFT's periodic wrap-around).

    Returns
    -------
    ndarray of float32, ``shape``
    """
    big = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    ky = np.fft.fftfreq(big[0], d=dy_km)[:, None]
    kx = np.fft.rfftfreq(big[1], d=dx_km)[None, :]
    k = np.sqrt(ky * ky + kx * kx)
    k[0, 0] = 1.0
    amp = k ** (-(beta + 1.0) / 2.0) * np.sqrt(-np.expm1(-((k * lam_max_km) ** 4)))
    if lam_min_km is not None:
        amp *= np.exp(-0.5 * (k * lam_min_km) ** 4)
    amp[0, 0] = 0.0
    weight = np.full(kx.shape, 2.0)
    weight[0, 0] = 1.0
    if big[1] % 2 == 0:
        weight[0, -1] = 1.0
    power = amp * amp * weight
    if lam_ref_km is not None:
        power = np.where(k <= 1.0 / lam_ref_km, power, 0.0)
    var = float(power.sum()) / (big[0] * big[1])
    noise = np.fft.rfft2(rng.standard_normal(big))
    noise *= amp
    field = np.fft.irfft2(noise, s=big)[pad : pad + shape[0], pad : pad + shape[1]]
    return (field / np.sqrt(max(var, 1e-300))).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# the config-independent large-scale DEM
# ---------------------------------------------------------------------------------------------
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


def large_scale_dem(seed: int) -> LargeScaleDEM:
    """The config-independent DEM on the 1/64° lattice of the study box (cached per seed).

    Skeleton (deterministic) + large-scale fractal relief (25–150 km, ``rng_for(seed,
    "dem_large")`` on the 0.0625° lattice) + town anchoring + lakes (synthetic ones from
    ``rng_for(seed, "lakes")``). Arrays are read-only.

    Notes
    -----
    Spec §1 (large-scale random fields on the fixed 0.0625° lattice) and §3 (DEM skeleton).
    """
    return _large_scale_dem(check_seed(seed))


@functools.lru_cache(maxsize=4)
def _large_scale_dem(seed: int) -> LargeScaleDEM:
    sk = _skeleton()
    grid, x, y = sk.grid, sk.x, sk.y
    coarse = lattice_grid(0.0625, margin_cells=8)
    dy = np.deg2rad(coarse.dlat) * EARTH_RADIUS_M / 1000.0
    dx = np.deg2rad(coarse.dlon) * EARTH_RADIUS_M / 1000.0 * np.cos(np.deg2rad(35.5))
    large = band_noise(rng_for(seed, "dem_large"), coarse.shape, dy, dx, _LMAX_KM, _SPLIT_KM, pad=24)
    z = sk.z_ridges + sk.rms_large * spline_to_grid(large, coarse, grid.lat, grid.lon)
    for win, g, floor, fill in sk.lowering:  # basins and playas are filled up to their floor
        zw = np.maximum(z[win], np.where(g > 0.02, floor, -np.inf)) if fill else z[win]
        z[win] = zw - g * np.maximum(zw - floor, 0.0)
    z += _town_correction(grid, z, x, y)
    lakes = [Lake(*row) for row in _LAKES] + _synthetic_lakes(seed, grid, z, sk.ridge_w)
    flat_w = sk.flat_w.copy()
    for lk in lakes:
        win = _window(grid, np.array([lk.lat]), np.array([lk.lon]), 1.7 * lk.a_km + 3.0)
        r = ellipse_radius(x[win], y[win], lk.lat, lk.lon, lk.a_km, lk.b_km, lk.angle_deg)
        z[win] += (1.0 - _smoothstep(r, 1.0, 1.6)) * (lk.level - z[win])
        flat_w[win] = np.maximum(flat_w[win], 1.0 - _smoothstep(r, 0.9, 1.4))
    rms_out = sk.rms_fine * (1.0 - 0.85 * np.clip(flat_w - sk.flat_w, 0.0, 1.0))
    tl = np.array([v[0] for v in TOWNS.values()])
    tn = np.array([v[1] for v in TOWNS.values()])
    tx, ty = xy_km(tl, tn)
    for k in range(tl.size):  # settlements sit on smooth ground
        win = _window(grid, tl[k : k + 1], tn[k : k + 1], 25.0)
        rms_out[win] *= 1.0 - 0.85 * np.exp(-((x[win] - tx[k]) ** 2 + (y[win] - ty[k]) ** 2) / 36.0)
    for a in (z, rms_out, flat_w):
        a.setflags(write=False)
    return LargeScaleDEM(grid, z, rms_out, sk.ridge_w, flat_w, sk.qaidam, tuple(lakes))


# ---------------------------------------------------------------------------------------------
# slope, aspect, TWI
# ---------------------------------------------------------------------------------------------
def d8_twi(elevation: np.ndarray, slope_deg: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Topographic wetness index ln(a / tan β) with D8 specific contributing area.

    Each pixel drains to its steepest strictly lower neighbour (metric distances); pixels without
    one are sinks. The accumulation solves (I − Mᵀ)·A = cell area with the D8 receiver matrix M,
    which is triangular once pixels are ordered by decreasing elevation (one sparse triangular
    solve, no loop over pixels). a = A / √(cell area).

    Returns
    -------
    twi : ndarray (lat, lon) float32, 1
    area : ndarray (lat, lon) float64, m2
        Upslope contributing area including the pixel itself.
    """
    z = np.asarray(elevation, dtype=np.float64)
    dx, dy = metric_spacing(lat, lon, z.shape)
    ny, nx = z.shape
    zp = np.pad(z, 1, mode="constant", constant_values=np.inf)
    best = np.zeros(z.shape)
    recv = np.full(z.shape, -1, dtype=np.int64)
    ii, jj = np.indices(z.shape)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di == 0 and dj == 0:
                continue
            dist = np.hypot(di * dy, dj * dx)[:, None]
            drop = (z - zp[1 + di : 1 + di + ny, 1 + dj : 1 + dj + nx]) / dist
            better = drop > best
            best = np.where(better, drop, best)
            recv = np.where(better, (ii + di) * nx + (jj + dj), recv)
    n = z.size
    cell = np.broadcast_to((dx * dy)[:, None], z.shape).ravel()
    order = np.argsort(-z.ravel(), kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    donors = np.flatnonzero(recv.ravel() >= 0)
    m = sp.csr_matrix(
        (np.full(donors.size, -1.0), (rank[recv.ravel()[donors]], rank[donors])), shape=(n, n)
    )
    lower = (sp.identity(n, format="csr") + m).tocsr()
    acc = spsolve_triangular(lower, cell[order], lower=True, unit_diagonal=True)
    area = np.empty(n)
    area[order] = acc
    area = area.reshape(z.shape)
    spec_area = area / np.sqrt(cell.reshape(z.shape))
    tanb = np.maximum(np.tan(np.deg2rad(np.asarray(slope_deg, dtype=np.float64))), _TAN_MIN)
    return np.log(spec_area / tanb).astype(np.float32), area


# ---------------------------------------------------------------------------------------------
# the terrain dataset
# ---------------------------------------------------------------------------------------------
def _oversampled(fine: Grid) -> Grid:
    d_lat, d_lon = fine.dlat / OVERSAMPLE, fine.dlon / OVERSAMPLE
    s, w = fine.lat[0] - fine.dlat / 2, fine.lon[0] - fine.dlon / 2
    lat = s + (np.arange(fine.lat.size * OVERSAMPLE) + 0.5) * d_lat
    lon = w + (np.arange(fine.lon.size * OVERSAMPLE) + 0.5) * d_lon
    return Grid("oversampled", lat, lon, d_lat, d_lon)


def _burn_lakes(z: np.ndarray, noise: np.ndarray, grid: Grid, lakes: tuple[Lake, ...]) -> np.ndarray:
    """Flatten lakes to their level on the oversampled grid (noisy shores); return the water mask."""
    water = np.zeros(z.shape, dtype=bool)
    for lk in lakes:
        win = _window(grid, np.array([lk.lat]), np.array([lk.lon]), 1.5 * lk.a_km + 2.0)
        if win[0].stop <= win[0].start or win[1].stop <= win[1].start:
            continue
        la, lo = np.meshgrid(grid.lat[win[0]], grid.lon[win[1]], indexing="ij")
        r = ellipse_radius(*xy_km(la, lo), lk.lat, lk.lon, lk.a_km, lk.b_km, lk.angle_deg)
        inside = r * (1.0 + 0.12 * noise[win]) < 1.0
        zw = z[win]
        zw[inside] = lk.level
        shore = ~inside & (r < 1.5)
        zw[shore] = np.maximum(zw[shore], lk.level + 0.5)
        water[win] |= inside
    return water


def make_terrain(cfg: ScenarioConfig, seed: int) -> xr.Dataset:
    """Elevation, SLOPE, aspect, TWI (and lake water fraction) on the fine grid.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
        Scenario seed; large scales use ``rng_for(seed, "dem_large")`` on the fixed lattice,
        fine relief ``rng_for(seed, "dem_fine")`` on the oversampled grid.

    Returns
    -------
    xr.Dataset (lat, lon)
        ``elevation`` (m, block mean of the 3× DEM), ``slope`` (degree, block mean of the 3×
        slope), ``aspect`` (degree, from the block-mean gradient), ``twi`` (1) and
        ``water_fraction`` (1, share of oversampled lake pixels).

    Notes
    -----
    Spec §3. SLOPE uses metric spacing on the oversampled grid (:func:`slope_aspect`). TWI is
    computed on the *fine* grid (D8 on the block-mean DEM, tan β from the block-mean SLOPE)
    rather than on the oversampled one, for speed: the full config would otherwise need a
    12.6 M-node solve.
    """
    seed = check_seed(seed)
    fine = fine_grid(cfg)
    osg = _oversampled(fine)
    big = large_scale_dem(seed)
    z = spline_to_grid(big.elevation, big.grid, osg.lat, osg.lon)
    rms = np.maximum(spline_to_grid(big.rms_fine, big.grid, osg.lat, osg.lon), 0.0)
    dy = np.deg2rad(osg.dlat) * EARTH_RADIUS_M / 1000.0
    dx = np.deg2rad(osg.dlon) * EARTH_RADIUS_M / 1000.0 * np.cos(np.deg2rad(osg.lat.mean()))
    noise = band_noise(rng_for(seed, "dem_fine"), osg.shape, dy, dx, _SPLIT_KM, None, lam_ref_km=2.0)
    z += rms * noise
    del rms
    high = z > _Z_SOFTCAP  # glacial "buzz-saw": compress summits above 6000 m (max ≈ 6900 m)
    z[high] = _Z_SOFTCAP + 900.0 * np.tanh((z[high] - _Z_SOFTCAP) / 900.0)
    water = _burn_lakes(z, noise, osg, big.lakes)
    del noise
    gx, gy = gradient_metric(z, osg.lat, osg.lon)
    slope = block_mean(np.degrees(np.arctan(np.hypot(gx, gy))), OVERSAMPLE, OVERSAMPLE).astype(np.float32)
    aspect = aspect_from_gradient(block_mean(gx, OVERSAMPLE, OVERSAMPLE), block_mean(gy, OVERSAMPLE, OVERSAMPLE))
    del gx, gy
    elevation = block_mean(z.astype(np.float64), OVERSAMPLE, OVERSAMPLE).astype(np.float32)
    water_fraction = block_mean(water.astype(np.float32), OVERSAMPLE, OVERSAMPLE)
    del z, water
    twi, _ = d8_twi(elevation, slope, fine.lat, fine.lon)
    dims = (LAT, LON)
    ds = xr.Dataset(
        {
            "elevation": (dims, elevation, cf_attrs("elevation", cell_methods="area: mean (3x3 oversampled DEM)")),
            "slope": (dims, slope, cf_attrs("slope", cell_methods="area: mean (slope of the 3x3 oversampled DEM)")),
            "aspect": (dims, aspect, cf_attrs("aspect", comment="0 where flat; from the block-mean gradient")),
            "twi": (dims, twi, {"units": "1", "long_name": "topographic wetness index ln(a / tan(beta)), D8 on the fine grid"}),
            "water_fraction": (dims, water_fraction, cf_attrs("fraction", long_name="open-water (lake) fraction of the pixel")),
        },
        coords=fine.coords(),
        attrs={"config": cfg.name, "seed": seed, "title": "synthetic Qinghai terrain (spec §3)"},
    )
    return ds
