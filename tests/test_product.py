"""The 1 km product beyond the paper: gap filling with provenance, scale-aware detail, truth-free choice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sm_nb import detail, gapfill, product
from sm_nb.exceptions import ConfigError, DataError

FAST = {"hidden_units": 4, "n_restarts": 1, "cv_folds": 2}


@pytest.fixture(scope="module")
def study(mini):
    from sm_nb import Study

    return Study("mini", 0, progress=False)


@pytest.fixture(scope="module")
def filled(study):
    return study.gap_filled(**FAST)


# ------------------------------------------------------------------------------ gap filling
def test_fill_from_nearest_day_takes_the_nearest_and_flags_it():
    days = pd.date_range("2017-06-01", periods=9)
    v = np.array([1.0, np.nan, np.nan, np.nan, 5.0, np.nan, np.nan, np.nan, np.nan])
    da = xr.DataArray(v, coords={"time": days}, dims="time", name="LST", attrs={"units": "K"})
    out, lag = gapfill.fill_from_nearest_day(da, 2)
    np.testing.assert_array_equal(out.values, [1, 1, 1, 5, 5, 5, 5, np.nan, np.nan])
    np.testing.assert_array_equal(lag.values, [0, -1, -2, 1, 0, -1, -2, 0, 0])
    assert out.attrs["units"] == "K" and "nearest day" in out.attrs["comment"]
    # a window longer than the series (a few days of `full`, dask-backed) fills what it can
    short, _ = gapfill.fill_from_nearest_day(da.isel(time=slice(3, 6)).chunk({"time": 2}), 16)
    np.testing.assert_array_equal(short.values, [5, 5, 5])
    # never across the gap between two seasons
    two = xr.DataArray([1.0, np.nan], coords={"time": pd.to_datetime(["2017-11-30", "2018-04-01"])}, dims="time")
    assert np.isnan(gapfill.fill_from_nearest_day(two, 3)[0].values[1])



def _fill_by_offsets(v: np.ndarray, years: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The definition, offset by offset (earlier day first): the reference for the kernel."""
    out, lag = v.copy(), np.zeros(v.shape, int)
    for t in range(v.shape[0]):
        for k in range(1, window + 1):
            got = False
            for s in (t - k, t + k):
                if not got and 0 <= s < v.shape[0] and years[s] == years[t]:
                    take = np.isnan(out[t]) & ~np.isnan(v[s])
                    out[t][take], lag[t][take] = v[s][take], s - t
            if not np.isnan(out[t]).any():
                break
    return out, lag


@pytest.mark.parametrize("window", [1, 3, 16])
def test_fill_kernel_equals_the_offset_definition_on_numpy_and_dask(window):
    rng = np.random.default_rng(window)
    days = pd.DatetimeIndex([*pd.date_range("2017-11-01", periods=30), *pd.date_range("2018-04-01", periods=25)])
    v = rng.normal(size=(days.size, 4, 5))
    v[rng.random(v.shape) < 0.7] = np.nan  # gaps of every length, some cells never observed
    v[:, 0, 0] = np.nan
    want, want_lag = _fill_by_offsets(v, days.year.values, window)
    da = xr.DataArray(v, coords={"time": days}, dims=("time", "lat", "lon"), name="LST")
    for arr in (da, da.chunk({"time": 4, "lat": 2}), da.transpose("lat", "time", "lon").chunk({"time": 7})):
        out, lag = gapfill.fill_from_nearest_day(arr, window)
        np.testing.assert_array_equal(out.transpose("time", "lat", "lon").values, want)
        np.testing.assert_array_equal(lag.transpose("time", "lat", "lon").values, want_lag)

def test_family_drops_each_gappy_input_and_keeps_auxiliaries():
    fam = gapfill.family(["SMAP_TBV_A", "AMSR2_TBH_D", "LST", "NDVI", "DEM"])
    assert fam["all inputs"] == ("SMAP_TBV_A", "AMSR2_TBH_D", "LST", "NDVI", "DEM")
    assert fam["without LST"] == ("SMAP_TBV_A", "AMSR2_TBH_D", "NDVI", "DEM")
    assert fam["auxiliaries only"] == ("NDVI", "DEM") and len(fam) == 5


