"""Loss-independent colorization metrics, on what the user sees: 8-bit sRGB images.

Every metric compares a colorized 8-bit sRGB image with its 8-bit original, so
a model trained with MSE and one trained with Huber are measured on one scale.
Per-image metrics (PSNR, SSIM, ab RMSE, AuC, colorfulness) are averaged over
images; pooled ones (cast, green recall, hue accuracy) count pixels over all
images.  :class:`MetricAccumulator` does both and gives the JSON layout used by
``colorcore evaluate``:

psnr
    10 log10(255^2 / MSE) per image (MSE floored at 1e-10: identical images
    give 148 dB, not infinity).
ssim
    ``skimage.metrics.structural_similarity(..., channel_axis=-1,
    data_range=255)`` (window shrunk to fit images under 7 pixels).
ab_rmse
    sqrt(mean(da*^2 + db*^2)) in Lab units.
auc
    Mean over t = 0..150 of the fraction of pixels with ab error <= t, divided
    into the area under that curve (Zhang et al. 2016), in [0, 1].
colorfulness, colorfulness_gt
    Hasler and Suesstrunk (2003) on the output and on the original.
cast_a, cast_b
    Mean predicted a* (b*) minus mean true a* (b*) over all pixels.
green_recall
    Of original pixels with a* < -10 and chroma > 15, the fraction predicted
    with a* < -5 (None if there are none).
hue_accuracy
    Of original pixels with chroma > 20, the fraction whose predicted hue is
    within 45 degrees and predicted chroma > 10 (None if there are none).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from skimage.metrics import structural_similarity

from .lab import rgb_to_lab
from .units import AB_LIMIT

METRIC_NAMES = ("n_images", "psnr", "ssim", "ab_rmse", "auc", "colorfulness", "colorfulness_gt",
                "cast_a", "cast_b", "green_recall", "hue_accuracy")
AUC_MAX_THRESHOLD = 150


def _check_pair(pred: np.ndarray, true: np.ndarray) -> None:
    for arr, name in ((pred, "pred"), (true, "true")):
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[-1] != 3:
            raise ValueError(f"{name} must be a uint8 array of shape (H, W, 3), got {arr.dtype} {arr.shape}")
    if pred.shape != true.shape:
        raise ValueError(f"pred and true must have the same shape, got {pred.shape} and {true.shape}")


def lab_of(rgb_u8: np.ndarray) -> np.ndarray:
    """CIE Lab (H, W, 3) float32 of an 8-bit sRGB image (H, W, 3)."""
    t = torch.from_numpy(np.require(rgb_u8, requirements=["C", "W"])).permute(2, 0, 1).float() / 255.0
    return rgb_to_lab(t).permute(1, 2, 0).numpy()


def psnr(pred: np.ndarray, true: np.ndarray) -> float:
    """PSNR in dB of two uint8 sRGB images (data range 255)."""
    _check_pair(pred, true)
    mse = float(np.mean((pred.astype(np.float64) - true.astype(np.float64)) ** 2))
    return 10.0 * math.log10(255.0 ** 2 / max(mse, 1e-10))


def ssim(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean SSIM of two uint8 sRGB images (scikit-image, channel_axis=-1)."""
    _check_pair(pred, true)
    side = min(pred.shape[:2])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return float("nan")
    return float(structural_similarity(pred, true, channel_axis=-1, data_range=255, win_size=win))


