"""``sm-nb run``'s pages for readers without Jupyter: offline HTML per notebook and index.html."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from sm_nb.report import notebook_to_html, write_report
from sm_nb.run import run_notebook


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("script", "img", "link", "iframe") and (a.get("src") or a.get("href")):
            self.sources.append(a.get("src") or a.get("href"))


def _refs(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _notebook(path: Path, code: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    params = nbformat.v4.new_code_cell("output_dir = '.'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in code)]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """Two executed notebooks that draw a map and write a table and figures (one in a sub-folder)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("out")
    code = [
        "import numpy as np, pandas as pd, xarray as xr\nfrom pathlib import Path\nimport sm_nb\n"
        "from sm_nb import plots\nsm_nb.notebook.setup()\nout = Path(output_dir)",
        "da = xr.DataArray(np.arange(12.0).reshape(3, 4), dims=('lat', 'lon'), name='sm',\n"
        "                  coords={'lat': [35.0, 35.5, 36.0], 'lon': [90.0, 90.5, 91.0, 91.5]}, attrs={'units': 'm3 m-3'})\n"
        "plots.map_plot(da)",
        "pd.DataFrame({'a': [1, 2]}).to_csv(out / 'table_a.csv', index=False)\n"
        "(out / 'figs').mkdir(exist_ok=True)\nplots.save_png_map(da, out / 'figs' / 'map.png')\n"
        "plots.save_png_map(da, out / 'top.png')",
    ]
    for name in ("01_first.ipynb", "02_second.ipynb"):
        run_notebook(_notebook(src / name, code), out, {"output_dir": str(out)})
    (out / ".hidden.png").write_bytes(b"x")
    (out / "store.zarr").mkdir()
    (out / "store.zarr" / "inside.csv").write_text("a\n1\n")
    (out / "03_broken.failed.ipynb").write_text("{}")
    return out


def test_index_links_every_notebook_table_and_figure(run_folder):
    report = write_report(run_folder, title="test run")
    links = set(_refs(report.index).links)
    expected = {"01_first.html", "01_first.ipynb", "02_second.html", "02_second.ipynb", "table_a.csv",
                "figs/map.png", "top.png"}
    assert expected <= links, f"index.html lacks links to {sorted(expected - links)}"
    for link in links:
        assert (run_folder / link).exists(), f"index.html links {link}, which does not exist"
    assert not any(".hidden" in x or ".zarr" in x or "failed" in x for x in links), links
    assert [p.name for p in report.pages] == ["01_first.html", "02_second.html"]
    assert "<td>2</td>" in report.index.read_text() or ">2<" in report.index.read_text()  # the table, inline


def test_html_pages_load_nothing_from_the_network(run_folder):
    page = notebook_to_html(run_folder / "01_first.ipynb", run_folder / "check.html")
    refs = _refs(page)
    remote = [s for s in refs.sources if re.match(r"^(https?:)?//", s)]
    assert not remote, f"the page loads {remote}"
    text = page.read_text(encoding="utf-8")
    assert "require.min.js" not in text and "MathJax.js" not in text
    assert "Bokeh" in text and "Bokeh.embed" in text, "BokehJS is not in the page"
    assert len(text) > 2_000_000, "the page is too small to hold BokehJS inline"


def test_run_notebook_prints_no_tcp_warning_and_skips_undeclared_parameters(tmp_path, capfd):
    nb = _notebook(tmp_path / "01_tiny.ipynb", ["x = 1"])
    run_notebook(nb, tmp_path / "out", {"output_dir": str(tmp_path / "out"), "random_state": 3})
    err = capfd.readouterr().err
    assert "without encryption" not in err, err
    assert "Passed unknown parameter" not in err, err
    assert "Parent appears to have exited" not in err, err
    executed = nbformat.read(tmp_path / "out" / "01_tiny.ipynb", as_version=4)
    assert "random_state" not in "".join(c.source for c in executed.cells)


def test_setup_inlines_the_javascript_once_and_maps_need_no_cdn(run_folder):
    """What sm_nb.notebook.setup() costs (README: about 6 MB per notebook) and that the map
    outputs reference no stylesheet or script on a CDN."""
    nb = nbformat.read(run_folder / "01_first.ipynb", as_version=4)
    setup_cell = next(c for c in nb.cells if "notebook.setup()" in c.source)
    size = len(nbformat.writes(nbformat.v4.new_notebook(cells=[setup_cell])))
    assert 3e6 < size < 1.2e7, f"the set-up cell output is {size / 1e6:.2f} MB; README says about 6 MB"
    map_cell = next(c for c in nb.cells if "plots.map_plot(da)" in c.source)
    text = nbformat.writes(nbformat.v4.new_notebook(cells=[map_cell]))
    assert "cdn.holoviz.org" not in text and "cdn.bokeh.org" not in text
