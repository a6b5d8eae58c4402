"""Writers of the real file layouts, used by :mod:`sm_nb.export` to write the synthetic scenario.

Each writer produces one file with the container, group paths, dataset names, dtypes, scale
attributes, fill values and file name of the real product (as documented in the module of its
reader). Arrays are passed already placed on the product's native global grid, except the
swath writers (FY-3C L1, ASCAT), which take point lists.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .ascat import INT32_FILL
from .modis import PRODUCTS, SINU_PROJ4
from .smap import FLAG_FILL, FLOAT_FILL, SMAP_EPOCH, SURFACE_FLAG_BITS, TB_QUAL_RFI_BIT

__all__ = [
    "write_smap_l3",
    "write_amsr2",
    "write_fy3c_l1",
    "write_fy3c_l2",
    "write_ascat",
    "write_modis_tile",
    "write_hgt_zip",
    "write_cldas",
    "write_geos5",
    "write_ismn",
    "encode",
    "smap_surface_flag",
]

_GZ = {"compression": "gzip", "compression_opts": 1, "shuffle": True}


def encode(values: np.ndarray, scale: float, offset: float, fill: int, dtype: str, convention: str = "cf") -> np.ndarray:
    """Physical values → raw integers (round to nearest; NaN → ``fill``; clipped to the dtype range)."""
    v = np.asarray(values, dtype=np.float64)
    if convention == "vi":
        raw = v * scale
    else:
        raw = v - offset
        raw /= scale
    info = np.iinfo(dtype)
    np.rint(raw, out=raw)
    np.clip(raw, info.min, info.max, out=raw)  # ±inf (overflow) → the dtype's bounds
    raw[~np.isfinite(v)] = fill
    return raw.astype(dtype)


def smap_surface_flag(flag: np.ndarray) -> np.ndarray:
    """sm_nb flag bits → SMAP ``surface_flag`` (uint16), the inverse of the reader's mapping."""
    f = np.asarray(flag).astype(np.uint16)
    out = np.zeros(f.shape, dtype=np.uint16)
    for bit, smap_bits in SURFACE_FLAG_BITS.items():
        out[(f & bit) > 0] |= np.uint16(1 << smap_bits[0])
    return out


def _h5_str(obj: Any, name: str, text: str) -> None:
    obj.attrs[name] = np.bytes_(text)


