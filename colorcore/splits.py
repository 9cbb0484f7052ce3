"""A data set's file list and its splits: listing a folder's images, deterministic group-aware splits.

Splits are drawn once from a seed: test first, then validation, then the rest
is the training pool in a seeded order.  A training subset of N images is the
first N of that pool, so with one seed the 12-image set lies inside the
500-image set.  With a ``group_pattern`` (a regular expression whose first
group, or whole match, names an image's group: a slide, a field of view, a
folder) whole groups are assigned to one split, so tiles of one slide never
straddle two splits.

No torch here (listing a folder or drawing a split needs none); :mod:`colorcore.data` decodes what a split
names.  (A checkpoint's *recorded* split is read with
:func:`colorcore.metadata.split_files`.)
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import IMAGE_SUFFIXES, is_image_name


def list_images(root: str | Path) -> list[str]:
    """Relative POSIX paths of all image files under ``root`` (recursive, sorted).

    Raises
    ------
    ValueError
        If ``root`` is not a directory or holds no image files.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a directory")
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.is_file() and is_image_name(p.name))
    if not files:
        raise ValueError(f"{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def file_list_hash(files: list[str]) -> str:
    """SHA-256 of the sorted file list, to identify a data set or split."""
    return hashlib.sha256("\n".join(sorted(files)).encode()).hexdigest()


def group_of(path: str, pattern: str | None) -> str:
    """Group key of ``path``: its first regex group (or whole match), else the path itself."""
    if not pattern:
        return path
    match = re.search(pattern, path)
    if match is None:
        return path
    return match.group(1) if match.groups() else match.group(0)


@dataclass(frozen=True)
class Split:
    """A deterministic split of a file list.

    Attributes
    ----------
    test, val : list of str
    pool : list of str
        All remaining files in seeded order; training subsets are prefixes.
    """

    test: list
    val: list
    pool: list

    def train(self, n: int | None = None) -> list:
        """The first ``n`` pool files (all if ``n`` is None); nested across ``n``."""
        if n is None:
            return list(self.pool)
        if n < 1 or n > len(self.pool):
            raise ValueError(f"asked for {n} training images but the training pool holds {len(self.pool)}")
        return list(self.pool[:n])


def draw_split(files: list[str], *, seed: int, n_test: int, n_val: int,
               group_pattern: str | None = None) -> Split:
    """Split ``files`` into test, validation and a training pool.

    Parameters
    ----------
    files : list of str
    seed : int
        Decides the whole split.
    n_test, n_val : int
        Images wanted in each split; with groups, whole groups are added until
        at least this many images are in the split.
    group_pattern : str, optional
        Regular expression naming each file's group (see :func:`group_of`).

    Raises
    ------
    ValueError
        If the files cannot fill test, validation and at least one training image.
    """
    if n_test < 0 or n_val < 0:
        raise ValueError(f"test and validation sizes must be >= 0, got {n_test} and {n_val}")
    groups: dict[str, list[str]] = {}
    for f in sorted(files):
        groups.setdefault(group_of(f, group_pattern), []).append(f)
    rng = np.random.default_rng(seed)
    keys = sorted(groups)
    order = [keys[i] for i in rng.permutation(len(keys))]
    test, val, pool = [], [], []
    for key in order:
        target = test if len(test) < n_test else val if len(val) < n_val else pool
        target.extend(groups[key])
    if not pool:
        raise ValueError(f"{len(files)} images in {len(groups)} group(s) cannot fill {n_test} test, "
                         f"{n_val} validation and any training images")
    pool = [pool[i] for i in rng.permutation(len(pool))]
    return Split(test=sorted(test), val=sorted(val), pool=pool)


def oversampled(files: list[str], pattern: str | None, factor: int) -> list[str]:
    """``files`` plus ``factor - 1`` more copies of those matching ``pattern`` (the training list of an epoch).

    Raises
    ------
    ValueError
        If a pattern is given but no file matches it.
    """
    if not pattern or factor == 1:
        return list(files)
    extra = [f for f in files if re.search(pattern, f)]
    if not extra:
        raise ValueError(f"no training file matches --oversample {pattern!r}")
    return list(files) + extra * (factor - 1)


def split_sizes(n_files: int, n_test: int | None, n_val: int | None) -> tuple[int, int]:
    """Test and validation sizes: as given, or 10 % of the files (at least 1) where None."""
    default = max(1, n_files // 10)
    return (default if n_test is None else n_test, default if n_val is None else n_val)
