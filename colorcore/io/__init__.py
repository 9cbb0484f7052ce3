"""Reading micrographs of any common kind and writing results.

:func:`read_image` turns PNG, JPEG, BMP, GIF, WebP, TIFF (8/16/32-bit integer, float, gray,
RGB(A), palette, multi-page, every common compression) and Zeiss CZI files into float32 arrays
in [0, 1] and says exactly what it did to get there (:class:`ImageInfo`).  Files with
channels, planes or time points (OME-TIFF, ImageJ hyperstacks, CZI) are read by their axes:
one plane is chosen (``channel=``, ``z=`` with ``"max"`` for a projection, ``t=``) and only it
is decoded.  :func:`read_layout` tells those axes without decoding pixels.

Intensities are normalised explicitly (:mod:`colorcore.io.normalize`), never by a silent clip.
Everything that cannot be read raises :class:`ImageError` with the file's name and the reason.
Planes over ``max_pixels`` are refused from their header, before any pixel is decoded.

The writers (:func:`encode_png`, :func:`encode_tiff16`) keep the input's pixel size and a
provenance description (:func:`output_description`) in the result.

Modules: ``info`` (types), ``source`` (paths and bytes), ``planes`` (channel/z/t choice),
``tiff``, ``czi`` and ``reader`` (decoding), ``normalize``, ``write``.
"""
from .info import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, ImageError, ImageInfo, Layout, PixelSize, is_image_name
from .normalize import STRETCH_PERCENTILES, normalize_intensity
from .planes import Z_MAX, parse_channel, parse_z
from .reader import read_image, read_layout
from .write import (RESULT_FORMATS, atomic_write_bytes, encode_confidence, encode_png, encode_result, encode_tiff16,
                    output_description, shrink, to_uint8, write_png, write_tiff16)

__all__ = ["DEFAULT_MAX_PIXELS", "IMAGE_SUFFIXES", "STRETCH_PERCENTILES", "Z_MAX", "ImageError", "ImageInfo",
           "Layout", "PixelSize", "RESULT_FORMATS", "atomic_write_bytes", "encode_confidence", "encode_png", "encode_result",
           "encode_tiff16", "is_image_name", "normalize_intensity",
           "output_description", "parse_channel", "parse_z", "read_image", "read_layout", "shrink", "to_uint8",
           "write_png", "write_tiff16"]
