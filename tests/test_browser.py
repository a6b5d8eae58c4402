"""The interactive layer in a real browser: JupyterLab on localhost driven through Chromium.

For notebooks 01, 03 and 05 (on ``mini``, with small training settings injected as papermill
parameters) the test opens the notebook in JupyterLab, runs all cells, and checks that

* no cell raised;
* the maps render (Bokeh ``<canvas>`` elements are present);
* no request failed and none left localhost (the JavaScript and CSS come from the kernel's
  inline resources or from the JupyterLab server, never from a CDN);
* changing a widget redraws its output (the output's pixels change);

then saves the executed notebook, converts it to the offline HTML page ``sm-nb run`` writes and
opens that page from disk with every non-local request blocked: its maps render too.

Chromium is Debian's ``chromium`` package driven by the ``playwright`` Python package
(``executable_path``; a browser is never downloaded). Without them these tests skip with a
message saying how to install them — except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL_HINT = ("install Debian's Chromium (`apt-get install -y chromium`) and the playwright Python package "
                "(`pip install playwright`, part of the test extras); never `playwright install`")
#: per notebook: parameters (small and fast on mini), minimum number of map canvases after running
NOTEBOOKS = {
    "01_data": ({}, 20),
    "03_auxiliary_selection": ({"hidden_units": 3, "n_restarts": 1, "cv_folds": 2, "max_train_samples": 2000,
                                "parallel": False,
                                "combinations": [["SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A"],
                                                 ["SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A", "NDVI"]]}, 6),
    "05_downscaling_validation": ({"hidden_units": 3, "n_restarts": 1, "cv_folds": 0}, 8),
}
RUN_TIMEOUT_MS = 240_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}; .ci/run installs Chromium with apt")
    pytest.skip(f"browser tests skipped: {reason}; {INSTALL_HINT}")


def chromium_path() -> str | None:
    """``$SM_NB_CHROMIUM``, ``/usr/bin/chromium`` or ``chromium`` on PATH."""
    for cand in (os.environ.get("SM_NB_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    exe = chromium_path()
    if exe is None:
        _unavailable("no Chromium executable (/usr/bin/chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(mini, tmp_path_factory):
    """JupyterLab on a free localhost port serving parameterised copies of the notebooks."""
    import papermill as pm

    from sm_nb.run import notebooks_dir

    root = tmp_path_factory.mktemp("lab")
    out = root / "output"
    for stem, (params, _) in NOTEBOOKS.items():
        pm.execute_notebook(str(notebooks_dir() / f"{stem}.ipynb"), str(root / f"{stem}.ipynb"), prepare_only=True,
                            parameters={"config": "mini", "seed": 0, "output_dir": str(out), **params},
                            progress_bar=False)
    port, token = _free_port(), "sm-nb-browser-test"
    home = tmp_path_factory.mktemp("jupyter")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    log = (root / "lab.log").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    try:
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() - t0 > 90:
                    raise RuntimeError(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-2000:]}") from None
                time.sleep(0.5)
        yield {"base": base, "token": token, "root": root}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Network:
    """Every request a page makes, the failed ones and the console errors."""

    def __init__(self, page, local: tuple[str, ...]) -> None:
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.console: list[str] = []
        self.local = local
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))

    def external(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(self.local)]

    def check(self) -> None:
        assert not self.external(), f"requests left the machine: {self.external()[:10]}"
        assert not self.failed, f"requests failed: {self.failed[:10]}"
        missing = [c for c in self.console if "library is missing" in c or "Failed to load resource" in c]
        assert not missing, f"browser console: {missing[:5]}"


_STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
                    .some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))"""
