"""Reading any micrograph as a float32 plane in [0, 1] plus what was done (:class:`ImageInfo`)."""
from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .czi import czi_layout, read_czi
from .info import DEFAULT_MAX_PIXELS, ImageError, ImageInfo, Layout, check_decoded
from .normalize import normalize_intensity, to_plane
from .planes import Channel, Choice, PlaneZ, choose_plane
from .source import Source, SourceLike
from .tiff import read_tiff, tiff_layout

#: Formats read through Pillow; TIFF goes through tifffile and CZI through pylibCZIrw.
PIL_FORMATS = {"PNG", "JPEG", "MPO", "BMP", "GIF", "WEBP"}
#: Bytes a decoded sample takes in Pillow's wider modes (every other mode: one).
PIL_SAMPLE_BYTES = {"I": 4, "F": 4, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
NOT_SUPPORTED = "not a supported image (expected PNG, JPEG, BMP, GIF, WebP, TIFF or CZI)"


def read_image(source: SourceLike, *, name: str | None = None, page: int | None = None,
               channel: Channel = None, z: PlaneZ = None, t: int | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageInfo]:
    """Read a micrograph or photo as float32 in [0, 1].

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A file path, or the file's bytes (e.g. an upload).  Files are opened, not read whole:
        from a stack only the chosen plane is decoded.
    name : str, optional
        Name used in messages and in the info; defaults to the file name.
    page : int, optional
        Page of a multi-page TIFF (or frame of an animated GIF) to read; default the first.
        For files with C, Z or T axes, reads that raw page instead of choosing by axes.
    channel : int or str, optional
        Channel (C axis) of a multi-channel file: index, or name from the OME/CZI metadata.
        Default: the first.
    z : int or "max", optional
        Plane (Z axis) of a z-stack, or ``"max"`` for a maximum-intensity projection.
        Default: the middle plane.
    t : int, optional
        Time point (T axis).  Default: the first.
    max_pixels : int, default ``DEFAULT_MAX_PIXELS``
        Planes with more pixels (width x height) are refused before decoding.

    Returns
    -------
    image : np.ndarray, float32, shape (H, W) or (H, W, 3)
        Gray or sRGB intensities in [0, 1].  RGB images whose three channels
        are identical are returned as gray.
    info : ImageInfo
        Including the file's axes, channel names and pixel size, and the plane chosen.

    Raises
    ------
    ImageError
        Missing, empty, truncated, unsupported, too large or all-NaN images; a channel, z or t
        the file does not have (the message names the axes and sizes it has); ``page`` given
        together with ``channel``, ``z`` or ``t``.
    """
    src = Source.of(source, name)
    choice = Choice(channel, z, t)
    if page is not None and page < 0:
        raise ImageError(f"{src.name}: page must be >= 0, got {page}")
    if page is not None and choice.given():
        raise ImageError(f"{src.name}: give either page or channel/z/t, not both")
    with _named_errors(src.name):
        reader = {"tiff": read_tiff, "czi": read_czi}.get(src.kind, _read_pil)
        raw, meta = reader(src, page, choice, max_pixels)
        return _finish(raw, meta, src.name, choice)


def read_layout(source: SourceLike, *, name: str | None = None) -> Layout:
    """The axes, sizes, channel names and pixel size of an image file, without decoding pixels.

    What a user interface needs to offer channel, z and time pickers only for files that have
    those axes: ``layout.size("C") > 1`` (names from ``layout.channel_label(i)``),
    ``layout.size("Z") > 1``, ``layout.size("T") > 1``.

    Parameters
    ----------
    source : str, os.PathLike or bytes
    name : str, optional

    Returns
    -------
    Layout

    Raises
    ------
    ImageError
        As :func:`read_image` for files that cannot be opened.
    """
    src = Source.of(source, name)
    with _named_errors(src.name):
        if src.kind == "tiff":
            return tiff_layout(src)
        if src.kind == "czi":
            return czi_layout(src)
        img = _open_pil(src.read_bytes(), src.name)
        bands = len(img.getbands())
        return Layout("YX", (img.height, img.width)) if bands == 1 else \
            Layout("YXS", (img.height, img.width, bands))


@contextmanager
def _named_errors(name: str) -> Iterator[None]:
    """Turn every failure into one :class:`ImageError` line that starts with the file's name."""
    try:
        yield
    except ImageError as err:
        if str(err).startswith(f"{name}: "):
            raise
        raise ImageError(f"{name}: {err}") from err
    except MemoryError as err:
        raise ImageError(f"{name}: not enough memory to decode this image") from err
    except Exception as err:  # decoders raise many types for corrupt data
        raise ImageError(f"{name}: cannot decode image data ({type(err).__name__}: {err})") from err


def _open_pil(data: bytes, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():  # our own max_pixels check follows
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise ImageError(f"{name}: image header declares too many pixels ({err})") from err
    except UnidentifiedImageError as err:
        raise ImageError(f"{name}: {NOT_SUPPORTED}") from err
    if img.format not in PIL_FORMATS:
        raise ImageError(f"{name}: {img.format} images are not supported; save it as PNG or TIFF")
    return img


def _read_pil(src: Source, page: int | None, choice: Choice, max_pixels: int) -> tuple[np.ndarray, dict]:
    name, page = src.name, page or 0
    img = _open_pil(src.read_bytes(), name)
    check_decoded(name, img.width, img.height, img.width * img.height * len(img.getbands()),
                  PIL_SAMPLE_BYTES.get(img.mode, 1), max_pixels)
    n_frames = int(getattr(img, "n_frames", 1))
    if page >= n_frames:
        raise ImageError(f"{name}: image has {n_frames} frame(s); page {page} was requested")
    if page:
        img.seek(page)
    img.load()
    notes = []
    orientation = img.getexif().get(0x0112, 1) if hasattr(img, "getexif") else 1
    if orientation not in (1, None):
        img = ImageOps.exif_transpose(img)
        notes.append(f"EXIF orientation {orientation} applied")
    img, mode_note = _pil_to_array_mode(img)
    if mode_note:
        notes.append(mode_note)
    return np.asarray(img), {"format": "JPEG" if img.format == "MPO" else (img.format or "PNG"),
                             "pages": n_frames, "page": page, "notes": notes}


def _pil_to_array_mode(img: Image.Image) -> tuple[Image.Image, str]:
    """Convert only where the conversion is lossless for intensities."""
    fmt = img.format
    mode = img.mode
    if mode in ("L", "RGB", "RGBA", "LA", "I", "F") or mode.startswith("I;16"):
        out, note = img, ""
    elif mode == "1":
        out, note = img.convert("L"), ""
    elif mode in ("P", "PA"):
        out, note = img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB"), \
            "palette expanded to RGB"
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        out, note = img.convert("RGB"), f"{mode} converted to RGB"
    else:
        raise ImageError(f"unsupported pixel mode {mode}")
    out.format = fmt
    return out, note


def _finish(raw: np.ndarray, meta: dict, name: str, choice: Choice) -> tuple[np.ndarray, ImageInfo]:
    notes = list(meta.get("notes", []))
    layout = meta.get("layout") or Layout(meta.get("axes") or "YXS"[: raw.ndim], tuple(raw.shape),
                                          pixel_size=meta.get("pixel_size"))
    if "layout" not in meta and choice.given():  # a single-plane file: only index 0 / "max" is valid
        hint = "; choose a page of this multi-page file with page=" if meta.get("pages", 1) > 1 else ""
        choose_plane(name, layout, choice, hint)
    arr = to_plane(raw, notes)
    if arr.size == 0:
        raise ImageError(f"{name}: image has no pixels (shape {tuple(raw.shape)})")
    img, normalization = normalize_intensity(arr, name, notes)
    if img.ndim == 3 and np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]):
        img = np.ascontiguousarray(img[..., 0])
        notes.append("identical RGB channels read as gray")
    info = ImageInfo(name=name, format=meta["format"], dtype=str(raw.dtype), shape=layout.shape,
                     width=int(img.shape[1]), height=int(img.shape[0]),
                     channels=1 if img.ndim == 2 else 3, pages=meta.get("pages", 1),
                     page=meta.get("page", 0), normalization=normalization, notes=tuple(notes),
                     axes=layout.axes, channel_names=layout.channel_names, pixel_size=layout.pixel_size,
                     selection=meta.get("selection", ""))
    return img, info
