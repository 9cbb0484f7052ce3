"""Out-of-domain check: is an image like the ones a checkpoint learned from?

A checkpoint's colours are learned from its training images; on a kind of image it never saw
(an electron micrograph through a scene model) they are invented.  This module summarises the
training images in three ways and scores any image against each:

* ``layer1`` and ``layer2``: what the checkpoint's own encoder makes of the image, at the size its
  training images had (``train_config.size``): the log of each channel's mean and standard
  deviation over the image (:func:`pool`) at the outputs of its last two stages (1/4 and 1/8
  resolution: 2 x 64 and 2 x 128 numbers);
* ``lightness``: two statistics of the image's L* at the default working size that tell
  photographs from micrographs whatever the encoder learned (:func:`lightness_statistics`): how
  much the brightness changes across the image (the spread of 4 x 4 block means relative to the
  spread of pixels: a landscape has sky above and ground below, a tissue section looks alike
  everywhere) and the slope of the power spectrum (natural scenes fall off as about 1/f^2).

Each summary is a Gaussian of the standardised vectors in compact probabilistic-PCA form (mean,
scale, the principal axes holding most of the variance and one variance for the rest); its
Mahalanobis distance is divided by a reference (its 98th percentile on held-out images), and the
image's ``domain_score`` is the largest of the three, divided by the calibrated threshold: in domain
when ``domain_score <= 1``.

Calibration (:func:`fit`) uses the checkpoint's recorded training *and* validation images: the
validation images are cut into folds by the checkpoint's group pattern (tiles of one slide stay in
one fold), each fold is scored by a summary fitted without it, and the references and threshold
are quantiles of those held-out scores; the stored summary is then fitted on all of them.
:func:`fit_checkpoint` does this from the files a checkpoint records (weights unchanged);
``python -m colorcore checkpoints --fit-domain NAME`` runs it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .metadata import CheckpointMeta, DomainCheck, data_folder, split_files, train_config
from .units import DEFAULT_WORKING_SIZE

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .checkpoints import Checkpoint

#: How an image becomes the vectors each summary describes; a summary made another way is refused.
FEATURES = {"layer1": "log mean and std of the channels of the encoder's next-to-last stage",
            "layer2": "log mean and std of the encoder's output channels",
            "lightness": "log L* block non-stationarity (4 x 4) and power-spectrum slope"}
#: The summaries of the encoder's stages, in the order :meth:`ColorModel.features` returns them.
STAGES = ("layer1", "layer2")
#: Added before logarithms, so empty channels and flat images stay finite.
LOG_EPS = 1e-3
#: Principal axes kept per summary (fewer when there are fewer images or dimensions).
AXES = 16
#: Share of held-out validation images that must score in domain (the threshold is this quantile).
QUANTILE = 0.98
#: Folds of the validation split for calibration.
FOLDS = 5
#: Significant digits stored (the summary lives in every checkpoint header).
DIGITS = 5
#: Blocks per side for the lightness non-stationarity.
BLOCKS = 4


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


# ---------------------------------------------------------------- what an image becomes

def pool(features: "torch.Tensor") -> np.ndarray:
    """Encoder vectors: log(mean + eps) and log(std + eps) of every channel over the image.

    Parameters
    ----------
    features : torch.Tensor, shape (N, C, h, w)
        One stage's output (:meth:`colorcore.models.base.ColorModel.features`).

    Returns
    -------
    np.ndarray, float64, shape (N, 2 C)
    """
    if features.ndim != 4:
        raise ValueError(f"features must have shape (N, C, h, w), got {tuple(features.shape)}")
    flat = features.detach().float().flatten(2).cpu()
    pooled = np.concatenate([flat.mean(dim=2).numpy(), flat.std(dim=2, unbiased=False).numpy()], axis=1)
    return np.log(pooled.astype(np.float64) + LOG_EPS)


def encoder_vectors(features: tuple) -> dict:
    """``{"layer1": (N, 2 C1), "layer2": (N, 2 C2)}``: :func:`pool` of each stage a model's ``features`` returns.

    Raises
    ------
    ValueError
        If the model does not give one feature map per stage of :data:`STAGES`.
    """
    if features is None or len(features) != len(STAGES):
        raise ValueError(f"the domain check needs the encoder's {len(STAGES)} last stages, got "
                         f"{'none' if features is None else len(features)}")
    return {name: pool(stage) for name, stage in zip(STAGES, features)}


def _spectral_slope(lightness: np.ndarray) -> float:
    """Slope of log power against log spatial frequency, radially averaged (0 when it cannot be fitted)."""
    height, width = lightness.shape
    power = np.abs(np.fft.fft2(lightness - lightness.mean())) ** 2
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij"))
    edges = np.logspace(np.log10(2 / min(height, width)), np.log10(0.5), 12)
    which = np.digitize(radius, edges)
    centres, means = [], []
    for i in range(1, len(edges)):
        ring = power[which == i]
        if ring.size and ring.mean() > 0:
            centres.append(np.sqrt(edges[i - 1] * edges[i]))
            means.append(ring.mean())
    if len(means) < 2:
        return 0.0
    return float(np.polyfit(np.log(centres), np.log(means), 1)[0])


def lightness_statistics(lightness: np.ndarray) -> np.ndarray:
    """Lightness vector of one image: log block non-stationarity and the power-spectrum slope.

    Parameters
    ----------
    lightness : np.ndarray, shape (h, w)
        L* in [0, 100] at the default working size.

    Returns
    -------
    np.ndarray, float64, shape (2,)
        log(std of the 4 x 4 block means / std of the pixels + eps), and the slope.
    """
    lightness = np.asarray(lightness, np.float64)
    if lightness.ndim != 2:
        raise ValueError(f"lightness must be (h, w), got shape {lightness.shape}")
    height, width = (side // BLOCKS * BLOCKS for side in lightness.shape)
    blocks = lightness[:height, :width].reshape(BLOCKS, height // BLOCKS, BLOCKS, width // BLOCKS).mean(axis=(1, 3))
    spread = lightness.std()
    ratio = blocks.std() / spread if spread > 0 else 0.0
    return np.array([np.log(ratio + LOG_EPS), _spectral_slope(lightness)])


# ---------------------------------------------------------------- one summary: a Gaussian in PPCA form

def _round(values) -> list | float:
    rounded = np.vectorize(lambda v: float(f"{v:.{DIGITS}g}"), otypes=[float])(np.asarray(values, np.float64))
    return rounded.tolist()


def _gaussian(vectors: np.ndarray, axes: int) -> dict:
    """Mean, scale, principal axes and variances of standardised ``vectors`` (n, D), n >= 2."""
    mean = vectors.mean(axis=0)
    scale = vectors.std(axis=0) + 1e-6
    centred = (vectors - mean) / scale
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    variances = singular ** 2 / (len(vectors) - 1)
    dims = vectors.shape[1]
    k = max(1, min(axes, len(vectors) - 1, dims - 1))
    total = centred.var(axis=0, ddof=1).sum()
    residual = max((total - variances[:k].sum()) / (dims - k), 1e-6 * max(total, 1e-12) / dims)
    return {"mean": _round(mean), "scale": _round(scale), "axes": _round(vt[:k]),
            "variances": _round(np.maximum(variances[:k], residual)), "residual_variance": _round(residual)}


def _distance(gaussian: dict, vectors: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of vectors (N, D) from a :func:`_gaussian`, divided by sqrt(D)."""
    mean = np.asarray(gaussian["mean"])
    if vectors.shape[1] != mean.size:
        raise ValueError(f"vectors must have {mean.size} values, got {vectors.shape[1]}")
    centred = (vectors - mean) / np.asarray(gaussian["scale"])
    projected = centred @ np.asarray(gaussian["axes"]).T
    rest = np.maximum((centred ** 2).sum(axis=1) - (projected ** 2).sum(axis=1), 0.0)
    squared = (projected ** 2 / np.asarray(gaussian["variances"])).sum(axis=1) + rest / gaussian["residual_variance"]
    return np.sqrt(squared / mean.size)


