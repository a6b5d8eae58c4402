"""Triple collocation (TC): error variance and correlation with the unknown truth (paper §2.2.1, §3.3).

:func:`triple_collocation` runs classical and extended TC (McColl et al. 2014) at every place of a
grid at once (NaN-aware moments over a named dim in a numpy kernel over blocks of places, run by
``dask.array.apply_gufunc`` on dask input), with optional bootstrap intervals.
:func:`actual_errors` and :func:`error_cross_correlation` measure the same quantities against a
*known* truth, so TC can be scored; :func:`tc_summary` is the box-plot table of the paper's Fig. 8.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from functools import reduce
from itertools import compress
from typing import Any

import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr

from ._version import __version__
from .conventions import PRODUCT
from .exceptions import ConfigError, DataError

__all__ = ["triple_collocation", "actual_errors", "error_cross_correlation", "tc_summary",
           "CI_QUANTILES", "MIN_N"]

#: quantiles of the bootstrap percentile interval (a 95 % interval)
CI_QUANTILES: tuple[float, float] = (0.025, 0.975)
#: default floor of complete triplets per place (Zwieback et al. 2012 advise >= 100 for accurate TC)
MIN_N = 30
_BLOCK = 2**17  # elements per (time, place) work array of the kernel: 1 MB of float64 (2**16 and
#                 2**18 were slower on benchmarks/bench_tc.py: cache vs long rows for einsum and reads)
_PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))  # moments: xx, yy, zz, xy, xz, yz
_F = {"var": slice(6, 9), "n": 9, "min_r": 10, "mask": 11}  # packed kernel output; 0-5 err_var, rho
_REF = "McColl et al. (2014) GRL 41:6229; Lv et al. (2021) Remote Sens. 13:1583, eq. 2-3"


# ----------------------------------------------------------------------------- input checks
def _check_params(min_corr: float, min_n: int, n_boot: int) -> None:
    if isinstance(min_corr, bool) or not isinstance(min_corr, numbers.Real) or not -1 <= min_corr <= 1:
        raise ConfigError(f"min_corr is {min_corr!r}; expected a number in [-1, 1]")
    for key, value, low in (("min_n", min_n, 3), ("n_boot", n_boot, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ConfigError(f"{key} is {value!r}; expected an integer >= {low}")


def _names(arrays: Sequence[Any]) -> list[str]:
    names = [getattr(a, "name", None) for a in arrays]
    for i, (a, name) in enumerate(zip(arrays, names, strict=True)):
        if not isinstance(a, xr.DataArray):
            raise DataError(f"product #{i} is a {type(a).__name__}; expected an xarray.DataArray")
        if not isinstance(name, str) or not name:
            raise DataError(f"product #{i} has name {name!r}; expected a non-empty str (it labels the "
                            f"{PRODUCT!r} dim), e.g. da.rename('fy3c')")
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise DataError(f"product names {names} repeat {dupes}; expected distinct names")
    return names


def _prepare(arrays: Sequence[xr.DataArray], names: Sequence[str],
             dim: str) -> tuple[list[xr.DataArray], dict[str, xr.DataArray]]:
    """Check that ``arrays`` share one grid, inner-join them on ``dim``, give them ``arrays[0]``'s
    dim order; return them and ``arrays[0]``'s coords of the places. Never modifies the inputs."""
    for a, name in zip(arrays, names, strict=True):
        if dim not in a.dims:
            raise DataError(f"dimension {dim!r} does not exist in {name!r}; expected one of {tuple(a.dims)}")
        if a.dtype.kind not in "iuf":
            raise DataError(f"{name!r} has dtype {a.dtype}; expected real numbers")
    ref, rname = arrays[0], names[0]
    places = [d for d in ref.dims if d != dim]
    for a, name in zip(arrays[1:], names[1:], strict=True):
        if set(a.dims) != set(ref.dims):
            raise DataError(f"grids differ: {name!r} has dims {tuple(a.dims)}, {rname!r} has {tuple(ref.dims)}")
        for d in places:
            if a.sizes[d] != ref.sizes[d] or (d in a.indexes) != (d in ref.indexes):
                raise DataError(f"grids differ: dim {d!r} has {a.sizes[d]} values in {name!r}, "
                                f"{ref.sizes[d]} in {rname!r}, a coordinate in {d in a.indexes} and {d in ref.indexes}")
            if d not in a.indexes or a.indexes[d].equals(ref.indexes[d]):
                continue
            va, vr = a.indexes[d].values, ref.indexes[d].values  # floats within 1e-9 count as equal
            bad = ~np.isclose(va, vr, rtol=0, atol=1e-9) if va.dtype.kind == vr.dtype.kind == "f" else va != vr
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(f"grids differ: coordinate {d!r} of {name!r} differs from {rname!r} "
                                f"(first at index {i}: {va[i]!r} vs {vr[i]!r})")
    indexed = [dim in a.indexes for a in arrays]
    if all(indexed) and not all(a.indexes[dim].equals(ref.indexes[dim]) for a in arrays[1:]):
        aligned = xr.align(*arrays, join="inner", exclude=places)
        if aligned[0].sizes[dim] == 0:
            spans = "; ".join(f"{n!r} {a[dim].values.min()} .. {a[dim].values.max()}" if a.sizes[dim]
                              else f"{n!r} empty" for a, n in zip(arrays, names, strict=True))
            raise DataError(f"no overlapping {dim!r} values: {spans}")
        arrays = aligned
    elif not all(indexed) and (any(indexed) or len({a.sizes[dim] for a in arrays}) > 1):
        raise DataError(f"cannot align {dim!r}: it has a coordinate in {list(compress(names, indexed))} "
                        f"of {list(names)} and lengths {[a.sizes[dim] for a in arrays]}; expected a "
                        "coordinate in all, or none and equal lengths")
    coords = {c: v.variable for c, v in ref.coords.items()  # on the places; scalars are per input
              if v.dims and set(v.dims) <= set(places) and c not in (PRODUCT, "quantile", "pair")}
    return [a if a.dims == ref.dims else a.transpose(*ref.dims) for a in arrays], coords


