"""Hue and chroma histograms: of pixels, and derived from an a*b* histogram."""
from __future__ import annotations

import numpy as np
import pytest

from colorcore.hue_chroma import CHROMA_MAX, HUE_MIN_CHROMA, hue_chroma_from_ab_hist, hue_chroma_histograms
from colorcore.metrics import Histogram, ab_histogram


def synthetic_ab_hist() -> Histogram:
    """Default a*b* histogram (44 bins of 5 over -110..110) with three filled bins."""
    counts = np.zeros((44, 44), np.int64)
    counts[28, 22] = 10  # a* 30..35, b* 0..5: centre (32.5, 2.5), hue 4.4, chroma 32.6
    counts[22, 32] = 7  # a* 0..5, b* 50..55: centre (2.5, 52.5), hue 87.3, chroma 52.6
    counts[22, 22] = 5  # centre (2.5, 2.5): chroma 3.5, too low for the hue histogram
    return Histogram(ab_histogram(np.zeros((0, 3), np.float32)).edges, counts, 22)


def test_hue_chroma_histograms_of_pixels():
    chroma = np.array([0.0, HUE_MIN_CHROMA, 12.0, 40.0, 1000.0])
    hue = np.array([5.0, 95.0, 15.0, 355.0, 185.0])
    hue_hist, chroma_hist = hue_chroma_histograms(chroma, hue)
    assert hue_hist.ndim == chroma_hist.ndim == 1 and hue_hist.n is None
    assert hue_hist.counts.tolist() == [0, 1] + [0] * 16 + [1] + [0] * 16 + [1]  # chroma 10 is not vivid
    assert chroma_hist.counts.sum() == 5 and chroma_hist.counts[-1] == 1  # above CHROMA_MAX: last bin
    assert chroma_hist.edges[-1] == CHROMA_MAX and hue_hist.counts.dtype == np.int64
    weighted, _ = hue_chroma_histograms(chroma, hue, np.array([1.0, 1.0, 2.4, 1.0, 1.0]), hue_bins=4)
    assert weighted.counts.tolist() == [2, 0, 1, 1]  # a weight of 2.4 counts as 2


def test_hue_chroma_from_ab_hist():
    hue, chroma = hue_chroma_from_ab_hist(synthetic_ab_hist())
    assert len(hue.counts) == 36 and hue.edges[1] == 10
    assert hue.counts[0] == 10 and hue.counts[8] == 7 and hue.counts.sum() == 17
    assert chroma.counts[6] == 10 and chroma.counts[10] == 7 and chroma.counts[0] == 5
    assert chroma.counts.sum() == 22
    hue12, chroma5 = hue_chroma_from_ab_hist(synthetic_ab_hist(), hue_bins=12, chroma_bins=5)
    assert len(hue12.counts) == 12 and len(chroma5.counts) == 5 and chroma5.counts[1] == 17


def test_hue_chroma_from_ab_hist_refuses_malformed():
    with pytest.raises(TypeError, match="ab_hist must be a Histogram"):
        hue_chroma_from_ab_hist({"edges": [0, 1], "counts": [[1]]})
    with pytest.raises(ValueError, match=r"must be a 2-D a\*b\* histogram, got counts of shape \(2,\)"):
        hue_chroma_from_ab_hist(Histogram([0, 1, 2], [1, 2]))
    with pytest.raises(ValueError, match="hue_bins must be an integer >= 1, got 0"):
        hue_chroma_from_ab_hist(synthetic_ab_hist(), hue_bins=0)
    with pytest.raises(ValueError, match="chroma_bins must be an integer >= 1, got 2.5"):
        hue_chroma_from_ab_hist(synthetic_ab_hist(), chroma_bins=2.5)