def test_coverage_and_provenance_on_mini(study, filled):
    land = study.land("coarse")
    sm, prov = filled.sm, filled.provenance
    n_land = int(land.sum()) * sm.sizes["time"]
    covered = int(sm.where(land).notnull().sum())
    assert covered / n_land >= 0.9, f"gap-filled coarse product covers {covered / n_land:.1%} of land cell-days"
    # a provenance code on every value, none where there is no value; codes name the candidates
    np.testing.assert_array_equal(prov.values >= 0, sm.notnull().values)
    meanings = prov.attrs["flag_meanings"].split()
    assert len(meanings) == len(filled.ranking) and "all_inputs_observed_inputs" in meanings
    # where the paper's network had all inputs observed, a value exists (possibly a better-ranked one)
    paper = filled.results["all inputs"].prediction
    assert bool(sm.where(paper.notnull()).notnull().sum() == paper.notnull().sum())
    table = gapfill.coverage_by_class(prov, land)
    assert abs(table["share"].sum() - 1) < 1e-9
    # the ranking never used the truth: it is ranked against CLDAS
    assert sm.attrs["ranked_against"] == "cldas_sm"


def test_fine_variants_cover_land_and_recommend_one_without_the_truth(study, filled, monkeypatch):
    real_open = study.open

    def no_truth(name):
        if name == "truth_sm":
            raise AssertionError("the truth-free rule read truth_sm")
        return real_open(name)

    monkeypatch.setattr(study, "open", no_truth)
    variants = study.fine_variants(filled)
    table = product.choose_without_truth([v for v in variants.values()])
    assert int(table["recommended"].sum()) == 1
    assert table.loc["bilinear", "heldout_skill"] == 0.0 and table.loc["bilinear", "expected_skill"] == 0.0
    # the cross-scale variant carries its design table and an expected skill; the rule ranks by it
    cs = variants["cross-scale"].selection
    assert int(cs["designs"]["chosen"].sum()) == 1 and np.isfinite(cs["expected_skill"])
    assert 0 <= cs["reliability"] <= 1 and "expected" in table.attrs["rule"]
    best = table["expected_skill"].fillna(-np.inf).idxmax()
    assert bool(table.loc[best, "recommended"])
    land = study.land("fine")
    for name in ("bilinear", "scaled", "within-cell", "cross-scale"):
        sm = variants[name].sm
        assert sm.attrs["units"] == "m3 m-3"
        cov = float(sm.where(land).notnull().sum()) / (float(land.sum()) * sm.sizes["time"])
        assert cov >= 0.9, f"{name} covers {cov:.1%} of land pixel-days"
        assert float(sm.min()) >= 0 and float(sm.max()) <= 1

    # kept in memory (mini fits), float32, the same values as made lazily
    lazy = study.fine_variants(filled, which=["cross-scale"], load=False)["cross-scale"].sm
    assert lazy.chunks is not None and variants["cross-scale"].sm.chunks is None
    np.testing.assert_allclose(variants["cross-scale"].sm.values, lazy.values, atol=1e-7)