def _squared_units(arrays: Sequence[xr.DataArray], names: Sequence[str]) -> dict[str, str]:
    """``{"units": ...}`` of the inputs' common units squared, UDUNITS-style (``m3 m-3`` → ``m6 m-6``)."""
    units = [a.attrs.get("units") for a in arrays]
    if len(set(units)) > 1:
        raise DataError(f"units differ: {dict(zip(names, units, strict=True))}; expected one unit")
    if (u := units[0]) is None or u == "1" or not re.fullmatch(r"[A-Za-z%]+(-?\d+)?( [A-Za-z%]+(-?\d+)?)*", u):
        return {} if u is None else {"units": u if u == "1" else f"({u})2"}
    return {"units": re.sub(r"([A-Za-z%]+)(-?\d+)?", lambda m: f"{m[1]}{2 * int(m[2] or 1)}", u)}


# ----------------------------------------------------------------------------- numpy kernel
def _cov(nw: np.ndarray, s: Sequence[np.ndarray], prods: Sequence[np.ndarray]) -> np.ndarray:
    """Covariances (ddof 1) (..., 6) in :data:`_PAIRS` order from the (weighted) count ``nw`` of
    complete triplets, the sums ``s`` of the three zero-filled anomalies and the sums ``prods`` of
    their products (:data:`_PAIRS` order), all of shape (...)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.stack([(p - s[i] * s[j] / nw) / (nw - 1) for p, (i, j) in zip(prods, _PAIRS, strict=True)], -1)
        flat = out[..., :3] <= 64 * np.finfo(np.float64).eps * np.stack(prods[:3], -1) / (nw[..., None] - 1)
    out[..., :3][flat] = 0.0  # below the rounding of the raw moments: a constant series
    out[flat.any(axis=-1), 3:] = np.nan
    out[nw < 2] = np.nan
    return out


def _boot_moments(w: Sequence[np.ndarray], valid: np.ndarray, wts: np.ndarray) -> np.ndarray:
    """Covariances (replicate, place, 6) of zero-filled (time, place) columns ``w`` with the
    bootstrap counts ``wts`` (replicate, time) as weights."""
    nw, s = wts @ valid.astype(np.float64), [wts @ a for a in w]
    return _cov(nw, s, [wts @ (w[i] * w[j]) for i, j in _PAIRS])


def _tc_from_cov(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Error variances, correlations with the truth and smallest pairwise correlation from (..., 6)."""
    xx, yy, zz, xy, xz, yz = np.moveaxis(c, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.stack([xx - xy * xz / yz, yy - xy * yz / xz, zz - xz * yz / xy], axis=-1)
        r2 = np.stack([xy * xz / (xx * yz), xy * yz / (yy * xz), xz * yz / (zz * xy)], axis=-1)
        rho = np.sqrt(np.where(r2 >= 0, r2, np.nan))  # a negative covariance product has no real ρ
        min_r = np.minimum.reduce([xy / np.sqrt(xx * yy), xz / np.sqrt(xx * zz), yz / np.sqrt(yy * zz)])
    err[~np.isfinite(err)] = np.nan
    rho[~np.isfinite(rho)] = np.nan
    return err, rho, min_r


def _nanquantile(a: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """numpy's 'linear' quantiles over the last axis ignoring NaN, without a per-row Python loop."""
    s, last = np.sort(a, axis=-1), np.maximum(np.isfinite(a).sum(axis=-1) - 1, 0)  # NaN sort last
    out = []
    for q in qs:
        lo = np.floor(q * last).astype(np.intp)
        v = np.take_along_axis(s, np.stack([lo, np.minimum(lo + 1, last)], axis=-1), -1)
        out.append(v[..., 0] + (v[..., 1] - v[..., 0]) * (q * last - lo))  # NaN if no finite value
    return np.stack(out, axis=-2)  # (..., quantile, product) when a is (..., product, replicate)


def _prep(cols: Sequence[np.ndarray], samples: Sequence[np.ndarray], buf: np.ndarray,
          vbuf: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """(time, place) columns → float64 anomalies in ``buf``, zero-filled where the triplet is
    incomplete; the completeness mask; its int64 form, -1 (all bits set) where complete. The
    anomalies are from the mean of the finite ``samples`` (a few times of the same places): a
    value near the mean gives accurate raw moments. Reusing ``buf`` and ``vbuf`` across blocks
    avoids the page faults of fresh allocations."""
    m = cols[0].shape[1]
    w = [buf[k, :, :m] for k in range(3)]
    valid, fin = vbuf[0, :, :m], vbuf[1, :, :m]
    for k, (a, c, sample) in enumerate(zip(w, cols, samples, strict=True)):
        sample = sample.ravel()
        sample = sample[np.isfinite(sample)]
        np.copyto(a, c, casting="unsafe")  # the one full pass over the input
        if sample.size:
            a -= sample.mean(dtype=np.float64)
        np.isfinite(a, out=fin if k else valid)
        if k:
            valid &= fin
    keep = buf[3, :, :m].view(np.int64)
    np.copyto(keep, valid, casting="unsafe")
    np.negative(keep, out=keep)  # all bits set where complete
    for a in w:
        np.bitwise_and(a.view(np.int64), keep, out=a.view(np.int64))  # exact 0.0 elsewhere
    return w, valid, keep


def _kernel(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, weights: np.ndarray | None,
            min_corr: float, min_n: int, quantiles: Sequence[float], nfield: int) -> np.ndarray:
    """gufunc kernel (..., time) ×3 → packed fields (..., F), see ``_F``; loops over blocks of
    places, never over places: one pass over the input per block, then the sums and the six
    products' sums of the zero-filled anomalies in float64 (einsum), finished for all places at once."""
    shape, nt = x.shape[:-1], x.shape[-1]
    cols = [np.moveaxis(v, -1, 0).reshape(nt, -1) for v in (x, y, z)]  # a view for time-major data
    npl = cols[0].shape[1]
    raw, keep_sum, ci = np.empty((9, npl)), np.empty(npl, dtype=np.int64), np.empty((npl, 6 * len(quantiles)))
    step = max(1, min(npl, _BLOCK // max(nt, 0 if weights is None else len(weights), 1)))
    buf, vbuf = np.empty((4, nt, step)), np.empty((2, nt, step), dtype=bool)
    samples = [np.array(c[:: max(1, nt // 4)]) for c in cols]  # 4 times, gathered in one go
    for s in range(0, npl, step):
        blk = slice(s, s + step)
        w, valid, keep = _prep([c[:, blk] for c in cols], [a[:, blk] for a in samples], buf, vbuf)
        r = raw[:, blk]
        np.add.reduce(keep, axis=0, out=keep_sum[blk])
        for k, a in enumerate(w):
            np.add.reduce(a, axis=0, out=r[k])
        for k, (i, j) in enumerate(_PAIRS):
            np.einsum("tp,tp->p", w[i], w[j], out=r[3 + k])
        if weights is not None:  # bootstrap replicates (replicate, place, 3) → quantiles per place
            boot = _tc_from_cov(_boot_moments(w, valid, weights))[:2]
            ci[blk] = np.concatenate([_nanquantile(np.moveaxis(b, 0, -1), quantiles).reshape(len(valid.T), -1)
                                      for b in boot], axis=1)
    n = -keep_sum
    cov = _cov(n.astype(np.float64), raw[:3], raw[3:])
    err, rho, min_r = _tc_from_cov(cov)
    mask = (n >= min_n) & (min_r >= min_corr)
    err[~mask], rho[~mask], ci[~mask] = np.nan, np.nan, np.nan
    out = np.concatenate([err, rho, cov[:, :3], n[:, None], min_r[:, None], mask[:, None], ci], axis=1)
    return out.reshape(*shape, nfield)


def _boot_weights(nt: int, n_boot: int, seed: Any) -> np.ndarray:
    """(replicate, time) counts of each time index in ``n_boot`` joint resamples with replacement."""
    idx = np.random.default_rng(seed).integers(0, nt, size=(n_boot, nt))
    counts = np.bincount((idx + nt * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * nt)
    return counts.reshape(n_boot, nt).astype(np.float64)


# ----------------------------------------------------------------------------- public API
def triple_collocation(x: xr.DataArray, y: xr.DataArray, z: xr.DataArray, dim: str = "time",
                       min_corr: float = 0.2, min_n: int = MIN_N, n_boot: int = 0,
                       seed: int | np.random.Generator | None = None) -> xr.Dataset:
    r"""Triple collocation of three collocated products at every place of a grid.

    Parameters
    ----------
    x, y, z : DataArray (time, ...), same units
        The triplet on one grid, e.g. [NN, FY3C, GEOS-5] SM in m3 m-3, inner-joined on ``dim``;
        their ``.name`` s label the output ``product`` dim.
    dim : str
        Dim reduced over (the samples of each place).
    min_corr : float
        Places where any pairwise Pearson correlation is below this are masked (paper §3.3: 0.2).
    min_n : int
        Places with fewer complete triplets are masked (``n`` is still reported).
    n_boot : int
        Bootstrap replicates for percentile intervals; 0 = none.
    seed : int, Generator or None
        Feeds ``np.random.default_rng`` for the bootstrap.

    Returns
    -------
    Dataset
        ``err_var`` (product, ...) in (units of x)², ``rho`` (product, ...) in 1, ``n`` (...)
        complete triplets, ``mask`` (...) True where kept; with ``n_boot > 0`` also ``err_var_ci``
        and ``rho_ci`` (product, quantile, ...) at :data:`CI_QUANTILES`. Masked places are NaN.

    Raises
    ------
    DataError
        Unnamed or duplicate names, different grids or units, no overlapping ``dim`` values,
        a product with zero variance at every place, no place kept at all.
    ConfigError
        Invalid ``min_corr``, ``min_n`` or ``n_boot``.

    Notes
    -----
    With the error model :math:`X = \alpha_X + \beta_X T + \varepsilon_X` (errors independent of
    the truth :math:`T` and of each other) and :math:`\sigma_{XY}` the covariance of X and Y,
    the error variances are (McColl et al. 2014; the paper's eq. 2 repeats Y's line for X —
    this is the derived form):

    .. math::

        \sigma^2_{\varepsilon_X} = \sigma^2_X - \frac{\sigma_{XY}\sigma_{XZ}}{\sigma_{YZ}},\quad
        \sigma^2_{\varepsilon_Y} = \sigma^2_Y - \frac{\sigma_{XY}\sigma_{YZ}}{\sigma_{XZ}},\quad
        \sigma^2_{\varepsilon_Z} = \sigma^2_Z - \frac{\sigma_{XZ}\sigma_{YZ}}{\sigma_{XY}}

    and the correlations with the truth (extended TC, the paper's eq. 3):

    .. math::

        \rho^2_X = \frac{\sigma_{XY}\sigma_{XZ}}{\sigma^2_X\sigma_{YZ}},\quad
        \rho^2_Y = \frac{\sigma_{XY}\sigma_{YZ}}{\sigma^2_Y\sigma_{XZ}},\quad
        \rho^2_Z = \frac{\sigma_{XZ}\sigma_{YZ}}{\sigma^2_Z\sigma_{XY}}

    Moments (ddof 1, as ``np.cov``) use the complete triplets only: float64 sums about a constant
    near the mean; a variance below their rounding counts as zero (masked). Estimates are not
    clipped: sampling error can give :math:`\sigma^2_\varepsilon < 0` or :math:`\rho > 1`; a
    negative covariance product gives NaN :math:`\rho`. The bootstrap resamples time indices
    jointly for all places, whatever the dask chunks; replicates with undefined estimates are
    left out of the quantiles. Dask input stays lazy (``dim`` in one chunk) and skips the
    checks that need values (zero variance, nothing kept).
    """
    names = _names([x, y, z])
    _check_params(min_corr, min_n, n_boot)
    arrays, coords = _prepare([x, y, z], names, dim)
    units = _squared_units(arrays, names)
    places = tuple(d for d in arrays[0].dims if d != dim)
    qs = CI_QUANTILES if n_boot else ()
    kw = {"weights": _boot_weights(arrays[0].sizes[dim], int(n_boot), seed) if n_boot else None,
          "min_corr": float(min_corr), "min_n": int(min_n), "quantiles": qs, "nfield": 12 + 6 * len(qs)}
    data = [np.moveaxis(a.data, a.get_axis_num(dim), -1) for a in arrays]  # views, numpy or dask
    if any(a.chunks is not None for a in arrays):  # one chunk along time; same weights everywhere
        lead = next(d.chunks[:-1] for d in data if isinstance(d, dsa.Array))  # chunks of the places
        data = [dsa.asarray(d).rechunk((*lead, -1)) for d in data]
        f = dsa.apply_gufunc(_kernel, "(t),(t),(t)->(f)", *data, output_dtypes=np.float64,
                             output_sizes={"f": kw["nfield"]}, **kw)
    else:
        f = _kernel(*data, **kw)
        _check_result(f, names, dim, int(min_n), float(min_corr))
    nd = len(places)

    def per_product(start: int, k: int = 1) -> Any:  # fields → (product, k, *places)
        return f[..., start:start + 3 * k].reshape(*f.shape[:-1], k, 3).transpose(nd + 1, nd, *range(nd))

    ev = {"long_name": "triple-collocation error variance", **units}
    rh = {"long_name": "triple-collocation correlation with the unknown truth", "units": "1"}
    kept = {"long_name": f"place kept (n >= {min_n} and every pairwise correlation >= {min_corr})"}
    out = {"err_var": ((PRODUCT, *places), per_product(0)[:, 0], ev), "rho": ((PRODUCT, *places), per_product(3)[:, 0], rh),
           "n": (places, f[..., _F["n"]].astype(np.int64), _n_attrs(dim, "triplets")),
           "mask": (places, f[..., _F["mask"]] > 0.5, kept)}
    for i, (var, attrs) in enumerate((("err_var", ev), ("rho", rh)) if qs else ()):
        out[f"{var}_ci"] = ((PRODUCT, "quantile", *places), per_product(12 + 3 * len(qs) * i, len(qs)),
                            {**attrs, "long_name": f"bootstrap percentile interval of {attrs['long_name']}"})
    coords = {**coords, PRODUCT: (PRODUCT, list(names), {"long_name": "triplet member"}),
              **({"quantile": ("quantile", list(qs), {"long_name": "quantile", "units": "1"})} if qs else {})}
    return xr.Dataset(out, coords=coords, attrs={
        "title": "triple collocation", "method": "classical and extended triple collocation",
        "references": _REF, "products": ", ".join(names), "dim": dim, "min_corr": float(min_corr),
        "min_n": int(min_n), "n_boot": int(n_boot), "seed": repr(seed), "sm_nb_version": __version__})


def _check_result(f: np.ndarray, names: Sequence[str], dim: str, min_n: int, min_corr: float) -> None:
    """Raise DataError when no place has a result (eager input only); ``f`` are packed fields."""
    nmax = int(f[..., _F["n"]].max(initial=0))
    if nmax < min_n:
        raise DataError(f"at most {nmax} complete ({', '.join(names)}) triplets along {dim!r} at any "
                        f"place; expected at least min_n={min_n}")
    for i, name in enumerate(names):
        if not (f[..., _F["var"]][..., i] > 0).any():
            raise DataError(f"product {name!r} has zero variance along {dim!r} at every place; "
                            "TC needs a varying signal in all three")
    if not f[..., _F["mask"]].any() or np.isnan(f[..., :6]).all():
        raise DataError(f"triple collocation kept no place: the largest smallest pairwise correlation is "
                        f"{np.nanmax(f[..., _F['min_r']], initial=-np.inf):.3g} (min_corr={min_corr}), "
                        f"the largest n is {nmax} (min_n={min_n})")


def _against_truth(products: Sequence[xr.DataArray], truth: xr.DataArray, dim: str,
                   min_n: int) -> tuple[list[str], xr.DataArray, list[xr.DataArray], Any, dict[str, Any]]:
    """Names, count of jointly complete samples, anomalies on them (truth last), a covariance
    function (ddof 1) on them, provenance attrs."""
    _check_params(0.0, min_n, 0)
    if isinstance(products, xr.DataArray) or len(products) < 1:
        raise DataError("products must be a list of named DataArrays (at least one)")
    names = _names(list(products))
    arrays, coords = _prepare([*products, truth], [*names, "truth"], dim)
    arrays = [a.reset_coords(drop=True).assign_coords(coords) for a in arrays]
    valid = reduce(lambda a, b: a & b, [a.notnull() for a in arrays])
    n = valid.sum(dim)

    def cov(a: xr.DataArray, b: xr.DataArray) -> xr.DataArray:
        return ((a * b).sum(dim) / (n - 1)).where(n >= 2)

    anoms = []
    for a in arrays:  # a series constant up to rounding gets exact zero anomalies (zero variance)
        m = a.where(valid).mean(dim)
        d = a.where(valid) - m
        anoms.append(d.where(abs(d).max(dim) > 64 * np.finfo(np.float64).eps * abs(m), 0.0))
    return names, n, anoms, cov, {
        "products": ", ".join(names), "truth": str(truth.name), "dim": dim, "min_n": int(min_n),
        "sm_nb_version": __version__}


def _n_attrs(dim: str, what: str = "samples") -> dict[str, str]:
    return {"long_name": f"number of complete {what} along {dim}", "units": "1"}


def actual_errors(products: Sequence[xr.DataArray], truth: xr.DataArray, dim: str = "time",
                  min_n: int = MIN_N) -> xr.Dataset:
    r"""True error variance and correlation of each product against a known truth (TC's targets).

    Parameters
    ----------
    products, truth : list of DataArray (time, ...) in one unit, DataArray (time, ...)
        Named products (e.g. the TC triplet) and the known truth, on one grid.
    dim : str
        Dim reduced over.
    min_n : int
        Places with fewer jointly complete samples are NaN and ``mask`` False.

    Returns
    -------
    Dataset
        ``err_var`` (product, ...) in (units)², ``rho`` (product, ...) in 1, ``n`` and ``mask``
        (...): the layout of :func:`triple_collocation`'s output.

    Notes
    -----
    Each product is calibrated against the truth by least squares (TC's error model
    :math:`P = \alpha + \beta T + \varepsilon`) on the samples where all products and the truth
    are finite — the samples TC sees when the truth is complete:

    .. math::

        \sigma^2_{\varepsilon_P} = \sigma^2_P - \frac{\sigma_{PT}^2}{\sigma^2_T},\qquad
        \rho_P = \frac{\sigma_{PT}}{\sigma_P\sigma_T}
    """
    names, n, (*prods, t), cov, attrs = _against_truth(products, truth, dim, min_n)
    mask = n >= min_n
    with np.errstate(divide="ignore", invalid="ignore"):
        ev = xr.concat([cov(p, p) - cov(p, t) ** 2 / cov(t, t) for p in prods], PRODUCT).assign_coords({PRODUCT: names})
        rho = xr.concat([cov(p, t) / np.sqrt(cov(p, p) * cov(t, t)) for p in prods], PRODUCT).assign_coords({PRODUCT: names})
    ds = xr.Dataset({
        "err_var": ev.where(mask & np.isfinite(ev)).assign_attrs(
            long_name="error variance against the truth", **_squared_units(list(products), names)),
        "rho": rho.where(mask & np.isfinite(rho)).assign_attrs(long_name="correlation with the truth", units="1"),
        "n": n.astype(np.int64).assign_attrs(_n_attrs(dim)),
        "mask": mask.assign_attrs(long_name=f"place kept (n >= {min_n})")},
        attrs={"title": "actual errors against the truth", **attrs})
    if ds["rho"].chunks is None and not bool(ds["rho"].notnull().any()):
        raise DataError(f"no place has {min_n} complete samples of {names} and the truth with a "
                        f"defined correlation (largest n {int(n.max())}); is the truth constant?")
    return ds


def error_cross_correlation(products: Sequence[xr.DataArray], truth: xr.DataArray, dim: str = "time",
                            min_n: int = MIN_N) -> xr.Dataset:
    r"""True correlation between the errors of each pair of products (TC assumes it is zero).

    Parameters
    ----------
    products, truth, dim, min_n
        As in :func:`actual_errors`; at least two products.

    Returns
    -------
    Dataset
        ``err_corr`` (pair, ...) in 1, ``pair`` labelled ``"a/b"`` with coords ``product_1`` and
        ``product_2``; ``n`` (...).

    Notes
    -----
    The errors are the residuals of the least-squares calibration against the truth,
    :math:`\varepsilon_P = P' - (\sigma_{PT}/\sigma^2_T)\,T'` (primes: anomalies), and
    :math:`r_{ij} = \sigma_{\varepsilon_i\varepsilon_j}/(\sigma_{\varepsilon_i}\sigma_{\varepsilon_j})`.
    """
    names, n, (*prods, t), cov, attrs = _against_truth(products, truth, dim, min_n)
    if len(names) < 2:
        raise DataError(f"error_cross_correlation needs at least two products; got {names}")
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    with np.errstate(divide="ignore", invalid="ignore"):
        err = [p - cov(p, t) / cov(t, t) * t for p in prods]
        r = [cov(err[i], err[j]) / np.sqrt(cov(err[i], err[i]) * cov(err[j], err[j])) for i, j in pairs]
    r_da = xr.concat(r, "pair").where(n >= min_n).assign_coords(pair=[f"{names[i]}/{names[j]}" for i, j in pairs])
    r_da = r_da.assign_coords(product_1=("pair", [names[i] for i, _ in pairs]),
                              product_2=("pair", [names[j] for _, j in pairs]))
    return xr.Dataset(
        {"err_corr": r_da.assign_attrs(long_name="correlation of the errors against the truth", units="1"),
         "n": n.astype(np.int64).assign_attrs(_n_attrs(dim))},
        attrs={"title": "error cross-correlation against the truth", **attrs})


def tc_summary(ds: xr.Dataset, metrics: Sequence[str] = ("err_var", "rho")) -> pd.DataFrame:
    r"""Box-plot statistics per product and metric over the kept places (the paper's Figure 8).

    Parameters
    ----------
    ds : Dataset
        Output of :func:`triple_collocation` or :func:`actual_errors`.
    metrics : sequence of str
        Variables with a ``product`` dim.

    Returns
    -------
    DataFrame
        One row per (product, metric): ``median``, ``q1``, ``q3`` (numpy's linear percentiles),
        ``whisker_low``, ``whisker_high`` (matplotlib ``boxplot``'s, ``whis=1.5``: the extreme
        values within :math:`[Q_1 - 1.5\,IQR,\ Q_3 + 1.5\,IQR]`), ``min``, ``max``,
        ``n_outliers``, ``n_places`` (finite values), ``units``.
    """
    if missing := [m for m in metrics if m not in ds.data_vars or PRODUCT not in ds[m].dims]:
        raise DataError(f"metric(s) {missing} not in ds with a {PRODUCT!r} dim; expected some of "
                        f"{sorted(map(str, ds.data_vars))}")
    rows = []
    for metric in metrics:
        for prod in ds[PRODUCT].values:
            v = np.asarray(ds[metric].sel({PRODUCT: prod}).values, dtype=np.float64).ravel()
            v = v[np.isfinite(v)]
            q1, med, q3 = np.percentile(v, [25, 50, 75]) if v.size else (np.nan,) * 3
            inside = v[(v >= q1 - 1.5 * (q3 - q1)) & (v <= q3 + 1.5 * (q3 - q1))]
            whisk, ext = ([a.min(), a.max()] if a.size else [np.nan, np.nan] for a in (inside, v))
            rows.append({"product": str(prod), "metric": metric, "median": med, "q1": q1, "q3": q3,
                         "whisker_low": whisk[0], "whisker_high": whisk[1], "min": ext[0], "max": ext[1],
                         "n_outliers": v.size - inside.size, "n_places": v.size,
                         "units": ds[metric].attrs.get("units", "")})
    return pd.DataFrame(rows)
