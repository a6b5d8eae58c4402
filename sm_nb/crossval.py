"""Spatial block cross-validation of the selection experiments (beyond the paper).

The paper scores each network on all samples, most of them from pixels and days it was trained
on (§3.1). Here pixels are grouped in blocks of :data:`CV_BLOCK` × :data:`CV_BLOCK` coarse cells
(≈ 1° × 1.25°, larger than the correlation length of the inputs' errors) and dealt to folds, so
that a held-out pixel's neighbours are held out too (Roberts et al. 2017, Ecography 40, 913).
"""

from __future__ import annotations

import numpy as np

from .exceptions import ConfigError

__all__ = ["CV_BLOCK", "spatial_folds", "spatial_cv_splits", "subsample"]

#: edge of a cross-validation block in coarse cells (4 × 4 cells ≈ 1° × 1.25°, ~110 km) [A]
CV_BLOCK = 4


def spatial_folds(n_lat: int, n_lon: int, n_folds: int, seed: int = 0, block: int = CV_BLOCK) -> np.ndarray:
    """Assign every pixel of an ``n_lat × n_lon`` grid to a fold, whole blocks at a time.

    Parameters
    ----------
    n_lat, n_lon : int
        Grid size.
    n_folds : int
        Number of folds (>= 2).
    seed : int
        Seeds the random assignment of blocks to folds.
    block : int
        Block edge in pixels; reduced (down to single pixels) until there are at least
        ``2 · n_folds`` blocks, so that tiny grids can still be split.

    Returns
    -------
    ndarray (lat, lon) of int
        Fold of each pixel; blocks are shuffled and dealt to the folds in turn, so each fold
        gets the same number of blocks (±1).
    """
    if n_lat * n_lon < n_folds:
        raise ConfigError(f"cv_folds={n_folds} but the grid has only {n_lat * n_lon} pixels; "
                          "expected at most one fold per pixel")
    b = max(1, int(block))
    while b > 1 and -(-n_lat // b) * -(-n_lon // b) < 2 * n_folds:
        b -= 1
    nby, nbx = -(-n_lat // b), -(-n_lon // b)
    perm = np.random.default_rng([int(seed), 2]).permutation(nby * nbx)
    fold_of_block = np.empty(nby * nbx, dtype=np.int64)
    fold_of_block[perm] = np.arange(nby * nbx) % n_folds
    ids = (np.arange(n_lat)[:, None] // b) * nbx + np.arange(n_lon)[None, :] // b
    return fold_of_block[ids]


def subsample(rows: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or rows.size <= limit:
        return rows
    return np.sort(rng.choice(rows, size=int(limit), replace=False))


def spatial_cv_splits(positions: np.ndarray, grid_shape: tuple[int, int, int], trainable: np.ndarray,
                      n_folds: int, seed: int = 0, max_train_samples: int | None = None,
                      block: int = CV_BLOCK) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Training and held-out rows of a spatial block cross-validation.

    Parameters
    ----------
    positions : ndarray (sample,) of int
        Flat (time, lat, lon) index of each sample (:attr:`FeatureTable.positions`).
    grid_shape : (n_time, n_lat, n_lon)
    trainable : ndarray (sample,) of bool
        Samples with a valid target (only these are trained on).
    n_folds, seed, block
        As for :func:`spatial_folds`.
    max_train_samples : int, optional
        Cap on the training rows of each fold (random, seeded per fold).

    Returns
    -------
    fold_map : ndarray (lat, lon) of int
    splits : list of (train_rows, test_rows)
        Row indices into the samples, one pair per fold: ``test_rows`` are all samples of the
        fold's pixels (also those without a target, so that every sample gets an out-of-fold
        prediction), ``train_rows`` a subsample of the trainable samples of the other pixels.
    """
    _, n_lat, n_lon = grid_shape
    fold_map = spatial_folds(n_lat, n_lon, n_folds, seed, block)
    fold = fold_map.reshape(-1)[np.asarray(positions) % (n_lat * n_lon)]
    splits = []
    for k in range(n_folds):
        test = np.flatnonzero(fold == k)
        pool = np.flatnonzero((fold != k) & trainable)
        splits.append((subsample(pool, max_train_samples, np.random.default_rng([int(seed), 3, k])), test))
    return fold_map, splits
