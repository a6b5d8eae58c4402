"""Interactive controls for the notebooks — wiring only.

The widgets here connect panel controls to the pure functions of :mod:`sm_nb.plots`
(:func:`~sm_nb.plots.select_field`, :func:`~sm_nb.plots.map_plot`); no science lives here.
Call ``panel.extension()`` in the notebook before displaying the returned layouts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import panel as pn
import xarray as xr

from . import plots
from .conventions import TIME
from .exceptions import DataError, SmNbError

__all__ = ["dataset_explorer"]

_NA = "n/a"


def _label(text: str) -> dict[str, str]:
    """Widget title keyword: ``label`` on panel >= 1.8 (``name`` is deprecated there), else ``name``."""
    return {"label": text} if "label" in pn.widgets.Select.param else {"name": text}


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
        Controls on the left, the map (:func:`sm_nb.plots.map_plot`) on the right. The orbit
        and frequency drop-downs and the day slider are disabled where a dataset has none.
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
    day_w = pn.widgets.IntSlider(**_label("day (index into time)"), start=0, end=1, value=0)

    def _on_variable(_: Any = None) -> None:
        orbits = plots.split_variables(_open(ds_w.value)).get(var_w.value, [])
        orbit_w.options = orbits or [_NA]
        orbit_w.value = orbit_w.options[0]
        orbit_w.disabled = not orbits

    def _on_dataset(_: Any = None) -> None:
        ds = _open(ds_w.value)
        groups = plots.split_variables(ds)
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

    def _view(name: str, variable: str, orbit: str, frequency: float | None, day: int) -> Any:
        try:
            ds = _open(name)
            da = plots.select_field(ds, variable, None if orbit == _NA else orbit, frequency,
                                    day if TIME in ds.dims else None)
            return plots.map_plot(da)
        except SmNbError as exc:
            return pn.pane.Markdown(f"**cannot draw** `{name}` / `{variable}`: {exc}")

    _on_dataset()
    ds_w.param.watch(_on_dataset, "value")
    var_w.param.watch(_on_variable, "value")
    view = pn.bind(_view, ds_w, var_w, orbit_w, freq_w, day_w)
    return pn.Row(pn.Column(ds_w, var_w, orbit_w, freq_w, day_w, width=260), pn.panel(view))
