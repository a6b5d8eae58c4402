"""Plots for the notebooks: functions that build and *return* hvplot/holoviews objects.

Nothing here displays anything; notebooks show what these functions return, and
:func:`save` / :func:`save_png_map` write figures to disk atomically (temporary file, then
``os.replace``). PNG files are drawn with matplotlib because bokeh's PNG export needs a
browser (chromium/selenium), which the sm_nb environment does not ship.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers the .hvplot accessor on pandas objects)
import hvplot.xarray  # noqa: F401  (registers the .hvplot accessor on xarray objects)
import numpy as np
import pandas as pd
import xarray as xr

from .conventions import LAT, LON, STATION, TIME
from .exceptions import DataError

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

#: default colour maps by units (or variable name fragments)
DEFAULT_CMAPS: dict[str, str] = {
    "m3 m-3": "YlGnBu",
    "K": "inferno",
    "dB": "cividis",
    "m": "gist_earth",
    "degree": "viridis",
    "mm d-1": "Blues",
    "1": "viridis",
}
ORBIT_SUFFIXES = ("asc", "desc")
_MAX_PIXELS = 400_000  # display-only coarsening above this many map pixels


def colorbar_label(da: xr.DataArray) -> str:
    """``"<name> [<units>]"`` from ``da.name`` and ``da.attrs['units']`` (units ``?`` if absent)."""
    return f"{da.name or 'value'} [{da.attrs.get('units', '?')}]"


def _is_regular(values: np.ndarray) -> bool:
    if values.size < 3:
        return True
    d = np.diff(values)
    return bool(np.allclose(d, d[0], rtol=1e-4, atol=1e-9))


def _map_field(da: xr.DataArray) -> xr.DataArray:
    """Squeeze length-1 extra dims; refuse anything but (lat, lon)."""
    missing = [d for d in (LAT, LON) if d not in da.dims]
    if missing:
        raise DataError(f"map input {da.name!r} lacks dimension(s) {missing}; it has {tuple(da.dims)}, expected ('lat', 'lon')")
    extra = [d for d in da.dims if d not in (LAT, LON)]
    long_extra = {d: da.sizes[d] for d in extra if da.sizes[d] > 1}
    if long_extra:
        raise DataError(
            f"map input {da.name!r} has extra dimension(s) {long_extra}; select one value first, "
            f"e.g. da.isel({next(iter(long_extra))}=0) or da.sel(time='2017-07-15')"
        )
    if extra:
        da = da.squeeze(extra, drop=False)
    return da.transpose(LAT, LON)


def _default_title(da: xr.DataArray) -> str:
    """``long_name`` (or name) plus the selected date and frequency, if any."""
    title = str(da.attrs.get("long_name", da.name or ""))
    for d in (TIME, "frequency"):
        if d in da.coords and da[d].size == 1:
            v = da[d].values
            title += f", {pd.Timestamp(v).date()}" if d == TIME else f", {float(v):g} GHz"
    return title


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
    title : str, optional
        Defaults to ``long_name`` (plus the selected time, if any).
    cmap : str, optional
        Defaults by units (:data:`DEFAULT_CMAPS`).
    clim : (float, float), optional
        Colour limits; default the 2nd–98th percentile of the finite values.
    width, height : int
        Plot size in screen pixels.
    max_pixels : int
        Fields with more cells are block-averaged for display only (the data are unchanged).

    Returns
    -------
    holoviews.Image or holoviews.QuadMesh
        Colour-bar label ``"<name> [<units>]"`` (see :func:`colorbar_label`).
    """
    da = _map_field(da)
    name = str(da.name or "value")
    da = da.rename(name)
    units = str(da.attrs.get("units", "?"))
    if da.size > max_pixels:
        f = int(np.ceil(np.sqrt(da.size / max_pixels)))
        attrs = dict(da.attrs)
        da = da.coarsen({LAT: f, LON: f}, boundary="trim").mean()
        da.attrs = attrs
    if title is None:
        title = _default_title(da)
    if clim is None:
        vals = np.asarray(da.values, dtype=float)
        finite = vals[np.isfinite(vals)]
        if finite.size:
            lo, hi = np.percentile(finite, [2, 98])
            clim = (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(hi) + 0.5)
    opts: dict[str, Any] = {
        "x": LON,
        "y": LAT,
        "title": title,
        "clabel": colorbar_label(da),
        "cmap": cmap or DEFAULT_CMAPS.get(units, "viridis"),
        "colorbar": True,
        "width": width,
        "height": height,
        "xlabel": "longitude [degrees_east]",
        "ylabel": "latitude [degrees_north]",
    }
    if clim is not None:
        opts["clim"] = clim
    regular = _is_regular(np.asarray(da[LAT].values)) and _is_regular(np.asarray(da[LON].values))
    if regular:
        return da.hvplot.image(**opts)
    return da.hvplot.quadmesh(**opts)


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


