"""Execute the notebooks headless with papermill (the ``sm-nb run`` verb).

Each notebook is run with the parameters ``config``, ``seed`` and ``output_dir``; the executed
copy lands in the output folder (written under a temporary name and renamed when done), next
to the CSV tables and figures the notebook writes itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .exceptions import ConfigError, NotebookError

__all__ = ["notebooks_dir", "list_notebooks", "run_notebook", "run_notebooks"]


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


def run_notebook(notebook: Path, output_dir: Path, parameters: dict[str, Any], kernel: str = "python3") -> Path:
    """Execute one notebook; return the executed copy's path.

    Raises
    ------
    NotebookError
        If a cell raises; the message names the notebook and the cell. The executed copy is
        kept as ``<name>.failed.ipynb`` for inspection.
    """
    import papermill as pm

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    accepted = parameter_names(notebook)
    parameters = {k: v for k, v in parameters.items() if k in accepted}
    final = output_dir / notebook.name
    tmp = output_dir / f".{notebook.stem}.running.ipynb"
    try:
        pm.execute_notebook(
            str(notebook),
            str(tmp),
            parameters=parameters,
            kernel_name=kernel,
            cwd=str(notebook.parent),
            progress_bar=False,
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
    return final


def parameter_names(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (what papermill may override)."""
    import ast

    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            return {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name)}
    return set()


def _original_cell_number(executed: Path, index: int) -> int:
    """1-based number of the failing cell in the committed notebook (papermill injects a cell)."""
    import nbformat

    cells = nbformat.read(str(executed), as_version=4).cells[:index]
    injected = sum("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells)
    return index - injected + 1


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
) -> list[Path]:
    """Generate the scenario (if not cached) and execute every notebook headless into ``output``.

    ``seed`` is the scenario realisation, ``random_state`` the networks' initialisation and
    sampling (default: the seed); both go into each notebook's parameters cell.

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
    params = {"config": cfg.name, "seed": seed, "output_dir": str(output),
              "random_state": seed if random_state is None else check_seed(random_state)}
    done = []
    for nb in tqdm(nbs, desc="notebooks", disable=not progress):
        done.append(run_notebook(nb, output, params, kernel=kernel))
    return done
