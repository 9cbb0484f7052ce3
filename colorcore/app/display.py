"""Images as the pages show them: display-size previews and the offline before/after slider (``slider.html``)."""
from __future__ import annotations

import base64
import io
import math
from functools import lru_cache
from importlib import resources
from string import Template

import numpy as np
from PIL import Image

from ..io import shrink

#: Long side of the images the pages display (full size is downloaded).  Streamlit sends no image wider than
#: 1460 px: ``st.image`` decodes, resizes (bilinear) and re-encodes any wider one to ``MAXIMUM_CONTENT_WIDTH =
#: 2 * 730`` (``streamlit/elements/lib/image_utils.py``, ``_ensure_image_size_and_format``; Streamlit 1.67),
#: so a larger preview would be merged only to be shrunk again, at the cost of both steps.
PREVIEW_SIDE = 1460
#: Long side of the Compare page's tiles (up to six a row): their previews are made at this size.
TILE_SIDE = 800
#: Images thinner than 1:MAX_DISPLAY_ASPECT are stretched for display (see :func:`preview`).
MAX_DISPLAY_ASPECT = 50
#: Long side of the images inside the before/after slider (they travel as base64).
SLIDER_SIDE = 1024
#: The slider's HTML, CSS and script, shipped beside this module (package data).
SLIDER_TEMPLATE = "slider.html"
#: What :func:`slider_html` escapes in labels (they appear in text and in ``alt="..."``).
_HTML_ESCAPES = {ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;", ord('"'): "&quot;"}


def preview(rgb: np.ndarray, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """Display copy of a uint8 (H, W) or (H, W, 3) image: long side at most ``max_side``.

    Images thinner than 1:``MAX_DISPLAY_ASPECT`` (say 1 x 10000) are stretched along their short
    side for display only: Streamlit's own resizing would otherwise make them 0 pixels high.
    """
    small = shrink(rgb, max_side)
    height, width = small.shape[:2]
    if width > MAX_DISPLAY_ASPECT * height:
        small = np.repeat(small, math.ceil(width / (MAX_DISPLAY_ASPECT * height)), axis=0)
    elif height > MAX_DISPLAY_ASPECT * width:
        small = np.repeat(small, math.ceil(height / (MAX_DISPLAY_ASPECT * width)), axis=1)
    return small


def png_data_uri(img: np.ndarray) -> str:
    """``data:image/png;base64,...`` of a uint8 (H, W) or (H, W, 3) image.

    Fastest zlib level: several times quicker than the default on noisy micrographs, about 10 % larger
    (it runs for every result a page shows, beside the server's queue on the same cores).
    """
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@lru_cache(maxsize=1)
def _slider_template() -> Template:
    text = resources.files(__package__).joinpath(SLIDER_TEMPLATE).read_text(encoding="utf-8")
    return Template(text.removesuffix("\n"))


def slider_html(before: np.ndarray, after: np.ndarray, *, before_label: str = "input",
                after_label: str = "colorized", max_side: int = SLIDER_SIDE) -> str:
    """A self-contained before/after comparison slider (no external script, works offline).

    The two images are embedded as base64 PNGs into ``slider.html``, where an
    ``<input type=range>`` moves a CSS clip over the "after" image.

    Parameters
    ----------
    before, after : np.ndarray, uint8
        Same height and width; (H, W) or (H, W, 3).
    before_label, after_label : str
        Shown on the images; HTML-escaped.
    max_side : int
        Both images are downscaled to this long side first.

    Returns
    -------
    str
        A complete HTML document for ``st.iframe`` (which sizes its height to the content).

    Raises
    ------
    ValueError
        If ``before`` and ``after`` differ in height or width.
    """
    if before.shape[:2] != after.shape[:2]:
        raise ValueError(f"before and after differ in size: {before.shape[:2]} and {after.shape[:2]}")
    b, a = preview(before, max_side), preview(after, max_side)
    h, w = a.shape[:2]
    max_width = round(min(max(w, 800), 600 * w / h))  # at most 600 px tall on screen
    return _slider_template().substitute(
        max_width=max_width, before_src=png_data_uri(b), after_src=png_data_uri(a),
        before_label=before_label.translate(_HTML_ESCAPES), after_label=after_label.translate(_HTML_ESCAPES))


def resized_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A uint8 (H, W) or (H, W, 3) image resized to ``shape`` (h, w), e.g. an input next to its result's preview."""
    if image.shape[:2] == tuple(shape):
        return image
    return np.asarray(Image.fromarray(image).resize((shape[1], shape[0]), Image.Resampling.LANCZOS))
