"""Reading micrographs of any common kind and writing results.

:func:`read_image` turns PNG, JPEG, BMP, GIF, WebP and TIFF files (8/16/32-bit
integer, float, gray, RGB(A), palette, multi-page) into float32 arrays in
[0, 1] and says exactly what it did to get there (:class:`ImageInfo`).

Intensity normalisation (documented, never a silent clip):

* 8-bit and 1-bit data are divided by their maximum (255 or 1).
* Other integer data (16/32-bit, signed) that span at least half of their
  type's range are divided by the type's maximum.  Data that use only part of
  their range (a 12-bit sensor in a 16-bit file, a camera offset of 33000) get a
  percentile stretch: the 0.5th percentile maps to 0 and the 99.8th to 1, values
  beyond saturate (the info says how many).
* Float data already inside [0, 1] are kept; other float data (negative, or
  above 1) get the same percentile stretch.  NaN and Inf pixels become 0 and
  are counted; an image with no finite pixel is refused.

Everything that cannot be read raises :class:`ImageError` with the file's name
and the reason.  Images over ``max_pixels`` are refused from their header,
before any pixel is decoded.
"""
from __future__ import annotations

import io
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np
import tifffile
from PIL import Image, ImageOps, UnidentifiedImageError

#: Largest image (width x height) read by default: about 100 megapixels.
DEFAULT_MAX_PIXELS = 100_000_000
#: Percentiles used by the stretch for data that use only part of their range.
STRETCH_PERCENTILES = (0.5, 99.8)
#: Formats read through Pillow; TIFF always goes through tifffile.
PIL_FORMATS = {"PNG", "JPEG", "MPO", "BMP", "GIF", "WEBP"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

Source = Union[str, os.PathLike, bytes]


class ImageError(ValueError):
    """An image that cannot be read or used; the message names the file and the problem."""


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`read_image` found and did.

    Attributes
    ----------
    name : str
        File name (or the name given for in-memory data).
    format : str
        Container format, e.g. ``"TIFF"`` or ``"PNG"``.
    dtype : str
        Sample type of the stored pixels, e.g. ``"uint16"``.
    shape : tuple of int
        Shape of the decoded page before normalisation.
    width, height : int
        Size of the returned image.
    channels : int
        1 (gray) or 3 (RGB) in the returned array.
    pages : int
        Number of pages (planes) in the file; ``page`` is the one returned.
    page : int
    normalization : str
        How intensities were mapped to [0, 1].
    notes : tuple of str
        Other facts worth knowing (alpha dropped, EXIF rotation, NaN pixels...).
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

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    def as_dict(self) -> dict:
        """JSON-friendly view for tables and metadata."""
        return {"name": self.name, "format": self.format, "dtype": self.dtype,
                "shape": list(self.shape), "width": self.width, "height": self.height,
                "channels": self.channels, "pages": self.pages, "page": self.page,
                "normalization": self.normalization, "notes": list(self.notes)}


def _is_tiff(head: bytes) -> bool:
    return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: image has no pixels ({width} x {height})")
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: {width} x {height} pixels ({width * height / 1e6:.0f} MP) exceeds the limit of "
            f"{max_pixels / 1e6:.0f} MP; downscale or crop it first")


def read_image(source: Source, *, name: str | None = None, page: int = 0,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageInfo]:
    """Read a micrograph or photo as float32 in [0, 1].

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A file path, or the file's bytes (e.g. an upload).
    name : str, optional
        Name used in messages and in the info; defaults to the file name.
    page : int, default 0
        Plane of a multi-page TIFF (or frame of an animated GIF) to read.
    max_pixels : int, default ``DEFAULT_MAX_PIXELS``
        Images with more pixels are refused before decoding.

    Returns
    -------
    image : np.ndarray, float32, shape (H, W) or (H, W, 3)
        Gray or sRGB intensities in [0, 1].  RGB images whose three channels
        are identical are returned as gray.
    info : ImageInfo

    Raises
    ------
    ImageError
        Missing, empty, truncated, unsupported, too large or all-NaN images.
    """
    data, name = _load_bytes(source, name)
    if not data:
        raise ImageError(f"{name}: file is empty (0 bytes)")
    if page < 0:
        raise ImageError(f"{name}: page must be >= 0, got {page}")
    try:
        if _is_tiff(data[:4]):
            raw, info = _read_tiff(data, name, page, max_pixels)
        else:
            raw, info = _read_pil(data, name, page, max_pixels)
        return _finish(raw, info)
    except ImageError as err:
        if str(err).startswith(f"{name}: "):
            raise
        raise ImageError(f"{name}: {err}") from err
    except MemoryError as err:
        raise ImageError(f"{name}: not enough memory to decode this image") from err
    except Exception as err:  # decoders raise many types for corrupt data
        raise ImageError(f"{name}: cannot decode image data ({type(err).__name__}: {err})") from err


