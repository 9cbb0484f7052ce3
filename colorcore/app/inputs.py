"""What the pages take in: shipped examples and uploads (as bytes, never paths), decoded, described, hinted at."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import paths
from ..io import ImageError, ImageInfo, is_image_name, read_image, to_uint8
from .names import content_hash, sanitize_filename

#: Largest upload the app colorizes (width x height); the command line takes more.
APP_MAX_PIXELS = 40_000_000


def list_samples() -> list[str]:
    """Names of the example images present in :func:`colorcore.paths.samples_dir` now (sorted, no folders)."""
    folder = paths.samples_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and is_image_name(p.name))


def read_sample(name: str) -> bytes:
    """Bytes of one example image; only names listed by :func:`list_samples` are accepted.

    Raises
    ------
    ImageError
        If ``name`` is not one of the examples.
    """
    if name not in list_samples():
        raise ImageError(f"{sanitize_filename(name)}: not one of the shipped examples")
    return (paths.samples_dir() / name).read_bytes()


def gather_inputs(uploads, example: str | None = None) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of the images to process: the uploads, or else the chosen example.

    Parameters
    ----------
    uploads : None, one object or a list of objects with ``name`` and ``getvalue()``
        What ``st.file_uploader`` returned.
    example : str, optional
        A name from :func:`list_samples`; used only when nothing was uploaded.

    Raises
    ------
    ImageError
        If ``example`` is not one of the shipped examples.
    """
    if uploads is not None and not isinstance(uploads, (list, tuple)):
        uploads = [uploads]
    items = [(u.name, u.getvalue()) for u in uploads or []]
    if not items and example:
        items = [(example, read_sample(example))]
    return items


@dataclass
class LoadedImage:
    """A decoded upload or example.

    Attributes
    ----------
    name : str
        Sanitized file name.
    digest : str
        SHA-256 of the file's bytes.
    image : np.ndarray
        Float32 (H, W) or (H, W, 3) in [0, 1], from :func:`colorcore.read_image`.
    info : ImageInfo
    """

    name: str
    digest: str
    image: np.ndarray
    info: ImageInfo

    @property
    def is_color(self) -> bool:
        """True when the file holds colour, which then serves as ground truth."""
        return self.image.ndim == 3

    @property
    def truth(self) -> np.ndarray | None:
        """The original as uint8 sRGB when it is in colour, else None."""
        return to_uint8(self.image) if self.is_color else None

    @property
    def display(self) -> np.ndarray:
        """The input as uint8 (gray or RGB) for showing."""
        return to_uint8(self.image)


def plane_key(plane: dict | None) -> str:
    """A short text naming a channel/z/t choice (``""`` for none), part of a loaded image's identity."""
    return "/".join(f"{k}={v}" for k, v in sorted((plane or {}).items()) if v is not None)


def load_image(name: str, data: bytes, *, max_pixels: int = APP_MAX_PIXELS,
               digest: str | None = None, plane: dict | None = None) -> LoadedImage:
    """Decode an upload's bytes.

    Parameters
    ----------
    name : str
        The upload's name (sanitized here; used in messages).
    data : bytes
    max_pixels : int
        Larger images are refused from their header.
    digest : str, optional
        :func:`colorcore.app.names.content_hash` of ``data`` when the caller already has it.
    plane : dict, optional
        ``channel``, ``z``, ``t`` choices for microscope stacks (see :func:`colorcore.io.read_image`);
        the loaded image's ``digest`` then names the choice too, so results are cached per plane.

    Raises
    ------
    ImageError
        Empty, unreadable, unsupported or too large files; the message names the file.
    """
    safe = sanitize_filename(name, default="upload")
    data = bytes(data)
    image, info = read_image(data, name=safe, max_pixels=max_pixels, **(plane or {}))
    identity = digest or content_hash(data)
    return LoadedImage(safe, f"{identity}:{plane_key(plane)}" if plane_key(plane) else identity, image, info)


