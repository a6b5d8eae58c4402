"""Config and seed validation: bad input gets errors naming the parameter."""

from __future__ import annotations

import numpy as np
import pytest

from sm_nb.config import CONFIGS, check_seed, get_config
from sm_nb.exceptions import ConfigError
from sm_nb.grids import cldas_grid, coarse_grid, fine_grid


def test_named_configs_and_grids_nest():
    for name in ("mini", "demo", "full"):
        cfg = get_config(name)
        fine, coarse, cldas = fine_grid(cfg), coarse_grid(cfg), cldas_grid(cfg)
        fy, fx = fine.nest_factor(coarse)
        assert (fy, fx) == cfg.fine_per_coarse
        fine.nest_factor(cldas)
    demo = get_config("demo")
    assert coarse_grid(demo).shape == (37, 45)
    assert fine_grid(demo).shape == (296, 450)
    assert fine_grid(get_config("full")).shape == (1036, 1350)
    # coarse centres on the GEOS-5 lattice −90 + 0.25 j, −180 + 0.3125 i
    c = coarse_grid(demo)
    np.testing.assert_allclose((c.lat + 90) / 0.25 % 1, 0, atol=1e-9)
    np.testing.assert_allclose((c.lon + 180) / 0.3125 % 1, 0, atol=1e-9)
    assert c.lat[0] == 31.0 and c.lat[-1] == 40.0


def test_seasons_exclude_winter():
    full = get_config("full")
    months = set(full.dates.month)
    assert months == set(range(4, 12))
    assert len(full.dates) == 2 * 244


def test_unknown_config_lists_valid_names():
    with pytest.raises(ConfigError, match=r"unknown config 'nope'.*demo.*full.*mini"):
        get_config("nope")


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, None])
def test_bad_seed(seed):
    with pytest.raises(ConfigError, match="seed"):
        check_seed(seed)


def test_time_range_outside_seasons():
    with pytest.raises(ConfigError, match=r"'start'.*outside the seasons"):
        get_config("demo", start="03-15")
    with pytest.raises(ConfigError, match=r"'end'.*outside the seasons"):
        get_config("demo", end="12-10")


def test_domain_outside_grid():
    with pytest.raises(ConfigError, match=r"'north'.*outside the grid"):
        get_config("demo", north=41.125)
    with pytest.raises(ConfigError, match=r"'west'.*coarse-cell edge"):
        get_config("demo", west=90.0)


def test_unknown_override():
    with pytest.raises(ConfigError, match=r"unknown config parameter.*'resolution'"):
        get_config("demo", resolution=1)


def test_fine_spacing_must_nest():
    with pytest.raises(ConfigError, match="fine_dlat"):
        get_config("demo", fine_dlat=0.03)


def test_config_key_changes_with_fields():
    assert get_config("demo").key != get_config("demo", end="10-31").key
    assert CONFIGS["demo"].key == get_config("demo").key
