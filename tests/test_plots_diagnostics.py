"""plots / diagnostics / widgets on small synthetic xarray objects with known answers (no scenario)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sm_nb import plots, widgets
from sm_nb.exceptions import DataError
from sm_nb.resample import bin_mean
from sm_nb.scenario import checks as dg
from sm_nb.scenario import checks_truth as dgt
from sm_nb.scenario.classes import ALPINE_STEPPE, BARREN, FOREST, MEADOW, WATER

NT = 200
F = 1 / 32  # fine spacing, degrees
# fine grid: 16 x 20 px on 36.0-36.5 N, 98.0-98.625 E; product grid: 4 x 5 cells of 0.125 deg
FLAT = 36.0 + (np.arange(16) + 0.5) * F
FLON = 98.0 + (np.arange(20) + 0.5) * F
PLAT = 36.0 + (np.arange(4) + 0.5) * 0.125
PLON = 98.0 + (np.arange(5) + 0.5) * 0.125
TIMES = pd.date_range("2017-06-01", periods=NT, freq="D")


def _fine(values, name="sm", units="m3 m-3", long_name="true soil moisture"):
    dims = ("time", "lat", "lon") if values.ndim == 3 else ("lat", "lon")
    coords = {"lat": FLAT, "lon": FLON}
    if values.ndim == 3:
        coords["time"] = TIMES[: values.shape[0]]
    return xr.DataArray(values.astype(np.float32), dims=dims, coords=coords, name=name,
                        attrs={"units": units, "long_name": long_name})


def _product(values, name, units):
    return xr.DataArray(values.astype(np.float32), dims=("time", "lat", "lon"),
                        coords={"time": TIMES, "lat": PLAT, "lon": PLON}, name=name, attrs={"units": units})


def _block(a):
    return a.reshape(*a.shape[:-2], 4, 4, 5, 4).mean(axis=(-3, -1))


@pytest.fixture
def truth():
    """Cell-scale signal (sd 0.05) + sub-cell noise; its block mean is the known aggregate."""
    rng = np.random.default_rng(1)
    cell = 0.2 + 0.05 * rng.standard_normal((NT, 4, 5))
    fine = np.repeat(np.repeat(cell, 4, axis=1), 4, axis=2) + 0.02 * rng.standard_normal((NT, 16, 20))
    return _fine(fine)


@pytest.fixture
def land_cover():
    lc = np.full((16, 20), BARREN, dtype=np.int8)
    lc[:, 8:12] = MEADOW  # product column 2 (lon cells of 4 fine px)
    lc[:, 12:16] = FOREST
    lc[:, 16:] = WATER
    lc[0, 0:2] = ALPINE_STEPPE  # 2 of 16 px of cell (0, 0) — still desert-dominated
    return xr.Dataset({"land_cover": (("lat", "lon"), lc)}, coords={"lat": FLAT, "lon": FLON})


# ------------------------------------------------------------------------------- plots
def test_map_plot_units_in_colorbar_and_title():
    da = _fine(np.random.default_rng(0).random((16, 20)))
    img = plots.map_plot(da)
    assert isinstance(img, hv.Image)
    opts = hv.Store.lookup_options("bokeh", img, "plot").kwargs
    assert "m3 m-3" in opts["clabel"]
    assert opts["title"] == "true soil moisture"
    assert opts["colorbar"] is True


def test_map_plot_irregular_grid_gives_quadmesh_and_requires_time_selection():
    lat = np.array([36.1, 36.3, 36.45, 36.7])
    da = xr.DataArray(np.ones((3, 4, 5)), dims=("time", "lat", "lon"),
                      coords={"time": TIMES[:3], "lat": lat, "lon": PLON}, name="tbh_asc", attrs={"units": "K"})
    with pytest.raises(DataError, match=r"extra dimension\(s\) \{'time': 3\}; select one value"):
        plots.map_plot(da)
    qm = plots.map_plot(da.isel(time=0))
    assert isinstance(qm, hv.QuadMesh)
    assert "[K]" in hv.Store.lookup_options("bokeh", qm, "plot").kwargs["clabel"]


def test_sites_and_series_and_table():
    sites = pd.DataFrame({"name": ["Dulan", "Chaka"], "kind": ["sm_station", "rain_gauge"],
                          "lat": [36.3, 36.78], "lon": [98.1, 99.08], "elevation": [3189.0, 3090.0]})
    pts = plots.sites_overlay(sites)
    assert isinstance(pts, hv.core.Dimensioned)
    st = xr.DataArray(np.random.default_rng(0).random((2, 10)), dims=("station", "time"),
                      coords={"station": ["Dulan", "Wulan"], "time": TIMES[:10]}, name="sm", attrs={"units": "m3 m-3"})
    line = plots.station_series(xr.Dataset({"sm": st}))
    assert isinstance(line, hv.core.Dimensioned)
    tab = plots.dataset_table()
    assert list(tab.columns) == ["dataset", "resolution", "grid", "overpass", "units"]
    assert tab.set_index("dataset").loc["smap_tb", "units"] == "K"


def test_select_field_and_split_variables():
    ds = xr.Dataset({"tbh_asc": _product(np.ones((NT, 4, 5)), "tbh_asc", "K"),
                     "tbh_desc": _product(np.ones((NT, 4, 5)), "tbh_desc", "K"),
                     "flag_asc": _product(np.zeros((NT, 4, 5)), "flag_asc", "1")})
    assert plots.split_variables(ds) == {"tbh": ["asc", "desc"]}
    da = plots.select_field(ds, "tbh", "desc", time="2017-06-03")
    assert da.dims == ("lat", "lon") and da.name == "tbh_desc"
    with pytest.raises(DataError, match=r"variable 'tbv' not in dataset; expected one of \['flag_asc'"):
        plots.select_field(ds, "tbv", "asc")


def test_save_is_atomic_and_writes_html_and_png(tmp_path, monkeypatch):
    da = _fine(np.random.default_rng(0).random((16, 20)))
    html = plots.save(plots.map_plot(da), tmp_path / "map.html")
    png = plots.save_png_map(da, tmp_path / "map.png", sites=pd.DataFrame({"name": ["a"], "lat": [36.2], "lon": [98.3]}))
    assert html.read_text().lstrip().lower().startswith("<!doctype html")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert plots.save(da, tmp_path / "map2.png").stat().st_size > 0
    assert plots.save(plots.map_plot(da), tmp_path / "map3.png").read_bytes()[:4] == b"\x89PNG"  # via matplotlib
    assert hv.Store.current_backend == "bokeh"
    for p in ("map2.png", "map3.png"):
        (tmp_path / p).unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html", "map.png"]  # no temp files left

    # a failing write leaves the old file untouched and no temporary behind
    old = html.read_text()

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hv, "save", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.save(plots.map_plot(da), html)
    assert html.read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html", "map.png"]
    with pytest.raises(DataError, match="suffix '.svg'"):
        plots.save(da, tmp_path / "x.svg")


# ------------------------------------------------------------------------------- diagnostics
def test_regrid_is_block_mean_on_nested_grid(truth):
    grid = xr.Dataset(coords={"lat": PLAT, "lon": PLON})
    out = bin_mean(truth, grid)
    np.testing.assert_allclose(out.values, _block(truth.values), rtol=1e-5)
    assert out.attrs["units"] == "m3 m-3"
    np.testing.assert_allclose(out["coverage"].values, 1.0)
    lazy = bin_mean(truth.chunk({"time": 32}), grid)
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.values, out.values, rtol=1e-6)


def test_regrid_nearest_centre_bins_on_irregular_grid():
    lat = np.array([36.05, 36.2, 36.42])  # irregular, like EASE-Grid 2.0 rows
    grid = xr.Dataset(coords={"lat": lat, "lon": PLON})
    field = _fine(np.broadcast_to(FLAT[:, None], (16, 20)).copy(), name="y", units="degrees_north")
    out = bin_mean(field, grid, min_coverage=0.0)
    nearest = np.abs(FLAT[:, None] - lat[None, :]).argmin(axis=1)
    expected = [FLAT[nearest == k].mean() for k in range(3)]
    np.testing.assert_allclose(out.isel(lon=0).values, expected, rtol=1e-6)


def test_cover_on_grid_dominant_class(land_cover):
    grid = xr.Dataset(coords={"lat": PLAT, "lon": PLON})
    cov = dgt.cover_on_grid(grid, land_cover)
    assert list(cov["cover"].isel(lat=0).values) == ["desert", "desert", "meadow", "forest", "water"]
    assert cov["purity"].isel(lat=0, lon=0) == pytest.approx(14 / 16)


def test_tb_ranges_by_cover_known_values(land_cover):
    tbh = np.broadcast_to(np.array([250.0, 250.0, 180.0, 240.0, 80.0]), (NT, 4, 5)).copy()
    tbv = tbh + 30.0
    flag = np.zeros((NT, 4, 5), dtype=np.uint8)
    flag[:10] = 1  # frozen: excluded by default
    tbh[:10] = 0.0
    ds = xr.Dataset({"tbh_asc": _product(tbh, "tbh_asc", "K"), "tbv_asc": _product(tbv, "tbv_asc", "K"),
                     "flag_asc": (("time", "lat", "lon"), flag)}, attrs={"catalog_entry": "smap_tb"})
    df = dg.tb_ranges_by_cover(ds, land_cover).set_index(["variable", "cover"])
    assert df.loc[("tbh", "meadow"), "median"] == pytest.approx(180.0)
    assert df.loc[("tbh", "desert"), "n"] == (NT - 10) * 2 * 4
    assert df.loc[("tbh", "desert"), "p05"] == pytest.approx(250.0)
    assert df.loc[("mpdi", "water"), "median"] == pytest.approx(30 / 190, rel=1e-5)
    assert (df["product"] == "smap_tb").all()
    cmp = dg.compare_expectations(df.reset_index().assign(frequency=1.41))
    meadow = cmp[(cmp["variable"] == "tbh") & (cmp["cover"] == "meadow")].iloc[0]
    assert meadow["median_in_range"] and meadow["expected_low"] == 170


def test_channel_sm_correlation_recovers_known_r_and_slope(truth):
    rng = np.random.default_rng(2)
    tc = _block(truth.values.astype(float))
    # product = 2 * truth + noise; truth cell sd ~0.05 -> signal sd 0.1; noise sd 0.1 -> r = 1/sqrt(2)
    sd_signal = 2 * tc.std()
    prod = 2 * tc + sd_signal * rng.standard_normal(tc.shape)
    ds = xr.Dataset({"sm_asc": _product(prod, "sm_asc", "m3 m-3")})
    row = dgt.channel_sm_correlation(ds, truth, product="test").iloc[0]
    assert row["n"] == NT * 20
    assert row["r_pooled"] == pytest.approx(1 / np.sqrt(2), abs=0.03)  # se of r ~ 0.008 at n = 4000
    assert row["slope_pooled"] == pytest.approx(0.02, rel=0.1)  # 2 units per m3 m-3 -> 0.02 per 0.01
    assert row["n_pixels"] == 20 and row["n_per_pixel_median"] == NT
    assert row["r_temporal_median"] == pytest.approx(1 / np.sqrt(2), abs=0.06)


def test_vegetation_weakening_bins_by_ndvi(truth):
    rng = np.random.default_rng(3)
    tc = _block(truth.values.astype(float))
    gain = np.array([-4.0, -4.0, -1.0, -1.0, -1.0])  # K per 0.01 m3 m-3; weaker where NDVI is high
    tb = 250 + 100 * gain[None, None, :] * tc + 0.1 * rng.standard_normal(tc.shape)
    ndvi = _fine(np.broadcast_to(np.repeat([0.05, 0.05, 0.6, 0.6, 0.6], 4), (16, 20)).copy(), name="ndvi", units="1")
    ds = xr.Dataset({"tbh_asc": _product(tb, "tbh_asc", "K")})
    df = dgt.vegetation_weakening(ds, truth, ndvi, bins=(-1, 0.3, 1.0)).set_index("veg_bin")
    assert df.loc["(-1.0, 0.3]", "n_pixels"] == 8 and df.loc["(0.3, 1.0]", "n_pixels"] == 12
    assert df.loc["(-1.0, 0.3]", "slope_temporal_median"] == pytest.approx(-4.0, rel=0.05)
    assert df.loc["(0.3, 1.0]", "slope_temporal_median"] == pytest.approx(-1.0, rel=0.05)


def test_model_vs_truth_known_bias_and_regions(truth):
    tc = _block(truth.values.astype(float))
    model = xr.Dataset({"sm": _product(tc + 0.03, "sm", "m3 m-3")})
    region = xr.DataArray(np.broadcast_to(FLON[None, :] < 98.25, (16, 20)), dims=("lat", "lon"),
                          coords={"lat": FLAT, "lon": FLON})
    df = dgt.model_vs_truth({"cldas_sm": model}, truth, region=region).set_index("region")
    assert df.loc["all", "bias"] == pytest.approx(0.03, abs=1e-5)
    assert df.loc["all", "rmse"] == pytest.approx(0.03, abs=1e-5)
    assert df.loc["all", "ubrmse"] == pytest.approx(0.0, abs=1e-5)
    assert df.loc["all", "r_pooled"] == pytest.approx(1.0, abs=1e-5)
    assert df.loc["qaidam", "n"] == NT * 2 * 4 and df.loc["rest", "n"] == NT * 3 * 4


def test_qaidam_mask_and_fine_ranges(land_cover, truth):
    mask = dgt.qaidam_mask(land_cover)
    ell = ((FLON[None, :] - 94.45) / 4.25) ** 2 + ((FLAT[:, None] - 37.27) / 1.5) ** 2 <= 1  # spec §3 ellipse
    assert mask.dims == ("lat", "lon") and (mask.values == ell).all() and 0 < ell.sum() < ell.size
    basin = xr.Dataset(coords={"lat": [37.27, 37.3], "lon": [94.45, 94.5]})
    elev = xr.DataArray([[2800.0, 5000.0], [2900.0, 2900.0]], dims=("lat", "lon"))
    assert dgt.qaidam_mask(basin, elevation=elev).values.tolist() == [[True, False], [True, True]]
    df = dg.fine_ranges_by_cover(truth, land_cover, "truth_sm").set_index("cover")
    assert set(df.index) == {"desert", "steppe", "meadow", "forest", "water"}
    assert df.loc["steppe", "n_cells"] == 2
    assert df.loc["meadow", "n"] == 16 * 4 * 40  # max_days = 40
    combined = dg.combine_tables({"fine": df.reset_index(), "empty": pd.DataFrame()})
    assert combined.columns[0] == "check" and set(combined["check"]) == {"fine"}


# ------------------------------------------------------------------------------- widgets
def test_dataset_explorer_constructs(land_cover):
    tb = np.full((5, 2, 4, 5), 250.0)
    ds = xr.Dataset({"tbh_asc": (("time", "frequency", "lat", "lon"), tb, {"units": "K"}),
                     "tbh_desc": (("time", "frequency", "lat", "lon"), tb, {"units": "K"})},
                    coords={"time": TIMES[:5], "frequency": [6.925, 10.65], "lat": PLAT, "lon": PLON})
    data = {"amsr2_tb": ds, "land_cover": land_cover}
    layout = widgets.dataset_explorer(data.__getitem__, list(data))
    controls = layout[0]
    assert controls[0].value == "amsr2_tb" and controls[2].options == ["asc", "desc"]
    assert controls[3].value == 6.925 and controls[4].end == 4
    controls[0].value = "land_cover"  # no time, no orbit, no frequency
    assert controls[4].disabled and controls[2].disabled and controls[3].disabled
    with pytest.raises(DataError, match="initial dataset 'x' not in names"):
        widgets.dataset_explorer(data.__getitem__, list(data), initial="x")


def test_running_mean_and_anomaly_removes_a_shared_seasonal_cycle(truth):
    a = np.arange(10.0)[:, None]
    a[3] = np.nan
    rm = dgt._running_mean(a, 3)
    assert rm[0, 0] == pytest.approx(0.5) and rm[5, 0] == pytest.approx(5.0) and rm[3, 0] == pytest.approx(3.0)
    assert rm[9, 0] == pytest.approx(8.5)
    # Tb = -3 K per 0.01 in the short term, but a seasonal warming that rises with the seasonal wetting
    rng = np.random.default_rng(4)
    season = np.sin(np.linspace(0, np.pi, NT))[:, None, None]
    tc = 0.2 + 0.1 * season + 0.02 * rng.standard_normal((NT, 4, 5))
    fine = _fine(np.repeat(np.repeat(tc, 4, axis=1), 4, axis=2))
    tbh = 250 + 60 * season - 300 * (tc - 0.2 - 0.1 * season) + 0.2 * rng.standard_normal(tc.shape)
    ds = xr.Dataset({"tbh_asc": _product(tbh, "tbh_asc", "K"), "tbv_asc": _product(tbh + 20, "tbv_asc", "K")})
    raw = dgt.channel_sm_correlation(ds, fine).set_index("variable")
    anom = dgt.channel_sm_correlation(ds, fine, anomaly_days=15).set_index("variable")
    assert raw.loc["tbh", "r_temporal_median"] > 0.5  # the seasonal confounder wins on raw series
    assert anom.loc["tbh", "slope_temporal_median"] == pytest.approx(-3.0, rel=0.1)
    assert anom.loc["tbh", "anomaly_days"] == 15 and "mpdi" in anom.index
