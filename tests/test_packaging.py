"""Packaging: environment.yml and pyproject.toml list the same dependencies; the CLI is wired."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    name = re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0]
    return name.lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {_name(r) for r in py["dependencies"]} | {_name(r) for r in py["optional-dependencies"]["test"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_names = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python"}
    assert pip_names == conda_names, (
        f"only in pyproject: {sorted(pip_names - conda_names)}; only in environment.yml: {sorted(conda_names - pip_names)}"
    )


def test_python_floor_is_311():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert py["requires-python"] == ">=3.11"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python>=3.11" in env["dependencies"]


def test_cli_help_lists_verbs():
    out = subprocess.run([sys.executable, "-m", "sm_nb.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for verb in ("scenario", "run", "catalog"):
        assert verb in out


def test_cli_rejects_negative_seed():
    res = subprocess.run(
        [sys.executable, "-m", "sm_nb.cli", "scenario", "--config", "demo", "--seed", "-3"], capture_output=True, text=True
    )
    assert res.returncode != 0
    assert "negative" in res.stderr


def test_cli_rejects_unknown_config():
    res = subprocess.run(
        [sys.executable, "-m", "sm_nb.cli", "scenario", "--config", "huge", "--seed", "0"], capture_output=True, text=True
    )
    assert res.returncode == 1
    assert "unknown config 'huge'" in res.stderr and "demo" in res.stderr


def test_notebooks_have_no_outputs_and_a_parameters_cell():
    import json

    nbs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert nbs, "no notebooks found"
    for nb in nbs:
        cells = json.loads(nb.read_text())["cells"]
        assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), f"{nb.name} has outputs"
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), f"{nb.name} lacks a parameters cell"


def test_metadata_uses_spdx_license_and_a_setuptools_that_reads_it():
    """`license = {text = ...}` and old setuptools make every `pip install` print deprecation warnings."""
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert py["project"]["license"] == "BSD-3-Clause"
    assert all((ROOT / f).exists() for f in py["project"]["license-files"])
    req = [r for r in py["build-system"]["requires"] if _name(r) == "setuptools"]
    assert req and re.search(r">=\s*(7[7-9]|[89]\d|\d{3})", req[0]), req


def test_browser_marker_is_registered():
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("browser:") for m in markers)
