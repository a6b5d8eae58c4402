"""Preprocessing of the NN inputs (paper §2.1.5, §2.2.3): the input registry and input cubes.

One concept — turning product Datasets into the network's input cubes — kept in one module
(slightly over 500 lines) because the registry and the builder change together.

* :data:`INPUTS` — every input name of the paper (``SMAP_TBV_A``, ``AMSR2_10.7_TBH_D``,
  ``ASCAT_BTI_A``, ``NDVI``, ``DEM`` …) and :data:`ALIASES` (``AMSR2_TBH_D``, ``BTI`` …);
* :func:`build_inputs` — one ``(time, lat, lon)`` variable per input on the coarse grid (the
  NN training grid) or on the fine grid (the downscaling step, microwave inputs replicated);
* :func:`build_target` — the CLDAS target aggregated to the coarse grid.

Regridding lives in :mod:`sm_nb.resample`, the indices (:func:`mpdi` eq. 1, :func:`bti`,
:func:`slope`, :func:`nsdsi`, :func:`composite_to_daily`) and feature tables in
:mod:`sm_nb.features`; both are re-exported here so that ``sm_nb.preprocess`` is the one module
notebooks import.

Name conventions: ``<SENSOR>[_<GHz>]_<TBV|TBH|MPDI>_<A|D>`` (A ascending, D descending, kept
apart as in the paper), ``ASCAT_<SIGMA40|BTI>_<A|D>``, auxiliaries by their paper names. The
paper's ``AMSR2_TBH_D`` is the 10.7 GHz channel. The paper does not say which ASCAT pass it
used; ``SIGMA40``/``BTI`` resolve to the ascending pass [A] (21:30 local solar time, the ASCAT
overpass closest to the 18:00 SMAP ascending overpass of the final combination).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._version import __version__
from .area import StudyArea
from .conventions import COORD_ATTRS, FREQUENCY, LAT, LON, TIME, cf_attrs
from .exceptions import ConfigError, DataError
from .features import (
    FeatureTable,
    bti,
    composite_to_daily,
    mpdi,
    nsdsi,
    slope,
    stack_features,
)
from .resample import REGRID_METHOD, area_mean, bilinear, idw, replicate, to_coarse

__all__ = [
    "InputSpec",
    "INPUTS",
    "ALIASES",
    "TARGETS",
    "valid_inputs",
    "resolve_inputs",
    "build_inputs",
    "build_target",
    "VI_VALID_RANGE",
    "COMPOSITE_DAYS",
    # re-exported from sm_nb.features and sm_nb.resample
    "mpdi",
    "bti",
    "slope",
    "nsdsi",
    "composite_to_daily",
    "REGRID_METHOD",
    "to_coarse",
    "bilinear",
    "idw",
    "area_mean",
    "replicate",
    "FeatureTable",
    "stack_features",
]

#: MOD13A2 valid range of NDVI and EVI (−2000 … 10000 × 0.0001); values outside are NaN.
VI_VALID_RANGE = (-0.2, 1.0)
#: composite window (days) of the MODIS composite products; time stamp = window start.
COMPOSITE_DAYS = {"modis_ndvi_evi": 16, "modis_reflectance": 8}


# ---------------------------------------------------------------------------------------------
# the input registry
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InputSpec:
    """One NN input of the paper.

    Attributes
    ----------
    name : str
        Canonical name (upper case).
    kind : str
        ``tb``, ``mpdi``, ``sigma40``, ``bti``, ``vi``, ``lst``, ``nsdsi``, ``dem`` or ``slope``.
    dataset : str
        Catalog dataset it is computed from.
    variable : str
        Source variable (``tbv``, ``tbh``, ``sigma40``, ``ndvi``, ``lst_day``, ``elevation`` …).
    orbit : {"asc", "desc"} or None
    frequency : float or None
        Channel, GHz (as stored in the dataset's ``frequency`` coordinate).
    units, long_name : str
    """

    name: str
    kind: str
    dataset: str
    variable: str
    orbit: str | None
    frequency: float | None
    units: str
    long_name: str

    @property
    def static(self) -> bool:
        return self.kind in ("dem", "slope")

    @property
    def microwave(self) -> bool:
        return self.kind in ("tb", "mpdi", "sigma40", "bti")


_ORBIT = {"A": "asc", "D": "desc"}
_ORBIT_WORD = {"asc": "ascending", "desc": "descending"}
_PASSIVE = {  # sensor → (dataset, {label: stored frequency GHz})
    "SMAP": ("smap_tb", {"1.41": 1.41}),
    "AMSR2": ("amsr2_tb", {"6.9": 6.925, "7.3": 7.3, "10.7": 10.65}),
    "FY3C": ("fy3c_tb", {"10.7": 10.65}),
}


def _registry() -> tuple[dict[str, InputSpec], dict[str, str]]:
    inputs: dict[str, InputSpec] = {}
    aliases: dict[str, str] = {}
    for sensor, (dataset, freqs) in _PASSIVE.items():
        for label, ghz in freqs.items():
            for q in ("TBV", "TBH", "MPDI"):
                for o, orbit in _ORBIT.items():
                    name = f"{sensor}_{q}_{o}" if sensor == "SMAP" else f"{sensor}_{label}_{q}_{o}"
                    what = {"TBV": "V-pol brightness temperature", "TBH": "H-pol brightness temperature",
                            "MPDI": "MPDI"}[q]
                    inputs[name] = InputSpec(
                        name, "mpdi" if q == "MPDI" else "tb", dataset, q.lower(), orbit, ghz,
                        "1" if q == "MPDI" else "K", f"{sensor} {label} GHz {what}, {_ORBIT_WORD[orbit]}",
                    )
                    aliases[f"{sensor}_{ghz:g}_{q}_{o}"] = name
                    if sensor == "SMAP":
                        aliases[f"SMAP_{label}_{q}_{o}"] = name
                    elif label == "10.7":  # the paper's AMSR2_TBH_D, FY3C_TBH_A …
                        aliases[f"{sensor}_{q}_{o}"] = name
    for o, orbit in _ORBIT.items():
        inputs[f"ASCAT_SIGMA40_{o}"] = InputSpec(f"ASCAT_SIGMA40_{o}", "sigma40", "ascat_sigma40", "sigma40", orbit,
                                                 None, "dB", f"ASCAT sigma40, {_ORBIT_WORD[orbit]}")
        inputs[f"ASCAT_BTI_{o}"] = InputSpec(f"ASCAT_BTI_{o}", "bti", "ascat_sigma40", "sigma40", orbit, None, "1",
                                             f"ASCAT backscatter time index, {_ORBIT_WORD[orbit]}")
        aliases[f"SIGMA40_{o}"] = f"ASCAT_SIGMA40_{o}"
        aliases[f"BTI_{o}"] = f"ASCAT_BTI_{o}"
    for short in ("SIGMA40", "BTI"):  # the paper's unqualified names → ascending [A]
        aliases[short] = aliases[f"ASCAT_{short}"] = f"ASCAT_{short}_A"
    aux = [
        InputSpec("NDVI", "vi", "modis_ndvi_evi", "ndvi", None, None, "1", "MODIS NDVI (16-day composite)"),
        InputSpec("EVI", "vi", "modis_ndvi_evi", "evi", None, None, "1", "MODIS EVI (16-day composite)"),
        InputSpec("LST", "lst", "modis_lst", "lst_day", None, None, "K", "MODIS daytime LST (10:30)"),
        InputSpec("LST_NIGHT", "lst", "modis_lst", "lst_night", None, None, "K", "MODIS night-time LST (22:30)"),
        InputSpec("NSDSI", "nsdsi", "modis_reflectance", "nsdsi", None, None, "1", "NSDSI (8-day MODIS reflectance)"),
        InputSpec("DEM", "dem", "dem", "elevation", None, None, "m", "elevation (SRTM-like DEM)"),
        InputSpec("SLOPE", "slope", "dem", "elevation", None, None, "degree", "terrain slope from the DEM"),
    ]
    inputs.update({s.name: s for s in aux})
    # Table 5 spelling and shorthand: TBV_TBH_BTI = SMAP_TBV_A, AMSR2_TBH_D, BTI
    aliases.update({"LST_DAY": "LST", "NSDDSI": "NSDSI", "TBV": "SMAP_TBV_A", "TBH": "AMSR2_10.7_TBH_D"})
    return inputs, aliases


#: canonical input name → :class:`InputSpec`
INPUTS, ALIASES = _registry()


def valid_inputs(aliases: bool = False) -> list[str]:
    """Sorted canonical input names (plus the aliases with ``aliases=True``)."""
    return sorted(INPUTS) + (sorted(ALIASES) if aliases else [])


def _normalise(name: str) -> str:
    return str(name).strip().upper().replace("-", "_").replace(" ", "_")


def resolve_inputs(names: str | Iterable[str]) -> dict[str, InputSpec]:
    """Map requested names (case-insensitive, aliases allowed) to their specs, in order.

    Returns
    -------
    dict
        Upper-cased requested name → :class:`InputSpec`.

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the valid ones), an empty list, or two names
        that denote the same input.
    """
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ConfigError(f"names is empty; expected one or more of {valid_inputs()}")
    out: dict[str, InputSpec] = {}
    unknown = []
    for raw in names:
        key = _normalise(raw)
        canon = ALIASES.get(key, key)
        if canon not in INPUTS:
            unknown.append(raw)
            continue
        spec = INPUTS[canon]
        twin = next((k for k, s in out.items() if s.name == canon), None)
        if twin is not None:
            raise ConfigError(f"inputs {twin!r} and {raw!r} both denote {canon!r}; list each input once")
        out[key] = spec
    if unknown:
        raise ConfigError(
            f"unknown input name(s) {unknown}; expected one of {valid_inputs()} "
            f"or an alias among {sorted(ALIASES)} (case-insensitive)"
        )
    return out


# ---------------------------------------------------------------------------------------------
# products on the coarse grid (memoised) and on the fine grid (lazy)
# ---------------------------------------------------------------------------------------------
#: catalog dataset → variable of the soil-moisture targets
TARGETS = {"cldas_sm": ("cldas_sm", "sm"), "truth_sm": ("truth_sm", "sm"), "geos5_sm": ("geos5_sm", "sm")}


def _memoised(memo: MutableMapping | None, key: tuple, build: Callable[[], xr.DataArray]) -> xr.DataArray:
    if memo is None:
        return build().load()
    if key not in memo:
        memo[key] = build().load()
    return memo[key]


def _product(products: Mapping[str, xr.Dataset], name: str, needed_by: str) -> xr.Dataset:
    if name not in products:
        raise DataError(f"{needed_by} needs the product {name!r}; the products given are {sorted(products)}")
    with warnings.catch_warnings():  # catalog time chunks span two stored chunks: harmless here
        warnings.filterwarnings("ignore", message="The specified chunks separate", category=UserWarning)
        ds = products[name]
    if not isinstance(ds, xr.Dataset):
        raise DataError(f"product {name!r} is a {type(ds).__name__}; expected an xarray Dataset")
    return ds


def _token(products: Mapping[str, xr.Dataset], name: str) -> Any:
    """What identifies product ``name``'s content in a memo key (a fingerprint when offered)."""
    fp = getattr(products, "fingerprint", None)
    return fp(name) if callable(fp) else id(products[name])


