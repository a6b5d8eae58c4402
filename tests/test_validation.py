"""Validation tables (sm_nb.validation) on constructed data with known answers, and on mini."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from sm_nb import tc_tables as TT
from sm_nb import validation as V
from sm_nb.config import get_config
from sm_nb.exceptions import DataError
from sm_nb.grids import coarse_grid, fine_grid
from sm_nb.resample import replicate

T = pd.date_range("2017-06-01", periods=60)


def _grid_da(values: np.ndarray, lat: np.ndarray, lon: np.ndarray, name: str = "p") -> xr.DataArray:
    return xr.DataArray(values, dims=("time", "lat", "lon"), name=name, attrs={"units": "m3 m-3"},
                        coords={"time": T[: values.shape[0]], "lat": lat, "lon": lon})


def _stations(values: np.ndarray, lat, lon, names=("A", "B")) -> xr.DataArray:
    return xr.DataArray(values, dims=("station", "time"), name="sm", attrs={"units": "m3 m-3"},
                        coords={"station": list(names), "time": T[: values.shape[1]],
                                "lat": ("station", lat), "lon": ("station", lon)})


# ------------------------------------------------------------------------------ stations
def test_sample_at_stations_picks_the_containing_cell():
    lat, lon = np.array([30.0, 31.0, 32.0]), np.array([90.0, 91.0])
    v = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    out = V.sample_at_stations(_grid_da(v, lat, lon), pd.DataFrame({"name": ["x"], "lat": [31.4], "lon": [90.6]}))
    assert out.dims == ("station", "time")
    np.testing.assert_array_equal(out.sel(station="x").values, v[:, 1, 1])


def test_station_outside_the_grid_is_a_clear_error():
    lat, lon = np.array([30.0, 31.0, 32.0]), np.array([90.0, 91.0])
    da = _grid_da(np.zeros((2, 3, 2)), lat, lon, name="smap")
    sites = pd.DataFrame({"name": ["in", "far"], "lat": [31.0, 36.3], "lon": [90.0, 98.1]})
    with pytest.raises(DataError, match=r"far \(36.300°N, 98.100°E\) outside the grid of 'smap' \(lat 29.500…32.500"):
        V.sample_at_stations(da, sites)


def test_station_table_known_correlations():
    rng = np.random.default_rng(0)
    lat, lon = np.array([36.0, 37.0]), np.array([98.0, 99.0])
    truth = rng.uniform(0.1, 0.3, (60, 2, 2))
    obs = _stations(np.stack([truth[:, 0, 0], truth[:, 1, 1]]), [36.1, 36.9], [98.1, 98.9])
    noisy = truth + rng.normal(0, 0.05, truth.shape)
    short = np.where(np.arange(60)[:, None, None] < 20, truth, np.nan)  # 20 days < 30
    t = V.station_table({"exact": _grid_da(2 * truth + 0.01, lat, lon), "noisy": _grid_da(noisy, lat, lon),
                         "short": _grid_da(short, lat, lon)}, obs)
    assert {"product", "station", "r", "p", "n", "bias", "rmse", "ubrmse"} <= set(t.columns)
    ex = t[t["product"] == "exact"]
    np.testing.assert_allclose(ex["r"], 1.0)
    assert (ex["n"] == 60).all()
    nz = t[(t["product"] == "noisy") & (t["station"] == "B")].iloc[0]
    ref = stats.pearsonr(noisy[:, 1, 1], truth[:, 1, 1])
    assert nz["r"] == pytest.approx(ref.statistic, rel=1e-9)
    assert nz["p"] == pytest.approx(ref.pvalue, rel=1e-6)
    sh = t[t["product"] == "short"]
    assert sh["r"].isna().all() and (sh["n"] == 20).all()
    wide = V.table6(t)
    assert list(wide.index) == ["exact", "noisy", "short"] and list(wide.columns) == ["A", "B"]


def test_compare_table6_against_a_given_paper_table():
    tidy = pd.DataFrame({"product": ["CLDAS", "CLDAS"], "station": ["Dulan", "Golmud"], "r": [0.5, np.nan],
                         "p": [0.01, np.nan], "n": [40, 10]})
    paper = pd.DataFrame({"product": ["CLDAS", "CLDAS"], "station": ["Dulan", "Golmud"], "r": [0.759, -0.025]})
    out = V.compare_table6(tidy, paper)
    assert out["r_paper"].tolist() == [0.759, -0.025]
    assert bool(out["same_sign"].iloc[0])
    assert pd.isna(out["same_sign"].iloc[1])


def test_compare_table6_uses_the_papers_numbers():
    tidy = pd.DataFrame({"product": ["DOWNSCALED"], "station": ["Tianjun"], "r": [0.3], "p": [0.1], "n": [30]})
    assert V.compare_table6(tidy)["r_paper"].iloc[0] == pytest.approx(0.620)


def test_moving_mean_is_labelled():
    da = _grid_da(np.array([1.0, np.nan, 3.0, np.nan, np.nan])[:, None, None] * np.ones((5, 1, 1)), [36.0], [98.0], "sm")
    out = V.moving_mean(da, 3)
    np.testing.assert_allclose(out.values[:, 0, 0], [1.0, 2.0, 3.0, 3.0, np.nan])
    assert out.name == "sm (3-day mean)" and "3-day" in out.attrs["cell_methods"]
    with pytest.raises(DataError, match="positive integer"):
        V.moving_mean(da, 0)


def test_gauge_series(mini):
    import sm_nb

    g = sm_nb.open_dataset("rain_gauges", config="mini", seed=0)
    truth = sm_nb.open_dataset("truth_sm", config="mini", seed=0)["sm"]
    s = V.gauge_series(g, {"truth": truth})
    assert set(s.data_vars) == {"precipitation", "truth"} and s["truth"].dims == ("station", "time")
    np.testing.assert_array_equal(s["precipitation"].values, g["precipitation"].values)
    with pytest.raises(DataError, match="lack 'rain'"):
        V.gauge_series(g, {}, variable="rain")


# ------------------------------------------------------------------------------ truth skill
def _fine_case(seed: int = 0):
    cfg = get_config("mini")
    cg, fg = coarse_grid(cfg), fine_grid(cfg)
    rng = np.random.default_rng(seed)
    c = _grid_da(rng.uniform(0.1, 0.3, (6, *cg.shape)), cg.lat, cg.lon, "c")
    fy, fx = fg.nest_factor(cg)
    d = rng.normal(0, 0.03, (6, *fg.shape))
    b = d.reshape(6, cg.shape[0], fy, cg.shape[1], fx)
    d = (b - b.mean(axis=(2, 4), keepdims=True)).reshape(d.shape)
    rep = replicate(c, fg)
    detail = rep.copy(data=d)
    return c, rep, detail, rep + detail


def test_truth_skill_known_answers():
    c, rep, detail, truth = _fine_case()
    t = V.truth_skill({"truth": truth, "replicated": rep, "offset": truth + 0.01, "double": rep + 2 * detail}, truth, c)
    assert t.loc["truth", "r"] == pytest.approx(1.0) and t.loc["truth", "rmse"] == pytest.approx(0, abs=1e-12)
    assert t.loc["truth", "r_detail"] == pytest.approx(1.0) and t.loc["truth", "detail_skill"] == pytest.approx(1.0)
    assert np.isnan(t.loc["replicated", "r_detail"])
    assert t.loc["replicated", "detail_skill"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["replicated", "detail_std_ratio"] == pytest.approx(0.0, abs=1e-6)
    assert t.loc["offset", "bias"] == pytest.approx(0.01) and t.loc["offset", "ubrmse"] == pytest.approx(0, abs=1e-7)
    assert t.loc["offset", "detail_skill"] == pytest.approx(1.0)
    assert t.loc["double", "r_detail"] == pytest.approx(1.0)
    assert t.loc["double", "detail_std_ratio"] == pytest.approx(2.0)
    assert t.loc["double", "detail_skill"] == pytest.approx(0.0, abs=1e-9)  # too much detail = as bad as none
    assert (t["n"] == truth.size).all() and (t["coverage"] == 1).all()


def test_truth_skill_common_support_and_gaps():
    c, rep, detail, truth = _fine_case(1)
    rng = np.random.default_rng(3)
    gappy = truth.where(rng.random(truth.shape) > 0.3)
    t = V.truth_skill({"gappy": gappy, "replicated": rep}, truth, c)
    n = int(np.isfinite(gappy.values).sum())
    assert (t["n"] == n).all()  # both rows on the same pixel-days
    assert t.loc["gappy", "coverage"] == pytest.approx(n / truth.size)
    assert t.loc["gappy", "r_detail"] == pytest.approx(1.0)
    own = V.truth_skill({"gappy": gappy, "replicated": rep}, truth, c, common=False)
    assert own.loc["replicated", "n"] == truth.size


def test_truth_skill_rejects_other_grids():
    c, rep, _, truth = _fine_case()
    with pytest.raises(DataError, match="expected products on the fine grid"):
        V.truth_skill({"coarse": c}, truth, c)


def test_fine_baselines():
    c, rep, _, truth = _fine_case()
    lat = c["lat"]
    linear = (0.1 + 0.02 * (lat - lat.mean())).broadcast_like(c).transpose("time", "lat", "lon").rename("nn")
    linear = linear.where(~((linear["lat"] == lat[0]) & (linear["lon"] == c["lon"][0])))  # one missing cell
    b = V.fine_baselines(linear, truth, cldas=None)
    assert set(b) == {"coarse NN replicated", "coarse NN bilinear"}
    np.testing.assert_array_equal(np.isfinite(b["coarse NN replicated"].values), np.isfinite(b["coarse NN bilinear"].values))
    fg = fine_grid(get_config("mini"))
    inner = (fg.lat > lat.values[1]) & (fg.lat < lat.values[-1])
    expect = 0.1 + 0.02 * (fg.lat - lat.values.mean())
    got = b["coarse NN bilinear"].isel(time=0).values[inner][:, -1]
    np.testing.assert_allclose(got, expect[inner], atol=1e-12)  # bilinear is exact for a linear field
    assert np.isnan(b["coarse NN bilinear"].isel(time=0).values[:8, :10]).all()


# ------------------------------------------------------------------------------ triple collocation helpers
def test_tc_vs_truth_and_cross_correlation_tables():
    p = ["a", "b", "c"]
    tc = xr.Dataset({"err_var": (("product", "x"), np.array([[1.0, 2, 3], [1, 1, 1], [2, 2, np.nan]])),
                     "rho": (("product", "x"), np.full((3, 3), 0.5))}, coords={"product": p})
    act = tc.copy(deep=True)
    act["err_var"] = act["err_var"] * 2
    t = TT.tc_vs_truth(tc, act)
    row = t[(t["product"] == "a") & (t["metric"] == "err_var")].iloc[0]
    assert row["tc_median"] == 2 and row["actual_median"] == 4 and row["map_r"] == pytest.approx(1.0)
    assert t[(t["product"] == "c") & (t["metric"] == "err_var")]["n_places"].iloc[0] == 2
    ec = xr.Dataset({"err_corr": (("pair", "x"), np.array([[0.1, 0.3, 0.5], [0.0, 0.0, np.nan]]))},
                    coords={"pair": ["a/b", "a/c"]})
    ct = TT.cross_correlation_table(ec)
    assert ct.loc[0, "median"] == pytest.approx(0.3) and ct.loc[0, "share_above_0.2"] == pytest.approx(2 / 3)
    assert ct.loc[1, "n_places"] == 2


def test_compare_tc_maps_our_names_to_the_papers():
    summary = pd.DataFrame({"product": ["NN", "NN", "FY3C_desc"], "metric": ["rho", "err_var", "rho"],
                            "median": [0.7, 1e-4, 0.6], "q1": [0.6, 5e-5, 0.5], "q3": [0.8, 2e-4, 0.7],
                            "whisker_low": [0.3, 0.0, 0.2], "min": [0.1, 0.0, 0.1], "units": ["1", "(m3 m-3)2", "1"]})
    out = TT.compare_tc(summary, {"NN": "NN", "FY3C_desc": "FY3C"})
    nn = out[(out["product"] == "NN") & (out["statistic"] == "median") & (out["metric"] == "rho")].iloc[0]
    assert nn["ours"] == 0.7 and nn["paper"] == pytest.approx(0.811)
    ev = out[(out["product"] == "NN") & (out["metric"] == "err_var")].iloc[0]
    assert ev["paper"] == pytest.approx(0.00003)  # the paper's preferred reading
    assert out[out["product"] == "FY3C_desc"]["paper"].notna().all()


def test_coarse_sm_products_on_mini(mini):
    from sm_nb import Study

    study = Study("mini", 0)
    prods = study.sm_products()
    assert set(prods) == {"FY3C_asc", "FY3C_desc", "SMAP_asc", "SMAP_desc", "AMSR2_asc", "AMSR2_desc", "CLDAS", "GEOS5"}
    cg = coarse_grid(get_config("mini"))
    for name, da in prods.items():
        assert da.name == name and da.attrs["units"] == "m3 m-3" and da.dims == ("time", "lat", "lon")
        np.testing.assert_allclose(da["lat"].values, cg.lat)
        assert np.isfinite(da.values).any()
    truth = study.truth()
    assert truth.name == "truth" and truth.shape == prods["CLDAS"].shape


def test_versus_marks_wins_and_losses():
    skill = pd.DataFrame({"r": [0.9, 0.8], "rmse": [0.05, 0.04], "ubrmse": [0.04, 0.04], "bias": [-0.01, 0.02],
                          "r_spatial": [0.7, 0.7], "r_detail": [0.5, np.nan], "detail_skill": [-0.1, 0.0]},
                         index=pd.Index(["downscaled", "replicated"], name="product"))
    v = V.versus(skill).loc["replicated"]
    assert v["r"] and not v["rmse"] and not v["ubrmse"] and v["bias"] and not v["r_spatial"]
    assert pd.isna(v["r_detail"]) and not v["detail_skill"]
    with pytest.raises(DataError, match="not in the skill table"):
        V.versus(skill, "nope")


# ------------------------------------------------------------------------------ figures and widgets build
def test_figures_and_widgets_build(mini, tmp_path):
    import holoviews as hv
    import panel as pn

    import sm_nb
    from sm_nb import Study, plots, tc, widgets

    study = Study("mini", 0)
    prods = study.sm_products()
    truth = study.truth()
    trip = [prods["FY3C_asc"], prods["CLDAS"], prods["GEOS5"]]
    res = tc.triple_collocation(*trip, min_n=10, n_boot=20, seed=0)
    act = tc.actual_errors(trip, truth, min_n=10)
    assert isinstance(plots.metric_boxplot(res, "rho"), hv.Element)
    assert plots.estimate_scatter(res, act, "rho") is not None
    assert isinstance(plots.field_maps({p: res["rho"].sel(product=p) for p in ("CLDAS", "GEOS5")}), hv.Layout)
    fine_truth = sm_nb.open_dataset("truth_sm", config="mini", seed=0)["sm"]
    gauges = sm_nb.open_dataset("rain_gauges", config="mini", seed=0)
    series = V.gauge_series(gauges, {"truth": fine_truth, "CLDAS": prods["CLDAS"]})
    assert isinstance(plots.gauge_panel(series, "Chaka", ["truth", "CLDAS"], day="2017-06-15"), hv.Layout)
    assert plots.gauge_panel(series, "Chaka", ["truth"], rain=None) is not None
    with pytest.raises(DataError, match="not in the series"):
        plots.gauge_panel(series, "Nowhere", ["truth"])
    for path in (plots.save_png_boxplot(res, tmp_path / "box.png"),
                 plots.save_png_panels({"a": fine_truth.isel(time=0), "b": fine_truth.isel(time=1)}, tmp_path / "maps.png"),
                 plots.save_png_gauges(series, tmp_path / "gauges.png", ["truth", "CLDAS"])):
        assert path.stat().st_size > 1000
    assert isinstance(plots.zoomable_map(fine_truth.isel(time=0)), hv.Element)
    assert isinstance(widgets.tc_explorer(prods, truth, initial=["FY3C_asc", "CLDAS", "GEOS5"], min_n=10), pn.Row)
    with pytest.raises(DataError, match="expected three of"):
        widgets.tc_explorer(prods, initial=["FY3C_asc", "CLDAS"])
    assert isinstance(widgets.downscale_explorer({"truth": fine_truth, "CLDAS": prods["CLDAS"]}, series,
                                                 ["truth", "CLDAS"]), pn.Row)
