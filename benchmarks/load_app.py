"""Load benchmark of the explorer: many browser sessions at once, latency, memory, against the targets of issue 11.

Usage::

    PYTHONPATH=. python benchmarks/load_app.py [--kind fluorescence|he|noise|all] [--sessions 8] [--crowd 16]
        [--megapixels 4] [--only NAME,...]

Each measurement starts its own ``streamlit run streamlit_app.py`` on a free 127.0.0.1 port (the shipped
catalog unless ``--catalog`` or ``$COLORCORE_CHECKPOINTS`` says otherwise; the server's own queue settings,
``$COLORCORE_WORKERS`` and ``$COLORCORE_MAX_WAITING``, apply), drives Debian's Chromium through Playwright
(one browser context per session, i.e. one user) and stops the server. Every session uploads its own
16-bit TIFF of the ``--kind`` of micrograph (``benchmarks/images.py``: a fluorescence field, an H&E brightfield
section, camera noise; ``all``, the default, measures each kind in turn), distinct content, so no session is
served from another's cached result:

``colorize``  ``--sessions`` sessions upload a ``--megapixels`` TIFF on Colorize at the same moment: time from
              each upload to its result on the page (first, p50, max), all served?
``compare``   the same on Compare with its default checkpoints (the four study checkpoints): time to all tiles.
``single``    one session, Colorize, ``--megapixels`` TIFF: upload to result (median of 3 fresh sessions).
``first``     from launching the server process to the first result of a 0.3 MP TIFF (the page is opened as
              soon as the server answers, before its warm start is done; the browser is already running).
``crowd``     ``--crowd`` sessions at once on Colorize: all served, exception boxes seen, server peak RSS.
``download``  full-resolution PNG of a ``--megapixels`` result: seconds from the click to the saved file.

Times are taken in the pages (a 50 ms timer in each page notes when the images appear). Peak RSS is the
server process's ``VmHWM`` (/proc/<pid>/status). Prints a Markdown table with the targets, whether each is
met, the load average before each measurement and how much of the CPUs other processes used during it (the whole machine's busy time
from /proc/stat less this benchmark's own, servers and browsers included): on a shared machine, figures
taken while others used a large share are not the server's (``--wait-quiet S`` waits for a quiet moment
before each measurement). Not a test (the CI runs a 3-session smoke run of :func:`run_sessions`). Talks to
127.0.0.1 only; every wait is bounded (``LIMIT_S`` seconds per measurement).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
for folder in ("tests", "benchmarks"):  # the browser tests' server and browser helpers (tests/browser_app.py),
    if str(ROOT / folder) not in sys.path:  # the benchmarks' micrographs (benchmarks/images.py)
        sys.path.insert(0, str(ROOT / folder))
import browser_app  # noqa: E402
import images  # noqa: E402
from browser_app import CHROMIUM, UPLOAD, AppServer  # noqa: E402
from images import make_tiffs  # noqa: E402

ARGS = browser_app.CHROMIUM_ARGS
#: Images a page shows once its result is there: Colorize (input, result); Compare (input, 4 outputs).
RESULT_IMAGES = {"": 2, "compare": 5}
#: Seconds any one measurement may take.
LIMIT_S = 300
#: Environment variables every server of this benchmark gets (``--server-env KEY=VALUE``).
SERVER_ENV: dict[str, str] = {}
#: Sign-in for every browser context (``{"username", "password"}``), when the server is behind nginx.
HTTP_CREDENTIALS: dict | None = None
#: Recorded in each page (wall-clock ms): when it first showed k images (``images[k]``), a busy warning, an
#: exception box. Checked every 50 ms with cheap selectors (a MutationObserver reading the page's text on
#: every change cost the shared CPUs more than the server's own work).
OBSERVER = """
window.__seen = {images: {}};
setInterval(() => {
  const s = window.__seen, now = Date.now();
  const n = document.querySelectorAll('[data-testid="stImage"] img').length;
  for (let k = 1; k <= n; k++) if (!s.images[k]) s.images[k] = now;
  if (!s.exception && document.querySelector('[data-testid="stException"]')) s.exception = now;
  if (!s.busy) for (const a of document.querySelectorAll('[data-testid="stAlert"]'))
    if (a.textContent.includes('server is busy')) s.busy = now;
}, 50);
"""
IDLE_JS = ("() => { const w = document.querySelector('[data-testid=\"stStatusWidget\"]');"
           " return !w || !/Running|Stop/.test(w.innerText); }")


# ---------------------------------------------------------------------------
# inputs and the server


@contextmanager
def app_server(catalog: str | None = None, wait: str = "healthy", **env: str) -> Iterator[AppServer]:
    """:func:`browser_app.app_server` (the tests' server) with this benchmark's ``SERVER_ENV``."""
    with browser_app.app_server(catalog, wait, **{**SERVER_ENV, **env}) as server:
        yield server


# ---------------------------------------------------------------------------
# browser sessions


@dataclass
class SessionResult:
    """What one session saw: seconds from its upload to its result (None: no result), and what went wrong."""

    seconds: float | None
    exception: bool = False
    busy: bool = False
    error: str | None = None

    @property
    def served(self) -> bool:
        return self.seconds is not None and not self.exception and self.error is None


async def _open(browser, url: str, path: str):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                                        http_credentials=HTTP_CREDENTIALS)
    page = await context.new_page()
    await page.add_init_script(OBSERVER)
    await page.goto(f"{url}/{path}", timeout=LIMIT_S * 1000)
    await page.wait_for_selector(UPLOAD, state="attached", timeout=LIMIT_S * 1000)
    await page.wait_for_function(IDLE_JS, timeout=LIMIT_S * 1000)
    return context, page


async def _upload_and_wait(page, image: Path, n_images: int, timeout_s: float) -> SessionResult:
    t0 = time.time() * 1000
    try:
        await page.locator(UPLOAD).first.set_input_files(str(image))
        await page.wait_for_function(f"() => window.__seen.images[{n_images}] || window.__seen.exception",
                                     timeout=timeout_s * 1000, polling=100)
        await page.wait_for_function(IDLE_JS, timeout=timeout_s * 1000)
        seen = await page.evaluate("() => window.__seen")
        shown = seen["images"].get(str(n_images))
        return SessionResult(None if shown is None else (shown - t0) / 1000, bool(seen.get("exception")),
                             bool(seen.get("busy")))
    except Exception as err:  # noqa: BLE001 - one session's failure is a result, not the benchmark's end
        return SessionResult(None, error=f"{type(err).__name__}: {str(err).splitlines()[0]}")


async def _sessions(url: str, images: list[Path], path: str, timeout_s: float) -> list[SessionResult]:
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            opened = await asyncio.gather(*[_open(browser, url, path) for _ in images])
            # every page is loaded and idle: now all upload at the same moment
            return await asyncio.gather(*[_upload_and_wait(page, image, RESULT_IMAGES[path], timeout_s)
                                          for (_, page), image in zip(opened, images)])
        finally:
            await browser.close()


def run_sessions(url: str, images: list[Path], page: str = "colorize",
                 timeout_s: float = LIMIT_S) -> list[SessionResult]:
    """One browser session per image on ``page`` (``"colorize"`` or ``"compare"``), all uploading at once."""
    path = {"colorize": "", "compare": "compare"}[page]
    return asyncio.run(asyncio.wait_for(_sessions(url, images, path, timeout_s), timeout_s + 120))


async def _first_result(catalog, image: Path, timeout_s: float) -> dict:
    """Seconds from launching the server to: it answers (``up``), the Colorize page is ready (``page``), the
    first result is shown (``result``), the health check says warm (``healthy``). The browser starts first;
    the page opens as soon as the server answers, the upload as soon as the page is ready."""
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            with app_server(catalog, wait="up") as server:
                up = time.perf_counter() - server.launched
                _, page = await _open(browser, server.url, "")
                ready = time.perf_counter() - server.launched
                await page.locator(UPLOAD).first.set_input_files(str(image))
                await page.wait_for_function("() => window.__seen.images[2]", timeout=timeout_s * 1000, polling=50)
                seen = await page.evaluate("() => window.__seen")
                for _ in range(600):  # the health check's time too (bounded: 60 s)
                    if server.healthy_s is not None:
                        break
                    await asyncio.sleep(0.1)
                return {"up": up, "page": ready, "result": seen["images"]["2"] / 1000 - server.launched_wall,
                        "healthy": server.healthy_s}
        finally:
            await browser.close()


async def _single_and_download(url: str, image: Path, timeout_s: float) -> tuple[SessionResult, float]:
    """Upload ``image`` on Colorize and wait for the result, then click the full-resolution PNG download."""
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            _, page = await _open(browser, url, "")
            result = await _upload_and_wait(page, image, 2, timeout_s)
            button = page.get_by_role("link", name="Download ").first
            t0 = time.perf_counter()
            async with page.expect_download(timeout=timeout_s * 1000) as info:
                await button.click()
            download = await info.value
            await download.path()  # the file is saved
            return result, time.perf_counter() - t0
        finally:
            await browser.close()


# ---------------------------------------------------------------------------
# the measurements


@dataclass
class Row:
    measurement: str
    result: str
    target: str
    met: bool | None
    others: float | None = None  #: share of all cores that other processes used meanwhile, %
    load: float | None = None  #: the machine's 1-minute load average just before the measurement
    kind: str = ""  #: the kind of micrograph uploaded (benchmarks/images.py)


def _cpu_now() -> tuple[float, float, float]:
    """(busy CPU seconds of the whole machine, wall seconds, CPU seconds of this process and its reaped children)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    mine = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
    return busy / os.sysconf("SC_CLK_TCK"), time.perf_counter(), mine


def _wait_quiet(patience_s: float, busy_pct: float = 15.0, window_s: float = 5.0) -> None:
    """Wait (at most ``patience_s``) until the machine was less than ``busy_pct`` busy over ``window_s``
    (between measurements this benchmark itself runs nothing)."""
    deadline = time.perf_counter() + patience_s
    while time.perf_counter() < deadline:
        busy0, wall0, _ = _cpu_now()
        time.sleep(window_s)
        busy1, wall1, _ = _cpu_now()
        if (busy1 - busy0) / ((wall1 - wall0) * (os.cpu_count() or 1)) * 100 < busy_pct:
            return


def _with_contention(measure, *args, quiet_s: float = 0.0) -> list[Row]:
    """Run a measurement (after waiting up to ``quiet_s`` for a quiet machine); note on its rows how much of
    the machine other processes (not this benchmark, its servers and browsers) used meanwhile, so that
    figures taken on a shared machine can be judged."""
    _wait_quiet(quiet_s)
    load = os.getloadavg()[0]
    rows, others = others_cpu(measure, *args)
    for row in rows:
        row.others, row.load = others, load
    return rows


def others_cpu(measure, *args):
    """``measure(*args)`` and the share of all cores (%) that other processes (not this one nor its reaped
    children: the servers it stopped, the browsers) used meanwhile."""
    busy0, wall0, mine0 = _cpu_now()
    result = measure(*args)
    busy1, wall1, mine1 = _cpu_now()
    return result, max(0.0, (busy1 - busy0) - (mine1 - mine0)) / ((wall1 - wall0) * (os.cpu_count() or 1)) * 100


def _summary(results: list[SessionResult]) -> tuple[list[float], str]:
    times = sorted(r.seconds for r in results if r.served)
    served = f"served {len(times)}/{len(results)}"
    problems = [f"{sum(r.exception for r in results)} exception box(es)" if any(r.exception for r in results) else "",
                f"{sum(r.busy for r in results)} saw 'busy'" if any(r.busy for r in results) else "",
                "; ".join(sorted({r.error for r in results if r.error}))]
    return times, ", ".join([served, *[p for p in problems if p]])


def measure_colorize(catalog, images: list[Path]) -> list[Row]:
    with app_server(catalog) as server:
        results = run_sessions(server.url, images, "colorize")
        rss, cpu = server.peak_rss_mb(), server.cpu_s()
    times, served = _summary(results)
    n = len(images)
    ok = len(times) == n
    first, p50, worst = (times[0], statistics.median(times), times[-1]) if times else (float("nan"),) * 3
    return [Row(f"{n} sessions, Colorize, distinct 16-bit TIFFs at once: upload to result",
                f"{served}; first {first:.1f} s, p50 {p50:.1f} s, max {worst:.1f} s; peak RSS {rss:.0f} MB; "
                f"server CPU {cpu:.0f} s",
                "all served; first <= 3 s, p50 <= 8 s, max <= 15 s",
                ok and first <= 3 and p50 <= 8 and worst <= 15)]


def measure_compare(catalog, images: list[Path]) -> list[Row]:
    with app_server(catalog) as server:
        results = run_sessions(server.url, images, "compare")
        rss, cpu = server.peak_rss_mb(), server.cpu_s()
    times, served = _summary(results)
    ok = len(times) == len(images)
    p50, worst = (statistics.median(times), times[-1]) if times else (float("nan"),) * 2
    return [Row(f"{len(images)} sessions, Compare (4 study checkpoints), distinct 16-bit TIFFs at once: all tiles",
                f"{served}; p50 {p50:.1f} s, max {worst:.1f} s; peak RSS {rss:.0f} MB; server CPU {cpu:.0f} s",
                "p50 <= 15 s, max <= 30 s", ok and p50 <= 15 and worst <= 30)]


def measure_single_and_download(catalog, images: list[Path]) -> list[Row]:
    singles, downloads = [], []
    with app_server(catalog) as server:
        for image in images:  # a fresh session (browser) each time
            result, download_s = asyncio.run(asyncio.wait_for(_single_and_download(server.url, image, LIMIT_S),
                                                              LIMIT_S + 60))
            singles.append(result.seconds if result.served else float("inf"))
            downloads.append(download_s)
    one, dl = statistics.median(singles), statistics.median(downloads)
    each = ", ".join(f"{s:.2f}" for s in singles)
    return [Row("1 session, Colorize, 16-bit TIFF: upload to result", f"{one:.2f} s (median of {each})",
                "<= 1.0 s", one <= 1.0),
            Row("full-resolution PNG download of that result: click to saved file",
                f"{dl:.2f} s (median of {', '.join(f'{d:.2f}' for d in downloads)})", "<= 2 s", dl <= 2)]


def measure_first(catalog, image: Path) -> list[Row]:
    t = asyncio.run(asyncio.wait_for(_first_result(catalog, image, LIMIT_S), LIMIT_S + 60))
    healthy = f"{t['healthy']:.1f}" if t["healthy"] is not None else "?"
    return [Row("first result after server start, 0.3 MP 16-bit TIFF (from process launch)",
                f"{t['result']:.1f} s (server answers after {t['up']:.1f} s, page ready {t['page']:.1f} s, "
                f"health check warm {healthy} s)", "<= 4 s", t["result"] <= 4)]


def measure_crowd(catalog, images: list[Path]) -> list[Row]:
    with app_server(catalog) as server:
        results = run_sessions(server.url, images, "colorize")
        rss, cpu = server.peak_rss_mb(), server.cpu_s()
    times, served = _summary(results)
    ok = len(times) == len(images) and not any(r.exception for r in results)
    worst = f", slowest {times[-1]:.1f} s" if times else ""
    return [Row(f"{len(images)} sessions at once, Colorize, distinct 16-bit TIFFs",
                f"{served}{worst}; server peak RSS {rss:.0f} MB; server CPU {cpu:.0f} s",
                "all served, no exception, RSS <= 3 GB",
                ok and rss <= 3072)]


MEASUREMENTS = ("colorize", "compare", "single", "first", "crowd", "download")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="all", choices=[*images.KINDS, "all"],
                        help="kind of micrograph uploaded (benchmarks/images.py); all: each in turn (default)")
    parser.add_argument("--sessions", type=int, default=8, help="sessions of 'colorize' and 'compare' (default 8)")
    parser.add_argument("--crowd", type=int, default=16, help="sessions of 'crowd' (default 16)")
    parser.add_argument("--megapixels", type=float, default=4.0, help="size of the uploaded TIFFs (default 4)")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma-separated measurements to run (default all: {','.join(MEASUREMENTS)})")
    parser.add_argument("--catalog", help="checkpoint folder (default $COLORCORE_CHECKPOINTS, else checkpoints/)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                        help="before each measurement wait up to S seconds for the machine to be quiet "
                             "(under 15 %% busy over 5 s): for shared machines (default 0)")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable for the servers (repeatable), e.g. OMP_WAIT_POLICY=PASSIVE")
    args = parser.parse_args()
    quiet = {"quiet_s": args.wait_quiet}
    for item in args.server_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--server-env takes KEY=VALUE, got {item!r}")
        SERVER_ENV[key] = value
    chosen = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; choose from {', '.join(MEASUREMENTS)}")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: install Debian's chromium")
    tmp = Path(tempfile.mkdtemp(prefix="load_app-"))
    try:
        _run(args, chosen, tmp, quiet)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args, chosen: list[str], tmp: Path, quiet: dict) -> None:
    side = int(round((args.megapixels * 1e6) ** 0.5))
    settings = " ".join(f"{k}={v}" for k, v in SERVER_ENV.items())
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start; TIFFs {side} x {side} "
          f"({side * side / 1e6:.1f} MP) 16-bit unless said; COLORCORE_WORKERS="
          f"{os.environ.get('COLORCORE_WORKERS', '1 (default)')}{'; server env ' + settings if settings else ''}\n")
    print("| kind | measurement | result | target | met | load average before | other processes' CPU use "
          "meanwhile |\n|---|---|---|---|---|---|---|", flush=True)
    rows: list[Row] = []
    if "download" in chosen and "single" not in chosen:
        chosen.append("single")  # the download is of the single session's result
    for kind in images.kinds(args.kind):
        for row in _run_kind(args, kind, chosen, tmp / kind, quiet):
            rows.append(row)
            met = "n/a" if row.met is None else ("yes" if row.met else "**no**")
            print(f"| {row.kind} | {row.measurement} | {row.result} | {row.target} | {met} | {row.load:.2f} | "
                  f"{row.others:.0f} % |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    sys.exit(0 if all(r.met is not False for r in rows) else 1)


def _run_kind(args, kind: str, chosen: list[str], folder: Path, quiet: dict) -> Iterator[Row]:
    """The ``chosen`` measurements with uploads of ``kind`` (TIFFs written into ``folder``), row by row."""
    folder.mkdir()
    mp, n = args.megapixels, args.sessions
    plan = {"colorize": (measure_colorize, lambda: make_tiffs(folder, n, mp, 0, kind)),
            "compare": (measure_compare, lambda: make_tiffs(folder, n, mp, 100, kind)),
            "single": (measure_single_and_download, lambda: make_tiffs(folder, 3, mp, 200, kind)),
            "first": (measure_first, lambda: make_tiffs(folder, 1, 0.3, 300, kind)[0]),
            "crowd": (measure_crowd, lambda: make_tiffs(folder, args.crowd, mp, 400, kind))}
    for name, (measure, inputs) in plan.items():
        if name in chosen:
            for row in _with_contention(measure, args.catalog, inputs(), **quiet):
                row.kind = kind
                yield row


if __name__ == "__main__":
    main()
