"""Evaluate checkpoints on a folder of colour images with the common metrics."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .checkpoints import Checkpoint
from .infer import DEFAULT_WORKING_SIZE, colorize
from .io import ImageError, read_image, to_uint8
from .metadata import split_files
from .metrics import METRIC_NAMES, MetricAccumulator
from .splits import list_images


def evaluation_files(data: str | Path, split: str, checkpoints: list[Checkpoint]) -> list[str]:
    """The files of ``data`` to evaluate on: all its images (``split`` ``"all"``), or the ``split`` (``"test"``,
    ``"val"``) the first of ``checkpoints`` that records one was trained with.

    Raises
    ------
    ValueError
        If ``data`` holds no images, or ``split`` is named and none of ``checkpoints`` records it.
    """
    if split == "all":
        return list_images(data)
    recorded = [files for c in checkpoints if (files := split_files(c.meta, split)) is not None]
    if not recorded:
        raise ValueError(f"--split {split} needs a checkpoint that records its split")
    return recorded[0]


def evaluate(root: str | Path, files: list[str], checkpoints: list[Checkpoint], *,
             working_size: int | None = DEFAULT_WORKING_SIZE, temperature: float | None = None,
             progress: Callable | None = None) -> tuple[dict, list[str]]:
    """Colorize the L* of every colour image and compare with the original.

    Parameters
    ----------
    root : str or Path
        Folder the ``files`` are relative to.
    files : list of str
    checkpoints : list of Checkpoint
        Each is run on every image (``load_checkpoint("gray")`` is the baseline).
    working_size : int or None
        As in :func:`colorcore.colorize`.
    temperature : float or None
        Annealed-mean temperature for the classification checkpoints among
        ``checkpoints`` (regression ones ignore it).
    progress : callable, optional
        Wraps the file iterable (e.g. ``tqdm``).

    Returns
    -------
    results : dict
        ``{checkpoint name: metrics}`` in the layout of :meth:`MetricAccumulator.result`.
    problems : list of str
        One line per file that was skipped (unreadable or not in colour).
    """
    accumulators = {c.name: MetricAccumulator() for c in checkpoints}
    temperatures = {c.name: temperature if c.model.takes_temperature else None for c in checkpoints}
    problems = []
    root = Path(root)
    for name in (progress(files) if progress else files):
        try:
            image, _ = read_image(root / name)
        except ImageError as err:
            problems.append(str(err))
            continue
        if image.ndim != 3:
            problems.append(f"{name}: grayscale image has no colour to compare with; skipped")
            continue
        truth = to_uint8(image)
        for ckpt in checkpoints:
            accumulators[ckpt.name].add(colorize(image, ckpt, working_size=working_size,
                                                       temperature=temperatures[ckpt.name]).rgb, truth)
    return {name: acc.result() for name, acc in accumulators.items()}, problems


def format_results(results: dict) -> str:
    """Plain-text table of :func:`evaluate`'s ``results``, one row per checkpoint (``-`` where a metric is None)."""
    width = max([10] + [len(n) for n in results])
    lines = [f"{'checkpoint':<{width}} " + " ".join(f"{c:>15}" for c in METRIC_NAMES)]
    for name, row in results.items():
        cells = []
        for c in METRIC_NAMES:
            v = row[c]
            cells.append(f"{'-':>15}" if v is None else f"{v:>15d}" if isinstance(v, int) else f"{v:>15.4f}")
        lines.append(f"{name:<{width}} " + " ".join(cells))
    return "\n".join(lines)
