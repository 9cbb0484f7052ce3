"""TIFF through tifffile: plain pages, and OME / ImageJ / tifffile stacks read by their axes.

A file whose first series has channel (C), plane (Z) or time (T) axes is read by axes: one
plane is decoded (a page, or a slice of a memory map for contiguous data), never the stack.
Other files are read page by page as before (``page=``).  Compressed TIFFs (LZW, Deflate,
JPEG, zstd, LZMA, PackBits...) decode through imagecodecs.

tifffile reports damaged files through its logger; those records are captured per read
(never printed): errors make the read fail with their message, warnings become notes.
"""
from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import replace
from typing import Iterator

import numpy as np
import tifffile

from .info import ImageError, Layout, PixelSize, check_decoded
from .planes import Choice, PlaneReader, choose_plane, read_plane
from .source import Source

#: Axes that make a TIFF be read by axes rather than by page.
CHOICE_AXES = "CZT"
#: tifffile's series kinds when no metadata parser understood the file.
FALLBACK_KINDS = ("generic", "uniform")


class _LogCapture(logging.Filter):
    """Keeps tifffile's log records of the reads running in this thread, out of the log."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        records = getattr(self._local, "records", None)
        if records is None:
            return True
        records.append(record)
        return False

    @contextmanager
    def capture(self) -> Iterator[list]:
        logger = logging.getLogger("tifffile")
        if self not in logger.filters:
            logger.addFilter(self)
        self._local.records = []
        try:
            yield self._local.records
        finally:
            self._local.records = None


_CAPTURE = _LogCapture()


def _message(record: logging.LogRecord) -> str:
    """tifffile's message without the object it names (``<tifffile.TiffFile '...'> ...``)."""
    return re.sub(r"^(<[^>]*>\s*)+", "", record.getMessage()).strip()


@contextmanager
def _open(src: Source) -> Iterator[tuple]:
    """Open ``src`` and check its first series; yields (TiffFile, series, captured records)."""
    with _CAPTURE.capture() as records:
        try:
            tif = tifffile.TiffFile(src.handle())
        except Exception as err:
            raise ImageError(f"{src.name}: not a readable TIFF ({err})") from err
        with tif:
            yield tif, _first_series(tif, src.name, records), records


def _declared(tif: tifffile.TiffFile) -> str:
    return "OME" if tif.is_ome else "ImageJ" if tif.is_imagej else ""


def _first_series(tif: tifffile.TiffFile, name: str, records: list):
    declared = _declared(tif)
    if len(tif.pages) == 0:
        raise ImageError(f"{name}: TIFF has no image pages")
    try:
        series = tif.series[0]
    except Exception as err:
        raise ImageError(f"{name}: invalid {declared or 'TIFF'} metadata ({type(err).__name__}: {err})") from err
    errors = [_message(r) for r in records if r.levelno >= logging.ERROR]
    if declared and series.kind in FALLBACK_KINDS:
        reason = errors[0] if errors else "they do not describe the file's pages"
        raise ImageError(f"{name}: invalid {declared} metadata ({reason})")
    if errors:
        raise ImageError(f"{name}: damaged or truncated TIFF ({errors[0]})")
    missing = sum(p is None for p in series.pages)
    if missing:
        raise ImageError(f"{name}: the {declared or 'TIFF'} metadata describe {len(series.pages)} planes "
                         f"(axes {series.axes}, shape {tuple(series.shape)}) but {missing} are not in the file")
    return series


def tiff_layout(src: Source) -> Layout:
    """Axes, sizes, channel names and pixel size of a TIFF, from its header and metadata."""
    with _open(src) as (tif, series, _):
        if _by_axes(series):
            return _series_layout(tif, series, src.name)
        page = tif.pages[0]
        return Layout(page.axes, tuple(page.shape), (), _pixel_size(tif, page, src.name))


def read_tiff(src: Source, page: int | None, choice: Choice, max_pixels: int) -> tuple[np.ndarray, dict]:
    """Read one plane of a TIFF (see the module docstring); returns the raw plane and what was done."""
    with _open(src) as (tif, series, records):
        if page is None and _by_axes(series):
            raw, meta = _read_by_axes(tif, series, src, choice, max_pixels)
        else:
            raw, meta = _read_page(tif, src.name, page or 0, max_pixels)
        meta["notes"] = meta.get("notes", []) + [f"tifffile: {_message(r)}" for r in records]
    return raw, meta


def _by_axes(series) -> bool:
    return any(axis in series.axes for axis in CHOICE_AXES)


def _read_page(tif: tifffile.TiffFile, name: str, page: int, max_pixels: int) -> tuple[np.ndarray, dict]:
    n_pages = len(tif.pages)
    if page >= n_pages:
        raise ImageError(f"{name}: TIFF has {n_pages} page(s); page {page} was requested")
    tpage = tif.pages[page]
    shape = tuple(int(s) for s in tpage.shape)
    height, width = _page_plane_size(shape, int(getattr(tpage, "samplesperpixel", 1)))
    check_decoded(name, width, height, int(np.prod(shape)), _itemsize(tpage.dtype), max_pixels)
    return tpage.asarray(), {"format": "TIFF", "pages": n_pages, "page": page, "axes": tpage.axes,
                             "pixel_size": _pixel_size(tif, tpage, name)}


def _itemsize(dtype) -> int:
    """Bytes a decoded sample of ``dtype`` takes (tifffile gives None for types it cannot decode)."""
    return np.dtype(dtype).itemsize if dtype is not None else 1