_DONE = """() => {
    const p = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
    return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent));
}"""
_RAISED = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
                    .some(e => e.textContent.includes('Traceback (most recent call last)'))"""


def _run_all(page, stem: str) -> None:
    """Run > Run All Cells, then wait until every code cell has an execution count (or one raised:
    JupyterLab then leaves the cells below unexecuted, so fail at once with the traceback)."""
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    for _ in range(3):
        page.locator("div.lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").first.click()
        try:
            page.wait_for_function(_STARTED, timeout=20_000, polling=500)
            break
        except Exception:  # noqa: BLE001 - the command did not reach the notebook; try again
            page.keyboard.press("Escape")
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while not page.evaluate(_DONE):
        if page.evaluate(_RAISED):
            text = page.locator(".jp-NotebookPanel").first.inner_text()
            k = text.find("Traceback (most recent call last)")
            raise AssertionError(f"{stem}: a cell raised:\n{text[max(k - 300, 0):k + 3000]}")
        assert time.monotonic() < deadline, f"{stem}: not every cell ran within {RUN_TIMEOUT_MS / 1000:.0f} s"
        page.wait_for_timeout(1000)
    page.wait_for_timeout(2000)  # let the last outputs render


def _output_of(page, widget):
    """The notebook output area that holds ``widget``."""
    return page.locator(".jp-OutputArea-output").filter(has=widget).last


def _redraws(page, area, action, what: str) -> None:
    area.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    before = area.screenshot()
    action()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        if area.screenshot() != before:
            return
    raise AssertionError(f"changing {what} did not redraw its output")


def _interact(page, stem: str, shots: Path) -> None:
    if stem == "01_data":
        select = page.locator("select").filter(has=page.locator("option", has_text="amsr2_tb")).first
        area = _output_of(page, select)
        _redraws(page, area, lambda: select.select_option("amsr2_tb"), "the dataset drop-down")
    elif stem == "03_auxiliary_selection":
        box = (page.locator(".bk-Checkbox").filter(has=page.get_by_text("LST_NIGHT", exact=True))
               .locator("input[type=checkbox]").first)
        area = _output_of(page, box)
        box.check()
        _redraws(page, area, lambda: page.locator("button", has_text="train").last.click(), "the train button")
        page.locator("table", has_text="LST_NIGHT").first.wait_for(timeout=120_000)
        assert area.locator("canvas").count() >= 3, "the new experiment's maps are not drawn"
    elif stem == "05_downscaling_validation":
        select = page.locator("select").last
        options = select.locator("option").all_text_contents()
        assert len(options) > 1, f"station drop-down offers {options}"
        area = _output_of(page, select)
        _redraws(page, area, lambda: select.select_option(options[1]), "the station drop-down")
    page.screenshot(path=str(shots / f"{stem}_after_widget.png"), full_page=False)


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_notebook_renders_offline_and_widgets_respond(browser, lab, stem, tmp_path):
    shots = Path(os.environ.get("SM_NB_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    net = Network(page, (lab["base"], "data:", "blob:", "about:"))
    page.goto(f"{lab['base']}/lab/tree/{stem}.ipynb?token={lab['token']}&reset")
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=60_000)
    _run_all(page, stem)
    text = page.locator(".jp-NotebookPanel").first.inner_text()
    assert "Traceback (most recent call last)" not in text, f"{stem}: a cell raised:\n{text[text.find('Traceback') - 500:][:3000]}"
    n_min = NOTEBOOKS[stem][1]
    canvases = page.locator(".jp-OutputArea-output canvas").count()
    page.screenshot(path=str(shots / f"{stem}_lab.png"))
    assert canvases >= n_min, f"{stem}: {canvases} map canvases, expected at least {n_min}"
    _interact(page, stem, shots)
    net.check()

    # save the executed notebook (Ctrl+S), convert it to the offline HTML page, open it from disk
    from sm_nb.report import notebook_to_html

    page.keyboard.press("Control+s")
    page.wait_for_timeout(3000)
    page.close()
    html = notebook_to_html(lab["root"] / f"{stem}.ipynb", tmp_path / f"{stem}.html")
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    net = Network(page, ("file:", "data:", "blob:", "about:"))
    page.route(lambda url: not url.startswith(("file:", "data:", "blob:")), lambda route: route.abort())
    page.goto(html.as_uri())
    page.wait_for_timeout(3000)
    page.locator("canvas").first.wait_for(timeout=60_000)
    static = page.locator("canvas").count()
    page.screenshot(path=str(shots / f"{stem}_html.png"))
    assert static >= n_min, f"{stem}.html: {static} map canvases, expected at least {n_min}"
    net.check()
    page.close()
