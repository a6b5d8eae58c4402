"""Real-format reader benchmarks: one season of daily coarse files and one set of MODIS tiles.

Usage
-----
python benchmarks/bench_io.py                 # 214 days (Apr–Nov 2017), 8 MOD11A1 tiles × 4 dates
python benchmarks/bench_io.py --days 30       # a shorter season
python benchmarks/bench_io.py --keep DIR      # write the files into DIR and keep them

The files are written first (with ``sm_nb.io.writers``, random values over the study box, fill
elsewhere, real global grids and names). Each read then runs in a child process so that its wall
time and peak resident memory (``ru_maxrss`` of that child, from ``os.wait4``) are its own.
Printed: files per second and peak memory. MODIS is read eagerly and lazily (dask, one chunk
per date: the graph is built without reading data, memory is bounded by one date's mosaic).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BOX = (30.875, 40.125, 88.90625, 102.96875)  # study box edges (south, north, west, east)
BBOX = (BOX[0] - 0.5, BOX[1] + 0.5, BOX[2] - 0.5, BOX[3] + 0.5)

READS = {
    "smap": "from sm_nb.io import read_smap as r; ds = r({d!r} + '/SMAP', bbox={bbox!r})",
    "amsr2": "from sm_nb.io import read_amsr2 as r; ds = r({d!r} + '/AMSR2', bbox={bbox!r})",
    "geos5": "from sm_nb.io import read_geos5 as r; ds = r({d!r} + '/GEOS5', bbox={bbox!r}, utc_hour='05:30', daily=True)",
    "cldas": "from sm_nb.io import read_cldas as r; ds = r({d!r} + '/CLDAS', bbox={bbox!r})",
    "modis demo grid": "from sm_nb.io import read_modis as r; ds = r({d!r} + '/MODIS', grid=dict(south=30.875, north=40.125, west=88.90625, east=102.96875, dlat=1/32, dlon=1/32))",
    "modis full grid": "from sm_nb.io import read_modis as r; ds = r({d!r} + '/MODIS', grid=dict(south=30.875, north=40.125, west=88.90625, east=102.96875, dlat=1/112, dlon=1/96))",
    "modis full lazy": "from sm_nb.io import read_modis as r; ds = r({d!r} + '/MODIS', lazy=True, grid=dict(south=30.875, north=40.125, west=88.90625, east=102.96875, dlat=1/112, dlon=1/96)); [ds.isel(time=i).load() for i in range(ds.time.size)]",
}


def _write(folder: Path, days: int, modis_dates: int) -> dict[str, int]:
    from sm_nb.io._grids import ease2_centres
    from sm_nb.io.modis import tile_corners
    from sm_nb.io.writers import (
        modis_pixel_latlon,
        write_amsr2,
        write_cldas,
        write_geos5,
        write_modis_tile,
        write_smap_l3,
    )

    rng = np.random.default_rng(0)
    dates = pd.date_range("2017-04-01", periods=days, freq="D")
    counts = {}
    (folder / "SMAP").mkdir(parents=True)
    lat, lon = ease2_centres("M36")
    inside = np.outer((lat > BOX[0]) & (lat < BOX[1]), (lon > BOX[2]) & (lon < BOX[3]))
    for d in dates:
        field = np.where(inside, rng.uniform(180, 280, inside.shape), np.nan)
        p = {o: {"tbh": field, "tbv": field + 20, "sm": field / 1000, "flag": np.zeros(inside.shape, np.uint8), "valid": inside} for o in ("asc", "desc")}
        write_smap_l3(folder / "SMAP" / f"SMAP_L3_SM_P_{d:%Y%m%d}_R16515_001.h5", d, p, lat, lon)
    counts["smap"] = days
    (folder / "AMSR2").mkdir()
    alat, alon = 90 - (np.arange(720) + 0.5) * 0.25, (np.arange(1440) + 0.5) * 0.25
    ain = np.outer((alat > BOX[0]) & (alat < BOX[1]), (alon > BOX[2]) & (alon < BOX[3]))
    for d in dates:
        for o, letter in (("asc", "A"), ("desc", "D")):
            tb = np.where(ain, rng.uniform(180, 280, ain.shape), np.nan)
            write_amsr2(folder / "AMSR2" / f"GW1AM2_{d:%Y%m%d}_01D_EQM{letter}_L3SGT10LA2220220.h5", {"h": tb, "v": tb + 20}, "tb", o)
    counts["amsr2"] = 2 * days
    (folder / "GEOS5").mkdir()
    glat, glon = -90 + 0.25 * np.arange(721), -180 + 0.3125 * np.arange(1152)
    gin = np.outer((glat > BOX[0]) & (glat < BOX[1]), (glon > BOX[2]) & (glon < BOX[3]))
    for d in dates:
        stamp = d + pd.Timedelta(hours=5, minutes=30)
        write_geos5(folder / "GEOS5" / f"GEOS.fp.asm.tavg1_2d_lnd_Nx.{stamp:%Y%m%d_%H%M}.V01.nc4", stamp, glat, glon, np.where(gin, rng.uniform(0.05, 0.4, gin.shape), np.nan))
    counts["geos5"] = days
    (folder / "CLDAS").mkdir()
    clat, clon = 0.03125 + 0.0625 * np.arange(1040), 60.03125 + 0.0625 * np.arange(1600)
    cin = np.outer((clat > BOX[0]) & (clat < BOX[1]), (clon > BOX[2]) & (clon < BOX[3]))
    for d in dates:
        name = f"Z_NAFP_C_BABJ_{d + pd.Timedelta(days=1):%Y%m%d}001500_P_CLDAS_NRT_ASI_0P0625_DAY-SM000005-{d:%Y%m%d}00.nc"
        write_cldas(folder / "CLDAS" / name, clat, clon, np.where(cin, rng.uniform(0.05, 0.4, cin.shape), np.nan))
    counts["cldas"] = days
    (folder / "MODIS").mkdir()
    n = 0
    for d in dates[:modis_dates]:
        for h in range(23, 27):
            for v in (4, 5):
                corners = tuple(float(f"{c:.6f}") for c in tile_corners(h, v))
                la, lo = modis_pixel_latlon(corners, 1200)
                ok = (la > BOX[0]) & (la < BOX[1]) & (lo > BOX[2]) & (lo < BOX[3])
                fields = {k: np.where(ok, rng.uniform(260, 320, ok.shape), np.nan) for k in ("lst_day", "lst_night")}
                write_modis_tile(folder / "MODIS" / f"MOD11A1.A{d:%Y%j}.h{h:02d}v{v:02d}.061.2021301120000.hdf", "MOD11A1", corners, fields, d)
                n += 1
    for k in ("modis demo grid", "modis full grid", "modis full lazy"):
        counts[k] = n
    return counts


def _run(code: str) -> tuple[float, float]:
    """Run ``code`` in a child interpreter; (wall s, peak RSS MB of that child)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark child failed: {code}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=214, help="daily files per product (default: the Apr–Nov season)")
    ap.add_argument("--modis-dates", type=int, default=4, help="dates of the 8-tile MOD11A1 set")
    ap.add_argument("--keep", default=None, help="write the files here and keep them")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp) / "files"
        t0 = time.perf_counter()
        counts = _write(folder, args.days, args.modis_dates)
        print(f"wrote {sum(v for k, v in counts.items() if k not in ('modis full grid', 'modis full lazy'))} files in {time.perf_counter() - t0:.0f} s → {folder}")
        print(f"{'read':<18} {'files':>6} {'wall s':>8} {'files/s':>9} {'peak MB':>9}")
        base_wall, base_mb = _run("import sm_nb.io, h5py, netCDF4, pyhdf.SD")
        print(f"{'(import only)':<18} {'':>6} {base_wall:8.2f} {'':>9} {base_mb:9.0f}")
        for name, code in READS.items():
            wall, mb = _run(code.format(d=str(folder), bbox=BBOX))
            print(f"{name:<18} {counts[name]:6d} {wall:8.2f} {counts[name] / wall:9.1f} {mb:9.0f}")


if __name__ == "__main__":
    main()
