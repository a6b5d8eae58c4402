"""The paper's published tables, read from package data, match the values typed in before."""

from __future__ import annotations

import pandas as pd
import pytest

from sm_nb import paper

#: (rows, columns) and a few published figures captured from the former hard-coded literals
SHAPES = {
    "table3": (32, ["sensor", "band", "orbit", "paper_label", "inputs", "rho_spatial", "rho_temporal",
                    "rmse", "mae", "note", "source"]),
    "table4": (6, ["paper_label", "inputs", "rho_spatial", "rho_temporal", "rmse", "mae", "note", "source"]),
    "table5": (15, ["group", "paper_label", "inputs", "rho_spatial", "rho_temporal", "rmse", "mae", "note",
                    "source"]),
    "table6": (24, ["product", "station", "r", "source"]),
    "tc_figures": (11, ["product", "statistic", "value", "units", "where", "preferred", "note", "source"]),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_columns_dtypes(name):
    df = getattr(paper, name)()
    rows, cols = SHAPES[name]
    assert df.shape == (rows, len(cols))
    assert list(df.columns) == cols
    for c in cols:
        if c in ("rho_spatial", "rho_temporal", "rmse", "mae", "r", "value"):
            assert df[c].dtype == "float64", c
        elif c == "preferred":
            assert df[c].dtype == bool
        else:
            assert pd.api.types.is_string_dtype(df[c]), c
            assert not df[c].isna().any(), c
    assert df.attrs["note"] == "published values, not computed by sm_nb"
    assert df["source"].str.startswith(paper.CITATION).all()


def test_published_figures():
    t3 = paper.table3().set_index("inputs")
    assert t3.loc["SMAP_TBV_A", ["rho_spatial", "rho_temporal", "rmse", "mae"]].tolist() == [0.388, 0.322, 0.065, 0.053]
    assert t3.loc["AMSR2_10.7_MPDI_D", "rho_spatial"] == 0.529
    assert t3.loc["ASCAT_BTI_A", "orbit"] == "n/a" and "Table 3" in t3.loc["ASCAT_BTI_A", "note"]
    assert t3.loc["SMAP_TBV_A", "note"] == ""
    t4 = paper.table4()
    assert t4["inputs"].iloc[2] == "SMAP_TBV_A + AMSR2_TBH_D + ASCAT_BTI_A"
    assert t4.loc[t4["paper_label"] == "SMAP_TBV_A_AMSR2_MPDI_D", "rho_temporal"].item() == 0.362
    t5 = paper.table5()
    assert t5["paper_label"].iloc[-1] == "TBV_TBH_BTI_NSDDSI_NDVI_DEM_SLOPE_LST"
    assert t5.iloc[-1][["rho_spatial", "rho_temporal", "rmse", "mae"]].tolist() == [0.669, 0.475, 0.046, 0.036]
    assert t5["note"].iloc[0] == "same as Table 4, row 3"
    t6 = paper.table6().pivot(index="product", columns="station", values="r")
    assert t6.loc["DOWNSCALED", "Tianjun"] == 0.620 and t6.loc["AMSR2", "Golmud"] == -0.655
    tc = paper.tc_figures()
    nn = tc[(tc["product"] == "NN") & (tc["statistic"] == "median_error_variance")]
    assert nn["value"].tolist() == [0.00003, 0.0003] and nn["preferred"].tolist() == [True, False]
    assert tc.loc[tc["statistic"] == "median_r", "value"].tolist() == [0.811, 0.792, 0.516]