def _days(da: xr.DataArray, days: pd.DatetimeIndex) -> xr.DataArray:
    return da.reindex({TIME: days}) if TIME in da.dims else da


class _Builder:
    """Builds the input cubes from a mapping of product Datasets, on one study area, with given options."""

    def __init__(self, products: Mapping[str, xr.Dataset], area: StudyArea, min_valid_fraction: float,
                 flag_mask: int, nsdsi_variant: int, slope_source: str = "dataset",
                 memo: MutableMapping | None = None) -> None:
        self.products, self.area, self.memo = products, area, memo
        self.mvf, self.flag_mask, self.variant = float(min_valid_fraction), int(flag_mask), int(nsdsi_variant)
        self.slope_source = slope_source
        self.coarse, self.days = area.coarse, area.days

    def key(self, spec: InputSpec, *extra: Any) -> tuple:
        opts: tuple = ()
        if spec.kind in ("tb", "mpdi"):
            opts = (self.flag_mask,)
        elif spec.kind in ("vi", "lst", "nsdsi", "dem", "slope"):
            opts = (self.mvf, self.variant if spec.kind == "nsdsi" else None,
                    self.slope_source if spec.kind == "slope" else None)
        grid = (self.coarse.lat.size, self.coarse.lon.size, float(self.coarse.lat[0]), float(self.coarse.lon[0]),
                self.coarse.dlat, self.coarse.dlon, str(self.days[0]), str(self.days[-1]), len(self.days))
        return ("input", spec.name, _token(self.products, spec.dataset), grid, *opts, *extra)

    # -- native-resolution fields --------------------------------------------------------------
    def native(self, spec: InputSpec) -> xr.DataArray:
        """Field before regridding: (time, lat, lon) native grid, or composites, or static."""
        ds = _product(self.products, spec.dataset, f"input {spec.name}")
        if spec.kind in ("tb", "sigma40", "bti"):
            name = f"{spec.variable if spec.kind == 'tb' else 'sigma40'}_{spec.orbit}"
            da = ds[name]
            if spec.frequency is not None and FREQUENCY in da.dims:
                freqs = ds[FREQUENCY].values
                hit = np.flatnonzero(np.isclose(freqs, spec.frequency, atol=0.01))
                if hit.size == 0:
                    raise DataError(f"{spec.name}: {spec.dataset} has no {spec.frequency:g} GHz channel; it has {list(freqs)} GHz")
                da = da.isel({FREQUENCY: int(hit[0])}, drop=True)
            if self.flag_mask and f"flag_{spec.orbit}" in ds:
                da = da.where((ds[f"flag_{spec.orbit}"] & self.flag_mask) == 0)
            return _days(da, self.days)
        if spec.kind == "vi":
            da = ds[spec.variable]
            return da.where((da >= VI_VALID_RANGE[0]) & (da <= VI_VALID_RANGE[1]))
        if spec.kind == "nsdsi":
            return nsdsi(ds["sur_refl_b06"], ds["sur_refl_b07"], self.variant)
        if spec.kind == "lst":
            return _days(ds[spec.variable], self.days)
        if spec.kind == "slope" and self.slope_source == "dataset":
            if "slope" not in ds:
                raise DataError(f"SLOPE: dataset {spec.dataset!r} has no 'slope' variable (it has {sorted(ds.data_vars)}); "
                                "pass slope_source='elevation' to compute it from the DEM")
            return ds["slope"]
        elev = ds["elevation"]
        return slope(elev) if spec.kind == "slope" else elev

    # -- coarse ---------------------------------------------------------------------------------
    def coarse_product(self, spec: InputSpec) -> xr.DataArray:
        if spec.kind == "mpdi":
            tbv = self.coarse_product(INPUTS[spec.name.replace("_MPDI_", "_TBV_")])
            tbh = self.coarse_product(INPUTS[spec.name.replace("_MPDI_", "_TBH_")])
            return _memoised(self.memo, self.key(spec), lambda: mpdi(tbv, tbh).assign_attrs(
                regrid_method=f"eq. (1) from the regridded Tbv and Tbh ({tbv.attrs['regrid_method']})"))
        if spec.kind == "bti":
            sig = self.coarse_product(INPUTS[spec.name.replace("_BTI_", "_SIGMA40_")])
            return _memoised(self.memo, self.key(spec), lambda: bti(sig).assign_attrs(
                regrid_method=f"min-max over time of the regridded sigma40 ({sig.attrs['regrid_method']})"))

        def build() -> xr.DataArray:
            da = self.native(spec)
            method = REGRID_METHOD[spec.dataset]
            kwargs = {"min_valid_fraction": self.mvf} if method == "mean" else {}
            out = to_coarse(da, method, self.coarse, **kwargs)
            if spec.dataset in COMPOSITE_DAYS:
                out = composite_to_daily(out, self.days, COMPOSITE_DAYS[spec.dataset])
            return out

        return _memoised(self.memo, self.key(spec), build)

    # -- fine -----------------------------------------------------------------------------------
    def fine_product(self, spec: InputSpec) -> xr.DataArray:
        if spec.microwave:
            c = self.coarse_product(spec).chunk({TIME: self.area.time_chunk})
            return replicate(c, self.area.grid("fine"))
        da = self.native(spec)
        if spec.dataset in COMPOSITE_DAYS:
            da = composite_to_daily(da, self.days, COMPOSITE_DAYS[spec.dataset])
        if spec.static:
            da = da.chunk()
        da.attrs = {**da.attrs, "regrid_method": "native fine grid"}
        return da

    def finish(self, da: xr.DataArray, spec: InputSpec, key: str, copy: bool) -> xr.DataArray:
        if spec.static:
            da = da.expand_dims({TIME: self.days})
        da = da.transpose(TIME, LAT, LON).assign_coords({TIME: xr.Variable(TIME, self.days, COORD_ATTRS[TIME])})
        if da.chunks is not None:  # uniform chunks: whole days, whole maps
            da = da.chunk({TIME: self.area.time_chunk, LAT: -1, LON: -1})
        attrs = {
            "units": spec.units,
            "long_name": spec.long_name,
            "input": spec.name,
            "source_dataset": spec.dataset,
            "source_variable": "slope" if spec.kind == "slope" and self.slope_source == "dataset" else spec.variable,
            "regrid_method": da.attrs.get("regrid_method", ""),
        }
        std = {"tb": "brightness_temperature", "sigma40": cf_attrs("sigma0")["standard_name"],
               "lst": "surface_temperature", "dem": "surface_altitude"}.get(spec.kind)
        if spec.name == "NDVI":
            std = "normalized_difference_vegetation_index"
        if std:
            attrs["standard_name"] = std
        if spec.orbit:
            attrs["orbit"] = _ORBIT_WORD[spec.orbit]
        if spec.frequency is not None:
            attrs["frequency_GHz"] = spec.frequency
        if spec.static:
            attrs["comment"] = "static field broadcast over time"
        out = da.rename(key).copy(deep=copy)  # deep: callers never write into the cache
        out.attrs = attrs
        return out


