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

:class:`Histogram` is the one histogram type (a*b* by :func:`ab_histogram`, hue and
chroma by :mod:`colorcore.hue_chroma`), with the JSON layout stored in checkpoints.
"""
from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass

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


@dataclass(frozen=True, eq=False)
class Histogram:
    """Counts over bins: 1-D (hue, chroma) or square 2-D over a*b*, checked once when made.

    Frozen, with read-only arrays, so a cached histogram cannot be changed in place.
    :meth:`to_dict` gives the JSON layout stored in checkpoint metadata (``train_ab_hist``) and
    written by ``colorcore analyze --json``; :meth:`from_dict` reads it back.

    Parameters
    ----------
    edges : array_like of float, (k + 1,)
        Bin edges, finite and strictly increasing; a 2-D histogram uses them on both axes.
        Kept as float64.
    counts : array_like, (k,) or (k, k)
        Finite, non-negative; integer counts are kept as int64, others as float64.  In 2-D,
        ``counts[i, j]`` counts a* bin i and b* bin j.
    n : int, optional
        Pixels counted (an a*b* histogram of pixels has ``counts.sum() == n``); None when the
        histogram does not say.

    Raises
    ------
    ValueError
        If the edges or counts break the rules above, or ``n`` is not an integer >= 0.
    """

    edges: np.ndarray
    counts: np.ndarray
    n: int | None = None

    def __post_init__(self) -> None:
        for name, value in zip(("edges", "counts", "n"), _checked(self.edges, self.counts, self.n, "histogram")):
            object.__setattr__(self, name, value)

    def __reduce__(self):
        return (Histogram, (self.edges, self.counts, self.n))  # unpickled through the checks

    def __repr__(self) -> str:
        return (f"Histogram({self.ndim}-D, {len(self.centers)} bins over {self.edges[0]:g}..{self.edges[-1]:g}, "
                f"n={self.n})")

    def __eq__(self, other) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (self.n == other.n and np.array_equal(self.edges, other.edges)
                and np.array_equal(self.counts, other.counts))

    __hash__ = None  # compared by value, and holds arrays

    @classmethod
    def from_dict(cls, data, what: str = "histogram") -> "Histogram":
        """Read the stored layout ``{"edges", "counts"[, "n"]}`` (lists, as :meth:`to_dict` writes).

        ``what`` names the histogram in error messages (e.g. ``"train_ab_hist"``).

        Raises
        ------
        ValueError
            If ``data`` is not a dict with ``edges`` and ``counts`` (and optionally ``n``)
            and nothing else, or its values break the rules of :class:`Histogram`.
        """
        if not isinstance(data, dict) or "edges" not in data or "counts" not in data:
            got = f"keys {sorted(map(str, data))}" if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"{what} must be a dict with 'edges' and 'counts', got {got}")
        unknown = sorted(set(map(str, data)) - {"edges", "counts", "n"})
        if unknown:
            raise ValueError(f"{what} has unknown keys {unknown}; expected 'edges', 'counts' and 'n'")
        return cls(*_checked(data["edges"], data["counts"], data.get("n"), what))

    def to_dict(self) -> dict:
        """``{"edges": floats, "counts": nested lists, "n": int}`` (no ``n`` when None); JSON-able."""
        out = {"edges": self.edges.tolist(), "counts": self.counts.tolist()}
        if self.n is not None:
            out["n"] = self.n
        return out

    @property
    def ndim(self) -> int:
        """1 for a histogram over one quantity, 2 for a*b*."""
        return self.counts.ndim

    @property
    def centers(self) -> np.ndarray:
        """Bin centres, float64 (k,)."""
        return (self.edges[:-1] + self.edges[1:]) / 2.0

    @property
    def shares(self) -> np.ndarray:
        """Counts as shares, float64: divided by ``n``, or by their sum when ``n`` is None or 0 (zeros stay 0)."""
        return self.counts / float(self.n or self.counts.sum() or 1.0)

    def __add__(self, other: "Histogram") -> "Histogram":
        """The sum of two histograms with the same edges (``n`` is None unless both have it)."""
        if not isinstance(other, Histogram):
            return NotImplemented
        if self.counts.shape != other.counts.shape or not np.array_equal(self.edges, other.edges):
            raise ValueError(f"cannot add histograms with different bins: {self!r} and {other!r}")
        n = None if self.n is None or other.n is None else self.n + other.n
        return Histogram(self.edges, self.counts + other.counts, n)

    @classmethod
    def merge(cls, hists) -> "Histogram":
        """Sum of one or more histograms with the same edges; ValueError if there are none."""
        hists = list(hists)
        if not hists:
            raise ValueError("no histograms to merge")
        return functools.reduce(operator.add, hists)


def _checked(edges, counts, n, what: str) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Read-only float64 edges, int64 (or float64) counts and ``n``, checked as :class:`Histogram` says."""
    arrays = {}
    for name, value in (("edges", edges), ("counts", counts)):
        try:
            arrays[name] = np.array(value)
        except ValueError:  # ragged nested lists
            raise ValueError(f"{what} {name} must be a list or a list of equal-length lists") from None
        if arrays[name].dtype.kind not in "iuf":
            raise ValueError(f"{what} {name} must be numbers, got {arrays[name].dtype} values")
    edges, counts = arrays["edges"], arrays["counts"]
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"{what} edges must be 1-D with at least 2 entries, got shape {edges.shape}")
    edges = edges.astype(np.float64)
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"{what} edges must be finite and strictly increasing, got {edges.tolist()}")
    k = edges.size - 1
    if counts.shape not in ((k,), (k, k)):
        raise ValueError(f"{what} counts must have shape ({k},) or ({k}, {k}) for {k + 1} edges, got {counts.shape}")
    counts = counts.astype(np.float64 if counts.dtype.kind == "f" else np.int64)
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError(f"{what} counts must be finite and >= 0")
    if n is not None and (not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0):
        raise ValueError(f"{what} n must be an integer >= 0 or None, got {n!r}")
    edges.flags.writeable = False
    counts.flags.writeable = False
    return edges, counts, None if n is None else int(n)


