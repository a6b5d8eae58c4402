"""``data_catalog.yaml`` → validated catalog → xarray datasets.

The catalog names every dataset the notebooks use. ``sm_nb.open_dataset(name)`` opens an
entry the same way whether it comes from the synthetic scenario or from files, so notebooks
never know which they got.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
import yaml

from .exceptions import CatalogError
from .io.bridge import file_readers

__all__ = [
    "Catalog",
    "CatalogEntry",
    "load_catalog",
    "open_dataset",
    "dataset_table",
    "default_catalog_path",
    "REQUIRED_KEYS",
    "READERS",
]

#: keys every entry must have, with their expected Python type
REQUIRED_KEYS: dict[str, type | tuple[type, ...]] = {
    "description": str,
    "source": str,
    "reader": str,
    "args": dict,
    "resolution": str,
    "grid": str,
    "overpass": str,
    "units": str,
    "variables": list,
    "chunks": dict,
}
SOURCES = ("synthetic", "files")


def _open_synthetic(entry: CatalogEntry, config: Any, seed: int) -> xr.Dataset:
    from .scenario.generate import open_scenario_dataset

    return open_scenario_dataset(entry.args["dataset"], config=config, seed=seed, chunks=entry.chunks)


#: reader name → callable(entry, config, seed) -> Dataset. Real-file readers register here.
READERS: dict[str, Callable[..., xr.Dataset]] = {"synthetic": _open_synthetic}


@dataclass(frozen=True)
class CatalogEntry:
    """One validated catalog entry."""

    name: str
    description: str
    source: str
    reader: str
    args: dict[str, Any]
    resolution: str
    grid: str
    overpass: str
    units: str
    variables: list[str]
    chunks: dict[str, int]
    path: str | None = None

    def files(self, root: Path | None = None) -> list[Path]:
        """Files matched by ``path`` (``source: files`` only)."""
        if self.path is None:
            return []
        pattern = self.path if root is None or os.path.isabs(self.path) else str(root / self.path)
        return sorted(Path(p) for p in glob.glob(os.path.expanduser(pattern)))


@dataclass
class Catalog:
    """The validated catalog: ``entries`` by name plus ``defaults``."""

    path: Path
    entries: dict[str, CatalogEntry]
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return sorted(self.entries)

    def __getitem__(self, name: str) -> CatalogEntry:
        if name not in self.entries:
            raise CatalogError(f"unknown dataset {name!r} in catalog {self.path}; expected one of {self.names}")
        return self.entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __repr__(self) -> str:
        lines = [f"<Catalog {self.path} ({len(self.entries)} datasets)>"]
        lines += [f"  {e.name:<18} {e.source:<9} {e.resolution:<28} {e.units}" for e in self.entries.values()]
        return "\n".join(lines)

    def table(self) -> pd.DataFrame:
        """One row per dataset: source, resolution, grid, overpass, units, variables."""
        rows = [
            {
                "dataset": e.name,
                "source": e.source,
                "resolution": e.resolution,
                "grid": e.grid,
                "overpass": e.overpass,
                "units": e.units,
                "variables": ", ".join(e.variables),
            }
            for e in self.entries.values()
        ]
        return pd.DataFrame(rows).set_index("dataset")

    def open(self, name: str, config: Any = None, seed: int | None = None) -> xr.Dataset:
        """Open entry ``name`` as an ``xr.Dataset`` and check its variables."""
        entry = self[name]
        config = self.defaults.get("config", "demo") if config is None else config
        seed = self.defaults.get("seed", 0) if seed is None else seed
        if entry.source == "files":
            if not entry.files(self.path.parent):
                raise CatalogError(
                    f"catalog entry {name!r} key 'path': {entry.path!r} matches no file "
                    f"(relative paths are resolved against {self.path.parent})"
                )
            if not os.path.isabs(os.path.expanduser(entry.path or "")):
                entry = dataclasses.replace(entry, path=str(self.path.parent / entry.path))
        ds = READERS[entry.reader](entry, config, seed)
        missing = [v for v in entry.variables if v not in ds.variables]
        if missing:
            raise CatalogError(
                f"catalog entry {name!r}: dataset lacks variable(s) {missing} listed under 'variables'; "
                f"it has {sorted(ds.data_vars)}"
            )
        ds.attrs.setdefault("catalog_entry", name)
        return ds


def default_catalog_path() -> Path:
    """``$SM_NB_CATALOG``, else ``data_catalog.yaml`` at the repository root."""
    env = os.environ.get("SM_NB_CATALOG")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / "data_catalog.yaml"


def _validate_entry(name: str, raw: Any, where: Path) -> CatalogEntry:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"catalog {where}: entry {name!r} is a {type(raw).__name__}; expected a mapping of keys")
    for key, typ in REQUIRED_KEYS.items():
        if key not in raw:
            raise CatalogError(f"catalog {where}: entry {name!r} lacks key {key!r}; required keys are {list(REQUIRED_KEYS)}")
        if not isinstance(raw[key], typ):
            tname = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise CatalogError(
                f"catalog {where}: entry {name!r} key {key!r} is {raw[key]!r} ({type(raw[key]).__name__}); expected a {tname}"
            )
    unknown = set(raw) - set(REQUIRED_KEYS) - {"path"}
    if unknown:
        raise CatalogError(f"catalog {where}: entry {name!r} has unknown key(s) {sorted(unknown)}; allowed are {list(REQUIRED_KEYS) + ['path']}")
    if raw["source"] not in SOURCES:
        raise CatalogError(f"catalog {where}: entry {name!r} key 'source' is {raw['source']!r}; expected one of {list(SOURCES)}")
    if raw["reader"] not in READERS:
        raise CatalogError(f"catalog {where}: entry {name!r} key 'reader' is {raw['reader']!r}; expected one of {sorted(READERS)}")
    if raw["source"] == "synthetic" and "dataset" not in raw["args"]:
        raise CatalogError(f"catalog {where}: entry {name!r} key 'args' lacks 'dataset' (the scenario store name)")
    if raw["source"] == "files" and not isinstance(raw.get("path"), str):
        raise CatalogError(f"catalog {where}: entry {name!r} has source 'files' but no 'path' (a file or glob string)")
    for dim, size in raw["chunks"].items():
        if not isinstance(size, int) or size < -1 or size == 0:
            raise CatalogError(f"catalog {where}: entry {name!r} key 'chunks' has {dim}: {size!r}; expected a positive integer or -1")
    if not all(isinstance(v, str) for v in raw["variables"]):
        raise CatalogError(f"catalog {where}: entry {name!r} key 'variables' must list strings; got {raw['variables']!r}")
    return CatalogEntry(name=name, **{k: raw[k] for k in REQUIRED_KEYS}, path=raw.get("path"))


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog file.

    Raises
    ------
    CatalogError
        If the file is missing or unreadable, or an entry lacks a key, has a key of the
        wrong type, an unknown source or reader. The message names the entry and the key.
    """
    for name, reader in file_readers().items():
        READERS.setdefault(name, reader)
    path = Path(path) if path is not None else default_catalog_path()
    if not path.is_file():
        raise CatalogError(f"catalog file {path} does not exist; expected a data_catalog.yaml (set SM_NB_CATALOG or pass path=)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CatalogError(f"catalog {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("datasets"), Mapping):
        raise CatalogError(f"catalog {path} lacks a top-level 'datasets' mapping")
    defaults = raw.get("defaults", {}) or {}
    if not isinstance(defaults, Mapping):
        raise CatalogError(f"catalog {path} key 'defaults' must be a mapping; got {type(defaults).__name__}")
    entries = {str(n): _validate_entry(str(n), e, path) for n, e in raw["datasets"].items()}
    return Catalog(path=path, entries=entries, defaults=dict(defaults))


def open_dataset(name: str, config: Any = "demo", seed: int = 0, catalog: str | Path | Catalog | None = None) -> xr.Dataset:
    """Open catalog entry ``name`` as an ``xr.Dataset`` — the one-line public handle.

    Parameters
    ----------
    name : str
        Catalog entry (e.g. ``"smap_tb"``, ``"cldas_sm"``, ``"truth_sm"``).
    config : str or ScenarioConfig
        Scenario config for synthetic entries (``"demo"`` by default).
    seed : int
        Scenario seed (non-negative integer).
    catalog : path or Catalog, optional
        Defaults to :func:`default_catalog_path`.
    """
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    return cat.open(name, config=config, seed=seed)


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
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    return cat.table().reset_index()[["dataset", "resolution", "grid", "overpass", "units"]]

