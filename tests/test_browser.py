"""Real-browser tests: `streamlit run streamlit_app.py` driven by Debian's Chromium through Playwright.

* Colorize, Compare and Training curves: upload a 16-bit TIFF on Colorize and wait for the colorized
  image, a colour image on Compare, then the Plotly charts of Training curves.
* One upload, every page, and the deferred download: a 16-bit TIFF uploaded on Colorize shows its
  preview; the full-resolution PNG and 16-bit OME-TIFF downloads (made when clicked) have the same
  bytes as ``python -m colorcore colorize`` writes for that file with the checkpoint the page shows;
  Compare and a*b* histograms then use the same image without a second upload.

Both fail on any browser console error, request leaving localhost or Streamlit exception box.
Screenshots go to the test's tmp folder, or to $COLORCORE_SCREENSHOTS if set.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from browser_app import (ROOT, TIMEOUT_MS, chromium, no_exception_box, open_page, streamlit_server, upload,
                         wait_idle, wait_images, watch_errors)
from helpers import make_color_image


@pytest.fixture(scope="module")
def catalog(tiny_catalog) -> str:
    # The tiny catalog unless COLORCORE_CHECKPOINTS is set (e.g. to checkpoints/ for real screenshots).
    return os.environ.get("COLORCORE_CHECKPOINTS", str(tiny_catalog))


@pytest.fixture(scope="module")
def server(catalog):
    with streamlit_server(catalog) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture()
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("COLORCORE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def camera_tiff(path: Path, height: int = 240, width: int = 360, seed: int = 0) -> Path:
    """A 16-bit TIFF like camera-offset data (values 33000-37000)."""
    rng = np.random.default_rng(seed)
    tifffile.imwrite(path, (33000 + rng.integers(0, 4000, (height, width))).astype(np.uint16))
    return path


def test_colorize_compare_and_curves_in_chromium(server, browser, shots, tmp_path):
    tif = camera_tiff(tmp_path / "cells16.tif")
    color = tmp_path / "scene.png"
    Image.fromarray(make_color_image(np.random.default_rng(0), 96, 128)).save(color)

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors, outside = watch_errors(page, server)
    try:
        _drive(page, server, tif, color, shots)
    finally:
        page.screenshot(path=str(shots / "last.png"), full_page=True)
        page.close()
    assert not errors, f"browser console errors: {errors}"
    assert not outside, f"requests left localhost: {outside[:5]}"


def _drive(page, server: str, tif: Path, color: Path, shots: Path) -> None:
    page.goto(server, timeout=TIMEOUT_MS)
    upload(page, tif)
    page.get_by_text("Image facts").first.wait_for(timeout=TIMEOUT_MS)
    wait_images(page, 2)
    wait_idle(page)
    no_exception_box(page)
    page.screenshot(path=str(shots / "colorize.png"), full_page=True)

    open_page(page, "Compare checkpoints")
    upload(page, color)
    page.get_by_text("Metrics against the original").wait_for(timeout=TIMEOUT_MS)
    wait_images(page, 6)  # gray, 4 outputs, original
    wait_idle(page)
    no_exception_box(page)
    page.screenshot(path=str(shots / "compare.png"), full_page=True)

    open_page(page, "Training curves")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=TIMEOUT_MS)
    wait_idle(page)
    assert page.locator(".js-plotly-plot").count() >= 2
    no_exception_box(page)
    page.screenshot(path=str(shots / "curves.png"), full_page=True)


def _cli_outputs(tif: Path, checkpoint: str, catalog: str, out: Path) -> tuple[bytes, bytes]:
    """What ``python -m colorcore colorize FILE --checkpoint NAME --tiff16`` writes: (PNG bytes, TIFF bytes)."""
    proc = subprocess.run([sys.executable, "-m", "colorcore", "colorize", str(tif), "--checkpoint", checkpoint,
                           "--out", str(out), "--tiff16"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLORCORE_CHECKPOINTS": catalog, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return (out / f"{tif.stem}.png").read_bytes(), (out / f"{tif.stem}.tif").read_bytes()


def _download(page, button: str) -> bytes:
    """Click the download button (a link) labelled ``button`` and return the bytes of the file the browser receives."""
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.get_by_role("link", name=button).click()
    return Path(info.value.path()).read_bytes()


def test_one_upload_every_page_and_full_resolution_download(server, browser, catalog, shots, tmp_path):
    tif = camera_tiff(tmp_path / "cells16.tif", 300, 420, seed=5)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors, outside = watch_errors(page, server)
    try:
        page.goto(server, timeout=TIMEOUT_MS)
        upload(page, tif)
        page.get_by_text("Image facts").first.wait_for(timeout=TIMEOUT_MS)
        wait_images(page, 2)  # input and the preview of the result
        wait_idle(page)
        no_exception_box(page)
        # the checkpoint the page shows (its label starts with the name) is the one the CLI gets
        shown = page.get_by_role("combobox", name="Checkpoint").input_value()
        assert " · " in shown, f"no checkpoint label in the picker: {shown!r}"
        checkpoint = shown.split(" · ")[0].strip()
        png = _download(page, f"Download cells16_{checkpoint}.png")
        tiff = _download(page, "16-bit OME-TIFF (keeps the pixel size)")
        no_exception_box(page)
        cli_png, cli_tiff = _cli_outputs(tif, checkpoint, catalog, tmp_path / "cli")
        assert png == cli_png, f"the page's PNG ({len(png)} bytes) differs from the CLI's ({len(cli_png)} bytes)"
        assert Image.open(tmp_path / "cli" / "cells16.png").size == (420, 300)  # full resolution
        assert tiff == cli_tiff, f"the page's TIFF ({len(tiff)} bytes) differs from the CLI's ({len(cli_tiff)} bytes)"

        open_page(page, "Compare checkpoints")  # no second upload: the session's image is used
        page.get_by_text("Using cells16.tif, uploaded earlier in this session").wait_for(timeout=TIMEOUT_MS)
        wait_images(page, 5)  # the input and the four study checkpoints' outputs
        page.get_by_text("cells16.tif is grayscale").wait_for(timeout=TIMEOUT_MS)
        wait_idle(page)
        no_exception_box(page)
        page.screenshot(path=str(shots / "compare_shared_upload.png"), full_page=True)

        open_page(page, "a*b* histograms")
        page.get_by_text("Using cells16.tif, uploaded earlier in this session").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=TIMEOUT_MS)
        page.get_by_text("Summary").first.wait_for(timeout=TIMEOUT_MS)
        wait_idle(page)
        no_exception_box(page)
        # the histogram of this image's result through the checkpoint chosen on this page
        page.get_by_text(f"output of {checkpoint}").first.wait_for(timeout=TIMEOUT_MS)
    finally:
        page.screenshot(path=str(shots / "shared_upload_last.png"), full_page=True)
        context.close()
    assert not errors, f"browser console errors: {errors}"
    assert not outside, f"requests left localhost: {outside[:5]}"


def test_an_out_of_domain_warning_names_the_other_checkpoints_once_they_are_checked(server, browser, tmp_path):
    """The page shows an out-of-domain result without waiting for the check of the other checkpoints (queued
    in the background lane); its warning first says they are being checked, then redraws itself with the
    answer (an st.fragment polling each second)."""
    noise = tmp_path / "noise.png"
    Image.fromarray((np.random.default_rng(0).random((96, 128)) * 255).astype(np.uint8)).save(noise)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors, outside = watch_errors(page, server)
    try:
        page.goto(server, timeout=TIMEOUT_MS)
        upload(page, noise)
        page.get_by_text("Image facts").first.wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=\"stAlert\"]')].some(a => /unlike anything/.test("
            "a.innerText) && /No checkpoint in the catalog was trained on images like it/.test(a.innerText))",
            timeout=TIMEOUT_MS)
        assert page.get_by_text("Checking which other checkpoints suit it").count() == 0
        no_exception_box(page)
    finally:
        page.close()
    assert not errors, f"browser console errors: {errors}"
    assert not outside, f"requests left localhost: {outside[:5]}"
