"""Real-browser test of the server's first-come-first-served queue: two sessions upload at nearly the same
moment, and the one that uploaded first gets its result first.

Two Chromium contexts (two users) open Colorize on one server (one queue worker, the default), set the
working size to 1024 px so each colorization takes a noticeable time, and upload distinct 16-bit TIFFs:
session A first, session B as soon as A's page shows its input (A's job is then queued). Each page records
(in the browser, with a MutationObserver) when its result appeared and whether it showed the queue's
"... ahead of yours" note; the test prints these times and checks A's result came first.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import tifffile

from browser_app import (SEEN_SCRIPT, TIMEOUT_MS, chromium, no_exception_box, streamlit_server, upload, wait_idle,
                         watch_errors)

#: Long side the network sees in this test: the largest the page offers, so each job takes a while.
WORKING_SIZE = "1024"


@pytest.fixture(scope="module")
def server(tiny_catalog):
    with streamlit_server(tiny_catalog, COLORCORE_WORKERS="1") as url:
        yield url


def _tiff(path, seed: int):
    rng = np.random.default_rng(seed)
    tifffile.imwrite(path, (33000 + rng.integers(0, 4000, (1500, 2000))).astype(np.uint16))
    return path


def _open_colorize(context, server: str):
    page = context.new_page()
    page.add_init_script(SEEN_SCRIPT)
    page.goto(server, timeout=TIMEOUT_MS)
    slider = page.get_by_role("slider").first  # the working-size slider (the tiny catalog has no vivid checkpoint)
    slider.wait_for(timeout=TIMEOUT_MS)
    slider.focus()
    slider.press("End")
    page.wait_for_function(f"() => document.body.textContent.includes('{WORKING_SIZE}')", timeout=TIMEOUT_MS)
    wait_idle(page)
    assert slider.get_attribute("aria-valuetext") == WORKING_SIZE, slider.evaluate("e => e.outerHTML")
    return page


def _seen(page) -> dict:
    return page.evaluate("() => window.__seen")


def test_first_upload_gets_its_result_first(server, tiny_catalog, tmp_path):
    a_tif, b_tif = _tiff(tmp_path / "a.tif", 1), _tiff(tmp_path / "b.tif", 2)
    with chromium() as browser:
        contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
        try:
            a, b = (_open_colorize(c, server) for c in contexts)
            watched = [watch_errors(p, server) for p in (a, b)]
            t0 = time.time() * 1000
            upload(a, a_tif)
            # B uploads as soon as A's job is in the queue: A's page shows its input (drawn just before the
            # page queues the colorization) or already says its image is being worked on
            a.wait_for_function("() => window.__seen.input || window.__seen.working", timeout=TIMEOUT_MS, polling=20)
            t_b = time.time() * 1000
            upload(b, b_tif)
            for page in (a, b):
                page.wait_for_function("() => window.__seen.result", timeout=TIMEOUT_MS)
                wait_idle(page)
                no_exception_box(page)
            seen_a, seen_b = _seen(a), _seen(b)
        finally:
            for context in contexts:
                context.close()
    times = {"A's job queued": seen_a.get("input", seen_a.get("working")) - t0, "B uploads": t_b - t0,
             "A's result": seen_a["result"] - t0, "B's result": seen_b["result"] - t0}
    print("ms after A's upload:", {k: round(v) for k, v in times.items()},
          "| B saw 'ahead of yours':", "ahead" in seen_b)
    assert seen_a["result"] < seen_b["result"], times
    for errors, outside in watched:
        assert not errors and not outside, (errors, outside[:5])
