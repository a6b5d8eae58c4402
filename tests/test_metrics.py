"""The paper's quality index (§2.2.2) and station statistics against scipy, pytesmo and known answers.

Every test runs on numpy and on dask-backed arrays (``backend`` fixture). Random data are seeded;
tolerances are float64 round-off (1e-10) because the same formulas are compared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from sm_nb import metrics as M
from sm_nb.exceptions import ConfigError, DataError

NT, NY, NX = 40, 5, 6


@pytest.fixture(params=["numpy", "dask"])
def backend(request):
    return request.param


def _cube(values, backend="numpy", name="sm", units="m3 m-3") -> xr.DataArray:
    da = xr.DataArray(
        values, dims=("time", "lat", "lon"), name=name, attrs={"units": units},
        coords={"time": pd.date_range("2017-06-01", periods=values.shape[0]),
                "lat": 36.0 + 0.25 * np.arange(values.shape[1]), "lon": 98.0 + 0.3125 * np.arange(values.shape[2])},
    )
    return da.chunk({"time": 7, "lat": 2}) if backend == "dask" else da


def _random_pair(seed=0, gap=0.2):
    rng = np.random.default_rng(seed)
    ref = rng.uniform(0.05, 0.4, (NT, NY, NX))
    pred = 0.6 * ref + rng.normal(0, 0.05, ref.shape) + 0.02
    pred[rng.random(ref.shape) < gap] = np.nan
    ref[rng.random(ref.shape) < gap] = np.nan
    return pred, ref


# ---------------------------------------------------------------------------------------------
# pearson_with_p against scipy
# ---------------------------------------------------------------------------------------------
def test_pearson_with_p_matches_scipy_per_pixel_and_per_day(backend):
    pred, ref = _random_pair(1)
    out_t = M.pearson_with_p(_cube(pred, backend), _cube(ref, backend), "time").compute()
    out_s = M.pearson_with_p(_cube(pred, backend), _cube(ref, backend), ("lat", "lon")).compute()
    for j in range(NY):
        for i in range(NX):
            ok = np.isfinite(pred[:, j, i]) & np.isfinite(ref[:, j, i])
            r, p = stats.pearsonr(pred[ok, j, i], ref[ok, j, i])
            assert out_t["r"].values[j, i] == pytest.approx(r, abs=1e-10)
            assert out_t["p"].values[j, i] == pytest.approx(p, rel=1e-8, abs=1e-14)
            assert out_t["n"].values[j, i] == ok.sum()
    for t in range(NT):
        a, b = pred[t].ravel(), ref[t].ravel()
        ok = np.isfinite(a) & np.isfinite(b)
        r, p = stats.pearsonr(a[ok], b[ok])
        assert out_s["r"].values[t] == pytest.approx(r, abs=1e-10)
        assert out_s["p"].values[t] == pytest.approx(p, rel=1e-8, abs=1e-14)
    assert out_t["r"].dims == ("lat", "lon") and out_s["r"].dims == ("time",)


def test_pearson_constant_series_and_min_n():
    x = xr.DataArray([1.0, 1.0, 1.0, 1.0], dims="time")
    y = xr.DataArray([1.0, 2.0, 3.0, 4.0], dims="time")
    assert np.isnan(M.pearson_with_p(x, y, "time")["r"].item())
    short = M.pearson_with_p(y[:2], y[:2], "time")
    assert np.isnan(short["r"].item()) and short["n"].item() == 2
    perfect = M.pearson_with_p(y, 2 * y + 1, "time")
    assert perfect["r"].item() == pytest.approx(1.0) and perfect["p"].item() == 0.0


# ---------------------------------------------------------------------------------------------
# quality_index
# ---------------------------------------------------------------------------------------------
def test_quality_index_known_answers(backend):
    _, ref = _random_pair(2)
    same = M.quality_index(_cube(ref, backend), _cube(ref, backend)).compute()
    assert same["rho_spatial"].item() == pytest.approx(1.0)
    assert same["rho_temporal"].item() == pytest.approx(1.0)
    assert same["rmse"].item() == 0.0 and same["mae"].item() == 0.0
    shifted = M.quality_index(_cube(ref + 0.03, backend), _cube(ref, backend)).compute()
    assert shifted["rmse"].item() == pytest.approx(0.03, abs=1e-12)
    assert shifted["mae"].item() == pytest.approx(0.03, abs=1e-12)
    assert shifted["rho_temporal"].item() == pytest.approx(1.0)
    assert shifted["rmse"].attrs["units"] == "m3 m-3" and shifted["rho_spatial"].attrs["units"] == "1"
    n_valid = np.isfinite(ref).sum()
    assert shifted["n_pairs"].item() == n_valid and shifted["n_pixels"].item() == NY * NX


def test_quality_index_matches_loops(backend):
    pred, ref = _random_pair(3, gap=0.3)
    qi = M.quality_index(_cube(pred, backend), _cube(ref, backend)).compute()
    r_days = []
    for t in range(NT):
        a, b = pred[t].ravel(), ref[t].ravel()
        ok = np.isfinite(a) & np.isfinite(b)
        r, p = stats.pearsonr(a[ok], b[ok])
        if p < 0.05:
            r_days.append(r)
    rmse, mae, rt = [], [], []
    for j in range(NY):
        for i in range(NX):
            ok = np.isfinite(pred[:, j, i]) & np.isfinite(ref[:, j, i])
            d = pred[ok, j, i] - ref[ok, j, i]
            rmse.append(np.sqrt(np.mean(d**2)))
            mae.append(np.mean(np.abs(d)))
            rt.append(stats.pearsonr(pred[ok, j, i], ref[ok, j, i])[0])
    assert qi["rho_spatial"].item() == pytest.approx(np.mean(r_days), abs=1e-10)
    assert qi["n_days_significant"].item() == len(r_days)
    assert qi["rho_temporal"].item() == pytest.approx(np.mean(rt), abs=1e-10)
    assert qi["rmse"].item() == pytest.approx(np.mean(rmse), abs=1e-12)
    assert qi["mae"].item() == pytest.approx(np.mean(mae), abs=1e-12)
    assert qi["rho_temporal_map"].dims == ("lat", "lon") and qi["rho_spatial_daily"].dims == ("time",)


def test_three_pixel_rule(backend):
    pred, ref = _random_pair(4, gap=0.0)
    pred[5] = np.nan
    pred[5, 0, :2] = ref[5, 0, :2]  # day 5: only 2 valid pixels
    pred[6] = np.nan
    pred[6, 0, :3] = ref[6, 0, :3] + [0.0, 0.01, 0.03]  # day 6: 3 valid pixels
    qi = M.quality_index(_cube(pred, backend), _cube(ref, backend)).compute()
    assert np.isnan(qi["rho_spatial_daily"].values[5]) and qi["n_pixels_daily"].values[5] == 2
    assert np.isfinite(qi["rho_spatial_daily"].values[6])
    assert qi["n_days"].item() == NT - 1


def test_ten_pair_rule(backend):
    pred, ref = _random_pair(5, gap=0.0)
    pred[9:, 0, 0] = np.nan  # 9 pairs → dropped
    pred[10:, 0, 1] = np.nan  # 10 pairs → kept
    qi = M.quality_index(_cube(pred, backend), _cube(ref, backend)).compute()
    for v in ("rho_temporal_map", "rmse_map", "mae_map"):
        assert np.isnan(qi[v].values[0, 0]) and np.isfinite(qi[v].values[0, 1])
    assert qi["n_pairs_map"].values[0, 0] == 9 and qi["n_pixels"].item() == NY * NX - 1
    assert qi["n_pairs"].item() == NT * (NY * NX - 2) + 10
    assert qi["rmse"].item() == pytest.approx(np.nanmean(qi["rmse_map"].values))


def test_significance_filter_drops_a_day_of_pure_noise(backend):
    rng = np.random.default_rng(6)
    ref = rng.uniform(0.05, 0.4, (NT, NY, NX))
    pred = ref + rng.normal(0, 0.01, ref.shape)  # every day strongly correlated
    # day 0: pred orthogonal to ref (r = 0 exactly, p = 1) — pure noise for the spatial r
    a = np.tile([1.0, -1.0], NY * NX // 2)
    b = np.tile([1.0, 1.0, -1.0, -1.0], NY * NX // 4 + 1)[: NY * NX]
    b = b - b.mean()
    b -= (b @ a) / (a @ a) * a
    ref[0] = (0.2 + 0.05 * a).reshape(NY, NX)
    pred[0] = (0.2 + 0.05 * b).reshape(NY, NX)
    qi = M.quality_index(_cube(pred, backend), _cube(ref, backend)).compute()
    daily = qi["rho_spatial_daily"].values
    assert abs(daily[0]) < 1e-12 and qi["p_spatial_daily"].values[0] > 0.99
    assert qi["n_days_significant"].item() == NT - 1 and qi["n_days"].item() == NT
    assert qi["rho_spatial"].item() == pytest.approx(daily[1:].mean(), abs=1e-12)
    assert qi["rho_spatial"].item() > daily.mean()  # the noise day would have lowered it


def test_quality_index_does_not_modify_inputs():
    pred, ref = _random_pair(7)
    p, r = _cube(pred.copy()), _cube(ref.copy())
    M.quality_index(p, r)
    np.testing.assert_array_equal(p.values, pred)
    np.testing.assert_array_equal(r.values, ref)
    assert p.attrs == {"units": "m3 m-3"}


def test_quality_index_errors():
    pred, ref = _random_pair(8)
    p, r = _cube(pred), _cube(ref)
    with pytest.raises(DataError, match="expected the same units"):
        M.quality_index(p, r.assign_attrs(units="%"))
    with pytest.raises(DataError, match="expected the same dims"):
        M.quality_index(p.isel(lon=0), r)
    with pytest.raises(DataError, match=r"Dimensions \['day'\] do not exist"):
        M.quality_index(p, r, dim_time="day")
    with pytest.raises(DataError, match="coordinates of pred and ref differ"):
        M.quality_index(p, r.assign_coords(lat=r["lat"] + 0.1))
    with pytest.raises(DataError, match="expected spatial dims"):
        M.quality_index(p.isel(lat=0, lon=0), r.isel(lat=0, lon=0))
    with pytest.raises(ConfigError, match="alpha"):
        M.quality_index(p, r, alpha=5)
    with pytest.raises(ConfigError, match="min_pairs is 2"):
        M.quality_index(p, r, min_pairs=2)
    with pytest.raises(DataError, match="expected an xarray DataArray"):
        M.pearson_with_p(pred, r, "time")


def test_quality_table():
    pred, ref = _random_pair(9)
    qi = M.quality_index(_cube(pred), _cube(ref))
    table = M.quality_table({"A": qi, "B": qi})
    assert list(table.columns) == list(M.QUALITY_SCALARS) and list(table.index) == ["A", "B"]
    assert table["n_days"].dtype == np.int64
    with pytest.raises(DataError, match="lacks"):
        M.quality_table({"A": qi[["rmse"]]})


# ---------------------------------------------------------------------------------------------
# stations
# ---------------------------------------------------------------------------------------------
def _stations(values, backend="numpy", units="m3 m-3"):
    da = xr.DataArray(values, dims=("station", "time"), attrs={"units": units},
                      coords={"station": ["Delingha", "Dulan", "Golmud"],
                              "time": pd.date_range("2017-06-01", periods=values.shape[1])})
    return da.chunk({"time": 20}) if backend == "dask" else da


def test_station_stats_known_answers_and_min_n(backend):
    rng = np.random.default_rng(10)
    obs = rng.uniform(0.05, 0.3, (3, 60))
    pred = obs + 0.02
    pred[2, 25:] = np.nan  # Golmud: 25 pairs < 30
    st = M.station_stats(_stations(pred, backend), _stations(obs, backend)).compute()
    np.testing.assert_allclose(st["bias"].values[:2], 0.02, atol=1e-12)
    np.testing.assert_allclose(st["rmse"].values[:2], 0.02, atol=1e-12)
    np.testing.assert_allclose(st["ubrmse"].values[:2], 0.0, atol=1e-12)
    np.testing.assert_allclose(st["r"].values[:2], 1.0)
    assert st["n"].values.tolist() == [60, 60, 25]
    assert all(np.isnan(st[v].values[2]) for v in ("r", "p", "bias", "rmse", "ubrmse"))
    assert st["bias"].attrs["units"] == "m3 m-3" and st["r"].dims == ("station",)


# ---------------------------------------------------------------------------------------------
# pytesmo cross-check (optional dependency of the test extras)
# ---------------------------------------------------------------------------------------------
def test_against_pytesmo(backend):
    pm = pytest.importorskip("pytesmo.metrics")
    pred, ref = _random_pair(11, gap=0.25)
    qi = M.quality_index(_cube(pred, backend), _cube(ref, backend)).compute()
    for j in range(NY):
        for i in range(NX):
            ok = np.isfinite(pred[:, j, i]) & np.isfinite(ref[:, j, i])
            x, y = pred[ok, j, i], ref[ok, j, i]
            assert qi["rho_temporal_map"].values[j, i] == pytest.approx(pm.pearson_r(x, y), abs=1e-10)
            assert qi["rmse_map"].values[j, i] == pytest.approx(pm.rmsd(x, y), abs=1e-12)
            assert qi["mae_map"].values[j, i] == pytest.approx(pm.aad(x, y), abs=1e-12)
    rng = np.random.default_rng(12)
    obs = rng.uniform(0.05, 0.3, (3, 80))
    prd = 0.8 * obs + rng.normal(0, 0.03, obs.shape) + 0.01
    prd[rng.random(obs.shape) < 0.2] = np.nan
    st = M.station_stats(_stations(prd, backend), _stations(obs, backend)).compute()
    for s in range(3):
        ok = np.isfinite(prd[s])
        x, y = prd[s, ok], obs[s, ok]
        assert st["bias"].values[s] == pytest.approx(pm.bias(x, y), abs=1e-12)
        assert st["rmse"].values[s] == pytest.approx(pm.rmsd(x, y), abs=1e-12)
        assert st["ubrmse"].values[s] == pytest.approx(pm.ubrmsd(x, y), abs=1e-12)
        assert st["r"].values[s] == pytest.approx(pm.pearson_r(x, y), abs=1e-10)
