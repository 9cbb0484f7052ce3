"""colorcore explorer, the script every session runs: page configuration and the navigation over ``pages/``.

Served by ``streamlit run streamlit_app.py`` (the server: warm start, health check; offline, see .streamlit/config.toml).

Material icons and fonts are bundled with Streamlit, so nothing is fetched from the internet.
"""
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from app_cache import RUN_KEY
from app_widgets import NAV_KEY, REDIRECT_KEY


def _favicon() -> Image.Image:
    """A small hue-wheel square made here (a Material or emoji favicon would be fetched online)."""
    y, x = np.mgrid[-1:1:32j, -1:1:32j]
    hue = (np.arctan2(y, x) / (2 * np.pi)) % 1.0
    rgb = np.clip(np.abs((hue[..., None] * 6 + np.array([0, 4, 2])) % 6 - 3) - 1, 0, 1)
    return Image.fromarray((rgb * 255).astype(np.uint8))


ABOUT = """**colorcore explorer**: colorize grayscale micrographs with convolutional networks, compare
checkpoints, browse their training curves and colour distributions.

*Your images.* Uploads are held in this server's memory for your session only: they are never
written to disk (a Zeiss CZI file is the one exception: the CZI library reads it from a temporary
file that is deleted as soon as it has been read) and are gone when the session ends. The Train
page is the other: a ZIP of training images is extracted into the server's training-job folder
and deleted when its job ends; the checkpoint trained on it stays on the server. Results are
computed on this server; nothing is sent anywhere else, and nothing is fetched from the internet.

*The colours are predictions.* A network guesses colours from gray levels and textures it saw in
training; on a kind of image it never saw (electron micrographs, DIC), the colours mean nothing.

*Where they are guesses.* Every result is checked against its checkpoint's training images (how
its own encoder sees the image, and how the brightness is laid out across it): an image unlike
them gets a warning naming the checkpoints for which it is in domain. The check can tell that an
image is unlike what a checkpoint learned from; it cannot tell that the colours of an image that
passes are right (models are wrong with confidence too), nor which stain or dye a gray image
shows; a few percent of a checkpoint's own kind of images are flagged anyway, and electron
micrographs often pass the scene checkpoints. The vivid checkpoints also show, pixel by pixel,
how sure the network is of the colour (the confidence toggle); the other checkpoints predict one
colour per pixel and give no such map.
"""

st.set_page_config(page_title="colorcore explorer", page_icon=_favicon(), layout="wide",
                   menu_items={"About": ABOUT})

PAGES = [
    st.Page("pages/colorize.py", title="Colorize", icon=":material/palette:", default=True),
    st.Page("pages/compare.py", title="Compare checkpoints", icon=":material/compare:"),
    st.Page("pages/curves.py", title="Training curves", icon=":material/show_chart:"),
    st.Page("pages/histograms.py", title="a\\*b\\* histograms", icon=":material/bar_chart:"),
    st.Page("pages/dataset.py", title="Dataset analysis", icon=":material/dataset:"),
    st.Page("pages/train.py", title="Train your own", icon=":material/model_training:"),
]

# Pages check this flag: it is missing when a page URL was opened before the first run of
# this script in the server process (Streamlit's legacy pages/ folder mode); see app_widgets.require_navigation.
st.session_state[NAV_KEY] = True
st.session_state[RUN_KEY] = st.session_state.get(RUN_KEY, 0) + 1  # downloads keep the last two runs' (app_cache)
page = st.navigation(PAGES)
redirect = st.session_state.pop(REDIRECT_KEY, None)
if redirect and Path(redirect).stem != page.url_path and any(p.url_path == Path(redirect).stem for p in PAGES):
    st.switch_page(redirect)
page.run()
