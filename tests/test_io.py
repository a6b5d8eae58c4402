"""Real-format readers on exact-layout fixture files, bad input, and the export round trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import io_fixtures as fx
import numpy as np
import pandas as pd
import pytest

from sm_nb.exceptions import DataError
from sm_nb.grids import EARTH_RADIUS_M
from sm_nb.io import (
    read_amsr2,
    read_ascat,
    read_cldas,
    read_fy3c,
    read_geos5,
    read_ismn,
    read_modis,
    read_smap,
    read_srtm,
    read_station_csv,
)

GRID = {"south": 36.0, "north": 36.5, "west": 97.9, "east": 98.4, "dlat": 0.05, "dlon": 0.05}


def _at(ds, var, lat=fx.CELL[0], lon=fx.CELL[1], **sel):
    return float(ds[var].sel(**sel).sel(lat=lat, lon=lon, method="nearest").values.squeeze())


# ---- SMAP -------------------------------------------------------------------------------------
def test_smap_l3_values_flags_fill_and_layout(tmp_path):
    fx.smap_l3(tmp_path / "SMAP_L3_SM_P_20170601_R16515_001.h5", surface_flag=(1 << 7) | (1 << 9))
    ds = read_smap(tmp_path, bbox=fx.BBOX)
    assert ds["tbh_desc"].dims == ("time", "frequency", "lat", "lon")
    assert ds["frequency"].values.tolist() == [1.41] and ds["tbh_asc"].attrs["units"] == "K"
    assert pd.Timestamp(ds.time.values[0]) == pd.Timestamp("2017-06-01")
    assert np.all(np.diff(ds.lat.values) > 0)
    assert _at(ds, "tbh_desc") == pytest.approx(250.5)
    assert _at(ds, "tbh_asc") == pytest.approx(251.5)  # PM group, _pm suffix
    assert _at(ds, "tbv_desc") == pytest.approx(260.5)
    assert _at(ds, "sm_desc") == pytest.approx(0.25)
    assert int(_at(ds, "flag_desc")) == 1 | 16
    lon_east = float(ds.lon.sel(lon=fx.CELL[1], method="nearest")) + 0.37
    assert np.isnan(_at(ds, "tbh_desc", lon=lon_east))  # -9999 fill → NaN


def test_smap_l3_old_version_without_pm_group(tmp_path):
    fx.smap_l3(tmp_path / "SMAP_L3_SM_P_20170601_R13080_001.h5", pm=False)
    ds = read_smap(tmp_path, bbox=fx.BBOX)
    assert np.isnan(ds["tbh_asc"].values).all() and _at(ds, "tbh_desc") == pytest.approx(250.5)


def test_smap_l3_missing_variable_names_file_and_variable(tmp_path):
    path = tmp_path / "SMAP_L3_SM_P_20170601_R16515_001.h5"
    fx.smap_l3(path, drop="tb_v_corrected_pm")
    with pytest.raises(DataError, match=r"SMAP_L3_SM_P_20170601_R16515_001\.h5: variable 'tb_v_corrected_pm' missing"):
        read_smap(path, bbox=fx.BBOX)


def test_smap_l1c_half_orbits_average_looks_and_local_day(tmp_path):
    # 2017-07-01 11:28 UTC at 98.1°E is 18:00 local: ascending, local day 2017-07-01
    secs = (pd.Timestamp("2017-07-01 11:28") - pd.Timestamp("2000-01-01 11:58:55.816")).total_seconds()
    fx.smap_l1c(tmp_path / "SMAP_L1C_TB_14000_A_20170701T105000_R16515_001.h5", seconds=secs, rfi=True)
    ds = read_smap(tmp_path, bbox=fx.BBOX)
    assert pd.DatetimeIndex(ds.time.values).tolist() == [pd.Timestamp("2017-07-01")]
    assert _at(ds, "tbh_asc") == pytest.approx(241.0)  # mean of fore 240 and aft 242
    assert np.isnan(ds["tbh_desc"].values).all()
    assert int(_at(ds, "flag_asc")) == 8
    assert "sm_asc" not in ds


# ---- AMSR2 ------------------------------------------------------------------------------------
def test_amsr2_tb_frequencies_orbits_and_fill(tmp_path):
    for code in ("06", "07", "10"):
        fx.amsr2_tb(tmp_path / f"GW1AM2_20170601_01D_EQMA_L3SGT{code}LA2220220.h5")
    fx.amsr2_tb(tmp_path / "GW1AM2_20170601_01D_EQMD_L3SGT10LA2220220.h5", tb=200.0)
    ds = read_amsr2(tmp_path, bbox=fx.BBOX)
    assert ds["frequency"].values.tolist() == [6.925, 7.3, 10.65]
    assert ds["tbh_asc"].dims == ("time", "frequency", "lat", "lon")
    assert _at(ds, "tbh_asc", frequency=10.65) == pytest.approx(255.55, abs=0.006)
    assert _at(ds, "tbv_asc", frequency=6.925) == pytest.approx(275.55, abs=0.006)
    assert _at(ds, "tbh_desc", frequency=10.65) == pytest.approx(200.0, abs=0.006)
    assert np.isnan(_at(ds, "tbh_desc", frequency=6.925))  # no file → NaN
    assert np.isnan(_at(ds, "tbh_asc", lon=fx.CELL[1] + 0.25, frequency=10.65))  # 65534 fill
    assert int(ds["flag_asc"].max()) == 0 and "no quality flags" in ds["flag_asc"].attrs["comment"]


def test_amsr2_wrong_scale_attribute_is_named(tmp_path):
    fx.amsr2_tb(tmp_path / "GW1AM2_20170601_01D_EQMA_L3SGT10LA2220220.h5", scale=1.0)
    with pytest.raises(DataError, match=r"L3SGT10LA2220220\.h5: variable 'Brightness Temperature \(H\)' attribute 'SCALE FACTOR' is 1; expected 0.01"):
        read_amsr2(tmp_path, bbox=fx.BBOX)


def test_amsr2_soil_moisture_percent_to_volumetric(tmp_path):
    fx.amsr2_sm(tmp_path / "GW1AM2_20170601_01D_EQMA_L3SGSMCLA2220220.h5")
    ds = read_amsr2(tmp_path, bbox=fx.BBOX)
    assert _at(ds, "sm_asc") == pytest.approx(0.234, abs=1e-6) and ds["sm_asc"].attrs["units"] == "m3 m-3"


# ---- FY-3C ------------------------------------------------------------------------------------
def test_fy3c_l1_swath_binned_to_ease2_m25(tmp_path):
    fx.fy3c_l1(tmp_path / "FY3C_MWRIA_GBAL_L1_20170601_0715_010KM_MS.HDF")
    ds = read_fy3c(tmp_path, bbox=fx.BBOX)
    assert pd.DatetimeIndex(ds.time.values).tolist() == [pd.Timestamp("2017-06-01")]
    assert ds["frequency"].values.tolist() == [10.65]
    assert _at(ds, "tbh_asc", frequency=10.65) == pytest.approx(230.0, abs=0.006)  # mean of 229, 230, 231
    assert _at(ds, "tbv_asc", frequency=10.65) == pytest.approx(250.0, abs=0.006)
    assert np.isnan(ds["tbh_desc"].values).all()


def test_fy3c_l2_and_both_pass_name_needs_orbit(tmp_path):
    fx.fy3c_l2(tmp_path / "FY3C_MWRID_GBAL_L2_VSM_MLT_ESD_20170601_POAD_025KM_MS.HDF")
    ds = read_fy3c(tmp_path, bbox=fx.BBOX)
    assert _at(ds, "sm_desc") == pytest.approx(0.21, abs=1e-6)
    other = tmp_path / "x"
    other.mkdir()
    fx.fy3c_l2(other / "FY3C_MWRIX_GBAL_L2_VSM_MLT_ESD_20170601_POAD_025KM_MS.HDF")
    with pytest.raises(DataError, match=r"MWRIX.*expected the option orbit='asc' or 'desc'"):
        read_fy3c(other, bbox=fx.BBOX)
    assert _at(read_fy3c(other, bbox=fx.BBOX, orbit="asc"), "sm_asc") == pytest.approx(0.21, abs=1e-6)


# ---- ASCAT ------------------------------------------------------------------------------------
def test_ascat_sigma40_not_masked_by_declared_valid_range(tmp_path):
    # 2017-06-01 14:58 UTC at 98.1°E = 21:30 local; -12.3 dB lies outside the declared ±10 dB valid range
    secs = int((pd.Timestamp("2017-06-01 14:58") - pd.Timestamp("2000-01-01")).total_seconds())
    fx.ascat(tmp_path / fx.ASCAT_NAME.format(stamp="20170601145800", orbit=24000), utc_seconds=secs)
    fx.ascat(tmp_path / fx.ASCAT_NAME.format(stamp="20170601025800", orbit=24001), sigma40=-15.0, utc_seconds=secs - 12 * 3600, ascending=False)
    ds = read_ascat(tmp_path, bbox=fx.BBOX)
    assert _at(ds, "sigma40_asc") == pytest.approx(-12.345678, abs=1e-5)
    assert _at(ds, "sigma40_desc") == pytest.approx(-15.0, abs=1e-5)
    assert ds["sigma40_asc"].attrs["units"] == "dB"


def test_ascat_missing_variable(tmp_path):
    fx.ascat(tmp_path / fx.ASCAT_NAME.format(stamp="20170601145800", orbit=24000), drop="latitude")
    with pytest.raises(DataError, match=r"ssm_l2\.nc: variable\(s\) \['latitude'\] missing"):
        read_ascat(tmp_path, bbox=fx.BBOX)


# ---- MODIS ------------------------------------------------------------------------------------
def test_modis_lst_qc_and_two_tiles_mosaicked(tmp_path):
    east = (36.3, 99.6)  # in tile h26v05
    fx.modis_mod11a1(tmp_path / "MOD11A1.A2017152.h25v05.061.2021301120000.hdf")
    fx.modis_mod11a1(tmp_path / "MOD11A1.A2017152.h26v05.061.2021301120000.hdf", lst=290.0, h=26, point=east, struct=False)
    grid = {"south": 36.0, "north": 36.5, "west": 97.9, "east": 99.9, "dlat": 0.01, "dlon": 0.01}
    ds = read_modis(tmp_path, grid=grid)
    assert ds["lst_day"].dims == ("time", "lat", "lon") and ds["lst_day"].attrs["units"] == "K"
    assert pd.Timestamp(ds.time.values[0]) == pd.Timestamp("2017-06-01")  # DOY 152
    assert _at(ds, "lst_day") == pytest.approx(300.02, abs=0.011)
    assert _at(ds, "lst_night") == pytest.approx(280.02, abs=0.011)
    assert _at(ds, "lst_day", *east) == pytest.approx(290.0, abs=0.011)
    assert np.isnan(_at(ds, "lst_day", 36.45, 98.6))  # fill 0 → NaN
    lazy = read_modis(tmp_path, grid=grid, lazy=True)
    assert lazy["lst_day"].chunks is not None
    np.testing.assert_array_equal(lazy["lst_day"].values, ds["lst_day"].values)


def test_modis_qc_not_produced_masks(tmp_path):
    fx.modis_mod11a1(tmp_path / "MOD11A1.A2017152.h25v05.061.2021301120000.hdf", qc=2)
    ds = read_modis(tmp_path, grid=GRID)
    assert np.isnan(ds["lst_day"].values).all()
    assert _at(read_modis(tmp_path, grid=GRID, qc=False), "lst_day") == pytest.approx(300.02, abs=0.011)


def test_modis_vi_divides_by_scale_factor_and_checks_it(tmp_path):
    fx.modis_mod13a2(tmp_path / "MOD13A2.A2017145.h25v05.061.2021301120000.hdf")
    ds = read_modis(tmp_path, grid=GRID)
    assert _at(ds, "ndvi") == pytest.approx(0.4321, abs=1e-4)
    bad = tmp_path / "bad"
    bad.mkdir()
    fx.modis_mod13a2(bad / "MOD13A2.A2017145.h25v05.061.2021301120000.hdf", scale=0.0001)
    with pytest.raises(DataError, match=r"variable '1 km 16 days NDVI' attribute 'scale_factor' is 0.0001; expected 10000"):
        read_modis(bad, grid=GRID)


def test_modis_mixed_products_need_product(tmp_path):
    fx.modis_mod11a1(tmp_path / "MOD11A1.A2017152.h25v05.061.2021301120000.hdf")
    fx.modis_mod13a2(tmp_path / "MOD13A2.A2017145.h25v05.061.2021301120000.hdf")
    with pytest.raises(DataError, match=r"several products \['MOD11A1', 'MOD13A2'\]"):
        read_modis(tmp_path, grid=GRID)
    assert "ndvi" in read_modis(tmp_path, grid=GRID, product="MOD13A2")


# ---- SRTM, CLDAS, GEOS-5 ----------------------------------------------------------------------
def test_srtm_plane_slope_aspect_and_zip(tmp_path):
    fx.hgt(tmp_path / "N36E098.hgt", slope_east=0.5)
    fx.hgt(tmp_path / "N36E097.hgt.zip", slope_east=0.0, zipped=True)
    grid = {"south": 36.25, "north": 36.75, "west": 97.25, "east": 98.75, "dlat": 0.25, "dlon": 0.25}
    ds = read_srtm(tmp_path, grid=grid)
    dx = EARTH_RADIUS_M * np.cos(np.deg2rad(36.375)) * np.deg2rad(1 / 1200)
    expected = np.degrees(np.arctan(0.5 / dx))
    assert float(ds["slope"].sel(lat=36.375, lon=98.375)) == pytest.approx(expected, rel=0.01)
    assert float(ds["aspect"].sel(lat=36.375, lon=98.375)) == pytest.approx(270.0, abs=0.5)  # rises east → faces west
    assert float(ds["slope"].sel(lat=36.375, lon=97.375)) == pytest.approx(0.0, abs=1e-6)
    assert float(ds["elevation"].sel(lat=36.375, lon=97.375)) == pytest.approx(3000.0)


def test_srtm_truncated_file(tmp_path):
    (tmp_path / "N36E098.hgt").write_bytes(b"\x00" * 1000)
    with pytest.raises(DataError, match=r"N36E098\.hgt: holds 1000 bytes; expected"):
        read_srtm(tmp_path, grid=GRID)


def test_cldas_picks_the_data_variable_and_converts_percent(tmp_path):
    name = "Z_NAFP_C_BABJ_20170602001500_P_CLDAS_NRT_ASI_0P0625_DAY-{code}-2017060100.nc"
    fx.cldas(tmp_path / name.format(code="SM000005"))
    fx.cldas(tmp_path / name.format(code="PRE"), var="PRCP")  # another variable of the folder is skipped
    ds = read_cldas(tmp_path, bbox=fx.BBOX)
    assert _at(ds, "sm") == pytest.approx(0.123, abs=1e-6) and pd.Timestamp(ds.time.values[0]) == pd.Timestamp("2017-06-01")
    pct = tmp_path / "pct"
    pct.mkdir()
    fx.cldas(pct / name.format(code="SM000005"), sm=12.3, units="%")
    assert _at(read_cldas(pct, bbox=fx.BBOX), "sm") == pytest.approx(0.123, abs=1e-6)


def test_geos5_fill_hour_and_daily(tmp_path):
    fx.geos5(tmp_path / "GEOS.fp.asm.tavg1_2d_lnd_Nx.20170601_0530.V01.nc4")
    fx.geos5(tmp_path / "GEOS.fp.asm.tavg1_2d_lnd_Nx.20170601_0630.V01.nc4", sm=0.3, stamp="2017-06-01 06:30:00")
    ds = read_geos5(tmp_path, bbox=fx.BBOX, utc_hour="05:30", daily=True)
    assert ds.time.size == 1 and pd.Timestamp(ds.time.values[0]) == pd.Timestamp("2017-06-01")
    assert _at(ds, "sm") == pytest.approx(0.2)
    assert np.isnan(ds["sm"].values).sum() == ds["sm"].size - 1  # 1e15 fill → NaN
    hourly = read_geos5(tmp_path, bbox=fx.BBOX)
    assert pd.DatetimeIndex(hourly.time.values).hour.tolist() == [5, 6]


def test_geos5_wrong_scale_and_empty_time_range(tmp_path):
    fx.geos5(tmp_path / "GEOS.fp.asm.tavg1_2d_lnd_Nx.20170601_0530.V01.nc4", scale=0.001)
    with pytest.raises(DataError, match=r"variable 'SFMC' attribute 'scale_factor' is 0.001; expected 1"):
        read_geos5(tmp_path, bbox=fx.BBOX)
    with pytest.raises(DataError, match=r"no GEOS-5 FP file falls in the time range 2018-01-01..2018-01-31; the 1 file\(s\) found cover 2017-06-01..2017-06-01"):
        read_geos5(tmp_path, time=("2018-01-01", "2018-01-31"))


# ---- stations ---------------------------------------------------------------------------------
@pytest.mark.parametrize("newline,ceop", [("\n", False), ("\r", False), ("\r\n", True)])
def test_ismn_formats_flags_and_daily(tmp_path, newline, ceop):
    fx.ismn(tmp_path / "SMNB" / "Dulan", newline=newline, ceop=ceop)
    fx.ismn(tmp_path / "SMNB" / "Dulan", var="p", depth=(0.0, 0.0), values=(1.0, 2.0, 0.5, 0.0), flags=("G",) * 4, ceop=ceop)
    raw = read_ismn(tmp_path)
    assert raw["sm"].dims == ("station", "time") and raw.time.size == 4
    assert np.isnan(raw["sm"].sel(station="Dulan", time="2017-06-02 00:00"))  # D03 flag masked
    day = read_ismn(tmp_path, daily=True)
    assert float(day["sm"].sel(station="Dulan", time="2017-06-01")) == pytest.approx((0.214 + 0.22) / 2)
    assert float(day["sm"].sel(station="Dulan", time="2017-06-02")) == pytest.approx(0.25)
    assert float(day["precipitation"].sel(station="Dulan", time="2017-06-01")) == pytest.approx(3.0)
    assert day["precipitation"].attrs["units"] == "mm d-1"
    assert float(day["lat"].sel(station="Dulan")) == pytest.approx(36.3)


def test_ismn_several_depths_need_depth(tmp_path):
    fx.ismn(tmp_path, depth=(0.05, 0.05))
    fx.ismn(tmp_path, depth=(0.1, 0.1))
    with pytest.raises(DataError, match=r"several soil-moisture depths.*pass depth="):
        read_ismn(tmp_path)
    assert read_ismn(tmp_path, depth=0.1)["sm"].notnull().any()


def test_station_csv(tmp_path):
    pd.DataFrame({
        "site": ["Dulan", "Dulan", "Wulan"], "time": ["2017-06-01 08:00", "2017-06-01 20:00", "2017-06-01 08:00"],
        "SM10": [21.0, 23.0, 15.0], "lat": [36.3, 36.3, 36.93], "lon": [98.1, 98.1, 98.48], "elevation": [3189, 3189, 2950],
    }).to_csv(tmp_path / "stations.csv", index=False)
    ds = read_station_csv(tmp_path, columns={"site": "station", "SM10": "sm"}, units={"sm": "%"}, daily=True, utc_offset=8)
    assert float(ds["sm"].sel(station="Dulan", time="2017-06-01")) == pytest.approx(0.22)
    with pytest.raises(DataError, match=r"lack \['station'\]"):
        read_station_csv(tmp_path)


# ---- bad input --------------------------------------------------------------------------------
def test_glob_with_no_match_and_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"SMAP glob '.*\*\.h5' matches no file"):
        read_smap(str(tmp_path / "*.h5"))
    with pytest.raises(DataError, match=r"SMAP file '.*nope\.h5' does not exist"):
        read_smap(tmp_path / "nope.h5")
    with pytest.raises(DataError, match=r"folder '.*' holds no SMAP file"):
        read_smap(tmp_path)


def test_folder_with_several_bad_files_reports_all(tmp_path):
    fx.smap_l3(tmp_path / "SMAP_L3_SM_P_20170601_R16515_001.h5")
    for day in ("20170602", "20170603"):
        good = tmp_path / "SMAP_L3_SM_P_20170601_R16515_001.h5"
        bad = tmp_path / f"SMAP_L3_SM_P_{day}_R16515_001.h5"
        shutil.copy(good, bad)
        with open(bad, "r+b") as fh:
            fh.truncate(bad.stat().st_size // 3)
    with pytest.raises(DataError) as err:
        read_smap(tmp_path, bbox=fx.BBOX)
    msg = str(err.value)
    assert "2 of 3 SMAP file(s) could not be read" in msg
    assert "SMAP_L3_SM_P_20170602_R16515_001.h5: unreadable" in msg and "SMAP_L3_SM_P_20170603_R16515_001.h5: unreadable" in msg
    assert "truncated" in msg


def test_file_of_the_wrong_product(tmp_path):
    fx.amsr2_tb(tmp_path / "SMAP_L3_SM_P_20170601_R16515_001.h5")  # an AMSR2 file under a SMAP name
    with pytest.raises(DataError, match=r"group 'Soil_Moisture_Retrieval_Data_AM' missing; expected a SMAP L3_SM_P file"):
        read_smap(tmp_path)
    other = tmp_path / "x"
    other.mkdir()
    fx.amsr2_tb(other / "GW1AM2_20170601_01D_EQMA_L3SGT10LA2220220.h5")
    with pytest.raises(DataError, match=r"not a SMAP L3_SM_P or L1C_TB name"):
        read_smap(other / "GW1AM2_20170601_01D_EQMA_L3SGT10LA2220220.h5")


# ---- export round trip ------------------------------------------------------------------------
TOL = {  # format quantisation (half a step) + float32 rounding
    "smap_tb": 1e-4, "smap_sm": 1e-6, "amsr2_tb": 0.0051, "amsr2_sm": 5.1e-4, "fy3c_tb": 0.0051, "fy3c_sm": 5.1e-5,
    "ascat_sigma40": 1e-5, "modis_lst": 0.0101, "modis_ndvi_evi": 5.1e-5, "modis_reflectance": 5.1e-5, "cldas_sm": 1e-7,
    "geos5_sm": 1e-7, "stations_sm": 5.1e-5, "rain_gauges": 5.1e-5,
}


@pytest.fixture(scope="module")
def exported(mini, tmp_path_factory):
    from sm_nb.export import export_real_format

    out = tmp_path_factory.mktemp("real_format")
    return export_real_format("mini", 0, out, time=("2017-06-01", "2017-06-04"), progress=False)


def test_export_writes_real_names(exported):
    root = exported.parent
    assert len(list((root / "SMAP").glob("SMAP_L3_SM_P_201706??_R*_*.h5"))) == 4
    assert len(list((root / "AMSR2").glob("GW1AM2_20170601_01D_EQM[AD]_L3SGT??LA*.h5"))) == 6
    assert list((root / "MODIS" / "MOD11A1").glob("MOD11A1.A2017152.h2?v05.061.*.hdf"))
    assert list((root / "GEOS5").glob("GEOS.fp.asm.tavg1_2d_lnd_Nx.20170601_0530.V01.nc4"))
    assert list((root / "ISMN" / "SMNB").glob("*/SMNB_SMNB_*_sm_0.100000_0.100000_SynthProbe_*.stm"))


@pytest.mark.parametrize("name", sorted(TOL) + ["dem"])
def test_export_round_trip_through_files_catalog(exported, name):
    from sm_nb.catalog import load_catalog
    from sm_nb.catalog import load_catalog as _load_catalog

    _load_catalog()
    files = load_catalog(exported)
    assert files[name].source == "files"
    got = files.open(name, config="mini", seed=0).load()
    ref = load_catalog().open(name, config="mini", seed=0).load()
    if "time" in ref.dims:
        ref = ref.sel(time=got.time)
    if "station" in ref.dims:
        got = got.sel(station=ref.station.values)
    variables = ["elevation"] if name == "dem" else files[name].variables
    for var in variables:
        if var.startswith("flag_") and name in ("amsr2_tb", "fy3c_tb"):
            continue  # not carried by the format (sm_nb.export.NOT_CARRIED)
        a, b = got[var], ref[var]
        assert a.dims == b.dims, var
        np.testing.assert_array_equal(np.isnan(a.values.astype(float)), np.isnan(b.values.astype(float)), err_msg=var)
        tol = 0.5 if name == "dem" else TOL[name]
        np.testing.assert_allclose(a.values.astype(float), b.values.astype(float), atol=tol, rtol=0, err_msg=var)
        assert a.attrs.get("units") == b.attrs.get("units"), var


def test_export_dask_path_equals_numpy(exported):
    from sm_nb.io import read_smap

    files = sorted((exported.parent / "SMAP").glob("*.h5"))
    eager = read_smap(files, bbox=(35.6, 37.7, 97.1, 99.8))
    lazy = read_smap(files, bbox=(35.6, 37.7, 97.1, 99.8), chunks={"time": 2})
    assert lazy["tbh_asc"].chunks is not None
    np.testing.assert_array_equal(lazy["tbh_asc"].values, eager["tbh_asc"].values)


def test_catalog_bridge_errors(exported, tmp_path):
    import yaml

    from sm_nb.catalog import load_catalog
    from sm_nb.catalog import load_catalog as _load_catalog
    from sm_nb.exceptions import CatalogError

    _load_catalog()
    raw = yaml.safe_load(Path(exported).read_text())
    raw["datasets"]["geos5_sm"]["args"]["colour"] = "red"
    raw["datasets"]["cldas_sm"]["path"] = str(tmp_path / "none" / "*.nc")
    bad = Path(exported).parent / "cat_bad.yaml"  # beside the files: relative paths resolve against it
    bad.write_text(yaml.safe_dump(raw))
    cat = load_catalog(bad)
    with pytest.raises(CatalogError, match=r"entry 'geos5_sm' key 'args' has option\(s\) \['colour'\] that reader 'geos5' does not take"):
        cat.open("geos5_sm", config="mini")
    with pytest.raises(CatalogError, match=r"entry 'cldas_sm' key 'path'.*matches no file"):
        cat.open("cldas_sm", config="mini")


def test_srtm_geotiff(tmp_path):
    pytest.importorskip("rioxarray")
    fx.geotiff_dem(tmp_path / "srtm_57_05.tif")
    ds = read_srtm(tmp_path, grid={"south": 36.0, "north": 37.0, "west": 98.0, "east": 99.0, "dlat": 0.25, "dlon": 0.25})
    assert float(ds["elevation"].sel(lat=36.375, lon=98.375)) == pytest.approx(3100.0)
    assert float(ds["elevation"].sel(lat=36.875, lon=98.125)) == pytest.approx(3100.0)  # voids ignored in the mean


def test_export_cli_verb(mini, tmp_path):
    import argparse

    from sm_nb.cli import add_export_parser

    parser = argparse.ArgumentParser(prog="sm-nb")
    add_export_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export-real-format", str(tmp_path), "--config", "mini", "--products", "GEOS5", "ISMN",
                              "--start", "2017-06-01", "--end", "2017-06-02", "--quiet"])
    assert args.handler(args) == 0
    assert len(list((tmp_path / "GEOS5").glob("*.nc4"))) == 2
    text = (tmp_path / "data_catalog.yaml").read_text()
    assert "reader: geos5" in text and "reader: smap" not in text  # only the exported folders switch to files


def test_feature_building_from_files_matches_synthetic(exported, monkeypatch):
    """The paper's inputs built from the real-format files equal the synthetic ones.

    BTI is left out: it is scaled by the dry/wet extremes of the whole series, and only 4 days are exported.
    """
    from sm_nb import Study

    names = ["SMAP_TBH_D", "AMSR2_10.7_MPDI_A", "FY3C_10.7_TBV_A", "ASCAT_SIGMA40_D", "LST", "NDVI", "NSDSI", "DEM"]
    tol = {"SMAP_TBH_D": 1e-4, "AMSR2_10.7_MPDI_A": 1e-4, "FY3C_10.7_TBV_A": 0.0051, "ASCAT_SIGMA40_D": 1e-4,
           "LST": 0.0101, "NDVI": 5.1e-5, "NSDSI": 1e-3, "DEM": 0.5}
    ref = Study("mini", 0).inputs(names).load()
    got = Study("mini", 0, catalog=exported).inputs(names).load()
    days = slice("2017-06-01", "2017-06-04")
    for name in names:
        a, b = got[name], ref[name]
        if "time" in a.dims:
            a, b = a.sel(time=days), b.sel(time=days)
        ok = np.isfinite(b.values)
        assert ok.any(), name
        np.testing.assert_array_equal(np.isfinite(a.values), ok, err_msg=name)
        np.testing.assert_allclose(a.values[ok], b.values[ok], atol=tol[name], rtol=0, err_msg=name)


# ---- a target grid finer than the source: nearest sample, said, never silent NaN -------------
FINER = {"south": 36.40, "north": 36.41, "west": 98.40, "east": 98.41, "dlat": 1 / 4800, "dlon": 1 / 4800}


def test_srtm_onto_a_finer_grid_fills_by_nearest_sample(tmp_path):
    fx.hgt(tmp_path / "N36E098.hgt", slope_east=0.5)
    ds = read_srtm(tmp_path, grid=FINER)
    assert ds["elevation"].shape == (48, 48)
    assert np.isfinite(ds["elevation"].values).all() and np.isfinite(ds["slope"].values).all()
    assert ds.attrs["n_cells_nearest_sample"] > 48 * 48 // 2  # 3" samples, 0.75" cells
    assert "nearest SRTM sample" in ds["elevation"].attrs["cell_methods"]
    coarse = read_srtm(tmp_path, grid=GRID)
    assert "n_cells_nearest_sample" not in coarse.attrs
    # the plane rises east: filled cells keep the east-west gradient of the samples
    row = ds["elevation"].isel(lat=20).values
    assert row[-1] > row[0]


def test_modis_onto_a_finer_grid_fills_by_nearest_sample(tmp_path):
    fx.modis_mod13a2(tmp_path / "MOD13A2.A2017145.h25v05.061.2021301120000.hdf")
    lat, lon = fx.CELL  # the fixture writes a 5 × 5 km block of valid pixels around this point
    grid = {"south": lat - 0.01, "north": lat + 0.01, "west": lon - 0.01, "east": lon + 0.01, "dlat": 1 / 480, "dlon": 1 / 480}
    ds = read_modis(tmp_path, grid=grid)
    v = ds["ndvi"].isel(time=0).values
    assert np.isfinite(v).mean() > 0.99, "cells of a grid finer than MODIS 1 km were left NaN"


# ------------------------------------------------------------------ atomic folders, two writers
def test_atomic_dir_keeps_the_copy_another_writer_put_in_place(tmp_path, monkeypatch):
    """Two processes computing the same cache entry: when the other one's folder appears between
    our check and our rename, it is kept (complete) and ours is dropped, without an error; a
    folder that was already there before is replaced as usual."""
    from sm_nb.store import atomic_dir

    final = tmp_path / "entry"
    real_rename = Path.rename

    def racing_rename(self, target):
        if Path(target) == final and self.name.startswith(".entry.tmp-") and not final.exists():
            final.mkdir()
            (final / "who").write_text("other")  # the other writer wins the race
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", racing_rename)
    with atomic_dir(final) as tmp:
        (tmp / "who").write_text("us")
    assert (final / "who").read_text() == "other"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"], "a temporary folder was left behind"
    monkeypatch.setattr(Path, "rename", real_rename)
    with atomic_dir(final) as tmp:
        (tmp / "who").write_text("us")
    assert (final / "who").read_text() == "us"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]


def test_encode_fills_non_finite_and_clips_overflow_to_the_dtype():
    from sm_nb.io.writers import encode

    got = encode(np.array([np.nan, np.inf, -np.inf, 1e300, -1e300, 1.0, 1.26]), 0.5, 0.0, -1, "int16")
    np.testing.assert_array_equal(got, np.array([-1, -1, -1, 32767, -32768, 2, 3], dtype=np.int16))
    assert got.dtype == np.int16
    np.testing.assert_array_equal(encode(np.array([0.25, np.nan], np.float32), 1e4, 0.0, -3000, "int16", "vi"),
                                  np.array([2500, -3000], dtype=np.int16))
