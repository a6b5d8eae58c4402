"""Weather, vegetation, thermal state and MODIS accumulators on the ``mini`` grid (seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sm_nb.config import get_config
from sm_nb.exceptions import ConfigError, DataError
from sm_nb.features import nsdsi_kernel as nsdsi
from sm_nb.grids import cldas_grid, fine_grid
from sm_nb.resample import interp_bilinear
from sm_nb.scenario import classes as C
from sm_nb.scenario.modis import ModisLST, ModisReflectance, ModisVI, modis_window
from sm_nb.scenario.thermal import Thermal
from sm_nb.scenario.vegetation import (
    Vegetation,
    evi_from_reflectance,
    ndvi_from_reflectance,
    reflectance,
    vwc_smap,
)
from sm_nb.scenario.weather import (
    Bilinear,
    DayWeather,
    SpectralField,
    Weather,
    hargreaves_pet,
    snow_fraction,
)

CFG = get_config("mini")
SHAPE = fine_grid(CFG).shape  # (32, 50)
# class → (sand, θ_s, θ_fc, ndvi_min, ndvi_max, f_stem, target NDVI peak range (spec §5))
CLASSES = {
    C.BARREN: (0.85, 0.38, 0.12, 0.05, 0.08, 0.0, (0.05, 0.10)),
    C.DESERT_STEPPE: (0.60, 0.43, 0.25, 0.10, 0.16, 2.0, (0.12, 0.20)),
    C.ALPINE_STEPPE: (0.60, 0.43, 0.25, 0.12, 0.35, 0.0, (0.25, 0.45)),
    C.MEADOW: (0.40, 0.55, 0.38, 0.15, 0.70, 0.0, (0.60, 0.80)),
    C.FOREST: (0.40, 0.55, 0.38, 0.35, 0.80, 8.0, (0.75, 0.85)),
}


def make_static(p_lo: float = 50.0, p_hi: float = 600.0, lc_code: int | None = None) -> xr.Dataset:
    """A synthetic static dataset on the mini grid: P_ann rising west → east, z rising south → north."""
    g = fine_grid(CFG)
    ny, nx = SHAPE
    ones = np.ones(SHAPE, np.float32)
    p_ann = (p_lo + (p_hi - p_lo) * np.linspace(0, 1, nx))[None, :] * ones
    elev = (3000.0 + 1500.0 * np.linspace(0, 1, ny))[:, None] * ones
    bands = np.array_split(np.arange(nx), len(CLASSES))
    lc = np.zeros(SHAPE, np.int8)
    for code, cols in zip(CLASSES, bands, strict=True):
        lc[:, cols] = code
    if lc_code is not None:
        lc[:] = lc_code
    water = np.zeros(SHAPE, np.float32)
    water[:2, :2] = 1.0
    lc[:2, :2] = C.WATER
    tab = {k: np.zeros(SHAPE, np.float32) for k in ("sand", "theta_s", "theta_fc", "ndvi_min", "ndvi_max", "f_stem")}
    for code, vals in CLASSES.items():
        for key, v in zip(tab, vals[:6], strict=True):
            tab[key][lc == code] = v
    tab["theta_s"][lc == C.WATER] = 0.5
    dims = ("lat", "lon")
    data = {
        "elevation": elev,
        "p_ann": p_ann.astype(np.float32),
        "t_ann": (3.7 - 6.0 * (elev - 3189.0) / 1000.0).astype(np.float32),
        "water_fraction": water,
        "greenup_doy": 145.0 * ones,
        "senescence_doy": 265.0 * ones,
        **tab,
    }
    ds = xr.Dataset({k: (dims, v) for k, v in data.items()}, coords=g.coords())
    ds["land_cover"] = (dims, lc)
    ds["playa"] = (dims, np.zeros(SHAPE, bool))
    return ds


@pytest.fixture(scope="module")
def static() -> xr.Dataset:
    return make_static()


@pytest.fixture(scope="module")
def season(static):
    """Every day of the 2017 Apr–Nov season on mini (≈ 1 s)."""
    w = Weather(CFG, 0, 2017, static)
    dates = pd.date_range("2017-04-01", "2017-11-30")
    days = [w.day(d) for d in dates]
    return dates, days


# ---- weather -------------------------------------------------------------------------------------
def test_weather_deterministic_order_independent_and_float32(static):
    a = Weather(CFG, 3, 2017, static).day("2017-07-10")
    w = Weather(CFG, 3, 2017, static)
    for d in ("2017-05-01", "2017-09-30", "2017-07-09"):
        w.day(d)
    b = w.day("2017-07-10")
    for name in ("t_mean", "dtr", "precip", "snow_fraction", "cloud", "clear_day", "clear_night", "rs", "pet"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        if name not in ("clear_day", "clear_night"):
            assert getattr(a, name).dtype == np.float32, name
    assert a.precip.shape == (CFG.steps_per_day, *SHAPE)
    c = Weather(CFG, 4, 2017, static).day("2017-07-10")
    assert not np.array_equal(a.t_mean, c.t_mean)
    assert not np.array_equal(a.precip, c.precip)


def test_weather_rejects_bad_input(static):
    with pytest.raises(DataError, match="p_ann"):
        Weather(CFG, 0, 2017, static.drop_vars("p_ann"))
    with pytest.raises(ConfigError, match="year 2017"):
        Weather(CFG, 0, 2017, static).day("2018-07-01")
    with pytest.raises(ConfigError, match="date"):
        Weather(CFG, 0, 2017, static).day("not a date")


def test_precip_seasonality_totals_and_gradient(static, season):
    dates, days = season
    daily = np.stack([d.precip_daily for d in days])  # (t, y, x)
    land = static["water_fraction"].values == 0
    total = daily.sum(0)
    jjas = daily[np.isin(dates.month, [6, 7, 8, 9])].sum(0)
    assert jjas[land].sum() / total[land].sum() > 0.6  # spec: 77.8 % expected
    # Apr–Nov = 96.1 % of P_ann in expectation; 32×50 px of one season sample it to ~10 %
    expected = 0.961 * static["p_ann"].values
    assert 0.85 < total[land].sum() / expected[land].sum() < 1.15
    # dry west vs wet east: totals follow P_ann, wet-day frequency ∝ P_ann^0.5
    cols = total.mean(0)
    assert np.corrcoef(cols, static["p_ann"].values[0])[0, 1] > 0.9
    wet_days = (daily >= 0.1).sum(0)
    third = SHAPE[1] // 3
    dry_wet, wet_wet = wet_days[:, :third].mean(), wet_days[:, -third:].mean()
    assert 1.5 < wet_wet / dry_wet < 4.0  # √(ratio of P_ann) ≈ 2.7 at the edges
    # sub-daily: 70 % of events start 14–22 LST → most rain in the second half of the day
    steps = np.stack([d.precip for d in days]).sum(axis=(0, 2, 3))
    assert steps[CFG.steps_per_day // 2:].sum() / steps.sum() > 0.5


def test_snow_fraction_and_pet_and_clouds(static, season):
    np.testing.assert_allclose(snow_fraction(np.array([-5.0, -1.0, 0.5, 2.0, 8.0])), [1, 1, 0.5, 0, 0])
    dates, days = season
    for d in days[::30]:
        np.testing.assert_array_equal(d.snow_fraction, snow_fraction(d.t_mean))
    assert max(d.snow_fraction.max() for d in days[:20]) > 0  # April at 4500 m snows
    # Hargreaves–Samani: 0.0023 · 16.5 mm · 27.8 K · √15 K
    assert hargreaves_pet(np.float32(16.5), np.float32(10.0), np.float32(15.0)) == pytest.approx(4.09, abs=0.01)
    july = [d for d in days if d.date.month == 7]
    pet = np.mean([d.pet.mean() for d in july])
    assert 3.0 < pet < 6.0
    rs = np.mean([d.rs.mean() for d in july])
    assert 200 < rs < 420  # W m-2 daily mean (clear-sky ~400 at 4 km in July)
    wet = np.concatenate([d.precip_daily.ravel() >= 0.1 for d in july])
    clear = np.concatenate([d.clear_day.ravel() for d in july])
    assert 0.02 < clear.mean() < 0.9
    assert clear[wet].mean() < clear[~wet].mean()
    dtr = np.concatenate([d.dtr.ravel() for d in july])
    cloud = np.concatenate([d.cloud.ravel() for d in july])
    assert dtr[cloud < 0.3].mean() > dtr[cloud > 0.7].mean()  # larger DTR on clear days
    assert 10 < dtr.mean() < 20


def test_spectral_field_through_lattice_is_bilinear_interpolation():
    fine, lattice = fine_grid(CFG), cldas_grid(CFG)
    f = SpectralField(60.0)
    coef = f.coefficients(np.random.default_rng(0), 2)
    direct = f.evaluate(coef, fine, via=lattice)
    on_lattice = f.evaluate(coef, lattice)
    np.testing.assert_allclose(direct, interp_bilinear(on_lattice, lattice, fine), atol=2e-5)
    np.testing.assert_allclose(Bilinear(lattice, fine)(on_lattice), interp_bilinear(on_lattice, lattice, fine), atol=1e-6)
    many = f.evaluate(f.coefficients(np.random.default_rng(1), 200), lattice)
    assert many.var() == pytest.approx(1.0, abs=0.1)  # unit variance, not re-standardised per field


# ---- vegetation and optics -------------------------------------------------------------------------
def test_ndvi_peak_by_class_and_antecedent_moisture(static):
    veg = Vegetation(CFG, 0, 2017, static)
    peak = veg.day("2017-08-05")
    lc = static["land_cover"].values
    for code, vals in CLASSES.items():
        lo, hi = vals[-1]
        got = peak.ndvi[lc == code]
        assert lo - 0.01 <= got.min() and got.max() <= hi + 0.01, (C.LAND_COVER[code], got.min(), got.max())
    early = veg.day("2017-04-15")
    assert early.ndvi[lc == C.MEADOW].max() < 0.25
    wet = veg.day("2017-08-05", np.full(SHAPE, 0.1, np.float32))
    grass = np.isin(lc, (C.MEADOW, C.ALPINE_STEPPE))
    ratio = wet.fc[grass] / peak.fc[grass]  # ≤ s = 1 + 0.15 tanh(0.1/0.04) ≈ 1.148
    assert ratio.min() > 1.05 and ratio.max() <= 1.15 + 1e-4
    np.testing.assert_array_equal(wet.ndvi[lc == C.FOREST], peak.ndvi[lc == C.FOREST])
    # optional elevation delay: high pixels green up later
    delayed = Vegetation(CFG, 0, 2017, static, elevation_delay=True).day("2017-06-10")
    meadow = lc == C.MEADOW
    assert delayed.ndvi[-1][meadow[-1]].mean() < delayed.ndvi[0][meadow[0]].mean() - 0.1


def test_vwc_formula(static):
    ndvi = np.array([0.1, 0.5, 0.8], np.float32)
    got = vwc_smap(ndvi, np.float32(0.35), np.float32(0.8), np.float32(8.0))
    want = np.maximum(0, 1.9134 * ndvi**2 - 0.3215 * ndvi) + 8.0 * 0.45 / 0.65
    np.testing.assert_allclose(got, want, rtol=1e-5)
    day = Vegetation(CFG, 0, 2017, static).day("2017-08-01")
    ref = vwc_smap(day.ndvi, static["ndvi_min"].values, static["ndvi_max"].values, static["f_stem"].values)
    np.testing.assert_allclose(day.vwc, ref, rtol=1e-5, atol=1e-6)
    forest = static["land_cover"].values == C.FOREST
    assert 4.0 < day.vwc[forest].mean() < 8.0


def test_reflectance_darkens_and_nsdsi_rises_on_bare_sand():
    st = make_static(lc_code=C.BARREN)
    fc = np.zeros(SHAPE, np.float32)
    theta_s = st["theta_s"].values
    dry = reflectance(fc, np.zeros(SHAPE, np.float32), st)
    sat = reflectance(fc, theta_s, st)
    land = st["water_fraction"].values == 0
    for b in dry:
        assert np.all(sat[b][land] < dry[b][land]), b
    n_dry, n_sat = nsdsi(dry["b06"], dry["b07"])[land], nsdsi(sat["b06"], sat["b07"])[land]
    assert n_dry.mean() == pytest.approx(0.125, abs=0.01)
    assert n_sat.mean() == pytest.approx(0.39, abs=0.01)
    b6, b7 = np.float32(0.4), np.float32(0.3)
    assert nsdsi(b6, b7, 2) == pytest.approx(0.1 / 0.3) and nsdsi(b6, b7, 3) == pytest.approx(0.1 / 0.7)
    with pytest.raises(ConfigError, match="variant"):
        nsdsi(b6, b7, 4)
    water = ~land
    assert np.all(ndvi_from_reflectance(dry["b01"], dry["b02"])[water] < 0)
    veg = reflectance(np.ones(SHAPE, np.float32), np.zeros(SHAPE, np.float32), st)
    assert ndvi_from_reflectance(veg["b01"], veg["b02"])[land].min() > 0.8
    assert 0.5 < evi_from_reflectance(veg["b01"], veg["b02"], veg["b03"])[land].mean() < 1.0


# ---- thermal ----------------------------------------------------------------------------------------
def _uniform_weather(date: str, t_mean: float = 15.0, dtr: float = 16.0, cloud: float = 0.0) -> DayWeather:
    f = np.full(SHAPE, 1.0, np.float32)
    return DayWeather(
        date=pd.Timestamp(date), t_mean=t_mean * f, dtr=dtr * f,
        precip=np.zeros((CFG.steps_per_day, *SHAPE), np.float32), snow_fraction=0 * f,
        cloud=cloud * f, clear_day=f > 0, clear_night=f > 0, rs=300 * f, pet=4 * f,
    )


def _veg(date: str, fc: np.ndarray):
    from sm_nb.scenario.vegetation import DayVegetation

    return DayVegetation(date=pd.Timestamp(date), fc=fc, ndvi=0.05 + 0.85 * fc, vwc=0 * fc)


def test_skin_amplitude_dry_bare_vs_wet_meadow_and_soil_lag():
    st = make_static()
    theta_s = st["theta_s"].values
    lc = st["land_cover"].values
    bare, meadow = lc == C.BARREN, lc == C.MEADOW
    fc = np.where(meadow, 0.8, 0.0).astype(np.float32)
    theta = np.where(meadow, 0.40, 0.03).astype(np.float32)
    th = Thermal(CFG, st).day(_uniform_weather("2017-07-01"), _veg("2017-07-01", fc), theta)
    hours = np.arange(0, 24, 0.25)
    skin = np.stack([th.at(h)["t_skin"] for h in hours])
    soil = np.stack([th.at(h)["t_2p5"] for h in hours])
    amp_skin = 0.5 * (skin.max(0) - skin.min(0))
    amp_soil = 0.5 * (soil.max(0) - soil.min(0))
    assert 20 < amp_skin[bare].mean() < 30
    assert 6 < amp_skin[meadow].mean() < 10
    assert np.all(amp_soil[bare | meadow] < amp_skin[bare | meadow])  # damped
    peak_skin, peak_soil = hours[skin.argmax(0)], hours[soil.argmax(0)]
    assert np.all(peak_skin[bare] == 13.0)
    assert np.all((peak_soil[bare] > 13.0) & (peak_soil[bare] < 16.0))  # lagged
    assert np.allclose(soil.mean(0)[bare], skin.mean(0)[bare], atol=0.3)
    assert 1.0 < skin.mean(0)[bare].mean() - (15 + 273.15) < 3.0  # dry skin warmer than air
    assert np.all(theta_s > 0)
    # array hours (GEOS-5 samples a fixed UTC time) = scalar evaluation pixel by pixel
    hour_map = np.where(bare, 10.5, 22.5).astype(np.float32)
    both = th.at(hour_map)
    np.testing.assert_allclose(both["t_skin"][bare], th.at(10.5)["t_skin"][bare], atol=1e-3)
    np.testing.assert_allclose(both["t_2p5"][meadow], th.at(22.5)["t_2p5"][meadow], atol=1e-3)
    canopy = np.stack([th.at(h)["t_canopy"] for h in hours])
    assert np.all(hours[canopy.argmax(0)] == 15.0)


def test_deep_temperature_running_mean_frozen_and_lakes():
    st = make_static()
    thermal = Thermal(CFG, st)
    fc = np.zeros(SHAPE, np.float32)
    theta = np.full(SHAPE, 0.1, np.float32)
    means = []
    for i, t in enumerate((-10.0, 0.0, 5.0, 20.0)):
        date = f"2017-04-0{i + 1}"
        th = thermal.day(_uniform_weather(date, t_mean=t), _veg(date, fc), theta)
        means.append(th.t_skin_mean)
    np.testing.assert_allclose(th.t_deep, np.mean(means[-3:], axis=0), rtol=1e-6)
    cold = thermal.day(_uniform_weather("2017-04-05", t_mean=-8.0), _veg("2017-04-05", fc), theta).at(6.0)
    np.testing.assert_array_equal(cold["frozen"], cold["t_2p5"] < 273.15)
    assert cold["frozen"].mean() > 0.9
    lake = st["water_fraction"].values == 1
    summer = thermal.t_water("2017-08-05")
    assert 280 < summer[lake].mean() < 295 and thermal.t_water("2017-01-15")[lake].max() == pytest.approx(273.15)
    day = thermal.day(_uniform_weather("2017-08-05"), _veg("2017-08-05", fc), theta)
    np.testing.assert_allclose(day.at(10.5)["t_skin"][lake], summer[lake])


# ---- MODIS ------------------------------------------------------------------------------------------
def test_lst_has_cloud_gaps(static):
    w, v, t = Weather(CFG, 0, 2017, static), Vegetation(CFG, 0, 2017, static), Thermal(CFG, static)
    lst = ModisLST(CFG, 0, 2017, static)
    theta = 0.5 * static["theta_fc"].values
    gaps = []
    for date in pd.date_range("2017-07-01", "2017-07-10"):
        wx = w.day(date)
        th = t.day(wx, v.day(date), theta)
        snow = np.zeros(SHAPE, bool)
        snow[-1] = True
        out = lst.add_day(date, th, wx, snow=snow)
        assert set(out) == {"lst_day", "lst_night"}
        np.testing.assert_array_equal(np.isnan(out["lst_day"]), ~wx.clear_day | snow)
        np.testing.assert_array_equal(np.isnan(out["lst_night"]), ~wx.clear_night | snow)
        ok = np.isfinite(out["lst_day"])
        if ok.any():
            assert 270 < np.nanmin(out["lst_day"]) and np.nanmax(out["lst_day"]) < 335
        gaps.append(np.isnan(out["lst_day"][:-1]).mean())
    assert 0.05 < np.mean(gaps) < 0.95


def test_composites_on_modis_calendar():
    assert modis_window("2017-06-01", 16) == (pd.Timestamp("2017-05-25"), pd.Timestamp("2017-06-09"))
    assert modis_window("2017-12-30", 16)[1] == pd.Timestamp("2017-12-31")  # DOY 353 window cut
    vi, refl = ModisVI(CFG, 0, 2017), ModisReflectance(CFG, 0, 2017)
    never = np.zeros(SHAPE, bool)
    never[:4, :4] = True
    base = {b: np.full(SHAPE, v, np.float32) for b, v in
            {"b01": 0.08, "b02": 0.30, "b03": 0.05, "b06": 0.25, "b07": 0.18}.items()}
    out_vi, out_refl = [], []
    for i, date in enumerate(pd.date_range("2017-06-01", "2017-07-30")):
        bands = {k: v * (1 + 0.01 * (i % 5)) for k, v in base.items()}
        clear = (np.arange(SHAPE[1])[None, :] + i) % 3 == 0
        clear = np.broadcast_to(clear, SHAPE) & ~never
        for acc, sink in ((vi, out_vi), (refl, out_refl)):
            r = acc.add_day(date, bands, clear)
            if r is not None:
                sink.append(r)
    out_vi += vi.flush()
    out_refl += refl.flush()
    assert [s.day_of_year for s, _ in out_vi] == [145, 161, 177, 193, 209]
    assert all((s.day_of_year - 1) % 8 == 0 for s, _ in out_refl)
    assert [n for _, n in vi.windows] == [9, 16, 16, 16, 3]  # partial windows at both ends
    for _, fields in out_vi:
        assert set(fields) == {"ndvi", "evi"}
        assert np.all(np.isnan(fields["ndvi"][never])) and np.all(np.isfinite(fields["ndvi"][~never]))
        assert np.nanmean(fields["ndvi"]) > ndvi_from_reflectance(base["b01"], base["b02"]).mean() - 0.02
    for _, fields in out_refl:
        assert set(fields) == {f"sur_refl_b0{b}" for b in (1, 2, 3, 6, 7)}
        assert np.all(np.isnan(fields["sur_refl_b03"][never]))
    with pytest.raises(DataError, match="increasing order"):
        acc = ModisVI(CFG, 0)
        acc.add_day("2017-06-20", base, never)
        acc.add_day("2017-06-01", base, never)


def test_integration_with_make_static():
    static_mod = pytest.importorskip("sm_nb.scenario.static")
    st = static_mod.make_static(CFG, 0)
    w, v, t = Weather(CFG, 0, 2017, st), Vegetation(CFG, 0, 2017, st), Thermal(CFG, st)
    wx = w.day("2017-07-15")
    vg = v.day("2017-07-15", np.zeros(SHAPE, np.float32))
    th = t.day(wx, vg, 0.5 * st["theta_fc"].values)
    state = th.at(10.5)
    refl = v.reflectance(vg.fc, 0.5 * st["theta_fc"].values)
    assert np.all(np.isfinite(wx.precip)) and np.all(np.isfinite(state["t_skin"]))
    assert np.all(np.isfinite(vg.ndvi)) and all(np.all(np.isfinite(b)) for b in refl.values())
