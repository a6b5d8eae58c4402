"""Input combinations of the selection experiments (paper §3.1, §3.2, Tables 3–5, Figures 4–6).

* :data:`FINAL_INPUTS`, :data:`TABLE3_INPUTS`, :data:`TABLE4_COMBINATIONS`,
  :data:`TABLE5_COMBINATIONS`, :data:`FIGURE4_INPUTS`, :data:`FIGURE5_COMBINATIONS` — the
  paper's rows in sm_nb input names, in the paper's order;
* :func:`resolve_combination`, :func:`combination_label` — a combination is a *set* of inputs,
  put in sm_nb's registry order (microwave by sensor, band and orbit, then NDVI, EVI, LST,
  NSDSI, DEM, SLOPE), whatever the order or spelling (``AMSR2_TBH_D`` = ``AMSR2_10.7_TBH_D``);
* :func:`subset` — a combination's variables out of a larger input Dataset.
"""

from __future__ import annotations

from collections.abc import Iterable

import xarray as xr

from .exceptions import ConfigError, DataError
from .preprocess import INPUTS, resolve_inputs

__all__ = [
    "FINAL_INPUTS",
    "TABLE3_INPUTS",
    "TABLE4_COMBINATIONS",
    "TABLE5_COMBINATIONS",
    "FIGURE4_INPUTS",
    "FIGURE5_COMBINATIONS",
    "as_combination",
    "resolve_combination",
    "combination_label",
    "subset",
]

#: the paper's final network (§3.2, §4; the last row of Table 5)
FINAL_INPUTS = ("SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A", "LST", "NDVI", "NSDSI", "DEM", "SLOPE")
#: Table 3: every single microwave input, each printed row ascending then descending; the paper
#: prints σ40 and BTI once each (no pass), here both passes are run
TABLE3_INPUTS = tuple(
    f"{stem}_{o}"
    for stem in ("SMAP_TBV", "SMAP_TBH", "SMAP_MPDI",
                 *(f"AMSR2_{b}_{q}" for b in ("6.9", "7.3", "10.7") for q in ("TBV", "TBH", "MPDI")),
                 *(f"FY3C_10.7_{q}" for q in ("TBV", "TBH", "MPDI")), "ASCAT_SIGMA40", "ASCAT_BTI")
    for o in ("A", "D")
)
#: Table 4: the six microwave combinations (AMSR2 = 10.7 GHz descending, ASCAT = ascending [A])
TABLE4_COMBINATIONS = (
    ("SMAP_TBV_A", "AMSR2_TBH_D"),
    ("SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_SIGMA40_A"),
    ("SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A"),
    ("SMAP_TBV_A", "AMSR2_MPDI_D"),
    ("SMAP_TBV_A", "AMSR2_MPDI_D", "ASCAT_SIGMA40_A"),
    ("SMAP_TBV_A", "AMSR2_MPDI_D", "ASCAT_BTI_A"),
)
_MW = ("SMAP_TBV_A", "AMSR2_TBH_D", "ASCAT_BTI_A")
#: Table 5: TBV_TBH_BTI plus auxiliaries, in the order of the paper's labels
TABLE5_COMBINATIONS = tuple(_MW + aux for aux in (
    (), ("NDVI",), ("EVI",), ("SLOPE",), ("DEM",), ("SLOPE", "NDVI"), ("DEM", "NDVI"),
    ("DEM", "SLOPE", "NDVI"), ("LST",), ("LST", "NDVI"), ("LST", "NDVI", "DEM", "SLOPE"),
    ("NSDSI",), ("NSDSI", "NDVI"), ("NSDSI", "NDVI", "DEM", "SLOPE"),
    ("NSDSI", "NDVI", "DEM", "SLOPE", "LST"),
))
#: the rows of Figure 4 (single inputs) and Figure 5 (combinations)
FIGURE4_INPUTS = ("SMAP_TBV_A", "AMSR2_TBH_D", "AMSR2_MPDI_D", "ASCAT_BTI_A", "ASCAT_SIGMA40_A")
FIGURE5_COMBINATIONS = (TABLE4_COMBINATIONS[1], TABLE4_COMBINATIONS[2], TABLE4_COMBINATIONS[4],
                        TABLE4_COMBINATIONS[5])
_ORDER = {name: i for i, name in enumerate(INPUTS)}


# ---------------------------------------------------------------------------------------------
# combinations
# ---------------------------------------------------------------------------------------------
def as_combination(item: str | Iterable[str]) -> list[str]:
    """A combination from a list of names or a string (one name, or names joined with '+')."""
    if isinstance(item, str):
        return [s.strip() for s in item.split("+") if s.strip()]
    return [str(s) for s in item]


def resolve_combination(inputs: str | Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(requested spellings, canonical names), both in sm_nb's registry order."""
    specs = resolve_inputs(as_combination(inputs))  # unknown names: ConfigError listing valid ones
    pairs = sorted(specs.items(), key=lambda kv: _ORDER[kv[1].name])
    return tuple(k for k, _ in pairs), tuple(s.name for _, s in pairs)


def combination_label(inputs: str | Iterable[str]) -> str:
    """Canonical label of a combination: canonical names in registry order joined by ``" + "``.

    Examples
    --------
    >>> combination_label(["AMSR2_TBH_D", "smap_tbv_a"])
    'SMAP_TBV_A + AMSR2_10.7_TBH_D'
    """
    return " + ".join(resolve_combination(inputs)[1])


def subset(inputs: xr.Dataset, combination: str | Iterable[str]) -> xr.Dataset:
    """The variables of ``inputs`` that make up ``combination``, in sm_nb's registry order.

    Names are matched as a set, case-insensitively and through aliases (``AMSR2_TBH_D`` finds a
    variable ``AMSR2_10.7_TBH_D``); the result's variables keep the requested spelling.
    """
    requested, canonical = resolve_combination(combination)
    have = {combination_label([str(v)]) if is_input_name(str(v)) else str(v): str(v) for v in inputs.data_vars}
    missing = [r for r, c in zip(requested, canonical, strict=True) if c not in have]
    if missing:
        raise DataError(f"inputs lack {missing}; they have {sorted(map(str, inputs.data_vars))}")
    out = inputs[[have[c] for c in canonical]]
    return out.rename({have[c]: r for r, c in zip(requested, canonical, strict=True) if have[c] != r})


def is_input_name(name: str) -> bool:
    try:
        resolve_combination([name])
    except ConfigError:
        return False
    return True
