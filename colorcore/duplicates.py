"""Duplicate images in a folder: exact (same bytes or same pixels) and near (difference hash).

Exact duplicates share their file bytes or their decoded pixels (SHA-256 of
each, kept in a :class:`FileRecord` such as :class:`colorcore.analysis.FileStats`).

Near duplicates: a 64-bit difference hash of the L* image (L* box-resized to
9 x 8, one bit per horizontal neighbour pair: left brighter than right).  Two
images are near duplicates when their hashes differ in at most
``NEAR_DUPLICATE_BITS`` bits and their mean L* differs by at most
``NEAR_DUPLICATE_MEAN_L`` (so that two featureless images of different
brightness are not matched).  Groups are formed by single linkage; each
exact-duplicate group takes part through its first file only.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np
from PIL import Image

#: Largest Hamming distance (of 64 bits) between difference hashes of near duplicates.
NEAR_DUPLICATE_BITS = 6
#: Largest difference of mean L* between near duplicates.
NEAR_DUPLICATE_MEAN_L = 8.0


class FileRecord(Protocol):
    """What duplicate finding reads of one file (:class:`colorcore.analysis.FileStats` is one).

    Attributes
    ----------
    byte_key : str or None
        SHA-256 of the file's bytes; None when they could not be read.
    pixel_key : str or None
        SHA-256 of the decoded pixels and their shape; None when the file was not decoded.
    dhash : np.ndarray or None
        64 bools: :func:`difference_hash` of the file's L*.
    mean_l : float
        Mean L* of the image the hash was taken of.
    readable : bool
        False when the file could not be decoded (it then takes no part in near duplicates).
    """

    byte_key: str | None
    pixel_key: str | None
    dhash: np.ndarray | None
    mean_l: float

    @property
    def readable(self) -> bool: ...


def difference_hash(lightness: np.ndarray) -> np.ndarray:
    """64 bools: L* (H, W) box-resized to 9 x 8, left neighbour brighter than right."""
    small = np.asarray(Image.fromarray(lightness.astype(np.float32)).resize(
        (9, 8), Image.Resampling.BOX))
    return (small[:, :-1] > small[:, 1:]).ravel()


def _groups(n: int, pairs) -> list[list[int]]:
    """Connected components (size > 1) of ``n`` items linked by ``pairs``."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(find(i), []).append(i)
    return sorted((sorted(m) for m in members.values() if len(m) > 1), key=lambda m: m[0])


def _same_key_pairs(keys: list) -> list[tuple[int, int]]:
    """Pairs (first index, other index) of entries sharing a key (None keys ignored)."""
    first: dict = {}
    pairs = []
    for i, key in enumerate(keys):
        if key is None:
            continue
        if key in first:
            pairs.append((first[key], i))
        else:
            first[key] = i
    return pairs


def exact_duplicates(records: list[FileRecord]) -> list[list[int]]:
    """Groups of indices into ``records`` with the same file bytes or the same decoded pixels."""
    pairs = (_same_key_pairs([r.byte_key for r in records])
             + _same_key_pairs([r.pixel_key for r in records]))
    return _groups(len(records), pairs)


def near_duplicates(records: list[FileRecord], exact: list[list[int]]) -> list[list[int]]:
    """Groups of indices into ``records`` by difference hash and mean L* (module docstring).

    Each group of ``exact`` takes part through its first file only, so exact duplicates are
    not listed again; unreadable records take no part.
    """
    non_first = {i for group in exact for i in group[1:]}
    reps = [i for i, r in enumerate(records) if r.readable and i not in non_first]
    if len(reps) < 2:
        return []
    bits = np.array([records[i].dhash for i in reps], dtype=np.float32)
    distance = bits @ (1.0 - bits).T + (1.0 - bits) @ bits.T
    lightness = np.array([records[i].mean_l for i in reps])
    close = (distance <= NEAR_DUPLICATE_BITS) & (
        np.abs(lightness[:, None] - lightness[None, :]) <= NEAR_DUPLICATE_MEAN_L)
    pairs = np.argwhere(np.triu(close, k=1))
    return [[reps[k] for k in group] for group in _groups(len(reps), pairs)]
