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
