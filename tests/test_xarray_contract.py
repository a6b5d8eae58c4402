"""Every public xarray function keeps named dims, coords and CF units, and gives the same numbers on
numpy- and dask-backed inputs (one shared helper, :func:`conftest.assert_xarray_contract`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import as_backend, assert_xarray_contract

from sm_nb import conservation, downscale, features, metrics, resample, tc, validation
from sm_nb.grids import grid_for
from sm_nb.nn import LMRegressor

DAYS = pd.date_range("2017-06-01", periods=40, freq="D")
CLAT = 35.0 + 0.125 + np.arange(4) * 0.25
CLON = 95.0 + 0.15625 + np.arange(5) * 0.3125
FLAT = 35.0 + 1 / 64 + np.arange(32) / 32
FLON = 95.0 + 1 / 64 + np.arange(50) / 32


def _field(lat, lon, units="m3 m-3", seed=0, nan=0.1, days=DAYS, scale=0.1, offset=0.2, name="sm") -> xr.DataArray:
    rng = np.random.default_rng(seed)
    v = offset + scale * rng.random((len(days), lat.size, lon.size))
    v[rng.random(v.shape) < nan] = np.nan
    return xr.DataArray(v, coords={"time": days, "lat": ("lat", lat, {"units": "degrees_north"}),
                                   "lon": ("lon", lon, {"units": "degrees_east"})},
                        dims=("time", "lat", "lon"), name=name, attrs={"units": units})


COARSE, FINE = grid_for(_field(CLAT, CLON), "coarse"), grid_for(_field(FLAT, FLON), "fine")


@pytest.mark.parametrize(("func", "args", "kwargs", "units"), [
    (resample.area_mean, (_field(FLAT, FLON), COARSE), {"min_valid_fraction": 0.5}, "m3 m-3"),
    (resample.bilinear, (_field(CLAT, CLON, nan=0), FINE), {}, "m3 m-3"),
    (resample.idw, (_field(CLAT, CLON), FINE), {}, "m3 m-3"),
    (resample.replicate, (_field(CLAT, CLON), FINE), {}, "m3 m-3"),
    (resample.to_coarse, (_field(FLAT, FLON), "mean", COARSE), {}, "m3 m-3"),
    (resample.bilinear_nan_aware, (_field(CLAT, CLON), FINE), {}, "m3 m-3"),
    (features.mpdi, (_field(CLAT, CLON, "K", 1, offset=250, scale=30), _field(CLAT, CLON, "K", 2, offset=200, scale=30)),
     {}, "1"),
    (features.bti, (_field(CLAT, CLON, "dB", 3, offset=-20, scale=10),), {}, "1"),
    (features.composite_to_daily, (_field(CLAT, CLON, "1", days=DAYS[::16]), DAYS, 16), {}, "1"),
    (validation.moving_mean, (_field(CLAT, CLON), 5), {}, "m3 m-3"),
    (conservation.aggregate, (_field(FLAT, FLON), _field(CLAT, CLON)), {}, "m3 m-3"),
    (conservation.residual_correction, (_field(FLAT, FLON, seed=4), _field(CLAT, CLON, seed=5)), {}, "m3 m-3"),
])
def test_gridded_functions(func, args, kwargs, units):
    assert_xarray_contract(func, *args, units=units, **kwargs)


def test_static_indices():
    elev = _field(FLAT, FLON, "m", 6, nan=0, offset=3000, scale=800).isel(time=0, drop=True)
    assert_xarray_contract(features.slope, elev, units="degree", chunks={"lat": 32, "lon": 50})
    b6 = _field(FLAT, FLON, "1", 7, nan=0.05, offset=0.2, scale=0.2)
    b7 = _field(FLAT, FLON, "1", 8, nan=0.05, offset=0.1, scale=0.2)
    assert_xarray_contract(features.nsdsi, b6, b7, units="1")


def test_metrics_and_tc():
    truth = _field(CLAT, CLON, nan=0, seed=9)
    rng = np.random.default_rng(1)
    x, y, z = ((truth * a + b + rng.normal(0, s, truth.shape)).rename(n).assign_attrs(units="m3 m-3")
               for n, a, b, s in (("x", 1.0, 0.0, 0.01), ("y", 0.8, 0.05, 0.02), ("z", 1.2, -0.02, 0.03)))
    assert_xarray_contract(metrics.pearson_with_p, x, y, dim="time", chunks={"time": -1})
    assert_xarray_contract(metrics.quality_index, x, truth, chunks={"time": -1})
    assert_xarray_contract(tc.triple_collocation, x, y, z, min_n=10, chunks={"time": -1})
    assert_xarray_contract(tc.actual_errors, [x, y, z], truth, min_n=10, chunks={"time": -1})


def test_station_sampling():
    sites = pd.DataFrame({"name": ["a", "b"], "lat": [35.3, 35.8], "lon": [95.4, 96.2]})
    assert_xarray_contract(validation.sample_at_stations, _field(FLAT, FLON), sites, units="m3 m-3")


def test_apply_network(backend):
    rng = np.random.default_rng(0)
    x = rng.random((200, 2)) * [50, 0.5] + [200, 0.1]
    net = LMRegressor(hidden_units=3, n_restarts=1, max_epochs=10, random_state=0).fit(x, x[:, 1] * 0.5)
    ds = xr.Dataset({"A": _field(CLAT, CLON, "K", 1, offset=200, scale=50), "B": _field(CLAT, CLON, "1", 2)})
    assert_xarray_contract(downscale.apply_network, net, ds, model_inputs=["A", "B"])
    out = downscale.apply_network(net, as_backend(ds, backend), model_inputs=["A", "B"])
    assert out["sm"].attrs["units"] == "m3 m-3" and out["sm"].dims == ("time", "lat", "lon")
