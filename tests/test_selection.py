"""Selection experiments (sm_nb.selection) and the paper's tables (sm_nb.paper), on ``mini``."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sm_nb import paper, selection
from sm_nb.exceptions import ConfigError, DataError

METRICS = ["rho_spatial", "rho_temporal", "rmse", "mae", "cv_rho_spatial", "cv_rho_temporal", "cv_rmse", "cv_mae"]
REQUIRED = ["inputs", *METRICS, "n_samples", "n_train", "train_time_s"]
TWO = ["SMAP_TBV_A", "AMSR2_TBH_D"]


@pytest.fixture
def study(mini):
    from sm_nb import Study

    return Study("mini", 0, progress=False)


def test_one_row_per_combination_with_the_required_columns(study):
    combos = [["SMAP_TBV_A"], TWO, "SMAP_TBV_A + NDVI"]
    df = study.evaluate(combos, progress=False)
    assert len(df) == 3
    assert all(c in df.columns for c in REQUIRED)
    assert df["inputs"].tolist() == ["SMAP_TBV_A", "SMAP_TBV_A + AMSR2_TBH_D", "SMAP_TBV_A + NDVI"]
    assert df[METRICS].notna().all().all()
    assert (df["n_train"] <= df["n_samples"]).all() and (df["n_train"] > 0).all()
    assert df["rho_spatial"].between(-1, 1).all() and (df["rmse"] >= df["mae"]).all()
    assert df.attrs["config"] == "mini" and "cv_" in df.attrs["note"]


def test_result_fields_units_and_nan_where_inputs_missing(study):
    r = study.train(TWO, cache=False)
    assert r.prediction.dims == ("time", "lat", "lon") and r.prediction.attrs["units"] == "m3 m-3"
    assert r.prediction.attrs["inputs"] == "SMAP_TBV_A + AMSR2_10.7_TBH_D"
    ds = study.inputs(TWO)
    valid = ds["SMAP_TBV_A"].notnull() & ds["AMSR2_TBH_D"].notnull()
    np.testing.assert_array_equal(r.prediction.notnull().values, valid.values)  # never filled
    np.testing.assert_array_equal(r.cv_prediction.notnull().values, valid.values)
    assert int(r.counts.attrs["predicted"]) == int(valid.sum())
    assert r.n_train == r.counts.attrs["kept"]  # mini has fewer samples than max_train_samples
    assert float(r.quality["rho_spatial"]) == r.row()["rho_spatial"]
    assert "ExperimentResult" in repr(r) and "held-out" in repr(r)


def test_deterministic_and_order_and_alias_invariant(study):
    from sm_nb import Study

    a = study.train(TWO, cache=False)
    b = Study("mini", 0).train(["amsr2_10.7_tbh_d", "SMAP_TBV_A"], cache=False)
    xr.testing.assert_identical(a.prediction, b.prediction)
    xr.testing.assert_identical(a.cv_prediction, b.cv_prediction)
    assert a.row()["rho_temporal"] == b.row()["rho_temporal"]
    assert a.inputs == ("SMAP_TBV_A", "AMSR2_TBH_D") and b.inputs == ("SMAP_TBV_A", "AMSR2_10.7_TBH_D")
    c = study.train(TWO, cache=False, random_state=1)
    assert not np.allclose(a.prediction.values, c.prediction.values, equal_nan=True)


def test_cache_hit_is_identical_and_faster(study):
    from sm_nb import Study

    kw = {"hidden_units": 7, "n_restarts": 3}  # settings no other test uses: the first call trains
    t0 = time.perf_counter()
    fresh = study.train(TWO, **kw)
    t_fresh = time.perf_counter() - t0
    t0 = time.perf_counter()
    hit = Study("mini", 0).train(list(reversed(TWO)), **kw)
    t_hit = time.perf_counter() - t0
    assert not fresh.from_cache and hit.from_cache and hit.path == fresh.path
    assert t_hit < t_fresh
    xr.testing.assert_identical(fresh.prediction, hit.prediction)
    xr.testing.assert_identical(fresh.cv_prediction, hit.cv_prediction)
    xr.testing.assert_identical(fresh.quality, hit.quality)
    xr.testing.assert_identical(fresh.cv_fold_map, hit.cv_fold_map)
    assert {k: v for k, v in fresh.row().items() if k != "cached"} == {k: v for k, v in hit.row().items() if k != "cached"}
    pd.testing.assert_frame_equal(fresh.counts, hit.counts, check_dtype=False)
    np.testing.assert_array_equal(fresh.model.predict(np.array([[250.0, 240.0]])),
                                  hit.model.predict(np.array([[250.0, 240.0]])))
    other = study.train(TWO, hidden_units=7, n_restarts=3, cv_folds=2)
    assert not other.from_cache and other.path != fresh.path  # settings are part of the key


def test_parallel_equals_serial(study):
    from sm_nb import Study

    combos = [["SMAP_TBV_A"], ["AMSR2_TBH_D"], TWO, ["SMAP_TBV_A", "DEM"]]
    kw = {"cache": False, "progress": False}
    serial = study.evaluate(combos, **kw)
    parallel = Study("mini", 0).evaluate(combos, parallel=True, n_workers=2, **kw)
    cols = ["inputs", *METRICS, "n_samples", "n_train"]
    pd.testing.assert_frame_equal(serial[cols], parallel[cols])
    # the xarray-level function gives the same rows from one input Dataset and the target
    cube = study.inputs(["SMAP_TBV_A", "AMSR2_TBH_D", "DEM"])
    plain = selection.evaluate_combinations(combos, cube, study.target(), random_state=0, progress=False)
    pd.testing.assert_frame_equal(serial[cols], plain[cols])


def test_networks_of_one_combination_on_threads_equal_serial(study, monkeypatch):
    """The main and cross-validation networks of one training run on one thread per core; the
    predictions are those of the serial loop, bit for bit (and threads were really used)."""
    cube, target = study.inputs(TWO), study.target()
    seen = []
    real = selection._run_fits

    def spy(jobs, progress):
        seen.append(selection._fit_workers(len(jobs), progress))
        return real(jobs, progress)

    monkeypatch.setattr(selection, "_run_fits", spy)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)  # two cores
    threaded = selection.train_combination(cube, target, cv_folds=3, random_state=0)
    monkeypatch.setattr(selection, "_fit_workers", lambda n, progress: 1)
    serial = selection.train_combination(cube, target, cv_folds=3, random_state=0)
    assert seen[0] == 2
    for a, b in ((threaded.prediction, serial.prediction), (threaded.cv_prediction, serial.cv_prediction)):
        np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(threaded.model.coefs_, serial.model.coefs_)


def test_cv_holds_out_whole_pixels(study, monkeypatch):
    seen = {}
    real = selection.spatial_cv_splits

    def spy(positions, grid_shape, trainable, *args, **kwargs):
        fold_map, splits = real(positions, grid_shape, trainable, *args, **kwargs)
        seen.update(positions=positions, shape=grid_shape, fold_map=fold_map, splits=splits, trainable=trainable)
        return fold_map, splits

    monkeypatch.setattr(selection, "spatial_cv_splits", spy)
    r = study.train(TWO, cv_folds=3, cache=False)
    _, n_lat, n_lon = seen["shape"]
    pixel = seen["positions"] % (n_lat * n_lon)
    tested = np.zeros(pixel.size, dtype=int)
    for k, (train, test) in enumerate(seen["splits"]):
        assert test.size and train.size
        assert not set(pixel[train]) & set(pixel[test]), f"fold {k}: a held-out pixel is in its training rows"
        assert set(pixel[test]) == set(np.flatnonzero(seen["fold_map"].ravel() == k)) & set(pixel)
        assert seen["trainable"][train].all()
        tested[test] += 1
    assert (tested == 1).all()  # every sample predicted out-of-fold exactly once
    np.testing.assert_array_equal(r.cv_fold_map.values, seen["fold_map"])
    assert r.cv_quality.attrs["evaluation"].startswith("out-of-fold")


def test_spatial_folds_are_whole_balanced_blocks():
    folds = selection.spatial_folds(37, 45, 3, seed=0, block=4)
    assert folds.shape == (37, 45) and set(np.unique(folds)) == {0, 1, 2}
    for i in range(0, 37, 4):  # every 4 × 4 block (edge blocks smaller) lies in one fold
        for j in range(0, 45, 4):
            assert (folds[i:i + 4, j:j + 4] == folds[i, j]).all()
    counts = np.bincount(folds[::4, ::4].ravel(), minlength=3)  # one entry per block: 10 × 12
    assert counts.tolist() == [40, 40, 40]
    tiny = selection.spatial_folds(4, 5, 3, seed=0)  # blocks shrink until there are >= 6
    assert set(np.unique(tiny)) == {0, 1, 2}
    np.testing.assert_array_equal(selection.spatial_folds(37, 45, 3, seed=5), selection.spatial_folds(37, 45, 3, seed=5))
    with pytest.raises(ConfigError, match="cv_folds=30 but the grid has only 20 pixels"):
        selection.spatial_folds(4, 5, 30)


def test_unknown_and_duplicate_inputs_and_bad_settings(study):
    with pytest.raises(ConfigError, match=r"unknown input name\(s\) \['SMAP_TBX_A'\]; expected one of .*SMAP_TBV_A"):
        study.train(["SMAP_TBX_A"])
    with pytest.raises(ConfigError, match="both denote 'AMSR2_10.7_TBH_D'"):
        study.train(["AMSR2_TBH_D", "AMSR2_10.7_TBH_D"])
    with pytest.raises(ConfigError, match=r"unknown input name\(s\) \['NOPE'\]"):
        study.evaluate([["SMAP_TBV_A"], ["NOPE"]], progress=False)
    with pytest.raises(ConfigError, match="combinations is empty"):
        study.evaluate([])
    with pytest.raises(ConfigError, match="cv_folds=1; expected 0"):
        study.train(TWO, cv_folds=1)
    with pytest.raises(ConfigError, match="hidden_units=0; expected an integer >= 1"):
        study.train(TWO, hidden_units=0)
    with pytest.raises(ConfigError, match="max_train_samples=5; expected an integer >= 20"):
        study.train(TWO, max_train_samples=5)
    with pytest.raises(ConfigError, match="random_state=-1"):
        study.train(TWO, random_state=-1)


def test_no_overlapping_samples(study):
    ds = study.inputs(TWO)
    a, b = list(ds.data_vars)
    ds = ds.assign({b: ds[b].where(ds[a].isnull())})
    with pytest.raises(DataError, match=r"no sample has all of the inputs \['SMAP_TBV_A', 'AMSR2_TBH_D'\]"):
        selection.train_combination(ds, study.target())


def test_constant_input(study):
    ds = study.inputs(["SMAP_TBV_A", "DEM"])
    ds = ds.assign(DEM=ds["DEM"] * 0 + 3000.0)
    with pytest.raises(DataError, match=r"combination SMAP_TBV_A \+ DEM: input\(s\) \['DEM'\] constant"):
        selection.train_combination(ds, study.target())


def test_target_on_another_grid(study):
    ds = study.inputs(["SMAP_TBV_A"])
    with pytest.raises(DataError, match="regrid the target"):
        selection.train_combination(ds, study.target().isel(lat=slice(1, None)))


def test_diverging_training_is_an_error_never_nan(study, monkeypatch):
    from sm_nb import _lm, nn

    def diverge(*args, **kwargs):
        raise DataError("training diverged: training MSE inf at epoch 3")

    monkeypatch.setattr(_lm, "train_lm", diverge)
    with pytest.raises(DataError, match="combination SMAP_TBV_A: training diverged"):
        study.train(["SMAP_TBV_A"], cache=False)
    monkeypatch.undo()
    monkeypatch.setattr(nn.LMRegressor, "predict", lambda self, X: np.full(len(X), np.nan))
    with pytest.raises(DataError, match="non-finite predictions .* the training diverged"):
        study.train(["SMAP_TBV_A"], cache=False)


def test_clear_experiment_cache(study):
    from sm_nb import Study
    from sm_nb.experiments import clear_experiment_cache

    study.train(["SMAP_TBV_A"], hidden_units=3, n_restarts=1)
    assert clear_experiment_cache(config="mini", seed=99) == 0
    assert clear_experiment_cache(config="mini") >= 1
    again = Study("mini", 0).train(["SMAP_TBV_A"], hidden_units=3, n_restarts=1)
    assert not again.from_cache


def test_result_maps(study):
    r = study.train(["SMAP_TBV_A"])
    maps = study.result_maps(r, "SMAP_TBV_A")
    assert set(maps) == {"input", "sm_mean", "rho_temporal", "cv_rho_temporal"}
    assert maps["input"].attrs["units"] == "K" and maps["sm_mean"].attrs["units"] == "m3 m-3"
    assert all(m.dims == ("lat", "lon") for m in maps.values())


def test_selection_explorer_trains_on_click(study):
    pytest.importorskip("panel")
    from sm_nb import widgets

    w = widgets.selection_explorer(study, ["SMAP_TBV_A", "DEM", "NDVI"], initial=["SMAP_TBV_A"],
                                   paper=paper.table5(), train_kwargs={"cv_folds": 0})
    grid, (button, bar), status, table, maps = w.objects[0], w.objects[1].objects, *w.objects[2:]
    assert "SMAP_TBV_A" in status.object and len(table.object) == 1 and len(maps.objects) == 1
    grid.objects[1].value = True  # tick DEM
    button.clicks += 1
    assert len(table.object) == 2 and table.object["inputs"].iloc[0] == "SMAP_TBV_A + DEM"
    assert not button.disabled and not bar.active
    for box in grid.objects:
        box.value = False
    button.clicks += 1
    assert "Tick at least one input" in status.object


# ---------------------------------------------------------------------------------------------
# the paper's tables
# ---------------------------------------------------------------------------------------------
def test_paper_tables_shapes_and_labels():
    t3, t4, t5, t6, tc = paper.table3(), paper.table4(), paper.table5(), paper.table6(), paper.tc_figures()
    assert len(t3) == 32 and len(t4) == 6 and len(t5) == 15 and len(t6) == 24
    for t in (t3, t4, t5, t6, tc):
        assert t["source"].str.startswith("Lv, Zhang & Zhu (2021)").all()
    assert t3.loc[t3["inputs"] == "SMAP_TBV_A", "rho_temporal"].item() == 0.322
    assert t3.loc[t3["inputs"] == "ASCAT_BTI_A", "rmse"].item() == 0.064
    assert t5.iloc[-1][["rho_spatial", "rho_temporal", "rmse", "mae"]].tolist() == [0.669, 0.475, 0.046, 0.036]
    assert t5.iloc[0][list(paper.METRICS)].tolist() == t4.iloc[2][list(paper.METRICS)].tolist()
    piv = t6.pivot(index="product", columns="station", values="r")
    assert piv.loc["DOWNSCALED", "Dulan"] == 0.768 and piv.loc["CLDAS", "Golmud"] == -0.025
    nn = tc[(tc["product"] == "NN") & (tc["statistic"] == "median_error_variance")]
    assert sorted(nn["value"]) == [0.00003, 0.0003] and nn.loc[nn["preferred"], "value"].item() == 0.00003


@pytest.mark.parametrize(("combos", "table"), [
    (selection.TABLE3_INPUTS, paper.table3()),
    (selection.TABLE4_COMBINATIONS, paper.table4()),
    (selection.TABLE5_COMBINATIONS, paper.table5()),
])
def test_selection_constants_match_the_paper_tables(combos, table):
    keys = [selection.combination_label([c] if isinstance(c, str) else c) for c in combos]
    paper_keys = [selection.combination_label(v.split(" + ")) for v in table["inputs"]]
    assert set(paper_keys) <= set(keys)
    order = [k for k in keys if k in paper_keys]
    assert order == paper_keys  # the paper's order (Table 3 also runs ASCAT's descending pass)
    assert selection.combination_label(selection.FINAL_INPUTS) == selection.combination_label(
        selection.TABLE5_COMBINATIONS[-1])


def test_side_by_side_agreement_and_differences():
    ours = pd.DataFrame({"inputs": ["AMSR2_10.7_TBH_D + SMAP_TBV_A", "SMAP_TBV_A + AMSR2_MPDI_D", "SMAP_TBV_A + DEM"],
                         "rho_spatial": [0.8, 0.7, 0.5], "rho_temporal": [0.4, 0.3, 0.2], "rmse": [0.05, 0.06, 0.07],
                         "mae": [0.04, 0.05, 0.06], "cv_rho_spatial": [0.7, 0.6, 0.4]})
    sbs = paper.side_by_side(ours, paper.table4())
    assert len(sbs) == 7  # six paper rows + one of ours only
    assert sbs["inputs"].iloc[-1] == "SMAP_TBV_A + DEM" and np.isnan(sbs["rho_spatial_paper"].iloc[-1])
    assert sbs.loc[0, ["rho_spatial", "rho_spatial_paper"]].tolist() == [0.8, 0.621]
    assert list(sbs.columns[:4]) == ["paper_label", "inputs", "rho_spatial", "rho_spatial_paper"]
    assert len(paper.side_by_side(ours, paper.table4(), how="inner")) == 2
    agree = paper.agreement(sbs)
    assert agree.set_index("metric").loc["rho_spatial", "n"] == 2
    diff = paper.differences(sbs, [(["SMAP_TBV_A", "AMSR2_MPDI_D"], ["SMAP_TBV_A", "AMSR2_TBH_D"], "TBH better")],
                             metrics=["rho_spatial"])
    row = diff.iloc[0]
    assert row["ours"] == pytest.approx(0.1) and row["paper"] == pytest.approx(0.021) and row["same_sign"]
    with pytest.raises(DataError, match="not in the table"):
        paper.differences(sbs, [(["SMAP_TBV_A"], ["SMAP_TBV_A", "NDVI"])])
    with pytest.raises(DataError, match="has no column 'label'"):
        paper.side_by_side(ours, paper.table4(), on="label")


@pytest.mark.parametrize(("number", "table"), [(3, paper.table3()), (4, paper.table4()), (5, paper.table5())])
def test_claims_refer_to_rows_of_their_table(number, table):
    fake = table.assign(**{m: table[m] + 0.01 for m in paper.METRICS})  # "ours" = paper + 0.01
    sbs = paper.side_by_side(fake, table)
    diffs = paper.differences(sbs, paper.CLAIMS[number])
    assert len(diffs) == 4 * len(paper.CLAIMS[number])
    np.testing.assert_allclose(diffs["ours"], diffs["paper"], atol=1e-12)
    assert diffs["same_sign"].dropna().all()
    wide = paper.claims_table(diffs)
    assert len(wide) == len(paper.CLAIMS[number]) and "rho_temporal_agrees" in wide.columns
    assert "rank agreement Spearman r = 1.00" in paper.summary_text(sbs)


def test_single_additions_ranks_the_paper_table5():
    t5 = paper.table5()
    sbs = paper.side_by_side(t5, t5)
    gains = paper.single_additions(sbs, selection.TABLE5_COMBINATIONS[0], ["NDVI", "EVI", "LST", "NSDSI", "DEM", "SLOPE"])
    temporal = gains[gains["metric"] == "rho_temporal"].set_index("added")
    assert temporal["rank_paper"].idxmin() == "LST" and temporal.loc["LST", "paper"] == pytest.approx(0.040)
    spatial = gains[gains["metric"] == "rho_spatial"].set_index("added")
    assert spatial["rank_paper"].idxmin() == "DEM"
    with pytest.raises(DataError, match="table lacks the row"):
        paper.single_additions(sbs, ["SMAP_TBV_A"], ["NDVI"])


def test_unscored_training_gives_the_same_predictions_and_no_quality(study):
    ds, target = study.inputs(TWO), study.target()
    kw = {"hidden_units": 3, "n_restarts": 1, "cv_folds": 2}
    scored = selection.train_combination(ds, target, **kw)
    bare = selection.train_combination(ds, target, score=False, **kw)
    xr.testing.assert_identical(scored.prediction, bare.prediction)
    xr.testing.assert_identical(scored.cv_prediction, bare.cv_prediction)
    assert "rho_spatial" in scored.quality and not bare.quality.data_vars and not bare.cv_quality.data_vars
