"""Writing results: 8-bit PNG and 16-bit OME-TIFF that keep the input's pixel size and say where they came from.

The same encoders serve the command line, the app and any future HTTP API, so a result
downloaded anywhere is the same file.
"""
from __future__ import annotations

import hashlib
import io
import os
import uuid
import tempfile
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, PngImagePlugin

from .info import ImageInfo, PixelSize

#: pHYs stores pixels per metre as an unsigned 32-bit integer.
PNG_MAX_PER_METRE = 2**32 - 1


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
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:  # name the file asked for, not the temporary one
        raise type(err)(err.errno, err.strerror, str(path)) from err
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


def encode_png(rgb: np.ndarray, pixel_size: PixelSize | None = None, description: str = "") -> bytes:
    """Encode an 8-bit sRGB (or gray) PNG.

    zlib level 1: about twice as fast as Pillow's default for a few percent larger files, which
    matters for multi-megapixel results.

    Parameters
    ----------
    rgb : np.ndarray, shape (H, W, 3) or (H, W), uint8 or float in [0, 1]
    pixel_size : PixelSize, optional
        Kept as the ``pHYs`` chunk (pixels per metre), which Fiji and most viewers read; left
        out when it does not fit the chunk (pixels under 0.24 nm).
    description : str, optional
        Kept as a ``Description`` text chunk (provenance).

    Returns
    -------
    bytes
    """
    if rgb.dtype != np.uint8:
        rgb = to_uint8(rgb)
    options = {"compress_level": 1}
    per_metre = [1.0 / m for m in pixel_size.metres] if pixel_size else []
    if per_metre and max(per_metre) <= PNG_MAX_PER_METRE:
        options["dpi"] = tuple(p * 0.0254 for p in per_metre)  # Pillow writes dpi as pHYs in pixels per metre
    if description:
        text = PngImagePlugin.PngInfo()
        text.add_itxt("Description", description)
        options["pnginfo"] = text
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", **options)
    return buf.getvalue()


def write_png(path: str | os.PathLike, rgb: np.ndarray, pixel_size: PixelSize | None = None,
              description: str = "") -> None:
    """Write :func:`encode_png`'s bytes atomically."""
    atomic_write_bytes(path, encode_png(rgb, pixel_size, description))


def encode_tiff16(rgb: np.ndarray, pixel_size: PixelSize | None = None, description: str = "") -> bytes:
    """Encode a 16-bit RGB OME-TIFF.

    One interleaved RGB plane (what Fiji, napari and QuPath open as a colour image; OME names
    it as one channel of three samples, ``RGB``).  With ``pixel_size``, the OME metadata carry
    ``PhysicalSizeX/Y`` and their unit, and the XResolution/YResolution tags carry pixels per
    centimetre (ResolutionUnit 3), which ImageJ's own TIFF reader uses for its scale.

    Parameters
    ----------
    rgb : np.ndarray, shape (H, W, 3), uint8 (scaled by 257) or float in [0, 1]
    pixel_size : PixelSize, optional
    description : str, optional
        The OME image description (provenance), e.g. :func:`output_description`.

    Returns
    -------
    bytes
    """
    if rgb.dtype == np.uint8:
        data = rgb.astype(np.uint16) * np.uint16(257)
    else:
        data = (np.clip(rgb, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    # a UUID derived from the content, so the same result is the same file wherever it is made
    digest = hashlib.sha256(data.tobytes() + description.encode()).hexdigest()
    metadata = {"axes": "YXS", "Channel": {"Name": ["RGB"]}, "UUID": str(uuid.uuid5(uuid.NAMESPACE_OID, digest))}
    options = {}
    if description:
        metadata["Description"] = description
    if pixel_size:
        metadata.update(PhysicalSizeX=pixel_size.x, PhysicalSizeXUnit=pixel_size.unit,
                        PhysicalSizeY=pixel_size.y, PhysicalSizeYUnit=pixel_size.unit)
        options.update(resolution=tuple(0.01 / m for m in pixel_size.metres), resolutionunit="CENTIMETER")
    buf = io.BytesIO()
    tifffile.imwrite(buf, data, ome=True, photometric="rgb", metadata=metadata, software="colorcore", **options)
    return buf.getvalue()


def write_tiff16(path: str | os.PathLike, rgb: np.ndarray, pixel_size: PixelSize | None = None,
                 description: str = "") -> None:
    """Write :func:`encode_tiff16`'s bytes atomically."""
    atomic_write_bytes(path, encode_tiff16(rgb, pixel_size, description))


def output_description(info: ImageInfo, checkpoint: str) -> str:
    """Provenance of a colorized result, one ``key: value`` per line.

    Parameters
    ----------
    info : ImageInfo
        What reading the input found and did.
    checkpoint : str
        Name of the checkpoint that colorized it.
    """
    lines = [f"colorized by colorcore from: {info.name}"]
    if info.selection:
        lines.append(f"plane: {info.selection}")
    elif info.pages > 1:
        lines.append(f"page: {info.page} of {info.pages}")
    lines.append(f"normalization: {info.normalization}")
    if info.pixel_size:
        lines.append(f"pixel size: {info.pixel_size}")
    lines.append(f"checkpoint: {checkpoint}")
    return "\n".join(lines)


#: Formats a colorized result is delivered in: file suffix and media type.
RESULT_FORMATS = {"png": (".png", "image/png"), "tiff16": (".tif", "image/tiff")}


def encode_result(rgb: np.ndarray, info: ImageInfo, checkpoint: str, fmt: str = "png") -> bytes:
    """A colorized result as the file every front end delivers: the CLI writes it, the app and API send it.

    Parameters
    ----------
    rgb : np.ndarray, uint8, shape (H, W, 3)
        The full-resolution result.
    info : ImageInfo
        What reading the input found (pixel size and provenance are kept).
    checkpoint : str
        Name of the checkpoint that colorized it.
    fmt : {"png", "tiff16"}
        8-bit PNG or 16-bit OME-TIFF.

    Raises
    ------
    ValueError
        For an unknown ``fmt``.
    """
    if fmt not in RESULT_FORMATS:
        raise ValueError(f"unknown result format {fmt!r}; choose one of {', '.join(RESULT_FORMATS)}")
    encode = encode_png if fmt == "png" else encode_tiff16
    return encode(rgb, info.pixel_size, output_description(info, checkpoint))


def encode_confidence(confidence: np.ndarray, info: ImageInfo, checkpoint: str) -> bytes:
    """A per-pixel confidence map as an 8-bit gray PNG (255 = sure), with the result's pixel size and provenance.

    Parameters
    ----------
    confidence : np.ndarray, float, shape (H, W)
        In [0, 1] (:attr:`colorcore.infer.ColorizeResult.confidence`).
    info : ImageInfo
        What reading the input found.
    checkpoint : str
        Name of the checkpoint that colorized it.

    Raises
    ------
    ValueError
        If ``confidence`` is not a 2-D array.
    """
    if not isinstance(confidence, np.ndarray) or confidence.ndim != 2:
        raise ValueError(f"confidence must be an (H, W) array, got {getattr(confidence, 'shape', type(confidence))}")
    description = output_description(info, checkpoint) + "\nconfidence: 1 - a*b* spread of the colour classes"
    return encode_png(confidence, info.pixel_size, description)