def test_product_makes_only_the_candidates_and_the_asked_variant(study, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a variant that is neither a candidate nor asked for was made")

    monkeypatch.setattr(product, "within_cell_variant", never)
    ds, choice = study.product("recommended", **FAST)
    assert set(choice.index) == {"bilinear", "cross-scale"} and ds.attrs["variant"] == "cross-scale"
    assert {"sm", "provenance", "coverage"} <= set(ds.data_vars)
    ds, choice = study.product("scaled", **FAST)
    assert ds.attrs["variant"] == "scaled" and ds.attrs["recommended_without_truth"] == "cross-scale"
    with pytest.raises(ConfigError, match="unknown"):
        study.fine_variants(study.gap_filled(**FAST), which=["nope"])

def test_fill_from_nearest_day_of_a_map_is_that_of_each_pixel_alone():
    """Only the pixels with a gap go through the search (the kernel's shortcut); each pixel's
    filled series and lags are those of the pixel filled alone, gap-free pixels unchanged."""
    rng = np.random.default_rng(3)
    days = pd.date_range("2017-11-20", periods=11).append(pd.date_range("2018-04-01", periods=9))
    v = rng.standard_normal((days.size, 4, 5)).astype(np.float32)
    v[rng.random(v.shape) < 0.25] = np.nan
    v[:, 0, :] = rng.standard_normal((days.size, 5))  # a gap-free row
    da = xr.DataArray(v, coords={"time": days, "lat": np.arange(4.0), "lon": np.arange(5.0)},
                      dims=("time", "lat", "lon"), name="LST")
    for chunks in (None, {"time": 6}):
        out, lag = gapfill.fill_from_nearest_day(da if chunks is None else da.chunk(chunks), 4)
        for i in range(4):
            for j in range(5):
                one, one_lag = gapfill.fill_from_nearest_day(da[:, i, j], 4)
                np.testing.assert_array_equal(out.values[:, i, j], one.values)
                np.testing.assert_array_equal(lag.values[:, i, j], one_lag.values)
        np.testing.assert_array_equal(out.values[:, 0], v[:, 0])


def _embedded_arrays(obj, out: list, depth: int = 0) -> None:
    """Every numpy array held inside a dask task (its arguments, literals, data nodes)."""
    if isinstance(obj, np.ndarray):
        out.append(obj)
    elif depth < 8 and isinstance(obj, (tuple, list)):
        for o in obj:
            _embedded_arrays(o, out, depth + 1)
    elif depth < 8 and isinstance(obj, dict):
        for o in obj.values():
            _embedded_arrays(o, out, depth + 1)
    elif depth < 8:
        for attr in ("args", "kwargs", "value"):
            if hasattr(obj, attr):
                _embedded_arrays(getattr(obj, attr), out, depth + 1)


def test_lazy_product_graph_holds_no_fine_season_in_memory(study, monkeypatch):
    """On `full` the product is written block of days by block of days; an in-memory fine cube in its
    graph (e.g. the coarse level or the provenance replicated with numpy) would be shipped with every
    block (5.8 GiB per block on a dask.distributed cluster). Only data that do not grow with the
    days (masks, season-mean anomalies: one plane per year) may be embedded."""
    monkeypatch.setattr(product, "IN_MEMORY_BYTES", 0)  # the `full` path: nothing kept in memory
    monkeypatch.setattr(product.keep_in_memory, "__defaults__", (0,))
    captured = {}

    def capture(ds, path, progress=False):
        captured["ds"] = ds
        return ds

    from sm_nb import downscale as _ds

    monkeypatch.setattr(_ds, "write_store", capture)
    study.product("recommended", output="unused.zarr", **FAST)
    ds = captured["ds"]
    assert ds["sm"].chunks is not None and ds["provenance"].chunks is not None
    arrays: list[np.ndarray] = []
    for layer in ds.__dask_graph__().layers.values():
        for task in dict(layer).values():
            _embedded_arrays(task, arrays)
    plane = ds.sizes["lat"] * ds.sizes["lon"]
    years = len(np.unique(ds["time"].dt.year))
    largest = max((a.size for a in arrays), default=0)
    assert ds.sizes["time"] > years + 1
    assert largest <= years * plane, f"an embedded array of {largest} values (> {years} fine planes)"


# ------------------------------------------------------------------------------ shrinkage
@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.9])
def test_shrinkage_recovers_a_known_factor(alpha):
    """anomalies = α·signal + noise: the least-squares slope estimates α and the scaled skill is ρ²."""
    rng = np.random.default_rng(1)
    signal = rng.standard_normal(200_000)
    obs = alpha * signal + 0.4 * rng.standard_normal(signal.size)
    fit = detail.shrinkage(signal, obs)
    assert fit["alpha"] == pytest.approx(alpha, abs=0.01)
    assert fit["skill"] == pytest.approx(fit["rho"] ** 2, abs=1e-3)
    assert fit["skill"] >= fit["skill_raw"]  # shrinking never hurts in-sample
    # held out on half the cells, the same factor comes back
    lat, lon = np.arange(40) * 0.0625 + 35.03125, np.arange(50) * 0.0625 + 95.03125
    from sm_nb.grids import Grid

    coarse = Grid("coarse", np.arange(10) * 0.25 + 35.125, np.arange(10) * 0.3125 + 95.15625, 0.25, 0.3125)
    s = xr.DataArray(rng.standard_normal((5, 40, 50)), coords={"time": range(5), "lat": lat, "lon": lon},
                     dims=("time", "lat", "lon"))
    o = alpha * s + 0.4 * xr.DataArray(rng.standard_normal(s.shape), coords=s.coords, dims=s.dims)
    held = product._halves(o, s, coarse)
    assert held["alpha"] == pytest.approx(alpha, abs=0.03) and held["heldout_skill"] > 0


