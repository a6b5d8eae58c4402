"""Readers of the real input files, one small module per product family.

Every reader is ``read_<product>(paths, **options) -> xr.Dataset`` and returns the layout of the
matching synthetic store (same variable names, dims, units), so notebooks cannot tell which
they got:

=================  =========================================  ===================================
reader             files                                      catalog entries
=================  =========================================  ===================================
``read_smap``      SMAP L3_SM_P / L1C_TB HDF5 (h5py)          ``smap_tb``, ``smap_sm``
``read_amsr2``     JAXA AMSR2 L3 TB / SM HDF5 (h5py)          ``amsr2_tb``, ``amsr2_sm``
``read_fy3c``      FY-3C MWRI L1 swath / L2 VSM HDF5 (h5py)   ``fy3c_tb``, ``fy3c_sm``
``read_ascat``     EUMETSAT ASCAT L2 SSM netCDF (netCDF4)     ``ascat_sigma40``
``read_modis``     MOD11A1 / MOD13A2 / MOD09A1 HDF4 (pyhdf)   ``modis_lst``, ``modis_ndvi_evi``, ``modis_reflectance``
``read_srtm``      SRTM .hgt(.zip) / GeoTIFF (rioxarray)      ``dem``
``read_cldas``     CLDAS V2.0 netCDF (netCDF4)                ``cldas_sm``
``read_geos5``     GEOS-5 FP tavg1_2d_lnd_Nx nc4 (netCDF4)    ``geos5_sm``
``read_ismn``      ISMN .stm                                  ``stations_sm``, ``rain_gauges``
``read_station_csv`` plain long-format CSV                    ``stations_sm``, ``rain_gauges``
=================  =========================================  ===================================

:func:`file_readers` gives them as catalog readers (:data:`sm_nb.catalog.READERS`) under the names
``smap``, ``amsr2``, ``fy3c``, ``ascat``, ``modis``, ``srtm``, ``cldas``, ``geos5``, ``ismn`` and
``station_csv`` for ``source: files`` catalog entries.
"""

from __future__ import annotations

from .amsr2 import read_amsr2
from .ascat import read_ascat
from .bridge import FILE_READERS, file_readers, open_files_entry
from .cldas import read_cldas
from .fy3c import read_fy3c
from .geos5 import read_geos5
from .modis import read_modis
from .smap import read_smap
from .srtm import read_srtm
from .stations import read_ismn, read_station_csv

__all__ = [
    "read_smap",
    "read_amsr2",
    "read_fy3c",
    "read_ascat",
    "read_modis",
    "read_srtm",
    "read_cldas",
    "read_geos5",
    "read_ismn",
    "read_station_csv",
    "file_readers",
    "open_files_entry",
    "FILE_READERS",
]
