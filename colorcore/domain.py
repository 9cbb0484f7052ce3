"""Out-of-domain check: is an image like the ones a checkpoint learned from, as its own encoder sees them?

A checkpoint's colours are learned from its training images; on a kind of image it never saw
(an electron micrograph through a scene model) they are invented.  This module summarises what
the training images look like to the checkpoint's encoder and scores any image against that:

* **features** (:func:`pool`): the encoder's output at the working size, pooled over the image
  into the log of each channel's mean and standard deviation (2 x 128 numbers);
* **summary** (:func:`fit`): their mean over the training images and a shrunk covariance kept in
  compact form (the principal axes holding most of the variance, and one variance for the
  rest), as in probabilistic PCA; stored in the checkpoint's metadata (``domain_check``);
* **score** (:func:`distance`, :func:`verdict`): the Mahalanobis distance of an image's features
  from the training mean, divided by a threshold calibrated on the checkpoint's validation
  split, so that ``domain_score <= 1`` means in domain.

:func:`fit_checkpoint` fits the summary of a checkpoint from its recorded training files
(weights unchanged); ``python -m colorcore checkpoints --fit-domain NAME`` runs it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .metadata import DomainCheck, data_folder, domain_check, split_files
from .units import DEFAULT_WORKING_SIZE

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .checkpoints import Checkpoint

#: How images become feature vectors; a summary made another way is refused.
FEATURES = "log mean and std of encoder channels"
#: Added before the logarithm, so empty channels stay finite.
LOG_EPS = 1e-3
#: Principal axes kept (at most the number of training images minus one).
AXES = 32
#: Validation images that must score in domain: the threshold is this quantile of their distances.
QUANTILE = 0.99
#: Significant digits stored (the summary lives in every checkpoint header).
DIGITS = 5


@dataclass(frozen=True)
class Verdict:
    """Where one image stands against one checkpoint's training domain.

    Attributes
    ----------
    score : float
        Distance from the training images in units of the calibrated threshold (>= 0).
    in_domain : bool
        ``score <= 1``.
    """

    score: float
    in_domain: bool


def pool(features: "torch.Tensor") -> np.ndarray:
    """Image-level feature vectors from encoder features.

    Parameters
    ----------
    features : torch.Tensor, shape (N, C, h, w)
        The encoder's output (:meth:`colorcore.models.base.ColorModel.raw_and_features`).

    Returns
    -------
    np.ndarray, float64, shape (N, 2 C)
        log(mean + eps) and log(std + eps) of every channel over the image.
    """
    if features.ndim != 4:
        raise ValueError(f"features must have shape (N, C, h, w), got {tuple(features.shape)}")
    flat = features.detach().float().flatten(2).cpu()
    std = flat.std(dim=2, unbiased=False)
    pooled = np.concatenate([flat.mean(dim=2).numpy(), std.numpy()], axis=1)
    return np.log(pooled.astype(np.float64) + LOG_EPS)


def _rounded(values: np.ndarray) -> list:
    return np.vectorize(lambda v: float(f"{v:.{DIGITS}g}"), otypes=[float])(values).tolist()


def fit(train: np.ndarray, val: np.ndarray, *, axes: int = AXES, quantile: float = QUANTILE,
        working_size: int = DEFAULT_WORKING_SIZE, fitted_on: dict | None = None) -> DomainCheck:
    """A domain summary from pooled features of training images, its threshold from validation images.

    Parameters
    ----------
    train : np.ndarray, shape (n, D)
        :func:`pool` of the training images (n >= 2).
    val : np.ndarray, shape (m, D)
        :func:`pool` of the validation images (m >= 1): the threshold is their ``quantile``.
    axes : int
        Principal axes kept (fewer when there are fewer training images).
    quantile : float in (0, 1]
    working_size : int
        Long side the images were seen at (recorded; scores are computed at the same size).
    fitted_on : dict, optional
        Provenance to record (folder, file counts).

    Returns
    -------
    DomainCheck
        JSON-able, for the checkpoint's metadata.

    Raises
    ------
    ValueError
        If the arrays have the wrong shapes or too few rows.
    """
    train, val = np.asarray(train, np.float64), np.asarray(val, np.float64)
    if train.ndim != 2 or train.shape[0] < 2:
        raise ValueError(f"need features of at least 2 training images as (n, D), got shape {train.shape}")
    if val.ndim != 2 or val.shape[0] < 1 or val.shape[1] != train.shape[1]:
        raise ValueError(f"validation features must be (m, {train.shape[1]}), got shape {val.shape}")
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    mean = train.mean(axis=0)
    centred = train - mean
    # Right singular vectors of the centred data are the covariance's eigenvectors (no D x D matrix).
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    variances = singular ** 2 / (len(train) - 1)
    k = max(1, min(axes, len(train) - 1, train.shape[1] - 1))
    total = centred.var(axis=0, ddof=1).sum()
    residual = max((total - variances[:k].sum()) / (train.shape[1] - k), 1e-6 * total / train.shape[1], 1e-12)
    check: DomainCheck = {"features": FEATURES, "working_size": int(working_size),
                          "mean": _rounded(mean), "axes": _rounded(vt[:k]),
                          "variances": _rounded(np.maximum(variances[:k], residual)),
                          "residual_variance": float(f"{residual:.{DIGITS}g}"),
                          "threshold": 1.0, "quantile": float(quantile), "fitted_on": dict(fitted_on or {})}
    val_distances = distance(check, val)
    check["threshold"] = float(f"{np.quantile(val_distances, quantile):.{DIGITS}g}")
    check["val_in_domain"] = float(np.mean(val_distances <= check["threshold"]))
    return check


def distance(check: DomainCheck, vectors: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of feature vectors from the training mean (not divided by the threshold).

    Parameters
    ----------
    check : DomainCheck
    vectors : np.ndarray, shape (N, D) or (D,)

    Returns
    -------
    np.ndarray, shape (N,)
        sqrt(sum over axes of projection^2 / variance + rest^2 / residual variance), divided by sqrt(D).
    """
    if check.get("features") != FEATURES:
        raise ValueError(f"domain summary of features {check.get('features')!r}; this colorcore computes {FEATURES!r}")
    mean = np.asarray(check["mean"])
    centred = np.atleast_2d(np.asarray(vectors, np.float64)) - mean
    if centred.shape[1] != mean.size:
        raise ValueError(f"feature vectors must have {mean.size} values, got {centred.shape[1]}")
    projected = centred @ np.asarray(check["axes"]).T
    rest = np.maximum((centred ** 2).sum(axis=1) - (projected ** 2).sum(axis=1), 0.0)
    squared = (projected ** 2 / np.asarray(check["variances"])).sum(axis=1) + rest / check["residual_variance"]
    return np.sqrt(squared / mean.size)


