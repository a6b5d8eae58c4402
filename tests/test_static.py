"""Static scenario fields: determinism, physical ranges, geography, SLOPE/TWI numerics, sites.

Geography checks use the ``demo`` config (whole study box, ≈ 2 s); everything else ``mini``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sm_nb.config import get_config
from sm_nb.exceptions import DataError
from sm_nb.grids import EARTH_RADIUS_M as R_EARTH_M
from sm_nb.resample import block_mean
from sm_nb.scenario import classes as C
from sm_nb.scenario import sites as S
from sm_nb.scenario.static import STATIC_VARIABLES, make_static
from sm_nb.scenario.terrain import d8_twi
from sm_nb.terrain import slope_aspect

MINI = get_config("mini")
DEMO = get_config("demo")


@pytest.fixture(scope="module")
def mini0():
    return make_static(MINI, 0)


@pytest.fixture(scope="module")
def demo0():
    return make_static(DEMO, 0)


def _at(ds, lat, lon, var):
    return ds[var].sel(lat=lat, lon=lon, method="nearest").item()


def _box(ds, s, n, w, e):
    return ds.sel(lat=slice(s, n), lon=slice(w, e))


# ---------------------------------------------------------------------------------------------
# determinism and config independence of the large scales
# ---------------------------------------------------------------------------------------------
def test_same_seed_is_bit_identical(mini0):
    again = make_static(MINI, 0)
    for v in STATIC_VARIABLES:
        np.testing.assert_array_equal(again[v].values, mini0[v].values, err_msg=v)
    assert again.attrs["seed"] == 0 and again.attrs["config"] == "mini"


def test_other_seed_changes_fine_noise_not_geography(mini0):
    other = make_static(MINI, 1)
    z0, z1 = mini0["elevation"].values, other["elevation"].values
    assert np.mean(z0 == z1) < 0.05  # fine relief differs almost everywhere
    c0, c1 = block_mean(z0, 8, 10), block_mean(z1, 8, 10)  # coarse cells (≈ 28 km)
    assert np.corrcoef(c0.ravel(), c1.ravel())[0, 1] > 0.9
    assert np.sqrt(np.mean((c0 - c1) ** 2)) < 0.4 * c0.std()


def test_mini_and_demo_share_large_scales(mini0, demo0):
    sub = demo0.sel(lat=mini0["lat"], lon=mini0["lon"])
    # climate surfaces live on the fixed lattice: identical in every config
    np.testing.assert_array_equal(mini0["p_ann"].values, sub["p_ann"].values)
    c_mini = block_mean(mini0["elevation"].values, 8, 10)
    c_demo = block_mean(sub["elevation"].values, 8, 10)
    assert np.sqrt(np.mean((c_mini - c_demo) ** 2)) < 0.3 * c_demo.std()
    assert np.mean(mini0["land_cover"].values == sub["land_cover"].values) > 0.9


# ---------------------------------------------------------------------------------------------
# contract: variables, dtypes, units, physical ranges
# ---------------------------------------------------------------------------------------------
def test_variables_units_and_coords(mini0):
    assert tuple(mini0.data_vars) == STATIC_VARIABLES
    assert mini0["elevation"].dims == ("lat", "lon")
    assert mini0["elevation"].shape == (32, 50)
    assert np.all(np.diff(mini0["lat"].values) > 0)
    for v in STATIC_VARIABLES:
        assert "units" in mini0[v].attrs, v
    assert mini0["elevation"].attrs["units"] == "m"
    assert mini0["slope"].attrs["units"] == "degree"
    assert mini0["p_ann"].attrs["units"] == "mm yr-1"
    assert mini0["ks"].attrs["units"] == "mm d-1"
    assert mini0["land_cover"].dtype == np.int8
    assert mini0["playa"].dtype == bool and mini0["irrigated"].dtype == bool
    assert mini0["theta_s"].dtype == np.float32
    assert mini0["lat"].attrs["units"] == "degrees_north"


def test_physical_ranges(demo0):
    d = {v: demo0[v].values for v in STATIC_VARIABLES}
    assert np.isfinite(np.stack([d[v].astype(float) for v in STATIC_VARIABLES])).all()
    assert 1100 < d["elevation"].min() and d["elevation"].max() < 7000
    assert d["slope"].min() >= 0 and d["slope"].max() < 70
    assert d["aspect"].min() >= 0 and d["aspect"].max() < 360
    assert 0 <= d["water_fraction"].min() and d["water_fraction"].max() <= 1
    assert np.all(d["theta_h"] < d["theta_w"]) and np.all(d["theta_w"] < d["theta_fc"])
    assert np.all(d["theta_fc"] < d["theta_s"]) and d["theta_s"].max() < 0.7
    assert np.all(d["sand"] + d["clay"] <= 1.0)
    assert 0.8 < d["bulk_density"].min() and d["bulk_density"].max() < 1.8
    assert 10 < d["ks"].min() and d["ks"].max() < 3000
    assert np.all(d["ndvi_min"] < d["ndvi_max"]) and d["ndvi_max"].max() <= 0.85
    assert np.all(d["greenup_doy"] < d["senescence_doy"])
    assert 120 <= d["greenup_doy"].min() and d["senescence_doy"].max() <= 280
    assert d["f_stem"].min() >= 0 and d["f_stem"][d["land_cover"] == C.FOREST].min() >= 6
    playa = d["playa"]
    assert playa.any() and np.all(d["sigma_sal"][~playa] == 0)
    assert 1 <= d["sigma_sal"][playa].min() and d["sigma_sal"][playa].max() <= 5
    assert np.all(d["land_cover"][d["irrigated"]] == C.CROPLAND)
    assert np.all(d["land_cover"][d["water_fraction"] >= 0.5] == C.WATER)
    assert set(np.unique(d["land_cover"])) <= set(C.LAND_COVER)
    assert set(np.unique(d["mcd12q1"])) <= set(C.IGBP_NAMES)
    assert 8 < d["p_ann"].min() and d["p_ann"].max() < 1100
    assert -25 < d["t_ann"].min() and d["t_ann"].max() < 14  # Jinsha valley ≈ Batang 12.6 °C


# ---------------------------------------------------------------------------------------------
# geography (checks that can fail)
# ---------------------------------------------------------------------------------------------
def test_qaidam_low_flat_dry_and_sanjiangyuan_high_wet(demo0):
    qaidam = _box(demo0, 36.8, 37.8, 93.0, 96.0)
    sjy = _box(demo0, 33.5, 35.5, 95.0, 100.0)
    land = qaidam["land_cover"] != C.WATER
    zq = float(qaidam["elevation"].where(land).mean())
    assert 2675 <= zq <= 3000
    assert float(sjy["elevation"].mean()) > zq + 1000
    assert float(qaidam["slope"].mean()) < 1.5 < float(sjy["slope"].mean())
    assert float(qaidam["p_ann"].median()) < 100 < 350 < float(sjy["p_ann"].median())
    assert float(qaidam["t_ann"].mean()) > float(sjy["t_ann"].mean()) + 4


def test_named_water_bodies_and_relief(demo0):
    assert _at(demo0, 36.9, 100.2, "land_cover") == C.WATER  # Qinghai Lake
    assert _at(demo0, 36.9, 100.2, "water_fraction") == 1.0
    assert abs(_at(demo0, 36.9, 100.2, "elevation") - 3196) < 1
    assert _at(demo0, 34.93, 97.27, "land_cover") == C.WATER  # Gyaring
    assert _at(demo0, 34.9, 97.7, "land_cover") == C.WATER  # Ngoring
    # a shore pixel of Qinghai Lake is fractional
    wf = _box(demo0, 36.5, 37.3, 99.5, 100.9)["water_fraction"].values
    assert np.any((wf > 0.05) & (wf < 0.95))
    kunlun = _box(demo0, 35.5, 36.4, 89.5, 95.0)["elevation"]
    assert float(kunlun.max()) > 6000
    assert float(_box(demo0, 35.9, 36.8, 101.0, 103.0)["elevation"].min()) < 2000  # Huangshui / Yellow
    assert float(_box(demo0, 39.3, 40.1, 97.5, 101.0)["elevation"].min()) < 2000  # Hexi corridor
    # Lenghu desert vs Yushu / SE wet
    assert _at(demo0, 38.38, 93.37, "p_ann") < 30
    assert 380 < _at(demo0, 33.0, 97.02, "p_ann") < 650
    assert float(_box(demo0, 32.5, 33.8, 100.5, 102.0)["p_ann"].median()) > 550


def test_class_fractions_demo(demo0):
    lc = demo0["land_cover"].values
    frac = {name: 100 * np.mean(np.isin(lc, codes)) for name, codes in {
        "barren": (C.BARREN, C.PLAYA),
        "grass": (C.ALPINE_STEPPE, C.MEADOW),
        "water": (C.WATER,),
        "forest": (C.FOREST,),
    }.items()}
    assert 25 <= frac["barren"] <= 30, frac
    assert 55 <= frac["grass"] <= 60, frac
    assert 2 <= frac["water"] <= 3, frac
    assert 2 <= frac["forest"] <= 4, frac
    igbp = np.vectorize(C.IGBP.get)(lc)
    assert 5 <= 100 * np.mean(demo0["mcd12q1"].values != igbp) <= 10


def test_forest_prefers_north_facing(demo0):
    d = demo0
    forest = d["land_cover"].values == C.FOREST
    north = np.cos(np.deg2rad(d["aspect"].values))
    assert north[forest].mean() > 0.2


# ---------------------------------------------------------------------------------------------
# SLOPE and TWI numerics
# ---------------------------------------------------------------------------------------------
def _latlon(n=40, m=50, lat0=35.0, lon0=95.0, d=1 / 96):
    return lat0 + d * np.arange(n), lon0 + d * np.arange(m)


def test_slope_of_north_south_plane_is_exact():
    lat, lon = _latlon()
    grad = 0.05  # 5 m per 100 m northward
    z = grad * R_EARTH_M * np.deg2rad(lat)[:, None] + 0 * lon[None, :]
    slope, aspect = slope_aspect(z, lat, lon)
    np.testing.assert_allclose(slope, np.degrees(np.arctan(grad)), rtol=1e-6)
    np.testing.assert_allclose(aspect, 180.0, atol=1e-6)  # rising northward → faces south


def test_slope_of_east_west_plane_uses_metric_spacing():
    lat, lon = _latlon()
    grad = 0.10
    coslat = np.cos(np.deg2rad(lat))[:, None]
    z = grad * R_EARTH_M * coslat * np.deg2rad(lon - lon[25])[None, :]
    slope, aspect = slope_aspect(z, lat, lon)
    np.testing.assert_allclose(slope[:, 25], np.degrees(np.arctan(grad)), rtol=1e-3)
    np.testing.assert_allclose(aspect[:, 25], 270.0, atol=0.1)  # rising eastward → faces west


def test_slope_is_not_degrees_as_metres():
    lat, lon = _latlon()
    z = 1000.0 * (lat - lat[0])[:, None] + 0 * lon[None, :]  # 1000 m per degree of latitude
    slope, _ = slope_aspect(z, lat, lon)
    np.testing.assert_allclose(slope, np.degrees(np.arctan(1000.0 / (R_EARTH_M * np.pi / 180))), rtol=1e-6)
    assert slope.max() < 1.0  # degrees-as-metres would give ≈ 89.9°


def test_slope_aspect_rejects_bad_input():
    lat, lon = _latlon()
    with pytest.raises(DataError, match="expected 2-D"):
        slope_aspect(np.zeros((3, 4)), lat, lon)
    with pytest.raises(DataError, match="ascending"):
        slope_aspect(np.zeros((40, 50)), lat[::-1], lon)


def test_d8_accumulation_conserves_area_and_finds_the_valley():
    lat, lon = _latlon(30, 41)
    x = np.abs(np.arange(41) - 20.0)[None, :]  # V valley along the central column ...
    z = 20.0 * x + 5.0 * np.arange(30)[:, None]  # ... draining south
    slope, _ = slope_aspect(z, lat, lon)
    twi, area = d8_twi(z, slope, lat, lon)
    dy = R_EARTH_M * np.deg2rad(1 / 96)
    cell = dy * R_EARTH_M * np.cos(np.deg2rad(lat))[:, None] * np.deg2rad(1 / 96) + 0 * z
    # the outlet (south end of the valley) drains the whole grid
    np.testing.assert_allclose(area[0, 20], cell.sum(), rtol=1e-9)
    assert twi[5, 20] > twi[5, 5] + 2


# ---------------------------------------------------------------------------------------------
# sites
# ---------------------------------------------------------------------------------------------
def test_site_tables():
    st, rg = S.sm_stations(), S.rain_gauges()
    assert list(st.columns[:5]) == ["name", "lat", "lon", "elevation", "kind"]
    assert len(st) == 6 and len(rg) == 7
    assert set(st.loc[st["irrigated"], "name"]) == {"Golmud", "Nuomuhong"}
    assert (st["kind"] == "sm_station").all() and (rg["kind"] == "rain_gauge").all()
    assert len(S.sites_in_domain(S.named_sites(), DEMO)) == 13  # all inside the study box
    mini_sites = set(S.sites_in_domain(S.named_sites(), MINI)["name"])
    assert {"Dulan", "Wulan", "Chaka"} <= mini_sites and "Delingha" not in mini_sites


def test_sites_geodataframe_and_pixels(demo0):
    gdf = S.sites_geodataframe(DEMO, demo0)
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == 13
    for col in ("name", "kind", "lat", "lon", "elevation", "land_cover", "fine_i", "fine_j",
                "coarse_i", "coarse_j", "fine_lat", "coarse_lon", "geometry"):
        assert col in gdf.columns, col
    assert np.allclose(gdf.geometry.x, gdf["lon"]) and np.allclose(gdf.geometry.y, gdf["lat"])
    assert np.all(np.abs(gdf["fine_lat"] - gdf["lat"]) <= DEMO.fine_dlat / 2 + 1e-9)
    assert np.all(np.abs(gdf["coarse_lon"] - gdf["lon"]) <= 0.3125 / 2 + 1e-9)
    # the DEM honours the site elevations; the irrigated mask holds exactly the irrigated stations
    assert np.all(np.abs(gdf["dem_elevation"] - gdf["elevation"]) < 150)
    irr = demo0["irrigated"].values[gdf["fine_i"], gdf["fine_j"]]
    np.testing.assert_array_equal(irr, gdf["irrigated"].to_numpy())
    assert not (gdf["land_cover"] == "water").any()


def test_site_outside_grid_raises_naming_it(mini0):
    with pytest.raises(DataError, match="Qumarai"):
        S.sites_geodataframe(MINI, mini0, sites=S.named_sites())
    mini = S.sites_geodataframe(MINI, mini0)
    assert set(mini["name"]) == {"Dulan", "Wulan", "Chaka"}


def test_cldas_gauges_density_follows_precipitation(demo0, mini0):
    g = S.cldas_gauges(DEMO, 0, demo0)
    county = g[g["kind"] == "county_gauge"]
    assert 30 <= len(county) <= 40 and len(g) == len(county) + 13
    assert not g["name"].duplicated().any()
    p = np.array([_at(demo0, a, o, "p_ann") for a, o in zip(county["lat"], county["lon"], strict=True)])
    assert p.mean() > float(demo0["p_ann"].mean())
    hohxil = (county["lat"].between(34.0, 36.3)) & (county["lon"] < 93.6)
    assert hohxil.sum() <= 1
    # the synthetic network is the same in every config
    gm = S.cldas_gauges(MINI, 0, mini0)
    inside = S.sites_in_domain(county, MINI)
    pd.testing.assert_frame_equal(
        gm[gm["kind"] == "county_gauge"][["name", "lat", "lon"]].reset_index(drop=True),
        inside[["name", "lat", "lon"]].reset_index(drop=True),
    )
