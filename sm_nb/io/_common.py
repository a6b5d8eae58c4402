"""Shared plumbing of the real-format readers: paths, per-file problems, time ranges, attributes.

Every reader in :mod:`sm_nb.io` follows the same steps: resolve ``paths`` (files, folders,
globs) to the files of its product, keep those whose date falls in ``time``, open each file and
check its layout, collect every problem (not only the first) and raise one
:class:`~sm_nb.exceptions.DataError` that names each bad file, the variable and what was
expected, then build an ``xr.Dataset`` with named dims and CF attributes.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._version import __version__
from ..conventions import COORD_ATTRS, FREQUENCY, LAT, LON, TIME
from ..exceptions import DataError

__all__ = [
    "PathsLike",
    "TimeLike",
    "Problems",
    "resolve_paths",
    "select_time",
    "parse_time_range",
    "check_scale",
    "attr",
    "decode",
    "bbox_mask",
    "finish",
    "coords",
    "UTC_NOTE",
]

PathsLike = str | os.PathLike | Sequence[str | os.PathLike]
TimeLike = tuple[Any, Any] | None
UTC_NOTE = "times are UTC; daily products are labelled with the day (00:00)"
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass
class Problems:
    """Collects per-file problems so a folder with several bad files reports all of them."""

    product: str
    items: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, path: Path | str, message: str) -> None:
        self.items.append((Path(path), message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, n_files: int) -> None:
        """Raise one :class:`DataError` listing every problem (file: what is wrong)."""
        if not self.items:
            return
        lines = "\n".join(f"  {p}: {m}" for p, m in self.items)
        n_bad = len({p for p, _ in self.items})
        raise DataError(f"{n_bad} of {n_files} {self.product} file(s) could not be read:\n{lines}")


def resolve_paths(paths: PathsLike, patterns: Sequence[str], product: str, example: str) -> list[Path]:
    """Files named by ``paths`` (files, folders searched recursively, or globs), sorted.

    Parameters
    ----------
    paths : str, path or sequence of them
        Files, folders or glob patterns.
    patterns : sequence of str
        ``fnmatch`` patterns of the product's file names, used inside folders.
    product : str
        Product name for messages.
    example : str
        An example file name for messages.

    Raises
    ------
    DataError
        If a named file does not exist or nothing matches.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise DataError(f"no {product} paths given; expected files, folders or globs such as {example!r}")
    found: list[Path] = []
    for item in items:
        text = os.path.expanduser(os.fspath(item))
        if _GLOB_CHARS.search(text):
            hits = [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
            if not hits:
                raise DataError(f"{product} glob {text!r} matches no file; expected files named like {example!r}")
            found += hits
        elif os.path.isdir(text):
            hits = [p for p in Path(text).rglob("*") if p.is_file() and any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
            if not hits:
                raise DataError(
                    f"folder {text!r} holds no {product} file; expected names matching {list(patterns)} (e.g. {example!r})"
                )
            found += hits
        elif os.path.isfile(text):
            found.append(Path(text))
        else:
            raise DataError(f"{product} file {text!r} does not exist; expected a file, folder or glob")
    return sorted(set(found))


def parse_time_range(time: TimeLike) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``(start, end)`` → inclusive day range as Timestamps (``None`` passes through)."""
    if time is None:
        return None
    try:
        start, end = time
        t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError):
        raise DataError(f"time is {time!r}; expected a (start, end) pair of dates such as ('2017-04-01', '2017-11-30')") from None
    if t1 < t0:
        raise DataError(f"time range {t0.date()}..{t1.date()} ends before it starts; expected start <= end")
    return t0.normalize(), t1.normalize()


def select_time(
    files: Sequence[Path], periods: Sequence[tuple[pd.Timestamp, pd.Timestamp]], time: TimeLike, product: str
) -> list[int]:
    """Indices of ``files`` whose period ``(first day, last day)`` overlaps the ``time`` range.

    Raises
    ------
    DataError
        If no file falls in the range (the message gives the span the files cover).
    """
    rng = parse_time_range(time)
    if rng is None:
        return list(range(len(files)))
    t0, t1 = rng
    keep = [i for i, (a, b) in enumerate(periods) if b >= t0 and a <= t1]
    if not keep:
        first = min(a for a, _ in periods).date()
        last = max(b for _, b in periods).date()
        raise DataError(
            f"no {product} file falls in the time range {t0.date()}..{t1.date()}; "
            f"the {len(files)} file(s) found cover {first}..{last}"
        )
    return keep


def attr(attrs: Any, *names: str, default: Any = None) -> Any:
    """First attribute present among ``names`` as a Python scalar/str (bytes decoded, 1-element arrays unwrapped)."""
    for name in names:
        if name in attrs:
            value = attrs[name]
            if isinstance(value, bytes | np.bytes_):
                return value.decode("utf-8", "replace").rstrip("\x00")
            arr = np.asarray(value)
            if arr.dtype.kind in "SO" and arr.size == 1:
                v = arr.reshape(-1)[0]
                return v.decode("utf-8", "replace").rstrip("\x00") if isinstance(v, bytes) else v
            if arr.size == 1:
                return arr.reshape(-1)[0].item()
            return arr
    return default


def check_scale(path: Path, var: str, attr_name: str, got: float | None, expected: float, problems: Problems, rtol: float = 1e-6) -> float:
    """Check a scale/offset attribute against the product's documented value.

    Returns the value to use (``expected`` when the attribute is absent). A differing value is
    recorded in ``problems`` (a wrong scale attribute usually means the wrong product or a
    re-packaged file whose numbers would silently be off by orders of magnitude).
    """
    if got is None:
        return expected
    try:
        value = float(got)
    except (TypeError, ValueError):
        problems.add(path, f"variable {var!r} attribute {attr_name!r} is {got!r}; expected the number {expected:g}")
        return expected
    if not np.isclose(value, expected, rtol=rtol, atol=0.0 if expected else 1e-12):
        problems.add(path, f"variable {var!r} attribute {attr_name!r} is {value:g}; expected {expected:g}")
    return value


def decode(raw: np.ndarray, scale: float = 1.0, offset: float = 0.0, fills: Iterable[float] = (), valid: tuple[float, float] | None = None) -> np.ndarray:
    """``raw · scale + offset`` as float32 with ``fills`` (raw values) and out-of-``valid`` (physical) → NaN."""
    raw = np.asarray(raw)
    bad = np.zeros(raw.shape, dtype=bool)
    for f in fills:
        if f is None:
            continue
        bad |= raw == np.asarray(f).astype(raw.dtype) if raw.dtype.kind in "iu" else np.isclose(raw, f)
    out = raw.astype(np.float64) * scale + offset
    if valid is not None:
        with np.errstate(invalid="ignore"):
            bad |= (out < valid[0]) | (out > valid[1])
    out[bad] = np.nan
    return out.astype(np.float32)


def bbox_mask(values: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """Boolean mask of ``lo <= values <= hi`` (a ``None`` bound is open)."""
    values = np.asarray(values)
    m = np.isfinite(values)
    if lo is not None:
        m &= values >= lo
    if hi is not None:
        m &= values <= hi
    return m


def coords(time: Sequence[pd.Timestamp] | None, lat: np.ndarray | None, lon: np.ndarray | None, frequency: Sequence[float] | None = None) -> dict[str, xr.Variable]:
    """CF coordinate variables for the dims a reader produces."""
    out: dict[str, xr.Variable] = {}
    if time is not None:
        out[TIME] = xr.Variable(TIME, pd.DatetimeIndex(time), {**COORD_ATTRS[TIME], "comment": UTC_NOTE})
    if lat is not None:
        out[LAT] = xr.Variable(LAT, np.asarray(lat, dtype=np.float64), COORD_ATTRS[LAT])
    if lon is not None:
        out[LON] = xr.Variable(LON, np.asarray(lon, dtype=np.float64), COORD_ATTRS[LON])
    if frequency is not None:
        out[FREQUENCY] = xr.Variable(FREQUENCY, np.asarray(frequency, dtype=np.float64), COORD_ATTRS[FREQUENCY])
    return out


def finish(
    ds: xr.Dataset,
    product: str,
    files: Sequence[Path],
    variables: Sequence[str] | None = None,
    chunks: dict[str, int] | None = None,
    reader: str = "",
    extra_attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Select ``variables``, add provenance attributes, and chunk with dask when ``chunks`` is given."""
    if variables is not None:
        missing = [v for v in variables if v not in ds.data_vars]
        if missing:
            raise DataError(f"{reader or product} cannot provide variable(s) {missing}; expected a subset of {sorted(map(str, ds.data_vars))}")
        ds = ds[list(variables)]
    names = [p.name for p in files]
    ds.attrs.update(
        {
            "Conventions": "CF-1.10",
            "source": f"{product} files read by sm_nb.io.{reader}",
            "source_files": f"{len(names)} file(s): {names[0]} … {names[-1]}" if len(names) > 1 else (names[0] if names else ""),
            "sm_nb_version": __version__,
            **(extra_attrs or {}),
        }
    )
    if chunks:
        ds = ds.chunk({k: v for k, v in chunks.items() if k in ds.dims})
    return ds


def run_per_file(files: Sequence[Path], problems: Problems, func: Callable[[Path], Any]) -> list[Any]:
    """Apply ``func`` to every file; a failure is recorded in ``problems`` and gives ``None``.

    ``func`` raises :class:`DataError` for a layout problem it diagnosed itself; any ``OSError``
    (truncated or corrupt container) or ``KeyError`` is turned into a message naming the file.
    """
    out = []
    for path in files:
        try:
            out.append(func(path))
        except DataError as exc:
            problems.add(path, str(exc))
            out.append(None)
        except (OSError, KeyError, ValueError) as exc:
            problems.add(path, f"unreadable ({type(exc).__name__}: {exc}); the file may be truncated or not of this product")
            out.append(None)
    return out
