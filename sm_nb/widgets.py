"""Interactive controls for the notebooks — wiring only.

The widgets here connect panel controls to the pure functions of :mod:`sm_nb.plots`
(:func:`~sm_nb.plots.select_field`, :func:`~sm_nb.plots.map_plot`); no science lives here.
Call :func:`sm_nb.notebook.setup` in the notebook before displaying the returned layouts (it
loads Panel with inline resources, so the widgets work offline).

Every explorer redraws its output when a control changes, in the kernel, through
``param.watch`` callbacks (no ``pn.bind`` indirection): setting a control's ``value`` in Python
has the same effect as moving it in the browser, which is what the tests do. :func:`find`
returns a part of a layout by name — controls by their label, outputs by the names listed in each
explorer's docstring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import panel as pn
import xarray as xr

from . import plots
from .conventions import TIME
from .exceptions import DataError, SmNbError

__all__ = ["dataset_explorer", "tc_explorer", "downscale_explorer", "selection_explorer", "find"]

_NA = "n/a"


def _label(text: str) -> dict[str, str]:
    """Widget title keyword: ``label`` on panel >= 1.8 (``name`` is deprecated there), else ``name``."""
    return {"label": text} if "label" in pn.widgets.Select.param else {"name": text}


def find(layout: Any, name: str) -> Any:
    """The part of an explorer layout called ``name``: a control by its label, or an output.

    Parameters
    ----------
    layout : panel layout
        As returned by one of the explorers.
    name : str
        A control's label (``"dataset"``, ``"day"``, ``"train"`` …) or an output's name (``"map"``,
        ``"maps"``, ``"series"``, ``"table"``, ``"status"``, ``"results"``).

    Raises
    ------
    DataError
        No part, or more than one, has that name.
    """
    hits = layout.select(lambda o: getattr(o, "label", None) == name or getattr(o, "name", None) == name)
    hits = list({id(h): h for h in hits}.values())
    if len(hits) != 1:
        names = sorted({str(getattr(o, "label", None) or getattr(o, "name", "")) for o in layout.select()})
        raise DataError(f"{len(hits)} parts of the layout are called {name!r}; expected one of {names}")
    return hits[0]


def _output(name: str) -> pn.Column:
    """An output slot whose content the explorers replace (``slot.objects = [...]``)."""
    return pn.Column(name=name, sizing_mode="fixed")


def dataset_explorer(
    open_fn: Callable[[str], xr.Dataset], names: Sequence[str], initial: str | None = None
) -> pn.layout.Row:
    """A dataset / variable / orbit / frequency / day explorer that redraws a map.

    Parameters
    ----------
    open_fn : callable
        ``open_fn(name) -> Dataset`` (e.g. ``functools.partial(catalog.open, config="demo", seed=0)``);
        each dataset is opened once and kept.
    names : sequence of str
        Gridded catalog datasets offered in the dataset drop-down.
    initial : str, optional
        Dataset shown first (default ``names[0]``).

    Returns
    -------
    panel.Row
        Controls on the left (``dataset``, ``variable``, ``orbit``, ``frequency [GHz]``,
        ``day``), the output ``map`` (:func:`sm_nb.plots.map_plot`, titled with the variable, the
        day and the frequency, its colour bar with the units) on the right. The orbit and
        frequency drop-downs and the day slider are disabled where a dataset has none. Quality
        flags (``flag``) are offered too and drawn as named categories.
    """
    names = list(names)
    if not names:
        raise DataError("dataset_explorer needs at least one dataset name; got an empty list")
    if initial is not None and initial not in names:
        raise DataError(f"initial dataset {initial!r} not in names; expected one of {names}")
    cache: dict[str, xr.Dataset] = {}

    def _open(name: str) -> xr.Dataset:
        if name not in cache:
            cache[name] = open_fn(name)
        return cache[name]

    ds_w = pn.widgets.Select(**_label("dataset"), options=names, value=initial or names[0])
    var_w = pn.widgets.Select(**_label("variable"), options=[_NA])
    orbit_w = pn.widgets.Select(**_label("orbit"), options=[_NA])
    freq_w = pn.widgets.Select(**_label("frequency [GHz]"), options={_NA: None})
    day_w = pn.widgets.IntSlider(**_label("day"), start=0, end=1, value=0)
    out = _output("map")
    busy = {"on": False}  # one redraw per user action while the dependent controls are reset

    def _on_variable(_: Any = None) -> None:
        orbits = plots.split_variables(_open(ds_w.value), flags=True).get(var_w.value, [])
        orbit_w.options = orbits or [_NA]
        orbit_w.value = orbit_w.options[0]
        orbit_w.disabled = not orbits

    def _on_dataset(_: Any = None) -> None:
        ds = _open(ds_w.value)
        groups = plots.split_variables(ds, flags=True)
        var_w.options = list(groups) or [_NA]
        var_w.value = var_w.options[0]
        _on_variable()
        freqs = [float(f) for f in ds["frequency"].values] if "frequency" in ds.dims else []
        freq_w.options = {f"{f:g}": f for f in freqs} or {_NA: None}
        freq_w.value = freqs[0] if freqs else None
        freq_w.disabled = not freqs
        n_time = int(ds.sizes.get(TIME, 1))
        day_w.end = max(n_time - 1, 1)
        day_w.value = min(day_w.value, n_time - 1)
        day_w.disabled = n_time <= 1

    def _draw(_: Any = None) -> None:
        if busy["on"]:
            return
        name, variable, orbit = ds_w.value, var_w.value, orbit_w.value
        try:
            ds = _open(name)
            da = plots.select_field(ds, variable, None if orbit == _NA else orbit, freq_w.value,
                                    day_w.value if TIME in ds.dims else None)
            out.objects = [pn.pane.HoloViews(plots.map_plot(da), name="map plot")]
        except SmNbError as exc:
            out.objects = [pn.pane.Markdown(f"**cannot draw** `{name}` / `{variable}`: {exc}")]

    def _changed(event: Any) -> None:
        busy["on"] = True
        try:
            (_on_dataset if event.obj is ds_w else _on_variable)()
        finally:
            busy["on"] = False
        _draw()

    _on_dataset()
    _draw()
    ds_w.param.watch(_changed, "value")
    var_w.param.watch(_changed, "value")
    for w in (orbit_w, freq_w, day_w):
        w.param.watch(_draw, "value")
    return pn.Row(pn.Column(ds_w, var_w, orbit_w, freq_w, day_w, width=260), out)


def tc_explorer(products: dict[str, xr.DataArray], truth: xr.DataArray | None = None,
                initial: Sequence[str] | None = None, min_corr: float = 0.2, min_n: int = 30) -> pn.layout.Row:
    """Choose three SM products and ``min_corr``; redraw TC maps, box plots and tables.

    Parameters
    ----------
    products : dict name → DataArray (time, lat, lon)
        SM products on one grid (:meth:`sm_nb.Study.sm_products`).
    truth : DataArray (time, lat, lon), optional
        When given, the actual error variance and correlation are shown beside TC's
        (:func:`sm_nb.tc.actual_errors`, :func:`sm_nb.tc_tables.tc_vs_truth`).
    initial : three names, optional
        Default the first three.
    min_corr : float
        Initial masking threshold (paper: 0.2).
    min_n : int
        Fewest complete triplets per place (:func:`sm_nb.tc.triple_collocation`).

    Returns
    -------
    panel.Row
        Three drop-downs (``product 1`` … ``product 3``) and the ``min_corr`` slider on the left;
        the output ``results`` on the right: error-variance and correlation maps, box plots and
        the summary table (and, with ``truth``, TC against the actual errors), redrawn on every
        change.
    """
    from . import tc, tc_tables

    names = list(products)
    if len(names) < 3:
        raise DataError(f"tc_explorer needs at least three products; got {names}")
    first = list(initial) if initial is not None else names[:3]
    if len(first) != 3 or any(n not in names for n in first):
        raise DataError(f"initial is {first!r}; expected three of {names}")
    sel = [pn.widgets.Select(**_label(f"product {k + 1}"), options=names, value=v) for k, v in enumerate(first)]
    corr_w = pn.widgets.FloatSlider(**_label("min_corr"), start=-1.0, end=0.9, step=0.05, value=float(min_corr))

    out = _output("results")

    def _view(x: str, y: str, z: str, mc: float) -> Any:
        try:
            res = tc.triple_collocation(products[x], products[y], products[z], min_corr=mc, min_n=min_n)
            panels = [
                plots.field_maps({f"TC error variance, {p}": res["err_var"].sel(product=p) for p in (x, y, z)}),
                plots.field_maps({f"TC correlation with the truth, {p}": res["rho"].sel(product=p) for p in (x, y, z)},
                                 cmap="viridis"),
                plots.metric_boxplot(res, "err_var") + plots.metric_boxplot(res, "rho"),
                pn.pane.DataFrame(tc.tc_summary(res), sizing_mode="stretch_width"),
            ]
            if truth is not None:
                act = tc.actual_errors([products[x], products[y], products[z]], truth, min_n=min_n)
                panels.append(pn.pane.Markdown("**TC against the actual errors (synthetic truth)**"))
                panels.append(pn.pane.DataFrame(tc_tables.tc_vs_truth(res, act), sizing_mode="stretch_width"))
            return pn.Column(*panels)
        except SmNbError as exc:
            return pn.pane.Markdown(f"**cannot run triple collocation** on `{x}`, `{y}`, `{z}`: {exc}")

    def _draw(_: Any = None) -> None:
        out.objects = [_view(*(w.value for w in sel), corr_w.value)]

    _draw()
    for w in (*sel, corr_w):
        w.param.watch(_draw, "value")
    return pn.Row(pn.Column(*sel, corr_w, width=240), out)


def downscale_explorer(fields: dict[str, xr.DataArray], series: xr.Dataset, lines: Sequence[str],
                       rain: str | None = "precipitation",
                       variants: dict[str, xr.DataArray] | None = None) -> pn.layout.Row:
    """Pick a day and a station; redraw the daily maps and the station's time series.

    Parameters
    ----------
    fields : dict title → DataArray (time, lat, lon)
        Maps drawn for the chosen day with shared colours (e.g. downscaled, coarse NN, CLDAS).
    series : Dataset (station, time)
        Station series (:func:`sm_nb.validation.gauge_series` output, or any per-station Dataset).
    lines : sequence of str
        Variables of ``series`` drawn as lines.
    rain : str or None
        Variable drawn as rain above the lines (``None``: a station dataset without rain).
    variants : dict name → DataArray (time, lat, lon), optional
        Fine products to switch between with a ``variant`` drop-down (the first is shown first);
        the chosen one is drawn before ``fields``.

    Returns
    -------
    panel.Row
        The ``day`` slider, the ``station`` and (with ``variants``) ``variant`` drop-downs on the left; on the right the output
        ``maps`` (every field on the chosen day, shared colours, titles with the day) and
        ``series`` (the station's lines with the chosen day marked), each redrawn when its
        controls change.
    """
    if not fields:
        raise DataError("downscale_explorer needs at least one field")
    times = pd.DatetimeIndex(next(iter(fields.values()))[TIME].values)
    day_w = pn.widgets.DiscreteSlider(**_label("day"), options={str(t.date()): t for t in times}, value=times[len(times) // 2])
    stations = [str(s) for s in series["station"].values]
    st_w = pn.widgets.Select(**_label("station"), options=stations, value=stations[0])

    var_w = pn.widgets.Select(**_label("variant"), options=list(variants), value=next(iter(variants))) if variants else None
    maps_out, series_out = _output("maps"), _output("series")

    def _maps(day: pd.Timestamp) -> Any:
        shown = dict(fields)
        if var_w is not None:
            shown = {f"variant {var_w.value}": variants[var_w.value], **shown}
        try:
            return plots.field_maps({f"{k}, {day.date()}": v.sel({TIME: day}) for k, v in shown.items()})
        except SmNbError as exc:
            return pn.pane.Markdown(f"**cannot draw the maps**: {exc}")

    def _series(station: str, day: pd.Timestamp) -> Any:
        try:
            return plots.gauge_panel(series, station, lines, rain=rain, day=day)
        except SmNbError as exc:
            return pn.pane.Markdown(f"**cannot draw the series**: {exc}")

    def _draw_maps(_: Any = None) -> None:
        maps_out.objects = [_as_pane(_maps(day_w.value))]

    def _draw_series(_: Any = None) -> None:
        series_out.objects = [_as_pane(_series(st_w.value, day_w.value))]

    _draw_maps()
    _draw_series()
    day_w.param.watch(_draw_maps, "value")
    day_w.param.watch(_draw_series, "value")
    st_w.param.watch(_draw_series, "value")
    controls = [day_w, st_w] if var_w is None else [day_w, st_w, var_w]
    if var_w is not None:
        var_w.param.watch(_draw_maps, "value")
    return pn.Row(pn.Column(*controls, width=240), pn.Column(maps_out, series_out))


def _as_pane(obj: Any) -> Any:
    """HoloViews objects in a HoloViews pane, panel objects as they are."""
    return obj if isinstance(obj, pn.viewable.Viewable) else pn.pane.HoloViews(obj)


def selection_explorer(study: Any, inputs: Sequence[str], initial: Sequence[str] | None = None,
                       paper: pd.DataFrame | None = None, train_kwargs: dict[str, Any] | None = None,
                       columns: int = 3) -> pn.Column:
    """Tick any inputs, press **train**, and see the network's maps and scores (notebooks 02, 03).

    Parameters
    ----------
    study : Study
        Where the data come from and the networks are trained (:meth:`sm_nb.Study.train`).
    inputs : sequence of str
        Input names offered as check boxes (:func:`sm_nb.preprocess.valid_inputs`).
    initial : sequence of str, optional
        Ticked and trained when the widget is built (instant when cached), so that a static copy
        of the notebook shows one result.
    paper : DataFrame, optional
        A :mod:`sm_nb.paper` table; combinations it contains show the paper's values beside ours.
    train_kwargs : dict, optional
        Passed to :meth:`sm_nb.Study.train` (``hidden_units``, ``n_restarts``,
        ``max_train_samples``, ``cv_folds``, ``random_state``, ``cache``).
    columns : int
        Check boxes per row.

    Returns
    -------
    panel.Column
        Check boxes (labelled with the input names), the ``train`` button with a progress
        indicator and the ``status`` line, the ``table`` of every combination trained in this
        session (newest first), and the ``maps`` (:func:`sm_nb.plots.experiment_maps`) of the
        last one. Training runs in the kernel: the
        button is disabled until it is done; errors are shown in the status line.
    """
    from . import paper as paper_tables
    from . import selection

    names = list(dict.fromkeys(str(n) for n in inputs))
    if not names:
        raise DataError("selection_explorer needs at least one input name; got an empty list")
    offered = {selection.combination_label([n]): n for n in names}  # aliases: AMSR2_TBH_D = AMSR2_10.7_TBH_D
    ticked = {offered.get(selection.combination_label([n])) for n in (initial or [])}
    if None in ticked:
        unknown = [n for n in initial or [] if selection.combination_label([n]) not in offered]
        raise DataError(f"initial input(s) {unknown} are not offered; expected some of {names}")
    kwargs = dict(train_kwargs or {})
    boxes = {n: pn.widgets.Checkbox(**_label(n), value=n in ticked) for n in names}
    style = {"color": "primary"} if "color" in pn.widgets.Button.param else {"button_type": "primary"}
    button = pn.widgets.Button(**_label("train"), **style, width=120)
    bar = pn.indicators.Progress(active=False, value=0, max=1, width=220, bar_color="primary")
    status = pn.pane.Markdown("Tick inputs and press **train**.", width=700, name="status")
    table = pn.pane.DataFrame(pd.DataFrame(), index=False, width=1000, name="table")
    maps = pn.Column(name="maps")
    results: dict[str, Any] = {}

    def _show() -> None:
        ours = selection.results_table(list(results.values())[::-1])
        if paper is not None and len(ours):
            ours = paper_tables.side_by_side(ours, paper, how="ours")
        table.object = ours.round(4)

    def _train(_: Any = None) -> None:
        chosen = [n for n, box in boxes.items() if box.value]
        if not chosen:
            status.object = "**Tick at least one input.**"
            return
        button.disabled, bar.active, bar.value = True, True, -1
        status.object = f"training on {' + '.join(chosen)} …"
        try:
            r = study.train(chosen, **kwargs)
        except SmNbError as exc:
            status.object = f"**cannot train** {' + '.join(chosen)}: {exc}"
            return
        finally:
            button.disabled, bar.active, bar.value = False, False, 1
        results.pop(r.label, None)
        results[r.label] = r
        status.object = f"`{r!r}`"
        maps.objects = [pn.pane.HoloViews(plots.experiment_maps(study.result_maps(r)))]
        _show()

    button.on_click(_train)
    if initial:
        _train()
    grid = pn.GridBox(*boxes.values(), ncols=max(1, int(columns)))
    return pn.Column(grid, pn.Row(button, bar), status, table, maps)
