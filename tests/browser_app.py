"""What the real-browser tests share: a Streamlit server of the explorer on a free localhost port and
Debian's Chromium through Playwright, plus waits for Streamlit's page states.

Importable as ``browser_app`` (``tests/`` is on ``sys.path`` because ``conftest.py`` lives there); the
load benchmarks (``benchmarks/load_app.py``) start their servers with it too.
Never downloads a browser: it uses ``/usr/bin/chromium`` (``bash .ci/run`` installs it).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
#: Milliseconds a browser wait may take before the test fails.
TIMEOUT_MS = 90_000
#: Seconds a server may take to start (and load its checkpoints) before it counts as failed.
START_LIMIT_S = 120
#: The file input of Streamlit's uploader.
UPLOAD = '[data-testid="stFileUploaderDropzoneInput"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    """A running ``streamlit run streamlit_app.py`` (see :func:`app_server`)."""

    url: str
    proc: subprocess.Popen
    launched: float  #: time.perf_counter() just before the process was started
    launched_wall: float  #: time.time() at the same moment (browser times are wall-clock)
    healthy_s: float | None = None  #: seconds from launch to the first 200 of /_stcore/health
    log: object = None  #: the temporary file holding the server's output (stdout and stderr)

    def output(self) -> str:
        """What the server has printed so far."""
        if self.log is None:
            return ""
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def cpu_s(self) -> float:
        """CPU seconds (user + system, all threads) the server process has used so far; 0 when unreadable."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the server process so far (VmHWM), MB; 0 when unreadable."""
        return memory_mb(self.proc.pid, "VmHWM")

    def rss_mb(self) -> float:
        """Resident memory of the server process now (VmRSS), MB; 0 when unreadable."""
        return memory_mb(self.proc.pid, "VmRSS")


def memory_mb(pid: int, field: str) -> float:
    """A memory figure of process ``pid`` from /proc/<pid>/status (``"VmRSS"``, ``"VmHWM"``), MB; 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _status(url: str) -> int:
    """The HTTP status of a GET (0: no answer)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def _watch_health(server: AppServer, stop: threading.Event) -> None:
    """Note in ``server.healthy_s`` when ``/_stcore/health`` first answers 200 (503 while the warm start loads)."""
    while not stop.is_set() and server.proc.poll() is None:
        if _status(f"{server.url}/_stcore/health") == 200:
            server.healthy_s = time.perf_counter() - server.launched
            return
        stop.wait(0.05)


def _tail(log, chars: int = 4000) -> str:
    log.seek(0)
    return log.read()[-chars:]


@contextmanager
def app_server(catalog: str | os.PathLike | None = None, wait: str = "healthy", **env: str) -> Iterator[AppServer]:
    """``streamlit run streamlit_app.py`` on a free 127.0.0.1 port; yields once it is ``"healthy"`` (warm) or
    merely ``"up"`` (answers), within ``START_LIMIT_S``.

    ``catalog``: checkpoint folder (default: ``$COLORCORE_CHECKPOINTS``, else the shipped ``checkpoints/``).
    Keyword arguments are extra environment variables (e.g. ``COLORCORE_WORKERS="1"``). The server's output
    goes to a temporary file, quoted when it fails to start; it is stopped (terminate, then kill) when the
    block ends.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    if catalog:
        full_env["COLORCORE_CHECKPOINTS"] = str(catalog)
    with tempfile.NamedTemporaryFile("w+", prefix="colorcore-server-", suffix=".log") as log:
        launched, launched_wall = time.perf_counter(), time.time()
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port",
                                 str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        server = AppServer(url, proc, launched, launched_wall, log=log)
        stop = threading.Event()
        threading.Thread(target=_watch_health, args=(server, stop), daemon=True).start()
        try:
            deadline = time.perf_counter() + START_LIMIT_S
            while time.perf_counter() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{_tail(log)}")
                if (server.healthy_s is not None) if wait == "healthy" else _status(url) == 200:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"the server was not {wait} within {START_LIMIT_S} s:\n{_tail(log)}")
            yield server
        finally:
            stop.set()
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


@contextmanager
def streamlit_server(catalog: str | os.PathLike, **env: str) -> Iterator[str]:
    """:func:`app_server` with checkpoint catalog ``catalog``, once healthy; yields its URL."""
    with app_server(catalog, **env) as server:
        yield server.url


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
