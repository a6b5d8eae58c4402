"""The downscaling step (sm_nb.downscale) on the mini scenario and on constructed fields."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sm_nb import conservation as C
from sm_nb import downscale as D
from sm_nb.config import get_config
from sm_nb.exceptions import ConfigError, DataError
from sm_nb.grids import coarse_grid, fine_grid
from sm_nb.nn import LMRegressor
from sm_nb.preprocess import stack_features
from sm_nb.resample import replicate

NAMES = ["SMAP_TBV_A", "AMSR2_TBH_D", "BTI", "NDVI", "DEM"]
MICROWAVE = ["SMAP_TBV_A", "AMSR2_TBH_D"]


@pytest.fixture(scope="module")
def study(mini):
    from sm_nb import Study

    return Study("mini", 0)


def build_inputs(names, study, grid="coarse"):
    return study.inputs(names, grid)


def _fit(names: list[str], study) -> LMRegressor:
    ft = stack_features(study.inputs(names), study.target())
    return LMRegressor(hidden_units=3, n_restarts=2, max_epochs=20, random_state=0).fit(ft.X, ft.y)


@pytest.fixture(scope="module")
def net(study) -> SimpleNamespace:
    """A small network on five inputs of the mini scenario, shaped like selection.ExperimentResult
    (``.model``, ``.prediction``, ``.inputs``) but fast to train."""
    model = _fit(NAMES, study)
    pred = D.apply_network(model, build_inputs(NAMES, study), model_inputs=NAMES)["sm"].load()
    return SimpleNamespace(model=model, prediction=pred, inputs=tuple(NAMES))


@pytest.fixture(scope="module")
def fine_inputs(study) -> xr.Dataset:
    return study.inputs(NAMES, "fine")


@pytest.fixture(scope="module")
def fine(net, fine_inputs) -> xr.Dataset:
    return D.downscale(net, fine_inputs).load()


# ------------------------------------------------------------------------------ replication
def test_replication_keeps_values(study):
    """Microwave inputs on the fine grid are the coarse values copied into every nested pixel."""
    coarse = build_inputs(MICROWAVE, study)
    fine = build_inputs(MICROWAVE, study, "fine").load()
    fy, fx = fine_grid(get_config("mini")).nest_factor(coarse_grid(get_config("mini")))
    for name in MICROWAVE:
        f = fine[name].values
        blocks = f.reshape(f.shape[0], f.shape[1] // fy, fy, f.shape[2] // fx, fx)
        c = coarse[name].values
        np.testing.assert_array_equal(blocks, np.broadcast_to(c[:, :, None, :, None], blocks.shape))


def test_microwave_only_network_downscales_to_its_coarse_product(study):
    """With replicated inputs only, the fine product is the coarse NN copied into each cell."""
    model = _fit(MICROWAVE, study)
    coarse = D.apply_network(model, build_inputs(MICROWAVE, study), model_inputs=MICROWAVE)["sm"]
    out = D.downscale(model, build_inputs(MICROWAVE, study, "fine"), model_inputs=MICROWAVE)["sm"]
    expected = replicate(coarse.load(), fine_grid(get_config("mini")))
    np.testing.assert_array_equal(out.values, expected.values)


# ------------------------------------------------------------------------------ lazy, NaN, coverage
def test_downscale_is_lazy_and_described(net, study):
    ds = study.downscale(net)
    assert ds["sm"].chunks is not None
    assert ds["sm"].dims == ("time", "lat", "lon")
    assert ds["sm"].attrs["units"] == "m3 m-3"
    assert ds["sm"].attrs["standard_name"] == "volume_fraction_of_condensed_water_in_soil"
    assert ds["lat"].attrs["units"] == "degrees_north"
    a = ds.attrs
    assert a["config"] == "mini" and a["seed"] == 0 and a["Conventions"] == "CF-1.10"
    assert a["inputs"] == ", ".join(NAMES) and a["model_inputs"] == ", ".join(NAMES)
    assert len(a["model_restart_losses"].split(",")) == 2 and "model_val_loss" in a


def test_nan_where_any_input_missing_and_coverage(net, fine, study):
    inputs = build_inputs(NAMES, study, "fine").load()
    valid = np.ones(inputs["DEM"].shape, bool)
    for n in NAMES:
        valid &= np.isfinite(inputs[n].values)
    sm = fine["sm"].values
    assert 0 < valid.mean() < 1, "the mini inputs should have gaps"
    np.testing.assert_array_equal(np.isfinite(sm), valid)
    np.testing.assert_allclose(fine["coverage"].values, valid.mean(axis=(1, 2)), rtol=1e-6)
    for n in NAMES:
        np.testing.assert_allclose(fine["missing_fraction"].sel(input=n).values,
                                   np.isnan(inputs[n].values).mean(axis=(1, 2)), rtol=1e-6)
    table = D.coverage_table(fine)
    assert table.loc["overall", "coverage"] == pytest.approx(valid.mean(axis=(1, 2)).mean(), rel=1e-6)


def test_injected_gap_stays_missing(net, study):
    inputs = build_inputs(NAMES, study, "fine").load()
    inputs["NDVI"][:, :5, :7] = np.nan  # e.g. a cloud
    out = D.apply_network(net, inputs)["sm"].values
    assert np.isnan(out[:, :5, :7]).all()


def test_out_of_range_fraction_is_reported(fine):
    oor = fine["out_of_range_fraction"]
    assert oor.dims == ("time", "input")
    v = oor.values[np.isfinite(oor.values)]
    assert v.size and (v >= 0).all() and (v <= 1).all()


def test_time_selection(net, fine_inputs):
    days = pd.date_range("2017-06-10", periods=3)
    ds = D.downscale(net, fine_inputs, time=slice(days[0], days[-1]))
    assert list(pd.DatetimeIndex(ds["time"].values)) == list(days)
    with pytest.raises(DataError, match="selects no day"):
        D.downscale(net, fine_inputs, time=slice("2019-01-01", "2019-01-02"))


def test_bad_chunks(net, fine_inputs):
    with pytest.raises(ConfigError, match="chunks has dimension"):
        D.downscale(net, fine_inputs, chunks={"band": 2})


# ------------------------------------------------------------------------------ wrong inputs
def test_mismatched_inputs_name_both_lists(net, study):
    other = ["SMAP_TBV_A", "AMSR2_TBH_D", "BTI", "NDVI", "SLOPE"]
    with pytest.raises(DataError, match=r"trained on inputs \['SMAP_TBV_A'.*'DEM'\] but the data offer .*'SLOPE'"):
        D.downscale(net, build_inputs(other, study, "fine"))
    ds = build_inputs(other, study, "fine")
    with pytest.raises(DataError, match=r"missing \['DEM'\], extra \['SLOPE'\]"):
        D.apply_network(net, ds)


def test_feature_count_mismatch_of_a_bare_model(net, study):
    with pytest.raises(DataError, match=r"trained on 5 inputs but .* 2: \['SMAP_TBV_A', 'AMSR2_TBH_D'\]"):
        D.downscale(net.model, build_inputs(MICROWAVE, study, "fine"))


def test_aliases_and_order_are_matched_by_name(net, fine, study):
    shuffled = build_inputs(["DEM", "ASCAT_BTI_A", "NDVI", "AMSR2_10.7_TBH_D", "SMAP_TBV_A"], study, "fine")
    out = D.apply_network(net, shuffled)["sm"].values
    np.testing.assert_array_equal(out, fine["sm"].values)


def test_not_a_model():
    with pytest.raises(DataError, match="expected a fitted LMRegressor"):
        D.apply_network(object(), xr.Dataset())


# ------------------------------------------------------------------------------ schedulers
def test_local_cluster_gives_the_threaded_numbers(net, fine, fine_inputs):
    distributed = pytest.importorskip("distributed")
    with dask.config.set(scheduler="threads"):
        threaded = D.downscale(net, fine_inputs, chunks={"time": 7, "lat": 16})["sm"].values
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        clustered = D.downscale(net, fine_inputs, chunks={"time": 7, "lat": 16})["sm"].values
    np.testing.assert_array_equal(clustered, threaded)
    np.testing.assert_array_equal(threaded, fine["sm"].values)


# ------------------------------------------------------------------------------ output
def test_written_store_matches_and_reports_coverage(net, fine, fine_inputs, tmp_path):
    path = tmp_path / "sm.zarr"
    ds = D.downscale(net, fine_inputs, output=path)
    np.testing.assert_array_equal(ds["sm"].values, fine["sm"].values)
    assert ds.attrs["coverage_overall"] == pytest.approx(float(fine["coverage"].mean()), rel=1e-6)
    assert ds["sm"].attrs["units"] == "m3 m-3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sm.zarr"]


def test_interrupted_write_leaves_nothing(net, fine_inputs, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = D._predict_block

    def failing(*arrays, **kw):
        calls["n"] += 1
        if calls["n"] > 2:
            raise RuntimeError("disk full")
        return real(*arrays, **kw)

    monkeypatch.setattr(D, "_predict_block", failing)
    with dask.config.set(scheduler="synchronous"), pytest.raises(RuntimeError, match="disk full"):
        D.downscale(net, fine_inputs, output=tmp_path / "sm.zarr", chunks={"time": 8})
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ conservation
def _constructed(seed: int = 0) -> tuple[xr.DataArray, xr.DataArray, np.ndarray]:
    """Coarse field c (3 days, 4 × 5) and fine f = R(c) + d with zero-mean detail d per cell."""
    cfg = get_config("mini")
    cg, fg = coarse_grid(cfg), fine_grid(cfg)
    rng = np.random.default_rng(seed)
    t = pd.date_range("2017-06-01", periods=3)
    c = xr.DataArray(rng.uniform(0.05, 0.35, (3, *cg.shape)), dims=("time", "lat", "lon"),
                     coords={"time": t, "lat": cg.lat, "lon": cg.lon}, name="nn", attrs={"units": "m3 m-3"})
    fy, fx = fg.nest_factor(cg)
    d = rng.normal(0, 0.02, (3, *fg.shape))
    blocks = d.reshape(3, cg.shape[0], fy, cg.shape[1], fx)
    d = (blocks - blocks.mean(axis=(2, 4), keepdims=True)).reshape(d.shape)
    f = replicate(c, fg) + d
    return c, f.rename("sm").assign_attrs(units="m3 m-3"), d


def test_conservation_numbers_on_a_constructed_case():
    c, f, _ = _constructed()
    t = C.conservation_table({"exact": f, "offset": f + 0.01, "scaled": 2 * f}, c, min_valid_fraction=1.0)
    assert t.loc["exact", "r"] == pytest.approx(1.0)
    assert t.loc["exact", "rmse"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["offset", "bias"] == pytest.approx(0.01, abs=1e-12)
    assert t.loc["offset", "rmse"] == pytest.approx(0.01, abs=1e-12)
    assert t.loc["scaled", "bias"] == pytest.approx(float(c.mean()), rel=1e-9)
    assert (t["n"] == c.size).all() and (t["n_coarse"] == c.size).all()


def test_residual_correction_matches_the_coarse_nn_exactly():
    c, f, _ = _constructed(1)
    rng = np.random.default_rng(2)
    biased = (f + rng.normal(0.02, 0.03, f.shape)).where(rng.random(f.shape) > 0.2)  # gaps, bias, noise
    c = c.where(rng.random(c.shape) > 0.1)
    corr = C.residual_correction(biased, c)
    agg = C.aggregate(corr, c)
    ok = np.isfinite(agg.values) & np.isfinite(c.values)
    assert ok.mean() > 0.8
    np.testing.assert_allclose(agg.values[ok], c.values[ok], rtol=0, atol=1e-14)
    # never filled: NaN where the coarse NN is missing or the fine pixel is
    assert np.isnan(corr.values[np.isnan(biased.values)]).all()
    assert np.isnan(replicate(c, fine_grid(get_config("mini"))).values[np.isfinite(corr.values)]).sum() == 0
    t = C.conservation_table({"raw": biased, "corrected": corr}, c)
    assert t.loc["corrected", "rmse"] < 1e-14 < t.loc["raw", "rmse"]


def test_conservation_of_the_mini_product(net, fine):
    t = C.conservation_table({"downscaled": fine["sm"]}, net.prediction)
    assert t.loc["downscaled", "n"] > 0 and np.isfinite(t.loc["downscaled", "r"])


# ------------------------------------------------------------------------------ command line
def test_cli_parser_and_handler(net, tmp_path, monkeypatch, capsys):
    from sm_nb import cli
    from sm_nb.study import Study

    sub = argparse.ArgumentParser(prog="sm-nb").add_subparsers(dest="command")
    cli.add_downscale_parser(sub)
    args = sub._name_parser_map["downscale"].parse_args(
        ["--config", "mini", "--seed", "0", "--output", str(tmp_path / "o.zarr"), "--inputs", *NAMES, "--quiet"])
    assert args.inputs == NAMES and args.handler is cli.run_downscale
    seen = {}

    def fake_train(self, inputs, random_state=None):
        seen.update(inputs=inputs, config=self.config.name, seed=self.seed, random_state=random_state)
        return net

    monkeypatch.setattr(Study, "train", fake_train)
    assert args.handler(args) == 0
    assert seen == {"inputs": NAMES, "config": "mini", "seed": 0, "random_state": None}
    assert (tmp_path / "o.zarr").exists()
    assert "coverage" in capsys.readouterr().out


@pytest.mark.parametrize(("start", "message"), [
    ("2017-13-01", "--start '2017-13-01' is not a date; expected YYYY-MM-DD within the season 2017-06-01 … 2017-07-30"),
    ("2017-05-01", "--start 2017-05-01 is outside the season; expected a day within 2017-06-01 … 2017-07-30"),
])
def test_cli_bad_dates_name_the_date_and_the_season(mini, tmp_path, capsys, start, message):
    from sm_nb import cli

    assert cli.main(["downscale", "--config", "mini", "--output", str(tmp_path / "o.zarr"), "--start", start]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