def write_smap_l3(path: Path, day: pd.Timestamp, passes: Mapping[str, Mapping[str, np.ndarray]], lat: np.ndarray, lon: np.ndarray) -> Path:
    """SPL3SMP file: ``passes["desc"|"asc"]`` = {tbh, tbv, sm (float32, NaN missing), flag (uint8 sm_nb bits), valid (bool)}.

    Arrays are (406, 964) EASE-Grid 2.0 M36 rows north → south; ``lat``/``lon`` are the row and
    column centres. Cells with ``valid`` False get fill flags and −9999 geolocation (as in real files).
    """
    import h5py

    with h5py.File(path, "w") as f:
        meta = f.create_group("Metadata/DatasetIdentification")
        _h5_str(meta, "shortName", "SPL3SMP")
        _h5_str(meta, "SMAPShortName", "L3_SM_P")
        _h5_str(meta, "fileName", path.name)
        for orbit, group, suffix, hour in (("desc", "Soil_Moisture_Retrieval_Data_AM", "", 6.0), ("asc", "Soil_Moisture_Retrieval_Data_PM", "_pm", 18.0)):
            g = f.create_group(group)
            p = passes[orbit]
            valid = p["valid"]
            shape = valid.shape
            mlat, mlon = np.meshgrid(lat, lon, indexing="ij")
            floats = {
                "tb_h_corrected": (p["tbh"], "Kelvin", 0.0, 330.0, "Horizontal polarization brightness temperature corrected"),
                "tb_v_corrected": (p["tbv"], "Kelvin", 0.0, 330.0, "Vertical polarization brightness temperature corrected"),
                "soil_moisture": (p["sm"], "cm**3/cm**3", 0.02, 0.5, "Representative soil moisture measurement for the Earth based grid cell."),
            }
            for name, (arr, units, vmin, vmax, long_name) in floats.items():
                d = g.create_dataset(name + suffix, data=np.where(np.isfinite(arr), arr, FLOAT_FILL).astype(np.float32), fillvalue=np.float32(FLOAT_FILL), chunks=True, **_GZ)
                d.attrs["_FillValue"] = np.float32(FLOAT_FILL)
                d.attrs["valid_min"], d.attrs["valid_max"] = np.float32(vmin), np.float32(vmax)
                _h5_str(d, "units", units)
                _h5_str(d, "long_name", long_name)
            for name, arr in (("latitude", mlat), ("longitude", mlon)):
                d = g.create_dataset(name + suffix, data=np.where(valid, arr, FLOAT_FILL).astype(np.float32), chunks=True, **_GZ)
                _h5_str(d, "units", "degrees_north" if name == "latitude" else "degrees_east")
                if orbit == "asc":  # v008: the AM lat/lon carry no _FillValue attribute, the PM ones do
                    d.attrs["_FillValue"] = np.float32(FLOAT_FILL)
            rfi = (p["flag"] & 8) > 0
            flags = {
                "surface_flag": smap_surface_flag(p["flag"]),
                "retrieval_qual_flag": np.where(np.isfinite(p["sm"]), 0, 1).astype(np.uint16),
                "tb_qual_flag_h": np.where(rfi, 1 << TB_QUAL_RFI_BIT, 0).astype(np.uint16),
                "tb_qual_flag_v": np.where(rfi, 1 << TB_QUAL_RFI_BIT, 0).astype(np.uint16),
            }
            for name, arr in flags.items():
                d = g.create_dataset(name + suffix, data=np.where(valid, arr, FLAG_FILL).astype(np.uint16), fillvalue=np.uint16(FLAG_FILL), chunks=True, **_GZ)
                d.attrs["_FillValue"] = np.uint16(FLAG_FILL)
            rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
            for name, arr in (("EASE_row_index", rows), ("EASE_column_index", cols)):
                d = g.create_dataset(name + suffix, data=np.where(valid, arr, FLAG_FILL).astype(np.uint16), chunks=True, **_GZ)
                d.attrs["_FillValue"] = np.uint16(FLAG_FILL)
            secs = ((day - SMAP_EPOCH).total_seconds() + (hour - mlon / 15.0) * 3600.0).astype(np.float64)
            d = g.create_dataset("tb_time_seconds" + suffix, data=np.where(valid, secs, FLOAT_FILL), chunks=True, **_GZ)
            d.attrs["_FillValue"] = np.float64(FLOAT_FILL)
            _h5_str(d, "units", "seconds")
    return path


def write_amsr2(path: Path, arrays: Mapping[str, np.ndarray], kind: str, orbit: str) -> Path:
    """JAXA L3 file: TB (``arrays`` = {"h", "v"} in K) or SM (``{"sm"}`` in m3 m-3) on the (rows, cols) global grid, row 0 north, col 0 at 0°E."""
    import h5py

    from .amsr2 import SM_FILLS, SM_NAME, SM_SCALE, TB_FILLS, TB_NAMES, TB_SCALE

    with h5py.File(path, "w") as f:
        _h5_str(f, "PlatformShortName", "GCOM-W1")
        _h5_str(f, "SensorShortName", "AMSR2")
        _h5_str(f, "OrbitDirection", "Ascending" if orbit == "asc" else "Descending")
        if kind == "tb":
            for pol in ("h", "v"):
                d = f.create_dataset(TB_NAMES[pol], data=encode(arrays[pol], TB_SCALE, 0.0, TB_FILLS[0], "uint16"), chunks=True, **_GZ)
                d.attrs["SCALE FACTOR"] = np.float32(TB_SCALE)
                _h5_str(d, "UNIT", "K")
        else:
            raw = encode(np.asarray(arrays["sm"]) * 100.0, SM_SCALE, 0.0, SM_FILLS[0], "int16")[..., None]
            d = f.create_dataset(SM_NAME, data=raw, chunks=True, **_GZ)
            d.attrs["SCALE FACTOR"] = np.float32(SM_SCALE)
            _h5_str(d, "UNIT", "%")
    return path


