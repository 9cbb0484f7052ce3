"""Training data for the Train page: an uploaded ZIP or a folder under the data root, checked before a job uses it.

:func:`prepare_zip` extracts a ZIP safely (:mod:`colorcore.app.zipdata`) into a new job folder,
analyses it (:func:`colorcore.analysis.folder_stats`: counts, gray and near-gray images, duplicates)
and removes what would mislead training: unreadable files, images stored as gray (nothing to learn
colour from) and extra copies of exact duplicates (a copy in the training split and another in the
test split would flatter the test score).  :func:`prepare_folder` analyses a data-root folder
without changing it.  Both refuse data without enough colour images to train, validate and test,
and list every file a job will not train on with the reason (:attr:`PreparedData.left_out`).
An upload is refused when it would pass the disk quotas (:mod:`colorcore.app.quotas`).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis import FolderStats, folder_stats, summary_lines
from ..splits import list_images
from . import jobs, quotas
from .folders import list_data_folders, resolve_data_folder
from .zipdata import LeftOut, ZipLimits, ZipRefused, extract_images, left_out_reason

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
    stats : FolderStats
        :func:`colorcore.analysis.folder_stats` of the folder as given.
    n_images : int
        Image files a job splits into training, validation and test images.
    left_out : list of LeftOut
        Every file given that a job does not train on, and why: a ZIP's members that are not images,
        hidden or macOS metadata (by their names in the ZIP) and the images removed from its folder
        (unreadable, stored as gray, an exact copy); a folder's files that are not images or hidden,
        and its unreadable images.
    job_id : str or None
        The job folder a ZIP was extracted into (the job is submitted with this id); None for a data-root folder.
    """

    folder: str
    source: str
    stats: FolderStats
    n_images: int
    left_out: list = field(default_factory=list)
    job_id: str | None = None


def unusable(stats: FolderStats) -> dict[str, str]:
    """``{file: why}`` of the images a job should not train on: unreadable, stored as gray, extra exact copies."""
    why = {u["file"]: f"unreadable ({u['reason']})" for u in stats.unreadable}
    why.update({f: "stored as gray" for f in stats.gray})
    for group in stats.exact_duplicates:
        why.update({f: f"an exact copy of {group[0]}" for f in group[1:] if f not in why})
    return why


def _check_colour(stats: FolderStats, n_usable: int, source: str) -> None:
    if stats.n_readable and not stats.n_color:
        raise ValueError(f"{source}: only gray images ({stats.n_gray}); the network learns colour from "
                         "colour images of the stain")
    if n_usable < MIN_IMAGES:
        raise ValueError(f"{source}: {n_usable} usable colour image(s); at least {MIN_IMAGES} are needed "
                         "(training, validation and test)")


def prepare_zip(data: bytes, filename: str, limits: ZipLimits = ZipLimits(), owner: str = "") -> PreparedData:
    """Extract, analyse and clean an uploaded ZIP in a new job folder of session ``owner``.

    The session's earlier drafts (uploads it never trained on) are removed first: this upload replaces them.

    Raises
    ------
    colorcore.app.zipdata.ZipRefused
        For an unusable archive (see :func:`colorcore.app.zipdata.extract_images`).
    colorcore.app.quotas.QuotaExceeded
        When its images would pass the session's or the server's quota of job folders.
    ValueError
        For too few colour images (only gray ones, say). Either way the job folder is removed.
    """
    if owner:
        jobs.remove_drafts(owner)
    job_id, folder = jobs.new_folder(owner)
    try:
        extracted = extract_images(data, folder / "data", limits,
                                   reserve=lambda n_bytes: quotas.check_upload(owner, n_bytes))
        stats = folder_stats(folder / "data", max_images=ANALYSE_AT_MOST)
        why = unusable(stats) if not stats.sampled else {}
        _check_colour(stats, stats.n_readable - len(why), filename)
    except (ZipRefused, ValueError):
        shutil.rmtree(folder, ignore_errors=True)
        raise
    for name in why:
        (folder / "data" / name).unlink(missing_ok=True)
    left_out = extracted.left_out + [LeftOut(f, w) for f, w in why.items()]
    return PreparedData(str(folder / "data"), filename, stats, stats.n_files - len(why), left_out, job_id)


def _not_listed(folder: Path) -> list[LeftOut]:
    """The files under ``folder`` that a job does not list as images (:func:`colorcore.splits.list_images`), and why."""
    listed = set(list_images(folder))
    return [LeftOut(rel, left_out_reason(rel) or "not an image")
            for rel in sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
            if rel not in listed]


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
    _check_colour(stats, stats.n_color, relative)
    unreadable = [LeftOut(u["file"], f"unreadable ({u['reason']}); training skips it") for u in stats.unreadable]
    return PreparedData(str(folder), relative, stats, stats.n_files, _not_listed(Path(folder)) + unreadable)


def left_out_rows(prepared: PreparedData) -> list[dict]:
    """``[{"file", "reason"}]``: the files a job on ``prepared`` does not train on, for a table."""
    return [{"file": item.file, "reason": item.reason} for item in prepared.left_out]


def summary(prepared: PreparedData) -> list[str]:
    """Lines about ``prepared``: the analysis (:func:`colorcore.analysis.summary_lines`), what a job can use."""
    lines = [f"**{prepared.source}**: {prepared.n_images} image(s) for training, validation and test."]
    lines += summary_lines(prepared.stats)
    if prepared.left_out:
        lines.append(f"{len(prepared.left_out)} file(s) are left out of training (each with the reason in the list).")
    return lines


def warnings(prepared: PreparedData) -> list[str]:
    """What the user should know before training on ``prepared`` (near-gray, near duplicates, gray, tiny)."""
    stats, notes = prepared.stats, []
    if prepared.job_id is None and (stats.n_gray or stats.exact_duplicates):
        notes.append(f"{stats.n_gray} gray image(s) and {len(stats.exact_duplicates)} group(s) of exact "
                     "duplicates in this folder are trained on as they are")
    if stats.near_gray:
        notes.append(f"{len(stats.near_gray)} colour image(s) are nearly gray (mean chroma under "
                     f"{stats.settings['near_gray_chroma']:g}): they teach the network faint colours")
    if stats.near_duplicates:
        notes.append(f"{len(stats.near_duplicates)} group(s) of near duplicates: copies may land in both the "
                     "training and the test images and flatter the test score")
    if stats.tiny:
        notes.append(f"{len(stats.tiny)} image(s) smaller than {stats.settings['tiny_px']} px are enlarged")
    return notes


def default_split(n_images: int) -> tuple[int, int, int]:
    """(train, validation, test) sizes for ``n_images`` colour images: 10 % each for validation and test
    (at least 1), the rest for training."""
    held = max(1, n_images // 10)
    return n_images - 2 * held, held, held
