"""Training data in memory: decoded images, augmentation, Lab batches, a run's training set.

The file list and its split come from :mod:`colorcore.splits`.

:func:`prepare_data` makes a training run's data from its configuration (split,
decoded images, manifest for the checkpoint); :func:`lab_batch` turns a uint8
batch into network input and target on the training device.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from PIL import Image

from .io import ImageError, read_image, to_uint8
from .lab import encode_ab, encode_input, rgb_to_lab
from .metrics import Histogram, ab_histogram
from .splits import Split, draw_split, file_list_hash, list_images, oversampled, split_sizes
from .units import SIZE_MULTIPLE

if TYPE_CHECKING:  # pragma: no cover
    from .config import TrainConfig


def _rescale(img: Image.Image, scale: float, min_side: int) -> Image.Image:
    """``img`` scaled by ``scale`` (bicubic up, Lanczos down), each side at least ``min_side``."""
    if scale == 1.0:
        return img
    new = (max(min_side, round(img.width * scale)), max(min_side, round(img.height * scale)))
    return img.resize(new, Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS)


def resize_center_crop(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize so the short side is ``size`` (antialiased), then center-crop to size x size.

    Parameters
    ----------
    rgb : np.ndarray, uint8, shape (H, W, 3)

    Returns
    -------
    np.ndarray, uint8, shape (size, size, 3)
    """
    img = Image.fromarray(rgb)
    img = _rescale(img, size / min(img.width, img.height), size)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    return np.asarray(img.crop((left, top, left + size, top + size)))


def fit_long_side(rgb: np.ndarray, max_side: int, min_side: int) -> np.ndarray:
    """Scale an image as inference sees it: long side down to ``max_side`` if larger, aspect kept.

    Images whose short side would be under ``min_side`` are enlarged to it
    (a training crop must fit).  No crop, no padding.

    Parameters
    ----------
    rgb : np.ndarray, uint8, shape (H, W, 3)

    Returns
    -------
    np.ndarray, uint8, shape (h, w, 3)
    """
    img = Image.fromarray(rgb)
    scale = max(min(1.0, max_side / max(img.width, img.height)), min_side / min(img.width, img.height))
    return np.asarray(_rescale(img, scale, min_side))


def read_rgb_uint8(path: str | Path) -> np.ndarray:
    """Read an image as uint8 sRGB (H, W, 3); gray images get three equal channels."""
    img, _ = read_image(path)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return to_uint8(img)


def _decode_all(root: Path, files: list[str], fit, progress) -> tuple[list[torch.Tensor], list[str]]:
    """``fit(rgb)`` of every readable file as uint8 (3, h, w) tensors, and the unreadable files' reasons."""
    images, bad = [], []
    for f in (progress(files) if progress else files):
        try:
            arr = fit(read_rgb_uint8(root / f))
        except ImageError as err:
            bad.append(str(err))
            continue
        images.append(torch.from_numpy(np.array(arr)).permute(2, 0, 1))
    return images, bad


def load_image_tensor(root: str | Path, files: list[str], size: int, progress=None
                      ) -> tuple[torch.Tensor, list[str]]:
    """Decode ``files`` once into a uint8 tensor (N, 3, size, size) kept in memory.

    Returns the tensor and the files that could not be read (skipped, with
    their reasons), so one bad file does not stop a training run.
    """
    images, bad = _decode_all(Path(root), files, lambda rgb: resize_center_crop(rgb, size), progress)
    return (torch.stack(images) if images else torch.empty((0, 3, size, size), dtype=torch.uint8)), bad


def load_image_list(root: str | Path, files: list[str], max_side: int, min_side: int, progress=None
                    ) -> tuple[list[torch.Tensor], list[str]]:
    """Decode ``files`` once at the scale inference sees them (:func:`fit_long_side`).

    Returns uint8 (3, h, w) tensors of varying sizes and the unreadable files' reasons.
    """
    return _decode_all(Path(root), files, lambda rgb: fit_long_side(rgb, max_side, min_side), progress)


