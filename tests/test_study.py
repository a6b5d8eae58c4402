"""The Study design: one owner of data access, caches keyed by the data, the method on xarray objects."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sm_nb
from sm_nb import selection
from sm_nb.exceptions import CatalogError, ConfigError, DataError, SmNbError
from sm_nb.study import Study

PROBE = ["SMAP_TBV_A", "NDVI"]
FAST = {"hidden_units": 4, "n_restarts": 1, "cv_folds": 0}


def test_repr_area_and_memo(mini):
    st = Study("mini", 0)
    text = repr(st)
    assert "config='mini'" in text and "seed=0" in text and "60 days" in text
    assert st.area.coarse.lat.size == 4 and st.area.fine.lat.size == 32
    assert st.open("cldas_sm") is st.open("cldas_sm")  # memoised per instance
    a = st.inputs(["SMAP_TBV_A"])
    b = st.inputs(["smap_tbv_a"])
    np.testing.assert_array_equal(a["SMAP_TBV_A"].values, b["SMAP_TBV_A"].values)


def test_seed_and_random_state_are_separate(mini):
    st = Study("mini", 0)
    a = st.train(PROBE, cache=False, **FAST)
    b = st.train(PROBE, cache=False, random_state=0, **FAST)
    c = st.train(PROBE, cache=False, random_state=5, **FAST)
    xr.testing.assert_identical(a.prediction, b.prediction)  # random_state defaults to the seed
    assert not np.allclose(a.prediction.values, c.prediction.values, equal_nan=True)
    # the data are the same whatever the random_state: the inputs do not move
    assert a.counts.attrs == c.counts.attrs
    assert a.hyperparameters["random_state"] == 0 and c.hyperparameters["random_state"] == 5


def test_catalog_switch_never_returns_an_old_result(mini, tmp_path, monkeypatch):
    """The probe of issue 8: synthetic → real-format files → one file changed: three results, none stale."""
    from sm_nb.export import export_real_format

    synthetic = Study("mini", 0).train(PROBE, **FAST)
    assert not synthetic.from_cache
    assert Study("mini", 0).train(PROBE, **FAST).from_cache  # the disk cache works at all

    catalog = export_real_format("mini", 0, tmp_path / "files", products=["CLDAS"], progress=False)
    monkeypatch.setenv("SM_NB_CATALOG", str(catalog))
    files = Study("mini", 0)
    assert files.catalog.path == catalog and files.catalog["cldas_sm"].source == "files"
    real = files.train(PROBE, **FAST)
    assert not real.from_cache, "switching to files returned the synthetic run's cached result"
    assert real.provenance["fingerprint"] != synthetic.provenance["fingerprint"]
    assert Study("mini", 0).train(PROBE, **FAST).from_cache  # same files: cache hit

    cldas = sorted(files.catalog["cldas_sm"].files(catalog.parent))
    assert cldas, "the export wrote no CLDAS file"
    import netCDF4

    for path in cldas:  # halve soil moisture in every CLDAS file, as the probe does
        with netCDF4.Dataset(path, "r+") as nc:
            var = next(v for v in nc.variables.values() if v.name.upper().startswith("SM"))
            var[:] = var[:] / 2
    halved = Study("mini", 0).train(PROBE, **FAST)
    assert not halved.from_cache, "changing the CLDAS files returned a stale cached result"
    ratio = float(halved.prediction.mean() / real.prediction.mean())
    assert 0.35 < ratio < 0.65, f"the network trained on halved CLDAS predicts {ratio:.2f} × the original"


def test_bad_study_arguments_name_what_is_wrong(tmp_path):
    with pytest.raises(ConfigError, match="unknown config 'nope'"):
        Study("nope")
    with pytest.raises(ConfigError, match="seed"):
        Study("mini", -1)
    missing = tmp_path / "absent.yaml"
    with pytest.raises(CatalogError, match=str(missing)):
        Study("mini", 0, catalog=missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ndatasets:\n  a: [1, 2\n  b: 3\n")
    with pytest.raises(SmNbError, match=rf"{bad}.*line \d+"):
        Study("mini", 0, catalog=bad)


# ---------------------------------------------------------------------------------------------
# the whole chain on in-memory Datasets: no catalog, no scenario, no environment variable
# ---------------------------------------------------------------------------------------------
def _world(seed: int = 3) -> dict:
    """A small synthetic world: coarse 0.25° × 0.3125° (6 × 8), fine 8 × 10 finer, 48 days."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2017-06-01", periods=48, freq="D")
    south, west, nlat, nlon = 35.0, 95.0, 6, 8
    flat = south + 1 / 64 + np.arange(nlat * 8) / 32
    flon = west + 1 / 64 + np.arange(nlon * 10) / 32
    clat = south + 0.125 + np.arange(nlat) * 0.25
    clon = west + 0.15625 + np.arange(nlon) * 0.3125
    yy, xx = np.meshgrid(np.linspace(0, 1, flat.size), np.linspace(0, 1, flon.size), indexing="ij")
    wet = 0.08 + 0.25 * yy * (0.6 + 0.4 * np.sin(6 * xx)) + 0.03 * rng.standard_normal(yy.shape)
    rain = np.convolve(rng.exponential(1.0, days.size + 10), np.ones(10) / 10, "valid")[: days.size]
    truth = np.clip(wet[None] * (0.6 + 0.5 * rain[:, None, None]), 0.02, 0.5)
    elev = 3000 + 1500 * xx + 50 * rng.standard_normal(xx.shape)
    ndvi = 0.1 + 0.5 * wet + 0.02 * rng.standard_normal(wet.shape)
    fine = {"lat": ("lat", flat, {"units": "degrees_north"}), "lon": ("lon", flon, {"units": "degrees_east"})}
    coarse = {"lat": ("lat", clat, {"units": "degrees_north"}), "lon": ("lon", clon, {"units": "degrees_east"})}
    tcoarse = truth.reshape(days.size, nlat, 8, nlon, 10).mean(axis=(2, 4))
    tb = 280 - 150 * tcoarse + rng.normal(0, 1.5, tcoarse.shape)
    tb[rng.random(tb.shape) < 0.1] = np.nan  # swath gaps
    t = {"time": days}
    products = {
        "smap_tb": xr.Dataset({"tbv_asc": (("time", "lat", "lon"), tb, {"units": "K"})}, coords={**t, **coarse}),
        "modis_ndvi_evi": xr.Dataset({"ndvi": (("time", "lat", "lon"), np.repeat(ndvi[None], 3, 0), {"units": "1"})},
                                     coords={"time": days[::16], **fine}),
        "dem": xr.Dataset({"elevation": (("lat", "lon"), elev, {"units": "m"}),
                           "slope": (("lat", "lon"), np.abs(np.gradient(elev)[1]) / 10, {"units": "degree"})},
                          coords=fine),
    }
    cldas = xr.Dataset({"sm": (("time", "lat", "lon"), truth + rng.normal(0, 0.01, truth.shape), {"units": "m3 m-3"})},
                       coords={**t, **fine})
    truth_da = xr.DataArray(truth, coords={**t, **{k: v[1] for k, v in fine.items()}}, dims=("time", "lat", "lon"),
                            name="truth", attrs={"units": "m3 m-3"})
    return {"products": products, "cldas": cldas, "truth": truth_da, "days": days}


