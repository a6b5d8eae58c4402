"""Input features of the NN: the paper's indices and the feature tables (paper §2.1.5, §2.2.3).

Indices: :func:`mpdi` (eq. 1), :func:`bti` (σ40 min–max normalised per pixel), :func:`slope`
(degrees, metric spacing), :func:`nsdsi` (Yue et al. 2019) and :func:`composite_to_daily`
(16-/8-day MODIS composites forward-filled over their window).

:func:`stack_features` turns an input Dataset (one ``(time, lat, lon)`` variable per input,
e.g. from :func:`sm_nb.preprocess.build_inputs`) and a target into a :class:`FeatureTable`:
``X`` (sample, feature) built with ``stack(sample=("time", "lat", "lon"))`` so that labels
survive the model, ``y`` (sample), and a tidy table of how many samples each variable removed.
:meth:`FeatureTable.unstack` puts a prediction vector back on the full ``(time, lat, lon)`` cube.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .conventions import COORD_ATTRS, FEATURE, LAT, LON, SAMPLE, TIME, cf_attrs
from .exceptions import ConfigError, DataError
from .terrain import slope_aspect

__all__ = [
    "mpdi",
    "bti",
    "slope",
    "nsdsi",
    "nsdsi_kernel",
    "composite_to_daily",
    "FeatureTable",
    "stack_features",
]

_DIMS = (TIME, LAT, LON)


# ---------------------------------------------------------------------------------------------
# indices
# ---------------------------------------------------------------------------------------------
def _same_dims(a: xr.DataArray, b: xr.DataArray, what: str) -> None:
    if set(a.dims) != set(b.dims):
        raise DataError(f"{what}: inputs have dims {tuple(a.dims)} and {tuple(b.dims)}; expected the same dims")


def mpdi(tbv: xr.DataArray, tbh: xr.DataArray) -> xr.DataArray:
    """Microwave polarisation difference index (paper eq. 1).

    Parameters
    ----------
    tbv, tbh : DataArray (..., lat, lon), K
        V- and H-pol brightness temperature of the same channel, orbit and grid.

    Returns
    -------
    DataArray (..., lat, lon), 1

    Notes
    -----
    Paper §2.1.5, eq. (1): MPDI = (Tbv − Tbh) / (Tbv + Tbh) [28]. NaN where either is NaN.
    """
    _same_dims(tbv, tbh, "mpdi")
    for da, label in ((tbv, "tbv"), (tbh, "tbh")):
        if da.attrs.get("units", "K") != "K":
            raise DataError(f"mpdi: {label} has units {da.attrs['units']!r}; expected 'K'")
    out = (tbv - tbh) / (tbv + tbh)
    out.attrs = {"units": "1", "long_name": "microwave polarisation difference index (Tbv - Tbh)/(Tbv + Tbh)"}
    return out.rename("mpdi")


def bti(sigma40: xr.DataArray, dim: str = TIME) -> xr.DataArray:
    """Backscatter time index: σ40 min–max normalised per pixel over the study period.

    Parameters
    ----------
    sigma40 : DataArray (time, lat, lon), dB
    dim : str
        Dimension of the study period (``time``).

    Returns
    -------
    DataArray (time, lat, lon), 1, in [0, 1]; 0 and 1 are reached in every pixel with at
    least two distinct values, NaN where σ40 is NaN or the pixel's series is constant.

    Notes
    -----
    Paper §2.1.5 [29]: "the σ40 time series of each grid was renormalized to the range of
    [0 1]": BTI = (σ40 − min_t σ40) / (max_t σ40 − min_t σ40), NaN-aware.
    """
    if dim not in sigma40.dims:
        raise DataError(f"bti: dimension {dim!r} does not exist; expected one of {tuple(sigma40.dims)}")
    lo, hi = sigma40.min(dim), sigma40.max(dim)
    span = hi - lo
    out = (sigma40 - lo) / span.where(span > 0)
    out.attrs = {"units": "1", "long_name": "backscatter time index (sigma40 min-max normalised per pixel)"}
    return out.rename("bti")


def slope(elevation: xr.DataArray) -> xr.DataArray:
    """Terrain slope in degrees from a lat/lon DEM with metric spacing.

    Parameters
    ----------
    elevation : DataArray (lat, lon), m
        Ascending, uniformly spaced coordinates.

    Returns
    -------
    DataArray (lat, lon), degree

    Notes
    -----
    Paper §2.1.3 (SLOPE calculated from the DEM). Wraps
    :func:`sm_nb.terrain.slope_aspect`: Horn (1981) gradient with dx = R cos φ Δλ,
    dy = R Δφ (R = 6371 km), never degrees-as-metres.
    """
    if set(elevation.dims) != {LAT, LON}:
        raise DataError(f"slope: elevation has dims {tuple(elevation.dims)}; expected ('lat', 'lon')")
    z = elevation.transpose(LAT, LON)
    s, _ = slope_aspect(np.asarray(z.values), z[LAT].values, z[LON].values)
    return xr.DataArray(s, coords=z.coords, dims=(LAT, LON), name="slope", attrs=cf_attrs("slope"))


def nsdsi_kernel(b06: np.ndarray, b07: np.ndarray, variant: int = 1) -> np.ndarray:
    """NSDSI on numpy arrays (MODIS b06 1.64 µm, b07 2.13 µm); the kernel of :func:`nsdsi`.

    Parameters
    ----------
    b06, b07 : ndarray, 1
        Surface reflectances.
    variant : {1, 2, 3}
        NSDSI1 = (b6 − b7)/b6, NSDSI2 = (b6 − b7)/b7, NSDSI3 = (b6 − b7)/(b6 + b7).

    Returns
    -------
    ndarray float32, 1 (not finite where the denominator is 0).

    Notes
    -----
    Yue, J., Tian, J., Tian, Q., Xu, K., Xu, N. (2019): Development of soil moisture indices
    from differences in water absorption between shortwave-infrared bands. ISPRS J.
    Photogramm. Remote Sens. 154, 216–230 (formulas as in the ESA SNAP NSDSI1/2/3
    algorithm specifications). The paper (Lv et al. 2021) does not say which variant it
    used; NSDSI1 is the default [A]. On bare soil NSDSI1 rises with θ because b7 darkens
    faster than b6 (spec §5).
    """
    diff = b06 - b07
    with np.errstate(divide="ignore", invalid="ignore"):
        if variant == 1:
            out = diff / b06
        elif variant == 2:
            out = diff / b07
        elif variant == 3:
            out = diff / (b06 + b07)
        else:
            raise ConfigError(f"NSDSI variant is {variant!r}; expected 1, 2 or 3 (Yue et al. 2019)")
    return np.asarray(out, dtype=np.float32)


def nsdsi(b06: xr.DataArray, b07: xr.DataArray, variant: int = 1) -> xr.DataArray:
    """Normalised shortwave-infrared difference soil-moisture index from MODIS bands 6 and 7.

    Parameters
    ----------
    b06, b07 : DataArray (..., lat, lon), 1
        Surface reflectance at 1.64 µm and 2.13 µm (MOD09A1 bands 6 and 7).
    variant : {1, 2, 3}
        NSDSI1 = (b6 − b7)/b6 (default), NSDSI2 = (b6 − b7)/b7, NSDSI3 = (b6 − b7)/(b6 + b7).

    Returns
    -------
    DataArray (..., lat, lon), 1; NaN where b6 ≤ 0 or the index is not finite.

    Notes
    -----
    Yue, J., Tian, J., Tian, Q., Xu, K., Xu, N. (2019): Development of soil moisture indices
    from differences in water absorption between shortwave-infrared bands. ISPRS J. Photogramm.
    Remote Sens. 154, 216–230. The paper (§2.1.3, Table 2) does not say which variant it used;
    NSDSI1 is the default [A]. Wraps :func:`nsdsi_kernel`; lazy on dask.
    """
    if variant not in (1, 2, 3):
        raise ConfigError(f"NSDSI variant is {variant!r}; expected 1, 2 or 3 (Yue et al. 2019)")
    _same_dims(b06, b07, "nsdsi")

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = nsdsi_kernel(a, b, variant)
        return np.where((a > 0) & np.isfinite(out), out, np.nan).astype(np.float32)

    out = xr.apply_ufunc(kernel, b06, b07, dask="parallelized", output_dtypes=[np.float32])
    out.attrs = {"units": "1", "long_name": f"NSDSI{variant} (Yue et al. 2019) from MODIS bands 6 and 7"}
    return out.rename("nsdsi")


def composite_to_daily(da: xr.DataArray, days: pd.DatetimeIndex, window_days: int) -> xr.DataArray:
    """Forward-fill composites (time = window start) to the days their window covers.

    Parameters
    ----------
    da : DataArray (time, ...)
        Composites stamped with the first day of their window (MOD13A2: 16 d, MOD09A1: 8 d).
    days : DatetimeIndex
        Daily output axis.
    window_days : int
        Window length; a day gets composite c when start_c ≤ day < start_c + window_days.

    Returns
    -------
    DataArray (time, ...) on ``days``; NaN on days no window covers. Lazy on dask input.
    """
    starts = pd.DatetimeIndex(da[TIME].values)
    if not starts.is_monotonic_increasing:
        raise DataError(f"composite times of {da.name!r} are not increasing")
    days = pd.DatetimeIndex(days)
    idx = starts.searchsorted(days, side="right") - 1
    safe = np.clip(idx, 0, None)
    ok = (idx >= 0) & (days < starts[safe] + pd.Timedelta(days=int(window_days)))
    out = da.isel({TIME: safe}).assign_coords({TIME: days})
    out = out.where(xr.DataArray(ok, dims=TIME, coords={TIME: days}))
    out.attrs = {**da.attrs, "composite_window_days": int(window_days),
                 "cell_methods": "time: forward fill of composites (time stamp = window start)"}
    return out


@dataclass(frozen=True, repr=False)
class FeatureTable:
    """Samples of the NN: inputs ``X``, target ``y`` and where they came from.

    Attributes
    ----------
    X : DataArray (sample, feature)
        Inputs of every kept sample; ``sample`` is a (time, lat, lon) MultiIndex, ``feature``
        the input names, with the non-index coordinate ``feature_units``.
    y : DataArray (sample) or None
        Target (m3 m-3), ``None`` for a prediction-only table.
    names : tuple of str
        Feature names, in column order.
    counts : DataFrame
        One row per input (in order) then the target: ``role``, ``missing`` (samples where
        that variable is NaN; rows overlap), ``dropped`` (samples removed at that step when
        inputs are checked in order and the target last; these add up) and ``remaining``.
        ``counts.attrs`` holds ``candidates`` and ``kept``: candidates = kept + dropped.sum().
    template : Dataset
        Coordinates (time, lat, lon) of the full cube, for :meth:`unstack`.
    positions : ndarray of int64
        Flat (time, lat, lon) index of each kept sample in the full cube.
    """

    X: xr.DataArray
    y: xr.DataArray | None
    names: tuple[str, ...]
    counts: pd.DataFrame
    template: xr.Dataset
    positions: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.X.sizes[SAMPLE])

    @property
    def n_candidates(self) -> int:
        return int(self.counts.attrs["candidates"])

    @property
    def summary(self) -> dict[str, int]:
        """Candidates, samples dropped for missing inputs / target, and kept samples."""
        role = self.counts["role"]
        return {
            "candidates": self.n_candidates,
            "dropped_inputs": int(self.counts.loc[role == "input", "dropped"].sum()),
            "dropped_target": int(self.counts.loc[role == "target", "dropped"].sum()),
            "kept": self.n_samples,
        }

    def unstack(self, values: np.ndarray | xr.DataArray, name: str = "sm_nn",
                attrs: dict[str, Any] | None = None) -> xr.DataArray:
        """Put one value per sample back on the full (time, lat, lon) cube (NaN elsewhere).

        Parameters
        ----------
        values : ndarray (sample,) or DataArray (sample)
            E.g. NN predictions for ``X``, in sample order.
        name : str
            Name of the returned array.
        attrs : dict, optional
            Attributes; default the target's units (m3 m-3) and a long name.

        Returns
        -------
        DataArray (time, lat, lon)
        """
        v = np.asarray(values.values if isinstance(values, xr.DataArray) else values)
        if v.ndim != 1 or v.size != self.n_samples:
            raise DataError(f"unstack: values have shape {v.shape}; expected ({self.n_samples},), one value per sample")
        shape = tuple(self.template.sizes[d] for d in _DIMS)
        full = np.full(int(np.prod(shape)), np.nan, dtype=np.result_type(v.dtype, np.float32))
        full[self.positions] = v
        default = {"units": self.y.attrs.get("units", "m3 m-3") if self.y is not None else "1",
                   "long_name": "NN estimate"}
        return xr.DataArray(full.reshape(shape), coords=self.template.coords, dims=_DIMS, name=name,
                            attrs=attrs if attrs is not None else default)

    def __repr__(self) -> str:
        s = self.summary
        tgt = self.y.name if self.y is not None else None
        return (
            f"<FeatureTable {s['kept']} samples × {len(self.names)} features {list(self.names)}, target {tgt!r}; "
            f"{s['candidates']} candidates, {s['dropped_inputs']} dropped for inputs, "
            f"{s['dropped_target']} for the target>"
        )


def _check_grid(target: xr.DataArray, inputs: xr.Dataset) -> xr.DataArray:
    if set(target.dims) != set(_DIMS):
        raise DataError(f"target {target.name!r} has dims {tuple(target.dims)}; expected {_DIMS}")
    for d in (LAT, LON):
        a, b = np.asarray(target[d].values, float), np.asarray(inputs[d].values, float)
        if a.shape != b.shape or not np.allclose(a, b, atol=1e-6):
            raise DataError(
                f"target {target.name!r} is on a {target.sizes[LAT]} × {target.sizes[LON]} grid and the inputs on a "
                f"{inputs.sizes[LAT]} × {inputs.sizes[LON]} grid ({d} differs); regrid the target to the inputs' grid"
            )
    target = target.assign_coords({LAT: inputs[LAT], LON: inputs[LON]})
    times = pd.DatetimeIndex(inputs[TIME].values)
    missing = times.difference(pd.DatetimeIndex(target[TIME].values))
    if len(missing):
        raise DataError(f"target {target.name!r} lacks {len(missing)} of the inputs' days (first {missing[0].date()})")
    return target.sel({TIME: times}).transpose(*_DIMS)


def stack_features(inputs: xr.Dataset, target: xr.DataArray | None = None,
                   names: Iterable[str] | None = None) -> FeatureTable:
    """Stack inputs (and target) to ``(sample, feature)``, dropping samples with any NaN.

    Parameters
    ----------
    inputs : Dataset
        Variables with dims (time, lat, lon) on one grid.
    target : DataArray (time, lat, lon), optional
        On the same grid; its days must include the inputs' days.
    names : list of str, optional
        Variables to use, in column order (default: all data variables).

    Returns
    -------
    FeatureTable

    Raises
    ------
    DataError
        A variable without dims (time, lat, lon); a target on another grid; or no sample
        where every input (and the target) is valid — the message names the inputs.
    """
    names = tuple(inputs.data_vars) if names is None else tuple(names)
    absent = [n for n in names if n not in inputs]
    if absent:
        raise DataError(f"inputs lack variable(s) {absent}; they have {sorted(inputs.data_vars)}")
    for n in names:
        if set(inputs[n].dims) != set(_DIMS):
            raise DataError(f"input {n!r} has dims {tuple(inputs[n].dims)}; expected {_DIMS}")
    if target is not None:
        target = _check_grid(target, inputs)
    cube = inputs[list(names)].transpose(*_DIMS)
    cols = [np.asarray(cube[n].values).reshape(-1) for n in names]
    valid = np.stack([np.isfinite(c) for c in cols])
    rows, remaining = [], np.ones(valid.shape[1], dtype=bool)
    checks = list(zip(names, valid, ["input"] * len(names), strict=True))
    yv = None
    if target is not None:
        yv = np.asarray(target.values).reshape(-1)
        checks.append((str(target.name), np.isfinite(yv), "target"))
    for n, ok, role in checks:
        dropped = int(np.count_nonzero(remaining & ~ok))
        remaining &= ok
        rows.append({"variable": n, "role": role, "missing": int(np.count_nonzero(~ok)),
                     "dropped": dropped, "remaining": int(np.count_nonzero(remaining))})
    counts = pd.DataFrame(rows).set_index("variable")
    counts.attrs = {"candidates": int(remaining.size), "kept": int(np.count_nonzero(remaining))}
    if not remaining.any():
        what = f"inputs {list(names)}" + (f" and target {target.name!r}" if target is not None else "")
        raise DataError(
            f"no sample has all of the {what} valid on the same day and cell; samples missing per variable: "
            f"{counts['missing'].to_dict()} of {remaining.size}"
        )
    positions = np.flatnonzero(remaining)
    X = cube.to_dataarray(FEATURE).stack({SAMPLE: _DIMS}).transpose(SAMPLE, FEATURE).isel({SAMPLE: positions})
    X = X.assign_coords(feature_units=(FEATURE, [str(inputs[n].attrs.get("units", "")) for n in names]))
    X.name = "X"
    X.attrs = {**inputs.attrs, "long_name": "NN input features"}
    y = None
    if target is not None and yv is not None:
        y = xr.DataArray(yv[positions], coords=X[SAMPLE].coords, dims=SAMPLE, name=target.name, attrs=dict(target.attrs))
    template = xr.Dataset(coords={d: xr.Variable(d, cube[d].values, {**COORD_ATTRS[d], **cube[d].attrs}) for d in _DIMS})
    return FeatureTable(X=X, y=y, names=names, counts=counts, template=template, positions=positions)