# ---------------------------------------------------------------- the summary of a checkpoint

def _check_vectors(vectors: dict, what: str) -> dict:
    if set(vectors) != set(FEATURES):
        raise ValueError(f"{what} must have the vectors {', '.join(FEATURES)}, got {', '.join(vectors) or 'none'}")
    out = {name: np.atleast_2d(np.asarray(v, np.float64)) for name, v in vectors.items()}
    if len({len(v) for v in out.values()}) != 1:
        raise ValueError(f"{what}: every kind of vector needs one row per image")
    return out


def _folds(groups: list[str], folds: int) -> np.ndarray:
    """Fold of each validation image; whole groups go to one fold, in a seeded order."""
    names = sorted(set(groups))
    order = np.random.default_rng(0).permutation(len(names))
    fold_of = {names[i]: rank % folds for rank, i in enumerate(order)}
    return np.array([fold_of[g] for g in groups])


def fit(train: dict, val: dict, val_groups: list[str] | None = None, *, axes: int = AXES,
        quantile: float = QUANTILE, folds: int = FOLDS, working_size: int = DEFAULT_WORKING_SIZE,
        fitted_on: dict | None = None) -> DomainCheck:
    """A domain summary from training and validation vectors, calibrated on held-out validation folds.

    Parameters
    ----------
    train, val : dict
        ``{"layer1": (n, D1), "layer2": (n, D2), "lightness": (n, 2)}`` arrays of the training and
        validation images (:func:`encoder_vectors`, :func:`lightness_statistics`).
    val_groups : list of str, optional
        Group of each validation image (a slide, a field of view); a group never straddles folds.
        Default: every image its own group.
    axes : int
        Principal axes kept per summary.
    quantile : float in (0, 1)
        Share of held-out validation images in domain: each summary's reference and the threshold
        are this quantile of held-out scores.
    folds : int
        Validation folds (at most the number of groups).
    working_size : int
        Long side the encoder sees images at (recorded; scores use the same size).
    fitted_on : dict, optional
        Provenance to record.

    Returns
    -------
    DomainCheck
        JSON-able, for the checkpoint's metadata.

    Raises
    ------
    ValueError
        For missing kinds of vectors, mismatched rows, too few images or a bad quantile.
    """
    train, val = _check_vectors(train, "train"), _check_vectors(val, "val")
    n_train, n_val = len(train["lightness"]), len(val["lightness"])
    groups = [str(i) for i in range(n_val)] if val_groups is None else list(val_groups)
    if n_train < 2 or len(groups) != n_val or len(set(groups)) < 2:
        raise ValueError(f"need at least 2 training images and validation images in at least 2 groups "
                         f"(one group per image), got {n_train}, {n_val} and {len(set(groups))}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    fold = _folds(groups, min(folds, len(set(groups))))
    held_out = {name: np.zeros(n_val) for name in FEATURES}
    for i in np.unique(fold):
        for name in FEATURES:
            vectors = np.concatenate([train[name], val[name][fold != i]])
            held_out[name][fold == i] = _distance(_gaussian(vectors, axes), val[name][fold == i])
    references = {name: float(np.quantile(d, quantile)) for name, d in held_out.items()}
    combined = np.max([held_out[name] / references[name] for name in FEATURES], axis=0)
    threshold = float(np.quantile(combined, quantile))
    summaries = {name: {"features": FEATURES[name], "reference": _round(references[name]),
                        **_gaussian(np.concatenate([train[name], val[name]]), axes)} for name in FEATURES}
    return {"working_size": int(working_size), "summaries": summaries, "threshold": _round(threshold),
            "quantile": float(quantile), "val_in_domain": float(np.mean(combined <= threshold)),
            "fitted_on": dict(fitted_on or {})}


def score(check: DomainCheck, vectors: dict) -> np.ndarray:
    """Domain scores of images: the larger summary distance over its reference, over the threshold.

    Parameters
    ----------
    check : DomainCheck
    vectors : dict
        ``{"layer1": (N, D1), "layer2": (N, D2), "lightness": (N, 2)}`` (or one vector each).

    Returns
    -------
    np.ndarray, shape (N,)
        1 is the edge of the training domain.

    Raises
    ------
    ValueError
        If the summary was made from other features than this colorcore computes.
    """
    vectors = _check_vectors(vectors, "vectors")
    distances = []
    for name, summary in check["summaries"].items():
        if FEATURES.get(name) != summary.get("features"):
            raise ValueError(f"domain summary {name!r} of features {summary.get('features')!r}; this colorcore "
                             f"computes {FEATURES.get(name)!r} (fit it again: checkpoints --fit-domain)")
        distances.append(_distance(summary, vectors[name]) / summary["reference"])
    return np.max(distances, axis=0) / check["threshold"]


def verdict(check: DomainCheck, vectors: dict) -> Verdict:
    """The :class:`Verdict` of one image's vectors."""
    value = float(score(check, vectors)[0])
    return Verdict(value, value <= 1.0)


# ---------------------------------------------------------------- fitting a checkpoint from its files

def training_root(meta: CheckpointMeta, data_root: str | os.PathLike | None = None) -> Path:
    """The folder a checkpoint's recorded files are relative to.

    Parameters
    ----------
    meta : dict
        Checkpoint metadata.
    data_root : path, optional
        A folder holding the data sets: the recorded folder's name is looked up in it. Without it,
        the recorded ``data.root`` is taken relative to the current folder, then to the repository
        the package lives in (training runs from there).

    Raises
    ------
    ValueError
        If no such folder exists (the message says what to pass).
    """
    from .paths import REPO_ROOT

    recorded = data_folder(meta)
    if not recorded:
        raise ValueError(f"{meta.get('name', 'checkpoint')}: the metadata records no training folder")
    candidates = [Path(data_root) / Path(recorded).name] if data_root else [Path(recorded), REPO_ROOT / recorded]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise ValueError(f"{meta.get('name', 'checkpoint')}: {candidates[0]} is not a folder here; pass the folder "
                     f"holding the data sets (--data-root DIR, with {Path(recorded).name}/ in it)")


def check_size(meta: CheckpointMeta) -> int:
    """Long side the encoder sees images at for the check: the size the checkpoint was trained at."""
    return int(train_config(meta).get("size") or DEFAULT_WORKING_SIZE)


def _split_vectors(checkpoint: "Checkpoint", root: Path, files: list[str], working_size: int,
                   progress: Callable | None) -> dict:
    from .infer import domain_vectors
    from .io import read_image

    rows = [domain_vectors(read_image(root / name)[0], checkpoint, working_size)
            for name in (progress(files) if progress else files)]
    return {name: np.stack([row[name] for row in rows]) for name in FEATURES}


def fit_checkpoint(checkpoint: "Checkpoint", data_root: str | os.PathLike | None = None, *,
                   progress: Callable | None = None) -> DomainCheck:
    """Fit the domain summary of a loaded checkpoint from its recorded training and validation files.

    Parameters
    ----------
    checkpoint : Checkpoint
    data_root : path, optional
        Where to find the folder it was trained on (see :func:`training_root`).
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
    from .splits import group_of

    meta = checkpoint.meta
    train, val = split_files(meta, "train"), split_files(meta, "val")
    if not train or not val:
        raise ValueError(f"{checkpoint.name}: the metadata records no training and validation files to fit on")
    root = training_root(meta, data_root)
    size = check_size(meta)
    pattern = meta.get("data", {}).get("group_pattern")
    return fit(_split_vectors(checkpoint, root, train, size, progress),
               _split_vectors(checkpoint, root, val, size, progress), [group_of(f, pattern) for f in val],
               working_size=size, fitted_on={"root": str(root),
                                             "train_images": len(train), "val_images": len(val)})
