"""Safe extraction of an uploaded ZIP of training images into a folder of its own.

A ZIP from a browser is untrusted: its names may climb out of the folder (``../../x.png``, absolute
paths, symbolic links), its declared sizes may lie, a few kilobytes may inflate to gigabytes (a ZIP
bomb), and it may hold anything but images.  :func:`extract_images` refuses the archive with one
clear :class:`ZipRefused` message for any of these, skips (and names) members that are not images,
and writes each image under a sanitised, unique flat name, counting the bytes it really inflates.
"""
from __future__ import annotations

import io
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..io import IMAGE_SUFFIXES
from .names import unique_names


class ZipRefused(ValueError):
    """An uploaded ZIP that cannot be used; the message says why, in words for the user."""


@dataclass(frozen=True)
class ZipLimits:
    """What one upload may hold.

    Attributes
    ----------
    max_zip_bytes : int
        Size of the ZIP file itself.
    max_members : int
        Entries in the archive (folders and skipped files included).
    max_images : int
        Images extracted.
    max_image_bytes : int
        Uncompressed size of one image.
    max_total_bytes : int
        Uncompressed size of all images together.
    max_ratio : float
        Uncompressed / compressed size of one member above which it is taken for a ZIP bomb
        (images are already compressed: PNG and JPEG inflate by less than 2, raw TIFF by ~10).
    """

    max_zip_bytes: int = 200 << 20
    max_members: int = 5000
    max_images: int = 2000
    max_image_bytes: int = 64 << 20
    max_total_bytes: int = 2 << 30
    max_ratio: float = 100.0


@dataclass
class Extracted:
    """What :func:`extract_images` wrote: ``files`` (names in the folder) and ``skipped`` (``"name: why"``)."""

    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


def check_member_name(name: str) -> None:
    """Raise :class:`ZipRefused` if a member name could write outside the extraction folder."""
    windows = PureWindowsPath(name)
    if "\x00" in name or name.startswith(("/", "\\")) or windows.anchor:
        raise ZipRefused(f"the ZIP holds an absolute path ({name!r}); refused")
    if ".." in PurePosixPath(name).parts or ".." in windows.parts:
        raise ZipRefused(f"the ZIP holds a path that leaves its folder ({name!r}); refused")


def _is_image(info: zipfile.ZipInfo) -> bool:
    parts = PurePosixPath(info.filename.replace("\\", "/")).parts
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in parts)
    return not hidden and PurePosixPath(info.filename).suffix.lower() in IMAGE_SUFFIXES


def _check_member(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    """Refuse a member that is a link, encrypted, too large or inflates like a bomb."""
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ZipRefused(f"the ZIP holds a symbolic link ({info.filename!r}); refused")
    if info.flag_bits & 0x1:
        raise ZipRefused(f"{info.filename!r} is encrypted; upload a ZIP without a password")
    if info.file_size > limits.max_image_bytes:
        raise ZipRefused(f"{info.filename!r} is {_mb(info.file_size)} uncompressed; the limit is "
                         f"{_mb(limits.max_image_bytes)} per image")
    if info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise ZipRefused(f"{info.filename!r} inflates {info.file_size / max(info.compress_size, 1):.0f} times "
                         "(a ZIP bomb?); refused")


def _plan(archive: zipfile.ZipFile, limits: ZipLimits, report: Extracted) -> list[zipfile.ZipInfo]:
    """The image members to extract after checking every member; the others are noted in ``report``."""
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise ZipRefused(f"the ZIP holds {len(members)} entries; the limit is {limits.max_members}")
    images = []
    for info in members:
        check_member_name(info.filename)
        if info.is_dir():
            continue
        _check_member(info, limits)
        if _is_image(info):
            images.append(info)
        else:
            report.skipped.append(f"{info.filename}: not an image ({', '.join(IMAGE_SUFFIXES)})")
    if not images:
        raise ZipRefused(f"the ZIP holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if len(images) > limits.max_images:
        raise ZipRefused(f"the ZIP holds {len(images)} images; the limit is {limits.max_images}")
    total = sum(info.file_size for info in images)
    if total > limits.max_total_bytes:
        raise ZipRefused(f"the images take {_mb(total)} uncompressed; the limit is {_mb(limits.max_total_bytes)}")
    return images


def _copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Inflate one member into ``target``, stopping at its declared size or ``budget``; returns the bytes."""
    written = 0
    limit = min(info.file_size, budget)
    with archive.open(info) as src, open(target, "xb") as dst:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise ZipRefused(f"{info.filename!r} inflates beyond its declared size; refused")
            dst.write(chunk)
    return written


def extract_images(data: bytes, dest: str | Path, limits: ZipLimits = ZipLimits()) -> Extracted:
    """Extract the images of a ZIP upload into the empty or new folder ``dest``, flat and safely named.

    Parameters
    ----------
    data : bytes
        The uploaded file.
    dest : str or Path
        Folder to write into (created); nothing is written outside it.
    limits : ZipLimits

    Returns
    -------
    Extracted
        The written file names (sanitised, unique, no folders) and the skipped members.

    Raises
    ------
    ZipRefused
        Not a ZIP, too large, unsafe names or links, encrypted, a ZIP bomb, no images. Files
        written before the problem showed are removed.
    """
    if len(data) > limits.max_zip_bytes:
        raise ZipRefused(f"the ZIP is {_mb(len(data))}; the limit is {_mb(limits.max_zip_bytes)}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as err:
        raise ZipRefused(f"not a ZIP archive ({err})") from None
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    report = Extracted()
    with archive:
        images = _plan(archive, limits, report)
        names = unique_names([PurePosixPath(info.filename.replace("\\", "/")).name for info in images])
        budget = limits.max_total_bytes
        try:
            for info, name in zip(images, names):
                budget -= _copy(archive, info, dest / name, budget)
                report.files.append(name)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ZipRefused) as err:
            for name in names:
                (dest / name).unlink(missing_ok=True)
            if isinstance(err, ZipRefused):
                raise
            raise ZipRefused(f"the ZIP is damaged or uses an unsupported compression ({err})") from None
    return report
