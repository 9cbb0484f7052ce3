"""Hue and chroma histograms: of Lab pixels, or derived from an a*b* histogram (a checkpoint's).

Hue histograms count only what is coloured: pixels (or a*b* bins) with chroma above
``HUE_MIN_CHROMA``; chroma histograms count everything, chroma above ``CHROMA_MAX`` in
the last bin.
"""
from __future__ import annotations

import numpy as np

from .metrics import Histogram, chroma_hue

#: Pixels with chroma (Lab units) at or below this are left out of the hue histogram.
HUE_MIN_CHROMA = 10.0
#: Default bins of the hue histogram (over 0-360 degrees).
HUE_BINS = 36
#: Default bins of the chroma histogram; chroma above ``CHROMA_MAX`` counts in the last bin.
CHROMA_BINS = 30
CHROMA_MAX = 150.0


def _edges(bins, name: str, top: float) -> np.ndarray:
    """``bins + 1`` edges over 0..``top``; ValueError unless ``bins`` is an integer >= 1."""
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {bins!r}")
    return np.linspace(0.0, top, bins + 1)


def hue_chroma_histograms(chroma: np.ndarray, hue: np.ndarray, weights: np.ndarray | None = None, *,
                          hue_bins: int = HUE_BINS, chroma_bins: int = CHROMA_BINS) -> tuple[Histogram, Histogram]:
    """Hue histogram of entries with chroma > ``HUE_MIN_CHROMA`` and chroma histogram of all.

    Parameters
    ----------
    chroma, hue : np.ndarray, float (N,)
        Chroma (Lab units) and hue angle (degrees, [0, 360)) of each entry
        (:func:`colorcore.metrics.chroma_hue`).
    weights : np.ndarray, float (N,), optional
        How much each entry counts (default 1); counts are rounded to integers.
    hue_bins, chroma_bins : int, default 36 and 30
        Bins over 0-360 degrees and over chroma 0 to ``CHROMA_MAX``.

    Returns
    -------
    hue_hist, chroma_hist : Histogram
        1-D, int64 counts, ``n`` None; edges rounded to 4 decimals.

    Raises
    ------
    ValueError
        If ``hue_bins`` or ``chroma_bins`` is not an integer >= 1.
    """
    hue_edges = _edges(hue_bins, "hue_bins", 360.0)
    chroma_edges = _edges(chroma_bins, "chroma_bins", CHROMA_MAX)
    vivid = chroma > HUE_MIN_CHROMA
    hue_counts, _ = np.histogram(hue[vivid], bins=hue_edges, weights=None if weights is None else weights[vivid])
    chroma_counts, _ = np.histogram(np.minimum(chroma, CHROMA_MAX), bins=chroma_edges, weights=weights)
    return (Histogram(hue_edges.round(4), np.rint(hue_counts).astype(np.int64)),
            Histogram(chroma_edges.round(4), np.rint(chroma_counts).astype(np.int64)))


def hue_chroma_from_ab_hist(ab_hist: Histogram, *, hue_bins: int = HUE_BINS,
                            chroma_bins: int = CHROMA_BINS) -> tuple[Histogram, Histogram]:
    """Hue and chroma histograms derived from a 2-D a*b* histogram.

    Each a*b* bin contributes its count at its centre's hue and chroma; the
    hue histogram counts only bins whose centre chroma exceeds
    ``HUE_MIN_CHROMA``, like :func:`colorcore.analysis.folder_stats` does with
    pixels.  Bins are 5 Lab units wide for the default a*b* histogram, so the
    result is a coarser version of what the pixels would give.

    Parameters
    ----------
    ab_hist : Histogram
        2-D, ``counts[i, j]`` for a* bin i and b* bin j
        (:func:`colorcore.metrics.ab_histogram`; a stored one read with
        :meth:`Histogram.from_dict`).
    hue_bins : int, default 36
        Bins over 0-360 degrees.
    chroma_bins : int, default 30
        Bins over chroma 0 to ``CHROMA_MAX`` (higher chroma counts in the last bin).

    Returns
    -------
    hue_hist, chroma_hist : Histogram
        1-D, ``n`` None.

    Raises
    ------
    TypeError
        If ``ab_hist`` is not a :class:`~colorcore.metrics.Histogram`.
    ValueError
        If ``ab_hist`` is 1-D, or a number of bins is not an integer >= 1.
    """
    if not isinstance(ab_hist, Histogram):
        raise TypeError(f"ab_hist must be a Histogram (Histogram.from_dict reads a stored one), "
                        f"got {type(ab_hist).__name__}")
    if ab_hist.ndim != 2:
        raise ValueError(f"ab_hist must be a 2-D a*b* histogram, got counts of shape {ab_hist.counts.shape}")
    a, b = np.meshgrid(ab_hist.centers, ab_hist.centers, indexing="ij")
    chroma, hue = chroma_hue(np.stack([np.zeros_like(a), a, b], axis=-1))
    return hue_chroma_histograms(chroma.ravel(), hue.ravel(), ab_hist.counts.ravel().astype(np.float64),
                                 hue_bins=hue_bins, chroma_bins=chroma_bins)
