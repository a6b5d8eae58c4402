"""Small files in the exact real layouts, written independently of ``sm_nb.io``'s own writers.

Names, group paths, dataset names, dtypes, scale attributes and fill values are spelled out
here literally from ``shared/reference/data_formats.md`` so that a reader change that drifts
from the real layout fails a test. Each writer puts known values at known places:

* :data:`CELL` — a point near Dulan (36.3°N, 98.1°E) that holds the "good" value;
* a neighbouring point holds the product's fill value (→ NaN after reading).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import h5py
import numpy as np

CELL = (36.3, 98.1)
BBOX = (35.0, 38.0, 96.0, 100.0)


# ---- EASE-Grid 2.0 ---------------------------------------------------------------------------
def ease2_rowcol(lat: float, lon: float, cell: float, ncol: int, nrow: int) -> tuple[int, int]:
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True).transform(lon, lat)
    return int(np.floor(nrow / 2 - y / cell)), int(np.floor(x / cell + ncol / 2))


M36 = (36032.220840584, 964, 406)
M25 = (25025.26000, 1388, 584)


def smap_l3(path: Path, tb: float = 250.5, sm: float = 0.25, surface_flag: int = 0, drop: str | None = None, pm: bool = True) -> tuple[int, int]:
    """``SMAP_L3_SM_P_YYYYMMDD_R*.h5``: TB/SM at :data:`CELL`, −9999 fill one column east. Returns (row, col)."""
    r, c = ease2_rowcol(*CELL, *M36)
    with h5py.File(path, "w") as f:
        f.create_group("Metadata/DatasetIdentification").attrs["shortName"] = np.bytes_("SPL3SMP")
        groups = [("Soil_Moisture_Retrieval_Data_AM", "")] + ([("Soil_Moisture_Retrieval_Data_PM", "_pm")] if pm else [])
        for group, sfx in groups:
            g = f.create_group(group)
            for name, value in (("tb_h_corrected", tb), ("tb_v_corrected", tb + 10.0), ("soil_moisture", sm)):
                if drop == name + sfx:
                    continue
                a = np.full((406, 964), -9999.0, np.float32)
                a[r, c] = value if sfx == "" else value + 1.0
                d = g.create_dataset(name + sfx, data=a, compression="gzip")
                d.attrs["_FillValue"] = np.float32(-9999.0)
                d.attrs["units"] = np.bytes_("Kelvin" if name.startswith("tb") else "cm**3/cm**3")
            for name, value in (("surface_flag", surface_flag), ("tb_qual_flag_h", 0), ("tb_qual_flag_v", 0), ("retrieval_qual_flag", 0)):
                a = np.full((406, 964), 65534, np.uint16)
                a[r, c] = value
                a[r, c + 1] = value
                d = g.create_dataset(name + sfx, data=a, compression="gzip")
                d.attrs["_FillValue"] = np.uint16(65534)
            lat = np.full((406, 964), -9999.0, np.float32)  # -9999 where no retrieval, AM without _FillValue
            g.create_dataset("latitude" + sfx, data=lat)
            g.create_dataset("longitude" + sfx, data=lat)
    return r, c


def smap_l1c(path: Path, tb_fore: float = 240.0, tb_aft: float = 242.0, seconds: float = 5.55e8, rfi: bool = False) -> tuple[int, int]:
    """``SMAP_L1C_TB_*_[AD]_*.h5``: group ``Global_Projection`` with 1-D cell arrays (two cells, one all fill)."""
    r, c = ease2_rowcol(*CELL, *M36)
    with h5py.File(path, "w") as f:
        g = f.create_group("Global_Projection")
        g.create_dataset("cell_row", data=np.array([r, r], np.uint16))
        g.create_dataset("cell_column", data=np.array([c, c + 1], np.uint16))
        g.create_dataset("cell_lat", data=np.array([CELL[0], CELL[0]], np.float32))
        g.create_dataset("cell_lon", data=np.array([CELL[1], CELL[1] + 0.37], np.float32))
        g.create_dataset("cell_tb_time_seconds_aft", data=np.array([seconds, seconds], np.float64))
        for p in "hv":
            for look, v in (("fore", tb_fore), ("aft", tb_aft)):
                d = g.create_dataset(f"cell_tb_{p}_{look}", data=np.array([v, -9999.0], np.float32))
                d.attrs["_FillValue"] = np.float32(-9999.0)
                g.create_dataset(f"cell_tb_qual_flag_{p}_{look}", data=np.array([4 if rfi else 0, 65534], np.uint16))
    return r, c


# ---- AMSR2 -------------------------------------------------------------------------------------
def amsr2_tb(path: Path, tb: float = 255.55, scale: float | None = 0.01, res: float = 0.25, drop: str | None = None) -> tuple[int, int]:
    """``GW1AM2_*_L3SGT..LA*.h5``: uint16 × 0.01 K, row 0 north, column 0 at 0°E; 65534 one column east."""
    ny, nx = round(180 / res), round(360 / res)
    r, c = int((90 - CELL[0]) / res), int(CELL[1] / res)
    with h5py.File(path, "w") as f:
        for pol, add in (("H", 0.0), ("V", 20.0)):
            name = f"Brightness Temperature ({pol})"
            if drop == name:
                continue
            a = np.full((ny, nx), 65535, np.uint16)
            a[r, c] = round((tb + add) / 0.01)
            a[r, c + 1] = 65534
            d = f.create_dataset(name, data=a, compression="gzip")
            if scale is not None:
                d.attrs["SCALE FACTOR"] = np.float32(scale)
            d.attrs["UNIT"] = np.bytes_("K")
    return r, c


def amsr2_sm(path: Path, sm_percent: float = 23.4) -> None:
    """``GW1AM2_*_L3SGSMCLA*.h5``: ``Geophysical Data`` int16 (720, 1440, 1) × 0.1 %."""
    a = np.full((720, 1440, 1), -32767, np.int16)
    a[int((90 - CELL[0]) / 0.25), int(CELL[1] / 0.25), 0] = round(sm_percent / 0.1)
    with h5py.File(path, "w") as f:
        d = f.create_dataset("Geophysical Data", data=a, compression="gzip")
        d.attrs["SCALE FACTOR"] = np.float32(0.1)


# ---- FY-3C -------------------------------------------------------------------------------------
def fy3c_l1(path: Path, tb_h: float = 230.0, tb_v: float = 250.0, begin: str = "2017-06-01 07:15:00.000") -> None:
    """``FY3C_MWRI[AD]_GBAL_L1_*.HDF``: (10, scans, 254) int16, Slope 0.01 / Intercept 327.68; 3 pixels in one cell."""
    bt = np.full((10, 2, 254), -32768, np.int16)
    lat = np.full((2, 254), -999.9, np.float32)
    lon = np.full((2, 254), -999.9, np.float32)
    lat[0, :3], lon[0, :3] = CELL[0], [CELL[1] - 0.01, CELL[1], CELL[1] + 0.01]
    bt[0, 0, :3] = round((tb_v - 327.68) / 0.01)
    bt[1, 0, :3] = [round((tb_h - 1 - 327.68) / 0.01), round((tb_h - 327.68) / 0.01), round((tb_h + 1 - 327.68) / 0.01)]
    with h5py.File(path, "w") as f:
        f.attrs["Satellite Name"] = np.bytes_("FY-3C")
        date, clock = begin.split(" ")
        f.attrs["Observing Beginning Date"] = np.bytes_(date)
        f.attrs["Observing Beginning Time"] = np.bytes_(clock)
        d = f.create_dataset("Calibration/EARTH_OBSERVE_BT_10_to_89GHz", data=bt)
        d.attrs["Slope"] = np.full(10, 0.01, np.float32)
        d.attrs["Intercept"] = np.full(10, 327.68, np.float32)
        f.create_dataset("Geolocation/Latitude", data=lat)
        f.create_dataset("Geolocation/Longitude", data=lon)


def fy3c_l2(path: Path, sm: float = 0.21) -> None:
    """``FY3C_MWRI[AD]_GBAL_L2_VSM_*.HDF``: one 2-D dataset on the EASE-Grid 2.0 M25 shape (name undocumented)."""
    r, c = ease2_rowcol(*CELL, *M25)
    a = np.full((584, 1388), -999, np.int16)
    a[r, c] = round(sm / 1e-4)
    with h5py.File(path, "w") as f:
        d = f.create_dataset("SM_Daily", data=a, compression="gzip")
        d.attrs["Slope"] = np.float32(1e-4)
        d.attrs["Intercept"] = np.float32(0.0)
        d.attrs["FillValue"] = np.int16(-999)


# ---- ASCAT -------------------------------------------------------------------------------------
ASCAT_NAME = "W_XX-EUMETSAT-Darmstadt,SURFACE+SATELLITE,METOPB+ASCAT_C_EUMP_{stamp}_{orbit:05d}_eps_o_125_ssm_l2.nc"


def ascat(path: Path, sigma40: float = -12.345678, utc_seconds: int = 549_606_600, ascending: bool = True, drop: str | None = None) -> None:
    """EUMETSAT L2 SSM netCDF: 3 rows × 82 cells, int32 × 1e-6 with the ±10 dB valid range gotcha [V]."""
    import netCDF4

    rows, cells = 3, 82
    lats = np.array([CELL[0] - 0.2, CELL[0], CELL[0] + 0.2]) if ascending else np.array([CELL[0] + 0.2, CELL[0], CELL[0] - 0.2])
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("numRows", rows)
        nc.createDimension("numCells", cells)
        specs = {
            "sigma40": ("i4", {"scale_factor": 1e-6, "units": "dB", "valid_min": np.int32(-10000000), "valid_max": np.int32(10000000)}),
            "latitude": ("i4", {"scale_factor": 1e-6, "missing_value": np.int32(-2147483648)}),
            "longitude": ("i4", {"scale_factor": 1e-6, "missing_value": np.int32(-2147483648)}),
        }
        for name, (dtype, attrs) in specs.items():
            if name == drop:
                continue
            v = nc.createVariable(name, dtype, ("numRows", "numCells"), fill_value=np.int32(-2147483648) if name == "sigma40" else None)
            v.set_auto_maskandscale(False)
            v.setncatts(attrs)
            a = np.full((rows, cells), -2147483648, np.int32)
            if name == "sigma40":
                a[1, 0] = round(sigma40 / 1e-6)
            elif name == "latitude":
                a[:, :2] = np.round(lats[:, None] / 1e-6)
            else:
                a[:, :2] = round(CELL[1] / 1e-6)
            v[:] = a
        t = nc.createVariable("utc_line_nodes", "i4", ("numRows",))
        t.units = "seconds since 2000-01-01 00:00:00"
        t[:] = np.full(rows, utc_seconds, np.int32)
        a = nc.createVariable("as_des_pass", "i1", ("numRows",))
        a[:] = np.full(rows, 1 if ascending else 0, np.int8)


# ---- MODIS (HDF4) ------------------------------------------------------------------------------
def _sinu_pixel(h: int, v: int, npix: int, point: tuple[float, float] = CELL) -> tuple[int, int]:
    from pyproj import CRS, Transformer

    x, y = Transformer.from_crs("EPSG:4326", CRS.from_proj4("+proj=sinu +R=6371007.181 +units=m"), always_xy=True).transform(point[1], point[0])
    ulx, uly = -20015109.354 + h * 1111950.5197, 10007554.677 - v * 1111950.5197
    d = 1111950.5197 / npix
    return int((uly - y) // d), int((x - ulx) // d)


def modis_mod11a1(path: Path, lst: float = 300.02, qc: int = 0, scale: float = 0.02, struct: bool = True,
                  h: int = 25, v: int = 5, point: tuple[float, float] = CELL) -> tuple[int, int]:
    """``MOD11A1.A*.hHHvVV.*.hdf``: LST uint16 × 0.02 K (fill 0) in a 5 × 5 block at ``point``, QC uint8 with string fill "NA"."""
    from pyhdf.SD import SD, SDC

    r, c = _sinu_pixel(h, v, 1200, point)
    sd = SD(str(path), SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    for name, qc_name, value in (("LST_Day_1km", "QC_Day", lst), ("LST_Night_1km", "QC_Night", lst - 20.0)):
        a = np.zeros((1200, 1200), np.uint16)
        a[r - 2 : r + 3, c - 2 : c + 3] = round(value / 0.02)
        d = sd.create(name, SDC.UINT16, (1200, 1200))
        d.setfillvalue(0)
        d.attr("scale_factor").set(SDC.FLOAT64, scale)
        d.attr("add_offset").set(SDC.FLOAT64, 0.0)
        d.attr("units").set(SDC.CHAR8, "K")
        d.attr("valid_range").set(SDC.UINT16, [7500, 65535])
        d[:] = a
        d.endaccess()
        q = sd.create(qc_name, SDC.UINT8, (1200, 1200))
        q.attr("_FillValue").set(SDC.CHAR8, "NA\x00")
        qa = np.zeros((1200, 1200), np.uint8)
        qa[r - 2 : r + 3, c - 2 : c + 3] = qc
        q[:] = qa
        q.endaccess()
    if struct:
        ulx, uly = -20015109.354 + h * 1111950.5197, 10007554.677 - v * 1111950.5197
        sd.attr("StructMetadata.0").set(SDC.CHAR8, (
            "GROUP=GridStructure\n\tGROUP=GRID_1\n\t\tGridName=\"MODIS_Grid_Daily_1km_LST\"\n\t\tXDim=1200\n\t\tYDim=1200\n"
            f"\t\tUpperLeftPointMtrs=({ulx:.6f},{uly:.6f})\n\t\tLowerRightMtrs=({ulx + 1111950.5197:.6f},{uly - 1111950.5197:.6f})\n"
            "\t\tProjection=GCTP_SNSOID\n\tEND_GROUP=GRID_1\nEND_GROUP=GridStructure\nEND\n"))
    sd.end()
    return r, c


def modis_mod13a2(path: Path, ndvi: float = 0.4321, scale: float = 10000.0) -> None:
    """``MOD13A2``: ``1 km 16 days NDVI``/``EVI`` int16, scale_factor 10000 meaning ÷ 10000, fill −3000."""
    from pyhdf.SD import SD, SDC

    r, c = _sinu_pixel(25, 5, 1200)
    sd = SD(str(path), SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    for name, value in (("1 km 16 days NDVI", ndvi), ("1 km 16 days EVI", ndvi / 2)):
        a = np.full((1200, 1200), -3000, np.int16)
        a[r - 2 : r + 3, c - 2 : c + 3] = round(value * 10000)
        d = sd.create(name, SDC.INT16, (1200, 1200))
        d.setfillvalue(-3000)
        d.attr("scale_factor").set(SDC.FLOAT64, scale)
        d.attr("add_offset").set(SDC.FLOAT64, 0.0)
        d[:] = a
        d.endaccess()
    sd.end()


# ---- SRTM, CLDAS, GEOS-5 -----------------------------------------------------------------------
def hgt(path: Path, n: int = 1201, slope_east: float = 0.0, void_block: bool = False, zipped: bool = False) -> None:
    """``N36E098.hgt``: big-endian int16, row 0 north; a plane rising ``slope_east`` m per sample eastward."""
    z = 3000.0 + slope_east * np.arange(n)[None, :] + np.zeros((n, 1))
    raw = np.rint(z).astype(">i2")
    if void_block:
        raw[:10, :10] = -32768
    data = raw.tobytes()
    if zipped:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(path.name[:-4], data)
    else:
        path.write_bytes(data)


def cldas(path: Path, sm: float = 0.123, var: str = "SM000005", units: str = "m3/m3") -> None:
    """CLDAS netCDF: ``LAT``/``LON`` coordinate variables (1040 × 1600, 0.0625°), one float field."""
    import netCDF4

    lat = 0.03125 + 0.0625 * np.arange(1040)
    lon = 60.03125 + 0.0625 * np.arange(1600)
    a = np.full((1040, 1600), -9999.0, np.float32)
    a[int(CELL[0] / 0.0625), int((CELL[1] - 60) / 0.0625)] = sm
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("LAT", 1040)
        nc.createDimension("LON", 1600)
        for name, v in (("LAT", lat), ("LON", lon)):
            nc.createVariable(name, "f4", (name,))[:] = v
        d = nc.createVariable(var, "f4", ("LAT", "LON"), fill_value=np.float32(-9999.0), zlib=True)
        d.units = units
        d[:] = a


def geos5(path: Path, sm: float = 0.2, stamp: str = "2017-06-01 05:30:00", scale: float = 1.0) -> None:
    """``GEOS.fp.asm.tavg1_2d_lnd_Nx.*.nc4``: SFMC (1, 721, 1152), fill 1e15, time in minutes since the stamp."""
    import netCDF4

    a = np.full((1, 721, 1152), 1e15, np.float32)
    a[0, round((CELL[0] + 90) / 0.25), round((CELL[1] + 180) / 0.3125)] = sm
    with netCDF4.Dataset(path, "w") as nc:
        for name, n in (("time", 1), ("lat", 721), ("lon", 1152)):
            nc.createDimension(name, n)
        t = nc.createVariable("time", "i4", ("time",))
        t.units = f"minutes since {stamp}"
        t[:] = [0]
        nc.createVariable("lat", "f8", ("lat",))[:] = -90 + 0.25 * np.arange(721)
        nc.createVariable("lon", "f8", ("lon",))[:] = -180 + 0.3125 * np.arange(1152)
        v = nc.createVariable("SFMC", "f4", ("time", "lat", "lon"), fill_value=np.float32(1e15), zlib=True)
        v.set_auto_maskandscale(False)
        v.setncatts({"missing_value": np.float32(1e15), "scale_factor": np.float32(scale), "add_offset": np.float32(0.0), "units": "m-3 m-3"})
        v[:] = a


# ---- stations ----------------------------------------------------------------------------------
ISMN_NAME = "SMNB_SMNB_{station}_{var}_{d0:.6f}_{d1:.6f}_Probe_X_20170601_20170603.stm"


def ismn(folder: Path, station: str = "Dulan", var: str = "sm", depth: tuple[float, float] = (0.1, 0.1), newline: str = "\n",
         values: tuple[float, ...] = (0.2140, 0.2200, 0.3000, 0.2500), flags: tuple[str, ...] = ("G", "G", "D03", "G"), ceop: bool = False) -> Path:
    """ISMN header+values (or CEOP) ``.stm``: 4 records on two days, one flagged ``D03``."""
    times = ("2017/06/01 00:00", "2017/06/01 12:00", "2017/06/02 00:00", "2017/06/02 12:00")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ISMN_NAME.format(station=station, var=var, d0=depth[0], d1=depth[1])
    if ceop:
        lines = [f"{t} {t} SMNB SMNB {station} 36.30000 98.10000 3189.00 {depth[0]:.2f} {depth[1]:.2f} {v:.4f} {fl} M" for t, v, fl in zip(times, values, flags, strict=True)]
    else:
        lines = [f"SMNB SMNB {station} 36.30000 98.10000 3189.00 {depth[0]:.2f} {depth[1]:.2f} Probe_X"]
        lines += [f"{t}   {v:.4f} {fl} M" for t, v, fl in zip(times, values, flags, strict=True)]
    with open(path, "w", newline="") as fh:
        fh.write(newline.join(lines) + newline)
    return path


def geotiff_dem(path: Path, value: float = 3100.0) -> None:
    """CGIAR-style SRTM GeoTIFF (``srtm_XX_YY.tif``): int16, EPSG:4326, nodata −32768, 1° at 30″."""
    import rasterio
    from rasterio.transform import from_origin

    n = 120
    data = np.full((n, n), value, np.int16)
    data[:5, :5] = -32768
    with rasterio.open(path, "w", driver="GTiff", height=n, width=n, count=1, dtype="int16", crs="EPSG:4326",
                       transform=from_origin(98.0, 37.0, 1 / n, 1 / n), nodata=-32768) as dst:
        dst.write(data, 1)
