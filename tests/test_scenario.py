"""The generated scenario: determinism, completeness, physical ranges and sensitivities."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sm_nb
from sm_nb.catalog import load_catalog
from sm_nb.config import get_config
from sm_nb.grids import coarse_grid, fine_grid
from sm_nb.scenario.generate import STORES, generate, open_scenario_dataset, open_sites


def _open(name):
    return open_scenario_dataset(name, "mini", 0)


def test_every_store_written_with_cf_attrs(mini):
    for name in STORES:
        ds = xr.open_zarr(mini / f"{name}.zarr")
        assert ds.attrs["config"] == "mini" and ds.attrs["seed"] == 0 and "sm_nb_version" in ds.attrs
        for v in ds.data_vars:
            if name != "sites":
                assert "units" in ds[v].attrs, f"{name}.{v} has no units"
        for dim in ds.dims:
            assert dim in {"time", "lat", "lon", "station", "frequency", "name"}, f"{name} has dim {dim}"


def test_catalog_opens_every_entry(mini):
    cat = load_catalog()
    for name in cat.names:
        ds = cat.open(name, config="mini", seed=0)
        assert set(cat[name].variables) <= set(ds.variables)


def test_deterministic_bit_identical(mini, tmp_path):
    again = generate(get_config("mini"), 0, tmp_path / "again", progress=False)
    for name in STORES:
        a = xr.open_zarr(mini / f"{name}.zarr").load()
        b = xr.open_zarr(again / f"{name}.zarr").load()
        for v in a.data_vars:
            np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=f"{name}.{v} differs between runs")


def test_seasons_side_by_side_write_the_same_stores(tmp_path):
    """Two seasons in two processes (sm_nb.scenario.seasons) give the stores of one loop over the
    years: values, attributes and chunks; 10 days a season with 8-day chunks, so one chunk holds
    days of both seasons."""
    cfg = get_config("mini", years=(2017, 2018), end="06-10", spinup_days=2)
    one = generate(cfg, 0, tmp_path / "one", progress=False, workers=1)
    two = generate(cfg, 0, tmp_path / "two", progress=False, workers=2)
    assert not (two / ".seasons").exists()
    for name in STORES:
        a, b = xr.open_zarr(one / f"{name}.zarr"), xr.open_zarr(two / f"{name}.zarr")
        assert a.attrs == b.attrs and set(a.variables) == set(b.variables), name
        for v in a.variables:
            assert a[v].attrs == b[v].attrs and a[v].encoding.get("chunks") == b[v].encoding.get("chunks"), f"{name}.{v}"
            np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=f"{name}.{v} differs")
    assert xr.open_zarr(two / "truth_sm.zarr").sizes["time"] == 20
    with pytest.raises(sm_nb.exceptions.ConfigError, match="workers"):
        generate(cfg, 0, tmp_path / "bad", progress=False, workers=0)


def test_other_seed_differs(mini, tmp_path):
    other = generate(get_config("mini"), 1, tmp_path / "seed1", progress=False)
    a = xr.open_zarr(mini / "truth_sm.zarr").sm.values
    b = xr.open_zarr(other / "truth_sm.zarr").sm.values
    assert not np.array_equal(a, b)


def test_truth_within_porosity(mini):
    truth = _open("truth_sm")
    land = _open("land_cover")
    sm = truth.sm.values
    porosity = land.theta_s.values
    land_px = land.water_fraction.values < 0.5
    assert np.isfinite(sm[:, land_px]).all()
    assert (sm[:, land_px] >= 0).all()
    assert (sm[:, land_px] <= porosity[land_px] + 1e-6).all()
    assert truth.sm.attrs["units"] == "m3 m-3"


def test_tb_and_sigma_physical_ranges(mini):
    for name in ("smap_tb", "amsr2_tb", "fy3c_tb"):
        ds = _open(name)
        for v in ("tbh_asc", "tbv_asc", "tbh_desc", "tbv_desc"):
            vals = ds[v].values[np.isfinite(ds[v].values)]
            assert vals.size > 0, f"{name}.{v} is all missing"
            assert 60 < vals.min() and vals.max() < 330, f"{name}.{v} outside 60–330 K"
            assert ds[v].attrs["units"] == "K"
        # V-pol exceeds H-pol on average (Fresnel)
        assert float(ds.tbv_asc.mean()) > float(ds.tbh_asc.mean())
    s = _open("ascat_sigma40")
    vals = s.sigma40_asc.values[np.isfinite(s.sigma40_asc.values)]
    assert vals.size > 0 and -30 < vals.min() and vals.max() < 0
    assert s.sigma40_asc.attrs["units"] == "dB"


def test_products_have_gaps_but_not_empty(mini):
    smap = _open("smap_tb")
    frac = float(np.isfinite(smap.tbh_asc).mean())
    assert 0.1 < frac < 0.95, f"SMAP ascending coverage {frac:.2f}: expected swath gaps"
    lst = _open("modis_lst")
    cov = float(np.isfinite(lst.lst_day).mean())
    assert 0.2 < cov < 0.98, f"MODIS LST clear-sky coverage {cov:.2f}: expected cloud gaps"


def test_models_are_not_the_truth_and_geos5_worse(mini):
    truth = _open("truth_sm").sm
    cldas = _open("cldas_sm").sm
    geos = _open("geos5_sm").sm
    fine = fine_grid(get_config("mini"))
    t_cl = truth.coarsen(lat=fine.shape[0] // cldas.sizes["lat"], lon=fine.shape[1] // cldas.sizes["lon"]).mean()
    t_ge = truth.coarsen(lat=fine.shape[0] // geos.sizes["lat"], lon=fine.shape[1] // geos.sizes["lon"]).mean()
    rmse_cl = float(np.sqrt(((cldas.values - t_cl.values) ** 2).mean()))
    rmse_ge = float(np.sqrt(((geos.values - t_ge.values) ** 2).mean()))
    assert rmse_cl > 0.002, "CLDAS equals the truth: it must carry its own model error"
    assert rmse_ge > rmse_cl, f"GEOS-5 RMSE {rmse_ge:.3f} should exceed CLDAS {rmse_cl:.3f}"


def test_coarse_grid_is_papers(mini):
    geos = _open("geos5_sm")
    c = coarse_grid(get_config("mini"))
    np.testing.assert_allclose(geos.lat.values, c.lat)
    np.testing.assert_allclose(geos.lon.values, c.lon)


def test_sites_geodataframe(mini):
    gdf = open_sites("mini", 0)
    cfg = get_config("mini")
    assert {"name", "kind", "lat", "lon", "elevation", "geometry"} <= set(gdf.columns)
    assert gdf.crs.to_epsg() == 4326
    assert ((gdf.lat > cfg.south) & (gdf.lat < cfg.north) & (gdf.lon > cfg.west) & (gdf.lon < cfg.east)).all()
    assert "Dulan" in set(gdf.name)


def test_station_series_smoother_than_surface(mini):
    st = _open("stations_sm")
    truth = _open("truth_sm").sm
    name = "Dulan"
    s = st.sm.sel(station=name) if "station" in st.sm.dims and name in st.station.values else None
    if s is None:
        s = st.sm.isel(station=int(np.flatnonzero(st["name"].values == name)[0]))
    lat, lon = float(s["lat"]), float(s["lon"])
    surf = truth.sel(lat=lat, lon=lon, method="nearest")
    ds = np.nanstd(np.diff(s.values))
    dt = np.nanstd(np.diff(surf.values))
    assert ds < dt, "10 cm station series should vary less day to day than the 0-5 cm truth"


def test_open_dataset_public_handle(mini):
    ds = sm_nb.open_dataset("geos5_sm", config="mini", seed=0)
    assert ds.sm.dims == ("time", "lat", "lon")


@pytest.mark.parametrize("seed", [-1, 2.5])
def test_bad_seed_rejected(seed):
    with pytest.raises(sm_nb.ConfigError, match="seed"):
        sm_nb.generate_scenario("mini", seed)


def _anomaly(a: np.ndarray, window: int = 15) -> np.ndarray:
    """Remove a centred running mean along axis 0 (the seasonal cycle shared by Tb and SM)."""
    from scipy.ndimage import uniform_filter1d

    filled = np.where(np.isfinite(a), a, np.nanmean(a, axis=0, keepdims=True))
    return a - uniform_filter1d(filled, window, axis=0, mode="nearest")


def test_lband_tbh_falls_with_truth_sm_weaker_under_vegetation(mini):
    """Measured on the stored products: SMAP Tbh anomalies vs the truth at each SMAP cell."""
    from sm_nb.resample import bin_mean

    smap = _open("smap_tb")
    truth = _open("truth_sm").sm
    veg = _open("modis_ndvi_evi").ndvi
    t_on = bin_mean(truth, smap).transpose("time", "lat", "lon").values
    tb = smap.tbh_desc.isel(frequency=0).transpose("time", "lat", "lon").values
    ndvi = bin_mean(veg.mean("time"), smap).values
    slopes, greens = [], []
    for j in range(tb.shape[1]):
        for i in range(tb.shape[2]):
            y, x = tb[:, j, i], t_on[:, j, i]
            ok = np.isfinite(y) & np.isfinite(x)
            if ok.sum() < 8 or not np.isfinite(ndvi[j, i]):
                continue
            ya, xa = _anomaly(np.where(ok, y, np.nan)[:, None])[:, 0], _anomaly(np.where(ok, x, np.nan)[:, None])[:, 0]
            k = np.isfinite(ya) & np.isfinite(xa)
            if np.std(xa[k]) < 1e-4:
                continue
            slopes.append(np.polyfit(xa[k], ya[k], 1)[0])
            greens.append(ndvi[j, i])
    slopes, greens = np.asarray(slopes), np.asarray(greens)
    assert slopes.size >= 3
    assert np.median(slopes) < 0, f"L-band Tbh should fall as SM rises; median slope {np.median(slopes):.1f} K per m3 m-3"
    sparse, dense = slopes[greens <= np.median(greens)], slopes[greens > np.median(greens)]
    assert abs(np.median(dense)) < abs(np.median(sparse)) * 1.25, "vegetation should not strengthen the L-band sensitivity"
