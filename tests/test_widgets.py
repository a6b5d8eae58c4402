"""The explorers do what they say: set a control's value in Python, check the redrawn output.

Each test changes a control the way a user would (``widget.value = ...``, ``button.clicks += 1``)
and asserts on the new output object: the variable, its units and the day of the map, a new table
row, new maps. All on the ``mini`` scenario.
"""

from __future__ import annotations

import holoviews as hv
import pandas as pd
import pytest

pn = pytest.importorskip("panel")

from sm_nb import Study, plots, widgets  # noqa: E402
from sm_nb.exceptions import DataError  # noqa: E402


@pytest.fixture(scope="module")
def study(mini):
    return Study("mini", 0)


def _element(slot) -> hv.core.Dimensioned:
    """The HoloViews object shown in an output slot (a one-pane Column)."""
    assert len(slot.objects) == 1, f"output {slot.name!r} holds {len(slot.objects)} objects"
    pane = slot.objects[0]
    assert isinstance(pane, pn.pane.HoloViews), f"output {slot.name!r} shows {type(pane).__name__}: {pane.object!r}"
    return pane.object


def _opts(el) -> dict:
    return el.opts.get().kwargs


def test_dataset_explorer_redraws_the_chosen_variable_units_and_day(study):
    names = ["smap_tb", "amsr2_tb", "land_cover", "truth_sm"]
    layout = widgets.dataset_explorer(study.open, names, initial="smap_tb")
    out = widgets.find(layout, "map")
    first = _element(out)
    ds = study.open("smap_tb")
    day0 = pd.Timestamp(ds["time"].values[0]).date()
    assert str(day0) in _opts(first)["title"]
    assert "[K]" in str(_opts(first).get("clabel"))

    widgets.find(layout, "variable").value = "tbv"
    widgets.find(layout, "orbit").value = "desc"
    widgets.find(layout, "day").value = 7
    el = _element(out)
    assert el is not first
    assert el.vdims[0].name == "tbv_desc"
    assert _opts(el)["clabel"] == "tbv_desc [K]"
    assert str(pd.Timestamp(ds["time"].values[7]).date()) in _opts(el)["title"]
    # the map shows exactly the selected field
    expected = plots.select_field(ds, "tbv", "desc", time=7)
    got = el.dimension_values(2, flat=False)
    assert got.shape == expected.shape

    widgets.find(layout, "dataset").value = "amsr2_tb"
    widgets.find(layout, "frequency [GHz]").value = 10.65
    el = _element(out)
    assert "10.65 GHz" in _opts(el)["title"] and "[K]" in _opts(el)["clabel"]

    widgets.find(layout, "dataset").value = "land_cover"  # static, categorical
    assert widgets.find(layout, "day").disabled and widgets.find(layout, "orbit").disabled
    widgets.find(layout, "variable").value = "land_cover"
    el = _element(out)
    ticks = _opts(el)["colorbar_opts"]["major_label_overrides"]
    assert "alpine_meadow" in ticks.values() and "water" in ticks.values()

    widgets.find(layout, "dataset").value = "smap_tb"
    widgets.find(layout, "variable").value = "flag"  # quality flags: named categories
    labels = set(_opts(_element(out))["colorbar_opts"]["major_label_overrides"].values())
    assert labels and all(set(lab.split("+")) <= {"none", "frozen", "snow", "water_fraction_gt_0.05", "rfi_detected",
                                                  "mountainous", "vwc_gt_5"} for lab in labels)


def test_selection_explorer_tick_train_adds_a_row_and_redraws_the_maps(study):
    kwargs = {"hidden_units": 3, "n_restarts": 1, "cv_folds": 0, "max_train_samples": 2000}
    layout = widgets.selection_explorer(study, ["SMAP_TBV_A", "DEM", "NDVI"], initial=["SMAP_TBV_A"], train_kwargs=kwargs)
    table, maps, status = (widgets.find(layout, n) for n in ("table", "maps", "status"))
    assert table.object["inputs"].tolist() == ["SMAP_TBV_A"]
    first_maps = _element(maps)

    widgets.find(layout, "DEM").value = True
    widgets.find(layout, "train").clicks += 1
    assert table.object["inputs"].tolist() == ["SMAP_TBV_A + DEM", "SMAP_TBV_A"], status.object
    new_maps = _element(maps)
    assert new_maps is not first_maps and isinstance(new_maps, hv.Layout)
    clabels = [str(_opts(m).get("clabel")) for m in new_maps]
    assert any("m3 m-3" in c for c in clabels), clabels
    assert "SMAP_TBV_A + DEM" in status.object
    assert not widgets.find(layout, "train").disabled


