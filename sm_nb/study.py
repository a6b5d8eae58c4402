"""The one owner of data access: :class:`Study` holds the configuration, the scenario seed and the catalog.

Everything else in sm_nb is xarray in, xarray out: preprocessing takes product Datasets, the
selection experiments take an input Dataset and a target DataArray, downscaling takes a trained
result and fine-grid inputs, triple collocation and validation take DataArrays. A ``Study``
opens the catalog entries, knows the study area (coarse grid, fine grid, days), builds the
input cubes, gives the CLDAS target and the soil-moisture products of triple collocation,
trains input combinations and downscales — memoising per instance and caching experiments on
disk under a fingerprint of everything that determines the numbers (:mod:`sm_nb.fingerprint`)::

    study = sm_nb.Study("demo", seed=0)                       # the embedded synthetic scenario
    study = sm_nb.Study("demo", catalog="my/data_catalog.yaml")  # real files, same code
    result = study.train(["SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A"])
    fine = study.downscale(result)

``seed`` is the scenario realisation (which synthetic world); ``random_state`` — a parameter of
:meth:`Study.train`, defaulting to ``seed`` — initialises the network and draws its samples and
folds. Changing one never changes the other.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

from . import downscale as _downscale
from . import gapfill, preprocess, product, selection
from .area import StudyArea
from .catalog import Catalog, load_catalog
from .combinations import as_combination, resolve_combination
from .config import ScenarioConfig, check_seed, get_config
from .conventions import TIME
from .exceptions import CatalogError, ConfigError
from .experiments import (
    ExperimentResult,
    cached_result,
    experiment_dir,
    experiment_key,
    result_maps,
    results_table,
    store_result,
)
from .fingerprint import code_hash, digest, file_stamps
from .grids import grid_for

__all__ = ["Study", "TARGET", "SM_PRODUCTS"]

#: the network's target (paper §2.1.2): CLDAS soil moisture aggregated to the coarse grid
TARGET = "cldas_sm"
#: label → catalog entry of the retrieved SM products compared in triple collocation (§2.2.4)
SM_PRODUCTS = {"FY3C": "fy3c_sm", "SMAP": "smap_sm", "AMSR2": "amsr2_sm"}
_SCENARIO_MODULE = "sm_nb.scenario.generate"


class _Products(Mapping):
    """The study's catalog as a lazy mapping name → Dataset, with a content fingerprint per entry."""

    def __init__(self, study: Study) -> None:
        self._study = study

    def __getitem__(self, name: str) -> xr.Dataset:
        if name not in self._study.catalog:
            raise KeyError(name)
        return self._study.open(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._study.catalog.names)

    def __len__(self) -> int:
        return len(self._study.catalog.names)

    def fingerprint(self, name: str) -> str:
        return self._study.fingerprint(name)


