"""App latency in a real browser: server start to first result, and upload to result for a 4 MP 16-bit TIFF.

Usage::

    PYTHONPATH=. python benchmarks/app_latency.py [--megapixels 4]

Starts ``streamlit run streamlit_app.py`` on a free localhost port with the shipped catalog (the page's default checkpoint), drives Debian's Chromium through Playwright, prints a table and stops the server. Localhost only.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
UPLOAD = '[data-testid="stFileUploaderDropzoneInput"]'
IMAGES_JS = "() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= {n}"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _upload_and_wait(page, path: Path, n_images: int) -> float:
    t0 = time.perf_counter()
    page.locator(UPLOAD).first.set_input_files(str(path))
    page.wait_for_function(IMAGES_JS.format(n=n_images), timeout=300_000)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=4.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    side = int(round((args.megapixels * 1e6) ** 0.5))
    rng = np.random.default_rng(0)
    big = tmp / "big16.tif"
    tifffile.imwrite(big, (33000 + rng.integers(0, 4000, (side, side))).astype(np.uint16))
    small = tmp / "small16.tif"
    tifffile.imwrite(small, (33000 + rng.integers(0, 4000, (256, 256))).astype(np.uint16))
    port = _port()
    url = f"http://127.0.0.1:{port}"
    t_start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port",
                             str(port), "--server.address", "127.0.0.1"], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _healthy(url)
        t_healthy = time.perf_counter() - t_start
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_selector(UPLOAD, state="attached", timeout=120_000)
            first = _upload_and_wait(page, small, 2)
            t_first = time.perf_counter() - t_start
            page.reload()
            page.wait_for_selector(UPLOAD, state="attached", timeout=120_000)
            big_s = _upload_and_wait(page, big, 2)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print("| measurement | seconds |\n|---|---|")
    print(f"| server start to healthy | {t_healthy:.1f} |")
    print(f"| server start to first result (256 x 256 16-bit TIFF, first checkpoint load included) | {t_first:.1f} |")
    print(f"| upload of the first image to its result | {first:.1f} |")
    print(f"| upload to result, {side} x {side} ({side * side / 1e6:.1f} MP) 16-bit TIFF | {big_s:.1f} |")


if __name__ == "__main__":
    main()