def _check_options(min_valid_fraction: float, flag_mask: int, grid: str) -> None:
    if grid not in ("coarse", "fine"):
        raise ConfigError(f"grid is {grid!r}; expected 'coarse' (NN training) or 'fine' (downscaling)")
    if not 0.0 <= float(min_valid_fraction) <= 1.0:
        raise ConfigError(f"min_valid_fraction is {min_valid_fraction!r}; expected a fraction in [0, 1]")
    if not (isinstance(flag_mask, int | np.integer) and 0 <= flag_mask < 256):
        raise ConfigError(f"flag_mask is {flag_mask!r}; expected an integer bit mask 0–255 (1 frozen, 2 snow, 4 water, 8 RFI, 16 mountain, 32 dense vegetation)")


def build_inputs(names: str | Iterable[str], products: Mapping[str, xr.Dataset], area: StudyArea,
                 grid: str = "coarse", *, min_valid_fraction: float = 0.5, flag_mask: int = 0,
                 nsdsi_variant: int = 1, slope_source: str = "dataset",
                 memo: MutableMapping | None = None) -> xr.Dataset:
    """The NN inputs ``names`` as one ``(time, lat, lon)`` variable each, from product Datasets.

    Parameters
    ----------
    names : str or list of str
        Input names (see :func:`valid_inputs`; case-insensitive; aliases such as
        ``AMSR2_TBH_D`` or ``BTI`` allowed). Variables are named by the upper-cased request.
    products : mapping of str to Dataset
        Product Datasets by catalog name, in their native grids and layouts (``smap_tb``,
        ``amsr2_tb``, ``fy3c_tb``, ``ascat_sigma40``, ``modis_ndvi_evi``, ``modis_lst``,
        ``modis_reflectance``, ``dem``; see ``data_catalog.yaml`` for the variables each needs).
        Only the products the inputs need are read. A :class:`sm_nb.Study` passes its catalog;
        a plain dict of in-memory Datasets works the same.
    area : StudyArea
        Target grids and days (:class:`sm_nb.area.StudyArea`).
    grid : {"coarse", "fine"}
        ``coarse``: the paper's 0.25° × 0.3125° grid (NN training, §2.1.5). ``fine``: the fine
        grid for the downscaling step (§2.2.3) — microwave inputs are regridded to the coarse
        grid and replicated without changing values; auxiliaries stay at their native fine
        resolution. Fine output is lazy (dask).
    min_valid_fraction : float in [0, 1]
        Area-mean aggregation (MODIS, terrain) keeps a coarse cell when at least this fraction
        of its fine pixels is valid (MODIS cloud gaps) [A: 0.5].
    flag_mask : int
        Passive-microwave quality-flag bits whose pixels are set to NaN before regridding
        (0 = none, as in the paper, which only excludes December–March).
    nsdsi_variant : {1, 2, 3}
        NSDSI formula (:func:`nsdsi`).
    slope_source : {"dataset", "elevation"}
        Where SLOPE comes from. ``"dataset"`` (default): the DEM product's ``slope`` variable —
        in the scenario the slope of a 3× oversampled DEM with metric spacing, block-averaged,
        the closest stand-in for the paper's slope of the 90 m SRTM DEM (§2.1.3). ``"elevation"``:
        :func:`slope` of the fine-grid elevation (metric spacing, Horn gradient).
    memo : mutable mapping, optional
        Where coarse products are memoised between calls (a :class:`sm_nb.Study` passes its
        own; keys include the identity or fingerprint of each product). ``None``: no memo.

    Returns
    -------
    Dataset
        One variable per input with dims (time, lat, lon), CF ``units``/``long_name``, the
        canonical ``input`` name, source dataset and regridding method in attrs; static inputs
        (DEM, SLOPE) broadcast over time.

    Notes
    -----
    MPDI is computed from the regridded Tbv and Tbh, BTI from the regridded σ40 [A]; composites
    (NDVI/EVI 16 d, NSDSI 8 d) are aggregated and then forward-filled over their window; LST
    cloud gaps stay NaN.
    """
    _check_options(min_valid_fraction, flag_mask, grid)
    specs = resolve_inputs(names)
    if slope_source not in ("dataset", "elevation"):
        raise ConfigError(f"slope_source is {slope_source!r}; expected 'dataset' or 'elevation'")
    b = _Builder(products, area, min_valid_fraction, flag_mask, nsdsi_variant, slope_source, memo)
    make = b.coarse_product if grid == "coarse" else b.fine_product
    out = {key: b.finish(make(spec), spec, key, copy=grid == "coarse") for key, spec in specs.items()}
    target = area.grid(grid)
    ds = xr.Dataset(out, coords={LAT: xr.Variable(LAT, target.lat, COORD_ATTRS[LAT]),
                                 LON: xr.Variable(LON, target.lon, COORD_ATTRS[LON])})
    ds.attrs = {
        "title": f"sm_nb NN inputs on the {grid} grid",
        "inputs": ", ".join(specs),
        "canonical_inputs": ", ".join(s.name for s in specs.values()),
        "grid": grid,
        "min_valid_fraction": float(min_valid_fraction),
        "flag_mask": int(flag_mask),
        "nsdsi_variant": int(nsdsi_variant),
        "slope_source": slope_source,
        "sm_nb_version": __version__,
        "references": "Lv, Zhang & Zhu (2021) Remote Sens. 13, 1583, sections 2.1.5 and 2.2.3",
    }
    return ds