def image_batches(images: torch.Tensor | list[torch.Tensor], batch: int, multiple: int = 1):
    """Yield uint8 (n, 3, h, w) batches: slices of a tensor, or one image at a time from a list.

    List images are center-cropped to multiples of ``multiple`` (a network's stride).
    """
    if isinstance(images, torch.Tensor):
        for start in range(0, len(images), batch):
            yield images[start:start + batch]
        return
    for img in images:
        h, w = (img.shape[-2] // multiple) * multiple, (img.shape[-1] // multiple) * multiple
        top, left = (img.shape[-2] - h) // 2, (img.shape[-1] - w) // 2
        yield img[None, :, top:top + h, left:left + w]


def take(images: torch.Tensor | list[torch.Tensor], index: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
    """``images[index]`` for a tensor or a list of tensors."""
    return images[index] if isinstance(images, torch.Tensor) else [images[i] for i in index.tolist()]


def augment_batch(batch: torch.Tensor | list[torch.Tensor], crop: int, generator: torch.Generator
                  ) -> torch.Tensor:
    """Random crop to ``crop`` x ``crop`` and random horizontal flip, per image.

    Parameters
    ----------
    batch : torch.Tensor, shape (N, C, S, S), or list of (C, H, W) tensors of any sizes
    crop : int, <= every image's height and width
    generator : torch.Generator
        Source of randomness, so epochs are reproducible.
    """
    n = len(batch)
    h = min(img.shape[-2] for img in batch)
    w = min(img.shape[-1] for img in batch)
    if crop > min(h, w):
        raise ValueError(f"crop {crop} is larger than the cached images ({h} x {w})")
    if isinstance(batch, torch.Tensor):
        tops = torch.randint(0, h - crop + 1, (n,), generator=generator).tolist()
        lefts = torch.randint(0, w - crop + 1, (n,), generator=generator).tolist()
    else:  # a uniform draw scaled to each image's own size
        u = torch.rand(2, n, generator=generator)
        tops = [int(x * (img.shape[-2] - crop + 1)) for x, img in zip(u[0].tolist(), batch)]
        lefts = [int(x * (img.shape[-1] - crop + 1)) for x, img in zip(u[1].tolist(), batch)]
    flips = (torch.rand(n, generator=generator) < 0.5).tolist()
    crops = []
    for img, top, left, flip in zip(batch, tops, lefts, flips):
        img = img[:, top:top + crop, left:left + crop]
        crops.append(img.flip(-1) if flip else img)
    return torch.stack(crops)



# ---------------------------------------------------------------- a training run's data
def lab_batch(batch_u8: torch.Tensor, device: torch.device, recipe: str
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Network input, target and L* of a uint8 sRGB batch, on ``device``.

    Parameters
    ----------
    batch_u8 : torch.Tensor, uint8, shape (N, 3, H, W)
    device : torch.device
    recipe : {"corrected", "study"}
        Decides the encodings (see :func:`colorcore.lab.encode_input` and :func:`colorcore.lab.encode_ab`).

    Returns
    -------
    net_in : torch.Tensor, float32, shape (N, 1, H, W)
    target : torch.Tensor, float32, shape (N, 2, H, W)
        Encoded a*b*.
    lightness : torch.Tensor, float32, shape (N, 1, H, W)
        L* to rebuild colour images with.
    """
    rgb = batch_u8.to(device, non_blocking=True).float() / 255.0
    net_in, lightness = encode_input(rgb, recipe)
    target = encode_ab(rgb_to_lab(rgb)[:, 1:], recipe)
    return net_in, target, lightness


def training_ab_histogram(images: torch.Tensor | list[torch.Tensor], batch: int = 256) -> Histogram:
    """a*b* histogram of uint8 training images, (N, 3, H, W) or a list (stored as ``train_ab_hist``).

    Raises ``ValueError`` if there are no images.
    """
    return Histogram.merge([
        ab_histogram(rgb_to_lab(chunk.float() / 255.0).permute(0, 2, 3, 1).numpy())
        for chunk in image_batches(images, batch)])


@dataclass
class TrainingSet:
    """A training run's decoded images and the manifest stored in its checkpoint.

    Attributes
    ----------
    manifest : dict
        Root, file count and hashes, seed, patterns, split sizes, hashes and file lists, skipped files.
    train : torch.Tensor (N, 3, S, S) uint8, or list of (3, h, w) uint8 tensors (native scale)
        Training images of an epoch (oversampled files repeated).
    val : like ``train``
        Validation images.
    """

    manifest: dict
    train: torch.Tensor | list[torch.Tensor]
    val: torch.Tensor | list[torch.Tensor]


def prepare_data(cfg: "TrainConfig", log: Callable[[str], None]) -> TrainingSet:
    """Split ``cfg.data`` and decode the training and validation images once into memory.

    Raises
    ------
    ValueError
        If no file matches ``cfg.include`` or ``cfg.oversample``, the split is impossible,
        or no training or validation image is readable.
    """
    files = list_images(cfg.data)
    if cfg.include:
        files = [f for f in files if re.search(cfg.include, f)]
        if not files:
            raise ValueError(f"{cfg.data}: no image file matches --include {cfg.include!r}")
    n_test, n_val = split_sizes(len(files), cfg.test_images, cfg.val_images)
    split = draw_split(files, seed=cfg.seed, n_test=n_test, n_val=n_val, group_pattern=cfg.group_pattern)
    train_files = split.train(cfg.train_images)
    log(f"data: {len(files)} files -> test {len(split.test)}, val {len(split.val)}, "
        f"train {len(train_files)} of a pool of {len(split.pool)}")
    seen = oversampled(train_files, cfg.oversample, cfg.oversample_factor)
    if len(seen) > len(train_files):
        log(f"oversampling: {len(seen) - len(train_files)} extra training samples an epoch from "
            f"files matching {cfg.oversample!r}")
    more = list_images(cfg.more_data) if cfg.more_data else []
    if more:
        log(f"more data: {len(more)} training images from {cfg.more_data}")
    train_imgs, bad_train = _load(cfg, cfg.data, seen, cfg.crop or cfg.size)
    if more:
        more_imgs, bad_more = _load(cfg, cfg.more_data, more, cfg.crop or cfg.size)
        train_imgs, bad_train = _concat(train_imgs, more_imgs), bad_train + bad_more
    val_imgs, bad_val = _load(cfg, cfg.data, split.val, SIZE_MULTIPLE)
    for reason in bad_train + bad_val:
        log(f"skipped: {reason}")
    if len(train_imgs) == 0 or len(val_imgs) == 0:
        raise ValueError(f"{cfg.data}: no readable training or validation images")
    return TrainingSet(_manifest(cfg, files, split, train_files, more, bad_train + bad_val), train_imgs, val_imgs)


def _load(cfg: "TrainConfig", root: str, files: list[str], min_side: int
          ) -> tuple[torch.Tensor | list[torch.Tensor], list[str]]:
    """Decode ``files`` of ``root`` as ``cfg.scale`` says (native: at least ``min_side`` px)."""
    if cfg.scale == "native":
        return load_image_list(root, files, cfg.size, min_side)
    return load_image_tensor(root, files, cfg.size)


def _concat(a: torch.Tensor | list[torch.Tensor], b: torch.Tensor | list[torch.Tensor]
            ) -> torch.Tensor | list[torch.Tensor]:
    """Two image sets of the same kind (tensors or lists) as one."""
    return torch.cat([a, b]) if isinstance(a, torch.Tensor) else list(a) + list(b)


def _manifest(cfg: "TrainConfig", files: list[str], split: Split, train_files: list[str], more: list[str],
              skipped: list[str]) -> dict:
    """What a checkpoint records of its data: enough to rebuild and verify the split."""
    extra = {"more": {"root": str(cfg.more_data), "n_files": len(more), "manifest_sha256": file_list_hash(more)}
             } if more else {}
    return {
        "root": str(cfg.data), "n_files": len(files), "manifest_sha256": file_list_hash(files),
        "seed": cfg.seed, "group_pattern": cfg.group_pattern, "include": cfg.include,
        "split": {"test": len(split.test), "val": len(split.val), "train": len(train_files),
                  "pool": len(split.pool)},
        "split_sha256": {"test": file_list_hash(split.test), "val": file_list_hash(split.val),
                         "train": file_list_hash(train_files)},
        "files": {"test": split.test, "val": split.val, "train": sorted(train_files)},
        "skipped": skipped,
        **extra,
    }
