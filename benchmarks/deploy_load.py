"""The 8-session Colorize load through nginx with sign-in (deploy/run.sh), next to the direct server, and 2 replicas next to 1.

Usage::

    PYTHONPATH=. python benchmarks/deploy_load.py [--sessions 8] [--megapixels 4] [--replicas 1 2]

Each configuration starts its own server(s) with the shipped catalog (``$COLORCORE_CHECKPOINTS`` overrides):
``direct`` is ``streamlit run streamlit_app.py`` on a localhost port (load_app's server); ``nginx xN`` is
``deploy/run.sh --replicas N`` with a throw-away htpasswd, every browser context signed in. The sessions
are load_app's: one browser context per session, distinct 16-bit TIFFs uploaded at the same moment, the time
from upload to result measured in the page. Prints a Markdown table. Talks to 127.0.0.1 only; bounded.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import load_app
import browser_app  # on sys.path once load_app is imported (tests/browser_app.py)

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "bench", "bench-password"


@contextmanager
def deployment(replicas: int, catalog: str | None) -> Iterator[str]:
    """``deploy/run.sh`` on a free port; yields the explorer's URL, stops it (SIGTERM) afterwards."""
    tmp = Path(tempfile.mkdtemp())
    hashed = subprocess.run(["openssl", "passwd", "-apr1", PASSWORD], capture_output=True, text=True, check=True)
    (tmp / "htpasswd").write_text(f"{USER}:{hashed.stdout.strip()}\n")
    port = browser_app.free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if catalog:
        env["COLORCORE_CHECKPOINTS"] = catalog
    log = tmp / "run.log"
    proc = subprocess.Popen(["bash", "deploy/run.sh", "--port", str(port), "--base-path", "/colorcore",
                             "--htpasswd", str(tmp / "htpasswd"), "--replicas", str(replicas)],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while "serving at" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"deploy/run.sh did not start:\n{log.read_text()}")
            time.sleep(0.5)
        yield re.search(r"serving at (\S+)/ ", log.read_text()).group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def row(label: str, results: list) -> str:
    times = sorted(r.seconds for r in results if r.served)
    if not times:
        return f"| {label} | 0/{len(results)} | - | - | - |"
    return (f"| {label} | {len(times)}/{len(results)} | {times[0]:.1f} | {statistics.median(times):.1f} | "
            f"{times[-1]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=4.0)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--catalog", default=os.environ.get("COLORCORE_CHECKPOINTS"))
    args = parser.parse_args()
    images = load_app.make_tiffs(Path(tempfile.mkdtemp()), args.sessions, args.megapixels)
    print(f"{args.sessions} sessions, Colorize, distinct {args.megapixels:g} MP 16-bit TIFFs at once; "
          f"{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.1f}\n")
    print("| configuration | served | first s | p50 s | max s |")
    print("|---|---|---|---|---|")
    with load_app.app_server(args.catalog) as server:
        print(row("direct (streamlit run, one process)", load_app.run_sessions(server.url, images)), flush=True)
    load_app.HTTP_CREDENTIALS = {"username": USER, "password": PASSWORD}
    for replicas in args.replicas:
        with deployment(replicas, args.catalog) as url:
            results = load_app.run_sessions(url, images)
        print(row(f"nginx + sign-in, {replicas} replica(s)", results), flush=True)


if __name__ == "__main__":
    main()