def build_target(product: xr.Dataset | xr.DataArray, area: StudyArea, *, name: str = "cldas_sm",
                 variable: str = "sm", method: str | None = None, min_valid_fraction: float = 0.5,
                 memo: MutableMapping | None = None, token: Any = None) -> xr.DataArray:
    """A soil-moisture product on the coarse grid: (time, lat, lon), m3 m-3 (paper §2.1.2, §2.1.5).

    Parameters
    ----------
    product : Dataset or DataArray (time, lat, lon)
        The product on its native grid (CLDAS 0.0625°, the fine truth, GEOS-5 …).
    area : StudyArea
        Coarse grid and days.
    name : str
        Name of the result; also picks the regridding method of :data:`REGRID_METHOD` when
        ``method`` is not given (``cldas_sm``, ``truth_sm``: area mean; ``geos5_sm``: identity).
    variable : str
        Variable of a Dataset ``product``.
    method : {"mean", "bilinear", "idw", "identity"}, optional
    min_valid_fraction : float in [0, 1]
        As in :func:`build_inputs` (area mean only).
    memo : mutable mapping, optional
        As in :func:`build_inputs`.
    token : hashable, optional
        Identity of the product's content in the memo key (a :class:`sm_nb.Study` passes the
        catalog entry's fingerprint); default the object's ``id``.
    """
    _check_options(min_valid_fraction, 0, "coarse")
    method = method or REGRID_METHOD.get(name, "mean")
    if isinstance(product, xr.Dataset):
        if variable not in product:
            raise DataError(f"target product {name!r} lacks variable {variable!r}; it has {sorted(product.data_vars)}")
        da = product[variable]
    elif isinstance(product, xr.DataArray):
        da = product
    else:
        raise DataError(f"target product {name!r} is a {type(product).__name__}; expected an xarray Dataset or DataArray")
    days = area.days

    def build() -> xr.DataArray:
        kwargs = {"min_valid_fraction": float(min_valid_fraction)} if method == "mean" else {}
        return to_coarse(_days(da, days), method, area.coarse, **kwargs)

    key = ("target", name, id(product) if token is None else token, method,
           float(min_valid_fraction), area.coarse.lat.size, area.coarse.lon.size, str(days[0]), len(days))
    out = _memoised(memo, key, build)
    out = out.rename(name).copy(deep=True).assign_coords({TIME: xr.Variable(TIME, days, COORD_ATTRS[TIME])})
    return out.assign_attrs(source_dataset=name)