def _load_bytes(source: Source, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "<upload>"
    path = Path(source)
    name = name or path.name
    if not path.exists():
        raise ImageError(f"{name}: no such file ({path})")
    if not path.is_file():
        raise ImageError(f"{name}: not a regular file ({path})")
    try:
        return path.read_bytes(), name
    except OSError as err:
        raise ImageError(f"{name}: cannot read file ({err.strerror or err})") from err


def _read_tiff(data: bytes, name: str, page: int, max_pixels: int) -> tuple[np.ndarray, dict]:
    try:
        tif = tifffile.TiffFile(io.BytesIO(data))
    except Exception as err:
        raise ImageError(f"{name}: not a readable TIFF ({err})") from err
    with tif:
        n_pages = len(tif.pages)
        if n_pages == 0:
            raise ImageError(f"{name}: TIFF has no image pages")
        if page >= n_pages:
            raise ImageError(f"{name}: TIFF has {n_pages} page(s); page {page} was requested")
        tpage = tif.pages[page]
        shape = tuple(int(s) for s in tpage.shape)
        height, width = _tiff_plane_size(shape, int(getattr(tpage, "samplesperpixel", 1)))
        _check_pixels(name, width, height, max_pixels)
        if int(np.prod(shape)) > 4 * max_pixels:
            raise ImageError(f"{name}: TIFF page of shape {shape} holds too many samples to read")
        arr = tpage.asarray()
    return arr, {"name": name, "format": "TIFF", "pages": n_pages, "page": page}


def _tiff_plane_size(shape: tuple, samples: int) -> tuple[int, int]:
    """(height, width) of one plane of a TIFF page of ``shape``."""
    if len(shape) < 2:
        raise ImageError(f"TIFF page has shape {shape}, which is not an image")
    if samples > 1 and len(shape) >= 3 and shape[-1] == samples:
        return shape[-3], shape[-2]
    if samples > 1 and len(shape) >= 3 and shape[-3] == samples:
        return shape[-2], shape[-1]
    return shape[-2], shape[-1]


def _read_pil(data: bytes, name: str, page: int, max_pixels: int) -> tuple[np.ndarray, dict]:
    try:
        with warnings.catch_warnings():  # our own max_pixels check follows
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise ImageError(f"{name}: image header declares too many pixels ({err})") from err
    except UnidentifiedImageError as err:
        raise ImageError(
            f"{name}: not a supported image (expected PNG, JPEG, BMP, GIF, WebP or TIFF)") from err
    if img.format not in PIL_FORMATS:
        raise ImageError(f"{name}: {img.format} images are not supported; save it as PNG or TIFF")
    _check_pixels(name, img.width, img.height, max_pixels)
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
    return np.asarray(img), {"name": name, "format": "JPEG" if img.format == "MPO" else (img.format or "PNG"),
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


def _finish(raw: np.ndarray, meta: dict) -> tuple[np.ndarray, ImageInfo]:
    name = meta["name"]
    notes = list(meta.get("notes", []))
    stored_dtype = raw.dtype
    stored_shape = tuple(raw.shape)
    arr = _to_plane(raw, notes)
    if arr.size == 0:
        raise ImageError(f"{name}: image has no pixels (shape {stored_shape})")
    img, normalization = normalize_intensity(arr, name, notes)
    if img.ndim == 3 and np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]):
        img = np.ascontiguousarray(img[..., 0])
        notes.append("identical RGB channels read as gray")
    info = ImageInfo(name=name, format=meta["format"], dtype=str(stored_dtype), shape=stored_shape,
                     width=int(img.shape[1]), height=int(img.shape[0]),
                     channels=1 if img.ndim == 2 else 3, pages=meta.get("pages", 1),
                     page=meta.get("page", 0), normalization=normalization, notes=tuple(notes))
    return img, info


def _to_plane(arr: np.ndarray, notes: list) -> np.ndarray:
    """Reduce a decoded page to (H, W) or (H, W, 3).

    Leading axes of 4-D and larger pages are reduced to their first plane.  In a
    3-D page the channel axis is the last one if it has at most 4 entries, else
    the first one if that has at most 4; otherwise it is a stack of planes and
    the first plane along the shorter end axis is used.
    """
    while arr.ndim > 3:
        if arr.shape[0] != 1:
            notes.append(f"first plane of a {arr.ndim}-D page used")
        arr = arr[0]
    if arr.ndim == 3:
        if arr.shape[-1] > 4 and arr.shape[0] <= 4:
            arr = np.moveaxis(arr, 0, -1)
        elif arr.shape[-1] > 4:
            axis = 0 if arr.shape[0] <= arr.shape[-1] else -1
            notes.append(f"first of {arr.shape[axis]} planes used")
            arr = np.take(arr, 0, axis=axis)
    if arr.ndim == 3:
        channels = arr.shape[-1]
        if channels in (2, 4):
            notes.append("alpha channel dropped")
        arr = arr[..., 0] if channels <= 2 else arr[..., :3]
    return arr


