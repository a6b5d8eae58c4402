"""Climatology (P_ann, T_ann), land cover, soil and phenology parameters (spec §3, §4, §5).

Climate surfaces are built on the fixed lattice of the study box (config-independent): a thin-plate
spline through station anchors times an orographic factor exp(γ·Δz_loc) for precipitation, and a
sea-level temperature surface with a 6 K km⁻¹ lapse rate for temperature. Land cover follows the
climate/terrain rules of spec §3; soil hydraulic values are those of spec §3 "Soil" with a smooth
±10 % perturbation; NDVI end members and phenology follow spec §5.
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr
from scipy.interpolate import RBFInterpolator
from scipy.ndimage import gaussian_filter

from ..config import ScenarioConfig, check_seed
from ..conventions import LAT, LON, cf_attrs
from ..exceptions import DataError
from ..grids import EARTH_RADIUS_M, Grid, fine_grid
from . import classes as C
from .randomfields import gaussian_field, rng_for
from .terrain import (
    PLAYAS,
    TOWNS,
    ellipse_radius,
    large_scale_dem,
    lattice_grid,
    spline_to_grid,
    xy_km,
)

__all__ = [
    "GAMMA_OROG",
    "LAPSE_RATE",
    "CLIMATE_ANCHORS",
    "OASES",
    "SOIL_PROFILES",
    "climate_lattice",
    "make_climatology",
    "make_landcover",
    "ks_cosby",
]

#: orographic precipitation factor exp(γ·Δz_loc), km⁻¹ (spec §4, 0.5–0.8 [A])
GAMMA_OROG = 0.6
#: temperature lapse rate, K m⁻¹ (spec §4)
LAPSE_RATE = 0.006
_SMOOTH_KM = 25.0  # Gaussian σ of the "50 km-smoothed" elevation (FWHM ≈ 59 km)

#: town → (P_ann mm yr⁻¹, T_ann °C); Lenghu, Golmud, Dulan, Yushu P and Dulan, Yushu, Madoi, Lenghu T
#: are spec §4 [S]; the rest approximate CMA normals [A]. Coordinates/elevations: terrain.TOWNS.
CLIMATE_ANCHORS: dict[str, tuple[float, float]] = {
    "Lenghu": (16, 2.8), "Golmud": (40, 5.3), "Dulan": (229, 3.7), "Yushu": (486, 3.2), "Madoi": (320, -3.8),
    "Delingha": (180, 4.0), "Tianjun": (340, -0.1), "Qumarai": (400, -1.9), "Jiuzhi": (750, 0.8),
    "Banma": (660, 2.9), "Nuomuhong": (45, 4.5), "Wulan": (200, 3.8), "Yeniugou": (410, -3.0),
    "Xiaozaohuo": (30, 4.4), "Dachaidan": (90, 1.6), "Chaka": (220, 4.1), "Wudaoliang": (290, -5.5),
    "Xinghai": (360, 1.4), "Mangnai": (48, 2.3), "Xiangride": (160, 3.8), "Xining": (380, 6.1),
    "Minhe": (350, 8.0), "Gangcha": (380, -0.6), "Qilian": (410, 1.0), "Tuole": (290, -2.5),
    "Menyuan": (530, 0.8), "Gonghe": (320, 4.2), "Guide": (260, 7.5), "Tongde": (430, 0.5),
    "Zeku": (480, -1.5), "Henan": (590, 0.1), "Maqin": (510, -0.6), "Darlag": (550, -0.9),
    "Zhiduo": (400, -1.2), "Zadoi": (520, 0.6), "Nangqian": (540, 4.2), "Tuotuohe": (290, -4.2),
    "Amdo": (420, -2.6), "Nagqu": (430, -0.9), "Qamdo": (480, 7.6), "Shiqu": (590, -1.0),
    "Seda": (660, -0.1), "Ganzi": (640, 5.6), "Aba": (710, 3.3), "Hongyuan": (750, 1.5),
    "Zoige": (650, 1.2), "Maqu": (610, 1.2), "Xiahe": (520, 2.6), "Jiuquan": (87, 7.5), "Zhangye": (130, 7.3),
}
# virtual precipitation anchors in station-free areas (lat, lon, P mm yr⁻¹) [A]
_P_VIRTUAL = [
    (35.5, 90.0, 170), (37.5, 89.8, 70), (39.8, 90.0, 60), (40.0, 92.5, 50), (39.6, 94.3, 110),
    (38.85, 93.9, 25), (33.2, 88.95, 250), (32.5, 90.0, 330), (31.7, 89.5, 330), (33.0, 91.8, 380),
]
#: irrigated oases (name, lat, lon, a km, b km, angle deg); Golmud and Nuomuhong contain their SM
#: stations (spec §11), the Delingha and Dulan fields lie beside the stations [A]
OASES = [
    ("Golmud", 36.40, 94.95, 11, 6, 0), ("Nuomuhong", 36.43, 96.42, 9, 5, 10), ("Delingha", 37.28, 97.24, 9, 4, 10),
    ("Dulan", 36.22, 98.22, 8, 4, 0), ("Xiangride", 36.06, 97.80, 8, 4, 0), ("Jiuquan", 39.77, 98.45, 18, 8, -20),
    ("Zhangye", 38.95, 100.40, 22, 8, -30),
]
#: soil profiles (spec §3 [A]; playa and cropland [A]):
#: sand, clay (fraction), bulk density (g cm-3), θ_s, θ_fc, θ_w, θ_h (m3 m-3), Ks multiplier
SOIL_PROFILES: dict[str, tuple[float, ...]] = {
    "desert_sand": (0.85, 0.04, 1.55, 0.38, 0.12, 0.03, 0.01, 1.0),
    "gobi_steppe": (0.60, 0.10, 1.40, 0.43, 0.25, 0.07, 0.03, 1.0),
    "meadow_loam": (0.40, 0.18, 1.00, 0.55, 0.38, 0.12, 0.05, 1.5),
    "crop_loam": (0.40, 0.18, 1.30, 0.48, 0.30, 0.10, 0.04, 1.0),
    "playa": (0.35, 0.25, 1.45, 0.45, 0.30, 0.12, 0.05, 0.1),
}
_SOIL_OF_CLASS = {
    C.WATER: "gobi_steppe", C.PLAYA: "playa", C.BARREN: "desert_sand", C.SNOW_ICE: "gobi_steppe",
    C.DESERT_STEPPE: "gobi_steppe", C.ALPINE_STEPPE: "gobi_steppe", C.MEADOW: "meadow_loam",
    C.FOREST: "meadow_loam", C.CROPLAND: "crop_loam",
}
# MCD12Q1 confusion: IGBP class → ecologically neighbouring classes [A]
_IGBP_NEIGHBOURS = {1: (10, 7), 7: (16, 10), 10: (7, 12), 12: (10, 7), 15: (16,), 16: (7, 15), 17: (16, 10)}


# ---------------------------------------------------------------------------------------------
# climatology
# ---------------------------------------------------------------------------------------------
def climate_lattice(seed: int) -> tuple[Grid, np.ndarray, np.ndarray, np.ndarray]:
    """Config-independent climate surfaces on the 1/64° study-box lattice (cached per seed).

    Returns
    -------
    grid : Grid
    p_ann : ndarray (lat, lon), mm yr-1
    t_sea_level : ndarray (lat, lon), degC (subtract 6 K km⁻¹ × elevation)
    dz_loc : ndarray (lat, lon), m
        Elevation minus its Gaussian (σ = 25 km) smooth, clipped to ±1500 m.
    """
    return _climate_lattice(check_seed(seed))


@functools.lru_cache(maxsize=4)
def _climate_lattice(seed: int) -> tuple[Grid, np.ndarray, np.ndarray, np.ndarray]:
    big = large_scale_dem(seed)
    grid = big.grid
    dy_km = np.deg2rad(grid.dlat) * EARTH_RADIUS_M / 1000.0
    dx_km = np.deg2rad(grid.dlon) * EARTH_RADIUS_M / 1000.0 * np.cos(np.deg2rad(35.5))
    dz = big.elevation - gaussian_filter(big.elevation, (_SMOOTH_KM / dy_km, _SMOOTH_KM / dx_km), mode="nearest")
    dz = np.clip(dz, -1500.0, 1500.0)
    names = [n for n in CLIMATE_ANCHORS if n in TOWNS]
    lat = np.array([TOWNS[n][0] for n in names] + [v[0] for v in _P_VIRTUAL])
    lon = np.array([TOWNS[n][1] for n in names] + [v[1] for v in _P_VIRTUAL])
    p = np.array([CLIMATE_ANCHORS[n][0] for n in names] + [v[2] for v in _P_VIRTUAL], float)
    i = np.clip(np.searchsorted(grid.lat, lat), 0, grid.lat.size - 1)
    j = np.clip(np.searchsorted(grid.lon, lon), 0, grid.lon.size - 1)
    log_smooth = np.log(p) - GAMMA_OROG * dz[i, j] / 1000.0
    xy = np.column_stack(xy_km(lat, lon))
    coarse = lattice_grid(0.0625, margin_cells=4)
    clat, clon = coarse.mesh()
    cxy = np.column_stack([a.ravel() for a in xy_km(clat, clon)])
    tps = RBFInterpolator(xy, log_smooth, kernel="thin_plate_spline", smoothing=0.0)
    p_smooth = np.clip(tps(cxy).reshape(coarse.shape), np.log(8.0), np.log(900.0))
    logp = spline_to_grid(p_smooth, coarse, grid.lat, grid.lon).astype(np.float64)
    p_ann = np.clip(np.exp(logp + GAMMA_OROG * dz / 1000.0), 8.0, 1000.0)
    t_names = list(names)
    t_sl = np.array([CLIMATE_ANCHORS[n][1] + LAPSE_RATE * TOWNS[n][2] for n in t_names])
    t_xy = np.column_stack(xy_km(np.array([TOWNS[n][0] for n in t_names]), np.array([TOWNS[n][1] for n in t_names])))
    t_tps = RBFInterpolator(t_xy, t_sl, kernel="thin_plate_spline", smoothing=20.0)
    t_lat = spline_to_grid(np.clip(t_tps(cxy).reshape(coarse.shape), 12.0, 30.0), coarse, grid.lat, grid.lon)
    for a in (p_ann, t_lat, dz):
        a.setflags(write=False)
    return grid, p_ann, t_lat.astype(np.float64), dz


def make_climatology(cfg: ScenarioConfig, seed: int, terrain: xr.Dataset) -> xr.Dataset:
    """Annual precipitation and temperature climatologies on the fine grid.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    terrain : xr.Dataset
        Output of :func:`sm_nb.scenario.terrain.make_terrain` (``elevation`` is used).

    Returns
    -------
    xr.Dataset (lat, lon)
        ``p_ann`` (mm yr-1) and ``t_ann`` (degC, at the pixel elevation).

    Notes
    -----
    Spec §4. P_ann = S(x)·exp(γ_o·Δz_loc) with γ_o = 0.6 km⁻¹, Δz_loc = elevation − Gaussian-smoothed
    (σ = 25 km) elevation of the large-scale DEM and S a thin-plate spline of log P through the
    anchors corrected by their own orographic factor, so the surface passes through the anchors
    (Lenghu 16, Golmud 40, Dulan 229, Yushu 486 mm …). The Qaidam rain shadow comes from the anchors
    and the negative Δz_loc of the basin floor. T_ann = T_sl(x) − 6 K km⁻¹ · z with T_sl a smoothed
    thin-plate spline of the anchors' sea-level-reduced temperatures.
    """
    seed = check_seed(seed)
    fine = fine_grid(cfg)
    _check_on_grid(terrain, fine, "terrain", ("elevation",))
    grid, p_lat, tsl_lat, _ = climate_lattice(seed)
    p_ann = np.maximum(spline_to_grid(p_lat, grid, fine.lat, fine.lon), 8.0)
    t_ann = spline_to_grid(tsl_lat, grid, fine.lat, fine.lon) - LAPSE_RATE * terrain["elevation"].values
    return xr.Dataset(
        {
            "p_ann": ((LAT, LON), p_ann.astype(np.float32), {"units": "mm yr-1", "long_name": "annual precipitation climatology (orographic)", "standard_name": "lwe_thickness_of_precipitation_amount"}),
            "t_ann": ((LAT, LON), t_ann.astype(np.float32), {"units": "degC", "long_name": "annual mean air temperature at the pixel elevation", "standard_name": "air_temperature"}),
        },
        coords=fine.coords(),
        attrs={"config": cfg.name, "seed": seed, "gamma_orographic_km-1": GAMMA_OROG, "lapse_rate_K_m-1": LAPSE_RATE},
    )


def _check_on_grid(ds: xr.Dataset, grid: Grid, name: str, required: tuple[str, ...]) -> None:
    missing = [v for v in required if v not in ds]
    if missing:
        raise DataError(f"{name} lacks variable(s) {missing}; expected {list(required)}, has {sorted(ds.data_vars)}")
    shape = (ds.sizes.get(LAT), ds.sizes.get(LON))
    if shape != grid.shape:
        raise DataError(f"{name} has (lat, lon) = {shape}; expected the fine grid {grid.shape}")


# ---------------------------------------------------------------------------------------------
# land cover
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _noise_lattice(seed: int) -> tuple[Grid, np.ndarray]:
    """Five smooth unit Gaussian fields (L = 20 km) on the 0.0625° study-box lattice."""
    grid = lattice_grid(0.0625, margin_cells=4)
    dy = np.deg2rad(grid.dlat) * EARTH_RADIUS_M / 1000.0
    dx = dy * np.cos(np.deg2rad(35.5))
    fields = gaussian_field(rng_for(seed, "landcover"), grid.shape, dy, dx, 20.0, n=5)
    fields.setflags(write=False)
    return grid, fields


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _ellipse_mask(x: np.ndarray, y: np.ndarray, shapes: list, noise: np.ndarray, edge: float = 1.0) -> np.ndarray:
    out = np.zeros(x.shape, dtype=bool)
    for _, la, lo, a, b, ang, *_ in shapes:
        out |= ellipse_radius(x, y, la, lo, a, b, ang) * (1.0 + 0.15 * noise) < edge
    return out


def ks_cosby(sand: np.ndarray, clay: np.ndarray) -> np.ndarray:
    """Saturated conductivity from texture, Cosby et al. (1984), mm d-1.

    Ks = 0.0070556 · 10^(−0.60 + 0.0126·%sand − 0.0064·%clay) mm s⁻¹ (≈ 1700 mm d⁻¹ desert sand,
    750 gobi/steppe, 370 meadow loam).
    """
    return 0.0070556 * 10.0 ** (-0.60 + 1.26 * np.asarray(sand) - 0.64 * np.asarray(clay)) * 86400.0


def _classify(lat2, lon2, x, y, z, slope, aspect, twi, p, wf, nz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Land-cover codes (with water), the underlying land class, irrigated and playa masks."""
    n_p, n_z, n_f, n_e, _ = nz
    p_eff = p * np.exp(0.15 * n_p)
    meadow_thr = 425.0 - 70.0 * _ramp(twi, 12.0, 16.0)
    lc = np.select(
        [p_eff < 100.0, p_eff < 250.0, p_eff < meadow_thr], [C.BARREN, C.DESERT_STEPPE, C.ALPINE_STEPPE], C.MEADOW
    ).astype(np.int8)
    # no shrubs above ≈ 4200 m: the cold dry plateau is alpine steppe, or alpine desert below 150 mm
    cold = (lc == C.DESERT_STEPPE) & (z > 4200.0 + 100.0 * n_z)
    lc[cold] = np.where(p_eff[cold] < 150.0, C.BARREN, C.ALPINE_STEPPE)
    lc[z > 5300.0 + 80.0 * n_z] = C.BARREN
    lc[z > 5700.0 + 80.0 * n_z] = C.SNOW_ICE
    # forest: wet, 2500–3900 m, SE valleys / E Qilian / Gannan, north-facing preferred
    region = ((lat2 < 34.2) & (lon2 > 95.5)) | ((lat2 > 36.6) & (lat2 < 38.6) & (lon2 > 100.6)) | (
        (lat2 > 34.4) & (lat2 < 35.8) & (lon2 > 101.3)
    )
    north = np.cos(np.deg2rad(aspect)) * _ramp(slope, 2.0, 15.0)
    band = (z > 2500.0) & (z < 3900.0 + 60.0 * n_z)
    forest = region & band & (p_eff > 450.0) & (0.9 * north + 0.5 * n_f > 0.25)
    lc[forest] = C.FOREST
    # rainfed cropland in the Huangshui / Yellow River valleys
    crop = (lat2 > 35.7) & (lat2 < 37.2) & (lon2 > 100.6) & (z < 2750.0 + 60.0 * n_z) & (slope < 10.0) & (p > 250.0)
    lc[crop & (lc != C.FOREST)] = C.CROPLAND
    irrigated = _ellipse_mask(x, y, OASES, n_e)
    lc[irrigated] = C.CROPLAND
    playa = _ellipse_mask(x, y, PLAYAS, n_e, edge=0.85) & ~irrigated
    lc[playa] = C.PLAYA
    land = lc.copy()
    water = wf >= 0.5
    lc[water] = C.WATER
    return lc, land, irrigated & ~water, playa & ~water


