"""Data folders for the Dataset page: the folders under the data root, safe selection, and statistics as table rows."""
from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

from ..analysis import FolderStats, RecordedDataStats, check_relative, require_dir
from ..io import is_image_name

#: Deepest sub-folder level listed by :func:`list_data_folders`.
MAX_FOLDER_DEPTH = 2


def list_data_folders(root: str | os.PathLike) -> list[str]:
    """Sub-folders of ``root``, up to two levels deep, that hold image files.

    A folder is listed when an image file lies in it or anywhere below it (as
    :func:`colorcore.splits.list_images` would find).  Hidden folders (name
    starting with ``.``) are skipped and symbolic links to folders are not
    followed; ``root`` itself is not listed.

    Parameters
    ----------
    root : str or os.PathLike
        Folder to search (the data root is :func:`colorcore.paths.data_root`).

    Returns
    -------
    list of str
        Sorted relative POSIX paths, e.g. ``["micrographs", "micrographs/blood_bccd"]``.

    Raises
    ------
    ValueError
        If ``root`` is not a directory.
    """
    root = require_dir(root)
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        parts = Path(dirpath).relative_to(root).parts
        if parts and any(is_image_name(f) for f in filenames):
            for depth in range(1, min(MAX_FOLDER_DEPTH, len(parts)) + 1):
                found.add("/".join(parts[:depth]))
    return sorted(found)


def resolve_data_folder(root: str | os.PathLike, relative: str) -> Path:
    """Join ``relative`` to ``root`` safely.

    Parameters
    ----------
    root : str or os.PathLike
        The data root folder.
    relative : str
        A folder inside ``root`` as a relative POSIX path (e.g. from
        :func:`list_data_folders`); ``""`` or ``"."`` is the root itself.

    Returns
    -------
    pathlib.Path
        The resolved (absolute, symlink-free) folder.

    Raises
    ------
    ValueError
        If ``root`` is not a directory, ``relative`` is absolute, contains
        ``..``, leads outside ``root`` through a symbolic link, or is not a
        folder.
    """
    base = require_dir(root).resolve()
    posix = check_relative(relative, "folder")
    target = (base / posix).resolve()
    if not target.is_relative_to(base):
        raise ValueError(f"folder {relative!r} leads outside the data root {base} (symbolic link)")
    if not target.is_dir():
        raise ValueError(f"folder {relative!r} is not a folder inside {base}")
    return target


def overview_rows(stats: FolderStats | RecordedDataStats) -> list[dict]:
    """``[{"item", "value"}]`` rows of the scalar facts of a folder's or a checkpoint's data statistics (a dict
    of scalars, such as a split's counts, flattened once)."""
    rows = []
    for item in fields(stats):
        key, value = item.name, getattr(stats, item.name)
        if isinstance(value, (str, int, float, bool)) or value is None:
            rows.append({"item": key, "value": str(value)})
        elif isinstance(value, dict) and all(isinstance(v, (str, int, float, bool)) or v is None
                                             for v in value.values()):
            rows.extend({"item": f"{key}.{k}", "value": str(v)} for k, v in value.items())
    return rows


def quality_counts(stats: FolderStats) -> list[dict]:
    """``[{"check", "count"}]`` of the quality problems a folder analysis found."""
    checks = ((stats.unreadable, "unreadable files"), (stats.tiny, "tiny images"),
              (stats.near_gray, "near-gray images"), (stats.exact_duplicates, "groups of exact duplicates"),
              (stats.near_duplicates, "groups of near duplicates"))
    return [{"check": label, "count": len(found)} for found, label in checks]


def quality_lists(stats: FolderStats) -> dict[str, list[str]]:
    """Each quality check's files as display lines (duplicate groups joined by ``=``)."""
    def unreadable(u: dict) -> str:
        return u["reason"] if u["reason"].startswith(u["file"]) else f"{u['file']}: {u['reason']}"

    return {"unreadable files": [unreadable(u) for u in stats.unreadable],
            "tiny images": list(stats.tiny),
            "near-gray images": list(stats.near_gray),
            "exact duplicates": [" = ".join(g) for g in stats.exact_duplicates],
            "near duplicates": [" ~ ".join(g) for g in stats.near_duplicates]}