def _sample(values: np.ndarray, limit: int = 1_000_000) -> np.ndarray:
    flat = values.reshape(-1)
    return flat[:: max(1, flat.size // limit)]


def normalize_intensity(arr: np.ndarray, name: str = "image", notes: list | None = None
                        ) -> tuple[np.ndarray, str]:
    """Map stored intensities to float32 [0, 1] (see the module docstring).

    Parameters
    ----------
    arr : np.ndarray, shape (H, W) or (H, W, 3)
        Bool, integer or float samples.
    name : str
        Used in error messages.
    notes : list of str, optional
        Receives notes about saturated or non-finite pixels.

    Returns
    -------
    image : np.ndarray, float32, same shape
    normalization : str
        Human-readable description of the mapping.

    Raises
    ------
    ImageError
        If the data type is unsupported or no pixel is finite.
    """
    notes = notes if notes is not None else []
    if arr.dtype == bool:
        return arr.astype(np.float32), "1-bit: False -> 0, True -> 1"
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0, "8-bit: divided by 255"
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and info.min == 0 and hi - lo >= info.max // 2:
            return (arr.astype(np.float32) / float(info.max),
                    f"{info.bits}-bit: divided by {info.max} (data span {lo}-{hi})")
        return _stretch(arr.astype(np.float32), name, notes, f"{info.bits}-bit")
    if np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32, copy=False)
        finite = np.isfinite(arr)
        n_bad = int(arr.size - np.count_nonzero(finite))
        if n_bad == arr.size:
            raise ImageError(f"{name}: image has no finite pixel values (all NaN or Inf)")
        if n_bad:
            notes.append(f"{n_bad} NaN/Inf pixel value(s) set to 0")
            arr = np.where(finite, arr, np.float32(np.nan))
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if lo >= 0.0 and hi <= 1.0:
            out, desc = arr.copy(), f"float data already in [0, 1] (span {lo:.3g}-{hi:.3g}): kept"
        else:
            out, desc = _stretch(arr, name, notes, "float")
        if n_bad:
            out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        return out.astype(np.float32, copy=False), desc
    raise ImageError(f"{name}: unsupported sample type {arr.dtype}")


def _stretch(arr: np.ndarray, name: str, notes: list, kind: str) -> tuple[np.ndarray, str]:
    """Percentile stretch of float32 data (NaN ignored), clipped to [0, 1]."""
    p_lo, p_hi = STRETCH_PERCENTILES
    sample = _sample(arr)
    sample = sample[np.isfinite(sample)]
    lo, hi = (float(v) for v in np.percentile(sample, [p_lo, p_hi]))
    if hi <= lo:  # fewer than two distinct levels inside the percentiles
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    if hi <= lo:
        notes.append("constant image")
        return np.full(arr.shape, 0.5, np.float32), f"{kind}: constant value {lo:.6g} shown as mid-gray"
    out = (arr - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    saturated = float(np.mean((out < 0) | (out > 1)))
    np.clip(out, 0.0, 1.0, out=out)
    if saturated:
        notes.append(f"{100 * saturated:.2f} % of pixels saturated by the stretch")
    return out, (f"{kind}: percentile stretch {p_lo}-{p_hi} % ({lo:.6g} -> 0, {hi:.6g} -> 1)")


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] -> uint8 with rounding (values outside are clipped)."""
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def shrink(image: np.ndarray, max_side: int, resample: int = Image.Resampling.LANCZOS) -> np.ndarray:
    """Downscale a uint8 (H, W) or (H, W, 3) image so its long side is at most ``max_side``.

    Images already small enough are returned as they are (never enlarged).
    """
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, resample))


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    _atomic_write(Path(path), lambda fh: fh.write(data))


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an (H, W, 3) uint8 or float [0, 1] image as PNG bytes.

    zlib level 1: about twice as fast as Pillow's default for a few percent larger files, which
    matters for multi-megapixel results.
    """
    if rgb.dtype != np.uint8:
        rgb = to_uint8(rgb)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write an 8-bit sRGB PNG atomically."""
    atomic_write_bytes(path, encode_png(rgb))


def write_tiff16(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write float [0, 1] RGB as a 16-bit RGB TIFF atomically."""
    buf = io.BytesIO()
    tifffile.imwrite(buf, (np.clip(rgb, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16), photometric="rgb")
    atomic_write_bytes(path, buf.getvalue())
