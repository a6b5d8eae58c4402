"""Seeded random streams and spatially correlated Gaussian random fields.

Every random number of the scenario comes from :func:`rng_for`, which spawns an independent
``numpy.random.Generator`` per (seed, component, year) through ``numpy.random.SeedSequence``
(spec §1), so adding a component never changes the numbers of another.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["rng_for", "gaussian_field", "fractal_field", "ar1_update"]


def rng_for(seed: int, component: str, *keys: int) -> np.random.Generator:
    """An independent generator for ``component`` (and optional integer ``keys``, e.g. the year)."""
    spawn_key = (zlib.crc32(component.encode()), *(int(k) for k in keys))
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=spawn_key))


def _spectral_filter(shape: tuple[int, int], dy_km: float, dx_km: float, length_km: float) -> np.ndarray:
    ky = np.fft.fftfreq(shape[0], d=dy_km)
    kx = np.fft.rfftfreq(shape[1], d=dx_km)
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    # Gaussian covariance exp(-r²/L²) has spectral density ∝ exp(-π² L² k²)
    return np.exp(-0.5 * np.pi**2 * length_km**2 * k2)


def gaussian_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    dy_km: float,
    dx_km: float,
    length_km: float,
    n: int | None = None,
) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field(s) with Gaussian correlation of scale ``length_km``.

    FFT filtering of white noise on a grid padded by 2·L on each side, so the periodic
    wrap-around of the FFT does not correlate opposite edges.

    Parameters
    ----------
    rng : Generator
    shape : (ny, nx)
    dy_km, dx_km : float
        Grid spacing in km.
    length_km : float
        Correlation length L in km (covariance exp(−r²/L²)).
    n : int, optional
        Number of independent fields (returned with a leading axis).

    Returns
    -------
    ndarray of float64, shape ``shape`` or ``(n, *shape)``
    """
    pad_y = int(np.ceil(2 * length_km / dy_km))
    pad_x = int(np.ceil(2 * length_km / dx_km))
    big = (shape[0] + 2 * pad_y, shape[1] + 2 * pad_x)
    filt = _spectral_filter(big, dy_km, dx_km, length_km)
    count = 1 if n is None else n
    noise = rng.standard_normal((count, *big))
    field = np.fft.irfft2(np.fft.rfft2(noise) * filt, s=big)[:, pad_y : pad_y + shape[0], pad_x : pad_x + shape[1]]
    field -= field.mean(axis=(-2, -1), keepdims=True)
    std = field.std(axis=(-2, -1), keepdims=True)
    field /= np.where(std > 0, std, 1.0)
    return field[0] if n is None else field


def fractal_field(
    rng: np.random.Generator, shape: tuple[int, int], beta: float = 2.2, min_wavelength_px: float = 2.0
) -> np.ndarray:
    """Zero-mean, unit-variance fractal (power-law, P(k) ∝ k^−β) field, e.g. for terrain roughness."""
    ky = np.fft.fftfreq(shape[0])
    kx = np.fft.rfftfreq(shape[1])
    k = np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)
    k[0, 0] = np.inf
    amp = k ** (-beta / 2)
    amp[k > 1 / min_wavelength_px] = 0.0
    amp[0, 0] = 0.0
    noise = rng.standard_normal(shape)
    field = np.fft.irfft2(np.fft.rfft2(noise) * amp, s=shape)
    field -= field.mean()
    return field / field.std()


def ar1_update(prev: np.ndarray | None, innovation: np.ndarray, r1: float) -> np.ndarray:
    """One step of a unit-variance AR(1) field: x_t = r₁ x_{t−1} + √(1 − r₁²) ε_t."""
    if prev is None:
        return innovation
    return r1 * prev + np.sqrt(1.0 - r1**2) * innovation
