"""On-disk cache of generated data and atomic writes.

Generated scenarios live under ``$SM_NB_CACHE`` (default ``~/.cache/sm_nb``) in one folder per
(config, config hash, seed, package version). A folder is written under a temporary name and
renamed into place only when complete, so an interrupted run never leaves a half-written
scenario nor destroys an earlier one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ._version import __version__
from .exceptions import DataError

__all__ = [
    "cache_root",
    "atomic_dir",
    "atomic_file",
    "write_zarr",
    "ZarrAppender",
    "COMPLETE_MARKER",
]

COMPLETE_MARKER = "COMPLETE"


def cache_root() -> Path:
    """Root of the sm_nb cache: ``$SM_NB_CACHE`` or ``~/.cache/sm_nb``."""
    root = os.environ.get("SM_NB_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "sm_nb"


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder that replaces ``final`` only if the block succeeds.

    The previous ``final`` (if any) is kept until the new one is in place. When another
    process puts its own ``final`` in place at the same moment (both computed the same cache
    entry), the one already there is kept and this one is dropped.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            final.rename(old)
        except FileNotFoundError:  # another writer moved it away first
            old = None
    try:
        tmp.rename(final)
    except OSError:
        if not final.is_dir():
            raise
        # another process wrote ``final`` between our check and our rename (two notebooks or
        # chains computing the same cache entry): its copy is complete, keep it, drop ours
        shutil.rmtree(tmp, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_file(final: Path, mode: str = "w") -> Iterator[object]:
    """Open a temporary file next to ``final``; on success ``os.replace`` it onto ``final``."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmpname = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmpname, mode) as fh:
            yield fh
        os.replace(tmpname, final)
    except BaseException:
        Path(tmpname).unlink(missing_ok=True)
        raise


def _encoding(ds: xr.Dataset, time_chunk: int) -> dict[str, dict]:
    enc: dict[str, dict] = {}
    for name, var in ds.data_vars.items():
        e: dict = {"chunks": tuple(min(time_chunk, n) if d == "time" else n for d, n in var.sizes.items())}
        if np.issubdtype(var.dtype, np.floating):
            e["dtype"] = "float32"
        if var.ndim:
            enc[name] = e
    return enc


def write_zarr(ds: xr.Dataset, path: Path, time_chunk: int = 64) -> Path:
    """Write ``ds`` to a zarr store at ``path`` atomically (temporary store, then rename).

    Variables are chunked by ``time_chunk`` along ``time`` and whole along other dims.
    """
    path = Path(path)
    ds = ds.drop_encoding()
    with atomic_dir(path) as tmp:
        ds.to_zarr(tmp, mode="w", encoding=_encoding(ds, time_chunk), consolidated=True, zarr_format=2)
    return path


class ZarrAppender:
    """Collect daily fields and append them to a zarr store every ``chunk`` days.

    Used to stream the fine-grid cubes of the ``full`` config to disk without holding
    the season in memory.

    Parameters
    ----------
    path : Path
        Store to create (inside a folder that is itself written atomically).
    coords : dict
        Spatial coordinates (``lat``/``lon`` xarray Variables).
    attrs : dict
        Per-variable attributes, ``{var: {...}}``, and ``"_global"`` for dataset attrs.
    chunk : int
        Days per append (and per zarr chunk along time).
    """

    def __init__(self, path: Path, coords: dict, attrs: dict[str, dict], chunk: int = 8) -> None:
        self.path = Path(path)
        self.coords = coords
        self.attrs = attrs
        self.chunk = int(chunk)
        self._times: list[pd.Timestamp] = []
        self._data: dict[str, list[np.ndarray]] = {}
        self._started = False

    def add(self, time: pd.Timestamp, **fields: np.ndarray) -> None:
        if self._data and set(fields) != set(self._data):
            raise DataError(f"ZarrAppender {self.path.name}: got fields {sorted(fields)}, expected {sorted(self._data)}")
        for name, value in fields.items():
            self._data.setdefault(name, []).append(np.asarray(value, dtype=np.float32))
        self._times.append(pd.Timestamp(time))
        if len(self._times) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self._times:
            return
        dims = ("time", "lat", "lon")
        ds = xr.Dataset(
            {k: (dims, np.stack(v), self.attrs.get(k, {})) for k, v in self._data.items()},
            coords={"time": pd.DatetimeIndex(self._times), **self.coords},
            attrs=self.attrs.get("_global", {}),
        )
        chunks = {"time": self.chunk, "lat": ds.sizes["lat"], "lon": ds.sizes["lon"]}
        if not self._started:
            enc = {k: {"dtype": "float32", "chunks": tuple(chunks[d] for d in dims)} for k in ds.data_vars}
            enc["time"] = {"units": "days since 2000-01-01", "calendar": "proleptic_gregorian", "dtype": "int64"}
            ds.to_zarr(self.path, mode="w", encoding=enc, consolidated=False, zarr_format=2)
            self._started = True
        else:
            ds.to_zarr(self.path, append_dim="time", consolidated=False, zarr_format=2)
        self._times.clear()
        self._data = {k: [] for k in self._data}

    def close(self) -> Path:
        self.flush()
        if self._started:
            import zarr

            zarr.consolidate_metadata(str(self.path))
        return self.path


def provenance(config_name: str, config_key: str, seed: int) -> dict[str, str | int]:
    """Provenance attributes written on every generated dataset."""
    return {
        "sm_nb_version": __version__,
        "config": config_name,
        "config_key": config_key,
        "seed": int(seed),
        "Conventions": "CF-1.10",
        "source": "sm_nb synthetic Qinghai scenario",
    }