def _page_plane_size(shape: tuple, samples: int) -> tuple[int, int]:
    """(height, width) of one plane of a TIFF page of ``shape``."""
    if len(shape) < 2:
        raise ImageError(f"TIFF page has shape {shape}, which is not an image")
    if samples > 1 and len(shape) >= 3 and shape[-1] == samples:
        return shape[-3], shape[-2]
    return shape[-2], shape[-1]


def _read_by_axes(tif, series, src: Source, choice: Choice, max_pixels: int) -> tuple[np.ndarray, dict]:
    layout = _series_layout(tif, series, src.name)
    width, height = layout.size("X"), layout.size("Y")
    # a plane is read from one page (which may hold more than the plane) or from contiguous data
    values = max(width * height * layout.size("S"), int(np.prod(series.keyframe.shape)))
    check_decoded(src.name, width, height, values, _itemsize(series.dtype), max_pixels)
    plane = choose_plane(src.name, layout, choice)
    raw = read_plane(_plane_reader(tif, series, src), plane, layout)
    return raw, {"format": "TIFF", "pages": len(tif.pages), "page": 0, "layout": layout,
                 "selection": plane.text, "notes": list(plane.notes)}


def _series_layout(tif, series, name: str) -> Layout:
    layout = Layout(series.axes, tuple(int(s) for s in series.shape), (), _pixel_size(tif, series.keyframe, name))
    names = _ome_channel_names(tif, name) if tif.is_ome else ()
    return replace(layout, channel_names=names) if len(names) == layout.size("C") else layout


def _plane_reader(tif, series, src: Source) -> PlaneReader:
    """Reads one plane at a time: by page, or from a memory map of contiguous data."""
    axes, shape = series.axes, tuple(series.shape)
    page_shape = tuple(series.keyframe.shape)
    n_lead = len(shape) - len(page_shape)
    lead_axes, lead_shape = axes[:n_lead], shape[:n_lead]
    if n_lead >= 0 and shape[n_lead:] == page_shape and len(series.pages) == int(np.prod(lead_shape)):
        def read_page(index: dict) -> np.ndarray:
            key = int(np.ravel_multi_index([index[a] for a in lead_axes], lead_shape)) if lead_axes else 0
            return _to_yxs(series.pages[key].asarray(), axes[n_lead:], index)
        return read_page
    if series.dataoffset is None:
        raise ImageError(f"{src.name}: the planes of this TIFF ({axes} {shape}) are not stored one per page "
                         "nor contiguously, so one cannot be read alone; read raw pages with page=")
    stack = _contiguous(series, tif.byteorder, src)
    return lambda index: np.array(_to_yxs(stack, axes, index))


def _contiguous(series, byteorder: str, src: Source) -> np.ndarray:
    """The series' uncompressed contiguous data as an array view (memory map or buffer), nothing read."""
    dtype = np.dtype(series.dtype).newbyteorder(byteorder)
    shape = tuple(series.shape)
    if src.path is not None:
        return np.memmap(src.path, dtype=dtype, mode="r", offset=series.dataoffset, shape=shape)
    count = int(np.prod(shape))
    return np.frombuffer(src.data, dtype=dtype, count=count, offset=series.dataoffset).reshape(shape)


def _to_yxs(arr: np.ndarray, axes: str, index: dict) -> np.ndarray:
    """Index every axis but Y, X, S with ``index`` and order the rest (Y, X[, S])."""
    arr = arr[tuple(index[a] if a not in "YXS" else slice(None) for a in axes)]
    kept = [a for a in axes if a in "YXS"]
    return np.transpose(arr, [kept.index(a) for a in "YXS" if a in kept])


def _ome_pixels(tif, name: str) -> dict:
    try:
        image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
    except Exception as err:
        raise ImageError(f"{name}: invalid OME metadata ({type(err).__name__}: {err})") from err
    image = image[0] if isinstance(image, list) else image
    return image.get("Pixels", {})


def _ome_channel_names(tif, name: str) -> tuple:
    channels = _ome_pixels(tif, name).get("Channel", [])
    channels = channels if isinstance(channels, list) else [channels]
    names = tuple(str(c.get("Name", "")) if isinstance(c, dict) else "" for c in channels)
    return names if any(names) else ()


def _pixel_size(tif, page, name: str) -> PixelSize | None:
    """From OME PhysicalSizeX/Y, ImageJ's unit and resolution, or centimetre resolution tags."""
    if tif.is_ome:
        px = _ome_pixels(tif, name)
        x = px.get("PhysicalSizeX")
        return PixelSize.parse(x, px.get("PhysicalSizeY", x), px.get("PhysicalSizeXUnit", "µm"),
                               px.get("PhysicalSizeYUnit", px.get("PhysicalSizeXUnit", "µm")))
    if "XResolution" not in page.tags:
        return None
    res_x, res_y = page.get_resolution()
    if not (res_x > 0 and res_y > 0):
        return None
    if tif.is_imagej:
        return PixelSize.parse(1 / res_x, 1 / res_y, (tif.imagej_metadata or {}).get("unit", ""))
    if page.resolutionunit == tifffile.RESUNIT.CENTIMETER:
        return PixelSize.parse(1e4 / res_x, 1e4 / res_y, "µm")
    return None  # inch resolution is a print density, not a physical pixel size
