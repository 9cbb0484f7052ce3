"""Helpers shared by the tests: generated images, the app's entry point and the AppTest check.

Importable as ``helpers`` (``tests/`` is on ``sys.path`` because ``conftest.py`` lives there).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

#: The source checkout.
ROOT = Path(__file__).resolve().parents[1]
#: The Streamlit entry point the app tests run.
APP = str(ROOT / "explorer.py")
#: The shipped checkpoints: the checkout's ``checkpoints/`` folder, the source of the catalog an install carries.
SHIPPED_CHECKPOINTS = tuple(sorted((ROOT / "checkpoints").glob("*.safetensors")))
#: Names of the tiny catalog's checkpoints (``tiny_catalog``): the study's grid, in grid order.
STUDY_NAMES = ("places12-mse", "places12-huber", "places500-mse", "places500-huber")


def make_color_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth colourful uint8 RGB image (gradients and a blob), like a tiny photo."""
    y, x = np.mgrid[0:height, 0:width]
    y = y / max(1, height - 1)
    x = x / max(1, width - 1)
    c = rng.random(3)
    blob = np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2) * 20)
    rgb = np.stack([0.2 + 0.6 * x * c[2] + 0.2 * blob, 0.3 + 0.5 * y * (1 - c[2]), 0.5 + 0.4 * (blob - 0.5 * x)], -1)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def image_bytes(arr: np.ndarray, fmt: str) -> bytes:
    """``arr`` encoded as a file: ``"TIFF"`` by tifffile (any dtype it writes), other formats by Pillow."""
    buf = io.BytesIO()
    if fmt == "TIFF":
        tifffile.imwrite(buf, arr)
    else:
        Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def png_bytes(arr: np.ndarray) -> bytes:
    """``arr`` (uint8 (H, W) or (H, W, 3)) encoded as PNG."""
    return image_bytes(arr, "PNG")


def tiff_bytes(arr: np.ndarray) -> bytes:
    """``arr`` encoded as TIFF by tifffile."""
    return image_bytes(arr, "TIFF")


def color_png(seed: int = 1, h: int = 48, w: int = 64) -> bytes:
    """A small colour PNG (:func:`make_color_image`)."""
    return png_bytes(make_color_image(np.random.default_rng(seed), h, w))


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A ZIP archive (deflated) of ``{name: data}``, names written as given (``../`` included)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def color_zip(n: int = 12, seed: int = 0, h: int = 40, w: int = 48) -> bytes:
    """A ZIP of ``n`` small colour PNGs (:func:`make_color_image`) in a folder ``stain/``."""
    rng = np.random.default_rng(seed)
    return zip_bytes({f"stain/img_{i:02d}.png": png_bytes(make_color_image(rng, h, w)) for i in range(n)})


def gray_tiff16(h: int = 40, w: int = 56) -> bytes:
    """A 16-bit gray TIFF spanning most of the 16-bit range (a gradient)."""
    y, x = np.mgrid[0:h, 0:w]
    return tiff_bytes(((x / (w - 1)) * 60000 + (y / (h - 1)) * 5000).astype(np.uint16))


def ok(at):
    """Assert that an AppTest run raised no exception and showed no deprecation warning; return it."""
    assert not at.exception, [e.value for e in at.exception]
    assert not [w.value for w in at.warning if "deprecat" in w.value.lower()]
    return at


def fake_meta(name: str, domain: str = "scenes", train: int = 12, loss: str = "mse", psnr: float | None = None,
              rmse: float | None = None, **extra) -> dict:
    """Checkpoint metadata with the fields the app reads (no weights behind it)."""
    meta = {"name": name, "model": {"name": "m"}, "recipe": "corrected", "domain": domain,
            "train_config": {"loss": loss}, "data": {"root": "data/places", "split": {"train": train}},
            "history": [{"epoch": 1}], "metrics": {}}
    if psnr is not None:
        meta["metrics"]["test"] = {"psnr": psnr, "ab_rmse": rmse, "data": "data/places"}
    meta.update(extra)
    return meta


def download_labels(at) -> list[str]:
    """The labels of the download buttons (:func:`app_cache.download_link`) an AppTest run drew, in order."""
    import html
    import re

    return [html.unescape(label) for md in at.markdown
            for label in re.findall(r'<a class="colorcore-download"[^>]*>(.*?)</a>', md.value)]
