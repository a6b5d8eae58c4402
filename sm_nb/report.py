"""A run's results for readers without Jupyter: an HTML page per notebook and ``index.html``.

:func:`write_report` (called by ``sm-nb run``) converts every executed notebook of an output
folder into a self-contained HTML page — nbconvert's JupyterLab layout without the scripts it
loads from CDNs (require.js, MathJax, the widgets manager), with BokehJS and Panel already
inlined by :func:`sm_nb.notebook.setup`, so the maps show offline — and writes ``index.html``
linking every page, executed notebook, CSV table (shown inline) and figure (PNG) of the run.
Every file is written atomically (temporary name, then ``os.replace``).
"""

from __future__ import annotations

import html
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .exceptions import DataError

__all__ = ["TEMPLATE_DIR", "Report", "notebook_to_html", "write_index", "write_report"]

#: nbconvert templates shipped with sm_nb (``sm_nb_offline``: the lab page without CDN scripts)
TEMPLATE_DIR = Path(__file__).parent / "templates"
_TEMPLATE = "sm_nb_offline"
#: widget views need the widgets' JavaScript manager (from a CDN); their text fallback is kept
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: at most this many rows of a CSV table are shown inline in the index (all are in the file)
MAX_ROWS = 200


@dataclass
class Report:
    """What :func:`write_report` wrote, and how long it took."""

    index: Path
    pages: list[Path] = field(default_factory=list)
    notebooks: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def _write_text(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _clean_outputs(nb: Any) -> None:
    """Keep the text of ipywidgets outputs (progress bars) and drop their views and state (they
    need the widgets manager from a CDN); drop empty display outputs (HoloViews sends some)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None:
                data.pop(_WIDGET_VIEW, None)
                if not data:
                    continue
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs


def notebook_to_html(notebook: str | Path, target: str | Path | None = None) -> Path:
    """Convert an executed notebook to a self-contained HTML page that works offline.

    Parameters
    ----------
    notebook : str or Path
        An executed ``.ipynb`` (its set-up cell ran :func:`sm_nb.notebook.setup`, so the Bokeh and
        Panel JavaScript is in its outputs).
    target : str or Path, optional
        Default: the notebook's path with ``.html``.

    Returns
    -------
    Path
        The page. It loads nothing from the network: CSS is inlined, images are embedded, and
        the scripts nbconvert would fetch from CDNs (require.js, MathJax, mermaid, the widgets
        manager) are left out — sm_nb notebooks use none of them.
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    target = Path(target) if target is not None else notebook.with_suffix(".html")
    nb = nbformat.read(str(notebook), as_version=4)
    _clean_outputs(nb)
    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATE_DIR)], template_name=_TEMPLATE,
                            embed_images=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    return _write_text(target, body)


def _executed_notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if not p.name.endswith(".failed.ipynb"))


def _outputs(folder: Path, suffix: str) -> list[Path]:
    """Files with ``suffix`` under ``folder`` (sub-folders too), leaving out hidden files and zarr stores."""
    found = []
    for p in sorted(folder.rglob(f"*{suffix}")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") or part.endswith(".zarr") for part in rel.parts):
            continue
        if p.is_file():
            found.append(p)
    return found


def _link(folder: Path, path: Path, text: str | None = None) -> str:
    rel = path.relative_to(folder).as_posix()
    return f'<a href="{html.escape(rel, quote=True)}">{html.escape(text or rel)}</a>'


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _table_html(path: Path) -> str:
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (ValueError, OSError) as exc:  # an empty or unreadable CSV: say so, keep the link
        return f"<p><em>cannot show this table: {html.escape(str(exc))}</em></p>"
    shown = df.head(MAX_ROWS)
    note = f"<p><em>first {MAX_ROWS} of {len(df)} rows</em></p>" if len(df) > MAX_ROWS else ""
    return note + shown.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0,
                                classes="table")


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
ul.pages li { margin: .3em 0; } .muted { color: #666; font-size: .9em; }
details { margin: .4em 0; } summary { cursor: pointer; }
table.table { border-collapse: collapse; font-size: .85em; margin: .5em 0 1em; }
table.table th, table.table td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
table.table th { background: #f4f4f4; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 1em; }
.figures figure { margin: 0; } .figures img { width: 100%; border: 1px solid #ddd; }
.figures figcaption { font-size: .85em; }
"""


def write_index(folder: str | Path, pages: Sequence[Path], notebooks: Sequence[Path], tables: Sequence[Path],
                figures: Sequence[Path], title: str = "sm_nb results") -> Path:
    """Write ``folder/index.html`` linking the pages, notebooks, tables (shown inline) and figures.

    All links are relative, so the folder can be moved, zipped or served as it is.
    """
    folder = Path(folder)
    page_of = {p.stem: p for p in pages}
    items = []
    for nb in notebooks:
        page = page_of.get(nb.stem)
        main = _link(folder, page, nb.stem) if page else html.escape(nb.stem)
        items.append(f'<li>{main} <span class="muted">(HTML page{", " + _size(page) if page else " missing"}; '
                     f'executed notebook {_link(folder, nb, nb.name)}, {_size(nb)})</span></li>')
    tables_html = "".join(
        f"<details><summary>{_link(folder, t)} <span class='muted'>{_size(t)}</span></summary>{_table_html(t)}</details>"
        for t in tables)
    figures_html = "".join(
        f'<figure><a href="{html.escape(f.relative_to(folder).as_posix(), quote=True)}">'
        f'<img src="{html.escape(f.relative_to(folder).as_posix(), quote=True)}" loading="lazy" '
        f'alt="{html.escape(f.stem)}"></a><figcaption>{_link(folder, f)}</figcaption></figure>'
        for f in figures)
    text = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="muted">Written by sm_nb {html.escape(__version__)} on {time.strftime("%Y-%m-%d %H:%M")}. Every page works
offline: the maps are interactive (zoom, pan, hover); widgets show their first state (they need a live kernel
to respond — open the notebooks in JupyterLab for that).</p>
<h2>Notebooks ({len(notebooks)})</h2>
<ul class="pages">{"".join(items) or "<li>none</li>"}</ul>
<h2>Tables ({len(tables)})</h2>
{tables_html or "<p>none</p>"}
<h2>Figures ({len(figures)})</h2>
<div class="figures">{figures_html or "<p>none</p>"}</div>
</body></html>
"""
    return _write_text(folder / "index.html", text)


def write_report(folder: str | Path, title: str = "sm_nb results") -> Report:
    """Write an HTML page per executed notebook in ``folder`` and ``folder/index.html``.

    Parameters
    ----------
    folder : str or Path
        An ``sm-nb run`` output folder: executed ``NN_name.ipynb`` notebooks (``.failed`` copies
        are left out), the CSV tables and PNG figures they wrote (sub-folders included; zarr
        stores and hidden files left out).
    title : str
        Heading of ``index.html``.

    Returns
    -------
    Report
        The paths written and found, and the seconds it took.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"report folder {folder} does not exist; expected an sm-nb run output folder")
    t0 = time.perf_counter()
    notebooks = _executed_notebooks(folder)
    pages = [notebook_to_html(nb) for nb in notebooks]
    tables, figures = _outputs(folder, ".csv"), _outputs(folder, ".png")
    index = write_index(folder, pages, notebooks, tables, figures, title=title)
    return Report(index=index, pages=pages, notebooks=notebooks, tables=tables, figures=figures,
                  seconds=time.perf_counter() - t0)
