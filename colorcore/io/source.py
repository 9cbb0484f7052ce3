"""Where image bytes come from: a file on disk (opened, never slurped whole) or bytes in memory."""
from __future__ import annotations

import io
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

from .info import ImageError

SourceLike = Union[str, os.PathLike, bytes, bytearray, memoryview]

#: First bytes of the containers read by format-specific readers.
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
CZI_MAGIC = b"ZISRAWFILE"


@dataclass(frozen=True)
class Source:
    """A file path or in-memory bytes, with the name used in messages."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, source: SourceLike, name: str | None = None) -> "Source":
        """Check that ``source`` exists and is not empty.

        Raises
        ------
        ImageError
            Missing, unreadable or empty files.
        """
        if isinstance(source, (bytes, bytearray, memoryview)):
            found = cls(name or "<upload>", data=bytes(source))
        else:
            path = Path(source)
            found = cls(name or path.name, path=path)
            if not path.exists():
                raise ImageError(f"{found.name}: no such file ({path})")
            if not path.is_file():
                raise ImageError(f"{found.name}: not a regular file ({path})")
        if not found.head(1):
            raise ImageError(f"{found.name}: file is empty (0 bytes)")
        return found

    def head(self, n: int = 16) -> bytes:
        """The first ``n`` bytes."""
        if self.data is not None:
            return self.data[:n]
        try:
            with open(self.path, "rb") as fh:
                return fh.read(n)
        except OSError as err:
            raise ImageError(f"{self.name}: cannot read file ({err.strerror or err})") from err

    @property
    def kind(self) -> str:
        """``"tiff"``, ``"czi"`` or ``"other"`` (left to Pillow), from the first bytes."""
        head = self.head(len(CZI_MAGIC))
        if head[:4] in TIFF_MAGIC:
            return "tiff"
        return "czi" if head == CZI_MAGIC else "other"

    def read_bytes(self) -> bytes:
        """All bytes (for formats decoded whole anyway)."""
        if self.data is not None:
            return self.data
        try:
            return self.path.read_bytes()
        except OSError as err:
            raise ImageError(f"{self.name}: cannot read file ({err.strerror or err})") from err

    def handle(self) -> str | io.BytesIO:
        """What tifffile opens: the path, or a stream over the bytes."""
        return str(self.path) if self.path is not None else io.BytesIO(self.data)

    @contextmanager
    def local_path(self, suffix: str) -> Iterator[str]:
        """A path to the bytes, for readers that only open files (a temporary copy for in-memory data)."""
        if self.path is not None:
            yield str(self.path)
            return
        fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="colorcore-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.data)
            yield tmp
        finally:
            Path(tmp).unlink(missing_ok=True)
