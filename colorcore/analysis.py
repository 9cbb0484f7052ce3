"""Dataset analysis: what a folder of images holds before it is used for training.

:func:`folder_stats` reads every image of a folder (or a seeded sample of at
most ``max_images``) and reports what matters for colorization training:

* readability (with each failure's reason), image sizes, tiny images;
* gray versus colour storage, and colour-stored images that are nearly gray;
* exact and near duplicates (:mod:`colorcore.duplicates`);
* the a*b* histogram (:func:`colorcore.metrics.ab_histogram`), a hue histogram
  of the coloured pixels and a chroma histogram (:mod:`colorcore.hue_chroma`).

:func:`file_stats` reads one file; :func:`folder_stats` assembles the records.
Colour statistics and hashes are computed on a copy downscaled (box filter) so
that its long side is at most ``ANALYSIS_PX``; sizes and exact-duplicate checks
use the full image.  Gray images count in the a*b* and chroma histograms (at
a* = b* = 0, as they do in a checkpoint's training histogram) but never in the
hue histogram, which only counts pixels with chroma above ``HUE_MIN_CHROMA``.

Checkpoints store only their training a*b* histogram; :func:`checkpoint_data_stats`
derives hue and chroma histograms from it
(:func:`colorcore.hue_chroma.hue_chroma_from_ab_hist`) so the dataset page can show
a checkpoint's training data next to a folder.  Histograms in the results are
:class:`colorcore.metrics.Histogram`; :func:`to_json` gives the JSON layout.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
from PIL import Image

from .splits import list_images
from .duplicates import NEAR_DUPLICATE_BITS, NEAR_DUPLICATE_MEAN_L, difference_hash, exact_duplicates, near_duplicates
from .hue_chroma import HUE_MIN_CHROMA, hue_chroma_from_ab_hist, hue_chroma_histograms
from .io import ImageError, read_image, shrink, to_uint8
from .metrics import Histogram, ab_histogram, chroma_hue, lab_of

#: Long side (px) of the downscaled copy used for colour statistics and hashes.
ANALYSIS_PX = 256


@dataclass(frozen=True)
class RecordedDataStats:
    """What a checkpoint's metadata says about its training data (:func:`checkpoint_data_stats`); a field the
    metadata does not record is None."""

    root: str | None
    n_files: int | None
    manifest_sha256: str | None
    split: dict | None                 # test / val / train / pool counts
    ab_hist: Histogram | None          # the stored training a*b* histogram
    hue_hist: Histogram | None         # derived from ab_hist (colorcore.hue_chroma.hue_chroma_from_ab_hist)
    chroma_hist: Histogram | None
    n_train_pixels: int | None


@dataclass(frozen=True)
class FolderStats:
    """What :func:`folder_stats` found in a folder.  File lists hold relative paths; duplicate groups are sorted
    lists of files; :func:`to_json` gives the JSON layout (these field names, histograms as dicts)."""

    n_files: int                        # image files in the folder (or given)
    n_analysed: int                     # files read (all, or a seeded sample of max_images)
    sampled: bool                       # True when only n_analysed of n_files were read
    n_readable: int
    unreadable: list[dict]              # [{"file", "reason"}]
    sizes: dict[str, list[int]]         # {"widths": [...], "heights": [...]} of the readable images
    tiny: list[str]                     # shorter side < settings["tiny_px"]
    n_color: int                        # readable images stored in colour
    n_gray: int                         # ... stored as gray (RGB files with three identical channels count)
    gray: list[str]
    near_gray: list[str]                # colour-stored, mean chroma < settings["near_gray_chroma"]
    exact_duplicates: list[list[str]]   # same file bytes or same decoded pixels
    near_duplicates: list[list[str]]    # by difference hash (colorcore.duplicates), exact ones excluded
    ab_hist: Histogram
    hue_hist: Histogram                 # coloured pixels only (chroma > HUE_MIN_CHROMA)
    chroma_hist: Histogram
    settings: dict                      # the arguments and constants the analysis used


def require_dir(root: str | os.PathLike) -> Path:
    """``root`` as a Path; ValueError ``"<root>: not a directory"`` if it is not one."""
    path = Path(root)
    if not path.is_dir():
        raise ValueError(f"{path}: not a directory")
    return path


def check_relative(relative: str, what: str) -> PurePosixPath:
    """``relative`` as a POSIX path that stays inside the folder it is relative to.

    Raises
    ------
    ValueError
        If ``relative`` (called ``what`` in the message) is not a string, holds a NUL
        character, is absolute (POSIX or Windows) or contains ``..``.
    """
    if not isinstance(relative, str):
        raise ValueError(f"{what} must be a string, got {type(relative).__name__}")
    if "\x00" in relative:
        raise ValueError(f"{what} {relative!r} contains a NUL character")
    posix = PurePosixPath(relative)
    if posix.is_absolute() or PureWindowsPath(relative).anchor:
        raise ValueError(f"{what} {relative!r} is absolute; give a path relative to the data root")
    if ".." in posix.parts or ".." in PureWindowsPath(relative).parts:
        raise ValueError(f"{what} {relative!r} contains '..'; it must stay inside the data root")
    return posix


def _check_int(value, name: str, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def checkpoint_data_stats(meta: dict) -> RecordedDataStats:
    """What a checkpoint's metadata says about its training data.

    Parameters
    ----------
    meta : dict
        Checkpoint metadata (:func:`colorcore.checkpoints.read_metadata`).

    Returns
    -------
    RecordedDataStats

    Raises
    ------
    ValueError
        If ``meta`` is not a dict, or its a*b* histogram is malformed.
    """
    if not isinstance(meta, dict):
        raise ValueError(f"checkpoint metadata must be a dict, got {type(meta).__name__}")
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    stored = meta.get("train_ab_hist")
    ab_hist = Histogram.from_dict(stored, "train_ab_hist") if isinstance(stored, dict) else None
    hue_hist = chroma_hist = None
    if ab_hist is not None:
        hue_hist, chroma_hist = hue_chroma_from_ab_hist(ab_hist)
    return RecordedDataStats(root=data.get("root"), n_files=data.get("n_files"),
                             manifest_sha256=data.get("manifest_sha256"),
                             split=data.get("split") if isinstance(data.get("split"), dict) else None,
                             ab_hist=ab_hist, hue_hist=hue_hist, chroma_hist=chroma_hist,
                             n_train_pixels=ab_hist.n if ab_hist is not None else None)


def _downscale(image: np.ndarray) -> np.ndarray:
    """uint8 RGB (h, w, 3) copy with long side <= ``ANALYSIS_PX`` (box filter)."""
    rgb = to_uint8(image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2))
    return shrink(rgb, ANALYSIS_PX, Image.Resampling.BOX)


def _check_files(files) -> list[str]:
    if isinstance(files, (str, bytes)) or not hasattr(files, "__iter__"):
        raise ValueError(f"files must be a list of relative paths, got {type(files).__name__}")
    files = list(files)
    if not files:
        raise ValueError("files is empty: nothing to analyse")
    for f in files:
        check_relative(f, "file")
    return files


def _check_settings(max_images, tiny_px, near_gray_chroma, seed) -> None:
    _check_int(max_images, "max_images", 1)
    _check_int(tiny_px, "tiny_px", 1)
    _check_int(seed, "seed", 0)
    if (not isinstance(near_gray_chroma, (int, float, np.number)) or isinstance(near_gray_chroma, bool)
            or not np.isfinite(near_gray_chroma) or near_gray_chroma < 0):
        raise ValueError(f"near_gray_chroma must be a finite number >= 0, got {near_gray_chroma!r}")


def sample_files(files: list[str], max_images: int, seed: int) -> list[str]:
    """The files :func:`folder_stats` reads: all, or a seeded sample of ``max_images`` kept in file order."""
    if len(files) <= max_images:
        return list(files)
    picks = np.random.default_rng(seed).choice(len(files), size=max_images, replace=False)
    return [files[i] for i in sorted(picks)]


@dataclass
class FileStats:
    """What :func:`folder_stats` keeps of one file (its pixels go into :class:`ColourTotals`).

    Attributes
    ----------
    file : str
        Relative path.
    byte_key : str or None
        SHA-256 of the file's bytes; None when they could not be read.
    reason : str or None
        Why the file is unreadable; None when it was decoded and the fields below are set.
    pixel_key : str or None
        SHA-256 of the decoded pixels and their shape.
    width, height : int
        Full size in pixels.
    gray : bool
        Stored as gray (RGB files with three identical channels count as gray).
    mean_chroma : float
        Mean chroma (Lab units) of the downscaled copy.
    dhash : np.ndarray or None
        64 bools: the difference hash of the downscaled copy's L*.
    mean_l : float
        Mean L* of the downscaled copy.
    """

    file: str
    byte_key: str | None = None
    reason: str | None = None
    pixel_key: str | None = None
    width: int = 0
    height: int = 0
    gray: bool = False
    mean_chroma: float = 0.0
    dhash: np.ndarray | None = None
    mean_l: float = 0.0

    @property
    def readable(self) -> bool:
        return self.reason is None


class ColourTotals:
    """The a*b*, hue and chroma histograms of a folder, summed image by image."""

    def __init__(self) -> None:
        self.ab_hist = ab_histogram(np.zeros((0, 3), np.float32))
        self.hue_hist, self.chroma_hist = hue_chroma_histograms(np.zeros(0), np.zeros(0))

    def add(self, lab: np.ndarray, chroma: np.ndarray, hue: np.ndarray) -> None:
        """Count one image: its Lab pixels (..., 3) and their chroma and hue."""
        self.ab_hist += ab_histogram(lab)
        image_hue, image_chroma = hue_chroma_histograms(chroma.ravel(), hue.ravel())
        self.hue_hist += image_hue
        self.chroma_hist += image_chroma

    def result(self) -> dict[str, Histogram]:
        """``ab_hist``, ``hue_hist`` and ``chroma_hist`` as :func:`folder_stats` reports them."""
        return {"ab_hist": self.ab_hist, "hue_hist": self.hue_hist, "chroma_hist": self.chroma_hist}


def file_stats(root: Path, rel: str, colours: ColourTotals) -> FileStats:
    """Read one file of a folder: its :class:`FileStats`, its downscaled pixels added to ``colours``.

    A file that cannot be read or decoded gives a record with ``reason`` set (never raises
    for the file's content).
    """
    try:
        data = (root / rel).read_bytes()
    except OSError as err:
        return FileStats(rel, reason=f"{rel}: cannot read file ({err.strerror or err})")
    record = FileStats(rel, byte_key=hashlib.sha256(data).hexdigest())
    try:
        image, info = read_image(data, name=rel)
    except ImageError as err:
        record.reason = str(err)
        return record
    lab = lab_of(_downscale(image))
    chroma, hue = chroma_hue(lab)
    colours.add(lab, chroma, hue)
    record.pixel_key = hashlib.sha256(repr(image.shape).encode() + image.tobytes()).hexdigest()
    record.width, record.height, record.gray = info.width, info.height, info.channels == 1
    record.mean_chroma = float(chroma.mean())
    record.dhash = difference_hash(lab[..., 0])
    record.mean_l = float(lab[..., 0].mean())
    return record


def _assemble(n_files: int, records: list[FileStats], colours: ColourTotals, settings: dict) -> FolderStats:
    """The :class:`FolderStats` of the per-file records and the colour totals."""
    readable = [r for r in records if r.readable]
    exact = exact_duplicates(records)
    near = near_duplicates(records, exact)
    return FolderStats(
        n_files=n_files, n_analysed=len(records), sampled=len(records) < n_files, n_readable=len(readable),
        unreadable=[{"file": r.file, "reason": r.reason} for r in records if not r.readable],
        sizes={"widths": [r.width for r in readable], "heights": [r.height for r in readable]},
        tiny=[r.file for r in readable if min(r.width, r.height) < settings["tiny_px"]],
        n_color=sum(not r.gray for r in readable), n_gray=sum(r.gray for r in readable),
        gray=[r.file for r in readable if r.gray],
        near_gray=[r.file for r in readable if not r.gray and r.mean_chroma < settings["near_gray_chroma"]],
        exact_duplicates=[[records[i].file for i in group] for group in exact],
        near_duplicates=[[records[i].file for i in group] for group in near],
        **colours.result(), settings=settings)


def folder_stats(root: str | os.PathLike, files: list[str] | None = None, *, max_images: int = 2000,
                 tiny_px: int = 32, near_gray_chroma: float = 4.0, seed: int = 0) -> FolderStats:
    """Analyse the images of a folder for colorization training.

    Parameters
    ----------
    root : str or os.PathLike
        Data folder.
    files : list of str, optional
        Relative paths under ``root`` to analyse; default: all images
        (:func:`colorcore.splits.list_images`).
    max_images : int, default 2000
        With more files, a seeded random sample of this many is analysed
        (in file order).
    tiny_px : int, default 32
        Images whose shorter side is below this are listed as tiny.
    near_gray_chroma : float, default 4.0
        Colour-stored images whose mean chroma (Lab units, on the downscaled
        copy) is below this are listed as near gray.
    seed : int, default 0
        Seed of the sample.

    Returns
    -------
    FolderStats

    Raises
    ------
    ValueError
        If ``root`` is not a directory or holds no images, ``files`` is empty
        or holds absolute or ``..`` paths, or a parameter is out of range.
    """
    root = require_dir(root)
    files = list_images(root) if files is None else _check_files(files)
    _check_settings(max_images, tiny_px, near_gray_chroma, seed)
    colours = ColourTotals()
    records = [file_stats(root, rel, colours) for rel in sample_files(files, max_images, seed)]
    settings = {"seed": int(seed), "max_images": int(max_images), "tiny_px": int(tiny_px),
                "near_gray_chroma": float(near_gray_chroma), "analysis_px": ANALYSIS_PX,
                "hue_min_chroma": HUE_MIN_CHROMA, "near_duplicate_bits": NEAR_DUPLICATE_BITS,
                "near_duplicate_mean_l": NEAR_DUPLICATE_MEAN_L}
    return _assemble(len(files), records, colours, settings)


def to_json(stats: FolderStats | RecordedDataStats) -> dict:
    """The JSON layout of a :func:`folder_stats` or :func:`checkpoint_data_stats` result: its fields by name,
    histograms as :meth:`Histogram.to_dict` dicts."""
    return {f.name: value.to_dict() if isinstance(value := getattr(stats, f.name), Histogram) else value
            for f in fields(stats)}


def summary_lines(stats: FolderStats) -> list[str]:
    """A few human-readable lines about a :func:`folder_stats` result."""
    lines = [f"{stats.n_files} files, {stats.n_analysed} analysed"
             + (" (seeded sample)" if stats.sampled else "")
             + f", {stats.n_readable} readable, {len(stats.unreadable)} unreadable"]
    widths, heights = stats.sizes["widths"], stats.sizes["heights"]
    if widths:
        lines.append(f"sizes: width {min(widths)}..{max(widths)} (median {int(np.median(widths))}), "
                     f"height {min(heights)}..{max(heights)} (median {int(np.median(heights))})")
    tiny_px = stats.settings["tiny_px"]
    lines.append(f"colour {stats.n_color}, gray {stats.n_gray}, near-gray colour {len(stats.near_gray)}, "
                 f"tiny (< {tiny_px} px) {len(stats.tiny)}")
    exact, near = stats.exact_duplicates, stats.near_duplicates
    lines.append(f"exact duplicates: {len(exact)} groups ({sum(map(len, exact))} files); "
                 f"near duplicates: {len(near)} groups ({sum(map(len, near))} files)")
    lines.extend(f"unreadable: {entry['reason']}" for entry in stats.unreadable[:5])
    if len(stats.unreadable) > 5:
        lines.append(f"... and {len(stats.unreadable) - 5} more unreadable files")
    return lines
