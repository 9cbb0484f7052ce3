"""Metric definitions on known cases."""
import math

import numpy as np
import pytest

from colorcore.metrics import (MetricAccumulator, ab_histogram, ab_rmse, auc_from_errors, colorfulness,
                               merge_histograms, psnr, ssim)


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


def test_histograms_merge():
    lab = np.zeros((4, 4, 3), np.float32)
    lab[..., 1] = 20
    h = ab_histogram(lab, bins=22)
    assert h["n"] == 16 and np.asarray(h["counts"]).sum() == 16
    assert np.asarray(merge_histograms([h, h])["counts"]).sum() == 32