def test_tc_explorer_redraws_for_the_chosen_products_and_threshold(study):
    products = study.sm_products()
    layout = widgets.tc_explorer(products, initial=["FY3C_asc", "CLDAS", "GEOS5"], min_n=10)
    out = widgets.find(layout, "results")
    before = out.objects[0]
    table_before = [o for o in before.objects if isinstance(o, pn.pane.DataFrame)][0].object
    assert set(table_before["product"]) == {"FY3C_asc", "CLDAS", "GEOS5"}

    widgets.find(layout, "product 1").value = "SMAP_asc"
    after = out.objects[0]
    assert after is not before
    table = [o for o in after.objects if isinstance(o, pn.pane.DataFrame)][0].object
    assert set(table["product"]) == {"SMAP_asc", "CLDAS", "GEOS5"}
    titles = [_opts(m)["title"] for m in after.objects[0].object]
    assert any("SMAP_asc" in t for t in titles)

    widgets.find(layout, "min_corr").value = 0.6  # stricter: fewer places kept
    stricter = [o for o in out.objects[0].objects if isinstance(o, pn.pane.DataFrame)][0].object
    assert stricter["n_places"].max() < table["n_places"].max()
    widgets.find(layout, "min_corr").value = 0.9  # nothing left: the output says why, not an empty box
    assert isinstance(out.objects[0], pn.pane.Markdown)
    assert "cannot run triple collocation" in out.objects[0].object and "min_corr=0.9" in out.objects[0].object


def test_downscale_explorer_redraws_the_day_and_the_station(study):
    import sm_nb
    from sm_nb import validation

    prods = study.sm_products()
    truth = sm_nb.open_dataset("truth_sm", config="mini", seed=0)["sm"]
    gauges = sm_nb.open_dataset("rain_gauges", config="mini", seed=0)
    series = validation.gauge_series(gauges, {"truth": truth, "CLDAS": prods["CLDAS"]})
    layout = widgets.downscale_explorer({"truth": truth, "CLDAS": prods["CLDAS"]}, series, ["truth", "CLDAS"])
    maps, lines = widgets.find(layout, "maps"), widgets.find(layout, "series")
    day_w = widgets.find(layout, "day")
    new_day = list(day_w.options.values())[3]
    old_series = _element(lines)

    day_w.value = new_day
    el = _element(maps)
    titles = [_opts(m)["title"] for m in el]
    assert titles == [f"truth, {new_day.date()}", f"CLDAS, {new_day.date()}"]
    assert all("m3 m-3" in _opts(m)["clabel"] for m in el)
    assert _element(lines) is not old_series

    stations = widgets.find(layout, "station").options
    if len(stations) > 1:
        widgets.find(layout, "station").value = stations[1]
        assert stations[1] in str(_element(lines))


def test_downscale_explorer_switches_the_variant(study):
    import sm_nb
    from sm_nb import validation

    truth = sm_nb.open_dataset("truth_sm", config="mini", seed=0)["sm"]
    gauges = sm_nb.open_dataset("rain_gauges", config="mini", seed=0)
    series = validation.gauge_series(gauges, {"truth": truth})
    wetter = (truth + 0.1).assign_attrs(units="m3 m-3")
    layout = widgets.downscale_explorer({"truth": truth}, series, ["truth"], variants={"a": truth, "b": wetter})
    maps, var_w, day_w = widgets.find(layout, "maps"), widgets.find(layout, "variant"), widgets.find(layout, "day")
    day = day_w.value
    assert [_opts(m)["title"] for m in _element(maps)] == [f"variant a, {day.date()}", f"truth, {day.date()}"]
    var_w.value = "b"
    el = _element(maps)
    assert _opts(el[0])["title"] == f"variant b, {day.date()}"
    assert "m3 m-3" in _opts(el[0])["clabel"]


def test_find_names_the_parts_it_has(study):
    layout = widgets.dataset_explorer(study.open, ["land_cover"])
    with pytest.raises(DataError, match=r"0 parts of the layout are called 'nope'; expected one of .*dataset"):
        widgets.find(layout, "nope")
