"""What the pages compute and measure: cached colorizations, colour summaries, metric and test-score rows."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import paths
from ..checkpoints import GRAY_BASELINE, checkpoint_stamp
from ..metadata import CheckpointMeta, data_folder, history, split_metrics
from ..infer import Prediction, merge, predict
from ..io import ImageInfo, encode_result, to_uint8
from ..metrics import METRIC_NAMES, Histogram, MetricAccumulator, ab_histogram, chroma_hue, colorfulness, lab_of
from ..serve import CheckpointStore, Server, get_server
from ..workqueue import Job
from .display import PREVIEW_SIDE

#: Working sizes offered by the pages.
WORKING_SIZES = (256, 384, 512, 768, 1024)
#: File holding the gray baseline's stored test metrics, in the catalog folder.
BASELINES_FILE = "baselines.json"
#: Metrics of the Compare table, in display order.
COMPARE_COLUMNS = ("psnr", "ssim", "ab_rmse", "colorfulness", "colorfulness_gt", "cast_a", "cast_b")


@dataclass
class Colorized:
    """One image through one checkpoint, as a page shows it: a preview, and what makes the full result.

    Attributes
    ----------
    rgb : np.ndarray, uint8 (h, w, 3)
        The result at display size (long side at most :data:`colorcore.app.display.PREVIEW_SIDE`).
    prediction : colorcore.infer.Prediction
        The network's a*b* at working size: :func:`full_resolution` merges it with the input's full-resolution L*.
    full_shape : tuple of int
        (H, W) of the input and of the full-resolution result.
    out_of_gamut : float
        Fraction of the preview's pixels clipped into sRGB.
    confidence : np.ndarray, float32 (h, w), or None
        Per-pixel confidence at the preview's size (classification checkpoints only).
    """

    rgb: np.ndarray
    prediction: Prediction
    full_shape: tuple
    out_of_gamut: float
    confidence: np.ndarray | None = None

    @property
    def working_shape(self) -> tuple:
        """(h, w) the network ran at."""
        return self.prediction.working_shape

    @property
    def in_domain(self) -> bool | None:
        """Whether the image is like the checkpoint's training images (None: the checkpoint has no domain check)."""
        return self.prediction.in_domain

    @property
    def domain_score(self) -> float | None:
        """Distance from the training images; 1 is the edge of the training domain."""
        return self.prediction.domain_score

    @property
    def nbytes(self) -> int:
        """Memory held (for bounded caches)."""
        extra = 0 if self.confidence is None else self.confidence.nbytes + self.prediction.confidence.numel() * 4
        return self.rgb.nbytes + self.prediction.ab.numel() * 4 + extra


def run_preview(image: np.ndarray, checkpoint, working_size: int | None, temperature: float | None = None,
                max_side: int = PREVIEW_SIDE) -> Colorized:
    """Run the network once and merge its a*b* with L* at display size only (the model work a page waits for).

    ``temperature`` is passed on for classification checkpoints (None: their default).
    """
    prediction = predict(image, checkpoint, working_size=working_size, temperature=temperature)
    small = merge(image, prediction, max_side=max_side)
    return Colorized(small.rgb, prediction, tuple(image.shape[:2]), float(small.out_of_gamut), small.confidence)


def result_key(digest: str, name: str, working_size: int | None, temperature: float | None) -> tuple:
    """What identifies one image through one checkpoint (content hash, checkpoint name and file version,
    working size, temperature): the key of its results in the server's cache."""
    return (digest, name, checkpoint_stamp(name), working_size, temperature)


def _preview_job(store: CheckpointStore, image: np.ndarray, name: str, working_size: int | None,
                 temperature: float | None, side: int) -> Colorized:
    return run_preview(image, store.get(name), working_size, temperature, side)


def submit_previews(image: np.ndarray, digest: str, names: list[str], working_size: int | None,
                    temperature: float | None = None, side: int = PREVIEW_SIDE,
                    server: Server | None = None) -> dict[str, Job]:
    """Queue the previews of ``image`` through each checkpoint of ``names`` at once; returns ``{name: job}``.

    The jobs enter the server's queue together (:meth:`colorcore.serve.JobCache.get_or_submit_many`),
    so a page's several checkpoints are served as one block, first come first served against the
    other sessions, instead of one at a time alternating with theirs.  Previews already cached or in
    flight (any session's) are reused.  ``side`` is the preview's long side and part of its key;
    the full-resolution file does not depend on it.

    Raises
    ------
    colorcore.workqueue.QueueFull
        If the queue has no room for the jobs to be queued (none is queued then).
    """
    server = server or get_server()
    requests = [(("preview", *result_key(digest, name, working_size, temperature), side), _preview_job,
                 (server.checkpoints, image, name, working_size, temperature, side), {}) for name in names]
    return dict(zip(names, server.result_cache.get_or_submit_many(requests)))


def full_resolution(image: np.ndarray, colorized: Colorized) -> np.ndarray:
    """The full-resolution result, uint8 (H, W, 3): exactly what ``colorcore colorize`` computes (no network rerun)."""
    return merge(image, colorized.prediction).rgb


def result_file(image: np.ndarray, info: ImageInfo, colorized: Colorized, checkpoint: str, fmt: str = "png") -> bytes:
    """The download of a result: the same bytes as ``colorcore colorize`` writes for that file (PNG or 16-bit TIFF)."""
    return encode_result(full_resolution(image, colorized), info, checkpoint, fmt)