def write_fy3c_l1(path: Path, start: pd.Timestamp, lat: np.ndarray, lon: np.ndarray, tb: Mapping[int, np.ndarray], pixels: int = 254) -> Path:
    """MWRI L1 swath: points (``lat``, ``lon``, ``tb[channel]`` in K) laid out as (scans, ``pixels``) with fill padding."""
    import h5py

    from .fy3c import BT_INTERCEPT, BT_SLOPE, CHANNELS

    n = lat.size
    scans = max(1, -(-n // pixels))
    pad = scans * pixels - n

    def lay(a: np.ndarray, fill: float) -> np.ndarray:
        return np.concatenate([a, np.full(pad, fill, dtype=a.dtype)]).reshape(scans, pixels)

    bt = np.full((len(CHANNELS), scans, pixels), -32768, dtype=np.int16)
    for k, values in tb.items():
        bt[k] = lay(encode(values, BT_SLOPE, BT_INTERCEPT, -32768, "int16"), -32768)
    with h5py.File(path, "w") as f:
        _h5_str(f, "Satellite Name", "FY-3C")
        _h5_str(f, "Sensor Name", "MWRI")
        _h5_str(f, "Observing Beginning Date", start.strftime("%Y-%m-%d"))
        _h5_str(f, "Observing Beginning Time", start.strftime("%H:%M:%S.%f")[:12])
        d = f.create_dataset("Calibration/EARTH_OBSERVE_BT_10_to_89GHz", data=bt, chunks=True, **_GZ)
        d.attrs["Slope"] = np.full(len(CHANNELS), BT_SLOPE, np.float32)
        d.attrs["Intercept"] = np.full(len(CHANNELS), BT_INTERCEPT, np.float32)
        for name, a in (("Latitude", lat), ("Longitude", lon)):
            g = f.create_dataset(f"Geolocation/{name}", data=lay(np.asarray(a, np.float32), np.float32(-999.9)), chunks=True, **_GZ)
            g.attrs["FillValue"] = np.float32(-999.9)
    return path


def write_fy3c_l2(path: Path, sm: np.ndarray, name: str = "Soil_Moisture") -> Path:
    """MWRI L2 VSM file: soil moisture (m3 m-3) on the global EASE-Grid 2.0 M25 (584 × 1388), int16 × ``Slope`` 1e-4.

    The real dataset name is undocumented ([T]); the reader picks the one 2-D EASE-grid dataset.
    """
    import h5py

    with h5py.File(path, "w") as f:
        _h5_str(f, "Satellite Name", "FY-3C")
        d = f.create_dataset(name, data=encode(sm, 1e-4, 0.0, -999, "int16"), chunks=True, **_GZ)
        d.attrs["Slope"] = np.float32(1e-4)
        d.attrs["Intercept"] = np.float32(0.0)
        d.attrs["FillValue"] = np.int16(-999)
        _h5_str(d, "units", "cm3/cm3")
    return path


def write_ascat(path: Path, lat: np.ndarray, lon: np.ndarray, sigma40: np.ndarray, row_utc: np.ndarray, ascending: bool, cells: int = 82) -> Path:
    """EUMETSAT L2 SSM netCDF: (rows, ``cells``) arrays of points (already ordered along track) and per-row UTC times."""
    import netCDF4

    rows = lat.shape[0]
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.set_auto_maskandscale(False)
        nc.createDimension("numRows", rows)
        nc.createDimension("numCells", cells)
        nc.title = "ASCAT SSM 12.5 km swath grid"
        nc.start_sensing_data_time = pd.Timestamp(row_utc.min()).strftime("%Y-%m-%dT%H:%M:%SZ")
        nc.end_sensing_data_time = pd.Timestamp(row_utc.max()).strftime("%Y-%m-%dT%H:%M:%SZ")
        nc.platform_long_name = "M01"
        v = nc.createVariable("sigma40", "i4", ("numRows", "numCells"), fill_value=INT32_FILL, zlib=True)
        v.set_auto_maskandscale(False)  # values are written already packed
        v.setncatts({"scale_factor": 1e-6, "units": "dB", "long_name": "Backscatter at 40 degrees incidence angle", "valid_min": np.int32(-10000000), "valid_max": np.int32(10000000)})
        v[:] = encode(sigma40, 1e-6, 0.0, INT32_FILL, "int32")
        for name, a, units in (("latitude", lat, "degrees_north"), ("longitude", lon, "degrees_east")):
            w = nc.createVariable(name, "i4", ("numRows", "numCells"), zlib=True)
            w.set_auto_maskandscale(False)
            w.setncatts({"scale_factor": 1e-6, "units": units, "missing_value": np.int32(INT32_FILL)})
            w[:] = encode(a, 1e-6, 0.0, INT32_FILL, "int32")
        t = nc.createVariable("utc_line_nodes", "i4", ("numRows",))
        t.units = "seconds since 2000-01-01 00:00:00"
        t[:] = ((pd.DatetimeIndex(row_utc) - pd.Timestamp("2000-01-01")).total_seconds()).astype(np.int32)
        a = nc.createVariable("as_des_pass", "i1", ("numRows",))
        a.long_name = "ascending/descending pass indicator"
        a[:] = np.full(rows, 1 if ascending else 0, np.int8)
        s = nc.createVariable("soil_moisture", "u2", ("numRows", "numCells"), zlib=True)
        s.set_auto_maskandscale(False)
        s.setncatts({"scale_factor": 0.01, "units": "percent"})
        s[:] = np.full((rows, cells), 65535, np.uint16)
    return path


def _odl_struct(grid_name: str, corners: tuple[float, float, float, float], npix: int, fields: list[str]) -> str:
    ulx, uly, lrx, lry = corners
    dfields = "\n".join(
        f"\t\t\tOBJECT=DataField_{i + 1}\n\t\t\t\tDataFieldName=\"{f}\"\n\t\t\t\tDimList=(\"YDim\",\"XDim\")\n\t\t\tEND_OBJECT=DataField_{i + 1}"
        for i, f in enumerate(fields)
    )
    return (
        "GROUP=SwathStructure\nEND_GROUP=SwathStructure\nGROUP=GridStructure\n\tGROUP=GRID_1\n"
        f"\t\tGridName=\"{grid_name}\"\n\t\tXDim={npix}\n\t\tYDim={npix}\n"
        f"\t\tUpperLeftPointMtrs=({ulx:.6f},{uly:.6f})\n\t\tLowerRightMtrs=({lrx:.6f},{lry:.6f})\n"
        "\t\tProjection=GCTP_SNSOID\n\t\tProjParams=(6371007.181000,0,0,0,0,0,0,0,0,0,0,0,0)\n\t\tSphereCode=-1\n"
        f"\t\tGROUP=DataField\n{dfields}\n\t\tEND_GROUP=DataField\n\tEND_GROUP=GRID_1\nEND_GROUP=GridStructure\nEND\n"
    )


def write_modis_tile(path: Path, product: str, corners: tuple[float, float, float, float], fields: Mapping[str, np.ndarray], start: pd.Timestamp) -> Path:
    """HDF4-EOS tile: ``fields`` = output variable → physical values (npix × npix, NaN missing)."""
    from pyhdf.SD import SD, SDC

    spec = PRODUCTS[product]
    types = {"uint16": SDC.UINT16, "int16": SDC.INT16, "uint8": SDC.UINT8, "int8": SDC.INT8}
    npix, grid = spec["npix"], spec["grid"]
    sd = SD(str(path), SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    try:
        names = []

        def sds(name: str, dtype: str, data: np.ndarray, attrs: dict[str, Any], fill: Any = None) -> None:
            d = sd.create(name, types[dtype], (npix, npix))
            d.dim(0).setname(f"YDim:{grid}")
            d.dim(1).setname(f"XDim:{grid}")
            if isinstance(fill, str):
                d.attr("_FillValue").set(SDC.CHAR8, fill)
            elif fill is not None:
                d.setfillvalue(np.asarray(fill).astype(dtype).item())
            for k, v in attrs.items():
                if isinstance(v, str):
                    d.attr(k).set(SDC.CHAR8, v)
                elif isinstance(v, list):
                    d.attr(k).set(types[dtype], v)
                else:
                    d.attr(k).set(SDC.FLOAT64, float(v))
            d.setcompress(SDC.COMP_DEFLATE, value=1)
            d[:] = data
            d.endaccess()
            names.append(name)

        valid_any = np.zeros((npix, npix), dtype=bool)
        for var, s in spec["vars"].items():
            values = fields[var]
            valid_any |= np.isfinite(values)
            raw = encode(values, s.scale, s.offset, s.fill, s.dtype, s.convention)
            sds(s.name, s.dtype, raw, {"long_name": s.long_name, "units": "Kelvin" if s.kind == "lst" else "NDVI" if s.kind == "ndvi" else "reflectance",
                                      "scale_factor": s.scale, "add_offset": s.offset}, fill=s.fill)
            if s.qc:  # MOD11 QC bits 0-1: 0 good, 2 not produced (cloud)
                sds(s.qc, "uint8", np.where(np.isfinite(values), 0, 2).astype(np.uint8), {"long_name": f"Quality control for {s.name}"}, fill="NA\x00")
        if product.endswith("11A1"):
            sds("Day_view_time", "uint8", np.where(np.isfinite(fields["lst_day"]), 105, 255).astype(np.uint8),
                {"long_name": "Local time of day observation", "units": "hrs", "scale_factor": 0.1, "add_offset": 0.0}, fill=255)
        elif product.endswith("13A2"):
            sds("1 km 16 days pixel reliability", "int8", np.where(valid_any, 0, -1).astype(np.int8), {"long_name": "1 km 16 days pixel reliability"}, fill=-1)
        else:
            sds("sur_refl_state_500m", "uint16", np.zeros((npix, npix), np.uint16), {"long_name": "500m Reflectance Band Quality"}, fill=65535)
        sd.attr("StructMetadata.0").set(SDC.CHAR8, _odl_struct(grid, corners, npix, names))
        end = start + pd.Timedelta(days=spec["days"] - 1)
        core = (f"GROUP=INVENTORYMETADATA\n  OBJECT=RANGEBEGINNINGDATE\n    VALUE=\"{start:%Y-%m-%d}\"\n  END_OBJECT=RANGEBEGINNINGDATE\n"
                f"  OBJECT=RANGEENDINGDATE\n    VALUE=\"{end:%Y-%m-%d}\"\n  END_OBJECT=RANGEENDINGDATE\nEND_GROUP=INVENTORYMETADATA\nEND\n")
        sd.attr("CoreMetadata.0").set(SDC.CHAR8, core)
    finally:
        sd.end()
    return path


def modis_pixel_latlon(corners: tuple[float, float, float, float], npix: int) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of every pixel centre of a sinusoidal tile (npix × npix)."""
    from pyproj import CRS, Transformer

    ulx, uly, lrx, lry = corners
    d = (lrx - ulx) / npix
    xx, yy = np.meshgrid(ulx + (np.arange(npix) + 0.5) * d, uly - (np.arange(npix) + 0.5) * d)
    lon, lat = Transformer.from_crs(CRS.from_proj4(SINU_PROJ4), "EPSG:4326", always_xy=True).transform(xx, yy)
    return np.asarray(lat), np.where(np.abs(lon) <= 180, lon, np.nan)


def write_hgt_zip(path: Path, z: np.ndarray) -> Path:
    """``N36E098.hgt.zip`` holding the big-endian int16 tile ``z`` (rows north → south, NaN → void)."""
    from .srtm import HGT_VOID

    raw = np.where(np.isfinite(z), np.rint(np.nan_to_num(z)), HGT_VOID).astype(">i2").tobytes()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(path.name[: -len(".zip")], raw)
    return path


def write_cldas(path: Path, lat: np.ndarray, lon: np.ndarray, sm: np.ndarray, var: str = "SM000005") -> Path:
    """CLDAS netCDF: ``LAT``, ``LON`` coordinate variables and one float32 soil-moisture field (m3 m-3)."""
    import netCDF4

    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.set_auto_maskandscale(False)
        nc.createDimension("LAT", lat.size)
        nc.createDimension("LON", lon.size)
        nc.title = "CLDAS V2.0 soil moisture 0-5 cm"
        for name, a, units in (("LAT", lat, "degrees_north"), ("LON", lon, "degrees_east")):
            c = nc.createVariable(name, "f4", (name,))
            c.units = units
            c[:] = a
        v = nc.createVariable(var, "f4", ("LAT", "LON"), fill_value=np.float32(-9999.0), zlib=True, complevel=1)
        v.set_auto_maskandscale(False)
        v.units = "m3/m3"
        v.long_name = "soil moisture 0-5 cm"
        v[:] = np.where(np.isfinite(sm), sm, -9999.0).astype(np.float32)
    return path


def write_geos5(path: Path, stamp: pd.Timestamp, lat: np.ndarray, lon: np.ndarray, sm: np.ndarray) -> Path:
    """GEOS-5 FP ``tavg1_2d_lnd_Nx`` nc4 with ``SFMC`` (time = 1, lat, lon) in GMAO conventions."""
    import netCDF4

    fill = np.float32(1e15)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        nc.set_auto_maskandscale(False)
        nc.createDimension("time", 1)
        nc.createDimension("lat", lat.size)
        nc.createDimension("lon", lon.size)
        nc.Title = "GEOS-5 FP time-averaged single-level land diagnostics"
        t = nc.createVariable("time", "i4", ("time",))
        t.units = f"minutes since {stamp:%Y-%m-%d %H:%M:%S}"
        t[:] = [0]
        for name, a, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
            c = nc.createVariable(name, "f8", (name,))
            c.units = units
            c[:] = a
        v = nc.createVariable("SFMC", "f4", ("time", "lat", "lon"), fill_value=fill, zlib=True, complevel=1)
        v.set_auto_maskandscale(False)
        v.setncatts({"long_name": "water_surface_layer", "units": "m-3 m-3", "missing_value": fill, "scale_factor": np.float32(1.0),
                     "add_offset": np.float32(0.0), "valid_range": np.array([-1e15, 1e15], np.float32)})
        v[0] = np.where(np.isfinite(sm), sm, fill).astype(np.float32)
    return path


def write_ismn(path: Path, network: str, station: str, lat: float, lon: float, elevation: float, depth: tuple[float, float], sensor: str, times: pd.DatetimeIndex, values: np.ndarray) -> Path:
    """ISMN "header + values" ``.stm`` file (NaN values are left out; flag ``G``, original flag ``M``)."""
    head = f"{network} {network} {station} {lat:.5f} {lon:.5f} {elevation:.2f} {depth[0]:.2f} {depth[1]:.2f} {sensor}\n"
    ok = np.isfinite(values)
    lines = [f"{t:%Y/%m/%d %H:%M} {v:8.4f} G M" for t, v in zip(times[ok], values[ok], strict=True)]
    path.write_text(head + "\n".join(lines) + "\n")
    return path
