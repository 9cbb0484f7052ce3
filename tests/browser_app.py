"""What the real-browser tests share: a Streamlit server of the explorer on a free localhost port and
Debian's Chromium through Playwright, plus waits for Streamlit's page states.

Importable as ``browser_app`` (``tests/`` is on ``sys.path`` because ``conftest.py`` lives there).
Never downloads a browser: it uses ``/usr/bin/chromium`` (``bash .ci/run`` installs it).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
#: Milliseconds a browser wait may take before the test fails.
TIMEOUT_MS = 90_000
#: The file input of Streamlit's uploader.
UPLOAD = '[data-testid="stFileUploaderDropzoneInput"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, deadline_s: float = 90) -> None:
    """Wait until ``/_stcore/health`` answers 200 (503 while the warm start loads the checkpoints)."""
    end = time.time() + deadline_s
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy in time")


@contextmanager
def streamlit_server(catalog: str | os.PathLike, **env: str) -> Iterator[str]:
    """``streamlit run streamlit_app.py`` on 127.0.0.1 with checkpoint catalog ``catalog``; yields its URL.

    Extra keyword arguments are environment variables (e.g. ``COLORCORE_WORKERS="1"``). The
    server is stopped (terminate, then kill) when the block ends.
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "COLORCORE_CHECKPOINTS": str(catalog), "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@contextmanager
def chromium():
    """Debian's Chromium, headless, through Playwright's sync API."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (bash .ci/run does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def watch_errors(page, server: str) -> tuple[list[str], list[str]]:
    """Lists that collect the page's console errors and its requests that leave ``server``."""
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: outside.append(req.url)
            if not req.url.startswith((server, "data:", "blob:", "about:")) else None)
    return errors, outside


def no_exception_box(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def wait_idle(page) -> None:
    """Wait until Streamlit finished the current script run (its status widget shows no Stop button)."""
    page.wait_for_function(
        "() => { const w = document.querySelector('[data-testid=\"stStatusWidget\"]');"
        " return !w || !/Running|Stop/.test(w.innerText); }", timeout=TIMEOUT_MS)


def wait_images(page, n: int) -> None:
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= {n}",
                           timeout=TIMEOUT_MS)


def open_page(page, link: str, heading: str | None = None) -> None:
    """Follow a navigation link and wait until that page's own title is shown and its run has finished.

    Waiting for the title (not just any uploader) matters: right after the click the previous page's
    widgets are still attached, and a file set on them would be lost.
    """
    page.get_by_role("link", name=link).click()
    page.get_by_role("heading", name=heading or link).first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)


def upload(page, path: Path) -> None:
    """Put ``path`` into the page's (first) uploader, once the uploader is there."""
    page.wait_for_selector(UPLOAD, state="attached", timeout=TIMEOUT_MS)
    page.locator(UPLOAD).first.set_input_files(str(path))


#: Installed in a page before it loads: records in ``window.__seen`` the wall-clock time (ms) at which
#: the page first showed one image (``input``: the upload on Colorize), two (``result``: input and result),
#: the queue's "... ahead of yours" note (``ahead``) and its "Working on your image" note (``working``).
SEEN_SCRIPT = """
window.__seen = {};
const __check = () => {
  const s = window.__seen, now = Date.now();
  const images = document.querySelectorAll('[data-testid="stImage"] img').length;
  const text = document.body ? document.body.textContent : '';
  if (!s.input && images >= 1) s.input = now;
  if (!s.result && images >= 2) s.result = now;
  if (!s.ahead && text.includes('ahead of yours')) s.ahead = now;
  if (!s.working && text.includes('Working on your image')) s.working = now;
};
new MutationObserver(__check).observe(document, {subtree: true, childList: true, characterData: true});
"""
