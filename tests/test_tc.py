"""sm_nb.tc on synthetic triplets with chosen errors (no scenario): pytesmo cross-check, recovery of
known error variances and correlations, masking, NaN handling, bad input, bootstrap, dask = numpy.

Tolerances: with T samples the sample variance of a Gaussian series has relative standard error
sqrt(2/(T-1)); TC's error variance is a difference of (co)variances of size sigma_X^2, so its
per-place standard error is bounded by about sqrt(2/T) * sigma_X^2 (checked below). Means over P
independent places are compared with the truth at 4 standard errors of the mean, the SE being
taken from the spread over the places themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sm_nb.exceptions import ConfigError, DataError
from sm_nb.tc import (
    CI_QUANTILES,
    actual_errors,
    error_cross_correlation,
    tc_summary,
    triple_collocation,
)

SIG_T = 0.05  # truth anomaly sd, m3 m-3
SIG_E = np.array([0.01, 0.02, 0.03])  # error sd of x, y, z
BETA = np.array([1.0, 0.7, 1.3])  # scalings
ALPHA = np.array([0.0, 0.05, -0.02])  # offsets
NAMES = ("nn", "fy3c", "geos5")
TRUE_RHO = BETA * SIG_T / np.sqrt(BETA**2 * SIG_T**2 + SIG_E**2)


def _da(values: np.ndarray, name: str, lat: np.ndarray | None = None, start: str = "2017-04-01",
        units: str = "m3 m-3") -> xr.DataArray:
    nt, ny, nx = values.shape
    lat = np.linspace(31.0, 31.0 + 0.25 * (ny - 1), ny) if lat is None else lat
    coords = {"time": pd.date_range(start, periods=nt, freq="D"), "lat": lat,
              "lon": np.linspace(89.0, 89.0 + 0.3125 * (nx - 1), nx)}
    da = xr.DataArray(values, dims=("time", "lat", "lon"), coords=coords, name=name,
                      attrs={"units": units, "long_name": f"{name} soil moisture"})
    da["lat"].attrs["units"] = "degrees_north"
    return da


def triplet(seed: int = 0, nt: int = 300, ny: int = 6, nx: int = 7, sig_e: np.ndarray = SIG_E,
            ) -> tuple[list[xr.DataArray], xr.DataArray]:
    """Truth + independent Gaussian errors of chosen sd, scaled and offset: (products, truth)."""
    rng = np.random.default_rng(seed)
    t = 0.2 + SIG_T * rng.standard_normal((nt, ny, nx))
    prods = [_da(ALPHA[i] + BETA[i] * t + sig_e[i] * rng.standard_normal(t.shape), NAMES[i]) for i in range(3)]
    return prods, _da(t, "truth")


@pytest.fixture(params=["numpy", "dask"])
def backend(request):
    """Run a test on numpy-backed and on dask-backed input."""
    if request.param == "numpy":
        return lambda das: das
    return lambda das: [d.chunk({"time": 50, "lat": 2, "lon": 3}) for d in das]


def _pytesmo_tc(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """err_var and rho of one place from pytesmo.metrics.tcol_metrics on the complete triplets
    (pytesmo returns err_std scaled to x's units, err_std_i = sqrt(err_var_i) * beta_i, and the
    SNR in dB, SNR = rho^2 / (1 - rho^2) for rho < 1)."""
    tcol_metrics = pytest.importorskip("pytesmo.metrics").tcol_metrics
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    snr_db, err_std, beta = tcol_metrics(x[ok], y[ok], z[ok], ref_ind=0)
    snr = 10 ** (snr_db / 10)
    return (err_std / beta) ** 2, np.sqrt(snr / (1 + snr)), int(ok.sum())


# ----------------------------------------------------------------------------- correctness
def test_matches_pytesmo_pixel_by_pixel(backend):
    rng = np.random.default_rng(42)
    sig_e = rng.uniform(0.005, 0.04, size=3)
    prods, _ = triplet(seed=1, nt=200, sig_e=sig_e)
    for p in prods:  # ~10 % gaps, different per product
        p.values[rng.random(p.shape) < 0.1] = np.nan
    ds = triple_collocation(*backend(prods)).compute()
    assert np.isfinite(ds["err_var"]).all() and np.isfinite(ds["rho"]).all()  # no vacuous NaN == NaN
    x, y, z = (p.values for p in prods)
    for j in range(x.shape[1]):
        for i in range(x.shape[2]):
            ev, rho, n = _pytesmo_tc(x[:, j, i], y[:, j, i], z[:, j, i])
            assert ds["n"].values[j, i] == n
            np.testing.assert_allclose(ds["err_var"].values[:, j, i], ev, rtol=1e-10)
            np.testing.assert_allclose(ds["rho"].values[:, j, i], rho, rtol=1e-10)


def test_x_line_is_not_the_papers_typo():
    """eq. 2 as printed gives X the same error variance formula as Y; the derived form does not."""
    (x, y, z), _ = triplet(nt=500, ny=1, nx=1)
    c = np.cov(np.vstack([x.values.ravel(), y.values.ravel(), z.values.ravel()]))
    ds = triple_collocation(x, y, z)
    assert ds["err_var"].sel(product="nn").item() == pytest.approx(c[0, 0] - c[0, 1] * c[0, 2] / c[1, 2], rel=1e-12)
    typo = c[0, 0] - c[0, 1] * c[1, 2] / c[0, 2]
    assert abs(ds["err_var"].sel(product="nn").item() - typo) > 1e-4


def test_recovers_known_error_variances_and_correlations():
    nt, ny, nx = 1000, 20, 20
    prods, _ = triplet(seed=3, nt=nt, ny=ny, nx=nx)
    ds = triple_collocation(*prods)
    assert bool(ds["mask"].all())
    npl = ny * nx
    ev = ds["err_var"].values.reshape(3, -1)
    rho = ds["rho"].values.reshape(3, -1)
    var_x = BETA**2 * SIG_T**2 + SIG_E**2
    # per-place precision is as good as the sample size allows (module docstring)
    assert np.all(ev.std(axis=1) < np.sqrt(2 / nt) * var_x)
    for est, true in ((ev, SIG_E**2), (rho, TRUE_RHO)):
        se_mean = est.std(axis=1, ddof=1) / np.sqrt(npl)
        np.testing.assert_array_less(np.abs(est.mean(axis=1) - true), 4 * se_mean)


# ----------------------------------------------------------------------------- mask and NaN
def test_min_corr_masks_places_and_keeps_n(backend):
    prods, _ = triplet(seed=4, nt=300, ny=2, nx=2)
    rng = np.random.default_rng(0)
    prods[2].values[:, 0, 0] = rng.standard_normal(300)  # geos5 is pure noise at (0, 0)
    ds = triple_collocation(*backend(prods), min_corr=0.2).compute()
    assert not ds["mask"].values[0, 0] and ds["mask"].values.sum() == 3
    assert np.isnan(ds["err_var"].values[:, 0, 0]).all() and np.isnan(ds["rho"].values[:, 0, 0]).all()
    assert ds["n"].values[0, 0] == 300
    assert np.isfinite(ds["err_var"].values[:, 1, 1]).all()
    assert ds.attrs["min_corr"] == 0.2


def test_negative_covariance_product_gives_nan_rho_not_clipped():
    rng = np.random.default_rng(5)
    t, e1, e2 = (rng.standard_normal((400, 1, 1)) for _ in range(3))
    x, y = _da(t + e1, "x"), _da(t + e2, "y")
    z = _da(-e1 + 0.5 * e2, "z")  # cov(x,z) < 0 < cov(x,y), cov(y,z): one negative covariance
    ds = triple_collocation(x, y, z, min_corr=-1.0)
    assert bool(ds["mask"].all())
    assert np.isnan(ds["rho"].values).all()
    assert np.isfinite(ds["err_var"].values).all()


def test_nan_handling_counts_complete_triplets(backend):
    prods, _ = triplet(seed=6, nt=120, ny=2, nx=3)
    x, y, z = (p.copy() for p in prods)
    x.values[:10, 0, 0] = np.nan
    y.values[5:20, 0, 0] = np.nan  # union of gaps at (0, 0): 20 days
    z.values[:, 0, 1] = np.nan  # no triplet at (0, 1)
    x.values[25:, 0, 2] = np.nan  # 25 triplets at (0, 2) < min_n
    ds = triple_collocation(*backend([x, y, z]), min_n=30).compute()
    np.testing.assert_array_equal(ds["n"].values, [[100, 0, 25], [120, 120, 120]])
    np.testing.assert_array_equal(ds["mask"].values, [[True, False, False], [True, True, True]])
    assert np.isnan(ds["err_var"].values[:, 0, 1:]).all()
    ref = triple_collocation(*(a.isel(lat=[0], lon=[0], time=slice(20, None)) for a in prods))
    np.testing.assert_allclose(ds["err_var"].values[:, 0, 0], ref["err_var"].values[:, 0, 0], rtol=1e-12)


def test_all_nan_or_too_short_raises():
    prods, _ = triplet(nt=60, ny=2, nx=2)
    with pytest.raises(DataError, match="at most 0 complete"):
        triple_collocation(prods[0] * np.nan, prods[1], prods[2])
    with pytest.raises(DataError, match="at most 20 complete .* min_n=30"):
        triple_collocation(*(p.isel(time=slice(0, 20)) for p in prods))


def test_zero_variance_product_raises_naming_it():
    prods, _ = triplet(nt=60, ny=2, nx=2)
    flat = xr.full_like(prods[1], 0.2)
    with pytest.raises(DataError, match="product 'fy3c' has zero variance"):
        triple_collocation(prods[0], flat, prods[2])
    partly = prods[1].copy()
    partly.values[:, 0, 0] = 0.2  # one flat place is masked, not an error
    ds = triple_collocation(prods[0], partly, prods[2])
    assert not ds["mask"].values[0, 0] and ds["mask"].values.sum() == 3


def test_nothing_kept_raises():
    prods, _ = triplet(nt=100, ny=2, nx=2)
    rng = np.random.default_rng(1)
    noise = prods[2].copy(data=rng.standard_normal(prods[2].shape))
    with pytest.raises(DataError, match="kept no place.*min_corr=0.2"):
        triple_collocation(prods[0], prods[1], noise)


# ----------------------------------------------------------------------------- dims, coords, attrs
def test_output_layout_units_and_provenance():
    prods, _ = triplet(nt=80, ny=3, nx=4)
    before = [p.copy(deep=True) for p in prods]
    y = prods[1].transpose("lon", "time", "lat")  # dim order does not matter
    ds = triple_collocation(prods[0], y, prods[2])
    assert ds["err_var"].dims == ("product", "lat", "lon") and ds["rho"].dims == ("product", "lat", "lon")
    assert ds["n"].dims == ("lat", "lon") and ds["n"].dtype == np.int64 and ds["mask"].dtype == bool
    assert list(ds["product"].values) == list(NAMES)
    xr.testing.assert_identical(ds["lat"], prods[0]["lat"])  # coords and their attrs survive
    assert ds["err_var"].attrs["units"] == "m6 m-6" and ds["rho"].attrs["units"] == "1"
    assert {"long_name", "units"} <= set(ds["n"].attrs)
    assert ds.attrs["products"] == "nn, fy3c, geos5" and ds.attrs["n_boot"] == 0 and "sm_nb_version" in ds.attrs
    for b, p in zip(before, prods, strict=True):
        xr.testing.assert_identical(b, p)  # inputs untouched


def test_partial_time_overlap_and_tiny_coord_noise():
    prods, _ = triplet(nt=100, ny=2, nx=2)
    x = prods[0].isel(time=slice(10, None))
    z = prods[2].assign_coords(lat=prods[2]["lat"] + 1e-12)
    ds = triple_collocation(x, prods[1], z)
    assert (ds["n"] == 90).all()


def test_any_layout_single_series_and_extra_coords():
    prods, _ = triplet(nt=150, ny=3, nx=4)
    ref = triple_collocation(*prods)
    last = triple_collocation(*(p.transpose("lat", "lon", "time") for p in prods))
    xr.testing.assert_allclose(ref, last, rtol=1e-12)
    one = triple_collocation(*(p.isel(lat=1, lon=2, drop=True) for p in prods))
    assert one["err_var"].dims == ("product",)
    np.testing.assert_allclose(one["err_var"], ref["err_var"][:, 1, 2], rtol=1e-12)
    x = prods[0].assign_coords(band=1, elev=(("lat", "lon"), np.ones((3, 4))), doy=("time", np.arange(150)))
    ds = triple_collocation(x, prods[1].assign_coords(band=2), prods[2])
    assert set(ds.coords) == {"lat", "lon", "elev", "product"}  # per-input scalars and time coords dropped


@pytest.mark.parametrize(("change", "match"), [
    (lambda x: x.rename(None), r"name None; expected a non-empty str"),
    (lambda x: x.rename("fy3c"), r"repeat \['fy3c'\]"),
    (lambda x: x.assign_coords(lon=x["lon"] + 0.3125), r"coordinate 'lon' of 'fy3c' differs from 'nn'"),
    (lambda x: x.isel(lat=slice(0, 2)), r"dim 'lat' has 3 values in 'fy3c', 2 in 'nn'"),
    (lambda x: x.rename(time="day"), r"dimension 'time' does not exist in 'nn'; expected one of \('day', 'lat', 'lon'\)"),
    (lambda x: x.assign_coords(time=x["time"] + pd.Timedelta(days=1000)), r"no overlapping 'time' values"),
    (lambda x: x.assign_attrs(units="%"), r"units differ"),
    (lambda x: x.values, r"expected an xarray.DataArray"),
])
def test_bad_input_is_named(change, match):
    prods, _ = triplet(nt=40, ny=3, nx=2)
    with pytest.raises(DataError, match=match):
        triple_collocation(change(prods[0]), prods[1], prods[2])


def test_grid_error_names_the_coordinate():
    prods, _ = triplet(nt=40, ny=3, nx=2)
    shifted = prods[2].assign_coords(lon=prods[2]["lon"] + 0.3125)
    with pytest.raises(DataError, match=r"coordinate 'lon' of 'geos5' differs from 'nn' \(first at index 0"):
        triple_collocation(prods[0], prods[1], shifted)


@pytest.mark.parametrize("kwargs", [{"min_corr": 2}, {"min_corr": "0.2"}, {"min_n": 2}, {"n_boot": -1},
                                    {"n_boot": 1.5}])
def test_bad_parameters(kwargs):
    prods, _ = triplet(nt=40, ny=1, nx=1)
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        triple_collocation(*prods, **kwargs)


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_reproducible_and_shaped():
    prods, _ = triplet(nt=150, ny=2, nx=2)
    a = triple_collocation(*prods, n_boot=100, seed=7)
    b = triple_collocation(*prods, n_boot=100, seed=7)
    c = triple_collocation(*prods, n_boot=100, seed=8)
    xr.testing.assert_identical(a, b)
    assert not np.allclose(a["err_var_ci"], c["err_var_ci"])
    assert a["rho_ci"].dims == ("product", "quantile", "lat", "lon")
    np.testing.assert_array_equal(a["quantile"].values, CI_QUANTILES)
    lo, hi = a["rho_ci"].sel(quantile=0.025), a["rho_ci"].sel(quantile=0.975)
    assert bool(((lo <= a["rho"]) & (a["rho"] <= hi)).all())
    assert a.attrs["n_boot"] == 100 and a.attrs["seed"] == "7"


def test_bootstrap_interval_covers_the_truth():
    """95 % percentile intervals at 200 independent places: coverage ~0.95 (binomial sd 0.015)."""
    prods, _ = triplet(seed=9, nt=300, ny=10, nx=20)
    ds = triple_collocation(*prods, n_boot=400, seed=0)
    for var, true in (("err_var_ci", SIG_E**2), ("rho_ci", TRUE_RHO)):
        lo = ds[var].sel(quantile=0.025).values.reshape(3, -1)
        hi = ds[var].sel(quantile=0.975).values.reshape(3, -1)
        cover = ((lo <= true[:, None]) & (true[:, None] <= hi)).mean(axis=1)
        assert np.all(cover > 0.85), (var, cover)


# ----------------------------------------------------------------------------- dask
def test_dask_is_lazy_and_equals_numpy():
    prods, _ = triplet(nt=120, ny=4, nx=6)
    eager = triple_collocation(*prods, n_boot=50, seed=3)
    chunks = ({"time": 30, "lat": 2, "lon": 4}, {"lat": 1}, None)  # mixed chunks and a numpy input
    lazy = triple_collocation(*(p.chunk(c) if c else p for p, c in zip(prods, chunks, strict=True)),
                              n_boot=50, seed=3)
    assert lazy["err_var"].chunks is not None and lazy["err_var_ci"].chunks is not None
    xr.testing.assert_allclose(eager, lazy.compute(), rtol=1e-12)
    assert lazy.compute()["n"].dtype == np.int64


# ----------------------------------------------------------------------------- truth comparisons
def test_actual_errors_on_known_data(backend):
    prods, truth = triplet(seed=11, nt=400, ny=3, nx=3)
    truth = truth.copy()
    truth.values[:7, 1, 1] = np.nan  # joint gaps are dropped for every product
    ae = actual_errors(backend(prods), backend([truth])[0]).compute()
    assert ae["err_var"].dims == ("product", "lat", "lon") and list(ae["product"].values) == list(NAMES)
    assert ae["err_var"].attrs["units"] == "m6 m-6" and int(ae["n"][1, 1]) == 393
    for k, p in enumerate(prods):
        for j, i in ((0, 0), (1, 1), (2, 1)):
            pv, tv = p.values[:, j, i], truth.values[:, j, i]
            ok = np.isfinite(tv)
            slope, icpt = np.polyfit(tv[ok], pv[ok], 1)
            resid_var = np.var(pv[ok] - (icpt + slope * tv[ok]), ddof=1)
            assert ae["err_var"].values[k, j, i] == pytest.approx(resid_var, rel=1e-9)
            assert ae["rho"].values[k, j, i] == pytest.approx(np.corrcoef(pv[ok], tv[ok])[0, 1], rel=1e-12)
    # and it matches the chosen errors to sampling precision (sqrt(2/T) relative for a variance)
    ev = ae["err_var"].values.reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(ev, SIG_E**2, rtol=4 * np.sqrt(2 / 400) / 3)


def test_truth_functions_bad_input():
    prods, truth = triplet(nt=60, ny=2, nx=2)
    with pytest.raises(DataError, match="is the truth constant"):
        actual_errors(prods, xr.full_like(truth, 0.2))
    with pytest.raises(DataError, match="at least two products"):
        error_cross_correlation(prods[:1], truth)
    with pytest.raises(DataError, match="list of named DataArrays"):
        actual_errors(prods[0], truth)


def test_tc_estimates_agree_with_actual_errors():
    """With independent errors TC is unbiased for the truth-measured values: the mean over 100
    places of (TC - actual) is within 4 standard errors (from its own spread) of zero."""
    prods, truth = triplet(seed=12, nt=500, ny=10, nx=10)
    tc, ae = triple_collocation(*prods), actual_errors(prods, truth)
    for var in ("err_var", "rho"):
        diff = (tc[var] - ae[var]).values.reshape(3, -1)
        np.testing.assert_array_less(np.abs(diff.mean(axis=1)), 4 * diff.std(axis=1, ddof=1) / np.sqrt(100))


def test_error_cross_correlation(backend):
    rng = np.random.default_rng(13)
    nt = 2000
    t = rng.standard_normal((nt, 2, 2))
    shared = rng.standard_normal(t.shape)
    a = _da(t + 0.6 * shared + 0.8 * rng.standard_normal(t.shape), "a")  # error sd 1, 0.36 shared
    b = _da(2 * t + 0.6 * shared + 0.8 * rng.standard_normal(t.shape), "b")
    c = _da(t + rng.standard_normal(t.shape), "c")
    ec = error_cross_correlation(backend([a, b, c]), backend([_da(t, "truth")])[0]).compute()
    assert list(ec["pair"].values) == ["a/b", "a/c", "b/c"] and list(ec["product_2"].values) == ["b", "c", "c"]
    tol = 4 / np.sqrt(nt)  # sd of a sample correlation near 0.36 is < 1/sqrt(n)
    np.testing.assert_allclose(ec["err_corr"].sel(pair="a/b").values, 0.36, atol=tol)
    np.testing.assert_allclose(ec["err_corr"].sel(pair=["a/c", "b/c"]).values, 0.0, atol=tol)
    assert ec["err_corr"].attrs["units"] == "1" and (ec["n"] == nt).all()


def test_tc_summary_matches_matplotlib_boxplot_stats():
    cbook = pytest.importorskip("matplotlib.cbook")
    prods, _ = triplet(seed=14, nt=100, ny=8, nx=9)
    ds = triple_collocation(*prods)
    ds["rho"][0, 0, :3] = [0.1, 0.2, np.nan]  # outliers and a masked place
    table = tc_summary(ds)
    assert list(table.columns[:2]) == ["product", "metric"] and len(table) == 6
    row = table.set_index(["product", "metric"]).loc[("nn", "rho")]
    v = ds["rho"].sel(product="nn").values.ravel()
    ref = cbook.boxplot_stats(v[np.isfinite(v)])[0]
    for ours, theirs in (("median", "med"), ("q1", "q1"), ("q3", "q3"), ("whisker_low", "whislo"),
                         ("whisker_high", "whishi")):
        assert row[ours] == pytest.approx(ref[theirs], rel=1e-12)
    assert row["n_places"] == 71 and row["n_outliers"] == len(ref["fliers"]) and row["units"] == "1"
    with pytest.raises(DataError, match=r"metric\(s\) \['snr'\]"):
        tc_summary(ds, metrics=["snr"])
