"""What a read found: errors, pixel sizes, a file's layout of axes, and :class:`ImageInfo`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import PurePath

#: Largest image plane (width x height) read by default: about 100 megapixels.
DEFAULT_MAX_PIXELS = 100_000_000
#: Most bytes one pixel of a decoded plane may take (samples x bytes a sample): float64 RGBA.
MAX_PIXEL_BYTES = 32
#: Most bytes a decoded plane may take, per pixel of the pixel limit (16-bit RGBA at the full limit).
MAX_BYTES_PER_LIMIT_PIXEL = 8
#: File name endings of the images the package reads (folders, uploads).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".czi")


def is_image_name(name: str) -> bool:
    """Whether the file name ``name`` (no folders) is one of the images the package reads: not hidden, with
    one of :data:`IMAGE_SUFFIXES` (any case)."""
    return not name.startswith(".") and PurePath(name).suffix.lower() in IMAGE_SUFFIXES

#: Length units a pixel size may have, in metres (the OME ``UnitsLength`` symbols).
UNIT_METRES = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "µm": 1e-6, "nm": 1e-9, "Å": 1e-10, "pm": 1e-12,
               "in": 0.0254}
#: Other spellings found in ImageJ, OME and TIFF metadata.
UNIT_ALIASES = {"micron": "µm", "microns": "µm", "um": "µm", "μm": "µm", "\\u00b5m": "µm",
                "micrometer": "µm", "micrometre": "µm", "nanometer": "nm", "nanometre": "nm",
                "millimeter": "mm", "millimetre": "mm", "centimeter": "cm", "centimetre": "cm",
                "meter": "m", "metre": "m", "inch": "in", "angstrom": "Å"}


class ImageError(ValueError):
    """An image that cannot be read or used; the message names the file and the problem.

    ``too_large`` is True when the image was refused for its size (a server answers 413 then).
    """

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large


def length_unit(unit: str) -> str | None:
    """The OME symbol of a length ``unit`` (``"micron"`` -> ``"µm"``), or None if not a length."""
    text = str(unit).strip()
    if text in UNIT_METRES:
        return text
    return UNIT_ALIASES.get(text.lower())


@dataclass(frozen=True)
class PixelSize:
    """Physical size of one pixel.

    Attributes
    ----------
    x, y : float
        Width and height of a pixel, > 0, in ``unit``.
    unit : str
        One of :data:`UNIT_METRES` (``"µm"``, ``"nm"``, ...).
    """

    x: float
    y: float
    unit: str

    @classmethod
    def parse(cls, x, y, unit: str, y_unit: str | None = None) -> "PixelSize | None":
        """A pixel size from metadata values (``y`` in ``y_unit`` if given), or None when they are
        missing, not positive or not lengths."""
        symbol, y_symbol = length_unit(unit), length_unit(y_unit or unit)
        try:
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            return None
        if symbol is None or y_symbol is None or not all(v > 0 and math.isfinite(v) for v in (x, y)):
            return None
        return cls(x, y * UNIT_METRES[y_symbol] / UNIT_METRES[symbol], symbol)

    @property
    def metres(self) -> tuple[float, float]:
        """(x, y) in metres."""
        factor = UNIT_METRES[self.unit]
        return self.x * factor, self.y * factor

    def __str__(self) -> str:
        return f"{self.x:.6g} x {self.y:.6g} {self.unit}"

    def as_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "unit": self.unit}


@dataclass(frozen=True)
class Layout:
    """The axes of a file's image data, as a viewer would offer them.

    Attributes
    ----------
    axes : str
        One letter per axis (tifffile's convention): ``T`` time, ``C`` channel, ``Z`` plane,
        ``Y``/``X`` the image, ``S`` colour samples (RGB); other letters are other sequences.
        Axes of length 1 are left out, except ``Y`` and ``X``.
    shape : tuple of int
        Length of each axis.
    channel_names : tuple of str
        Names of the ``C`` entries from the metadata ("" where a channel has none), also of the one
        channel of a file without a ``C`` axis; empty when unknown.
    pixel_size : PixelSize or None
        Physical pixel size where the metadata give one.
    """

    axes: str
    shape: tuple
    channel_names: tuple = ()
    pixel_size: PixelSize | None = None

    @property
    def sizes(self) -> dict:
        """{axis letter: length}."""
        return dict(zip(self.axes, self.shape))

    def size(self, axis: str) -> int:
        """Length of ``axis`` (1 when the file has no such axis)."""
        return self.sizes.get(axis, 1)

    def channel_label(self, index: int) -> str:
        """Name of channel ``index`` from the metadata, or ``"channel <index>"``."""
        names = self.channel_names
        return names[index] if index < len(names) and names[index] else f"channel {index}"

    def describe(self) -> str:
        """E.g. ``"C=3 (DAPI, GFP, RFP), Z=7, Y=512, X=512"`` (``"C=1 (DAPI), ..."`` for one named channel)."""
        parts = [f"C=1 ({self.channel_label(0)})"] if "C" not in self.axes and any(self.channel_names) else []
        for axis, length in zip(self.axes, self.shape):
            names = ""
            if axis == "C" and any(self.channel_names):
                names = " (" + ", ".join(self.channel_label(i) for i in range(length)) + ")"
            parts.append(f"{axis}={length}{names}")
        return ", ".join(parts)


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`colorcore.io.read_image` found and did.

    Attributes
    ----------
    name : str
        File name (or the name given for in-memory data).
    format : str
        Container format, e.g. ``"TIFF"`` (plain, OME or ImageJ), ``"CZI"`` or ``"PNG"``.
    dtype : str
        Sample type of the stored pixels, e.g. ``"uint16"``.
    shape : tuple of int
        Length of each of ``axes``: the whole image data of a file read by axes (OME, ImageJ,
        CZI), else the decoded page.
    width, height : int
        Size of the returned image.
    channels : int
        1 (gray) or 3 (RGB) in the returned array.
    pages : int
        Number of pages (planes) in a TIFF or frames in a GIF.
    page : int
        The page read with ``page=`` (0 when planes were chosen by axes).
    normalization : str
        How intensities were mapped to [0, 1].
    notes : tuple of str
        Other facts worth knowing (alpha dropped, EXIF rotation, NaN pixels...).
    axes : str
        Axis letters of ``shape`` (see :class:`Layout`), e.g. ``"CZYX"`` or ``"YXS"``.
    channel_names : tuple of str
        Channel names from the metadata; empty when unknown.
    pixel_size : PixelSize or None
        Physical pixel size (x, y, unit) where the file gives one.
    selection : str
        The plane chosen from a file with C, Z or T axes, e.g.
        ``"channel 0 (DAPI) of 3, z max of 7"``; empty for single-plane files.
    """

    name: str
    format: str
    dtype: str
    shape: tuple
    width: int
    height: int
    channels: int
    pages: int = 1
    page: int = 0
    normalization: str = ""
    notes: tuple = field(default_factory=tuple)
    axes: str = ""
    channel_names: tuple = ()
    pixel_size: PixelSize | None = None
    selection: str = ""

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    def as_dict(self) -> dict:
        """JSON-friendly view for tables and metadata."""
        return {"name": self.name, "format": self.format, "dtype": self.dtype,
                "shape": list(self.shape), "width": self.width, "height": self.height,
                "channels": self.channels, "pages": self.pages, "page": self.page,
                "normalization": self.normalization, "notes": list(self.notes), "axes": self.axes,
                "channel_names": list(self.channel_names),
                "pixel_size": self.pixel_size.as_dict() if self.pixel_size else None,
                "selection": self.selection}


def check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    """Refuse a plane with no pixels or more than ``max_pixels``, from its declared size."""
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: image has no pixels ({width} x {height})")
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: {width} x {height} pixels ({width * height / 1e6:.0f} MP) exceeds the limit of "
            f"{max_pixels / 1e6:.0f} MP; downscale or crop it first", too_large=True)


