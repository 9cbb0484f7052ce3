"""What the pages compute and measure: cached colorizations, colour summaries, metric and test-score rows."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import paths
from ..checkpoints import GRAY_BASELINE, data_folder, history, split_metrics
from ..infer import colorize
from ..io import encode_png
from ..metrics import METRIC_NAMES, MetricAccumulator, ab_histogram, chroma_hue, colorfulness, lab_of

#: Working sizes offered by the pages.
WORKING_SIZES = (256, 384, 512, 768, 1024)
#: File holding the gray baseline's stored test metrics, in the catalog folder.
BASELINES_FILE = "baselines.json"
#: Metrics of the Compare table, in display order.
COMPARE_COLUMNS = ("psnr", "ssim", "ab_rmse", "colorfulness", "colorfulness_gt", "cast_a", "cast_b")


@dataclass
class Colorized:
    """Result of one image through one checkpoint (what the caches keep).

    Attributes
    ----------
    rgb : np.ndarray, uint8 (H, W, 3)
    working_shape : tuple
    out_of_gamut : float
    png : bytes
        ``rgb`` encoded as PNG (the download).
    """

    rgb: np.ndarray
    working_shape: tuple
    out_of_gamut: float
    png: bytes


def run_colorize(image: np.ndarray, checkpoint, working_size: int | None,
                 temperature: float | None = None) -> Colorized:
    """Colorize one image and encode the PNG download once (a picklable result for caching).

    ``temperature`` is passed on for classification checkpoints (None: their default).
    """
    res = colorize(image, checkpoint, working_size=working_size, temperature=temperature)
    return Colorized(res.rgb, tuple(res.working_shape), float(res.out_of_gamut), encode_png(res.rgb))


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


def color_summary(rgb: np.ndarray) -> dict:
    """Mean chroma, mean a* and b* (the cast) and colourfulness of a uint8 sRGB image."""
    lab = lab_of(rgb)
    chroma, _ = chroma_hue(lab)
    return {"mean_chroma": float(chroma.mean()), "mean_a": float(lab[..., 1].mean()),
            "mean_b": float(lab[..., 2].mean()), "colorfulness": colorfulness(rgb)}


def hist_summary(hist: dict) -> dict:
    """Mean chroma and mean a*, b* of an a*b* histogram (bin centres weighted by counts)."""
    edges = np.asarray(hist["edges"], dtype=np.float64)
    counts = np.asarray(hist["counts"], dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return {"mean_chroma": None, "mean_a": None, "mean_b": None, "colorfulness": None}
    centers = (edges[:-1] + edges[1:]) / 2
    a, b = np.meshgrid(centers, centers, indexing="ij")
    w = counts / total
    return {"mean_chroma": float((np.hypot(a, b) * w).sum()), "mean_a": float((a * w).sum()),
            "mean_b": float((b * w).sum()), "colorfulness": None}


def ab_hist_of(rgb: np.ndarray) -> dict:
    """a*b* histogram (layout of :func:`colorcore.metrics.ab_histogram`) of a uint8 sRGB image."""
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


def has_history(meta: dict) -> bool:
    """True when a checkpoint recorded at least one epoch."""
    return bool(history(meta))
