"""The lab's kinds of micrograph for the load benchmarks: distinct 16-bit gray TIFFs made from real fields.

``fluorescence``  widefield fluorescence (HeLa nuclei, H2B-GFP; raw 16-bit with its camera offset near 33000): a
                  mosaic of flipped copies of the real fields, so a dark background with bright nuclei,
                  the kind of upload the Colorize page moves to the fluorescence domain.
``he``            H&E brightfield: gray (luminance) H&E tiles, flipped and turned, laid out as a tissue
                  section over part of the field on bright slide glass, stored as 16-bit: the page sees a
                  brightfield micrograph (bright background) and moves to the histology domain.
``noise``         camera-offset noise (values 33000-37000), the hard case for PNG previews (it does not
                  compress); what ``load_app.py`` uploaded before the kinds were added.

The real fields come from ``../shared/data`` (six Fluo-N2DL-HeLa frames; 480 MoNuSeg and two StarDist H&E
tiles) when it is there, else from ``samples/`` (one fluorescence frame, one H&E tile). Every image is made
distinct (its own mosaic, crop, flips, shift and noise, from its own seed) so that no session or client is
served from another's cached result. :func:`distinct_copy` is the flip-shift-noise step on its own, for any
array.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
#: The project's gathered data (not shipped): more fields of each kind than ``samples/`` has.
SHARED = ROOT.parent / "shared" / "data"
KINDS = ("fluorescence", "he", "noise")
#: Real fields of each kind: (``samples/`` files, glob patterns under :data:`SHARED`).
SOURCES = {"fluorescence": (["fluo-n2dl-hela_02sub_t00_uint16.tif"], ["gray/fluo-n2dl-hela_02sub_t*_uint16.tif"]),
           "he": (["stardist_histo_0.png"], ["micrographs/he_monuseg/*.jpg", "micrographs/he_stardist/*.png"])}
#: Share of an H&E field covered by tissue (the rest is slide glass), drawn per image from this range.
TISSUE_SHARE = (0.3, 0.45)
#: Gray level of the bare slide glass in an H&E field (a share of the 16-bit range).
GLASS = 0.92


def kinds(choice: str) -> list[str]:
    """The kinds a ``--kind`` choice names: one of :data:`KINDS`, or ``"all"`` for every one."""
    if choice == "all":
        return list(KINDS)
    if choice not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)} or all, got {choice!r}")
    return [choice]


def side_of(megapixels: float) -> int:
    """The side of a square image of about ``megapixels``."""
    return max(16, int(round((megapixels * 1e6) ** 0.5)))


def source_fields(kind: str, shared: Path | None = SHARED) -> list[np.ndarray]:
    """The real fields of ``kind`` as 16-bit gray arrays: from ``shared`` when it has them, else ``samples/``."""
    local, patterns = SOURCES[kind]
    paths = sorted(p for pattern in patterns for p in shared.glob(pattern)) if shared and shared.is_dir() else []
    return [_gray16(path) for path in paths or [ROOT / "samples" / name for name in local]]


def _gray16(path: Path) -> np.ndarray:
    """A TIFF as stored (16-bit); a colour image as its luminance scaled to 16 bits."""
    if path.suffix == ".tif":
        return tifffile.imread(path)
    return np.asarray(Image.open(path).convert("L")).astype(np.uint16) * 257


def distinct_copy(arr: np.ndarray, rng: np.random.Generator, shift: int = 40) -> np.ndarray:
    """A copy of ``arr`` no cache has seen: maybe flipped left-right, rolled down by up to ``shift`` rows, with noise.

    Integer samples get -3..3 levels of noise (clipped to the type's range), float samples N(0, 0.01); the
    dtype and shape are kept.
    """
    arr = np.roll(arr[:, ::-1] if rng.random() < 0.5 else arr, int(rng.integers(0, shift)), axis=0)
    if np.issubdtype(arr.dtype, np.integer):
        top = np.iinfo(arr.dtype).max
        return np.clip(arr.astype(np.int64) + rng.integers(-3, 4, arr.shape), 0, top).astype(arr.dtype)
    return (arr + rng.normal(0, 0.01, arr.shape)).astype(arr.dtype)


def _turned(field: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``field`` flipped on either axis at random, and (when square) turned by a random quarter."""
    out = field[::-1] if rng.random() < 0.5 else field
    out = out[:, ::-1] if rng.random() < 0.5 else out
    return np.rot90(out, int(rng.integers(0, 4))) if out.shape[0] == out.shape[1] else out


def mosaic(fields: list[np.ndarray], side: int, rng: np.random.Generator) -> np.ndarray:
    """A ``side`` x ``side`` crop, at a random offset, of a grid of randomly chosen and turned ``fields``
    (all of one shape)."""
    height, width = fields[0].shape
    rows, cols = -(-side // height) + 1, -(-side // width) + 1
    grid = np.block([[_turned(fields[int(rng.integers(len(fields)))], rng) for _ in range(cols)]
                     for _ in range(rows)])
    top, left = int(rng.integers(0, grid.shape[0] - side + 1)), int(rng.integers(0, grid.shape[1] - side + 1))
    return grid[top:top + side, left:left + side]


def tissue_mask(side: int, rng: np.random.Generator) -> np.ndarray:
    """Where a section lies on the slide: a smooth random blob covering a :data:`TISSUE_SHARE` of the field."""
    coarse = Image.fromarray(rng.normal(size=(6, 6)).astype(np.float32), mode="F")
    smooth = np.asarray(coarse.resize((side, side), Image.BICUBIC))
    return smooth > np.quantile(smooth, 1 - rng.uniform(*TISSUE_SHARE))


def make_image(kind: str, megapixels: float = 4.0, seed: int = 0, fields: list[np.ndarray] | None = None
               ) -> np.ndarray:
    """One distinct 16-bit gray image of ``kind`` (see the module docstring), about ``megapixels``, square.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    megapixels : float
        Size of the image.
    seed : int
        Images of different seeds differ.
    fields : list of np.ndarray, optional
        The real fields to make it from (:func:`source_fields` of ``kind`` when not given); not used by ``noise``.
    """
    side, rng = side_of(megapixels), np.random.default_rng(seed)
    if kind == "noise":
        return (33000 + rng.integers(0, 4000, (side, side))).astype(np.uint16)
    fields = fields if fields is not None else source_fields(kind)
    image = mosaic(fields, side, rng)
    if kind == "he":
        glass = np.uint16(GLASS * 65535)
        image = np.where(tissue_mask(side, rng), image, glass)
    return distinct_copy(image, rng)


def make_tiffs(folder: Path, count: int, megapixels: float, seed: int = 0, kind: str = "noise",
               shared: Path | None = SHARED) -> list[Path]:
    """``count`` distinct 16-bit TIFFs of ``kind`` of about ``megapixels`` in ``folder`` (seeds ``seed`` on).

    ``shared``: where the real fields are looked for first (:func:`source_fields`); ``None``: ``samples/`` only.
    """
    fields = source_fields(kind, shared) if kind != "noise" else None
    paths = []
    for i in range(count):
        path = folder / f"{kind}_{seed + i}.tif"
        tifffile.imwrite(path, make_image(kind, megapixels, seed + i, fields))
        paths.append(path)
    return paths
