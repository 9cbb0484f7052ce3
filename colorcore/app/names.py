"""Safe names for uploads and downloads in any script: content hashes, sanitized file names, ZIP archives."""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile

#: Longest file name made, in UTF-8 bytes (file systems allow 255; room is left for ``-2``-style suffixes).
MAX_NAME_BYTES = 120
#: Longest text after the last dot that counts as an extension (``.safetensors`` included).
MAX_EXTENSION_CHARS = 12
#: Characters no name keeps: path separators and what Windows refuses in a file name.
_FORBIDDEN = frozenset('/\\<>:"|?*')
#: Format characters a name keeps: the zero-width (non-)joiners of Persian, Indic scripts and emoji.
_JOINERS = frozenset("\u200c\u200d")


def content_hash(data: bytes) -> str:
    """SHA-256 hex digest of ``data`` (the cache key of an upload)."""
    return hashlib.sha256(data).hexdigest()


def _unsafe(char: str) -> bool:
    """Whether ``char`` may not stay in a file name: a separator, a Windows-forbidden character, or a
    control, format (bidirectional overrides), surrogate, private-use, unassigned or line-separator code point."""
    category = unicodedata.category(char)
    return char in _FORBIDDEN or (category[0] == "C" and char not in _JOINERS) or category in ("Zl", "Zp")


def _clean(text: str) -> str:
    """``text`` with each run of unsafe characters replaced by one ``_`` and other spaces made plain spaces."""
    marked = "".join("\0" if _unsafe(c) else " " if unicodedata.category(c) == "Zs" else c for c in text)
    return re.sub("\0+", "_", marked)  # NUL is unsafe itself, so it marks only what was replaced


def split_extension(name: str) -> tuple[str, str]:
    """``(stem, extension)`` of ``name``, the extension without its dot: letters and digits after the last
    dot, at most :data:`MAX_EXTENSION_CHARS`; ``""`` when there is none."""
    stem, dot, ext = name.rpartition(".")
    if dot and 0 < len(ext) <= MAX_EXTENSION_CHARS and ext.isalnum():
        return stem, ext
    return name, ""


def fit_name(stem: str, ext: str, suffix: str = "") -> str:
    """``stem + suffix + "." + ext`` (no dot without ``ext``) in at most :data:`MAX_NAME_BYTES` UTF-8 bytes:
    the stem is cut at a character boundary, so the suffix and the extension are always kept."""
    tail = suffix + (f".{ext}" if ext else "")
    room = max(1, MAX_NAME_BYTES - len(tail.encode()))
    if len(stem.encode()) > room:
        stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .")
    return stem + tail


def sanitize_filename(name: str, default: str = "image") -> str:
    """A safe plain file name made from an upload's name, in any script.

    Only the last path component is kept (``/`` and ``\\`` both separate).  The name is
    NFC-normalised (a macOS ``e`` + combining accent becomes ``é``); each run of path separators,
    characters Windows refuses (``<>:"|?*``) and control or format characters (a right-to-left
    override, a tab; the zero-width joiners of Persian and Indic names are kept) becomes one ``_``;
    ``..`` sequences, leading (and, without an extension, trailing) dots and spaces go.  The extension is kept and the stem is cut to
    :data:`MAX_NAME_BYTES` UTF-8 bytes in all; an empty stem becomes ``default``.

    Parameters
    ----------
    name : str
        Name as sent by the browser or stored in a ZIP (may contain a path).
    default : str, default "image"
        The stem used when nothing usable is left of it.

    Returns
    -------
    str
        Never empty, never containing a path separator or ``..``.
    """
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", str(name or ""))[-1])
    base = _clean(base)
    while ".." in base:
        base = base.replace("..", ".")
    stem, ext = split_extension(base.strip(" "))
    stem = stem.lstrip(". ") if ext else stem.strip(". ")  # Windows drops a name's trailing dots and spaces
    if not stem:
        return fit_name(default, ext)
    return fit_name(stem, ext)


def result_filename(upload_name: str, checkpoint: str) -> str:
    """Download name of a colorized upload: ``<stem>_<checkpoint>.png`` (sanitized, in the upload's script)."""
    stem = split_extension(sanitize_filename(upload_name))[0]
    return sanitize_filename(f"{stem}_{checkpoint}.png")


def unique_names(names: list[str]) -> list[str]:
    """Sanitized names made unique by ``-2``, ``-3``... suffixes before the extension.

    Names that differ only in case (``Straße`` and ``STRASSE``, by Unicode case folding) count as the
    same, as they do on Windows and macOS file systems.
    """
    seen: set[str] = set()
    out = []
    for raw in names:
        candidate = sanitize_filename(raw)
        stem, ext = split_extension(candidate)
        k = 2
        while candidate.casefold() in seen:
            candidate, k = fit_name(stem, ext, f"-{k}"), k + 1
        seen.add(candidate.casefold())
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
