"""A disk that fills up while a checkpoint is written: half of the file goes out, then ``OSError(ENOSPC)``.

:func:`failing` wraps colorcore's atomic writer (``colorcore.io.write._atomic_write``) in this process;
:func:`sitecustomize` makes a folder whose ``sitecustomize.py`` does it in every Python process started
with that folder on ``PYTHONPATH`` (a training job's runner and its ``colorcore train`` child).
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import colorcore.io.write as write


class _FillingUp:
    """A file whose ``write`` stores half of the data, then fails as a full disk does."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data: bytes) -> int:
        self._fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)


def failing(atomic_write):
    """``atomic_write`` that fills the disk when the file is a checkpoint (``*.safetensors``)."""
    def write_checkpoint(path: Path, write_to) -> None:
        if not str(path).endswith(".safetensors"):
            return atomic_write(path, write_to)
        return atomic_write(path, lambda fh: write_to(_FillingUp(fh)))
    return write_checkpoint


def install() -> None:
    """Fill the disk on every checkpoint this process writes."""
    write._atomic_write = failing(write._atomic_write)


def sitecustomize(folder: Path) -> Path:
    """``folder`` holding a ``sitecustomize.py`` that calls :func:`install`; put it on ``PYTHONPATH``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\nimport full_disk\nfull_disk.install()\n")
    return folder
