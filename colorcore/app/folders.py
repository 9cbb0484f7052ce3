"""Data folders for the Dataset page: the folders under the data root, safe selection, and statistics as table rows."""
from __future__ import annotations

import os
from pathlib import Path

from ..analysis import check_relative, require_dir
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


def overview_rows(stats: dict) -> list[dict]:
    """``[{"item", "value"}]`` rows of the scalar facts in a statistics dict (nested dicts flattened once)."""
    rows = []
    for key, value in stats.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            rows.append({"item": key, "value": str(value)})
        elif isinstance(value, dict) and all(isinstance(v, (str, int, float, bool)) or v is None
                                             for v in value.values()):
            rows.extend({"item": f"{key}.{k}", "value": str(v)} for k, v in value.items())
    return rows


def quality_counts(stats: dict) -> list[dict]:
    """``[{"check", "count"}]`` of the quality problems a folder analysis found."""
    checks = (("unreadable", "unreadable files"), ("tiny", "tiny images"),
              ("near_gray", "near-gray images"), ("exact_duplicates", "groups of exact duplicates"),
              ("near_duplicates", "groups of near duplicates"))
    return [{"check": label, "count": len(stats.get(key) or [])} for key, label in checks]


def quality_lists(stats: dict) -> dict[str, list[str]]:
    """Each quality check's files as display lines (duplicate groups joined by ``=``)."""
    def unreadable(u) -> str:
        if not isinstance(u, dict):
            return str(u)
        reason = str(u.get("reason", ""))
        return reason if reason.startswith(str(u.get("file"))) else f"{u.get('file')}: {reason}"

    out = {"unreadable files": [unreadable(u) for u in stats.get("unreadable") or []],
           "tiny images": [str(f) for f in stats.get("tiny") or []],
           "near-gray images": [str(f) for f in stats.get("near_gray") or []],
           "exact duplicates": [" = ".join(map(str, g)) for g in stats.get("exact_duplicates") or []],
           "near duplicates": [" ~ ".join(map(str, g)) for g in stats.get("near_duplicates") or []]}
    return out
