"""Soak test of the explorer: one server under mixed traffic for a long time (issue 21).

Usage::

    PYTHONPATH=. python benchmarks/soak.py --minutes 60 [--browsers 2] [--api-clients 2] [--json FILE]

One ``streamlit run streamlit_app.py`` (shipped catalog unless ``--catalog``) on a free 127.0.0.1 port,
with a temporary folder of its own (``TMPDIR``) and an empty user-checkpoint folder, gets for
``--minutes``:

* ``--browsers`` Chromium sessions (Playwright, one context each) that loop: upload a micrograph on
  Colorize and wait for its result, download the full-resolution PNG, open Compare on the same upload
  and wait for its tiles;
* ``--api-clients`` HTTP clients that loop: ``GET /api/checkpoints``, then ``POST /api/colorize`` of a
  micrograph with a random checkpoint and format (one post in ten is a hostile file, which must get a
  4xx JSON answer);
* one training job, started on the Train page by one more browser session at the start (a ZIP of small
  colour images, 2 epochs), watched until it is done.

The images are the lab's kinds, from ``samples/``: a 16-bit fluorescence field (dark background), a
DIC float TIFF, an H&E tile, a blood smear, a fluorescence composite; every copy has a name in another
script (Greek, CJK, Cyrillic, accents, spaces), and most are made distinct (flipped, shifted, with noise)
so that results come from the queue, not only from the cache.

At the end it reports and checks: every request answered (200, a 4xx JSON error, or 429 with
Retry-After; never a 5xx, a dropped connection or a page without its result), no exception in the
server's output nor an exception box in a page, the server's resident memory at the end within 10 %
of its level after the first sixth of the run (10 minutes of an hour), and no file left in the
server's temporary folder once it has stopped. Exit status 0 when every check passes, 1 otherwise.
Talks to 127.0.0.1 only; every wait is bounded.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:  # the server and browser helpers are the browser tests'
    sys.path.insert(0, str(ROOT / "tests"))
import browser_app  # noqa: E402
from helpers import color_zip  # noqa: E402

#: The lab's kinds of image, from samples/: (file, kind).
SAMPLES = [("fluo-n2dl-hela_02sub_t00_uint16.tif", "fluorescence 16-bit"),
           ("dic-c2dh-hela_stardist_float32.tif", "DIC float32"),
           ("stardist_histo_0.png", "H&E"),
           ("BloodImage_00000.jpg", "blood smear"),
           ("neubias_xyc_16bit__cell_dna_mts_actin.png", "fluorescence composite")]
#: Name stems in the scripts a lab's files come with.
STEMS = ["α-tubulin κύτταρα", "細胞 画像", "клетки ядра", "célula núcleo ü", "세포 핵", "خلية", "Zelle Größe"]
#: Seconds one page step (an upload to its result, a download) may take before it counts as failed.
STEP_LIMIT_S = 180
#: Seconds the training job may take.
TRAIN_LIMIT_S = 900
#: Seconds between samples of the server's resident memory.
RSS_EVERY_S = 5.0
#: Largest growth of resident memory from the first sixth of the run to its end.
RSS_GROWTH_LIMIT = 0.10


@dataclass
class Tally:
    """What the traffic got, kept by every client thread and task (under a lock)."""

    counts: Counter = field(default_factory=Counter)
    failures: dict = field(default_factory=dict)  #: {what: the first few reasons}
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def fail(self, what: str, why: str) -> None:
        with self.lock:
            self.counts[f"{what} FAILED"] += 1
            reasons = self.failures.setdefault(what, [])
            if len(reasons) < 3:
                reasons.append(f"{time.strftime('%H:%M:%S')} {why}"[:700])

    def record(self, what: str, good: bool, why: str = "") -> None:
        (self.ok(what) if good else self.fail(what, why))


# ---------------------------------------------------------------------------
# inputs


def variant(path: Path, rng: np.random.Generator, distinct: bool) -> bytes:
    """The bytes of ``path`` itself, or (``distinct``) of a flipped, shifted, noisier copy in the same format."""
    if not distinct:
        return path.read_bytes()
    if path.suffix == ".tif":
        arr = tifffile.imread(path)
    else:
        arr = np.asarray(Image.open(path).convert("RGB"))
    arr = np.roll(arr[:, ::-1] if rng.random() < 0.5 else arr, int(rng.integers(0, 40)), axis=0)
    if np.issubdtype(arr.dtype, np.integer):
        top = np.iinfo(arr.dtype).max
        arr = np.clip(arr.astype(np.int64) + rng.integers(-3, 4, arr.shape), 0, top).astype(arr.dtype)
    else:
        arr = (arr + rng.normal(0, 0.01, arr.shape)).astype(arr.dtype)
    buf = io.BytesIO()
    if path.suffix == ".tif":
        tifffile.imwrite(buf, arr)
    else:
        Image.fromarray(arr).save(buf, format="PNG" if path.suffix == ".png" else "JPEG", quality=92)
    return buf.getvalue()


class Inputs:
    """Micrographs named in many scripts, written into ``folder`` as the clients need them."""

    def __init__(self, folder: Path, seed: int = 0):
        self.folder = folder
        self.rng = np.random.default_rng(seed)
        self.count = 0
        self.lock = threading.Lock()

    def next(self, turn: int | None = None) -> tuple[Path, str]:
        """A new file on disk and its kind (``SAMPLES[turn]`` in turn, or the next of all callers' when None);
        three in four are distinct from every earlier one."""
        with self.lock:
            i = self.count
            self.count += 1
            source, kind = SAMPLES[(i if turn is None else turn) % len(SAMPLES)]
            distinct = self.rng.random() < 0.75
            data = variant(ROOT / "samples" / source, self.rng, distinct)
        path = self.folder / f"{STEMS[i % len(STEMS)]} {i}{Path(source).suffix}"
        path.write_bytes(data)
        return path, kind


#: Uploads the API must refuse with a 4xx JSON answer.
HOSTILE = [("truncated 細胞.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), ("empty α.tif", b""),
           ("text.tif", b"not an image at all\n" * 20)]


# ---------------------------------------------------------------------------
# the HTTP API clients


def api_client(url: str, inputs: Inputs, checkpoints: list[str], stop: threading.Event, tally: Tally,
               seed: int) -> None:
    """Loop until ``stop``: the checkpoint list, then a colorization (one in ten a hostile file)."""
    import requests

    rng = random.Random(seed)
    session = requests.Session()
    while not stop.is_set():
        try:
            listing = session.get(f"{url}/api/checkpoints", timeout=30)
            tally.record("api checkpoints", listing.status_code == 200, str(listing.status_code))
            if rng.random() < 0.1:
                name, data = rng.choice(HOSTILE)
                kind = "api hostile"
            else:
                path, kind = inputs.next()
                name, data, kind = path.name, path.read_bytes(), f"api {kind}"
            form = {"checkpoint": rng.choice(checkpoints), "format": rng.choice(["png", "png", "tiff16"])}
            answer = session.post(f"{url}/api/colorize", files={"image": (name, data)}, data=form, timeout=STEP_LIMIT_S)
            _judge_api(kind, answer, tally)
        except Exception as err:  # noqa: BLE001 - a dropped connection or a time-out is a failure to report
            tally.fail("api", f"{type(err).__name__}: {err}")
            stop.wait(1.0)


def _judge_api(kind: str, answer, tally: Tally) -> None:
    """200 with an image, a 4xx JSON error (429 with Retry-After), or a failure."""
    status = answer.status_code
    if kind == "api hostile":
        good = 400 <= status < 500 and "error" in answer.json()
    elif status == 429:
        good = "Retry-After" in answer.headers
    else:
        good = status == 200 and answer.content[:4] in (b"\x89PNG", b"II*\x00", b"MM\x00*")
    tally.record(f"{kind} {status}" if good else kind, good, f"{status} {answer.text[:200]}")


# ---------------------------------------------------------------------------
# browser sessions


async def _idle(page) -> None:
    await page.wait_for_function(
        "() => { const w = document.querySelector('[data-testid=\"stStatusWidget\"]');"
        " return !w || !/Running|Stop/.test(w.innerText); }", timeout=STEP_LIMIT_S * 1000)


async def _images(page, n: int) -> None:
    await page.wait_for_function(f"() => document.querySelectorAll('[data-testid=\"stImage\"] img').length >= {n}",
                                 timeout=STEP_LIMIT_S * 1000)


async def _open(page, link: str, heading: str | None = None) -> None:
    await page.get_by_role("link", name=link).click()
    await page.get_by_role("heading", name=heading or link).first.wait_for(timeout=STEP_LIMIT_S * 1000)
    await _idle(page)


async def _no_exception(page, what: str, tally: Tally) -> bool:
    boxes = page.locator('[data-testid="stException"]')
    if await boxes.count():
        tally.fail(what, "exception box: " + (await boxes.first.inner_text())[:200])
        return False
    return True


def _reason(err: Exception) -> str:
    """An exception in one line: its type and the first line of its message (Playwright's run to pages)."""
    return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


async def _step(what: str, tally: Tally, coro, page=None) -> bool:
    """Await one page step; a failure is tallied with its reason and, given ``page``, what the page showed."""
    try:
        await coro
        tally.ok(what)
        return True
    except Exception as err:  # noqa: BLE001 - a time-out or a missing element is a failure to report
        shown = f" | page shows: {await _page_state(page)}" if page is not None else ""
        tally.fail(what, _reason(err) + shown)
        return False


async def _page_state(page) -> str:
    """The headings and messages a page shows, in one line (what a failed step found instead)."""
    try:
        texts = await page.locator('h1, h2, h3, [data-testid="stAlert"], [data-testid="stStatusWidget"]'
                                   ).all_inner_texts()
        return " / ".join(" ".join(t.split()) for t in texts if t.strip())[-400:]
    except Exception as err:  # noqa: BLE001 - the page itself may be gone
        return _reason(err)


async def browser_session(browser, url: str, inputs: Inputs, stop: threading.Event, tally: Tally, first: int = 0
                          ) -> None:
    """Loop until ``stop``: Colorize an upload, download its full-resolution PNG, Compare the same upload.

    The session walks the kinds of :data:`SAMPLES` in turn from ``first``, whatever the API clients take, so
    even a short run uploads every kind on the page."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = await context.new_page()
    page.on("pageerror", lambda exc: tally.fail("browser page error", str(exc)))
    try:
        await page.goto(url, timeout=STEP_LIMIT_S * 1000)
        await _idle(page)
        turn = first
        while not stop.is_set():
            path, kind = inputs.next(turn)
            turn += 1
            if not await _step(f"colorize {kind}", tally, _colorize(page, path), page):
                await page.goto(url, timeout=STEP_LIMIT_S * 1000)
                continue
            await _no_exception(page, "colorize", tally)
            await _step(f"download {kind}", tally, _download(page), page)
            await _step("compare", tally, _compare(page))
            await _no_exception(page, "compare", tally)
            await _step("back to colorize", tally, _open(page, "Colorize"))
    finally:
        await context.close()


async def _colorize(page, path: Path) -> None:
    """Upload ``path`` and wait for its result: its own heading (the page still shows the session's last upload
    until it has rerun), the input and the result, the run finished."""
    number = path.stem.rsplit(" ", 1)[-1]
    await page.wait_for_selector(browser_app.UPLOAD, state="attached", timeout=STEP_LIMIT_S * 1000)
    await page.locator(browser_app.UPLOAD).first.set_input_files(str(path))
    await page.get_by_role("heading", name=re.compile(rf"(?<!\d){number}{re.escape(path.suffix)}$")).first.wait_for(
        timeout=STEP_LIMIT_S * 1000)
    await page.get_by_text("Image facts").first.wait_for(timeout=STEP_LIMIT_S * 1000)
    await _images(page, 2)
    await _idle(page)


async def _download(page) -> None:
    async with page.expect_download(timeout=STEP_LIMIT_S * 1000) as info:
        await page.get_by_role("link", name=re.compile(r"^Download .*\.png$")).first.click()
    download = await info.value
    data = Path(await download.path()).read_bytes()
    if data[:4] != b"\x89PNG":
        raise ValueError(f"the download is not a PNG ({len(data)} bytes)")


async def _compare(page) -> None:
    await _open(page, "Compare checkpoints")
    await page.get_by_text("uploaded earlier in this session").first.wait_for(timeout=STEP_LIMIT_S * 1000)
    await _images(page, 3)
    await _idle(page)


async def training_session(browser, url: str, folder: Path, tally: Tally) -> None:
    """Start one training job on the Train page (a ZIP of 14 small colour images, 2 epochs), wait until done."""
    archive = folder / "stain ζ 染色.zip"
    archive.write_bytes(color_zip(14))
    context = await browser.new_context(viewport={"width": 1400, "height": 1100})
    page = await context.new_page()
    try:
        await page.goto(url, timeout=STEP_LIMIT_S * 1000)
        await _open(page, "Train your own", "Train on your own images")
        await page.wait_for_selector(browser_app.UPLOAD, state="attached", timeout=STEP_LIMIT_S * 1000)
        await page.locator(browser_app.UPLOAD).first.set_input_files(str(archive))
        await page.get_by_role("button", name="Start training").wait_for(timeout=STEP_LIMIT_S * 1000)
        await _idle(page)
        epochs = page.get_by_role("spinbutton", name="Epochs")
        await epochs.fill("2")
        await epochs.press("Enter")
        await _idle(page)
        await page.get_by_role("button", name="Start training").click()
        await page.get_by_text(re.compile("done in .* is in the checkpoint pickers")).wait_for(
            timeout=TRAIN_LIMIT_S * 1000)
        await _idle(page)
        if await _no_exception(page, "training", tally):
            tally.ok("training job done")
    except Exception as err:  # noqa: BLE001 - reported, the soak goes on
        tally.fail("training job", _reason(err))
    finally:
        await context.close()


async def run_browsers(url: str, inputs: Inputs, sessions: int, folder: Path, stop: threading.Event,
                       tally: Tally, train: bool = True) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=browser_app.CHROMIUM, args=browser_app.CHROMIUM_ARGS,
                                           headless=True)
        try:
            tasks = [browser_session(browser, url, inputs, stop, tally, first=i) for i in range(sessions)]
            if train:
                tasks.append(training_session(browser, url, folder, tally))
            await asyncio.gather(*tasks)
        finally:
            await browser.close()


# ---------------------------------------------------------------------------
# the run


def sample_rss(server: browser_app.AppServer, stop: threading.Event, samples: list) -> None:
    start = time.monotonic()
    while not stop.wait(RSS_EVERY_S):
        samples.append((time.monotonic() - start, server.rss_mb()))


def rss_verdict(samples: list, minutes: float) -> dict:
    """Resident memory after the first sixth of the run and at its end (medians of a minute's samples, MB)."""
    seconds = minutes * 60
    early = [mb for t, mb in samples if seconds / 6 - 30 <= t <= seconds / 6 + 30] or [samples[0][1]]
    late = [mb for t, mb in samples if t >= seconds - 60] or [samples[-1][1]]
    after, end = statistics.median(early), statistics.median(late)
    by_minute = {}
    for t, mb in samples:
        by_minute.setdefault(int(t // 60), []).append(mb)
    return {"rss_after_first_sixth_mb": round(after, 1), "rss_end_mb": round(end, 1),
            "rss_by_minute_mb": [round(statistics.median(v), 1) for _, v in sorted(by_minute.items())],
            "rss_peak_mb": round(max(mb for _, mb in samples), 1), "rss_growth": round(end / after - 1, 3),
            "rss_ok": end <= after * (1 + RSS_GROWTH_LIMIT)}


def _first_traceback(output: str) -> str:
    start = output.find("Traceback")
    return output[start:start + 3000] if start >= 0 else ""


def soak(minutes: float, browsers: int = 2, api_clients: int = 2, catalog: str | None = None, seed: int = 0,
         train: bool = True, env: dict | None = None) -> dict:
    """Run the soak (see the module docstring); returns the report (``report["ok"]``: every check passed).
    ``env``: more environment variables for the server (e.g. ``MALLOC_ARENA_MAX``)."""
    with tempfile.TemporaryDirectory(prefix="colorcore-soak-") as work:
        work = Path(work)
        for name in ("inputs", "server-tmp", "user-checkpoints"):
            (work / name).mkdir()
        inputs, tally, stop = Inputs(work / "inputs", seed), Tally(), threading.Event()
        samples: list = []
        with browser_app.app_server(catalog, TMPDIR=str(work / "server-tmp"),
                                    COLORCORE_USER_CHECKPOINTS=str(work / "user-checkpoints"), **(env or {})) as server:
            import requests

            names = [c["name"] for c in requests.get(f"{server.url}/api/checkpoints", timeout=30).json()["checkpoints"]]
            threads = [threading.Thread(target=sample_rss, args=(server, stop, samples), daemon=True)]
            threads += [threading.Thread(target=api_client, args=(server.url, inputs, names, stop, tally, seed + i),
                                         daemon=True) for i in range(api_clients)]
            for thread in threads:
                thread.start()
            timer = threading.Timer(minutes * 60, stop.set)
            timer.start()
            try:
                asyncio.run(run_browsers(server.url, inputs, browsers, work, stop, tally, train))
                stop.wait()
            finally:
                stop.set()
                timer.cancel()
                for thread in threads:
                    thread.join(STEP_LIMIT_S)
            output = server.output()
        # files only: torch makes one empty cache folder there (torchinductor_<user>) on import, reused by every process
        left = sorted(str(p.relative_to(work / "server-tmp")) for p in (work / "server-tmp").rglob("*") if p.is_file())
        report = {"minutes": minutes, "browsers": browsers, "api_clients": api_clients, "inputs_made": inputs.count,
                  "counts": dict(sorted(tally.counts.items())), "failures": tally.failures,
                  "server_exceptions": output.count("Traceback"), "first_server_exception": _first_traceback(output),
                  "temporary_files_left": left[:20],
                  **rss_verdict(samples, minutes)}
    report["ok"] = (not tally.failures and not report["server_exceptions"] and not left and report["rss_ok"]
                    and tally.counts["training job done"] == int(train))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--browsers", type=int, default=2, help="browser sessions on Colorize and Compare")
    parser.add_argument("--api-clients", type=int, default=2)
    parser.add_argument("--catalog", help="checkpoint folder (default: the shipped catalog)")
    parser.add_argument("--no-train", action="store_true", help="leave out the training job")
    parser.add_argument("--json", help="also write the report to this file")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the server (repeatable)")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    report = soak(args.minutes, args.browsers, args.api_clients, args.catalog, train=not args.no_train, env=env)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