def _site_frame(gdf: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(gdf).drop(columns=[c for c in ("geometry",) if c in gdf.columns])
    if "name" not in df.columns:
        df = df.reset_index()
    missing = [c for c in ("name", LAT, LON) if c not in df.columns]
    if missing:
        raise DataError(f"sites table lacks column(s) {missing}; it has {list(df.columns)}, expected name, lat, lon")
    if "kind" not in df.columns:
        df["kind"] = "site"
    return df


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
    return df.hvplot.points(
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
    return da.hvplot.line(
        x=TIME, by=STATION, title=title or str(da.attrs.get("long_name", name)),
        ylabel=colorbar_label(da), width=width, height=height, legend="right",
    )


def dataset_table(catalog: Any = None) -> pd.DataFrame:
    """The datasets' resolution, grid, overpass and units (from ``Catalog.table()``).

    Parameters
    ----------
    catalog : Catalog, path or None
        A :class:`sm_nb.catalog.Catalog`, a catalog path, or ``None`` for the default catalog.

    Returns
    -------
    DataFrame
        Columns ``dataset, resolution, grid, overpass, units`` (one row per dataset).
    """
    from .catalog import Catalog, load_catalog

    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    return cat.table().reset_index()[["dataset", "resolution", "grid", "overpass", "units"]]


def split_variables(ds: xr.Dataset) -> dict[str, list[str]]:
    """Group data variables by base name: ``tbh_asc, tbh_desc`` → ``{"tbh": ["asc", "desc"]}``.

    Variables without an orbit suffix map to an empty list. ``flag_*`` variables are left out.
    """
    out: dict[str, list[str]] = {}
    for v in ds.data_vars:
        v = str(v)
        if v.startswith("flag_"):
            continue
        base, _, suffix = v.rpartition("_")
        if base and suffix in ORBIT_SUFFIXES:
            out.setdefault(base, []).append(suffix)
        else:
            out.setdefault(v, [])
    return out


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
    name = f"{variable}_{orbit}" if orbit and variable in split_variables(ds) else variable
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
# writing figures
# ---------------------------------------------------------------------------------------------
@contextmanager
def _atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file name next to ``path`` (same suffix) that replaces ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the final file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_figure(fig: Any, path: Path, dpi: int = 110) -> Path:
    with _atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path


def save(obj: Any, path: str | Path) -> Path:
    """Write a figure to ``path`` atomically; the format follows the suffix.

    Parameters
    ----------
    obj : holoviews object, matplotlib Figure or DataArray (lat, lon)
        ``.html``: holoviews/hvplot objects through bokeh (bokeh JS from its CDN).
        ``.png``: matplotlib Figures are saved directly; holoviews objects are rendered with
        holoviews' matplotlib backend (bokeh PNG export needs a browser); a DataArray goes
        through :func:`save_png_map`.
    path : str or Path

    Returns
    -------
    Path
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".png"):
        raise DataError(f"figure path {str(path)!r} has suffix {suffix!r}; expected '.html' or '.png'")
    if isinstance(obj, xr.DataArray):
        if suffix == ".png":
            return save_png_map(obj, path)
        obj = map_plot(obj)
    if hasattr(obj, "savefig"):
        if suffix != ".png":
            raise DataError(f"a matplotlib Figure can only be saved as '.png', not {str(path)!r}")
        return _save_figure(obj, path)
    if suffix == ".html":
        with _atomic_path(path) as tmp:
            hv.save(obj, str(tmp), backend="bokeh", fmt="html")
        return path
    backend = hv.Store.current_backend
    import holoviews.plotting.mpl  # noqa: F401  (registers the matplotlib renderer)

    try:
        with _atomic_path(path) as tmp:
            hv.save(obj, str(tmp), backend="matplotlib", fmt="png")
    finally:
        hv.Store.set_current_backend(backend)
    return path


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def save_png_map(
    da: xr.DataArray,
    path: str | Path,
    title: str | None = None,
    cmap: str | None = None,
    clim: tuple[float, float] | None = None,
    sites: pd.DataFrame | None = None,
) -> Path:
    """Draw one (lat, lon) field with matplotlib and write it to a PNG atomically.

    Parameters
    ----------
    da : DataArray (lat, lon)
        Extra dims must have length 1 (as for :func:`map_plot`).
    path : str or Path
        ``.png`` file.
    title, cmap, clim
        As for :func:`map_plot`.
    sites : DataFrame, optional
        Sites table (``name``, ``lat``, ``lon``) drawn as labelled triangles.
    """
    da = _map_field(da)
    units = str(da.attrs.get("units", "?"))
    vals = np.asarray(da.values, dtype=float)
    if clim is None:
        finite = vals[np.isfinite(vals)]
        clim = tuple(np.percentile(finite, [2, 98])) if finite.size else (0.0, 1.0)
    fig = _figure(7.0, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    mesh = ax.pcolormesh(da[LON].values, da[LAT].values, vals, shading="nearest",
                         cmap=cmap or DEFAULT_CMAPS.get(units, "viridis"), vmin=clim[0], vmax=clim[1])
    fig.colorbar(mesh, ax=ax, label=colorbar_label(da))
    ax.set_xlabel("longitude [degrees_east]")
    ax.set_ylabel("latitude [degrees_north]")
    ax.set_aspect(1.0 / max(np.cos(np.deg2rad(float(da[LAT].mean()))), 0.1))
    ax.set_title(title or _default_title(da), fontsize=10)
    if sites is not None:
        df = _site_frame(sites)
        ax.scatter(df[LON], df[LAT], marker="^", c="red", edgecolors="black", s=40)
        for _, row in df.iterrows():
            ax.annotate(str(row["name"]), (row[LON], row[LAT]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    return _save_figure(fig, Path(path))


def save_png_series(da: xr.DataArray, path: str | Path, title: str | None = None) -> Path:
    """Draw a (station, time) DataArray as one line per station and write a PNG atomically."""
    for d in (STATION, TIME):
        if d not in da.dims:
            raise DataError(f"series input lacks dimension {d!r}; it has {tuple(da.dims)}, expected (station, time)")
    fig = _figure(8.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    times = pd.DatetimeIndex(da[TIME].values)
    for st in da[STATION].values:
        ax.plot(times, da.sel({STATION: st}).values, label=str(st), lw=1)
    ax.set_ylabel(colorbar_label(da))
    ax.set_title(title or str(da.attrs.get("long_name", da.name or "")), fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.autofmt_xdate()
    return _save_figure(fig, Path(path))


# ---------------------------------------------------------------------------------------------
# triple collocation and downscaling figures (notebooks 04 and 05)
# ---------------------------------------------------------------------------------------------
def _shared_clim(fields: Sequence[xr.DataArray], q: tuple[float, float] = (2, 98)) -> tuple[float, float] | None:
    vals = np.concatenate([np.asarray(f.values, dtype=float).ravel() for f in fields])
    vals = vals[np.isfinite(vals)]
    if not vals.size:
        return None
    lo, hi = np.percentile(vals, q)
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 1e-6, float(hi) + 1e-6)


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
    return df.hvplot.box(y=metric, by="product", ylabel=label, title=title or str(da.attrs.get("long_name", metric)),
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
    pts = df.hvplot.scatter(x="actual", y="estimate", by="product", alpha=0.5, size=8, width=width, height=height,
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


def save_png_panels(fields: dict[str, xr.DataArray], path: str | Path, clim: tuple[float, float] | None = None,
                    cols: int = 3, cmap: str | None = None, suptitle: str | None = None) -> Path:
    """Several (lat, lon) maps in one PNG with shared colour limits (matplotlib, atomic write)."""
    maps = [_map_field(f) for f in fields.values()]
    clim = clim or _shared_clim(maps) or (0.0, 1.0)
    rows = int(np.ceil(len(maps) / cols))
    fig = _figure(4.2 * min(cols, len(maps)), 3.2 * rows)
    units = str(maps[0].attrs.get("units", "?"))
    for k, (title, da) in enumerate(zip(fields, maps, strict=True)):
        ax = fig.add_subplot(rows, cols, k + 1)
        mesh = ax.pcolormesh(da[LON].values, da[LAT].values, np.asarray(da.values, float), shading="nearest",
                             cmap=cmap or DEFAULT_CMAPS.get(units, "viridis"), vmin=clim[0], vmax=clim[1])
        ax.set_title(title, fontsize=9)
        ax.set_aspect(1.0 / max(np.cos(np.deg2rad(float(da[LAT].mean()))), 0.1))
        ax.tick_params(labelsize=7)
        fig.colorbar(mesh, ax=ax, label=colorbar_label(da), shrink=0.8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return _save_figure(fig, Path(path))


def save_png_boxplot(ds: xr.Dataset, path: str | Path, metrics: Sequence[str] = ("err_var", "rho")) -> Path:
    """Box plots of each metric per product (matplotlib ``whis=1.5``, as the paper's Fig. 8)."""
    fig = _figure(4.0 * len(metrics), 3.4)
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), k + 1)
        prods = [str(p) for p in ds["product"].values]
        data = [np.asarray(ds[metric].sel(product=p).values, float).ravel() for p in prods]
        ax.boxplot([d[np.isfinite(d)] for d in data], tick_labels=prods, whis=1.5)
        ax.set_ylabel(f"{metric} [{ds[metric].attrs.get('units', '?')}]")
        ax.set_title(str(ds[metric].attrs.get("long_name", metric)), fontsize=9)
    return _save_figure(fig, Path(path))


def save_png_gauges(series: xr.Dataset, path: str | Path, products: Sequence[str], rain: str = "precipitation") -> Path:
    """Rain (bars, right axis) and the products' soil moisture at every gauge, one row per gauge."""
    stations = [str(s) for s in series[STATION].values]
    fig = _figure(8.0, 2.2 * len(stations))
    for k, st in enumerate(stations):
        ax = fig.add_subplot(len(stations), 1, k + 1)
        s = series.sel({STATION: st})
        t = pd.DatetimeIndex(s[TIME].values)
        for z, name in enumerate(products):
            ax.plot(t, s[name].values, marker="o", ms=2.5, lw=0.8, label=name, zorder=3 + z)
        ax.set_ylabel("SM [m3 m-3]", fontsize=7)
        ax2 = ax.twinx()
        ax2.bar(t, s[rain].values, width=1.0, color="steelblue", alpha=0.4)
        ax2.invert_yaxis()
        ax2.set_ylabel(f"rain [{s[rain].attrs.get('units', 'mm d-1')}]", fontsize=7)
        ax.set_title(st, fontsize=8)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _save_figure(fig, Path(path))


# ---------------------------------------------------------------------------------------------
# selection experiments (notebooks 02 and 03)
# ---------------------------------------------------------------------------------------------
_CORR = {"cmap": "RdBu", "clim": (-1.0, 1.0)}


def _panel_style(da: xr.DataArray) -> dict[str, Any]:
    """Correlation maps on a fixed diverging scale; everything else by units."""
    return dict(_CORR) if str(da.name).endswith("rho_temporal") else {}


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
    pts = df.hvplot.scatter(x=f"{metric}_paper", y=metric, hover_cols=["inputs"], size=60,
                            xlabel=f"{metric} (Lv et al. 2021)", ylabel=f"{metric} (sm_nb)",
                            width=width, height=height, title=f"{metric}: sm_nb against the paper")
    return pts * hv.Curve([(lo, lo), (hi, hi)]).opts(line_dash="dashed", color="gray")


def save_png_map_grid(rows: Sequence[Sequence[xr.DataArray | None]], path: str | Path,
                    row_labels: Sequence[str] | None = None, col_titles: Sequence[str] | None = None,
                    title: str | None = None) -> Path:
    """A grid of (lat, lon) maps (rows × columns, like the paper's Figures 4–6) as one PNG.

    Parameters
    ----------
    rows : sequence of sequences of DataArray (lat, lon) or None
        ``None`` leaves a cell empty. Correlation maps (names ending in ``rho_temporal``) use
        a diverging scale fixed to [−1, 1]; other maps their 2nd–98th percentiles.
    path : str or Path
        ``.png`` file, written atomically.
    row_labels, col_titles : sequence of str, optional
    title : str, optional
    """
    n_rows, n_cols = len(rows), max((len(r) for r in rows), default=0)
    if not n_rows or not n_cols:
        raise DataError("save_png_map_grid needs at least one row with one map; got none")
    fig = _figure(3.6 * n_cols, 2.5 * n_rows + (0.4 if title else 0.0))
    for i, row in enumerate(rows):
        for j, da in enumerate(row):
            if da is None:
                continue
            ax = fig.add_subplot(n_rows, n_cols, i * n_cols + j + 1)
            da = _map_field(da)
            vals = np.asarray(da.values, dtype=float)
            style = _panel_style(da)
            finite = vals[np.isfinite(vals)]
            lo, hi = style.get("clim") or (tuple(np.percentile(finite, [2, 98])) if finite.size else (0.0, 1.0))
            cmap = style.get("cmap") or DEFAULT_CMAPS.get(str(da.attrs.get("units", "?")), "viridis")
            mesh = ax.pcolormesh(da[LON].values, da[LAT].values, vals, shading="nearest", cmap=cmap, vmin=lo, vmax=hi)
            fig.colorbar(mesh, ax=ax, label=colorbar_label(da), shrink=0.85)
            ax.set_aspect(1.0 / max(np.cos(np.deg2rad(float(da[LAT].mean()))), 0.1))
            ax.tick_params(labelsize=7)
            if i == 0 and col_titles is not None and j < len(col_titles):
                ax.set_title(col_titles[j], fontsize=9)
            if j == 0 and row_labels is not None and i < len(row_labels):
                ax.set_ylabel(row_labels[i], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, Path(path))
