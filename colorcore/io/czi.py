"""Zeiss CZI through pylibCZIrw (libCZI): one plane of scene 0, chosen by channel, z and time.

Mosaics are composed by libCZI within the scene's bounding rectangle; BGR pixel types are
returned as RGB.  The pixel size comes from the Scaling metadata (metres, given in µm).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from .info import ImageError, Layout, PixelSize, check_decoded
from .planes import Choice, choose_plane, read_plane
from .source import Source

#: CZI dimensions offered as choices; others (phase, illumination, ...) use their first index.
CHOICE_DIMS = "TCZ"
#: CZI dimensions that pylibCZIrw's ``read(plane=...)`` accepts.
PLANE_DIMS = "TCZRIHVB"


@contextmanager
def _open(src: Source) -> Iterator:
    try:
        from pylibCZIrw import czi as pyczi
    except ImportError as err:
        raise ImageError(f"{src.name}: reading CZI files needs the pylibCZIrw package "
                         "(pip install pylibCZIrw)") from err
    with src.local_path(".czi") as path:
        try:
            reader = pyczi.CziReader(path)
        except Exception as err:
            raise ImageError(f"{src.name}: not a readable CZI file, damaged or truncated ({err})") from err
        try:
            yield reader
        finally:
            reader.close()


def czi_layout(src: Source) -> Layout:
    """Axes, sizes, channel names and pixel size of a CZI file, from its directory and metadata."""
    with _open(src) as reader:
        return _layout(reader, src.name)


def read_czi(src: Source, page: int | None, choice: Choice, max_pixels: int) -> tuple[np.ndarray, dict]:
    """Read the chosen plane (or maximum projection) of scene 0 of a CZI file."""
    if page is not None:
        raise ImageError(f"{src.name}: page= does not apply to CZI files; choose the plane with channel, z and t")
    with _open(src) as reader:
        layout = _layout(reader, src.name)
        width, height, samples = layout.size("X"), layout.size("Y"), layout.size("S")
        check_decoded(src.name, width, height, width * height * samples,
                      _sample_bytes(reader.pixel_types.values(), samples), max_pixels)
        plane = choose_plane(src.name, layout, choice)
        scene, rect, notes = _scene(reader)
        starts = {dim: start for dim, (start, _) in reader.total_bounding_box.items()}
        bgr = layout.axes.endswith("S")

        def read(index: dict) -> np.ndarray:
            coords = {dim: starts[dim] + index.get(dim, 0) for dim in starts if dim in PLANE_DIMS}
            arr = reader.read(roi=rect, plane=coords, scene=scene)
            return _bgr_to_rgb(arr) if bgr else arr[..., 0]

        raw = read_plane(read, plane, layout)
    return raw, {"format": "CZI", "layout": layout, "selection": plane.text,
                 "notes": notes + list(plane.notes)}


def _layout(reader, name: str) -> Layout:
    try:
        box = reader.total_bounding_box
        pixel_types = set(reader.pixel_types.values())
        metadata = reader.metadata.get("ImageDocument", {}).get("Metadata", {})
    except Exception as err:
        raise ImageError(f"{name}: invalid CZI directory or metadata ({type(err).__name__}: {err})") from err
    if not box or not pixel_types:
        raise ImageError(f"{name}: CZI file holds no image")
    unsupported = sorted(t for t in pixel_types if not t.startswith(("Gray", "Bgr")) or "Complex" in t)
    if unsupported:
        raise ImageError(f"{name}: CZI pixel type {unsupported[0]} is not supported")
    _, _, width, height = _scene(reader)[1]
    sizes = {dim: end - start for dim, (start, end) in box.items()}
    others = [d for d in sizes if d in PLANE_DIMS and d not in CHOICE_DIMS and sizes[d] > 1]
    axes = "".join(d for d in [*others, *CHOICE_DIMS] if sizes.get(d, 1) > 1)
    rgb = any(t.startswith("Bgr") for t in pixel_types)
    shape = tuple(sizes[d] for d in axes) + (height, width) + ((3,) if rgb else ())
    axes += "YX" + ("S" if rgb else "")
    names = _channel_names(metadata)
    names = names if len(names) == sizes.get("C", 1) else ()
    return Layout(axes, shape, names, _pixel_size(metadata))


def _sample_bytes(pixel_types, samples: int) -> int:
    """Bytes a decoded sample takes: the widest of libCZI's pixel types ("Gray16", "Bgr48" ...: bits a pixel)."""
    bits = [int(m.group()) for t in pixel_types if (m := re.search(r"\d+", t))]
    return max(1, max(bits, default=8) // 8 // samples)


def _scene(reader) -> tuple[int | None, tuple, list]:
    """The first scene: (its index or None without scenes, its (x, y, w, h) rectangle, notes)."""
    scenes = reader.scenes_bounding_rectangle
    if not scenes:
        rect = reader.total_bounding_rectangle
        return None, (rect.x, rect.y, rect.w, rect.h), []
    first = min(scenes)
    rect = scenes[first]
    notes = [f"scene {first} of {len(scenes)} scenes used"] if len(scenes) > 1 else []
    return first, (rect.x, rect.y, rect.w, rect.h), notes


def _bgr_to_rgb(arr: np.ndarray) -> np.ndarray:
    order = [2, 1, 0, 3][: arr.shape[-1]]
    return arr[..., order]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _channel_names(metadata: dict) -> tuple:
    image = metadata.get("Information", {}).get("Image", {})
    channels = _as_list((image.get("Dimensions") or {}).get("Channels", {}).get("Channel"))
    return tuple(str(c.get("@Name", "")) if isinstance(c, dict) else "" for c in channels)


def _pixel_size(metadata: dict) -> PixelSize | None:
    items = ((metadata.get("Scaling") or {}).get("Items") or {}).get("Distance")
    metres = {d.get("@Id"): d.get("Value") for d in _as_list(items) if isinstance(d, dict)}
    try:
        x, y = float(metres["X"]) * 1e6, float(metres.get("Y", metres["X"])) * 1e6
    except (KeyError, TypeError, ValueError):
        return None
    return PixelSize.parse(x, y, "µm")
