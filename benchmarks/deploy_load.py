"""The 8-session Colorize load through nginx with sign-in (deploy/run.sh), next to the direct server, and 2 replicas next to 1.

Usage::

    PYTHONPATH=. python benchmarks/deploy_load.py [--kind fluorescence|he|noise|all] [--sessions 8] [--megapixels 4]
        [--replicas 1 2]

Each configuration starts its own server(s) with the shipped catalog (``$COLORCORE_CHECKPOINTS`` overrides):
``direct`` is ``streamlit run streamlit_app.py`` on a localhost port (load_app's server); ``nginx xN`` is
``deploy/run.sh --replicas N`` with a throw-away htpasswd, every browser context signed in. The sessions
are load_app's: one browser context per session, distinct 16-bit TIFFs of the ``--kind`` of micrograph
(``benchmarks/images.py``; ``all``, the default, each kind in turn) uploaded at the same moment, the time from
upload to result measured in the page. Prints a Markdown table with the load average before each row. Talks to
127.0.0.1 only; bounded.
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
import images
from test_deploy import replica_folders  # tests/, on sys.path once load_app is imported

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "bench", "bench-password"


@contextmanager
def deployment(replicas: int, folders: dict[str, str]) -> Iterator[str]:
    """``deploy/run.sh`` on a free port; yields the explorer's URL, stops it (SIGTERM) afterwards."""
    tmp = Path(tempfile.mkdtemp())
    hashed = subprocess.run(["openssl", "passwd", "-apr1", PASSWORD], capture_output=True, text=True, check=True)
    (tmp / "htpasswd").write_text(f"{USER}:{hashed.stdout.strip()}\n")
    port = browser_app.free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.update(folders)  # the catalog (and, run as root, the user checkpoints) the replicas' user can reach
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


def row(kind: str, label: str, load: float, others: float, results: list) -> str:
    """A table row: the kind, the configuration, how many were served, first / p50 / max s, the load average
    before and the share of the cores other processes used meanwhile (:func:`load_app.others_cpu`)."""
    times = sorted(r.seconds for r in results if r.served)
    figures = (f"{times[0]:.1f} | {statistics.median(times):.1f} | {times[-1]:.1f}" if times else "- | - | -")
    return f"| {kind} | {label} | {len(times)}/{len(results)} | {figures} | {load:.2f} | {others:.0f} % |"


def direct(catalog: str | None, uploads: list[Path]) -> list:
    """The sessions against ``streamlit run streamlit_app.py`` (load_app's server)."""
    with load_app.app_server(catalog) as server:
        return load_app.run_sessions(server.url, uploads)


def behind_nginx(replicas: int, catalog: str | None, uploads: list[Path]) -> list:
    """The sessions, signed in, against :func:`deployment` with ``replicas`` replicas; run as root, with the
    deploy tests' folders that run.sh's unprivileged replicas can reach (``tests/test_deploy.replica_folders``)."""
    load_app.HTTP_CREDENTIALS = {"username": USER, "password": PASSWORD}
    try:
        with replica_folders(Path(catalog or ROOT / "checkpoints")) as folders, deployment(replicas, folders) as url:
            return load_app.run_sessions(url, uploads)
    finally:
        load_app.HTTP_CREDENTIALS = None


def measure_kind(kind: str, args, folder: Path) -> None:
    """The direct server and every ``--replicas`` deployment, with the same uploads of ``kind``; prints rows."""
    folder.mkdir()
    uploads = images.make_tiffs(folder, args.sessions, args.megapixels, kind=kind)
    configurations = [("direct (streamlit run, one process)", direct, (args.catalog, uploads))]
    configurations += [(f"nginx + sign-in, {n} replica(s)", behind_nginx, (n, args.catalog, uploads))
                       for n in args.replicas]
    for label, measure, measure_args in configurations:
        load = os.getloadavg()[0]
        results, others = load_app.others_cpu(measure, *measure_args)
        print(row(kind, label, load, others, results), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="all", choices=[*images.KINDS, "all"],
                        help="kind of micrograph uploaded (benchmarks/images.py); all: each in turn (default)")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=4.0)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--catalog", default=os.environ.get("COLORCORE_CHECKPOINTS"))
    args = parser.parse_args()
    print(f"{args.sessions} sessions, Colorize, distinct {args.megapixels:g} MP 16-bit TIFFs at once; "
          f"{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}\n")
    print("| kind | configuration | served | first s | p50 s | max s | load average before | others' CPU meanwhile |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="deploy_load-") as folder:
        for kind in images.kinds(args.kind):
            measure_kind(kind, args, Path(folder) / kind)


if __name__ == "__main__":
    main()
