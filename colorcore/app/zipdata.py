"""Safe extraction of an uploaded ZIP of training images into a folder of its own.

A ZIP from a browser is untrusted: its names may climb out of the folder (``../../x.png``, absolute
paths, symbolic links), its declared sizes may lie, a few kilobytes may inflate to gigabytes (a ZIP
bomb), and it may hold anything but images.  :func:`extract_images` refuses the archive with one
clear :class:`ZipRefused` message for any of these, leaves out (and names, with the reason) members
that are not images or are hidden, and writes each image under a sanitised, unique flat name in its
own script (:func:`colorcore.app.names.sanitize_filename`), counting the bytes it really inflates.

Member names are read as the tool that wrote them meant: UTF-8 when the archive says so (its flag),
else Info-ZIP's Unicode Path extra field when it has one, else UTF-8 when the bytes are valid UTF-8
(macOS and Linux tools write it without the flag), else code page 437, the ZIP format's own default
(Windows tools write the machine's code page without saying which; such names keep their
extension and stay distinct, if not always readable).
"""
from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Callable, NamedTuple

from ..io import IMAGE_SUFFIXES, is_image_name
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


class LeftOut(NamedTuple):
    """A file of the user's that a training set does not use, and why (words for the user)."""

    file: str
    reason: str


@dataclass
class Extracted:
    """What :func:`extract_images` wrote: ``files`` (names in the folder) and ``left_out`` (members not written)."""

    files: list[str] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)


#: ZIP flag bit: the member's name is UTF-8.
UTF8_FLAG = 0x800
#: Header id of Info-ZIP's Unicode Path extra field (version, CRC-32 of the stored name, UTF-8 name).
UNICODE_PATH_EXTRA = 0x7075


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


def check_member_name(name: str) -> None:
    """Raise :class:`ZipRefused` if a member name could write outside the extraction folder."""
    windows = PureWindowsPath(name)
    if "\x00" in name or name.startswith(("/", "\\")) or windows.anchor:
        raise ZipRefused(f"the ZIP holds an absolute path ({name!r}); refused")
    if ".." in PurePosixPath(name).parts or ".." in windows.parts:
        raise ZipRefused(f"the ZIP holds a path that leaves its folder ({name!r}); refused")


def _unicode_path(info: zipfile.ZipInfo, stored: bytes) -> str | None:
    """The UTF-8 name of Info-ZIP's Unicode Path extra field, if it has one for the name as stored."""
    extra, at = info.extra, 0
    while at + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, at)
        body = extra[at + 4:at + 4 + size]
        if kind == UNICODE_PATH_EXTRA and len(body) > 5 and body[0] == 1 \
                and struct.unpack_from("<I", body, 1)[0] == zlib.crc32(stored):
            try:
                return body[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
        at += 4 + size
    return None


def member_name(info: zipfile.ZipInfo) -> str:
    """The name of a member as the tool that wrote it meant (see the module's docstring)."""
    if info.flag_bits & UTF8_FLAG:
        return info.filename
    stored = info.orig_filename.encode("cp437")  # zipfile decoded the stored bytes as cp437, which is lossless
    from_extra = _unicode_path(info, stored)
    if from_extra is not None:
        return from_extra
    try:
        return stored.decode("utf-8")
    except UnicodeDecodeError:
        return info.filename


def left_out_reason(name: str) -> str | None:
    """Why the member ``name`` is not a training image (hidden, macOS metadata, not an image); None if it is one."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if "__MACOSX" in parts:
        return "macOS metadata (__MACOSX), not an image"
    if any(p.startswith(".") for p in parts):
        return "a hidden file"
    if not is_image_name(PurePosixPath(name).name):
        return f"not an image ({', '.join(IMAGE_SUFFIXES)})"
    return None


def _check_member(info: zipfile.ZipInfo, name: str, limits: ZipLimits) -> None:
    """Refuse a member (called ``name``) that is a link, encrypted, too large or inflates like a bomb."""
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ZipRefused(f"the ZIP holds a symbolic link ({name!r}); refused")
    if info.flag_bits & 0x1:
        raise ZipRefused(f"{name!r} is encrypted; upload a ZIP without a password")
    if info.file_size > limits.max_image_bytes:
        raise ZipRefused(f"{name!r} is {_mb(info.file_size)} uncompressed; the limit is "
                         f"{_mb(limits.max_image_bytes)} per image")
    if info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise ZipRefused(f"{name!r} inflates {info.file_size / max(info.compress_size, 1):.0f} times "
                         "(a ZIP bomb?); refused")


def _plan(archive: zipfile.ZipFile, limits: ZipLimits, report: Extracted) -> list[tuple[zipfile.ZipInfo, str]]:
    """The image members to extract, with their names, after checking every member; the others are noted
    in ``report``."""
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise ZipRefused(f"the ZIP holds {len(members)} entries; the limit is {limits.max_members}")
    images = []
    for info in members:
        name = member_name(info)
        check_member_name(info.filename)
        check_member_name(name)
        if info.is_dir():
            continue
        _check_member(info, name, limits)
        reason = left_out_reason(name)
        if reason is None:
            images.append((info, name))
        else:
            report.left_out.append(LeftOut(name, reason))
    if not images:
        raise ZipRefused(f"the ZIP holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if len(images) > limits.max_images:
        raise ZipRefused(f"the ZIP holds {len(images)} images; the limit is {limits.max_images}")
    total = sum(info.file_size for info, _ in images)
    if total > limits.max_total_bytes:
        raise ZipRefused(f"the images take {_mb(total)} uncompressed; the limit is {_mb(limits.max_total_bytes)}")
    return images


def _copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, target: Path, budget: int) -> int:
    """Inflate the member ``name`` into ``target``, stopping at its declared size or ``budget``; returns the bytes."""
    written = 0
    limit = min(info.file_size, budget)
    with archive.open(info) as src, open(target, "xb") as dst:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise ZipRefused(f"{name!r} inflates beyond its declared size; refused")
            dst.write(chunk)
    return written


def extract_images(data: bytes, dest: str | Path, limits: ZipLimits = ZipLimits(),
                   reserve: Callable[[int], None] | None = None) -> Extracted:
    """Extract the images of a ZIP upload into the empty or new folder ``dest``, flat and safely named.

    Parameters
    ----------
    data : bytes
        The uploaded file.
    dest : str or Path
        Folder to write into (created); nothing is written outside it.
    limits : ZipLimits
    reserve : callable, optional
        Called with the images' uncompressed bytes (what extracting them writes at most) once every
        member is checked, before anything is written; it raises (a quota, say) to refuse the upload.

    Returns
    -------
    Extracted
        The written file names (sanitised, unique, no folders) and the members left out, with why.

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
        if reserve is not None:
            reserve(sum(info.file_size for info, _ in images))
        names = unique_names([PurePosixPath(name.replace("\\", "/")).name for _, name in images])
        budget = limits.max_total_bytes
        try:
            for (info, member), name in zip(images, names):
                budget -= _copy(archive, info, member, dest / name, budget)
                report.files.append(name)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ZipRefused) as err:
            for name in names:
                (dest / name).unlink(missing_ok=True)
            if isinstance(err, ZipRefused):
                raise
            raise ZipRefused(f"the ZIP is damaged or uses an unsupported compression ({err})") from None
    return report
