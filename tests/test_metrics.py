"""Metric definitions on known cases; the Histogram type and its stored layout."""
import dataclasses
import json
import math
import pickle

import numpy as np
import pytest

from colorcore.checkpoints import read_metadata
from colorcore.metrics import (Histogram, MetricAccumulator, ab_histogram, ab_rmse, auc_from_errors, colorfulness,
                               psnr, ssim)
from colorcore.units import AB_LIMIT
from helpers import SHIPPED_CHECKPOINTS


def _rgb(*color, h=8, w=8):
    return np.broadcast_to(np.array(color, np.uint8), (h, w, 3)).copy()


def test_psnr_ssim_identical_and_known_error():
    a = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert psnr(a, a) > 140 and ssim(a, a) == pytest.approx(1.0)
    b = np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)
    mse = np.mean((a.astype(float) - b) ** 2)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / mse))
    with pytest.raises(ValueError, match="uint8"):
        psnr(a.astype(float), a)


def test_auc_and_ab_rmse():
    assert auc_from_errors(np.zeros(10)) == 1.0
    assert auc_from_errors(np.full(10, 1000.0)) == 0.0
    assert auc_from_errors(np.full(4, 75.0)) == pytest.approx(76 / 151)
    gray = _rgb(128, 128, 128)
    red = _rgb(200, 60, 60)
    assert ab_rmse(gray, gray) < 0.01 and ab_rmse(gray, red) > 30


def test_colorfulness_zero_for_gray_positive_for_colour():
    assert colorfulness(_rgb(90, 90, 90)) == 0.0
    assert colorfulness(_rgb(255, 0, 0)) > 50


def test_accumulator_cast_green_recall_and_hue_accuracy():
    green = _rgb(40, 180, 40)
    gray = _rgb(128, 128, 128)
    acc = MetricAccumulator()
    acc.add(gray, green)
    res = acc.result()
    assert res["n_images"] == 1 and res["green_recall"] == 0.0 and res["hue_accuracy"] == 0.0
    assert res["cast_a"] > 30  # predicted a* (0) minus true a* (strongly negative)
    perfect = MetricAccumulator()
    perfect.add(green, green)
    r = perfect.result()
    assert r["green_recall"] == 1.0 and r["hue_accuracy"] == 1.0 and abs(r["cast_b"]) < 1e-6
    none = MetricAccumulator()
    none.add(gray, gray)
    assert none.result()["green_recall"] is None and none.result()["hue_accuracy"] is None


def test_ab_histogram_counts_every_pixel_over_the_ab_limit():
    lab = np.zeros((4, 4, 3), np.float32)
    lab[..., 1] = 20
    lab[0, 0, 1:] = (500.0, -500.0)  # beyond the limit: the outer bins
    h = ab_histogram(lab, bins=22)
    assert isinstance(h, Histogram) and h.ndim == 2 and h.counts.shape == (22, 22)
    assert h.n == 16 == h.counts.sum() and h.counts.dtype == np.int64 and h.edges.dtype == np.float64
    assert (h.edges[0], h.edges[-1]) == (-AB_LIMIT, AB_LIMIT) and h.counts[21, 0] == 1
    assert h.centers[0] == -AB_LIMIT + 5 and h.shares.sum() == pytest.approx(1.0)


def test_ab_histogram_bins_as_numpy_histogram2d_even_on_the_edges():
    rng = np.random.default_rng(1)
    edges = np.linspace(-AB_LIMIT, AB_LIMIT, 45)
    values = np.concatenate([rng.uniform(-130, 130, 20000), edges, np.nextafter(edges, 0), [-AB_LIMIT, AB_LIMIT]])
    lab = np.stack([np.zeros_like(values), values, rng.permutation(values)], axis=-1)
    clipped = np.clip(lab[:, 1:], -AB_LIMIT, AB_LIMIT)
    expected, _, _ = np.histogram2d(clipped[:, 0], clipped[:, 1], bins=[edges, edges])
    np.testing.assert_array_equal(ab_histogram(lab).counts, expected)


def test_histograms_merge_and_add():
    lab = np.zeros((4, 4, 3), np.float32)
    lab[..., 1] = 20
    h = ab_histogram(lab, bins=22)
    assert (h + h).n == 32 and (h + h).counts.sum() == 32
    assert Histogram.merge([h, h, h]) == Histogram(h.edges, 3 * h.counts, 48)
    assert (h + Histogram(h.edges, h.counts)).n is None  # n only where both know it
    with pytest.raises(ValueError, match="different bins"):
        h + ab_histogram(lab, bins=44)
    with pytest.raises(ValueError, match="no histograms to merge"):
        Histogram.merge([])