def ab_error(pred_lab: np.ndarray, true_lab: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean a*b* error in Lab units."""
    d = pred_lab[..., 1:] - true_lab[..., 1:]
    return np.sqrt(np.sum(d * d, axis=-1))


def ab_rmse(pred: np.ndarray, true: np.ndarray) -> float:
    """Root mean square a*b* error in Lab units of two uint8 sRGB images."""
    _check_pair(pred, true)
    return float(np.sqrt(np.mean(ab_error(lab_of(pred), lab_of(true)) ** 2)))


def auc_from_errors(err: np.ndarray) -> float:
    """Area under the cumulative ab-error curve for thresholds 0..150, in [0, 1]."""
    hits = np.clip(AUC_MAX_THRESHOLD + 1 - np.ceil(err), 0, AUC_MAX_THRESHOLD + 1)
    return float(hits.mean() / (AUC_MAX_THRESHOLD + 1))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk (2003) colourfulness of a uint8 sRGB image."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))


def chroma_hue(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chroma (Lab units) and hue angle (degrees, [0, 360)) of a Lab array (..., 3)."""
    a, b = lab[..., 1], lab[..., 2]
    return np.hypot(a, b), np.degrees(np.arctan2(b, a)) % 360.0


class MetricAccumulator:
    """Accumulates per-image and pooled metrics over many (prediction, truth) pairs."""

    def __init__(self):
        self.per_image: dict[str, list] = {k: [] for k in
                                           ("psnr", "ssim", "ab_rmse", "auc", "colorfulness", "colorfulness_gt")}
        self.n_pixels = 0
        self.sum_da = 0.0
        self.sum_db = 0.0
        self.green_total = 0
        self.green_hit = 0
        self.hue_total = 0
        self.hue_hit = 0

    def add(self, pred: np.ndarray, true: np.ndarray) -> dict:
        """Add one pair of uint8 sRGB images (H, W, 3); returns that image's metrics."""
        _check_pair(pred, true)
        pred_lab, true_lab = lab_of(pred), lab_of(true)
        err = ab_error(pred_lab, true_lab)
        row = {"psnr": psnr(pred, true), "ssim": ssim(pred, true),
               "ab_rmse": float(np.sqrt(np.mean(err ** 2))), "auc": auc_from_errors(err),
               "colorfulness": colorfulness(pred), "colorfulness_gt": colorfulness(true)}
        for key, value in row.items():
            self.per_image[key].append(value)
        self.n_pixels += err.size
        self.sum_da += float(np.sum(pred_lab[..., 1] - true_lab[..., 1], dtype=np.float64))
        self.sum_db += float(np.sum(pred_lab[..., 2] - true_lab[..., 2], dtype=np.float64))
        true_chroma, true_hue = chroma_hue(true_lab)
        pred_chroma, pred_hue = chroma_hue(pred_lab)
        green = (true_lab[..., 1] < -10) & (true_chroma > 15)
        self.green_total += int(green.sum())
        self.green_hit += int((green & (pred_lab[..., 1] < -5)).sum())
        vivid = true_chroma > 20
        hue_diff = np.abs((pred_hue - true_hue + 180.0) % 360.0 - 180.0)
        self.hue_total += int(vivid.sum())
        self.hue_hit += int((vivid & (hue_diff <= 45.0) & (pred_chroma > 10)).sum())
        return row

    def result(self) -> dict:
        """Metrics in the ``colorcore evaluate`` JSON layout (None where undefined)."""
        n = len(self.per_image["psnr"])
        out: dict = {"n_images": n}
        for key, values in self.per_image.items():
            finite = [v for v in values if not math.isnan(v)]
            out[key] = float(np.mean(finite)) if finite else None
        out["cast_a"] = self.sum_da / self.n_pixels if self.n_pixels else None
        out["cast_b"] = self.sum_db / self.n_pixels if self.n_pixels else None
        out["green_recall"] = self.green_hit / self.green_total if self.green_total else None
        out["hue_accuracy"] = self.hue_hit / self.hue_total if self.hue_total else None
        return {k: out[k] for k in METRIC_NAMES}


def ab_histogram(lab: np.ndarray, bins: int = 44, limit: float = AB_LIMIT) -> dict:
    """2-D histogram of a*b* (a* across, b* up) of a Lab array (..., 3).

    Returns
    -------
    dict
        ``{"edges": list of bins + 1 floats, "counts": bins x bins nested list
        (counts[i][j]: a* bin i, b* bin j), "n": pixels counted}``; JSON-able, so
        it can be stored in checkpoint metadata.
    """
    edges = np.linspace(-limit, limit, bins + 1)
    a = np.clip(lab[..., 1].ravel(), -limit, limit)
    b = np.clip(lab[..., 2].ravel(), -limit, limit)
    counts, _, _ = np.histogram2d(a, b, bins=[edges, edges])
    return {"edges": edges.round(4).tolist(), "counts": counts.astype(np.int64).tolist(), "n": int(a.size)}


def merge_histograms(hists: list[dict]) -> dict:
    """Sum histograms made by :func:`ab_histogram` with the same edges."""
    if not hists:
        raise ValueError("no histograms to merge")
    counts = np.sum([np.asarray(h["counts"], dtype=np.int64) for h in hists], axis=0)
    return {"edges": hists[0]["edges"], "counts": counts.tolist(), "n": int(sum(h["n"] for h in hists))}
