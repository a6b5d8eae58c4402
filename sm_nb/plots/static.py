"""Static figures: matplotlib PNGs (and :func:`save`), each written atomically.

Files go to a temporary name next to the target, then ``os.replace``. PNG files are drawn
with matplotlib because bokeh's PNG export needs a browser (chromium/selenium), which the
sm_nb environment does not ship.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr

from ..conventions import LAT, LON, STATION, TIME
from ..exceptions import DataError
from ._common import (
    DEFAULT_CMAPS,
    _default_title,
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
from .interactive import map_plot


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
        ``.html``: holoviews/hvplot objects through bokeh, with the BokehJS library inlined
        (the page works offline; about 3 MB).
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
            hv.save(obj, str(tmp), backend="bokeh", fmt="html", resources="inline")
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


def _draw_map(fig: Any, ax: Any, da: xr.DataArray, cmap: str | None = None, clim: tuple[float, float] | None = None,
              shrink: float = 1.0) -> None:
    """One (lat, lon) field on ``ax`` as :func:`sm_nb.plots.map_plot` draws it: same colour map by
    units, same 2nd–98th percentile limits, class colours and names for categorical fields, and
    the geographic aspect (1/cos(latitude)); the colour bar is labelled with name and units."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    classes = categories(da)
    if classes:
        n = len(classes)
        vals = np.asarray(encode_categories(da, classes).values, dtype=float)
        mesh = ax.pcolormesh(da[LON].values, da[LAT].values, vals, shading="nearest",
                             cmap=ListedColormap(category_colors(classes)),
                             norm=BoundaryNorm(np.arange(n + 1) - 0.5, n))
        bar = fig.colorbar(mesh, ax=ax, label=f"{da.name or 'value'} (class)", shrink=shrink, ticks=np.arange(n))
        bar.ax.set_yticklabels(list(classes.values()), fontsize=7)
    else:
        vals = np.asarray(da.values, dtype=float)
        if clim is None:
            finite = vals[np.isfinite(vals)]
            clim = tuple(np.percentile(finite, [2, 98])) if finite.size else (0.0, 1.0)
        units = str(da.attrs.get("units", "?"))
        mesh = ax.pcolormesh(da[LON].values, da[LAT].values, vals, shading="nearest",
                             cmap=cmap or DEFAULT_CMAPS.get(units, "viridis"), vmin=clim[0], vmax=clim[1])
        fig.colorbar(mesh, ax=ax, label=colorbar_label(da), shrink=shrink)
    ax.set_aspect(geographic_aspect(da))


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
    fig = _figure(7.0, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    _draw_map(fig, ax, da, cmap, clim)
    ax.set_xlabel("longitude [degrees_east]")
    ax.set_ylabel("latitude [degrees_north]")
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


def save_png_panels(fields: dict[str, xr.DataArray], path: str | Path, clim: tuple[float, float] | None = None,
                    cols: int = 3, cmap: str | None = None, suptitle: str | None = None) -> Path:
    """Several (lat, lon) maps in one PNG with shared colour limits (matplotlib, atomic write)."""
    maps = [_map_field(f) for f in fields.values()]
    clim = clim or _shared_clim(maps) or (0.0, 1.0)
    rows = int(np.ceil(len(maps) / cols))
    fig = _figure(4.2 * min(cols, len(maps)), 3.2 * rows)
    for k, (title, da) in enumerate(zip(fields, maps, strict=True)):
        ax = fig.add_subplot(rows, cols, k + 1)
        _draw_map(fig, ax, da, cmap, clim, shrink=0.8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
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
            style = _panel_style(da)
            _draw_map(fig, ax, da, style.get("cmap"), style.get("clim"), shrink=0.85)
            ax.tick_params(labelsize=7)
            if i == 0 and col_titles is not None and j < len(col_titles):
                ax.set_title(col_titles[j], fontsize=9)
            if j == 0 and row_labels is not None and i < len(row_labels):
                ax.set_ylabel(row_labels[i], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, Path(path))