def test_histogram_is_frozen_read_only_and_picklable():
    h = ab_histogram(np.zeros((2, 2, 3), np.float32), bins=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.n = 3
    with pytest.raises(ValueError, match="read-only"):
        h.counts[0, 0] = 9
    copy = pickle.loads(pickle.dumps(h))
    assert copy == h and not copy.counts.flags.writeable
    assert h != Histogram(h.edges, h.counts, 5) and h != h.to_dict()


def test_histogram_dict_round_trip_keeps_the_layout():
    h = ab_histogram(np.zeros((3, 3, 3), np.float32), bins=4)
    stored = json.loads(json.dumps(h.to_dict()))
    assert stored == {"edges": [-110.0, -55.0, 0.0, 55.0, 110.0],
                      "counts": [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 9, 0], [0, 0, 0, 0]], "n": 9}
    assert list(stored) == ["edges", "counts", "n"] and Histogram.from_dict(stored) == h
    one_d = Histogram([0, 10, 20], [1.5, 2])
    assert one_d.to_dict() == {"edges": [0.0, 10.0, 20.0], "counts": [1.5, 2.0]}  # no n, float counts kept
    assert one_d.ndim == 1 and list(one_d.shares) == pytest.approx([1.5 / 3.5, 2 / 3.5])
    assert list(Histogram([0, 1, 2], [0, 0]).shares) == [0.0, 0.0]


@pytest.mark.parametrize("path", SHIPPED_CHECKPOINTS, ids=lambda path: path.stem)
def test_shipped_checkpoint_histograms_read_and_write_back_unchanged(path):
    stored = read_metadata(path).get("train_ab_hist")
    if stored is None:
        pytest.skip(f"{path.stem} stores no training histogram")
    h = Histogram.from_dict(stored, "train_ab_hist")
    assert h.to_dict() == stored and json.dumps(h.to_dict()) == json.dumps(stored)
    assert h.ndim == 2 and h.n == h.counts.sum() and h.edges[-1] == AB_LIMIT


@pytest.mark.parametrize("data, message", [
    (None, "train_ab_hist must be a dict with 'edges' and 'counts', got NoneType"),
    ({"edges": [0, 1]}, r"must be a dict with 'edges' and 'counts', got keys \['edges'\]"),
    ({"edges": [0, 1], "counts": [1], "bins": 1}, r"unknown keys \['bins'\]"),
    ({"edges": [0], "counts": []}, r"edges must be 1-D with at least 2 entries, got shape \(1,\)"),
    ({"edges": [[0, 1]], "counts": [1]}, r"edges must be 1-D with at least 2 entries, got shape \(1, 2\)"),
    ({"edges": [0, 2, 1], "counts": [1, 1]}, "edges must be finite and strictly increasing"),
    ({"edges": [0, float("inf")], "counts": [1]}, "edges must be finite"),
    ({"edges": ["a", "b"], "counts": [1]}, "edges must be numbers"),
    ({"edges": [0, 1, 2], "counts": [[1, 2, 3]]},
     r"counts must have shape \(2,\) or \(2, 2\) for 3 edges, got \(1, 3\)"),
    ({"edges": [0, 1, 2], "counts": [[1], [1, 2]]}, "counts must be a list or a list of equal-length lists"),
    ({"edges": [0, 1], "counts": [None]}, "counts must be numbers"),
    ({"edges": [0, 1], "counts": [-1]}, "counts must be finite and >= 0"),
    ({"edges": [0, 1], "counts": [float("nan")]}, "counts must be finite and >= 0"),
    ({"edges": [0, 1], "counts": [1], "n": -1}, "n must be an integer >= 0 or None, got -1"),
    ({"edges": [0, 1], "counts": [1], "n": True}, "n must be an integer"),
])
def test_histogram_from_dict_refuses_malformed(data, message):
    with pytest.raises(ValueError, match=message) as err:
        Histogram.from_dict(data, "train_ab_hist")
    assert str(err.value).startswith("train_ab_hist ")  # the message names what was read
    if isinstance(data, dict) and {"edges", "counts"} <= set(data) and "bins" not in data:
        with pytest.raises(ValueError, match="^histogram "):  # the constructor checks the same
            Histogram(data["edges"], data["counts"], data.get("n"))
