"""Catalog validation: every bad entry fails with a message naming the entry and the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sm_nb.catalog import REQUIRED_KEYS, load_catalog, open_dataset
from sm_nb.exceptions import CatalogError

ROOT = Path(__file__).resolve().parents[1]
NEEDED = [
    "smap_tb", "amsr2_tb", "fy3c_tb", "fy3c_sm", "ascat_sigma40", "modis_ndvi_evi", "modis_lst",
    "modis_reflectance", "dem", "cldas_sm", "geos5_sm", "stations_sm", "rain_gauges", "land_cover", "truth_sm",
]


@pytest.fixture
def raw():
    return yaml.safe_load((ROOT / "data_catalog.yaml").read_text())


def _write(tmp_path, raw) -> Path:
    p = tmp_path / "cat.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def test_shipped_catalog_is_valid_and_complete():
    cat = load_catalog(ROOT / "data_catalog.yaml")
    assert set(NEEDED) <= set(cat.names)
    table = cat.table()
    assert {"resolution", "overpass", "units"} <= set(table.columns)
    assert table.loc["smap_tb", "units"] == "K"
    assert table.loc["ascat_sigma40", "units"] == "dB"


def test_unknown_dataset_lists_names():
    cat = load_catalog(ROOT / "data_catalog.yaml")
    with pytest.raises(CatalogError, match=r"unknown dataset 'smos_tb'.*'amsr2_tb'"):
        cat["smos_tb"]
    with pytest.raises(CatalogError, match="unknown dataset 'smos_tb'"):
        open_dataset("smos_tb")


@pytest.mark.parametrize("key", list(REQUIRED_KEYS))
def test_missing_key(tmp_path, raw, key):
    bad = copy.deepcopy(raw)
    del bad["datasets"]["smap_tb"][key]
    with pytest.raises(CatalogError, match=rf"entry 'smap_tb' lacks key '{key}'"):
        load_catalog(_write(tmp_path, bad))


def test_wrong_type(tmp_path, raw):
    bad = copy.deepcopy(raw)
    bad["datasets"]["cldas_sm"]["variables"] = "sm"
    with pytest.raises(CatalogError, match=r"entry 'cldas_sm' key 'variables' is 'sm' \(str\); expected a list"):
        load_catalog(_write(tmp_path, bad))


def test_unknown_source_and_reader(tmp_path, raw):
    bad = copy.deepcopy(raw)
    bad["datasets"]["dem"]["source"] = "ftp"
    with pytest.raises(CatalogError, match=r"entry 'dem' key 'source' is 'ftp'; expected one of \['synthetic', 'files'\]"):
        load_catalog(_write(tmp_path, bad))
    bad = copy.deepcopy(raw)
    bad["datasets"]["dem"]["reader"] = "read_magic"
    with pytest.raises(CatalogError, match=r"entry 'dem' key 'reader' is 'read_magic'"):
        load_catalog(_write(tmp_path, bad))


def test_files_entry_needs_existing_path(tmp_path, raw):
    bad = copy.deepcopy(raw)
    bad["datasets"]["dem"]["source"] = "files"
    with pytest.raises(CatalogError, match=r"entry 'dem' has source 'files' but no 'path'"):
        load_catalog(_write(tmp_path, bad))
    bad["datasets"]["dem"]["path"] = "nowhere/*.tif"
    cat = load_catalog(_write(tmp_path, bad))
    with pytest.raises(CatalogError, match=r"entry 'dem' key 'path': 'nowhere/\*.tif' matches no file"):
        cat.open("dem")


def test_bad_chunks_and_unknown_key(tmp_path, raw):
    bad = copy.deepcopy(raw)
    bad["datasets"]["modis_lst"]["chunks"] = {"time": 0}
    with pytest.raises(CatalogError, match=r"entry 'modis_lst' key 'chunks' has time: 0"):
        load_catalog(_write(tmp_path, bad))
    bad = copy.deepcopy(raw)
    bad["datasets"]["modis_lst"]["colour"] = "red"
    with pytest.raises(CatalogError, match=r"entry 'modis_lst' has unknown key\(s\) \['colour'\]"):
        load_catalog(_write(tmp_path, bad))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "none.yaml")
    p = tmp_path / "broken.yaml"
    p.write_text("datasets: [unclosed")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(p)