def test_compose_keeps_the_coarse_mean_and_fills_no_gap():
    from sm_nb.grids import Grid
    from sm_nb.resample import area_mean

    rng = np.random.default_rng(0)
    clat, clon = 35.125 + 0.25 * np.arange(3), 95.15625 + 0.3125 * np.arange(4)
    flat, flon = 35.0 + 1 / 64 + np.arange(24) / 32, 95.0 + 1 / 64 + np.arange(40) / 32
    c = xr.DataArray(0.2 + 0.05 * rng.random((2, 3, 4)), coords={"time": [0, 1], "lat": clat, "lon": clon},
                     dims=("time", "lat", "lon"), attrs={"units": "m3 m-3"})
    c[0, 1, 1] = np.nan
    fine = Grid("fine", flat, flon, 1 / 32, 1 / 32)
    coarse = Grid("coarse", clat, clon, 0.25, 0.3125)
    anom = xr.DataArray(rng.standard_normal((2, 24, 40)) * 0.01, coords={"time": [0, 1], "lat": flat, "lon": flon},
                        dims=("time", "lat", "lon"))
    plain = detail.compose(c, fine, coarse=coarse)
    out = detail.compose(c, fine, anom, 0.5, coarse=coarse)
    np.testing.assert_allclose(area_mean(out, coarse, 1.0).values, area_mean(plain, coarse, 1.0).values, atol=1e-12)
    assert np.isnan(out.values[0, 8:16, 10:20]).all() and np.isfinite(out.values[1]).all()
    with pytest.raises(DataError, match="expected \\(time, lat, lon\\)"):
        detail.compose(c.isel(time=0), fine)


# ------------------------------------------------------------------------------ cross-scale detail
def _known_sensitivity_case(noise: float, sens: float = 0.5, days: int = 48):
    """Fine proxy = static pattern (fine + cell + block scales) + daily noise; truth = 0.2 + sens·pattern."""
    from sm_nb.grids import Grid

    rng = np.random.default_rng(3)
    ncy, ncx = 8, 8
    clat, clon = 35.125 + 0.25 * np.arange(ncy), 95.15625 + 0.3125 * np.arange(ncx)
    flat, flon = 35.0 + 1 / 64 + np.arange(ncy * 8) / 32, 95.0 + 1 / 64 + np.arange(ncx * 10) / 32
    pattern = (0.05 * rng.standard_normal((ncy * 8, ncx * 10))
               + np.kron(0.05 * rng.standard_normal((ncy, ncx)), np.ones((8, 10))))
    time = pd.date_range("2017-06-01", periods=days)
    wet = 0.05 * np.sin(np.arange(days) / 5.0)[:, None, None]
    truth = 0.2 + wet + sens * pattern[None]
    proxy = pattern[None] + noise * rng.standard_normal((days, *pattern.shape))
    coords = {"time": time, "lat": flat, "lon": flon}
    fine_in = xr.Dataset({"NSDSI": (("time", "lat", "lon"), proxy, {"units": "1"})}, coords=coords)
    coarse = Grid("coarse", clat, clon, 0.25, 0.3125)
    sm = truth.reshape(days, ncy, 8, ncx, 10).mean(axis=(2, 4))
    sm = xr.DataArray(sm, coords={"time": time, "lat": clat, "lon": clon}, dims=("time", "lat", "lon"),
                      attrs={"units": "m3 m-3"})
    return fine_in, sm, coarse, truth


def test_cross_scale_recovers_a_known_sensitivity_and_measures_noise():
    from sm_nb import crossscale

    designs = [crossscale.Design(("NSDSI",), "daily", False), crossscale.Design(("NSDSI",), "season", False)]
    fine_in, sm, coarse, truth = _known_sensitivity_case(noise=0.2)
    best, fit, table = crossscale.choose_design(fine_in, sm, coarse, designs, sample_every=1)
    # season means average the daily noise out: the fit recovers the sensitivity, and λ is the
    # classical reliability var(signal) / (var(signal) + var(noise) / n_days) of the mean
    assert best.temporal == "season"
    assert fit["coef"][0] == pytest.approx(0.5, rel=0.05)
    var_s, var_n = 0.05**2, 0.2**2
    assert fit["reliability"] == pytest.approx(var_s / (var_s + var_n / 48), abs=0.05)
    assert table.loc[designs[0].label, "reliability"] == pytest.approx(var_s / (var_s + var_n), abs=0.03)
    # the predicted fine anomalies correlate with the truth's within-cell anomalies as √λ (test theory)
    pred = crossscale.predict_anomaly(fine_in, sm, coarse, fit["coef"], best).values
    t = truth.reshape(truth.shape[0], 8, 8, 8, 10)
    t_anom = (t - t.mean(axis=(2, 4), keepdims=True)).reshape(truth.shape)
    assert np.corrcoef(pred.ravel(), t_anom.ravel())[0, 1] == pytest.approx(np.sqrt(fit["reliability"]), abs=0.03)
    # without noise both designs are reliable and the daily one is as good
    fine_in, sm, coarse, _ = _known_sensitivity_case(noise=0.0)
    _, fit0, table0 = crossscale.choose_design(fine_in, sm, coarse, designs, sample_every=1)
    assert (table0["reliability"] > 0.99).all() and fit0["coef"][0] == pytest.approx(0.5, rel=1e-6)


