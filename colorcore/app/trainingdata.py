"""Training data for the Train page: an uploaded ZIP or a folder under the data root, checked before a job uses it.

:func:`prepare_zip` extracts a ZIP safely (:mod:`colorcore.app.zipdata`) into a new job folder,
analyses it (:func:`colorcore.analysis.folder_stats`: counts, gray and near-gray images, duplicates)
and removes what would mislead training: unreadable files, images stored as gray (nothing to learn
colour from) and extra copies of exact duplicates (a copy in the training split and another in the
test split would flatter the test score).  :func:`prepare_folder` analyses a data-root folder
without changing it.  Both refuse data without enough colour images to train, validate and test.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from ..analysis import folder_stats, summary_lines
from . import jobs
from .folders import list_data_folders, resolve_data_folder
from .zipdata import ZipLimits, ZipRefused, extract_images

#: Colour images needed at least: one each for training, validation and test.
MIN_IMAGES = 3
#: At most this many images are analysed (a seeded sample beyond), as on the Dataset page.
ANALYSE_AT_MOST = 2000


@dataclass
class PreparedData:
    """Images ready for a training job.

    Attributes
    ----------
    folder : str
        Folder of the images.
    source : str
        What the user gave (the ZIP's name, or the folder relative to the data root).
    stats : dict
        :func:`colorcore.analysis.folder_stats` of the folder as given.
    n_images : int
        Image files a job splits into training, validation and test images.
    removed : list of str
        ``"file: why"`` of the images removed from a ZIP's folder.
    skipped : list of str
        ZIP members that were not images.
    job_id : str or None
        The job folder a ZIP was extracted into (the job is submitted with this id); None for a data-root folder.
    """

    folder: str
    source: str
    stats: dict
    n_images: int
    removed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    job_id: str | None = None


def unusable(stats: dict) -> dict[str, str]:
    """``{file: why}`` of the images a job should not train on: unreadable, stored as gray, extra exact copies."""
    why = {u["file"]: "unreadable" for u in stats["unreadable"]}
    why.update({f: "stored as gray" for f in stats["gray"]})
    for group in stats["exact_duplicates"]:
        why.update({f: f"an exact copy of {group[0]}" for f in group[1:] if f not in why})
    return why


def _check_colour(stats: dict, n_usable: int, source: str) -> None:
    if stats["n_readable"] and not stats["n_color"]:
        raise ValueError(f"{source}: only gray images ({stats['n_gray']}); the network learns colour from "
                         "colour images of the stain")
    if n_usable < MIN_IMAGES:
        raise ValueError(f"{source}: {n_usable} usable colour image(s); at least {MIN_IMAGES} are needed "
                         "(training, validation and test)")


def prepare_zip(data: bytes, filename: str, limits: ZipLimits = ZipLimits()) -> PreparedData:
    """Extract, analyse and clean an uploaded ZIP in a new job folder.

    Raises
    ------
    colorcore.app.zipdata.ZipRefused
        For an unusable archive (see :func:`colorcore.app.zipdata.extract_images`).
    ValueError
        For too few colour images (only gray ones, say). Either way the job folder is removed.
    """
    job_id, folder = jobs.new_folder()
    try:
        extracted = extract_images(data, folder / "data", limits)
        stats = folder_stats(folder / "data", max_images=ANALYSE_AT_MOST)
        why = unusable(stats) if not stats["sampled"] else {}
        _check_colour(stats, stats["n_readable"] - len(why), filename)
    except (ZipRefused, ValueError):
        shutil.rmtree(folder, ignore_errors=True)
        raise
    for name in why:
        (folder / "data" / name).unlink(missing_ok=True)
    return PreparedData(str(folder / "data"), filename, stats, stats["n_files"] - len(why),
                        [f"{f}: {w}" for f, w in why.items()], extracted.skipped, job_id)


def prepare_folder(root: str | os.PathLike, relative: str) -> PreparedData:
    """Analyse a folder under the data root (never changed) for a job.

    Raises
    ------
    ValueError
        If ``relative`` is not one of :func:`colorcore.app.folders.list_data_folders`, or it holds too
        few colour images.
    """
    if relative not in list_data_folders(root):
        raise ValueError(f"{relative!r} is not one of the data folders under {root}")
    folder = resolve_data_folder(root, relative)
    stats = folder_stats(folder, max_images=ANALYSE_AT_MOST)
    _check_colour(stats, stats["n_color"], relative)
    return PreparedData(str(folder), relative, stats, stats["n_files"])


def summary(prepared: PreparedData) -> list[str]:
    """Lines about ``prepared``: the analysis (:func:`colorcore.analysis.summary_lines`), what a job can use."""
    lines = [f"**{prepared.source}**: {prepared.n_images} image(s) for training, validation and test."]
    lines += summary_lines(prepared.stats)
    if prepared.skipped:
        lines.append(f"{len(prepared.skipped)} file(s) in the ZIP are not images and were skipped.")
    return lines


def warnings(prepared: PreparedData) -> list[str]:
    """What the user should know before training on ``prepared`` (near-gray, near duplicates, gray, tiny)."""
    stats, notes = prepared.stats, []
    if prepared.removed:
        notes.append(f"{len(prepared.removed)} file(s) left out: " + "; ".join(prepared.removed[:5])
                     + (" ..." if len(prepared.removed) > 5 else ""))
    if prepared.job_id is None and (stats["n_gray"] or stats["exact_duplicates"]):
        notes.append(f"{stats['n_gray']} gray image(s) and {len(stats['exact_duplicates'])} group(s) of exact "
                     "duplicates in this folder are trained on as they are")
    if stats["near_gray"]:
        notes.append(f"{len(stats['near_gray'])} colour image(s) are nearly gray (mean chroma under "
                     f"{stats['settings']['near_gray_chroma']:g}): they teach the network faint colours")
    if stats["near_duplicates"]:
        notes.append(f"{len(stats['near_duplicates'])} group(s) of near duplicates: copies may land in both the "
                     "training and the test images and flatter the test score")
    if stats["tiny"]:
        notes.append(f"{len(stats['tiny'])} image(s) smaller than {stats['settings']['tiny_px']} px are enlarged")
    return notes


def default_split(n_images: int) -> tuple[int, int, int]:
    """(train, validation, test) sizes for ``n_images`` colour images: 10 % each for validation and test
    (at least 1), the rest for training."""
    held = max(1, n_images // 10)
    return n_images - 2 * held, held, held
