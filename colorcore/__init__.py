"""colorcore: colorize grayscale micrographs with convolutional networks.

Public API::

    from colorcore import read_image, load_checkpoint, colorize
    image, info = read_image("cells.tif")
    result = colorize(image, load_checkpoint("places500-huber"))
"""
__version__ = "0.1.0"

from .checkpoints import CheckpointError, list_catalog, load_checkpoint, read_metadata  # noqa: E402
from .infer import ColorizeResult, colorize  # noqa: E402
from .io import ImageError, ImageInfo, read_image  # noqa: E402

__all__ = ["__version__", "read_image", "ImageError", "ImageInfo", "load_checkpoint", "read_metadata",
           "list_catalog", "CheckpointError", "colorize", "ColorizeResult"]