def ab_histogram(lab: np.ndarray, bins: int = 44, limit: float = AB_LIMIT) -> Histogram:
    """2-D histogram of a*b* (a* across, b* up) of a Lab array (..., 3).

    a* and b* beyond ``limit`` count in the outer bins, so ``n`` is every pixel.  Edges are
    rounded to 4 decimals (as stored in checkpoint metadata).

    Returns
    -------
    Histogram
        ``bins`` x ``bins`` counts (``counts[i, j]``: a* bin i, b* bin j) over
        ``-limit..limit``; ``n``: pixels counted.
    """
    edges = np.linspace(-limit, limit, bins + 1)
    a = _bin_index(np.clip(lab[..., 1].ravel(), -limit, limit), edges)
    b = _bin_index(np.clip(lab[..., 2].ravel(), -limit, limit), edges)
    counts = np.bincount(a * bins + b, minlength=bins * bins).reshape(bins, bins)
    return Histogram(edges.round(4), counts.astype(np.int64), int(a.size))


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each ``x`` (within ``edges[0]..edges[-1]``) for equal-width ``edges``, as ``np.histogram``.

    Computed arithmetically and then corrected against the edges, as NumPy's own fast path
    does, so values on an edge land where ``np.histogram2d`` puts them (the upper bin, the
    last edge in the last bin); 10x faster than ``histogram2d``'s search.
    """
    bins = len(edges) - 1
    index = np.clip(((x - edges[0]) * (bins / (edges[-1] - edges[0]))).astype(np.intp), 0, bins - 1)
    index[x < edges[index]] -= 1
    index[(x >= edges[index + 1]) & (index != bins - 1)] += 1
    return index
