"""Interactive figures: functions that build and *return* hvplot/holoviews objects.

Nothing here displays anything; notebooks show what these functions return. Writing figures
to disk lives in :mod:`sm_nb.plots.static`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr
from hvplot import hvPlot, hvPlotTabular

from ..conventions import LAT, LON, STATION, TIME
from ..exceptions import DataError
from ._common import (
    _MAX_PIXELS,
    DEFAULT_CMAPS,
    ORBIT_SUFFIXES,
    _default_title,
    _is_regular,
    _map_field,
    _panel_style,
    _shared_clim,
    _site_frame,
    categories,
    category_colors,
    colorbar_label,
    encode_categories,
    geographic_aspect,
)

# hvPlot's classes are used directly (``hvPlot(da).image()`` is what ``da.hvplot.image()`` does):
# ``import hvplot.xarray`` would load the notebook extension from the CDN as a side effect, before
# sm_nb.notebook.setup() can make it inline (see sm_nb.notebook).


def map_plot(
    da: xr.DataArray,
    title: str | None = None,
    cmap: str | None = None,
    clim: tuple[float, float] | None = None,
    width: int = 520,
    height: int = 340,
    max_pixels: int = _MAX_PIXELS,
) -> hv.Element:
    """A geographic map (lon on x, lat on y) of one 2-D field with a labelled colour bar.

    Parameters
    ----------
    da : DataArray (lat, lon)
        The field; extra dims must have length 1 (select a ``time``/``frequency`` first).
        Regular grids give an ``hv.Image``; irregular ones (EASE-Grid 2.0 rows) a ``hv.QuadMesh``.
        A categorical field (CF ``flag_values``/``flag_meanings``, or ``flag_masks``) is drawn
        with one colour per class and a key with the class names (:func:`categories`).
    title : str, optional
        Defaults to ``long_name`` (plus the selected time, if any).
    cmap : str, optional
        Defaults by units (:data:`DEFAULT_CMAPS`); ignored for categorical fields.
    clim : (float, float), optional
        Colour limits; default the 2nd–98th percentile of the finite values; ignored for
        categorical fields.
    width, height : int
        The largest plot frame in screen pixels; the frame keeps the geographic aspect
        (a degree of latitude is 1/cos(latitude) times as tall as a degree of longitude), also
        when zooming.
    max_pixels : int
        Fields with more cells are reduced for display only (block means; every n-th cell for
        categorical fields), the data are unchanged.

    Returns
    -------
    holoviews.Image or holoviews.QuadMesh
        Colour-bar label ``"<name> [<units>]"`` (see :func:`colorbar_label`).
    """
    da = _map_field(da)
    name = str(da.name or "value")
    da = da.rename(name)
    units = str(da.attrs.get("units", "?"))
    classes = categories(da)
    if da.size > max_pixels:
        f = int(np.ceil(np.sqrt(da.size / max_pixels)))
        attrs = dict(da.attrs)
        da = da.isel({LAT: slice(f // 2, None, f), LON: slice(f // 2, None, f)}) if classes else \
            da.coarsen({LAT: f, LON: f}, boundary="trim").mean()
        da.attrs = attrs
    if title is None:
        title = _default_title(da)
    opts: dict[str, Any] = {
        "x": LON,
        "y": LAT,
        "title": title,
        "clabel": colorbar_label(da),
        "colorbar": True,
        "xlabel": "longitude [degrees_east]",
        "ylabel": "latitude [degrees_north]",
        **_frame(da, width, height),
    }
    style: dict[str, Any] = {}
    if classes:
        da = encode_categories(da, classes).rename(name)
        n = len(classes)
        opts.update(cmap=category_colors(classes), clim=(-0.5, n - 0.5), clabel=f"{name} (class)")
        from bokeh.models import FixedTicker

        style["colorbar_opts"] = {"ticker": FixedTicker(ticks=list(range(n))),
                                  "major_label_overrides": {k: v for k, v in enumerate(classes.values())}}
        style["color_levels"] = n
    else:
        if clim is None:
            vals = np.asarray(da.values, dtype=float)
            finite = vals[np.isfinite(vals)]
            if finite.size:
                lo, hi = np.percentile(finite, [2, 98])
                clim = (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(hi) + 0.5)
        opts["cmap"] = cmap or DEFAULT_CMAPS.get(units, "viridis")
        if clim is not None:
            opts["clim"] = clim
    regular = _is_regular(np.asarray(da[LAT].values)) and _is_regular(np.asarray(da[LON].values))
    plot = hvPlot(da).image(**opts) if regular else hvPlot(da).quadmesh(**opts)
    return plot.opts(**style) if style else plot


def _frame(da: xr.DataArray, width: int, height: int) -> dict[str, Any]:
    """Frame size and ``data_aspect`` so that the map keeps its geographic aspect inside width × height."""
    aspect = geographic_aspect(da)
    lat, lon = np.asarray(da[LAT].values, float), np.asarray(da[LON].values, float)
    span_lat = float(np.ptp(lat)) + (abs(lat[1] - lat[0]) if lat.size > 1 else 1.0)
    span_lon = float(np.ptp(lon)) + (abs(lon[1] - lon[0]) if lon.size > 1 else 1.0)
    frame_w = max(int(width) - 130, 80)  # room for the axis and the colour bar with its labels
    frame_h = max(int(height) - 60, 60)  # room for the title and the x axis
    ratio = span_lat * aspect / span_lon  # frame height / frame width
    if frame_w * ratio > frame_h:
        frame_w = int(round(frame_h / ratio))
    return {"frame_width": frame_w, "data_aspect": aspect}


def orbit_maps(
    ds: xr.Dataset, variable: str, time: int | str | pd.Timestamp | None = None,
    frequency: float | None = None, clim: tuple[float, float] | None = None, **kwargs: Any,
) -> hv.Layout:
    """Ascending and descending maps of one variable side by side (shared colour limits).

    Parameters
    ----------
    ds : Dataset
        A product with ``<variable>_asc`` and ``<variable>_desc``.
    variable : str
        Base name (``tbh``, ``tbv``, ``sm``, ``sigma40``).
    time, frequency
        As for :func:`select_field`.
    clim : (float, float), optional
        Default: 2nd–98th percentile of both orbits together.
    **kwargs
        Passed to :func:`map_plot`.
    """
    orbits = split_variables(ds).get(variable, [])
    if not orbits:
        raise DataError(f"variable {variable!r} has no orbit variables in dataset; expected {variable}_asc/_desc "
                        f"among {sorted(map(str, ds.data_vars))}")
    fields = [select_field(ds, variable, o, frequency, time) for o in orbits]
    if clim is None:
        vals = np.concatenate([np.asarray(f.values, dtype=float).ravel() for f in fields])
        vals = vals[np.isfinite(vals)]
        if vals.size:
            lo, hi = np.percentile(vals, [2, 98])
            clim = (float(lo), float(hi)) if hi > lo else None
    return hv.Layout([map_plot(f, clim=clim, **kwargs) for f in fields]).cols(2)


def sites_overlay(gdf: pd.DataFrame, size: int = 80) -> hv.Element:
    """Stations and gauges as points coloured by ``kind``, hover showing name and attributes.

    Parameters
    ----------
    gdf : GeoDataFrame or DataFrame
        One row per site with ``name`` (column or index), ``lat``, ``lon`` (degrees) and
        optionally ``kind`` (``sm_station`` / ``rain_gauge``) and any other columns (shown on hover).
    size : int
        Marker size.

    Returns
    -------
    holoviews.Points or holoviews.NdOverlay
        Overlay it on a map with ``*``: ``map_plot(dem) * sites_overlay(sites)``.
    """
    df = _site_frame(gdf)
    hover = [c for c in df.columns if c not in (LAT, LON, "kind") and df[c].dtype.kind in "biufOUS"]
    return hvPlotTabular(df).points(
        x=LON, y=LAT, by="kind", hover_cols=["name", "kind", *[c for c in hover if c != "name"]],
        size=size, marker="triangle", line_color="black", legend="bottom_right",
    )


def station_series(
    ds_or_da: xr.Dataset | xr.DataArray,
    variable: str | None = None,
    stations: Sequence[str] | None = None,
    title: str | None = None,
    width: int = 700,
    height: int = 280,
) -> hv.Element:
    """Time series of a per-station variable, one line per station.

    Parameters
    ----------
    ds_or_da : Dataset or DataArray (station, time)
        E.g. ``stations_sm`` (``sm``, m3 m-3) or ``rain_gauges`` (``precipitation``, mm d-1).
    variable : str, optional
        Variable of a Dataset; defaults to its first data variable.
    stations : sequence of str, optional
        Subset of station labels (all by default).
    title : str, optional
        Defaults to the variable's ``long_name``.

    Returns
    -------
    holoviews.NdOverlay
        Lines by station; y-axis labelled with the units.
    """
    if isinstance(ds_or_da, xr.Dataset):
        names = list(ds_or_da.data_vars)
        variable = variable or (names[0] if names else None)
        if variable not in ds_or_da.data_vars:
            raise DataError(f"variable {variable!r} not in the station dataset; expected one of {names}")
        da = ds_or_da[variable]
    else:
        da = ds_or_da
    for d in (STATION, TIME):
        if d not in da.dims:
            raise DataError(f"station series input lacks dimension {d!r}; it has {tuple(da.dims)}, expected (station, time)")
    if stations is not None:
        da = da.sel({STATION: list(stations)})
    name = str(da.name or "value")
    da = da.rename(name)
    return hvPlot(da).line(
        x=TIME, by=STATION, title=title or str(da.attrs.get("long_name", name)),
        ylabel=colorbar_label(da), width=width, height=height, legend="right",
    )


def split_variables(ds: xr.Dataset, flags: bool = False) -> dict[str, list[str]]:
    """Group data variables by base name: ``tbh_asc, tbh_desc`` → ``{"tbh": ["asc", "desc"]}``.

    Variables without an orbit suffix map to an empty list. Quality flags (``flag_*``) are left
    out unless ``flags`` is true (then ``flag_asc, flag_desc`` → ``{"flag": ["asc", "desc"]}``,
    after the other variables; :func:`map_plot` draws them as categories named by their set bits).
    """
    out: dict[str, list[str]] = {}
    for v in ds.data_vars:
        v = str(v)
        if v.startswith("flag") and not flags:
            continue
        base, _, suffix = v.rpartition("_")
        if base and suffix in ORBIT_SUFFIXES:
            out.setdefault(base, []).append(suffix)
        else:
            out.setdefault(v, [])
    return {k: out[k] for k in sorted(out, key=lambda k: k.startswith("flag"))}  # flags last


def select_field(
    ds: xr.Dataset,
    variable: str,
    orbit: str | None = None,
    frequency: float | None = None,
    time: int | str | pd.Timestamp | None = None,
) -> xr.DataArray:
    """Pick one 2-D (lat, lon) field out of a catalog dataset.

    Parameters
    ----------
    ds : Dataset
        A catalog dataset (products, truth, MODIS, static fields).
    variable : str
        Base variable name (``tbh``, ``sm``, ``sigma40``, ``elevation`` …) or a full name.
    orbit : {"asc", "desc"}, optional
        Appended to ``variable`` when the dataset stores orbits separately.
    frequency : float, optional
        GHz, nearest channel; default the first (only where a ``frequency`` dim exists).
    time : int, str or Timestamp, optional
        Integer position or a date (nearest); default the first time step.

    Returns
    -------
    DataArray (lat, lon)
        With its attributes (units, long_name) kept.
    """
    name = f"{variable}_{orbit}" if orbit and variable in split_variables(ds, flags=True) else variable
    if name not in ds.data_vars:
        raise DataError(f"variable {name!r} not in dataset; expected one of {sorted(map(str, ds.data_vars))}")
    da = ds[name]
    if "frequency" in da.dims:
        da = da.isel(frequency=0) if frequency is None else da.sel(frequency=frequency, method="nearest")
    if TIME in da.dims:
        if time is None:
            da = da.isel({TIME: 0})
        elif isinstance(time, int | np.integer):
            da = da.isel({TIME: int(time)})
        else:
            da = da.sel({TIME: pd.Timestamp(time)}, method="nearest")
    return da


# ---------------------------------------------------------------------------------------------
# triple collocation and downscaling figures (notebooks 04 and 05)
# ---------------------------------------------------------------------------------------------
def field_maps(fields: dict[str, xr.DataArray], clim: tuple[float, float] | None = None, cols: int = 3,
               **kwargs: Any) -> hv.Layout:
    """Maps of several (lat, lon) fields side by side with shared colour limits.

    Parameters
    ----------
    fields : dict title → DataArray (lat, lon)
        E.g. ``{"downscaled": sm.mean("time"), "coarse NN": nn.mean("time")}``.
    clim : (float, float), optional
        Default: the 2nd–98th percentile of all fields together.
    cols : int
        Maps per row.
    **kwargs
        Passed to :func:`map_plot` (``cmap``, ``width``, ``height``).
    """
    if not fields:
        raise DataError("field_maps needs at least one field; got an empty dict")
    maps = [_map_field(f) for f in fields.values()]
    clim = clim or _shared_clim(maps)
    return hv.Layout([map_plot(f, title=t, clim=clim, **kwargs) for t, f in zip(fields, maps, strict=True)]).cols(cols)


def zoomable_map(da: xr.DataArray, title: str | None = None, max_pixels: int = 2_000_000, **kwargs: Any) -> hv.Element:
    """A large map at full resolution (up to ``max_pixels``) with the wheel-zoom tool active."""
    return map_plot(da, title=title, width=kwargs.pop("width", 900), height=kwargs.pop("height", 600),
                    max_pixels=max_pixels, **kwargs).opts(active_tools=["wheel_zoom"])


def metric_boxplot(ds: xr.Dataset, metric: str, title: str | None = None, width: int = 380, height: int = 320) -> hv.Element:
    """Box-whisker plot of ``ds[metric]`` (product, ...) per product over all places (paper Fig. 8).

    Parameters
    ----------
    ds : Dataset
        E.g. :func:`sm_nb.tc.triple_collocation` output; ``metric`` has a ``product`` dim.
    metric : str
        ``"err_var"`` or ``"rho"``.
    """
    if metric not in ds or "product" not in ds[metric].dims:
        raise DataError(f"{metric!r} with a 'product' dim not in ds; expected one of {sorted(map(str, ds.data_vars))}")
    da = ds[metric]
    df = da.to_dataframe(name=metric).reset_index()[["product", metric]].dropna()
    label = f"{metric} [{da.attrs.get('units', '?')}]"
    return hvPlotTabular(df).box(y=metric, by="product", ylabel=label, title=title or str(da.attrs.get("long_name", metric)),
                         width=width, height=height)


def estimate_scatter(estimate: xr.Dataset, actual: xr.Dataset, metric: str, width: int = 420, height: int = 380) -> hv.Overlay:
    """Per-place scatter of an estimate (e.g. TC) against the actual value, by product, with the 1:1 line."""
    frames = []
    for prod in estimate["product"].values:
        a = np.asarray(estimate[metric].sel(product=prod).values, float).ravel()
        b = np.asarray(actual[metric].sel(product=prod).values, float).ravel()
        ok = np.isfinite(a) & np.isfinite(b)
        frames.append(pd.DataFrame({"actual": b[ok], "estimate": a[ok], "product": str(prod)}))
    df = pd.concat(frames, ignore_index=True)
    if df.empty:
        raise DataError(f"no place has both an estimated and an actual {metric!r}")
    lo, hi = float(df[["actual", "estimate"]].min().min()), float(df[["actual", "estimate"]].max().max())
    units = estimate[metric].attrs.get("units", "?")
    pts = hvPlotTabular(df).scatter(x="actual", y="estimate", by="product", alpha=0.5, size=8, width=width, height=height,
                            xlabel=f"actual {metric} [{units}]", ylabel=f"estimated {metric} [{units}]",
                            title=f"{metric}: estimate vs truth, per place")
    return pts * hv.Curve([(lo, lo), (hi, hi)]).opts(color="black", line_dash="dashed")


def gauge_panel(series: xr.Dataset, station: str, products: Sequence[str], rain: str | None = "precipitation",
                day: Any = None, width: int = 760) -> hv.Layout | hv.Overlay:
    """Daily rain above the products' soil moisture (lines) at one site (paper Fig. 10).

    Parameters
    ----------
    series : Dataset (station, time)
        :func:`sm_nb.validation.gauge_series` output.
    station : str
        Site name.
    products : sequence of str
        Variables of ``series`` drawn as lines with markers (m3 m-3); missing days are gaps.
    rain : str or None
        Variable drawn as a step curve above the lines; ``None``: lines only.
    day : date, optional
        Marked by a vertical line.
    """
    if station not in series[STATION].values:
        raise DataError(f"station {station!r} not in the series; expected one of {list(map(str, series[STATION].values))}")
    s = series.sel({STATION: station})
    lines = []
    for name in products:
        if name not in s:
            raise DataError(f"product {name!r} not in the series; expected one of {sorted(map(str, s.data_vars))}")
        v = s[name].to_series()
        lines.append(hv.Curve((v.index, v.values), "time", "soil moisture [m3 m-3]", label=name)
                     * hv.Scatter((v.index, v.values), "time", "soil moisture [m3 m-3]", label=name).opts(size=4))
    sm = hv.Overlay(lines).opts(legend_position="right", width=width, height=260,
                                title=f"{station}: soil moisture" if rain is None else "")
    vline = hv.VLine(pd.Timestamp(day)).opts(color="grey", line_dash="dotted") if day is not None else None
    if vline is not None:
        sm = sm * vline
    if rain is None:
        return sm
    p = s[rain].to_series()
    bars = hv.Curve((p.index, p.values), "time", f"{rain} [{s[rain].attrs.get('units', 'mm d-1')}]").opts(
        interpolation="steps-mid", color="steelblue", width=width, height=170, title=f"{station}: daily rain and soil moisture")
    if vline is not None:
        bars = bars * vline
    return (bars + sm).cols(1)


# ---------------------------------------------------------------------------------------------
# selection experiments (notebooks 02 and 03)
# ---------------------------------------------------------------------------------------------
def experiment_maps(maps: dict[str, xr.DataArray], width: int = 330, height: int = 240) -> hv.Layout:
    """The maps of one selection experiment side by side (paper Figures 4–6, one row).

    Parameters
    ----------
    maps : dict of str to DataArray (lat, lon)
        As returned by :func:`sm_nb.selection.result_maps` (``input``, ``sm_mean``,
        ``rho_temporal``, ``cv_rho_temporal``); drawn in that order.
    width, height : int
        Size of each map.

    Returns
    -------
    holoviews.Layout
        Correlation maps use a diverging colour map fixed to [−1, 1].
    """
    order = [k for k in ("input", "sm_mean", "rho_temporal", "cv_rho_temporal") if k in maps]
    if not order:
        raise DataError(f"maps has keys {sorted(maps)}; expected some of input, sm_mean, rho_temporal, cv_rho_temporal")
    return hv.Layout([map_plot(maps[k], width=width, height=height, **_panel_style(maps[k]))
                      for k in order]).cols(len(order))


def paper_scatter(table: pd.DataFrame, metric: str = "rho_spatial", width: int = 420,
                  height: int = 380) -> hv.Overlay:
    """sm_nb's values against the paper's for one metric (a :func:`sm_nb.paper.side_by_side` table).

    Points carry the ``inputs`` label on hover; the dashed line is y = x.
    """
    for c in (metric, f"{metric}_paper", "inputs"):
        if c not in table.columns:
            raise DataError(f"table lacks column {c!r}; it has {list(table.columns)}, expected a side_by_side table")
    df = table[["inputs", metric, f"{metric}_paper"]].dropna()
    lo = float(np.nanmin(df[[metric, f"{metric}_paper"]].values)) if len(df) else 0.0
    hi = float(np.nanmax(df[[metric, f"{metric}_paper"]].values)) if len(df) else 1.0
    pts = hvPlotTabular(df).scatter(x=f"{metric}_paper", y=metric, hover_cols=["inputs"], size=60,
                            xlabel=f"{metric} (Lv et al. 2021)", ylabel=f"{metric} (sm_nb)",
                            width=width, height=height, title=f"{metric}: sm_nb against the paper")
    return pts * hv.Curve([(lo, lo), (hi, hi)]).opts(line_dash="dashed", color="gray")
