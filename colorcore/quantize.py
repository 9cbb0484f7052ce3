"""Quantised a*b* for the classification model (Zhang, Isola and Efros, ECCV 2016).

The a*b* plane is cut into bins on a :data:`GRID`-unit grid with centres at
multiples of 10 from -110 to 110; the classes are the bins that training
pixels fall into.  Each target pixel is *soft encoded* over its
:data:`SOFT_NEIGHBOURS` nearest bin centres with a Gaussian of
:data:`SOFT_SIGMA` Lab units.  Rare colours are up-weighted by
*class rebalancing*: weights ``1 / ((1 - lambda) p + lambda / Q)`` of the
training set's colour prior ``p`` smoothed by a Gaussian of :data:`SOFT_SIGMA`
units, normalised so their expectation under ``p`` is 1.  Predictions are
decoded by the *annealed mean*: the mean a*b* of ``softmax(logits / T)``
(``T = 1`` is the plain mean, ``T -> 0`` the mode).

All a*b* values here are in Lab units, tensors channel-first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from .lab import rgb_to_lab
from .units import AB_LIMIT, DEFAULT_LAMBDA, DEFAULT_TEMPERATURE

#: Bin spacing in Lab units.
GRID = 10.0
#: Nearest bins a target pixel is spread over, and the Gaussian's width (Lab units).
SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0

#: Cells per axis: bin centres run from -AB_LIMIT to AB_LIMIT on both axes (23 x 23).
_CELLS = int(round(2 * AB_LIMIT / GRID)) + 1


@dataclass(frozen=True)
class ABBins:
    """The classes of a classification model.

    Attributes
    ----------
    centers : np.ndarray, float32, shape (Q, 2)
        a*b* of each bin centre in Lab units.
    prior : np.ndarray, float64, shape (Q,)
        Smoothed empirical probability of each bin in the training pixels (sums to 1).
    weights : np.ndarray, float32, shape (Q,)
        Rebalancing weight of each bin (expectation under ``prior`` is 1).
    """

    centers: np.ndarray
    prior: np.ndarray
    weights: np.ndarray


def grid_counts(images_u8: torch.Tensor | list[torch.Tensor], batch: int = 256) -> np.ndarray:
    """Count training pixels per a*b* grid cell.

    Parameters
    ----------
    images_u8 : torch.Tensor, uint8, shape (N, 3, H, W), or a list of (3, H, W)
        sRGB training images.
    batch : int
        Images converted to Lab at a time (bounds memory).

    Returns
    -------
    np.ndarray, int64, shape (23, 23)
        ``counts[i, j]`` pixels nearest the centre ``a = -110 + 10 i``, ``b = -110 + 10 j``.
    """
    if isinstance(images_u8, torch.Tensor) and (images_u8.ndim != 4 or images_u8.shape[1] != 3):
        raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(images_u8.shape)}")
    counts = torch.zeros(_CELLS * _CELLS, dtype=torch.int64)
    # a tensor goes in slices of `batch` images; a list of images of varying sizes one image at a time
    chunks = images_u8.split(batch) if isinstance(images_u8, torch.Tensor) else (img[None] for img in images_u8)
    for chunk in chunks:
        ab = rgb_to_lab(chunk.float() / 255.0)[:, 1:]
        cell = torch.round((ab.clamp(-AB_LIMIT, AB_LIMIT) + AB_LIMIT) / GRID).long()
        counts += torch.bincount((cell[:, 0] * _CELLS + cell[:, 1]).flatten(), minlength=_CELLS * _CELLS)
    return counts.reshape(_CELLS, _CELLS).numpy()


def fit_bins(counts: np.ndarray, lam: float = DEFAULT_LAMBDA, sigma: float = SOFT_SIGMA) -> ABBins:
    """Classes, smoothed prior and rebalancing weights from grid counts.

    Parameters
    ----------
    counts : np.ndarray, shape (23, 23)
        From :func:`grid_counts`.
    lam : float in [0, 1]
        0 weights by the inverse prior alone, 1 gives every class weight 1.
    sigma : float
        Gaussian smoothing of the prior in Lab units.

    Raises
    ------
    ValueError
        If ``counts`` has the wrong shape or no pixels, or ``lam`` is outside [0, 1].
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape != (_CELLS, _CELLS):
        raise ValueError(f"counts must have shape ({_CELLS}, {_CELLS}), got {counts.shape}")
    if counts.sum() <= 0:
        raise ValueError("counts are all zero: no training pixels to learn colour classes from")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], got {lam}")
    seen = counts > 0
    smooth = gaussian_filter(counts / counts.sum(), sigma=sigma / GRID, mode="constant")
    prior = smooth[seen] / smooth[seen].sum()
    weights = 1.0 / ((1.0 - lam) * prior + lam / len(prior))
    weights /= np.sum(prior * weights)
    axis = np.arange(_CELLS) * GRID - AB_LIMIT
    a, b = np.meshgrid(axis, axis, indexing="ij")
    centers = np.stack([a[seen], b[seen]], axis=1)
    return ABBins(centers.astype(np.float32), prior, weights.astype(np.float32))


def soft_encode(ab: torch.Tensor, centers: torch.Tensor, k: int = SOFT_NEIGHBOURS,
                sigma: float = SOFT_SIGMA) -> tuple[torch.Tensor, torch.Tensor]:
    """Spread each target pixel over its ``k`` nearest bin centres.

    Parameters
    ----------
    ab : torch.Tensor, shape (N, 2, H, W)
        a*b* in Lab units.
    centers : torch.Tensor, shape (Q, 2)
        Bin centres in Lab units, on ``ab``'s device.

    Returns
    -------
    index : torch.Tensor, int64, shape (N, k, H, W)
        Bin indices, nearest first.
    weight : torch.Tensor, float32, shape (N, k, H, W)
        Gaussian weights of those bins; they sum to 1 over ``k``.
    """
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"ab must have shape (N, 2, H, W), got {tuple(ab.shape)}")
    k = min(k, len(centers))
    flat = ab.float().permute(0, 2, 3, 1).reshape(-1, 2)
    dist2 = torch.cdist(flat, centers.float()) ** 2
    near2, index = torch.topk(dist2, k, dim=1, largest=False)
    weight = torch.softmax(-near2 / (2 * sigma ** 2), dim=1)
    n, _, h, w = ab.shape
    return (index.reshape(n, h, w, k).permute(0, 3, 1, 2),
            weight.reshape(n, h, w, k).permute(0, 3, 1, 2))


def annealed_mean(logits: torch.Tensor, centers: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE
                  ) -> torch.Tensor:
    """Decode class logits (N, Q, H, W) to a*b* (N, 2, H, W) in Lab units."""
    probs = torch.softmax(logits.float() / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", probs, centers.float())