def _confuse(igbp: np.ndarray, rng: np.random.Generator, rate: float = 0.075) -> np.ndarray:
    """MCD12Q1-like product: a share ``rate`` of pixels takes a neighbouring class (spatial or ecological)."""
    ny, nx = igbp.shape
    pick = rng.random(igbp.shape) < rate
    di = rng.integers(-2, 3, igbp.shape)
    dj = rng.integers(-2, 3, igbp.shape)
    ii, jj = np.indices(igbp.shape)
    spatial = igbp[np.clip(ii + di, 0, ny - 1), np.clip(jj + dj, 0, nx - 1)]
    u = rng.random(igbp.shape)
    eco = igbp.copy()
    for code, nbrs in _IGBP_NEIGHBOURS.items():
        m = igbp == code
        eco[m] = np.asarray(nbrs, dtype=igbp.dtype)[np.minimum((u[m] * len(nbrs)).astype(int), len(nbrs) - 1)]
    alt = np.where(spatial != igbp, spatial, eco)
    return np.where(pick, alt, igbp)


def make_landcover(cfg: ScenarioConfig, seed: int, terrain: xr.Dataset, clim: xr.Dataset) -> xr.Dataset:
    """Land cover, masks, soil, vegetation end members and phenology on the fine grid.

    Parameters
    ----------
    cfg : ScenarioConfig
    seed : int
    terrain : xr.Dataset
        :func:`~sm_nb.scenario.terrain.make_terrain` output (elevation, slope, aspect, twi,
        water_fraction).
    clim : xr.Dataset
        :func:`make_climatology` output (p_ann, t_ann).

    Returns
    -------
    xr.Dataset (lat, lon)
        ``land_cover`` (int8, :mod:`~sm_nb.scenario.classes` codes), ``water_fraction``, ``playa``,
        ``irrigated``, ``sand``, ``clay``, ``bulk_density``, ``theta_s``, ``theta_fc``, ``theta_w``,
        ``theta_h``, ``ks``, ``sigma_sal``, ``ndvi_min``, ``ndvi_max``, ``f_stem``, ``greenup_doy``,
        ``senescence_doy``, ``mcd12q1`` (IGBP codes with ≈ 7.5 % confusion).

    Notes
    -----
    Spec §3 (land cover, soil), §5 (NDVI targets, F_stem, phenology). Classes by P_ann (perturbed
    by a smooth ±15 % field): barren < 100 mm, desert steppe 100–250, alpine steppe 250–425,
    meadow above (lower threshold in wet hollows, TWI > 12); above ≈ 4200 m the desert-steppe band
    becomes alpine steppe (alpine desert = barren below 150 mm) [A]; barren above 5300 m, snow/ice above
    5700 m; forest where P > 450 mm at 2500–3900 m in the SE valleys, E Qilian and Gannan, with a
    north-facing preference; cropland in the Huangshui/Yellow valleys below 2750 m and in the
    irrigated oases (:data:`OASES`); playa in the Qaidam salt flats; water where the lake fraction
    is ≥ 0.5. Soil and vegetation values of water pixels are those of the underlying land class
    (needed for the land part of mixed shore pixels). Ks is Cosby et al. (1984) from texture,
    ×1.5 for organic meadow/forest topsoil and ×0.1 for playa crust [A].
    """
    seed = check_seed(seed)
    fine = fine_grid(cfg)
    _check_on_grid(terrain, fine, "terrain", ("elevation", "slope", "aspect", "twi", "water_fraction"))
    _check_on_grid(clim, fine, "clim", ("p_ann", "t_ann"))
    lat2, lon2 = fine.mesh()
    x, y = xy_km(lat2, lon2)
    ngrid, fields = _noise_lattice(seed)
    nz = [spline_to_grid(f, ngrid, fine.lat, fine.lon) for f in fields]
    z = terrain["elevation"].values.astype(np.float64)
    slope = terrain["slope"].values.astype(np.float64)
    p = clim["p_ann"].values.astype(np.float64)
    wf = np.clip(terrain["water_fraction"].values.astype(np.float32), 0.0, 1.0)
    lc, land, irrigated, playa = _classify(
        lat2, lon2, x, y, z, slope, terrain["aspect"].values, terrain["twi"].values, p, wf, nz
    )
    # soil (underlying land class), ±10 % smooth perturbation
    lut = np.zeros((10, len(SOIL_PROFILES["gobi_steppe"])))
    for c in _SOIL_OF_CLASS:
        lut[c] = SOIL_PROFILES[_SOIL_OF_CLASS[c]]
    high_rock = (land == C.BARREN) & (z > 4500.0)
    vals = lut[land]
    vals[high_rock] = SOIL_PROFILES["gobi_steppe"]
    f_tex = 1.0 + np.clip(0.05 * nz[3], -0.1, 0.1)
    f_hyd = 1.0 + np.clip(0.05 * nz[4], -0.1, 0.1)
    sand = np.clip(vals[..., 0] * f_tex, 0.05, 0.95)
    clay = np.clip(vals[..., 1] * (2.0 - f_tex), 0.01, 0.6)
    clay = np.minimum(clay, 1.0 - sand)
    bulk = vals[..., 2] * (2.0 - f_hyd)
    thetas = [vals[..., k] * f_hyd for k in (3, 4, 5, 6)]
    ks = ks_cosby(sand, clay) * vals[..., 7]
    sigma_sal = np.where(playa, np.clip(3.0 + 1.2 * nz[2], 1.0, 5.0), 0.0)
    # vegetation end members (spec §5)
    u = 0.5 + 0.5 * np.tanh(nz[2])
    ndvi_max = np.select(
        [land == C.MEADOW, land == C.ALPINE_STEPPE, land == C.DESERT_STEPPE, land == C.FOREST, land == C.CROPLAND,
         land == C.SNOW_ICE, land == C.PLAYA],
        [0.60 + 0.20 * _ramp(p, 400.0, 700.0), 0.25 + 0.20 * _ramp(p, 250.0, 450.0), 0.12 + 0.08 * _ramp(p, 100.0, 250.0),
         0.75 + 0.10 * u, np.where(irrigated, 0.70, 0.60) + 0.10 * u, 0.04, 0.05],
        0.05 + 0.05 * _ramp(p, 20.0, 100.0),
    )
    ndvi_min = np.select(
        [land == C.FOREST, np.isin(land, (C.MEADOW, C.ALPINE_STEPPE, C.CROPLAND))],
        [0.35, 0.10 + 0.10 * _ramp(p, 250.0, 700.0)],
        np.minimum(0.10, ndvi_max - 0.02),
    )
    f_stem = np.select([land == C.DESERT_STEPPE, land == C.FOREST], [1.0 + 2.0 * u, 6.0 + 4.0 * u], 0.0)
    sen = 280.0 - 30.0 * _ramp(z, 3000.0, 5000.0)
    green = 130.0 + 30.0 * _ramp(450.0 - p, 0.0, 350.0) + 5.0 * np.maximum(z - 3500.0, 0.0) / 100.0
    green = np.minimum(green, sen - 60.0)
    igbp_lut = np.zeros(10, dtype=np.uint8)
    for c, g in C.IGBP.items():
        igbp_lut[c] = g
    mcd = _confuse(igbp_lut[lc], rng_for(seed, "mcd12q1"))
    f32 = np.float32
    dims = (LAT, LON)
    m3 = "m3 m-3"
    data = {
        "land_cover": (dims, lc, {**C.flag_attrs(C.LAND_COVER), "long_name": "land cover class (dominant)"}),
        "water_fraction": (dims, wf, cf_attrs("fraction", long_name="open-water (lake) fraction of the pixel")),
        "playa": (dims, playa, {"units": "1", "long_name": "saline playa / salt crust mask"}),
        "irrigated": (dims, irrigated, {"units": "1", "long_name": "irrigated oasis cropland mask"}),
        "sand": (dims, sand.astype(f32), {"units": "1", "long_name": "sand mass fraction of the topsoil"}),
        "clay": (dims, clay.astype(f32), {"units": "1", "long_name": "clay mass fraction of the topsoil"}),
        "bulk_density": (dims, bulk.astype(f32), {"units": "g cm-3", "long_name": "dry bulk density of the topsoil"}),
        "theta_s": (dims, thetas[0].astype(f32), {"units": m3, "long_name": "porosity (saturated water content)"}),
        "theta_fc": (dims, thetas[1].astype(f32), {"units": m3, "long_name": "field capacity"}),
        "theta_w": (dims, thetas[2].astype(f32), {"units": m3, "long_name": "wilting point"}),
        "theta_h": (dims, thetas[3].astype(f32), {"units": m3, "long_name": "hygroscopic point"}),
        "ks": (dims, ks.astype(f32), {"units": "mm d-1", "long_name": "saturated hydraulic conductivity of layer 1 (Cosby et al. 1984)"}),
        "sigma_sal": (dims, sigma_sal.astype(f32), {"units": "S m-1", "long_name": "pore-water salinity conductivity"}),
        "ndvi_min": (dims, ndvi_min.astype(f32), cf_attrs("ndvi", long_name="NDVI end member, dormant season")),
        "ndvi_max": (dims, ndvi_max.astype(f32), cf_attrs("ndvi", long_name="NDVI end member, peak season")),
        "f_stem": (dims, f_stem.astype(f32), {"units": "kg m-2", "long_name": "stem water term of vegetation water content"}),
        "greenup_doy": (dims, np.round(green).astype(f32), {"units": "1", "long_name": "green-up day of year"}),
        "senescence_doy": (dims, np.round(sen).astype(f32), {"units": "1", "long_name": "senescence day of year"}),
        "mcd12q1": (dims, mcd, {**C.flag_attrs(C.IGBP_NAMES), "long_name": "MCD12Q1-like IGBP land cover (LC_Type1)"}),
    }
    return xr.Dataset(data, coords=fine.coords(), attrs={"config": cfg.name, "seed": seed})
