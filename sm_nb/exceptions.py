"""The sm_nb exception family.

Every error raised on bad input is a :class:`SmNbError` subclass whose message names the
parameter, file or variable, what was received and what was expected.
"""

from __future__ import annotations

__all__ = [
    "SmNbError",
    "ConfigError",
    "CatalogError",
    "DataError",
    "NotebookError",
]


class SmNbError(Exception):
    """Base class of every error sm_nb raises on purpose."""


class ConfigError(SmNbError, ValueError):
    """A parameter (config name, seed, time range, domain, ...) is invalid."""


class CatalogError(SmNbError, KeyError):
    """``data_catalog.yaml`` is malformed or an entry cannot be opened.

    Raised for an unknown dataset name, a missing or mistyped key, or a missing file.
    """

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class DataError(SmNbError, ValueError):
    """Data are unusable: wrong dims or units, all-NaN fields, unreadable files."""


class NotebookError(SmNbError, RuntimeError):
    """A notebook failed while executing headless; the message names the cell."""