def test_the_whole_chain_on_in_memory_datasets(monkeypatch):
    monkeypatch.delenv("SM_NB_CATALOG", raising=False)

    def forbidden(*_a, **_k):
        raise AssertionError("the in-memory chain touched a catalog or the scenario")

    import sm_nb.catalog
    import sm_nb.scenario.generate

    monkeypatch.setattr(sm_nb.catalog, "load_catalog", forbidden)
    monkeypatch.setattr(sm_nb.catalog.Catalog, "open", forbidden)
    monkeypatch.setattr(sm_nb.scenario.generate, "ensure_scenario", forbidden)
    from sm_nb import downscale, preprocess, tc, validation
    from sm_nb.area import StudyArea

    w = _world()
    area = StudyArea.from_data(w["products"]["smap_tb"], w["cldas"], days=w["days"], time_chunk=16)
    names = ["SMAP_TBV_A", "NDVI", "DEM"]
    inputs = preprocess.build_inputs(names, w["products"], area)
    assert list(inputs.data_vars) == names and inputs["SMAP_TBV_A"].attrs["units"] == "K"
    target = preprocess.build_target(w["cldas"], area, name="cldas_sm")
    result = selection.train_combination(inputs, target, hidden_units=5, n_restarts=2, cv_folds=2, random_state=1)
    assert result.inputs == tuple(names) and result.row()["rho_temporal"] > 0.5
    again = selection.train_combination(inputs, target, hidden_units=5, n_restarts=2, cv_folds=2, random_state=1)
    xr.testing.assert_identical(result.prediction, again.prediction)

    truth_c = preprocess.build_target(w["truth"], area, name="truth_sm")
    rng = np.random.default_rng(0)
    other = (truth_c + rng.normal(0, 0.02, truth_c.shape)).rename("other")
    third = (0.8 * truth_c + 0.03 + rng.normal(0, 0.03, truth_c.shape)).rename("third")
    res = tc.triple_collocation(result.prediction.astype(float), other, third, min_corr=0.0, min_n=10)
    assert int(res["mask"].sum()) > 0 and np.isfinite(res["err_var"].where(res["mask"])).any()

    fine_inputs = preprocess.build_inputs(names, w["products"], area, "fine")
    ds = downscale.downscale(result, fine_inputs)
    sm = ds["sm"].load()
    assert sm.dims == ("time", "lat", "lon") and sm.shape == w["truth"].shape and sm.attrs["units"] == "m3 m-3"
    np.testing.assert_array_equal(np.isnan(sm.values), np.isnan(fine_inputs["SMAP_TBV_A"].values))
    skill = validation.truth_skill({"downscaled": sm}, w["truth"], result.prediction)
    assert float(skill.loc["downscaled", "r"]) > 0.5