def verdict(check: DomainCheck, vector: np.ndarray) -> Verdict:
    """The :class:`Verdict` of one image's pooled features (shape (D,))."""
    score = float(distance(check, vector)[0] / check["threshold"])
    return Verdict(score, score <= 1.0)


def training_root(meta: dict, data: str | os.PathLike | None = None) -> Path:
    """The folder a checkpoint's recorded files are relative to.

    Parameters
    ----------
    meta : dict
        Checkpoint metadata.
    data : path, optional
        Given by the user; else the recorded ``data.root``, taken relative to the current folder,
        then to the repository the package lives in (training runs from there).

    Raises
    ------
    ValueError
        If no such folder exists (the message says to pass the folder).
    """
    from .paths import REPO_ROOT

    recorded = data_folder(meta)
    candidates = [Path(data)] if data else [Path(recorded), REPO_ROOT / recorded] if recorded else []
    for folder in candidates:
        if folder.is_dir():
            return folder
    what = f"{data}" if data else f"the recorded training folder {recorded!r}" if recorded else "no training folder"
    raise ValueError(f"{meta.get('name', 'checkpoint')}: {what} is not a folder here; pass the folder it was "
                     "trained on (--data DIR)")


def _split_vectors(checkpoint: "Checkpoint", root: Path, files: list[str], working_size: int,
                   progress: Callable | None) -> np.ndarray:
    from .infer import image_features
    from .io import read_image

    rows = []
    for name in (progress(files) if progress else files):
        image, _ = read_image(root / name)
        rows.append(image_features(image, checkpoint, working_size))
    return np.stack(rows)


def fit_checkpoint(checkpoint: "Checkpoint", data: str | os.PathLike | None = None, *,
                   working_size: int = DEFAULT_WORKING_SIZE, progress: Callable | None = None) -> DomainCheck:
    """Fit the domain summary of a loaded checkpoint from its recorded training and validation files.

    Parameters
    ----------
    checkpoint : Checkpoint
    data : path, optional
        The folder it was trained on (default: the recorded one, see :func:`training_root`).
    working_size : int
        Long side the images are seen at (the inference default).
    progress : callable, optional
        Wraps each file list (e.g. ``tqdm``).

    Returns
    -------
    DomainCheck
        Store it with ``update_metadata(path, domain_check=...)``.

    Raises
    ------
    ValueError
        If the checkpoint records no training or validation files, its model has no encoder
        features (the gray baseline), or its folder is missing.
    colorcore.io.ImageError
        If a recorded file cannot be read.
    """
    meta = checkpoint.meta
    train, val = split_files(meta, "train"), split_files(meta, "val")
    if not train or not val:
        raise ValueError(f"{checkpoint.name}: the metadata records no training and validation files to fit on")
    root = training_root(meta, data)
    train_vectors = _split_vectors(checkpoint, root, train, working_size, progress)
    val_vectors = _split_vectors(checkpoint, root, val, working_size, progress)
    return fit(train_vectors, val_vectors, working_size=working_size,
               fitted_on={"root": str(data_folder(meta) if data is None else data), "train_images": len(train),
                          "val_images": len(val)})


__all__ = ["FEATURES", "Verdict", "pool", "fit", "distance", "verdict", "training_root", "fit_checkpoint",
           "domain_check"]
