"""The generation's day loop: the state of one scenario run and what it does each simulated day.

:class:`World` holds the static fields, the grids, the sites and the writers (fine-grid cubes
appended to zarr, native-grid products collected in memory); :meth:`World.run_year` runs one
season day by day (weather → vegetation → thermal state → water balance → sensors, models,
MODIS, in situ) and :meth:`World.finish` writes the stores. :func:`sm_nb.scenario.generate.generate`
drives it, one season after the other or side by side (:mod:`sm_nb.scenario.seasons`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import grids
from ..config import ScenarioConfig
from ..conventions import COORD_ATTRS, FREQUENCY, cf_attrs
from ..store import ZarrAppender, write_zarr
from .randomfields import gaussian_field, rng_for

__all__ = ["World", "Collector", "ORBITS", "SENSOR_ORDER", "RETRIEVALS", "FLAG_ATTRS"]

ORBITS = ("asc", "desc")
#: the order in which each day's sensor products are added
SENSOR_ORDER = ("smap", "amsr2", "fy3c", "ascat")
#: retrieval set-up per radiometer: (polarisation, frequency GHz)
RETRIEVALS = {"smap": ("V", 1.41), "amsr2": ("H", 10.65), "fy3c": ("H", 10.65)}
FLAG_ATTRS = {
    "flag_masks": [1, 2, 4, 8, 16, 32],
    "flag_meanings": "frozen snow water_fraction_gt_0.05 rfi_detected mountainous vwc_gt_5",
    "units": "1",
    "long_name": "quality flags",
}


@dataclass
class Collector:
    """Daily 2-D/3-D arrays of one native-grid product, stacked at the end."""

    grid: grids.Grid
    attrs: dict[str, dict[str, Any]]
    extra_dims: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    data: dict[str, list[np.ndarray]] = field(default_factory=dict)
    times: list[pd.Timestamp] = field(default_factory=list)

    def add(self, date: pd.Timestamp, **fields: np.ndarray) -> None:
        if not self.times or self.times[-1] != date:
            self.times.append(date)
        for k, v in fields.items():
            self.data.setdefault(k, []).append(v)

    def to_dataset(self, global_attrs: dict[str, Any]) -> xr.Dataset:
        coords: dict[str, Any] = {"time": pd.DatetimeIndex(self.times), **self.grid.coords()}
        data_vars = {}
        for k, v in self.data.items():
            arr = np.stack(v)
            if k in self.extra_dims:
                dim, values = self.extra_dims[k]
                dims = ("time", dim, "lat", "lon")
                coords[dim] = xr.Variable(dim, values, COORD_ATTRS.get(dim, {}))
            else:
                dims = ("time", "lat", "lon")
            data_vars[k] = (dims, arr, self.attrs.get(k, {}))
        return xr.Dataset(data_vars, coords=coords, attrs=global_attrs)


class World:
    """State shared across the seasons of one generation run."""

    def __init__(self, cfg: ScenarioConfig, seed: int, static: xr.Dataset, out: Path, prov: dict[str, Any]) -> None:
        from . import sensor_specs, sites

        self.cfg, self.seed, self.static, self.out, self.prov = cfg, seed, static, out, prov
        self.fine = grids.fine_grid(cfg)
        self.coarse = grids.coarse_grid(cfg)
        self.cldas_grid = grids.cldas_grid(cfg)
        self.stations = sites.sites_in_domain(sites.sm_stations(), cfg)
        self.gauges = sites.sites_in_domain(sites.rain_gauges(), cfg)
        self.cldas_gauges = sites.cldas_gauges(cfg, seed, static)
        self.site_table = sites.sites_geodataframe(cfg, static)
        self.sensor_grids = {name: sensor_specs.product_grid(name, cfg) for name in ("smap", "amsr2", "fy3c", "ascat")}
        fine_coords = self.fine.coords()
        gattrs = {**prov}
        self.truth = ZarrAppender(
            out / "truth_sm.zarr", fine_coords,
            {
                "sm": cf_attrs("sm", long_name="true volumetric soil moisture 0-5 cm, daily mean"),
                "sm_l2": cf_attrs("sm", long_name="true volumetric soil moisture 5-40 cm, daily mean"),
                "precipitation": cf_attrs("precipitation", long_name="true daily precipitation"),
                "swe": {"units": "mm", "long_name": "snow water equivalent at the end of the day", "standard_name": "lwe_thickness_of_surface_snow_amount"},
                "_global": {**gattrs, "title": "synthetic soil-moisture truth"},
            },
            chunk=cfg.time_chunk,
        )
        self.lst = ZarrAppender(
            out / "modis_lst.zarr", fine_coords,
            {
                "lst_day": cf_attrs("lst", long_name="MOD11A1-like daytime LST (10:30 local solar time)"),
                "lst_night": cf_attrs("lst", long_name="MOD11A1-like night-time LST (22:30 local solar time)"),
                "_global": {**gattrs, "title": "MOD11A1-like daily LST"},
            },
            chunk=cfg.time_chunk,
        )
        self.vi = ZarrAppender(
            out / "modis_ndvi_evi.zarr", fine_coords,
            {"ndvi": cf_attrs("ndvi"), "evi": cf_attrs("evi"), "_global": {**gattrs, "title": "MOD13A2-like 16-day VI", "time_meaning": "first day of the 16-day window"}},
            chunk=1,
        )
        refl_attrs = {f"sur_refl_b{b}": cf_attrs("reflectance", long_name=f"surface reflectance MODIS band {int(b)}") for b in ("01", "02", "03", "06", "07")}
        self.refl = ZarrAppender(
            out / "modis_reflectance.zarr", fine_coords,
            {**refl_attrs, "_global": {**gattrs, "title": "MOD09A1-like 8-day reflectance", "time_meaning": "first day of the 8-day window"}},
            chunk=1,
        )
        tb_attrs = {}
        for orb, label in (("asc", "ascending"), ("desc", "descending")):
            tb_attrs[f"tbh_{orb}"] = cf_attrs("tb", long_name=f"H-pol brightness temperature, {label}")
            tb_attrs[f"tbv_{orb}"] = cf_attrs("tb", long_name=f"V-pol brightness temperature, {label}")
            tb_attrs[f"flag_{orb}"] = {**FLAG_ATTRS, "long_name": f"quality flags, {label}"}
            tb_attrs[f"sm_{orb}"] = cf_attrs("sm", long_name=f"retrieved soil moisture, {label}")
            tb_attrs[f"sigma40_{orb}"] = cf_attrs("sigma0", long_name=f"sigma40 (VV, 40 deg), {label}")
        self.tb_attrs = tb_attrs
        self.products: dict[str, Collector] = {}
        for name in ("smap", "amsr2", "fy3c"):
            freqs = np.asarray(sensor_specs.channels(name, cfg), dtype=float)
            self.products[f"{name}_tb"] = Collector(
                self.sensor_grids[name], tb_attrs,
                extra_dims={f"tb{p}_{o}": (FREQUENCY, freqs) for p in "hv" for o in ORBITS},
            )
            self.products[f"{name}_sm"] = Collector(self.sensor_grids[name], tb_attrs)
        self.products["ascat_sigma40"] = Collector(self.sensor_grids["ascat"], tb_attrs)
        self.products["cldas_sm"] = Collector(self.cldas_grid, {"sm": cf_attrs("sm", long_name="CLDAS-like 0-5 cm soil moisture, daily mean")})
        self.products["geos5_sm"] = Collector(self.coarse, {"sm": cf_attrs("sm", long_name="GEOS-5 FP-like surface soil moisture at 05:30 UTC")})
        self.station_parts: list[xr.Dataset] = []
        self.gauge_parts: list[xr.Dataset] = []
        self._anc: dict[str, dict[str, np.ndarray]] = {}
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._retrieval_error = {
            name: 1.0 + 0.2 * gaussian_field(rng_for(seed, f"{name}_vwc_ancillary"), self.cldas_grid.shape, 6.9, 6.0, 60.0)
            for name in RETRIEVALS
        }

    # ---------------------------------------------------------------------------------------
    def run_year(self, year: int, bar: Any) -> None:
        from .insitu import GaugeRecorder, StationRecorder
        from .models import CldasModel, Geos5Model
        from .modis import ModisLST, ModisReflectance, ModisVI
        from .thermal import Thermal
        from .vegetation import Vegetation
        from .waterbalance import WaterBalance, WaterBalanceParams
        from .weather import Weather

        cfg, seed, static = self.cfg, self.seed, self.static
        season = set(cfg.season_dates(year))
        weather = Weather(cfg, seed, year, static)
        veg = Vegetation(cfg, seed, year, static)
        thermal = Thermal(cfg, static)
        params = WaterBalanceParams.from_static(static, cfg, seed)
        theta0 = np.asarray(static["theta_fc"].values * 0.6, dtype=np.float64)
        wb = WaterBalance(params, cfg.dt_hours, theta0, theta0.copy())
        cldas = CldasModel(cfg, seed, year, static, self.cldas_gauges)
        geos5 = Geos5Model(cfg, seed, year, static, lookahead=weather.day)
        stations = StationRecorder(cfg, seed, year, self.stations, self.fine, irrigated_mask=np.asarray(static["irrigated"].values))
        gauges = GaugeRecorder(cfg, seed, year, self.gauges, self.fine)
        lst = ModisLST(cfg, seed, year, static)
        vi = ModisVI(cfg, seed, year, static)
        refl = ModisReflectance(cfg, seed, year, static)

        theta_hist: list[np.ndarray] = []  # daily θ for the 30-day antecedent anomaly
        theta_clim = np.asarray(static["theta_fc"].values, dtype=np.float32) * 0.5
        theta_daily = wb.surface_theta().astype(np.float32)
        dt = cfg.dt_hours
        first, last = min(season), max(season)
        # PET is spread over the daylight steps (cosine of the hour angle around 13:00 local)
        mids = (np.arange(cfg.steps_per_day) + 0.5) * dt
        pet_w = np.maximum(np.cos(2 * np.pi * (mids - 13.0) / 24.0), 0.0)
        pet_w = pet_w / pet_w.sum()
        pending = None  # the last stored day's observations, made in the pool beside the next day's physics
        for date in cfg.run_dates(year):
            store = date in season
            wx = weather.day(date)
            anom = (np.mean(theta_hist[-30:], axis=0) - theta_clim) if theta_hist else np.zeros_like(theta_clim)
            vg = veg.day(date, anom)
            snow_start = wb.swe > 2.0
            th = thermal.day(wx, vg, theta_daily, snow=snow_start)
            thetas = [wb.surface_theta()]
            theta2s = [wb.theta2.copy()]
            for k in range(cfg.steps_per_day):
                mid = (k + 0.5) * dt
                frozen = th.soil(mid) < 273.15
                p = wx.precip[k]
                snow = p * wx.snow_fraction
                wb.step(p - snow, snow, wx.pet * pet_w[k], vg.fc, frozen, th.canopy(mid) - 273.15, date)
                thetas.append(wb.surface_theta())
                theta2s.append(wb.theta2.copy())
                stations.add_step(date + pd.Timedelta(hours=(k + 1) * dt), thetas[-1], theta2s[-1], th.soil((k + 1) * dt))
            th_arr = np.stack(thetas)  # (steps+1, ny, nx) at hours 0, dt, …, 24
            # trapezoid over the day
            theta_daily = ((0.5 * (th_arr[0] + th_arr[-1]) + th_arr[1:-1].sum(0)) / cfg.steps_per_day).astype(np.float32)
            theta2_daily = np.mean(np.stack(theta2s), axis=0).astype(np.float32)
            theta_hist.append(theta_daily)
            theta_hist = theta_hist[-30:]
            precip_day = wx.precip.sum(axis=0).astype(np.float32)
            snow_now = wb.swe > 2.0
            gauges.add_day(date, precip_day, wx.snow_fraction)
            cldas_day = cldas.day(date, wx)
            geos5_day = geos5.day(date, wx)
            refl_bands = veg.reflectance(vg.fc, theta_daily, static)
            composites = [("vi", vi.add_day(date, refl_bands, wx, snow=snow_now)),
                          ("refl", refl.add_day(date, refl_bands, wx, snow=snow_now))]
            if store:
                lst_out = lst.add_day(date, th, wx, vg, snow=snow_now)
                self.truth.add(date, sm=theta_daily, sm_l2=theta2_daily, precipitation=precip_day, swe=wb.swe)
                self.lst.add(date, lst_day=lst_out["lst_day"], lst_night=lst_out["lst_night"])
                self.products["cldas_sm"].add(date, sm=cldas_day)
                self.products["geos5_sm"].add(date, sm=geos5_day)
                self._add_observations(pending)  # in date order
                pending = self._observe_async(date, th_arr, th, vg, wb.swe > 2.0)
            self._add_composites(composites, first, last)
            bar.update(1)
        self._add_observations(pending)
        self._add_composites([("vi", c) for c in vi.flush()] + [("refl", c) for c in refl.flush()], first, last)
        self.station_parts.append(stations.to_dataset().sel(time=slice(str(first.date()), str(last.date()))))
        self.gauge_parts.append(gauges.to_dataset().sel(time=slice(str(first.date()), str(last.date()))))

    def _add_composites(self, composites: list[tuple[str, Any]], first: pd.Timestamp, last: pd.Timestamp) -> None:
        """Store MODIS composites whose window overlaps the season (time = window start)."""
        for kind, out in composites:
            if out is None:
                continue
            start, fields = out
            length = 16 if kind == "vi" else 8
            if start <= last and start + pd.Timedelta(days=length - 1) >= first:
                (self.vi if kind == "vi" else self.refl).add(start, **fields)

    # ---------------------------------------------------------------------------------------
    def _state_at(self, hour: float, th_arr: np.ndarray, th: Any, vg: Any, snow: np.ndarray) -> dict[str, np.ndarray]:
        dt = self.cfg.dt_hours
        pos = np.clip(hour / dt, 0, th_arr.shape[0] - 1)
        i0 = int(np.floor(pos))
        i1 = min(i0 + 1, th_arr.shape[0] - 1)
        w = pos - i0
        theta = ((1 - w) * th_arr[i0] + w * th_arr[i1]).astype(np.float32)
        tstate = th.at(hour)
        return {
            "theta": theta,
            "t_2p5": tstate["t_2p5"],
            "t_deep": tstate["t_deep"],
            "t_skin": tstate["t_skin"],
            "t_canopy": tstate["t_canopy"],
            "frozen": tstate["frozen"],
            "snow": snow,
            "vwc": vg.vwc,
            "ndvi": vg.ndvi,
            "fc": vg.fc,
            "t_water": np.broadcast_to(np.float32(th.t_water), theta.shape),
        }

    def _observe_async(self, date: pd.Timestamp, th_arr: np.ndarray, th: Any, vg: Any, snow: np.ndarray) -> tuple:
        """Start all sensors' products of one day in the two-thread pool (they read only this day's
        fields, so the next day's physics runs meanwhile); ``snow``: SWE > 2 mm at the day's end."""
        return date, [self._pool.submit(self._observe_sensor, n, date, th_arr, th, vg, snow) for n in SENSOR_ORDER]

    def _add_observations(self, pending: tuple | None) -> None:
        """Wait for the day started by :meth:`_observe_async` and add its products (fixed order)."""
        if pending is None:
            return
        date, futures = pending
        for name, fut in zip(SENSOR_ORDER, futures, strict=True):
            fields, sm_fields = fut.result()
            self.products[f"{name}_tb" if name != "ascat" else "ascat_sigma40"].add(date, **fields)
            if sm_fields:
                self.products[f"{name}_sm"].add(date, **sm_fields)

    def _observe_sensor(
        self, name: str, date: pd.Timestamp, th_arr: np.ndarray, th: Any, vg: Any, snow: np.ndarray
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        from . import sensor_specs, sensors
        from .backscatter import sigma0_water_cloud
        from .radiative import brightness_temperature

        cfg, seed, static = self.cfg, self.seed, self.static
        spec = sensor_specs.SENSORS[name]
        freqs = sensor_specs.channels(name, cfg)
        fields: dict[str, np.ndarray] = {}
        sm_fields: dict[str, np.ndarray] = {}
        for oi, orbit in enumerate(ORBITS):
            state = self._state_at(spec.overpass_hour(orbit), th_arr, th, vg, snow)
            look = float(rng_for(seed, f"look_{name}", date.year, date.day_of_year, oi).uniform(0, 360))
            fine = {"frozen": state["frozen"], "snow": state["snow"], "vwc": state["vwc"]}
            if name == "ascat":
                fine["sigma0"] = sigma0_water_cloud(state, static, spec.incidence_deg)
            else:
                for f in freqs:
                    tbh, tbv = brightness_temperature(state, static, f, spec.incidence_deg, look_azimuth_deg=look)
                    fine[f"tbh_{f:g}"] = tbh
                    fine[f"tbv_{f:g}"] = tbv
            obs = sensors.observe(name, orbit, date, fine, static, cfg, seed)
            if name == "ascat":
                fields[f"sigma40_{orbit}"] = obs["sigma40"]
                continue
            fields[f"tbh_{orbit}"] = obs["tbh"]
            fields[f"tbv_{orbit}"] = obs["tbv"]
            fields[f"flag_{orbit}"] = obs["flag"]
            pol, freq = RETRIEVALS[name]
            tb = obs["tbv" if pol == "V" else "tbh"][list(freqs).index(freq)]
            sm_fields[f"sm_{orbit}"] = self._retrieve(name, orbit, date, tb, state, obs["flag"])
        return fields, sm_fields

    def _ancillary(self, name: str) -> dict[str, np.ndarray]:
        """Static retrieval ancillary of one product on its grid: footprint means of clay, h, ω, b."""
        from . import footprint, sensor_specs
        from .radiative import parameters_for

        if name not in self._anc:
            spec = sensor_specs.SENSORS[name]
            pol, freq = RETRIEVALS[name]
            fwhm = spec.fwhm_km[list(spec.frequencies).index(freq)]
            h, omega, b = parameters_for(np.asarray(self.static["land_cover"].values), freq)
            anc = {"fwhm": np.float32(fwhm)}
            for key, fld in (("clay", np.asarray(self.static["clay"].values) * 100.0), ("h", h), ("omega", omega), ("b", b)):
                anc[key] = self._agg(fld, fwhm, name)
            anc["vwc_err"] = footprint.sample(self._retrieval_error[name].astype(np.float32), self.cfg, self.sensor_grids[name], 0.0, None)
            self._anc[name] = anc
        return self._anc[name]

    def _agg(self, field: np.ndarray, fwhm: float, name: str) -> np.ndarray:
        from . import footprint

        lattice = footprint.footprint(np.asarray(field, dtype=np.float32), self.cfg, float(fwhm))
        return footprint.sample(lattice, self.cfg, self.sensor_grids[name], 0.0, None)

    def _retrieve(
        self, name: str, orbit: str, date: pd.Timestamp, tb: np.ndarray, state: dict[str, np.ndarray], flag: np.ndarray
    ) -> np.ndarray:
        """Single-channel retrieval with the product's own (imperfect) ancillary data (spec §9)."""
        from . import sensor_specs
        from .radiative import effective_temperature
        from .retrieval import retrieve_sm

        spec = sensor_specs.SENSORS[name]
        pol, freq = RETRIEVALS[name]
        anc = self._ancillary(name)
        grid = self.sensor_grids[name]
        rng = rng_for(self.seed, f"{name}_ancillary_{orbit}", date.year, date.day_of_year)
        teff = self._agg(effective_temperature(state["t_2p5"], state["t_deep"], freq), anc["fwhm"], name)
        teff = teff + 2.0 * rng.standard_normal(grid.shape)
        vwc = self._agg(state["vwc"], anc["fwhm"], name) * anc["vwc_err"]
        sm = retrieve_sm(
            tb, pol, freq, spec.incidence_deg, teff, vwc, anc["clay"], h=anc["h"], omega=anc["omega"], b=anc["b"], bounds=(0.0, 0.6)
        )
        masked = (flag & (1 | 2 | 4)) > 0
        return np.where(masked, np.nan, sm).astype(np.float32)

    # ---------------------------------------------------------------------------------------
    def finish(self) -> None:
        out, prov = self.out, self.prov
        self._pool.shutdown()
        self.truth.close()
        self.lst.close()
        self.vi.close()
        self.refl.close()
        titles = {
            "smap_tb": "SMAP-like L-band brightness temperature (EASE-Grid 2.0 M36)",
            "smap_sm": "SMAP L3-like soil moisture (single-channel V retrieval)",
            "amsr2_tb": "AMSR2 L3-like brightness temperature (0.25 deg)",
            "amsr2_sm": "AMSR2-like soil moisture (10.65 GHz H retrieval)",
            "fy3c_tb": "FY-3C MWRI-like 10.65 GHz brightness temperature (25 km)",
            "fy3c_sm": "FY-3C-like soil moisture (10.65 GHz H retrieval)",
            "ascat_sigma40": "ASCAT-like sigma40 (VV, normalised to 40 deg)",
            "cldas_sm": "CLDAS-like model soil moisture 0-5 cm (0.0625 deg)",
            "geos5_sm": "GEOS-5 FP-like model soil moisture (0.25 x 0.3125 deg)",
        }
        for name, col in self.products.items():
            ds = col.to_dataset({**prov, "title": titles[name]})
            for v in ds.data_vars:
                if v.startswith("flag_"):
                    ds[v] = ds[v].fillna(0).astype(np.uint8) if ds[v].dtype.kind == "f" else ds[v]
            write_zarr(ds, out / f"{name}.zarr")
        stations = xr.concat(self.station_parts, dim="time") if len(self.station_parts) > 1 else self.station_parts[0]
        gauges = xr.concat(self.gauge_parts, dim="time") if len(self.gauge_parts) > 1 else self.gauge_parts[0]
        stations.attrs.update({**prov, "title": "10 cm soil moisture at the SM stations"})
        gauges.attrs.update({**prov, "title": "daily precipitation at the rain gauges"})
        write_zarr(stations, out / "stations_sm.zarr")
        write_zarr(gauges, out / "rain_gauges.zarr")
        sites = self.site_table.drop(columns="geometry")
        sites_ds = xr.Dataset.from_dataframe(sites.set_index("name"))
        sites_ds.attrs.update({**prov, "title": "stations and rain gauges"})
        write_zarr(sites_ds, out / "sites.zarr")