def test_science_functions_refuse_what_is_not_xarray():
    with pytest.raises(DataError, match="expected an xarray Dataset"):
        selection.train_combination({"a": 1}, xr.DataArray([1.0]))
    from sm_nb import downscale

    with pytest.raises(DataError, match="expected an xarray Dataset"):
        downscale.downscale(object(), np.zeros(3))


# ---------------------------------------------------------------------------------------------
# the import rule and cycles
# ---------------------------------------------------------------------------------------------
ALLOWED_SCENARIO_IMPORTERS = {"sm_nb", "sm_nb.catalog", "sm_nb.export", "sm_nb.cli", "sm_nb.run"}


def _graph() -> dict[str, set[str]]:
    from sm_nb.fingerprint import PACKAGE_DIR, _module_name, imports_of

    return {_module_name(p): imports_of(p) for p in PACKAGE_DIR.rglob("*.py")}


def test_only_the_catalog_exporter_and_cli_import_the_scenario():
    bad = {m: sorted(i for i in deps if i.startswith("sm_nb.scenario"))
           for m, deps in _graph().items() if not m.startswith("sm_nb.scenario") and m not in ALLOWED_SCENARIO_IMPORTERS}
    bad = {m: v for m, v in bad.items() if v}
    assert not bad, f"method modules import the scenario: {bad}"


def test_no_import_cycle_between_sm_nb_modules():
    graph = {m: {d for d in deps if d != "sm_nb"} for m, deps in _graph().items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles (function-level imports included): " + "; ".join(" → ".join(c) for c in cycles)


def test_modules_are_small():
    from sm_nb.fingerprint import PACKAGE_DIR

    sizes = {str(p.relative_to(PACKAGE_DIR)): len(p.read_text().splitlines()) for p in PACKAGE_DIR.rglob("*.py")}
    assert not {k: v for k, v in sizes.items() if v > 650}, "modules over 650 lines"


def test_scenario_cache_key_includes_the_code(tmp_path, monkeypatch):
    from sm_nb.fingerprint import code_hash, module_closure

    closure = module_closure("sm_nb.scenario.generate")
    assert "sm_nb.scenario.waterbalance" in closure or any("waterbalance" in m for m in closure)
    assert len(code_hash("sm_nb.scenario.generate")) == 10
    import sm_nb.config
    from sm_nb.scenario import generate

    assert f"code{code_hash('sm_nb.scenario.generate')}" in generate.scenario_path(sm_nb.config.get_config("mini"), 0).name


def test_public_surface():
    for name in ("Study", "open_dataset", "load_catalog", "open_sites", "preprocess", "selection", "downscale", "tc",
                 "validation"):
        assert name in sm_nb.__all__ and hasattr(sm_nb, name)
    assert os.environ.get("SM_NB_CATALOG") is None or Path(os.environ["SM_NB_CATALOG"]).exists()


def test_run_into_a_folder_that_cannot_be_created(tmp_path, capsys):
    from sm_nb import cli

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli.main(["run", "--config", "mini", "--output", str(blocker / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"output folder {blocker / 'out'} cannot be created" in err and "Traceback" not in err


def test_notebook_parameters_are_filtered_to_the_parameters_cell():
    from sm_nb.run import list_notebooks, notebook_parameters

    names = {nb.name[:2]: set(notebook_parameters(nb)) for nb in list_notebooks()}
    assert "random_state" not in names["01"] and {"config", "seed", "output_dir"} <= names["01"]
    assert all("random_state" in names[k] for k in ("02", "03", "04", "05"))
