"""Execute the notebooks headless with papermill (the ``sm-nb run`` verb).

Each notebook is run with the parameters ``config``, ``seed``, ``output_dir`` (and
``random_state`` and any extra parameters, each only where the notebook's parameters cell
declares it); the executed copy lands in the output folder (written under a temporary name and
renamed when done), next to the CSV tables and figures the notebook writes itself. Executed
copies are signed as trusted for the user who ran them (as ``jupyter trust`` does), so JupyterLab
shows their maps when they are opened. :func:`run_notebooks` then writes a self-contained HTML
page per notebook and an ``index.html`` (:mod:`sm_nb.report`).

Kernels are started with the IPC transport (Unix domain sockets in a private temporary
folder) where the platform has it: the kernel then has no TCP ports to protect and does not warn
"Kernel is running over TCP without encryption" once per notebook.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import usable_cores
from .exceptions import ConfigError, NotebookError

__all__ = ["CHAINS", "notebooks_dir", "list_notebooks", "notebook_parameters", "run_notebook", "run_notebooks",
           "notebook_chains"]

#: notebooks that run in this order, one after the other, because the later ones reuse what the
#: earlier ones trained (03's final network and 04's gap-filling family are used by 05); chains
#: are independent of each other and run side by side with ``jobs`` > 1
CHAINS = (("01", "02"), ("03", "04", "05"))


def notebooks_dir() -> Path:
    """``$SM_NB_NOTEBOOKS`` or the repository's ``notebooks/`` folder."""
    env = os.environ.get("SM_NB_NOTEBOOKS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "notebooks"


def list_notebooks(folder: Path | None = None, select: Iterable[str] | None = None) -> list[Path]:
    """Notebooks in ``folder`` in order; ``select`` keeps those whose name starts with one of its items."""
    folder = Path(folder) if folder is not None else notebooks_dir()
    nbs = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not nbs:
        raise ConfigError(f"no notebooks (NN_name.ipynb) in {folder}")
    if select:
        wanted = list(select)
        chosen = [nb for nb in nbs if any(nb.name.startswith(w) for w in wanted)]
        unknown = [w for w in wanted if not any(nb.name.startswith(w) for nb in nbs)]
        if unknown:
            raise ConfigError(f"notebook(s) {unknown} not found; expected prefixes of {[nb.name for nb in nbs]}")
        nbs = chosen
    return nbs


def notebook_chains(notebooks: Sequence[Path]) -> list[list[Path]]:
    """``notebooks`` grouped into :data:`CHAINS` (in order; a notebook of no chain is a chain of its own)."""
    chains: list[list[Path]] = []
    for prefixes in CHAINS:
        chain = [nb for nb in notebooks if nb.name[:2] in prefixes]
        if chain:
            chains.append(chain)
    chained = {nb for chain in chains for nb in chain}
    chains += [[nb] for nb in notebooks if nb not in chained]
    return sorted(chains, key=lambda chain: notebooks.index(chain[0]))


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """Names and default values of a notebook's parameters cell (the cell tagged ``parameters``)."""
    import papermill as pm

    return {name: p.get("default") for name, p in pm.inspect_notebook(str(notebook)).items()}


@contextmanager
def _kernel_manager(kernel: str) -> Iterator[Any]:
    """A kernel manager on the IPC transport in a private folder (POSIX), else ``None`` (papermill's default)."""
    if os.name != "posix":
        yield None
        return
    from jupyter_client.manager import KernelManager

    folder = tempfile.mkdtemp(prefix="sm_nb-kernel-")  # 0700; short path (Unix socket names ≤ 107 bytes)
    km = KernelManager(kernel_name=kernel, transport="ipc", ip=os.path.join(folder, "kernel"))
    try:
        yield km
    finally:  # papermill shuts down only the kernels it created itself
        try:
            if km.has_kernel:
                km.shutdown_kernel(now=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


_SIGN_LOCK = threading.Lock()


def _sign(path: Path) -> None:
    """Mark an executed notebook as trusted for this user (as ``jupyter trust`` does); skip quietly
    if the signature database cannot be written (a read-only home)."""
    import nbformat
    from nbformat.sign import NotebookNotary

    try:
        with _SIGN_LOCK:  # one writer of the signature database at a time (chains run on threads)
            NotebookNotary().sign(nbformat.read(str(path), as_version=4))
    except Exception:  # noqa: BLE001 - trust is a convenience; the notebook itself is complete
        return


def run_notebook(notebook: Path, output_dir: Path, parameters: dict[str, Any], kernel: str = "python3") -> Path:
    """Execute one notebook; return the executed copy's path.

    Parameters the notebook does not declare in its parameters cell are left out (papermill
    would inject them and warn "Passed unknown parameter"). The executed copy is signed as
    trusted for this user, so that JupyterLab shows its maps and widgets when it is opened.

    Raises
    ------
    NotebookError
        If a cell raises; the message names the notebook and the cell. The executed copy is
        kept as ``<name>.failed.ipynb`` for inspection.
    """
    import papermill as pm

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    final = output_dir / notebook.name
    tmp = output_dir / f".{notebook.stem}.running.ipynb"
    declared = notebook_parameters(notebook)
    parameters = {k: v for k, v in parameters.items() if k in declared}
    try:
        with _kernel_manager(kernel) as km:
            pm.execute_notebook(
                str(notebook),
                str(tmp),
                parameters=parameters,
                kernel_name=kernel,
                cwd=str(notebook.parent),
                progress_bar=False,
                # written once at the end (or on failure): saving the whole notebook — maps
                # embedded, 5–15 MB — before and after every cell cost 10–20 s per notebook
                request_save_on_cell_execute=False,
                **({"km": km} if km is not None else {}),
            )
    except pm.PapermillExecutionError as exc:
        failed = output_dir / f"{notebook.stem}.failed.ipynb"
        cell_no = exc.cell_index + 1
        if tmp.exists():
            cell_no = _original_cell_number(tmp, exc.cell_index)
            os.replace(tmp, failed)
        first_line = (exc.source or "").strip().splitlines()[:1]
        raise NotebookError(
            f"notebook {notebook.name} failed in cell {cell_no} (counting from 1 in the committed notebook; "
            f"execution count {exc.exec_count}"
            f"{', starting ' + repr(first_line[0]) if first_line else ''}): {exc.ename}: {exc.evalue}. "
            f"Executed copy: {failed}"
        ) from None
    os.replace(tmp, final)
    _sign(final)
    return final


def _original_cell_number(executed: Path, index: int) -> int:
    """1-based number of the failing cell in the committed notebook (papermill injects a cell)."""
    import nbformat

    cells = nbformat.read(str(executed), as_version=4).cells[:index]
    injected = sum("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells)
    return index - injected + 1


def _jobs(jobs: int | None, n_chains: int) -> int:
    """Chains run at once: ``jobs`` (checked), default 2 with ≥ 2 cores; never more than the chains."""
    if jobs is None:
        jobs = 2 if usable_cores() >= 2 else 1
    elif isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs={jobs!r}; expected a positive integer (notebook chains run at once)")
    return max(1, min(jobs, n_chains))


def _check_output(output: Path) -> None:
    """Create ``output`` and check it is writable, or raise a ConfigError naming it."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".sm_nb-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"output folder {output} cannot be created or written ({exc.strerror or exc}); "
                          "expected a writable folder") from None


def run_notebooks(
    config: str = "demo",
    seed: int = 0,
    output: str | Path = "output/demo",
    select: Sequence[str] | None = None,
    kernel: str = "python3",
    progress: bool = True,
    random_state: int | None = None,
    parameters: dict[str, Any] | None = None,
    html: bool = True,
    jobs: int | None = None,
) -> list[Path]:
    """Generate the scenario (if not cached) and execute every notebook headless into ``output``.

    ``seed`` is the scenario realisation, ``random_state`` the networks' initialisation and
    sampling (default: the seed); both go into each notebook's parameters cell.

    Parameters
    ----------
    config, seed, random_state
        The scenario and the networks' random state.
    output : str or Path
        Folder for the executed notebooks, their CSV tables and figures, the HTML pages and
        ``index.html``.
    select : sequence of str, optional
        Only notebooks whose names start with one of these (``["01", "03"]``).
    kernel : str
        Jupyter kernel name.
    progress : bool
        Progress bars for the scenario and the notebooks.
    parameters : dict, optional
        Extra parameters (e.g. ``{"hidden_units": 3, "n_restarts": 1}``), each given to the
        notebooks whose parameters cell declares it.
    html : bool
        Also write a self-contained HTML page per notebook and ``index.html``
        (:func:`sm_nb.report.write_report`).
    jobs : int, optional
        Chains of notebooks (:data:`CHAINS`) executed side by side, each in its own kernel
        (default: 2 on a machine with at least 2 cores, else 1; 1 runs the notebooks one by
        one). The notebooks' numbers do not depend on it: each chain keeps its order, and the
        experiment cache is shared (a network both chains need may be trained twice, the
        results are the same).

    Returns
    -------
    list of Path
        The executed notebooks, in order.

    Raises
    ------
    ConfigError
        ``output`` cannot be created or written (the message names the folder).
    """
    from tqdm.auto import tqdm

    from .config import check_seed, get_config
    from .scenario.generate import ensure_scenario

    cfg = get_config(config)
    seed = check_seed(seed)
    output = Path(output).resolve()
    _check_output(output)
    nbs = list_notebooks(select=select)
    ensure_scenario(cfg, seed, progress=progress)
    reserved = {"config", "seed", "output_dir", "random_state"} & set(parameters or {})
    if reserved:
        raise ConfigError(f"parameters {sorted(reserved)} are set by sm-nb run itself; use its own arguments")
    params = {**(parameters or {}), "config": cfg.name, "seed": seed, "output_dir": str(output),
              "random_state": seed if random_state is None else check_seed(random_state)}
    chains = notebook_chains(nbs)
    workers = _jobs(jobs, len(chains))
    with tqdm(total=len(nbs), desc=f"notebooks ({workers} at a time)" if workers > 1 else "notebooks",
              disable=not progress) as bar:
        def run_chain(chain: list[Path]) -> list[Path]:
            out = []
            for nb in chain:
                out.append(run_notebook(nb, output, params, kernel=kernel))
                bar.update(1)
            return out

        if workers == 1:
            ran = [run_chain(chain) for chain in chains]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers, thread_name_prefix="sm_nb-notebooks") as pool:
                futures = [pool.submit(run_chain, chain) for chain in chains]
                ran = [f.result() for f in futures]  # the first failing chain's NotebookError
    done = sorted((nb for chain in ran for nb in chain), key=lambda p: [n.name for n in nbs].index(p.name))
    if html:
        from .report import write_report

        write_report(output, title=f"sm_nb run: config {cfg.name}, seed {seed}")
    return done