def compare_metrics(outputs: dict[str, np.ndarray], truth: np.ndarray) -> list[dict]:
    """Metrics of several colorizations of one colour image, one row per checkpoint.

    Uses :class:`colorcore.metrics.MetricAccumulator`, exactly as ``colorcore
    evaluate`` does: PSNR, SSIM, ab RMSE, colourfulness of the output and of
    the original, and colour cast (mean predicted minus true a*, b*).

    Parameters
    ----------
    outputs : dict
        ``{checkpoint name: uint8 (H, W, 3)}``.
    truth : np.ndarray, uint8 (H, W, 3)

    Returns
    -------
    list of dict
        ``{"checkpoint", "psnr", "ssim", "ab_rmse", "colorfulness", "colorfulness_gt", "cast_a", "cast_b"}``.
    """
    rows = []
    for name, rgb in outputs.items():
        acc = MetricAccumulator()
        acc.add(rgb, truth)
        res = acc.result()
        rows.append({"checkpoint": name, **{k: res[k] for k in COMPARE_COLUMNS}})
    return rows


def full_resolution_metrics(image: np.ndarray, colorized: Colorized, name: str) -> dict:
    """:func:`compare_metrics` row of one checkpoint on its full-resolution result against the colour ``image``.

    PSNR, SSIM and ab RMSE compare pixel by pixel, so they are measured at full resolution (as
    ``colorcore evaluate`` does), not on the preview.
    """
    return compare_metrics({name: full_resolution(image, colorized)}, to_uint8(image))[0]


def color_summary(rgb: np.ndarray) -> dict:
    """Mean chroma, mean a* and b* (the cast) and colourfulness of a uint8 sRGB image."""
    lab = lab_of(rgb)
    chroma, _ = chroma_hue(lab)
    return {"mean_chroma": float(chroma.mean()), "mean_a": float(lab[..., 1].mean()),
            "mean_b": float(lab[..., 2].mean()), "colorfulness": colorfulness(rgb)}


def hist_summary(hist: Histogram) -> dict:
    """Mean chroma and mean a*, b* of a 2-D a*b* histogram (bin centres weighted by counts).

    Values are None for an empty histogram; ``colorfulness`` is always None (a histogram
    cannot tell).  Raises ``ValueError`` for a 1-D histogram.
    """
    if hist.ndim != 2:
        raise ValueError(f"hist must be a 2-D a*b* histogram, got counts of shape {hist.counts.shape}")
    counts = hist.counts.astype(np.float64)
    total = counts.sum()
    if total <= 0:
        return {"mean_chroma": None, "mean_a": None, "mean_b": None, "colorfulness": None}
    a, b = np.meshgrid(hist.centers, hist.centers, indexing="ij")
    w = counts / total
    return {"mean_chroma": float((np.hypot(a, b) * w).sum()), "mean_a": float((a * w).sum()),
            "mean_b": float((b * w).sum()), "colorfulness": None}


def ab_hist_of(rgb: np.ndarray) -> Histogram:
    """a*b* histogram (:func:`colorcore.metrics.ab_histogram`) of a uint8 sRGB image (H, W, 3)."""
    return ab_histogram(lab_of(rgb))


def summary_rows(named: dict[str, dict]) -> list[dict]:
    """Table rows from ``{label: summary dict}`` (see :func:`color_summary`, :func:`hist_summary`)."""
    return [{"image": label, "mean chroma": s["mean_chroma"], "cast a* (mean)": s["mean_a"],
             "cast b* (mean)": s["mean_b"], "colourfulness": s["colorfulness"]} for label, s in named.items()]


def read_baselines(folder: str | os.PathLike | None = None) -> dict:
    """Stored gray-baseline test metrics, ``{data description: metrics}``; ``{}`` if none.

    Reads ``baselines.json`` in the catalog folder; a missing or malformed file
    gives an empty dict (the page then shows only what checkpoints store).
    """
    path = Path(folder) if folder else paths.catalog_dir()
    try:
        data = json.loads((path / BASELINES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def test_metrics_rows(metas: dict, baselines: dict | None = None) -> list[dict]:
    """Test metrics of each checkpoint followed by the gray baseline's stored ones.

    Parameters
    ----------
    metas : dict
        ``{name: metadata}``; a checkpoint without ``metrics["test"]`` gives a row of None.
    baselines : dict, optional
        From :func:`read_baselines`.

    Returns
    -------
    list of dict
        ``{"checkpoint", "data", *colorcore.metrics.METRIC_NAMES}``.
    """
    rows = []
    for name, meta in metas.items():
        test = split_metrics(meta)
        rows.append({"checkpoint": name, "data": test.get("data", data_folder(meta)),
                     **{k: test.get(k) for k in METRIC_NAMES}})
    for label, metrics in (baselines or {}).items():
        rows.append({"checkpoint": f"{GRAY_BASELINE} (baseline)", "data": label,
                     **{k: metrics.get(k) for k in METRIC_NAMES}})
    return rows


def has_history(meta: CheckpointMeta) -> bool:
    """True when a checkpoint recorded at least one epoch."""
    return bool(history(meta))