def image_facts(info: ImageInfo) -> list[dict]:
    """``[{"fact", "value"}]`` rows describing an image: size, sample type, normalisation, notes."""
    bits = {"uint8": "8-bit integer", "uint16": "16-bit integer", "int16": "16-bit signed integer",
            "uint32": "32-bit integer", "int32": "32-bit signed integer", "float16": "16-bit float",
            "float32": "32-bit float", "float64": "64-bit float", "bool": "1-bit"}
    rows = [("file", info.name), ("format", info.format),
            ("size", f"{info.width} x {info.height} px ({info.megapixels:.2f} MP)"),
            ("stored samples", f"{info.dtype} ({bits.get(info.dtype, info.dtype)}), shape {tuple(info.shape)}"),
            ("channels read", "RGB colour (used as ground truth)" if info.channels == 3 else "gray")]
    if info.pages > 1 and not info.selection:
        rows.append(("pages", f"{info.pages} (page {info.page} used)"))
    if info.selection:
        rows.append(("plane", f"{info.selection} (axes {''.join(info.axes)}, shape {tuple(info.shape)})"))
    if info.pixel_size:
        rows.append(("pixel size", str(info.pixel_size)))
    rows.append(("normalisation", info.normalization or "none"))
    rows.append(("notes", "; ".join(info.notes) if info.notes else "none"))
    return [{"fact": k, "value": str(v)} for k, v in rows]


def micrograph_kind(loaded: LoadedImage) -> str | None:
    """What kind of micrograph a gray input looks like, or None for a photo-like or colour input.

    ``"fluorescence"``: dark background with bright structures (median under
    0.3, 99th percentile at least 0.3 above it).  ``"brightfield"``: a 16-bit,
    float or TIFF image with a bright background (median over 0.6).
    ``"micrograph"``: any other 16-bit, float or TIFF gray image (DIC, EM).
    8-bit gray PNG/JPEG files that are not fluorescence-like are not guessed
    at: they may as well be photographs.
    """
    if loaded.is_color:
        return None
    step = max(1, int(math.sqrt(loaded.image.size / 250_000)))
    sample = loaded.image[::step, ::step]
    median, top = np.percentile(sample, [50, 99])
    if median < 0.3 and top - median >= 0.3:
        return "fluorescence"
    scientific = loaded.info.dtype != "uint8" or loaded.info.format == "TIFF"
    if not scientific:
        return None
    return "brightfield" if median > 0.6 else "micrograph"


#: Which domain serves each kind of micrograph, and how the hint describes the input.
_KIND_DOMAINS = {"fluorescence": (("fluorescence",), "a fluorescence image (dark background, bright structures)"),
                 "brightfield": (("histology",), "a brightfield micrograph (bright background)"),
                 "micrograph": (("histology", "fluorescence"), "a scientific gray image (16-bit, float or TIFF)")}


def domain_hint(kind: str | None, current_domain: str, domains: list[str]) -> str | None:
    """A suggestion to switch to a micrograph domain, or None when there is nothing better to offer.

    Parameters
    ----------
    kind : str or None
        From :func:`micrograph_kind`.
    current_domain : str
        Domain of the selected checkpoint.
    domains : list of str
        Domains present in the catalog.
    """
    if kind is None or kind not in _KIND_DOMAINS:
        return None
    wanted, described = _KIND_DOMAINS[kind]
    offered = [d for d in wanted if d in domains]
    if not offered or current_domain in offered:
        return None
    names = " or ".join(f"**{d}**" for d in offered)
    return (f"This looks like {described}. The {current_domain} checkpoints learned the colours of "
            f"{'photographs' if current_domain == 'scenes' else current_domain + ' images'}; "
            f"choose the {names} domain above for stain- or dye-like colours.")


def suggested_domain(kind: str | None, current_domain: str, domains: list[str]) -> str | None:
    """The domain an upload starts on when the user has not chosen one, or None to stay.

    Only clear cases switch: a fluorescence-like image to ``fluorescence``, a brightfield
    micrograph to ``histology`` (when the catalog has them and the current domain is another).
    Other scientific gray images (DIC, EM) get only the hint of :func:`domain_hint`: no
    checkpoint learned them.
    """
    if kind not in ("fluorescence", "brightfield"):
        return None
    (target,), _ = _KIND_DOMAINS[kind]
    return target if target in domains and current_domain != target else None


def describe_kind(kind: str) -> str:
    """How the pages name a kind of micrograph from :func:`micrograph_kind`."""
    return _KIND_DOMAINS[kind][1]
