"""The study area of an analysis: the coarse (NN) grid, the fine (downscaling) grid and the days.

The paper's area (§2.1.5) is the union of the 0.25° × 0.3125° GEOS-5 cells whose centres lie in
31–40°N, 89–103°E, April–November of 2017 and 2018; the fine grid nests in it exactly.
:meth:`StudyArea.from_config` gives the area of a named configuration (``mini``, ``demo``,
``full``); :meth:`StudyArea.from_data` the area of a user's own coarse and fine DataArrays, so
that the method runs on any grids without a configuration or catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .conventions import LAT, LON, TIME
from .exceptions import DataError
from .grids import Grid, coarse_grid, fine_grid, grid_for

__all__ = ["StudyArea"]


@dataclass(frozen=True, eq=False)
class StudyArea:
    """Where and when the method runs.

    Attributes
    ----------
    coarse : Grid
        The NN training grid (paper: 0.25° × 0.3125°).
    fine : Grid or None
        The downscaling grid (paper: "1 km"); ``None`` when only the coarse step is run.
    days : DatetimeIndex
        The analysed days (daily, ``datetime64[ns]``).
    time_chunk : int
        Days per dask block of fine-grid cubes.
    name : str
        A label (the configuration name, or ``"custom"``).
    """

    coarse: Grid
    fine: Grid | None
    days: pd.DatetimeIndex
    time_chunk: int = 8
    name: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", pd.DatetimeIndex(self.days).as_unit("ns"))
        if len(self.days) == 0:
            raise DataError("StudyArea has no days; expected at least one day")

    @classmethod
    def from_config(cls, cfg) -> StudyArea:  # noqa: ANN001 - a sm_nb.config.ScenarioConfig
        """The area of a configuration: its coarse and fine grids and its season days."""
        return cls(coarse_grid(cfg), fine_grid(cfg), pd.DatetimeIndex(cfg.dates), int(cfg.time_chunk), cfg.name)

    @classmethod
    def from_data(cls, coarse: xr.DataArray | xr.Dataset, fine: xr.DataArray | xr.Dataset | None = None,
                  days: pd.DatetimeIndex | None = None, time_chunk: int = 8) -> StudyArea:
        """The area spanned by a coarse (and fine) object's ``lat``/``lon`` (and ``time``) coordinates."""
        for what, obj in (("coarse", coarse), ("fine", fine)):
            if obj is not None and (LAT not in obj.coords or LON not in obj.coords):
                raise DataError(f"{what} object lacks 'lat'/'lon' coordinates; it has {list(obj.coords)}")
        if days is None:
            if TIME not in coarse.coords:
                raise DataError("days not given and the coarse object has no 'time' coordinate")
            days = pd.DatetimeIndex(np.asarray(coarse[TIME].values))
        return cls(grid_for(coarse, "coarse"), None if fine is None else grid_for(fine, "fine"),
                   pd.DatetimeIndex(days), time_chunk)

    def grid(self, which: str) -> Grid:
        """``"coarse"`` or ``"fine"``."""
        if which == "coarse":
            return self.coarse
        if which == "fine":
            if self.fine is None:
                raise DataError(f"study area {self.name!r} has no fine grid; pass fine= to StudyArea")
            return self.fine
        raise DataError(f"grid is {which!r}; expected 'coarse' (NN training) or 'fine' (downscaling)")

    def __repr__(self) -> str:
        fine = "none" if self.fine is None else f"{self.fine.lat.size} × {self.fine.lon.size}"
        return (f"<StudyArea {self.name!r}: coarse {self.coarse.lat.size} × {self.coarse.lon.size}, "
                f"fine {fine}, {len(self.days)} days {self.days[0].date()} … {self.days[-1].date()}>")
