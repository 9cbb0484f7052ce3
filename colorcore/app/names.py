"""Safe names for uploads and downloads: content hashes, sanitized file names, ZIP archives."""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")


def content_hash(data: bytes) -> str:
    """SHA-256 hex digest of ``data`` (the cache key of an upload)."""
    return hashlib.sha256(data).hexdigest()


def sanitize_filename(name: str, default: str = "image") -> str:
    """A safe plain file name made from an upload's name.

    Only the last path component is kept (``/`` and ``\\`` both separate), the
    name is reduced to letters, digits, ``.``, ``_``, ``-`` and spaces, ``..``
    sequences and leading dots are removed and the result is at most 120
    characters long.

    Parameters
    ----------
    name : str
        Name as sent by the browser (may contain a path).
    default : str, default "image"
        Returned when nothing usable is left.

    Returns
    -------
    str
        Never empty, never containing a path separator or ``..``.
    """
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE_CHARS.sub("_", base).strip(" ")
    while ".." in base:
        base = base.replace("..", ".")
    base = base.lstrip(".").strip(" ")
    if len(base) > 120:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 120 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else base[:120]
    return base or default


def result_filename(upload_name: str, checkpoint: str) -> str:
    """Download name of a colorized upload: ``<stem>_<checkpoint>.png`` (sanitized)."""
    stem = sanitize_filename(upload_name).rsplit(".", 1)[0] or "image"
    return sanitize_filename(f"{stem}_{checkpoint}.png")


def unique_names(names: list[str]) -> list[str]:
    """Sanitized names made unique by ``-2``, ``-3``... suffixes before the extension."""
    seen: set[str] = set()
    out = []
    for raw in names:
        name = sanitize_filename(raw)
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, k = name, 2
        while candidate.lower() in seen:
            candidate = f"{stem}-{k}{dot}{ext}"
            k += 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def build_zip(items: list[tuple[str, bytes]]) -> bytes:
    """One ZIP archive (deflated) of ``(name, data)`` items.

    Names are sanitized (no folders, no ``..``) and made unique, so extracting
    the archive writes only plain files into one folder.

    Parameters
    ----------
    items : list of (str, bytes)

    Returns
    -------
    bytes
        The archive.
    """
    names = unique_names([name for name, _ in items])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, (_, data) in zip(names, items):
            zf.writestr(name, data)
    return buf.getvalue()
