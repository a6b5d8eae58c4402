"""Preprocessing: regridding against analytic fields, the paper's indices, the input registry,
input cubes and feature tables (unit tests on small arrays; integration on the ``mini`` scenario)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sm_nb import preprocess as P
from sm_nb import resample as R
from sm_nb.config import get_config
from sm_nb.exceptions import ConfigError, DataError
from sm_nb.grids import EARTH_RADIUS_M as R_EARTH_M
from sm_nb.grids import Grid, coarse_grid, ease2_grid, fine_grid
from sm_nb.resample import block_mean, block_repeat

MINI = get_config("mini")
COARSE = coarse_grid(MINI)  # 4 × 5 cells
FINE = fine_grid(MINI)  # 32 × 50 pixels, 8 × 10 per coarse cell


@pytest.fixture(params=["numpy", "dask"])
def backend(request):
    """Run a test on in-memory and on dask-backed arrays."""
    return request.param


def _as(da: xr.DataArray, backend: str) -> xr.DataArray:
    return da.chunk({"time": 1}) if backend == "dask" and "time" in da.dims else da


def _field(grid_lat, grid_lon, func, nt=2, units="K", name="f") -> xr.DataArray:
    lat2, lon2 = np.meshgrid(grid_lat, grid_lon, indexing="ij")
    data = np.stack([func(lat2, lon2) + k for k in range(nt)])
    return xr.DataArray(data, dims=("time", "lat", "lon"), name=name, attrs={"units": units},
                        coords={"time": pd.date_range("2017-06-01", periods=nt), "lat": grid_lat, "lon": grid_lon})


def _linear(lat, lon):
    return 200.0 + 3.0 * (lat - 36) - 2.0 * (lon - 98)


# ---------------------------------------------------------------------------------------------
# regridding
# ---------------------------------------------------------------------------------------------
def test_bilinear_of_linear_field_is_exact_on_ease2_rows(backend):
    src = ease2_grid(MINI, "M36")  # irregular EASE-Grid 2.0 rows
    da = _as(_field(src.lat, src.lon, _linear), backend)
    out = R.bilinear(da, COARSE)
    lat2, lon2 = COARSE.mesh()
    expect = np.stack([_linear(lat2, lon2) + k for k in range(2)])
    np.testing.assert_allclose(out.values, expect, atol=1e-9)
    assert out.dims == ("time", "lat", "lon") and out.attrs["units"] == "K"
    assert out["lat"].attrs["units"] == "degrees_north"
    assert "bilinear" in out.attrs["regrid_method"]


def test_bilinear_nan_in_stencil_gives_nan_and_nowhere_else():
    src = Grid("src", np.arange(35.0, 38.01, 0.25), np.arange(97.0, 100.01, 0.25), 0.25, 0.25)
    da = _field(src.lat, src.lon, _linear, nt=1)
    i, j = 6, 5  # lat 36.5, lon 98.25
    da[0, i, j] = np.nan
    out = R.bilinear(da, COARSE).values[0]
    lat2, lon2 = COARSE.mesh()
    # stencil = source rows/cols i0 and i0 + 1 with src[i0] < target <= src[i0 + 1]; a target on a
    # source row (every coarse lat here) keeps the previous row in its stencil with zero weight
    i0 = np.searchsorted(src.lat, lat2, side="left") - 1
    j0 = np.searchsorted(src.lon, lon2, side="left") - 1
    touch = np.isin(i0, [i - 1, i]) & np.isin(j0, [j - 1, j])
    assert touch.any() and (~touch).any()
    assert np.isnan(out[touch]).all()
    np.testing.assert_allclose(out[~touch], _linear(lat2, lon2)[~touch], atol=1e-9)


def test_bilinear_outside_source_is_nan():
    src = Grid("src", np.arange(36.0, 36.8, 0.25), np.arange(97.5, 99.5, 0.25), 0.25, 0.25)
    out = R.bilinear(_field(src.lat, src.lon, _linear, nt=1), COARSE).values[0]
    assert np.isnan(out[COARSE.lat > src.lat[-1]]).all() and np.isfinite(out[COARSE.lat < src.lat[-1]]).all()


def test_idw_of_constant_is_constant_with_gaps(backend):
    src = ease2_grid(MINI, "M25")
    da = _field(src.lat, src.lon, lambda a, b: np.full(a.shape, 7.5), nt=3)
    rng = np.random.default_rng(1)
    da = da.where(rng.random(da.shape) > 0.3)  # 30 % gaps
    out = R.idw(_as(da, backend), COARSE, k=8, radius_km=40)
    vals = out.values - np.arange(3)[:, None, None]  # _field adds the time index
    finite = np.isfinite(vals)
    assert finite.mean() > 0.9
    np.testing.assert_allclose(vals[finite], 7.5, rtol=1e-12)
    assert out.attrs["units"] == "K" and "idw" in out.attrs["regrid_method"]


def test_idw_weights_inverse_square_distance_and_nan_rules():
    dst = Grid("dst", np.array([36.0]), np.array([98.0]), None, None)
    src_lat, src_lon = np.array([36.0]), np.array([97.9, 98.1, 98.3])  # d, d, 3d
    da = xr.DataArray([[[1.0, 3.0, 10.0]], [[np.nan, 3.0, 10.0]], [[np.nan, np.nan, np.nan]]],
                      dims=("time", "lat", "lon"), coords={"lat": src_lat, "lon": src_lon})
    rg = R.IDWRegridder(src_lat, src_lon, dst, k=3, radius_km=100)
    out = rg(da).values[:, 0, 0]
    w = np.array([1.0, 1.0, 1 / 9])
    assert out[0] == pytest.approx((w * [1, 3, 10]).sum() / w.sum(), rel=1e-6)
    assert out[1] == pytest.approx((w[1:] * [3, 10]).sum() / w[1:].sum(), rel=1e-6)  # NaN neighbour dropped
    assert np.isnan(out[2])  # no valid neighbour
    assert "k=3" in repr(rg)
    far = R.IDWRegridder(src_lat, src_lon, dst, k=3, radius_km=5)  # nothing within 5 km
    assert np.isnan(far(da).values).all()


def test_area_mean_equals_block_mean_and_min_valid_fraction(backend):
    rng = np.random.default_rng(2)
    da = _field(FINE.lat, FINE.lon, lambda a, b: rng.normal(size=a.shape), nt=2, units="m3 m-3")
    out = R.area_mean(_as(da, backend), COARSE)
    np.testing.assert_allclose(out.values, block_mean(da.values, 8, 10), rtol=1e-12)
    np.testing.assert_allclose(out["lat"].values, COARSE.lat)
    # gaps: 30 of 80 pixels missing in cell (0, 0), 60 of 80 in cell (0, 1)
    gap = da.copy()
    gap[:, :3, :10] = np.nan
    gap[:, :6, 10:20] = np.nan
    strict = R.area_mean(_as(gap, backend), COARSE).values
    half = R.area_mean(_as(gap, backend), COARSE, min_valid_fraction=0.5).values
    assert np.isnan(strict[:, 0, :2]).all() and np.isfinite(strict[:, 1:, :]).all()
    np.testing.assert_allclose(half[:, 0, 0], np.nanmean(gap.values[:, :8, :10], axis=(1, 2)), rtol=1e-12)
    assert np.isnan(half[:, 0, 1]).all()  # 25 % valid < 50 %


def test_area_mean_cldas_nests_4_by_5():
    from sm_nb.grids import cldas_grid

    g = cldas_grid(MINI)
    da = _field(g.lat, g.lon, _linear, nt=1)
    out = R.area_mean(da, COARSE)
    np.testing.assert_allclose(out.values, block_mean(da.values, 4, 5), rtol=1e-12)


def test_area_mean_rejects_grids_that_do_not_nest():
    da = _field(FINE.lat[1:], FINE.lon, _linear, nt=1)
    with pytest.raises(DataError, match="does not nest exactly"):
        R.area_mean(da, COARSE)
    with pytest.raises(ConfigError, match="min_valid_fraction"):
        R.area_mean(_field(FINE.lat, FINE.lon, _linear, nt=1), COARSE, min_valid_fraction=1.5)


def test_replicate_preserves_values_and_coarse_mean(backend):
    rng = np.random.default_rng(3)
    c = _field(COARSE.lat, COARSE.lon, lambda a, b: rng.normal(size=a.shape), nt=2)
    f = R.replicate(_as(c, backend), FINE)
    assert f.sizes == {"time": 2, "lat": FINE.shape[0], "lon": FINE.shape[1]}
    np.testing.assert_array_equal(f.values, block_repeat(c.values, 8, 10))
    np.testing.assert_allclose(R.area_mean(f, COARSE).values, c.values, rtol=1e-12)
    assert set(np.unique(f.values)) == set(np.unique(c.values))


def test_to_coarse_dispatch_dataset_and_errors():
    ds = xr.Dataset({"sm": _field(FINE.lat, FINE.lon, _linear, nt=1, units="m3 m-3"),
                     "flag": (("time", "lat", "lon"), np.zeros((1, *FINE.shape), np.uint8))})
    out = R.to_coarse(ds, "mean", COARSE)
    assert list(out.data_vars) == ["sm"] and out.attrs["regrid_dropped"] == "flag"
    assert out["sm"].attrs["units"] == "m3 m-3"
    with pytest.raises(ConfigError, match="expected one of.*bilinear.*idw.*mean"):
        R.to_coarse(ds, "cubic", COARSE)
    with pytest.raises(DataError, match="floating-point"):
        R.to_coarse(ds["flag"], "mean", COARSE)
    with pytest.raises(DataError, match="lacks dimension"):
        R.bilinear(ds["sm"].rename(lat="y"), COARSE)
    assert R.REGRID_METHOD["smap_tb"] == "bilinear" and R.REGRID_METHOD["fy3c_tb"] == "idw"
    assert R.REGRID_METHOD["cldas_sm"] == "mean"


# ---------------------------------------------------------------------------------------------
# indices
# ---------------------------------------------------------------------------------------------
def test_mpdi_known_values_and_units():
    tbv = xr.DataArray([250.0, 280.0, np.nan], dims="x", attrs={"units": "K"})
    tbh = xr.DataArray([200.0, 280.0, 200.0], dims="x", attrs={"units": "K"})
    out = P.mpdi(tbv, tbh)
    np.testing.assert_allclose(out.values, [50 / 450, 0.0, np.nan])
    assert out.attrs["units"] == "1"
    with pytest.raises(DataError, match="expected 'K'"):
        P.mpdi(tbv.assign_attrs(units="degC"), tbh)


def test_bti_range_and_extremes_per_pixel(backend):
    rng = np.random.default_rng(4)
    s = _field(COARSE.lat, COARSE.lon, lambda a, b: rng.normal(-12, 2, a.shape), nt=1)
    s = xr.concat([s + rng.normal(0, 1.5, s.shape) for _ in range(30)], "time")
    s["time"] = pd.date_range("2017-06-01", periods=30)
    s = s.where(rng.random(s.shape) > 0.2)
    s[:, 0, 0] = -10.0  # constant series → NaN
    out = P.bti(_as(s, backend)).compute()
    v = out.values
    assert np.nanmin(v) == 0.0 and np.nanmax(v) == 1.0
    ok = np.ones(COARSE.shape, bool)
    ok[0, 0] = False
    np.testing.assert_allclose(np.nanmin(v[:, ok], axis=0), 0.0)
    np.testing.assert_allclose(np.nanmax(v[:, ok], axis=0), 1.0)
    assert np.isnan(v[:, 0, 0]).all()
    np.testing.assert_array_equal(np.isnan(v[:, ok]), np.isnan(s.values[:, ok]))
    known = P.bti(xr.DataArray([-15.0, -10.0, -12.5, np.nan], dims="time"))
    np.testing.assert_allclose(known.values, [0.0, 1.0, 0.5, np.nan])
    with pytest.raises(DataError, match="'day' does not exist"):
        P.bti(s, dim="day")


def test_slope_uses_metric_spacing():
    lat, lon = FINE.lat, FINE.lon
    lat2, _ = FINE.mesh()
    grade = 0.1  # 10 % northward rise in metres per metre
    z = xr.DataArray(grade * R_EARTH_M * np.deg2rad(lat2 - lat[0]), dims=("lat", "lon"),
                     coords={"lat": lat, "lon": lon}, attrs={"units": "m"})
    s = P.slope(z)
    assert s.attrs["units"] == "degree"
    np.testing.assert_allclose(s.values, np.degrees(np.arctan(grade)), rtol=1e-4)
    with pytest.raises(DataError, match="expected \\('lat', 'lon'\\)"):
        P.slope(z.expand_dims(time=1))


def test_nsdsi_variants_and_invalid_reflectance():
    b6 = xr.DataArray([0.30, 0.20, 0.0], dims="x")
    b7 = xr.DataArray([0.20, 0.10, 0.1], dims="x")
    np.testing.assert_allclose(P.nsdsi(b6, b7).values, [1 / 3, 0.5, np.nan], rtol=1e-6)
    np.testing.assert_allclose(P.nsdsi(b6, b7, 2).values, [0.5, 1.0, np.nan], rtol=1e-6)
    np.testing.assert_allclose(P.nsdsi(b6, b7, 3).values, [0.2, 1 / 3, np.nan], rtol=1e-6)
    with pytest.raises(ConfigError, match="expected 1, 2 or 3"):
        P.nsdsi(b6, b7, 4)


def test_composite_to_daily_fills_window_only():
    comp = xr.DataArray([1.0, 2.0], dims="time", coords={"time": pd.to_datetime(["2017-06-01", "2017-06-17"])})
    days = pd.date_range("2017-05-30", "2017-07-05")
    out = P.composite_to_daily(comp, days, 16).to_series()
    assert out[:"2017-05-31"].isna().all()
    assert (out["2017-06-01":"2017-06-16"] == 1).all() and (out["2017-06-17":"2017-07-02"] == 2).all()
    assert out["2017-07-03":].isna().all()


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------
def test_registry_names_and_aliases():
    names = P.valid_inputs()
    for n in ("SMAP_TBV_A", "SMAP_MPDI_D", "AMSR2_6.9_TBH_D", "AMSR2_7.3_MPDI_A", "AMSR2_10.7_TBV_A",
              "FY3C_10.7_TBH_A", "ASCAT_SIGMA40_D", "ASCAT_BTI_A", "NDVI", "EVI", "LST", "LST_NIGHT",
              "NSDSI", "DEM", "SLOPE"):
        assert n in names
    specs = P.resolve_inputs(["smap_tbv_a", "AMSR2_TBH_D", "bti", "fy3c_tbh_a", "Amsr2_10.65_mpdi_d"])
    assert [s.name for s in specs.values()] == ["SMAP_TBV_A", "AMSR2_10.7_TBH_D", "ASCAT_BTI_A",
                                                 "FY3C_10.7_TBH_A", "AMSR2_10.7_MPDI_D"]
    assert list(specs) == ["SMAP_TBV_A", "AMSR2_TBH_D", "BTI", "FY3C_TBH_A", "AMSR2_10.65_MPDI_D"]
    assert specs["AMSR2_TBH_D"].frequency == 10.65 and specs["AMSR2_TBH_D"].orbit == "desc"


def test_unknown_and_duplicate_names():
    with pytest.raises(ConfigError, match=r"unknown input name\(s\) \['SMAP_TBX_A'\]; expected one of .*SMAP_TBV_A"):
        P.resolve_inputs(["SMAP_TBV_A", "SMAP_TBX_A"])
    with pytest.raises(ConfigError, match="both denote 'AMSR2_10.7_TBH_D'"):
        P.resolve_inputs(["AMSR2_TBH_D", "AMSR2_10.7_TBH_D"])
    with pytest.raises(ConfigError, match="names is empty"):
        P.resolve_inputs([])
    with pytest.raises(ConfigError, match="grid is 'medium'"):
        P.build_inputs(["DEM"], {}, None, grid="medium")


# ---------------------------------------------------------------------------------------------
# feature tables (synthetic)
# ---------------------------------------------------------------------------------------------
def _cube(values, name, units="1"):
    return xr.DataArray(values, dims=("time", "lat", "lon"), name=name, attrs={"units": units},
                        coords={"time": pd.date_range("2017-06-01", periods=values.shape[0]),
                                "lat": COARSE.lat, "lon": COARSE.lon})


def test_stack_features_counts_add_up_and_unstack_roundtrips():
    rng = np.random.default_rng(5)
    shape = (6, *COARSE.shape)
    a, b, y = (rng.normal(size=shape) for _ in range(3))
    a[rng.random(shape) < 0.3] = np.nan
    b[rng.random(shape) < 0.2] = np.nan
    y[rng.random(shape) < 0.1] = np.nan
    ds = xr.Dataset({"A": _cube(a, "A", "K"), "B": _cube(b, "B")})
    ft = P.stack_features(ds, _cube(y, "cldas_sm", "m3 m-3"))
    c = ft.counts
    assert ft.n_candidates == a.size == ft.summary["kept"] + c["dropped"].sum()
    assert c.loc["A", "missing"] == np.isnan(a).sum() and c.loc["A", "dropped"] == np.isnan(a).sum()
    assert c.loc["cldas_sm", "dropped"] == (np.isfinite(a) & np.isfinite(b) & np.isnan(y)).sum()
    assert c.loc["cldas_sm", "role"] == "target" and c["remaining"].iloc[-1] == ft.n_samples
    assert ft.X.dims == ("sample", "feature") and ft.y.dims == ("sample",)
    assert list(ft.X["feature"].values) == ["A", "B"] and list(ft.X["feature_units"].values) == ["K", "1"]
    assert np.isfinite(ft.X.values).all() and np.isfinite(ft.y.values).all()
    back = ft.unstack(ft.X.sel(feature="A").values)
    keep = np.isfinite(a) & np.isfinite(b) & np.isfinite(y)
    np.testing.assert_array_equal(back.values[keep], a[keep])
    assert np.isnan(back.values[~keep]).all() and back.dims == ("time", "lat", "lon")
    assert back.attrs["units"] == "m3 m-3"
    # the sample labels survive: the MultiIndex points at the same cells
    first = ft.X.isel(sample=0)
    assert float(ds["A"].sel(time=first["time"], lat=first["lat"], lon=first["lon"])) == float(first.sel(feature="A"))
    with pytest.raises(DataError, match="one value per sample"):
        ft.unstack(np.zeros(3))
    assert "samples × 2 features" in repr(ft)


def test_stack_features_errors():
    shape = (3, *COARSE.shape)
    ds = xr.Dataset({"A": _cube(np.ones(shape), "A"), "B": _cube(np.full(shape, np.nan), "B")})
    with pytest.raises(DataError, match=r"no sample has all of the inputs \['A', 'B'\]"):
        P.stack_features(ds)
    other = _cube(np.ones(shape), "cldas_sm").isel(lat=slice(1, None))
    with pytest.raises(DataError, match="grid"):
        P.stack_features(ds[["A"]], other)
    with pytest.raises(DataError, match="expected \\('time', 'lat', 'lon'\\)"):
        P.stack_features(xr.Dataset({"A": ds["A"].isel(time=0)}))


# ---------------------------------------------------------------------------------------------
# the mini scenario
# ---------------------------------------------------------------------------------------------
NAMES = ["SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A", "NDVI", "DEM"]


@pytest.fixture
def study(mini):
    from sm_nb import Study

    return Study("mini", 0)


def test_feature_table_on_mini(study):
    ft = P.stack_features(study.inputs(NAMES), study.target())
    n = ft.n_samples
    assert n > 0 and ft.X.shape == (n, len(NAMES)) and ft.y.shape == (n,)
    assert ft.n_candidates == len(MINI.dates) * COARSE.size == n + ft.counts["dropped"].sum()
    assert ft.y.attrs["units"] == "m3 m-3" and 0 < float(ft.y.min()) and float(ft.y.max()) < 0.7
    assert np.isfinite(ft.X.values).all()
    tb = ft.X.sel(feature="SMAP_TBV_A")
    assert 100 < float(tb.min()) and float(tb.max()) < 320  # K


def test_build_inputs_coarse_on_mini(study):
    ds = study.inputs(NAMES + ["LST", "SLOPE", "AMSR2_MPDI_D"])
    assert dict(ds.sizes) == {"time": len(MINI.dates), "lat": 4, "lon": 5}
    for v in ds.data_vars:
        assert ds[v].dims == ("time", "lat", "lon") and "units" in ds[v].attrs
    assert ds["AMSR2_TBH_D"].attrs["input"] == "AMSR2_10.7_TBH_D" and ds["AMSR2_TBH_D"].attrs["units"] == "K"
    assert ds["SLOPE"].attrs["units"] == "degree" and ds["DEM"].attrs["units"] == "m"
    # static inputs are the same every day; BTI spans [0, 1]
    assert (ds["DEM"] == ds["DEM"].isel(time=0)).all() and np.isfinite(ds["DEM"].values).all()
    assert float(ds["ASCAT_BTI_A"].min()) == 0.0 and float(ds["ASCAT_BTI_A"].max()) == 1.0
    # MPDI from the regridded Tbs (eq. 1)
    tb = study.inputs(["AMSR2_TBV_D", "AMSR2_TBH_D"])
    np.testing.assert_allclose(ds["AMSR2_MPDI_D"], (tb["AMSR2_TBV_D"] - tb["AMSR2_TBH_D"]) / (tb["AMSR2_TBV_D"] + tb["AMSR2_TBH_D"]), rtol=1e-5)
    # NDVI is constant inside each 16-day window
    starts = pd.DatetimeIndex(study.open("modis_ndvi_evi")["time"].values)
    window = np.searchsorted(starts, ds["time"].values, side="right")
    ndvi = ds["NDVI"].values
    for w in np.unique(window):
        block = ndvi[window == w]
        np.testing.assert_array_equal(block, np.broadcast_to(block[0], block.shape))
    # memoised: a second call reuses the same coarse arrays
    again = study.inputs(["SMAP_TBV_A"])
    np.testing.assert_array_equal(again["SMAP_TBV_A"].values, ds["SMAP_TBV_A"].values)
    assert any(k[1] == "SMAP_TBV_A" for k in study._memo)
    # the same cube from the products as a plain dict of Datasets, without a memo
    plain = P.build_inputs(["SMAP_TBV_A"], {"smap_tb": study.open("smap_tb")}, study.area)
    xr.testing.assert_identical(plain, again)


def test_build_inputs_fine_replicates_microwave(study):
    coarse = study.inputs(["SMAP_TBV_A", "ASCAT_BTI", "DEM", "NDVI"])
    fine = study.inputs(["SMAP_TBV_A", "ASCAT_BTI", "DEM", "NDVI"], grid="fine")
    assert dict(fine.sizes) == {"time": len(MINI.dates), "lat": FINE.shape[0], "lon": FINE.shape[1]}
    assert fine["SMAP_TBV_A"].chunks is not None  # lazy
    for v in ("SMAP_TBV_A", "ASCAT_BTI"):
        f = fine[v].values
        np.testing.assert_array_equal(f, block_repeat(coarse[v].values, 8, 10))
    # auxiliaries stay at the fine resolution; their area mean is the coarse input
    np.testing.assert_allclose(R.area_mean(fine["DEM"].isel(time=0), COARSE).values, coarse["DEM"].isel(time=0).values, rtol=1e-5)
    assert fine["DEM"].isel(time=0).std() > 0 and fine["NDVI"].attrs["units"] == "1"


def test_lst_keeps_cloud_gaps(study):
    lst = study.inputs(["LST"])["LST"]
    v = lst.values
    assert lst.attrs["units"] == "K" and np.isnan(v).any() and np.isfinite(v).any()
    assert 230 < np.nanmin(v) and np.nanmax(v) < 330


def test_callers_cannot_corrupt_the_cache(study):
    first = study.inputs(["SMAP_TBV_A", "DEM"])
    keep = first["SMAP_TBV_A"].values.copy()
    first["SMAP_TBV_A"].values[:] = -1.0
    first["DEM"].values[:] = -1.0
    again = study.inputs(["SMAP_TBV_A", "DEM"])
    np.testing.assert_array_equal(again["SMAP_TBV_A"].values, keep)
    assert float(again["DEM"].min()) > 0
    y = study.target()
    y.values[:] = 0.0
    assert float(study.target().max()) > 0
    with pytest.raises(ConfigError, match="target 'smap' unknown; expected one of"):
        study.target("smap")


def test_slope_sources(study):
    stored = study.inputs(["SLOPE"])["SLOPE"].isel(time=0)
    computed = study.inputs(["SLOPE"], slope_source="elevation")["SLOPE"].isel(time=0)
    dem = study.open("dem")
    np.testing.assert_allclose(stored.values, R.area_mean(dem["slope"], COARSE, 0.5).values, rtol=1e-6)
    np.testing.assert_allclose(computed.values, R.area_mean(P.slope(dem["elevation"]), COARSE, 0.5).values, rtol=1e-6)
    assert stored.attrs["units"] == computed.attrs["units"] == "degree"
    assert stored.attrs["source_variable"] == "slope" and computed.attrs["source_variable"] == "elevation"
    with pytest.raises(ConfigError, match="slope_source is 'srtm'"):
        study.inputs(["SLOPE"], slope_source="srtm")
