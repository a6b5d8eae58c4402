"""Land-cover and soil classes of the synthetic scenario.

sm_nb's own classes are finer than IGBP where the physics needs it (alpine steppe vs meadow,
playa vs barren); :data:`IGBP` maps them to the MCD12Q1 LC_Type1 codes for the synthetic
MODIS land-cover product.
"""

from __future__ import annotations

__all__ = [
    "WATER",
    "PLAYA",
    "BARREN",
    "SNOW_ICE",
    "DESERT_STEPPE",
    "ALPINE_STEPPE",
    "MEADOW",
    "FOREST",
    "CROPLAND",
    "LAND_COVER",
    "IGBP",
    "IGBP_NAMES",
    "flag_attrs",
]

WATER = 1
PLAYA = 2  # salt crust / saline playa on the Qaidam floor
BARREN = 3  # desert, gobi, bare rock
SNOW_ICE = 4
DESERT_STEPPE = 5  # open shrub / desert steppe
ALPINE_STEPPE = 6  # grassland, 250–450 mm
MEADOW = 7  # alpine meadow (> 400 mm), organic topsoil
FOREST = 8  # SE valleys, E Qilian
CROPLAND = 9  # Huangshui valley and irrigated oases

#: code → name
LAND_COVER: dict[int, str] = {
    WATER: "water",
    PLAYA: "playa",
    BARREN: "barren",
    SNOW_ICE: "snow_ice",
    DESERT_STEPPE: "desert_steppe",
    ALPINE_STEPPE: "alpine_steppe",
    MEADOW: "alpine_meadow",
    FOREST: "forest",
    CROPLAND: "cropland",
}

#: sm_nb class → IGBP (MCD12Q1 LC_Type1) code
IGBP: dict[int, int] = {
    WATER: 17,
    PLAYA: 16,
    BARREN: 16,
    SNOW_ICE: 15,
    DESERT_STEPPE: 7,
    ALPINE_STEPPE: 10,
    MEADOW: 10,
    FOREST: 1,
    CROPLAND: 12,
}

IGBP_NAMES: dict[int, str] = {
    1: "evergreen_needleleaf_forest",
    7: "open_shrublands",
    10: "grasslands",
    12: "croplands",
    15: "permanent_snow_and_ice",
    16: "barren",
    17: "water_bodies",
}


def flag_attrs(classes: dict[int, str]) -> dict[str, object]:
    """CF ``flag_values``/``flag_meanings`` attributes for a class map."""
    codes = sorted(classes)
    return {
        "flag_values": list(codes),
        "flag_meanings": " ".join(classes[c] for c in codes),
        "units": "1",
    }
