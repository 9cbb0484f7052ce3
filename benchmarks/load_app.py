"""Bounded load test of the explorer: N browser sessions at once, each comparing the study checkpoints.

Usage::

    PYTHONPATH=. python benchmarks/load_app.py [--sessions 8] [--megapixels 4]

Starts ``streamlit run streamlit_app.py`` on a free localhost port (shipped catalog), opens N
Playwright contexts in Debian's Chromium at once; each uploads its own 16-bit TIFF of the given size
on the Compare page (default checkpoints: the four study checkpoints) and waits for all five tiles.
Prints per-session latency (p50, p95, max), the server's peak RSS, and whether every session got its
results. Talks to 127.0.0.1 only and stops by itself (hard limit 540 s).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_latency import ARGS, ROOT, UPLOAD, _healthy, _port  # noqa: E402

HARD_LIMIT_S = 540


def _rss_sampler(pid: int, stop: threading.Event, peak: list) -> None:
    """Record the largest VmRSS (bytes) of ``pid`` and its children until ``stop`` is set."""
    while not stop.is_set():
        total = 0
        for p in [pid] + _children(pid):
            try:
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                pass
        peak[0] = max(peak[0], total)
        stop.wait(0.2)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


async def _session(browser, url: str, image: Path, n_tiles: int) -> float:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        await page.goto(f"{url}/compare", timeout=120_000)
        await page.wait_for_selector(UPLOAD, state="attached", timeout=120_000)
        t0 = time.perf_counter()
        await page.locator(UPLOAD).first.set_input_files(str(image))
        await page.wait_for_function(
            f"() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= {n_tiles}",
            timeout=HARD_LIMIT_S * 1000)
        elapsed = time.perf_counter() - t0
        if await page.locator('[data-testid="stException"]').count():
            raise RuntimeError("exception box on the page")
        return elapsed
    finally:
        await context.close()


async def _run(url: str, images: list[Path]) -> list:
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        try:
            return await asyncio.wait_for(
                asyncio.gather(*[_session(browser, url, img, 5) for img in images], return_exceptions=True),
                timeout=HARD_LIMIT_S)
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=4.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    side = int(round((args.megapixels * 1e6) ** 0.5))
    images = []
    for i in range(args.sessions):  # distinct content per session: no shared result cache
        rng = np.random.default_rng(i)
        path = tmp / f"cells_{i}.tif"
        tifffile.imwrite(path, (33000 + rng.integers(0, 4000, (side, side))).astype(np.uint16))
        images.append(path)
    port = _port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port",
                             str(port), "--server.address", "127.0.0.1"], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_rss_sampler, args=(proc.pid, stop, peak), daemon=True)
    try:
        _healthy(url)
        sampler.start()
        t0 = time.perf_counter()
        results = asyncio.run(_run(url, images))
        wall = time.perf_counter() - t0
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=30)
    ok = [r for r in results if isinstance(r, float)]
    failed = [repr(r) for r in results if not isinstance(r, float)]
    q = statistics.quantiles(ok, n=20) if len(ok) >= 2 else ok * 19
    print("| sessions | image | all got results | p50 s | p95 s | max s | wall s | server peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.sessions} | {side} x {side} 16-bit TIFF | {len(ok)}/{args.sessions} | "
          f"{statistics.median(ok):.1f} | {q[18]:.1f} | {max(ok):.1f} | {wall:.1f} | {peak[0] / 2**20:.0f} |")
    for f in failed:
        print("failed:", f)
    sys.exit(0 if not failed else 1)


if __name__ == "__main__":
    main()
