"""Real-browser test: `streamlit run streamlit_app.py` driven by Debian's Chromium through Playwright.

Uploads a 16-bit TIFF on Colorize and waits for the colorized image, opens Compare and Training
curves and checks that a Plotly chart is drawn; fails on any browser console error or Streamlit
exception box. Screenshots go to the test's tmp folder, or to $COLORCORE_SCREENSHOTS if set.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from helpers import make_color_image

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
TIMEOUT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, deadline_s: float = 90) -> None:
    end = time.time() + deadline_s
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("streamlit did not become healthy in time")


@pytest.fixture(scope="module")
def server(tiny_catalog):
    port = _free_port()
    # The tiny catalog unless COLORCORE_CHECKPOINTS is set (e.g. to checkpoints/ for real screenshots).
    catalog = os.environ.get("COLORCORE_CHECKPOINTS", str(tiny_catalog))
    env = {**os.environ, "COLORCORE_CHECKPOINTS": catalog, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (bash .ci/run does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("COLORCORE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _no_exception_box(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def _wait_idle(page) -> None:
    """Wait until Streamlit finished the current script run (its status widget shows no Stop button)."""
    page.wait_for_function(
        "() => { const w = document.querySelector('[data-testid=\"stStatusWidget\"]');"
        " return !w || !/Running|Stop/.test(w.innerText); }", timeout=TIMEOUT_MS)


def _wait_images(page, n: int) -> None:
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= {n}",
                           timeout=TIMEOUT_MS)


def test_colorize_compare_and_curves_in_chromium(server, browser, shots, tmp_path):
    rng = np.random.default_rng(0)
    tif = tmp_path / "cells16.tif"
    tifffile.imwrite(tif, (33000 + rng.integers(0, 4000, (240, 360))).astype(np.uint16))
    color = tmp_path / "scene.png"
    Image.fromarray(make_color_image(rng, 96, 128)).save(color)

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url)
            if not req.url.startswith((server, "data:", "blob:", "about:")) else None)

    try:
        _drive(page, server, tif, color, shots)
    finally:
        page.screenshot(path=str(shots / "last.png"), full_page=True)
        page.close()
    assert not errors, f"browser console errors: {errors}"
    assert not outside, f"requests left localhost: {outside[:5]}"


def _open_page(page, link: str) -> None:
    """Follow a navigation link and wait until that page's own title is shown and its run has finished.

    Waiting for the title (not just any uploader) matters: right after the click the previous page's
    widgets are still attached, and a file set on them would be lost.
    """
    page.get_by_role("link", name=link).click()
    page.get_by_role("heading", name=link).first.wait_for(timeout=TIMEOUT_MS)
    _wait_idle(page)


def _drive(page, server: str, tif: Path, color: Path, shots: Path) -> None:
    page.goto(server, timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stFileUploaderDropzoneInput"]', state="attached", timeout=TIMEOUT_MS)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(tif))
    page.get_by_text("Image facts").first.wait_for(timeout=TIMEOUT_MS)
    _wait_images(page, 2)
    _wait_idle(page)
    _no_exception_box(page)
    page.screenshot(path=str(shots / "colorize.png"), full_page=True)

    _open_page(page, "Compare checkpoints")
    page.wait_for_selector('[data-testid="stFileUploaderDropzoneInput"]', state="attached", timeout=TIMEOUT_MS)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(color))
    page.get_by_text("Metrics against the original").wait_for(timeout=TIMEOUT_MS)
    _wait_images(page, 6)  # gray, 4 outputs, original
    _wait_idle(page)
    _no_exception_box(page)
    page.screenshot(path=str(shots / "compare.png"), full_page=True)

    _open_page(page, "Training curves")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=TIMEOUT_MS)
    _wait_idle(page)
    assert page.locator(".js-plotly-plot").count() >= 2
    _no_exception_box(page)
    page.screenshot(path=str(shots / "curves.png"), full_page=True)