def test_cross_scale_reduction_does_not_depend_on_the_chunks():
    """The one pass over a proxy loads whole dask chunks (48 days for 24-day chunks), the next
    load beside the reduction; its sums still go 16 days at a time in order: bit-equal results."""
    from sm_nb import crossscale

    fine_in, sm, coarse, _ = _known_sensitivity_case(noise=0.2, days=100)
    fine_in["NSDSI"][7:9, 3:5, 2] = np.nan
    ref = crossscale.prepare(fine_in, sm, coarse, ["NSDSI"], sample_every=3)
    for chunk in (24, 16, 7):
        got = crossscale.prepare(fine_in.chunk({"time": chunk}), sm, coarse, ["NSDSI"], sample_every=3)
        for a, b in zip(dataclasses.astuple(ref), dataclasses.astuple(got), strict=True):
            for x, y in (zip(a.values(), b.values(), strict=True) if isinstance(a, dict) else [(a, b)]):
                for u, v in (zip(x, y, strict=True) if isinstance(x, tuple) else [(x, y)]):
                    np.testing.assert_array_equal(np.asarray(u), np.asarray(v), err_msg=f"chunks of {chunk} days")


def test_cross_scale_names_missing_proxies():
    from sm_nb import crossscale

    fine_in, sm, coarse, _ = _known_sensitivity_case(noise=0.0, days=20)
    with pytest.raises(DataError, match="no cross-scale design has its proxies"):
        crossscale.choose_design(fine_in.rename({"NSDSI": "EVI"}), sm, coarse)


def test_skill_by_provenance_scores_each_class_on_its_pixel_days():
    """Two classes with known errors: class 0 exact, class 1 off by +0.1 (bias 0.1, ubRMSE 0)."""
    rng = np.random.default_rng(0)
    clat, clon = 35.125 + 0.25 * np.arange(2), 95.15625 + 0.3125 * np.arange(2)
    flat, flon = 35.0 + 1 / 64 + np.arange(16) / 32, 95.0 + 1 / 64 + np.arange(20) / 32
    time = pd.date_range("2017-06-01", periods=5)
    truth = xr.DataArray(0.2 + 0.05 * rng.random((5, 16, 20)), coords={"time": time, "lat": flat, "lon": flon},
                         dims=("time", "lat", "lon"), attrs={"units": "m3 m-3"})
    codes = np.zeros((5, 2, 2), np.int8)
    codes[:, 1, :] = 1
    codes[0, 0, 0] = -1
    prov = xr.DataArray(codes, coords={"time": time, "lat": clat, "lon": clon}, dims=("time", "lat", "lon"),
                        attrs={"flag_meanings": "observed filled"})
    prod = truth + 0.1 * (np.repeat(np.repeat(codes, 8, 1), 10, 2) == 1)
    prod = prod.where(np.repeat(np.repeat(codes, 8, 1), 10, 2) >= 0)
    land = xr.DataArray(np.ones((16, 20), bool), coords={"lat": flat, "lon": flon}, dims=("lat", "lon"))
    table = product.skill_by_provenance(prod, truth, prov, land).set_index("meaning")
    assert table.loc["observed", "n"] == 5 * 160 - 80 and table.loc["filled", "n"] == 5 * 160
    assert table.loc["observed", "rmse"] == pytest.approx(0, abs=1e-12)
    assert table.loc["filled", "bias"] == pytest.approx(0.1) and table.loc["filled", "ubrmse"] == pytest.approx(0, abs=1e-6)
    assert table.loc["filled", "r"] == pytest.approx(1.0) and table.loc["no_code", "n"] == 0
