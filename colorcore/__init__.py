"""colorcore: colorize grayscale micrographs with convolutional networks.

Public API::

    from colorcore import read_image, load_checkpoint, colorize
    image, info = read_image("cells.tif")
    result = colorize(image, load_checkpoint("places500-huber"))

Names are imported on first use, so ``import colorcore`` (and the command line's
``--help``) does not import torch.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "read_image": "io", "ImageError": "io", "ImageInfo": "io",
    "load_checkpoint": "checkpoints", "read_metadata": "checkpoints", "list_catalog": "checkpoints",
    "CheckpointError": "checkpoints",
    "colorize": "infer", "ColorizeResult": "infer",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'colorcore' has no attribute {name!r}")
