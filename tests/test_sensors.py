"""Tests of the sensor simulation (sm_nb.scenario.sensor_specs, footprint, swath, sensors) on analytic fields (constant, step edge, point source, ramp)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.special import erf

from sm_nb.config import get_config
from sm_nb.exceptions import ConfigError, DataError
from sm_nb.grids import cldas_grid, fine_grid
from sm_nb.scenario import footprint as FP
from sm_nb.scenario import sensor_specs as SP
from sm_nb.scenario import sensors as S
from sm_nb.scenario import swath as SW

KM = SP.KM_PER_DEG
DAY = pd.Timestamp("2017-07-01")


@pytest.fixture(scope="module")
def mini():
    return get_config("mini")


@pytest.fixture(scope="module")
def demo():
    return get_config("demo")


def make_static(cfg, water=0.0, slope=2.0):
    shape = fine_grid(cfg).shape
    water = np.broadcast_to(np.asarray(water, np.float32), shape)
    slope = np.broadcast_to(np.asarray(slope, np.float32), shape)
    return xr.Dataset({"water_fraction": (("lat", "lon"), water), "slope": (("lat", "lon"), slope)})


def make_fine(sensor, cfg, value=250.0):
    shape = fine_grid(cfg).shape
    fine = {k: np.full(shape, value, np.float32) for k in SP.fine_keys(sensor, cfg)}
    if SP._spec(sensor).kind == "scatterometer":
        fine["sigma0"] = np.full(shape, 0.01, np.float32)  # −20 dB, linear
    fine["frozen"] = np.zeros(shape, bool)
    fine["snow"] = np.zeros(shape, bool)
    fine["vwc"] = np.full(shape, 1.0, np.float32)
    return fine


def quiet(sensor, **changes):
    """A spec without noise or RFI (and with other ``changes``)."""
    spec = SP.SENSORS[sensor]
    zero = (
        {"nedt_k": (0.0,) * len(spec.frequencies)}
        if spec.kind == "radiometer"
        else {"noise_db": ()}
    )
    return dataclasses.replace(spec, rfi=None, **{**zero, **changes})


def everywhere(spec):
    return dataclasses.replace(spec, swath_km=(0.0, 1e5))


def inside(cfg, grid):
    lat = cldas_grid(cfg)
    plat, plon = grid.mesh()
    return (
        (plat >= lat.lat[0] - lat.dlat / 2)
        & (plat <= lat.lat[-1] + lat.dlat / 2)
        & (plon >= lat.lon[0] - lat.dlon / 2)
        & (plon <= lat.lon[-1] + lat.dlon / 2)
    )


# ---- registry -----------------------------------------------------------------------------------
def test_registry_values():
    smap, amsr2, fy3c, ascat = (SP.SENSORS[k] for k in ("smap", "amsr2", "fy3c", "ascat"))
    assert smap.fwhm_km == (40.0,) and smap.nedt_k == (1.1,) and smap.overpass_desc == 6.0
    assert amsr2.fwhm_km == (46.6, 46.6, 31.7) and amsr2.nedt_k == (0.3, 0.3, 0.6)
    assert fy3c.bias_h == (1.5,) and fy3c.bias_v == (1.0,)
    assert fy3c.overpass_hour("asc") == pytest.approx(13 + 40 / 60)
    assert ascat.swath_km == (335.0, 885.0)
    assert smap.rfi.probability == 0.005 and smap.rfi.amplitude_k == (2.0, 20.0)
    assert amsr2.rfi.frequencies == (6.925,)


def test_product_grids(demo):
    assert SP.product_grid("smap", demo).name == "ease2_m36"
    assert SP.product_grid("fy3c", demo).name == "ease2_m25"
    assert SP.product_grid("amsr2", demo).dlat == 0.25
    assert SP.product_grid("ascat", demo).dlat == 0.125


def test_channels_follow_config(demo):
    cfg = demo.replace(amsr2_frequencies=(10.65,))
    assert SP.channels("amsr2", cfg) == (10.65,)
    assert SP.fine_keys("amsr2", cfg)[:2] == ("tbh_10.65", "tbv_10.65")
    out = S.observe("amsr2", "asc", DAY, make_fine("amsr2", cfg), make_static(cfg), cfg, 0)
    assert out["tbh"].shape == (1, *SP.product_grid("amsr2", cfg).shape)
    with pytest.raises(ConfigError, match="amsr2_frequencies"):
        SP.channels("amsr2", demo.replace(amsr2_frequencies=(18.7,)))


# ---- footprint ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mini", "demo"])
def test_footprint_preserves_constant(name):
    cfg = get_config(name)
    out = FP.footprint(np.full(fine_grid(cfg).shape, 273.5, np.float32), cfg, 40.0)
    assert out.shape == cldas_grid(cfg).shape
    np.testing.assert_allclose(out, 273.5, rtol=1e-6)  # edges renormalised too


def _effective_fwhm(cfg, fwhm):
    """FWHM (y, x) in km of the response to fine point sources, averaged over the source
    positions inside one lattice cell (the lattice response plus the sub-cell position spread)."""
    fine, lat = fine_grid(cfg), cldas_grid(cfg)
    fy, fx = fine.nest_factor(lat)
    cy, cx = lat.shape[0] // 2, lat.shape[1] // 2
    field = np.zeros(fine.shape, np.float32)
    field[cy * fy, cx * fx] = 1.0
    w = FP.footprint(field, cfg, fwhm).astype(float)
    w /= w.sum()
    var_y = var_x = 0.0
    for iy in range(cy * fy, (cy + 1) * fy):
        for ix in range(cx * fx, (cx + 1) * fx):
            y = (lat.lat[:, None] - fine.lat[iy]) * KM
            x = (lat.lon[None, :] - fine.lon[ix]) * KM * np.cos(np.deg2rad(lat.lat[:, None]))
            var_y += (w * y**2).sum() / (fy * fx)
            var_x += (w * x**2).sum() / (fy * fx)
    return SP.FWHM_PER_SIGMA * np.sqrt(var_y), SP.FWHM_PER_SIGMA * np.sqrt(var_x)


@pytest.mark.parametrize("name", ["demo", "full"])
@pytest.mark.parametrize("fwhm", [30.0, 31.7, 40.0, 46.6, 65.8])
def test_footprint_fwhm_point_source(name, fwhm):
    fwhm_y, fwhm_x = _effective_fwhm(get_config(name), fwhm)
    assert fwhm_y == pytest.approx(fwhm, rel=0.10)
    assert fwhm_x == pytest.approx(fwhm, rel=0.10)
    # in fact the box of the block mean is compensated: within 2 %
    assert fwhm_y == pytest.approx(fwhm, rel=0.02) and fwhm_x == pytest.approx(fwhm, rel=0.02)


def test_footprint_step_edge_is_erf(demo):
    fine, lat = fine_grid(demo), cldas_grid(demo)
    edge = lat.lon[112] + lat.dlon / 2  # a lattice cell boundary
    field = (fine.lon[None, :] > edge).astype(np.float32) * np.ones((fine.shape[0], 1), np.float32)
    out = FP.footprint(field, demo, 40.0)
    row = lat.shape[0] // 2
    x = (lat.lon - edge) * KM * np.cos(np.deg2rad(lat.lat[row]))
    sigma = 40.0 / SP.FWHM_PER_SIGMA
    expected = 0.5 * (1 + erf(x / (np.sqrt(2) * sigma)))
    np.testing.assert_allclose(out[row], expected, atol=0.02)
    assert out[row, 112] < 0.5 < out[row, 113]


def test_footprint_nan_gaps_do_not_spread(demo):
    fine = fine_grid(demo)
    field = np.full(fine.shape, 5.0, np.float32)
    field[100:141, 200:261] = np.nan  # whole lattice cells 50..69 × 100..129 plus partial edges
    out = FP.footprint(field, demo, 40.0)
    gap = np.zeros(cldas_grid(demo).shape, bool)
    gap[50:70, 100:130] = True
    np.testing.assert_array_equal(np.isnan(out), gap)
    np.testing.assert_allclose(out[~gap], 5.0, rtol=1e-5)
    spread = FP.footprint(field, demo, 40.0, skipna=False)
    assert np.isnan(spread).sum() > gap.sum() + 100


def test_footprint_rejects_wrong_shape(mini):
    with pytest.raises(DataError, match="fine grid"):
        FP.footprint(np.zeros((3, 4)), mini, 40.0)


# ---- sampling -----------------------------------------------------------------------------------
@pytest.mark.parametrize("sensor", ["smap", "amsr2", "ascat"])
def test_sample_linear_ramp(demo, sensor):
    lat = cldas_grid(demo)
    ramp = 3.0 * lat.lat[:, None] + 2.0 * lat.lon[None, :]
    grid = SP.product_grid(sensor, demo)
    plat, plon = grid.mesh()
    truth = 3.0 * plat + 2.0 * plon
    ins = inside(demo, grid)
    exact = FP.sample(ramp, demo, grid, 0.0, None)
    assert np.isnan(exact[~ins]).all() and np.isfinite(exact[ins]).all()
    interior = (
        ins
        & (plat > lat.lat[0])
        & (plat < lat.lat[-1])
        & (plon > lat.lon[0])
        & (plon < lat.lon[-1])
    )
    np.testing.assert_allclose(exact[interior], truth[interior], atol=2e-3)
    jit = SP.SENSORS[sensor].jitter_km
    jittered = FP.sample(ramp, demo, grid, jit, np.random.default_rng(1))
    h = lat.dlat / 2  # edge clamping
    bound = 3 * (jit / KM + h) + 2 * (jit / (KM * np.cos(np.deg2rad(plat))) + h) + 2e-3
    err = jittered - truth
    assert (np.abs(err[ins]) <= bound[ins]).all()
    assert np.abs(err[interior]).max() > 0.3 * (3 + 2) * jit / KM  # jitter is really applied


# ---- swath --------------------------------------------------------------------------------------
EXPECTED_FRACTION = {
    "smap": (0.33, 0.55),
    "amsr2": (0.55, 0.80),
    "fy3c": (0.5, 0.8),
    "ascat": (0.35, 0.6),
}


@pytest.mark.parametrize("sensor", list(SP.SENSORS))
def test_swath_coverage(demo, sensor):
    grid = SP.product_grid(sensor, demo)
    ins = inside(demo, grid)
    dates = demo.season_dates(2017)
    for orbit in SP.ORBITS:
        frac = SW.observed_fraction(sensor, orbit, dates, grid)[ins]
        lo, hi = EXPECTED_FRACTION[sensor]
        assert lo < frac.mean() < hi, (orbit, frac.mean())
        assert frac.min() > 0.1  # every cell seen regularly over the season
    np.testing.assert_array_equal(
        SW.swath_mask(sensor, "asc", DAY, grid), SW.swath_mask(sensor, "asc", DAY.date(), grid)
    )


def test_ascat_nadir_gap(demo):
    grid = SP.product_grid("ascat", demo)
    spec = SP.SENSORS["ascat"]
    gap_share = []
    for date in pd.date_range(DAY, periods=10):
        real = SW.swath_mask(spec, "desc", date, grid)
        full = SW.swath_mask(dataclasses.replace(spec, swath_km=(0.0, 885.0)), "desc", date, grid)
        assert not (real & ~full).any()
        gap_share.append((full & ~real).sum() / max(full.sum(), 1))
    assert 0.25 < np.mean(gap_share) < 0.5  # ≈ 335/885 of the outer swath


# ---- noise, bias, RFI ---------------------------------------------------------------------------
@pytest.mark.parametrize("sensor", ["smap", "amsr2", "fy3c"])
def test_noise_and_bias(demo, sensor):
    spec = dataclasses.replace(SP.SENSORS[sensor], rfi=None)
    fine, static = make_fine(sensor, demo), make_static(demo)
    res = {"tbh": [], "tbv": []}
    for date in pd.date_range(DAY, periods=6):
        out = S.observe(spec, "asc", date, fine, static, demo, 3)
        for pol in res:
            res[pol].append((out[pol] - 250.0).reshape(out[pol].shape[0], -1))
    for pol in res:
        r = np.concatenate(res[pol], axis=1)
        for k, sd in enumerate(spec.nedt_k):
            v = r[k][np.isfinite(r[k])]
            assert v.size > 1500
            assert v.std() == pytest.approx(sd, rel=0.06)
            assert v.mean() == pytest.approx(spec.bias(pol[-1])[k], abs=4 * sd / np.sqrt(v.size))


def test_ascat_sigma40_noise(demo):
    fine, static = make_fine("ascat", demo), make_static(demo)
    vals = np.concatenate(
        [
            S.observe("ascat", "desc", d, fine, static, demo, 3)["sigma40"].ravel()
            for d in pd.date_range(DAY, periods=3)
        ]
    )
    vals = vals[np.isfinite(vals)]
    assert vals.mean() == pytest.approx(-20.0, abs=0.02)
    assert vals.std() == pytest.approx(np.hypot(0.13, 0.15), rel=0.05)


def test_sigma0_must_be_linear(mini):
    fine = make_fine("ascat", mini)
    fine["sigma0"] = np.full(fine["sigma0"].shape, -15.0, np.float32)
    with pytest.raises(DataError, match="LINEAR"):
        S.observe("ascat", "asc", DAY, fine, make_static(mini), mini, 0)


def _near_city(grid, radius=100.0):
    plat, plon = grid.mesh()
    near = np.zeros(grid.shape, bool)
    for la, lo in SP.RFI_CITIES.values():
        near |= S._distance_km(plat, plon, la, lo) < radius
    return near


@pytest.mark.parametrize("prob", [1.0, 0.3])
def test_smap_rfi_only_near_cities(demo, prob):
    base = quiet("smap")
    spec = dataclasses.replace(
        base, rfi=dataclasses.replace(SP.SENSORS["smap"].rfi, probability=prob)
    )
    grid = SP.product_grid(spec, demo)
    near = _near_city(grid)
    fine, static = make_fine(spec, demo), make_static(demo)
    hits = seen_near = 0
    for date in pd.date_range(DAY, periods=8):
        out = S.observe(spec, "desc", date, fine, static, demo, 5)
        rh, rv = out["tbh"][0] - 250.0, out["tbv"][0] - 250.0
        seen = np.isfinite(rh)
        hit = seen & (np.abs(rh) > 1e-3)
        assert not (hit & ~near).any()  # only within 100 km of the cities
        np.testing.assert_allclose(rh[hit], rv[hit], atol=1e-3)  # both polarisations
        assert ((rh[hit] >= 2 - 1e-3) & (rh[hit] <= 20 + 1e-3)).all()
        assert not (out["flag"] & SP.FLAG_BITS["rfi"]).any()  # residual RFI: unflagged
        hits += hit.sum()
        seen_near += (seen & near).sum()
    assert seen_near > 20
    assert hits / seen_near == pytest.approx(
        prob, abs=4 * np.sqrt(prob * (1 - prob) / seen_near) + 1e-9
    )


def test_amsr2_rfi_fixed_cells(demo):
    spec = dataclasses.replace(quiet("amsr2"), rfi=SP.SENSORS["amsr2"].rfi)
    grid = SP.product_grid(spec, demo)
    slat, slon, amp = S.rfi_sites(spec, 7)
    assert 2 <= slat.size <= 3 and (slon > 100).all() and ((amp >= 3) & (amp <= 30)).all()
    assert not np.array_equal(S.rfi_sites(spec, 8)[2], amp)
    plat, plon = grid.mesh()
    fine, static = make_fine(spec, demo), make_static(demo)
    flagged = observed = 0
    for date in pd.date_range(DAY, periods=24):
        out = S.observe(spec, "asc", date, fine, static, demo, 7)
        res = out["tbh"] - 250.0
        np.testing.assert_allclose(np.nan_to_num(res[1:]), 0.0, atol=1e-3)  # 7.3, 10.65 clean
        hit = np.isfinite(res[0]) & (np.abs(res[0]) > 1e-3)
        for la, lo, a in zip(slat, slon, amp, strict=True):
            cell = np.isclose(plat, la) & np.isclose(plon, lo)
            if np.isfinite(res[0][cell]).all():
                assert res[0][cell] == pytest.approx(a, abs=1e-3)
                observed += 1
                flagged += int(out["flag"][cell][0] & SP.FLAG_BITS["rfi"] > 0)
            hit &= ~cell
        assert not hit.any()  # nowhere else
        assert not ((out["flag"] & SP.FLAG_BITS["rfi"]) > 0)[
            ~np.isin(plat + 1j * plon, slat + 1j * slon)
        ].any()
    assert observed >= 15
    assert 0.15 < flagged / observed < 0.85  # half of the injected RFI is flagged


# ---- flags --------------------------------------------------------------------------------------
def test_flags_follow_inputs(demo):
    fine_g = fine_grid(demo)
    flat, flon = fine_g.mesh()
    spec = everywhere(quiet("smap"))
    fine = make_fine(spec, demo)
    fine["frozen"] = flon < 94.0
    fine["snow"] = flat > 38.5
    fine["vwc"] = np.where(flon > 100.0, 6.0, 1.0).astype(np.float32)
    water = np.where((flat < 33.0) & (flon > 96.0) & (flon < 99.0), 0.2, 0.0)
    checker = ((np.indices(fine_g.shape).sum(axis=0) % 2) * 10.0).astype(np.float32)
    slope = np.where((flat > 34.5) & (flat < 37.0) & (flon > 95.0) & (flon < 99.0), checker, 10.0)
    out = S.observe(spec, "asc", DAY, fine, make_static(demo, water, slope), demo, 0)
    plat, plon = SP.product_grid(spec, demo).mesh()
    seen = np.isfinite(out["tbh"][0])
    bits = {k: (out["flag"] & v) > 0 for k, v in SP.FLAG_BITS.items()}
    regions = {  # region shrunk (m > 0) or grown (m < 0) by m degrees
        "frozen": lambda m: plon < 94.0 - m,
        "snow": lambda m: plat > 38.5 + m,
        "dense_vegetation": lambda m: plon > 100.0 + m,
        "water": lambda m: (plat < 33.0 - m) & (plon > 96.0 + m) & (plon < 99.0 - m),
        "mountainous": lambda m: (
            (plat > 34.5 + m) & (plat < 37.0 - m) & (plon > 95.0 + m) & (plon < 99.0 - m)
        ),
    }
    m = 0.8  # degrees ≈ 2 FWHM
    for name, region in regions.items():
        core = region(m) & seen
        assert core.any(), name
        assert bits[name][core].all(), name
        assert not bits[name][seen & ~region(-m)].any(), name
    assert not bits["rfi"].any()
    assert (out["flag"][~seen] == 0).all()


def test_frozen_flag_from_model_temperature(mini):
    spec = everywhere(quiet("smap"))
    fine = make_fine(spec, mini)
    fine["t_model"] = np.full(fine["vwc"].shape, 268.0, np.float32)
    out = S.observe(spec, "asc", DAY, fine, make_static(mini), mini, 0)
    seen = np.isfinite(out["tbh"][0])
    assert seen.any() and ((out["flag"][seen] & SP.FLAG_BITS["frozen"]) > 0).all()
    fine["t_model"][:] = 280.0
    fine["frozen"][:] = True  # t_model overrides the truth frozen state
    out = S.observe(spec, "asc", DAY, fine, make_static(mini), mini, 0)
    assert not (out["flag"] & SP.FLAG_BITS["frozen"]).any()


# ---- determinism and validation -----------------------------------------------------------------
def test_determinism(mini):
    fine, static = make_fine("amsr2", mini), make_static(mini)
    spec = everywhere(SP.SENSORS["amsr2"])
    before = {k: v.copy() for k, v in fine.items()}
    a = S.observe(spec, "desc", DAY, fine, static, mini, 11)
    for k in fine:  # inputs are not modified
        np.testing.assert_array_equal(fine[k], before[k])
    S.observe(spec, "desc", DAY + pd.Timedelta(days=1), fine, static, mini, 11)
    b = S.observe(spec, "desc", DAY, fine, static, mini, 11)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    c = S.observe(spec, "desc", DAY + pd.Timedelta(days=1), fine, static, mini, 11)
    d = S.observe(spec, "desc", DAY, fine, static, mini, 12)
    e = S.observe(spec, "asc", DAY, fine, static, mini, 11)
    for other in (c, d, e):
        assert not np.allclose(a["tbh"], other["tbh"], equal_nan=True)
    assert a["flag"].dtype == np.uint8 and a["tbh"].dtype == np.float32


def test_outside_swath_is_nan(demo):
    spec = SP.SENSORS["smap"]
    grid = SP.product_grid(spec, demo)
    out = S.observe(spec, "asc", DAY, make_fine(spec, demo), make_static(demo), demo, 0)
    mask = SW.swath_mask(spec, "asc", DAY, grid) & inside(demo, grid)
    np.testing.assert_array_equal(np.isfinite(out["tbh"][0]), mask)
    assert 0 < mask.mean() < 1


def test_input_validation(mini):
    fine, static = make_fine("smap", mini), make_static(mini)
    with pytest.raises(ConfigError, match="unknown sensor 'modis'"):
        S.observe("modis", "asc", DAY, fine, static, mini, 0)
    with pytest.raises(ConfigError, match="orbit is 'am'"):
        S.observe("smap", "am", DAY, fine, static, mini, 0)
    with pytest.raises(ConfigError, match="date is"):
        S.observe("smap", "asc", "not a date", fine, static, mini, 0)
    bad = {k: v for k, v in fine.items() if k != "tbv_1.41"}
    with pytest.raises(DataError, match="lacks 'tbv_1.41'"):
        S.observe("smap", "asc", DAY, bad, static, mini, 0)
    bad = {**fine, "vwc": np.zeros((2, 2))}
    with pytest.raises(DataError, match=r"fine\['vwc'\] has shape"):
        S.observe("smap", "asc", DAY, bad, static, mini, 0)
    with pytest.raises(DataError, match="static lacks 'slope'"):
        S.observe("smap", "asc", DAY, fine, static.drop_vars("slope"), mini, 0)
