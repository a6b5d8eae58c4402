"""Fingerprints: short stable hashes of everything that determines a cached number.

A cache entry (an experiment, an input cube, a downscaled store, the synthetic scenario) is
only ever reused when its fingerprint matches, so that pointing a :class:`sm_nb.Study` at
another catalog, changing one file a catalog entry points at, or editing the scenario code
never returns an old result.

* :func:`digest` — SHA-256 of a JSON-able object (sorted keys), as hex;
* :func:`file_stamps` — ``(path, size, mtime_ns)`` of files, the cheap identity of real data;
* :func:`module_closure` / :func:`code_hash` — the ``sm_nb`` modules a module imports
  (transitively, by parsing the source; function-level imports included) and a hash of their
  source text, used to key the synthetic scenario by the code that generates it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["digest", "file_stamps", "module_closure", "code_hash", "imports_of", "PACKAGE_DIR"]

#: folder of the ``sm_nb`` package
PACKAGE_DIR = Path(__file__).resolve().parent


def digest(obj: Any, length: int = 16) -> str:
    """First ``length`` hex digits of the SHA-256 of ``obj`` as canonical JSON.

    Parameters
    ----------
    obj : JSON-able
        Dicts, lists, strings, numbers; other objects are converted with ``str``.
    length : int
        Hex digits kept (16 = 64 bits).
    """
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def file_stamps(paths: Iterable[str | os.PathLike]) -> list[list[Any]]:
    """``[resolved path, size in bytes, modification time in ns]`` of each file, sorted by path.

    Size and modification time identify a file's content well enough for a cache key (the
    approach of make, rsync and ``xarray``'s ``cache`` keys); a content hash of every satellite
    file would cost minutes.
    """
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([str(Path(p).resolve()), int(st.st_size), int(st.st_mtime_ns)])
    return sorted(out)


def _module_file(name: str) -> Path | None:
    """Source file of ``sm_nb`` module ``name`` (``sm_nb.x.y``), or None outside the package."""
    if name == "sm_nb":
        return PACKAGE_DIR / "__init__.py"
    if not name.startswith("sm_nb."):
        return None
    rel = Path(*name.split(".")[1:])
    for cand in (PACKAGE_DIR / rel.with_suffix(".py"), PACKAGE_DIR / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _module_name(path: Path) -> str:
    rel = path.resolve().relative_to(PACKAGE_DIR).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["sm_nb", *parts])


def imports_of(path: Path) -> set[str]:
    """``sm_nb`` modules imported anywhere in the source file ``path`` (module and function level).

    ``from . import a`` counts as importing ``sm_nb.<pkg>.a`` when that is a module, else the
    package itself.
    """
    path = Path(path)
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "sm_nb")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "sm_nb":
                continue
            subs = [f"{mod}.{a.name}" for a in node.names if _module_file(f"{mod}.{a.name}") is not None
                    and _module_file(f"{mod}.{a.name}") != _module_file(mod)]
            found.update(subs if subs and len(subs) == len(node.names) else [mod, *subs])
    return {m for m in found if _module_file(m) is not None and m != name}


def module_closure(name: str) -> list[str]:
    """``name`` and every ``sm_nb`` module it imports, transitively (sorted)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        path = _module_file(mod)
        if path is not None:
            todo.extend(imports_of(path) - seen)
    return sorted(seen)


@lru_cache(maxsize=8)
def code_hash(name: str = "sm_nb.scenario.generate", length: int = 10) -> str:
    """Hash of the source text of ``name`` and every ``sm_nb`` module it imports.

    Used to key the synthetic scenario's cache folder: editing any code that generates it gives
    a new folder instead of a stale scenario.
    """
    h = hashlib.sha256()
    for mod in module_closure(name):
        path = _module_file(mod)
        if path is not None:
            h.update(mod.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:length]