def check_decoded(name: str, width: int, height: int, values: int, itemsize: int, max_pixels: int) -> None:
    """Refuse a plane whose decoded size, from its header, would be out of proportion.

    Parameters
    ----------
    name : str
        File name for the message.
    width, height : int
        The plane's declared size in pixels (checked against ``max_pixels`` first).
    values : int
        Number of values the decoder will produce for it (pixels x samples, and any axis a page
        holds beside Y and X).
    itemsize : int
        Bytes a value.
    max_pixels : int
        The pixel limit of the read.

    Raises
    ------
    ImageError
        ``too_large``, when a pixel would take more than :data:`MAX_PIXEL_BYTES` bytes (a small
        compressed file declaring hundreds of samples a pixel) or the plane more than
        :data:`MAX_BYTES_PER_LIMIT_PIXEL` bytes for each pixel of ``max_pixels``.
    """
    check_pixels(name, width, height, max_pixels)
    total = int(values) * int(itemsize)
    per_pixel = total / (width * height)
    if per_pixel > MAX_PIXEL_BYTES:
        raise ImageError(
            f"{name}: each pixel would decode to {per_pixel:.0f} bytes ({values // (width * height)} values of "
            f"{itemsize} bytes), over the limit of {MAX_PIXEL_BYTES}; save one channel or plane per page",
            too_large=True)
    if total > MAX_BYTES_PER_LIMIT_PIXEL * max_pixels:
        raise ImageError(
            f"{name}: the plane would decode to {total / 1e6:.1f} MB, over the limit of "
            f"{MAX_BYTES_PER_LIMIT_PIXEL * max_pixels / 1e6:.1f} MB; downscale, crop or convert it to 16 bits first",
            too_large=True)
