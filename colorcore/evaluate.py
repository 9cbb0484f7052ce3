"""Evaluate checkpoints on a folder of colour images with the common metrics."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .checkpoints import Checkpoint
from .infer import DEFAULT_WORKING_SIZE, colorize
from .io import ImageError, read_image, to_uint8
from .metrics import MetricAccumulator


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
