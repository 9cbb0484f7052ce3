"""colorcore.app.display: display-size previews and the before/after slider built from slider.html."""
from __future__ import annotations

import base64
import io
import re
from importlib import resources

import numpy as np
import pytest
from PIL import Image
from streamlit.elements.lib import image_utils

from colorcore.app import display


def test_preview():
    img = np.zeros((300, 900, 3), np.uint8)
    assert display.preview(img, 300).shape == (100, 300, 3)
    assert display.preview(img, 2000) is img


def test_preview_keeps_extremely_thin_images_drawable():
    thin = np.zeros((1, 10000, 3), np.uint8)
    shown = display.preview(thin)
    assert shown.shape[1] == display.PREVIEW_SIDE and shown.shape[0] * display.MAX_DISPLAY_ASPECT >= shown.shape[1]
    tall = np.zeros((10000, 1), np.uint8)
    assert display.preview(tall).shape[1] >= display.PREVIEW_SIDE // display.MAX_DISPLAY_ASPECT


def test_previews_are_never_wider_than_what_streamlit_sends():
    """st.image re-encodes an image wider than MAXIMUM_CONTENT_WIDTH down to it: a wider preview is wasted work."""
    assert display.PREVIEW_SIDE == image_utils.MAXIMUM_CONTENT_WIDTH
    assert display.TILE_SIDE <= image_utils.MAXIMUM_CONTENT_WIDTH


def _embedded_images(html: str) -> list[np.ndarray]:
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(u)))) for u in uris]


def test_slider_html_embeds_both_images_and_escapes_labels():
    rng = np.random.default_rng(0)
    before = rng.integers(0, 256, (30, 60), dtype=np.uint8)
    after = rng.integers(0, 256, (30, 60, 3), dtype=np.uint8)
    html = display.slider_html(before, after, before_label='in "gray"', after_label="<b>model</b> & co")
    shown_before, shown_after = _embedded_images(html)
    assert np.array_equal(shown_before, before) and np.array_equal(shown_after, after)
    assert html.count("&lt;b&gt;model&lt;/b&gt; &amp; co") == 2  # alt text and tag
    assert html.count("in &quot;gray&quot;") == 2
    assert "<b>" not in html and '"gray"' not in html
    assert 'type="range"' in html and "clip-path" in html and "max-width:800px" in html
    assert html.startswith("<!doctype html>") and html.endswith("</html>")
    assert "$" not in html  # every placeholder of the template filled


def test_slider_html_loads_nothing_from_outside():
    html = display.slider_html(np.zeros((30, 60), np.uint8), np.full((30, 60, 3), 200, np.uint8))
    assert html.count('src="data:image/png;base64,') == 2
    markup = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert "http" not in markup and "//" not in markup and "url(" not in markup
    assert "<script src" not in markup and "<link" not in markup and "@import" not in markup


def test_slider_html_downscales_and_refuses_mismatched_sizes():
    html = display.slider_html(np.zeros((2000, 1000), np.uint8), np.zeros((2000, 1000, 3), np.uint8), max_side=100)
    assert [img.shape[:2] for img in _embedded_images(html)] == [(100, 50), (100, 50)]
    assert "max-width:300px" in html  # at most 600 px tall on screen
    with pytest.raises(ValueError, match="differ in size"):
        display.slider_html(np.zeros((3, 3), np.uint8), np.zeros((4, 3, 3), np.uint8))


def test_slider_template_ships_with_the_package():
    template = resources.files("colorcore.app").joinpath(display.SLIDER_TEMPLATE).read_text(encoding="utf-8")
    assert {"${before_src}", "${after_src}", "${before_label}", "${after_label}", "${max_width}"} <= set(
        re.findall(r"\$\{\w+\}", template))


def test_resized_to_gives_the_exact_shape():
    img = np.zeros((30, 47, 3), np.uint8)
    assert display.resized_to(img, (10, 16)).shape == (10, 16, 3)
    assert display.resized_to(img, (30, 47)) is img
