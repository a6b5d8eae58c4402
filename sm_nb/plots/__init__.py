"""Plots for the notebooks.

:mod:`sm_nb.plots.interactive` builds and *returns* hvplot/holoviews objects (nothing here
displays anything; notebooks show what these functions return); :mod:`sm_nb.plots.static`
writes figures to disk atomically (temporary file, then ``os.replace``) — :func:`save` for
any figure and the ``save_png_*`` functions drawing PNGs with matplotlib, because bokeh's PNG
export needs a browser (chromium/selenium), which the sm_nb environment does not ship.
Shared helpers (colour maps, colour-bar labels, colour limits) live in ``_common``.

:func:`dataset_table` lives in :mod:`sm_nb.catalog` and is re-exported here for the notebooks.
"""

from __future__ import annotations

from ..catalog import dataset_table
from ._common import DEFAULT_CMAPS, ORBIT_SUFFIXES, colorbar_label
from .interactive import (
    estimate_scatter,
    experiment_maps,
    field_maps,
    gauge_panel,
    map_plot,
    metric_boxplot,
    orbit_maps,
    paper_scatter,
    select_field,
    sites_overlay,
    split_variables,
    station_series,
    zoomable_map,
)
from .static import (
    save,
    save_png_boxplot,
    save_png_gauges,
    save_png_map,
    save_png_map_grid,
    save_png_panels,
    save_png_series,
)

__all__ = [
    "map_plot",
    "orbit_maps",
    "sites_overlay",
    "station_series",
    "dataset_table",
    "select_field",
    "split_variables",
    "save",
    "save_png_map",
    "save_png_series",
    "colorbar_label",
    "DEFAULT_CMAPS",
    "ORBIT_SUFFIXES",
    "field_maps",
    "zoomable_map",
    "metric_boxplot",
    "estimate_scatter",
    "gauge_panel",
    "save_png_panels",
    "save_png_boxplot",
    "save_png_gauges",
    "experiment_maps",
    "paper_scatter",
    "save_png_map_grid",
]