class Study:
    """Config, scenario seed and catalog of one analysis, and the method run on them.

    Parameters
    ----------
    config : str or ScenarioConfig
        ``"mini"``, ``"demo"`` (default) or ``"full"``: the study area, grids and days (and, for
        synthetic entries, the scenario).
    seed : int
        Scenario realisation of the synthetic entries (non-negative).
    catalog : path, Catalog or None
        ``None``: ``$SM_NB_CACHE``-independent default — ``$SM_NB_CATALOG`` if set, else the
        shipped ``data_catalog.yaml``.
    progress : bool
        Progress bars while the scenario is generated and networks are trained.

    Raises
    ------
    SmNbError
        ``ConfigError`` for an unknown config or a bad seed, ``CatalogError`` for a catalog
        file that is missing or invalid (both name it).
    """

    def __init__(self, config: str | ScenarioConfig = "demo", seed: int = 0,
                 catalog: str | Path | Catalog | None = None, *, progress: bool = True) -> None:
        self.config = get_config(config)
        self.seed = check_seed(seed)
        if catalog is not None and not isinstance(catalog, Catalog | str | Path):
            raise CatalogError(f"catalog is a {type(catalog).__name__}; expected a path, a Catalog or None")
        self.catalog = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
        self.area = StudyArea.from_config(self.config)
        self.progress = bool(progress)
        self._lock = threading.RLock()
        self._opened: dict[tuple[str, str], xr.Dataset] = {}
        self._memo: dict[tuple, xr.DataArray] = {}
        self._results: dict[str, ExperimentResult] = {}

    # ---- data access ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        sources = sorted({e.source for e in self.catalog.entries.values()})
        return (f"<Study config={self.config.name!r} seed={self.seed} catalog={str(self.catalog.path)!r} "
                f"({len(self.catalog.entries)} entries: {'/'.join(sources)}); coarse "
                f"{self.area.coarse.lat.size}×{self.area.coarse.lon.size}, fine "
                f"{self.area.fine.lat.size}×{self.area.fine.lon.size}, {len(self.area.days)} days "
                f"{self.area.days[0].date()}…{self.area.days[-1].date()}; {len(self._results)} trained>")

    @property
    def days(self) -> pd.DatetimeIndex:
        """The analysed days."""
        return self.area.days

    @property
    def products(self) -> _Products:
        """The catalog as a lazy mapping name → Dataset (what :func:`sm_nb.preprocess.build_inputs` takes)."""
        return _Products(self)

    def entry_fingerprint(self, name: str) -> dict[str, Any]:
        """What determines the content of catalog entry ``name``.

        Synthetic entries: config key, scenario seed and a hash of the scenario code; file
        entries: reader, arguments and each matched file's path, size and modification time
        (plus the config key, which sets the domain, grid and days the reader is asked for).
        """
        entry = self.catalog[name]
        base = {"entry": name, "source": entry.source, "reader": entry.reader, "args": entry.args,
                "config": self.config.name, "config_key": self.config.key}
        if entry.source == "synthetic":
            return {**base, "seed": self.seed, "scenario_code": code_hash(_SCENARIO_MODULE)}
        files = entry.files(self.catalog.path.parent)
        if not files:
            raise CatalogError(f"catalog entry {name!r} key 'path': {entry.path!r} matches no file "
                               f"(relative paths are resolved against {self.catalog.path.parent})")
        return {**base, "path": entry.path, "files": file_stamps(files)}

    def fingerprint(self, *names: str) -> str:
        """Digest of :meth:`entry_fingerprint` of the given entries (all entries if none given)."""
        names = names or tuple(self.catalog.names)
        return digest([self.entry_fingerprint(n) for n in sorted(set(names))])

    def open(self, name: str) -> xr.Dataset:
        """Open catalog entry ``name`` (memoised while its fingerprint is unchanged)."""
        key = (name, self.fingerprint(name))
        with self._lock:
            if key not in self._opened:
                self._opened = {k: v for k, v in self._opened.items() if k[0] != name}
                self._opened[key] = self.catalog.open(name, config=self.config, seed=self.seed)
            return self._opened[key]

    # ---- inputs and targets ------------------------------------------------------------------------
    def inputs(self, names: str | Iterable[str], grid: str = "coarse", **options: Any) -> xr.Dataset:
        """The NN inputs on the coarse or fine grid (:func:`sm_nb.preprocess.build_inputs`).

        ``options``: ``min_valid_fraction``, ``flag_mask``, ``nsdsi_variant``, ``slope_source``.
        """
        with self._lock:
            return preprocess.build_inputs(names, self.products, self.area, grid, memo=self._memo, **options)

    def target(self, name: str = TARGET, min_valid_fraction: float = 0.5) -> xr.DataArray:
        """A gridded SM product on the coarse grid (default CLDAS, the network's target, §2.1.2), m3 m-3."""
        if name not in preprocess.TARGETS:
            raise ConfigError(f"target {name!r} unknown; expected one of {sorted(preprocess.TARGETS)}")
        dataset, variable = preprocess.TARGETS[name]
        with self._lock:
            return preprocess.build_target(self.open(dataset), self.area, name=name, variable=variable,
                                           min_valid_fraction=min_valid_fraction, memo=self._memo,
                                           token=self.fingerprint(dataset))

    def truth(self, grid: str = "coarse") -> xr.DataArray:
        """The synthetic truth (0–5 cm, m3 m-3): the coarse-cell mean named ``truth``, or the fine field.

        Only for scoring: no method of sm_nb chooses anything with it.
        """
        if grid == "fine":
            return self.open("truth_sm")["sm"]
        t = self.target("truth_sm").astype(np.float64)
        return t.rename("truth").assign_attrs(units="m3 m-3", long_name="true soil moisture, coarse-cell mean")

    def sm_products(self, nn: xr.DataArray | None = None) -> dict[str, xr.DataArray]:
        """Every SM product of the catalog on the coarse grid, named for triple collocation (§2.2.4).

        Returns
        -------
        dict
            ``"NN"`` (if given), ``"FY3C_asc"``, ``"FY3C_desc"``, ``"SMAP_asc"``, ``"SMAP_desc"``,
            ``"AMSR2_asc"``, ``"AMSR2_desc"``, ``"CLDAS"``, ``"GEOS5"`` → (time, lat, lon) m3 m-3
            float64, each regridded with the paper's method (:data:`sm_nb.resample.REGRID_METHOD`:
            FY3C IDW, SMAP and AMSR2 bilinear, CLDAS area mean, GEOS-5 identity), loaded.
        """
        out: dict[str, xr.DataArray] = {}
        if nn is not None:
            out["NN"] = nn
        with self._lock:
            for label, name in SM_PRODUCTS.items():
                for orbit in ("asc", "desc"):
                    out[f"{label}_{orbit}"] = preprocess.build_target(
                        self.open(name), self.area, name=name, variable=f"sm_{orbit}", memo=self._memo,
                        token=(self.fingerprint(name), orbit))
        out["CLDAS"] = self.target("cldas_sm")
        out["GEOS5"] = self.target("geos5_sm")
        times = out["CLDAS"][TIME]
        for k, v in out.items():
            v = v.reindex({TIME: times.values}).assign_coords({TIME: times}).astype(np.float64).load()
            out[k] = v.rename(k).assign_attrs(units="m3 m-3", long_name=f"{k} soil moisture on the coarse grid")
        return out

    # ---- training ------------------------------------------------------------------------------
    def _spec(self, canonical: Sequence[str], params: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        datasets = {preprocess.INPUTS[c].dataset for c in canonical} | {preprocess.TARGETS[TARGET][0]}
        opts = {"min_valid_fraction": 0.5, "flag_mask": 0, "nsdsi_variant": 1, "slope_source": "dataset", **options}
        return {"inputs": list(canonical), "target": TARGET, "data": self.fingerprint(*datasets),
                "days": [str(self.days[0]), str(self.days[-1]), len(self.days)], **params, "preprocess": opts}

    def train(self, inputs: str | Sequence[str], *, random_state: int | None = None, hidden_units: int = 10,
              n_restarts: int = 4, max_train_samples: int | None = 20000, cv_folds: int = 3, cache: bool = True,
              progress: bool = False, **options: Any) -> ExperimentResult:
        """Train and score one input combination (:func:`sm_nb.selection.train_combination`).

        Parameters
        ----------
        inputs : str or list of str
            Input names as a set (any order, aliases allowed; a string is one name or names
            joined with ``+``); the network sees them in sm_nb's registry order.
        random_state : int, optional
            Network initialisation, training subsample and folds; default the scenario ``seed``.
        hidden_units, n_restarts, max_train_samples, cv_folds
            As for :func:`sm_nb.selection.train_combination`.
        cache : bool
            Load from / store in the experiment store, keyed by the fingerprint of the data and
            every setting (:meth:`entry_fingerprint`, :func:`sm_nb.experiments.experiment_key`).
        **options
            Preprocessing options of :meth:`inputs` (and ``min_valid_fraction`` of the target).

        Returns
        -------
        ExperimentResult
            With ``.prediction``, ``.quality``, ``.model``.
        """
        requested, canonical = resolve_combination(inputs)
        params = selection.params_of(hidden_units, n_restarts, max_train_samples, cv_folds,
                                     self.seed if random_state is None else random_state)
        spec = self._spec(canonical, params, options)
        key = experiment_key(spec)
        prov = {"config": self.config.name, "config_key": self.config.key, "seed": self.seed,
                "catalog": str(self.catalog.path), "fingerprint": key}
        path = experiment_dir(f"{self.config.name}-seed{self.seed}", key, len(canonical))
        hit = self._results.get(key)
        if hit is not None:
            if cache and not hit.path:
                store_result(path, hit, spec)
                hit.path = str(path)
            return dataclasses.replace(hit, inputs=tuple(requested))  # the caller's spellings
        hit = cached_result(path, requested, params, prov) if cache else None
        if hit is None:
            cube = self.inputs(requested, **options)
            target = self.target(min_valid_fraction=options.get("min_valid_fraction", 0.5))
            hit = selection.train_combination(cube, target, progress=progress, provenance=prov,
                                              **params)
            if cache:
                store_result(path, hit, spec)
                hit.path = str(path)
        with self._lock:
            self._results[key] = hit
        return hit

    def train_many(self, combinations: Iterable[str | Sequence[str]], *, parallel: bool = False,
                   progress: bool = True, n_workers: int | None = None, **kwargs: Any) -> list[ExperimentResult]:
        """:meth:`train` for each combination, in order; ``parallel`` trains on dask threads (same numbers)."""
        combos = [as_combination(c) for c in combinations]
        if not combos:
            raise ConfigError("combinations is empty; expected one or more lists of input names")
        for c in combos:  # every name checked before any training
            resolve_combination(c)
        selection.params_of(**{k: v for k, v in kwargs.items() if k in (
            "hidden_units", "n_restarts", "max_train_samples", "cv_folds", "random_state") and v is not None})
        options = {k: v for k, v in kwargs.items() if k in ("min_valid_fraction", "flag_mask", "nsdsi_variant",
                                                              "slope_source")}
        union = list(dict.fromkeys(n for c in combos for n in resolve_combination(c)[1]))
        self.inputs(union, **options)  # read and regrid every input once, before any thread starts
        self.target(min_valid_fraction=options.get("min_valid_fraction", 0.5))
        kwargs = {**kwargs, "progress": False}
        return selection.run_many([lambda c=c: self.train(c, **kwargs) for c in combos],
                                  parallel=parallel, progress=progress, n_workers=n_workers)

    def evaluate(self, combinations: Iterable[str | Sequence[str]], **kwargs: Any) -> pd.DataFrame:
        """One tidy row per combination (paper Tables 3–5): :func:`sm_nb.selection.results_table` of :meth:`train_many`."""
        return results_table(self.train_many(combinations, **kwargs))

    def result_maps(self, result: ExperimentResult, input_name: str | None = None) -> dict[str, xr.DataArray]:
        """The maps of Figures 4–6 (:func:`sm_nb.experiments.result_maps`), with the input's mean if named."""
        field_ = None
        if input_name is not None:
            ds = self.inputs([input_name])
            field_ = ds[next(iter(ds.data_vars))]
        return result_maps(result, field_)

    def land(self, grid: str = "coarse", max_water_fraction: float = 0.5) -> xr.DataArray:
        """Cells that are land (open-water fraction below ``max_water_fraction``): (lat, lon) bool."""
        water = self.open("land_cover")["water_fraction"].astype(np.float64)
        if grid == "coarse":
            from .resample import area_mean

            water = area_mean(water, self.area.coarse, min_valid_fraction=0.0)
        elif grid != "fine":
            raise ConfigError(f"grid is {grid!r}; expected 'coarse' or 'fine'")
        out = (water < max_water_fraction).load()
        out.attrs = {"long_name": f"land (open-water fraction < {max_water_fraction:g})", "units": "1"}
        return out.rename("land")

    # ---- the gap-filled product (beyond the paper) -----------------------------------------------
    def gap_filled(self, inputs: str | Sequence[str] | None = None, window_days: int = 3, *,
                   parallel: bool = True, **train_kwargs: Any) -> product.GapFilled:
        """The daily coarse product without holes (:func:`sm_nb.product.gap_filled_coarse`).

        Trains (or loads) the family of :func:`sm_nb.gapfill.family` with :meth:`train`'s
        settings, fills the gappy inputs from the nearest day within ± ``window_days``, ranks
        every candidate against CLDAS and gives each land cell-day the best one's value.
        """
        inputs = inputs or selection.FINAL_INPUTS
        requested, _ = resolve_combination(inputs)
        fam = gapfill.family(requested)
        results = self.train_many(list(fam.values()), parallel=parallel, progress=False, **train_kwargs)
        options = {k: v for k, v in train_kwargs.items() if k in ("min_valid_fraction", "flag_mask",
                                                                    "nsdsi_variant", "slope_source")}
        observed = self.inputs(requested, **options)
        return product.gap_filled_coarse(dict(zip(fam, results, strict=True)), observed, self.target(),
                                         window_days, mask=self.land("coarse"))

    def fine_variants(self, filled: product.GapFilled, paper: xr.DataArray | None = None,
                      window_days: int = 3, random_state: int | None = None, which: Sequence[str] | None = None,
                      load: bool | None = None) -> dict[str, product.Variant]:
        """The fine products of :data:`sm_nb.product.VARIANTS` from a gap-filled coarse product.

        ``paper``: the paper's downscaled field (:meth:`downscale`), added unchanged. The
        CLDAS-referenced variants are shrunk against CLDAS at 0.0625°; the cross-scale variant (when
        a proxy is among the inputs) is fitted on the coarse NN; the recommendation is
        :func:`sm_nb.product.choose_without_truth` (never the truth).

        Parameters
        ----------
        which : list of str, optional
            The variants to make (default: every one of :data:`sm_nb.product.VARIANTS` but
            ``paper``, which comes from ``paper``).
        load : bool, optional
            Compute the variants now, together (their common inputs once), and keep them in
            memory as float32; default: when they fit in :data:`sm_nb.product.IN_MEMORY_BYTES`
            (demo: yes; ``full``: no, they stay lazy and are computed block of days by block).
        """
        names_all = [k for k in product.VARIANTS if k != "paper"]
        which = names_all if which is None else list(which)
        unknown = [w for w in which if w not in names_all]
        if unknown:
            raise ConfigError(f"variants {unknown} unknown; expected some of {names_all}")
        network = filled.results["all inputs"]
        names = list(network.inputs)
        fine_obs = self.inputs(names, "fine")
        fine_in = product.keep_in_memory(product.fine_filled_inputs(fine_obs, filled.filled, window_days),
                                         product.FILLED_AUXILIARIES)
        coarse, fine = self.area.coarse, self.area.grid("fine")
        land = self.land("fine")
        out: dict[str, product.Variant] = {}
        if paper is not None:
            out["paper"] = product.Variant("paper", paper, product.VARIANTS["paper"])
        from .detail import compose

        if "bilinear" in which:
            out["bilinear"] = product.Variant("bilinear", compose(filled.sm, fine, coarse=coarse).where(land),
                                              product.VARIANTS["bilinear"], {"alpha": 0.0, "heldout_skill": 0.0})
        if "scaled" in which or "within-cell" in which:
            cldas = self.open("cldas_sm")["sm"].sel({TIME: self.days}).astype(np.float64)
            mid = grid_for(cldas, "cldas")
            mid_in = product.mid_grid_inputs(fine_in, filled.filled, mid)
        if "scaled" in which:
            v = product.scaled_anomaly_variant(network, fine_in, mid_in, cldas, filled.sm, coarse, fine)
            out["scaled"] = product.Variant(v.name, v.sm.where(land), v.description, v.selection)
        if "within-cell" in which:
            aux = [n for n in names if not n.upper().startswith(("SMAP", "AMSR2", "FY3C", "ASCAT"))]
            rs = self.seed if random_state is None else random_state
            v = product.within_cell_variant(fine_in, mid_in, cldas, filled.sm, coarse, fine, aux, random_state=rs)
            out["within-cell"] = product.Variant(v.name, v.sm.where(land), v.description, v.selection)
        if "cross-scale" in which and "cross-scale" in product.candidates(names):
            v = product.cross_scale_variant(fine_in, filled.sm, coarse, fine)
            out["cross-scale"] = product.Variant(v.name, v.sm.where(land), v.description, v.selection)
        made = [k for k in out if k != "paper"]
        if load is None:
            load = sum(4 * out[k].sm.size for k in made) <= product.IN_MEMORY_BYTES
        if load and made:
            values = dask.compute(*[out[k].sm.astype(np.float32) for k in made])
            for k, v in zip(made, values, strict=True):
                out[k].sm = v
        return out

    def product(self, variant: str = "recommended", output: str | Path | None = None, progress: bool = False,
                window_days: int = 3, random_state: int | None = None, **train_kwargs: Any
                ) -> tuple[xr.Dataset, pd.DataFrame]:
        """The 1 km product of one variant with its provenance (``sm-nb downscale --variant``).

        Parameters
        ----------
        variant : str
            ``"recommended"`` (the truth-free choice of :func:`sm_nb.product.choose_without_truth`)
            or a key of :data:`sm_nb.product.VARIANTS`.
        output : path, optional
            Zarr store written atomically, block of days after block of days.

        Only the variants the recommendation chooses among (:func:`sm_nb.product.candidates`)
        and ``variant`` are made.

        Returns
        -------
        (Dataset, DataFrame)
            ``sm`` (time, lat, lon) m3 m-3, ``provenance`` (the coarse cell-day's code, CF flags;
            for ``paper`` 0 where all inputs were observed), ``coverage`` (time, share of land
            pixels with a value); and the selection table.
        """
        if variant != "recommended" and variant not in product.VARIANTS:
            raise ConfigError(f"variant {variant!r} unknown; expected 'recommended' or one of {list(product.VARIANTS)}")
        kw = {"random_state": random_state, **train_kwargs}
        filled = self.gap_filled(window_days=window_days, **kw)
        paper = None
        if variant == "paper":
            paper = self.downscale(filled.results["all inputs"])["sm"]
        which = product.candidates(list(filled.results["all inputs"].inputs))
        which += [variant] if variant not in (*which, "recommended", "paper") else []
        variants = self.fine_variants(filled, paper=paper, window_days=window_days, random_state=random_state,
                                      which=which)
        choice = product.choose_without_truth([v for k, v in variants.items() if k != "paper"])
        name = str(choice.index[choice["recommended"]][0]) if variant == "recommended" else variant
        if name not in variants:
            raise ConfigError(f"variant {name!r} needs one of the proxies of sm_nb.crossscale.DESIGNS (NSDSI, NDVI, "
                              f"LST) among the network's inputs {list(filled.results['all inputs'].inputs)}")
        fine = self.area.grid("fine")
        land = self.land("fine")
        sm = variants[name].sm.astype(np.float32).chunk({TIME: self.area.time_chunk, "lat": -1, "lon": -1})
        if name == "paper":
            prov = xr.where(sm.notnull(), np.int8(0), np.int8(-1)).assign_attrs(
                flag_values=np.array([0], np.int8), flag_meanings="all_inputs_observed", units="1")
        else:
            from .resample import replicate

            # replication copies values: codes stay exact; lazy, so no fine cube rides in every write's graph
            codes = filled.provenance.astype(np.float32).chunk({TIME: self.area.time_chunk})
            prov = replicate(codes, fine).transpose(*sm.dims).where(land, -1).astype(np.int8)
            prov.attrs = dict(filled.provenance.attrs)
        coverage = (sm.notnull() & land).sum(("lat", "lon")) / float(land.sum())
        ds = xr.Dataset({"sm": sm, "provenance": prov.chunk({TIME: self.area.time_chunk, "lat": -1, "lon": -1}),
                         "coverage": coverage.astype(np.float32).assign_attrs(
                             units="1", long_name="share of land pixels with a value")})
        ds.attrs = {"title": f"sm_nb 1 km soil moisture, variant {name!r}", "variant": name,
                    "variant_description": product.VARIANTS[name], "config": self.config.name, "seed": self.seed,
                    "catalog": str(self.catalog.path), "Conventions": "CF-1.10",
                    "recommended_without_truth": str(choice.index[choice["recommended"]][0])}
        if output is not None:
            ds = _downscale.write_store(ds, Path(output), progress)
        return ds, choice

    # ---- downscaling ---------------------------------------------------------------------------
    def downscale(self, result: ExperimentResult, output: str | Path | None = None, time: Any = None,
                  chunks: Mapping[str, int] | None = None, progress: bool = False, **options: Any) -> xr.Dataset:
        """The trained network applied to the fine-grid inputs (:func:`sm_nb.downscale.downscale`, §2.2.3).

        ``options`` are the preprocessing options the network was trained with.
        """
        fine = self.inputs(list(result.inputs), "fine", **options)
        ds = _downscale.downscale(result, fine, output=output, time=time, chunks=chunks, progress=progress,
                                  time_chunk=self.area.time_chunk,
                                  attrs={"config": self.config.name, "config_key": self.config.key,
                                         "seed": self.seed, "catalog": str(self.catalog.path),
                                         "data_fingerprint": self.fingerprint(*{
                                             preprocess.INPUTS[c].dataset for c in resolve_combination(result.inputs)[1]})})
        return ds
