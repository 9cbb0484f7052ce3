"""Load benchmark of the HTTP API without browsers: N concurrent clients post 4 MP micrographs at once (issue 22).

Usage::

    PYTHONPATH=. python benchmarks/api_load.py [--kind fluorescence|he|noise|all] [--clients 8 16 32]
        [--megapixels 4] [--checkpoint NAME] [--catalog DIR]

For every kind (``benchmarks/images.py``; ``all``, the default, each in turn) and every ``--clients`` count N
it starts its own ``streamlit run streamlit_app.py`` on a free 127.0.0.1 port (``tests/browser_app.py``'s
server, which serves ``/api`` too; the shipped catalog unless ``--catalog`` or ``$COLORCORE_CHECKPOINTS``),
waits until it is healthy, and lets N client threads (``requests``) ``POST /api/colorize`` one distinct 16-bit
TIFF each at the same moment, with the checkpoint the Colorize page starts on for that upload (its domain's
preferred one, :func:`page_checkpoint`) unless ``--checkpoint`` names one. Then it stops the server.

Per row: answers with the image (200) and their latency from the common start (first / p50 / max), the
throughput (images and megapixels a second, from the start to the last image), 429 answers with
``Retry-After`` (the queue's bound: an answer, not a failure), errors (any other status, a 429 without
``Retry-After``, a dropped connection or a time-out), and the server process's CPU seconds during the round
and its peak RSS (``/proc/<pid>/stat`` and ``VmHWM``), so that the server's own share of a browser benchmark
(``load_app.py``) can be told apart from the browsers'. The load average before each round is printed with it,
and the share of the cores other processes (not this benchmark nor its server) used during it.
Talks to 127.0.0.1 only; every request is bounded (``--limit-s``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import load_app
import browser_app  # on sys.path once load_app is imported (tests/browser_app.py), as benchmarks/images.py
import images

#: Seconds one request may take before it counts as an error.
LIMIT_S = 300


@dataclass
class Answer:
    """What one client got: seconds from the common start to the answer, its status, what went wrong."""

    seconds: float
    status: int = 0  #: HTTP status; 0: no answer
    retry_after: bool = False
    error: str | None = None

    @property
    def image(self) -> bool:
        return self.status == 200 and self.error is None

    @property
    def busy(self) -> bool:
        """A 429 with ``Retry-After``: the queue is full, an answer."""
        return self.status == 429 and self.retry_after


def page_checkpoint(upload: Path) -> str:
    """The checkpoint the Colorize page starts on for ``upload``: the preferred one of the domain the page moves
    the upload to (``suggested_domain`` of its ``micrograph_kind``), else of the first domain, as the page does."""
    from colorcore.app.catalog import domain_of, group_by_domain, preferred_checkpoint, read_catalog
    from colorcore.app.inputs import load_image, micrograph_kind, suggested_domain

    metas = read_catalog().metas
    groups = group_by_domain(metas)
    first = next(iter(groups))
    start = preferred_checkpoint({n: metas[n] for n in groups[first]})
    kind = micrograph_kind(load_image(upload.name, upload.read_bytes()))
    domain = suggested_domain(kind, domain_of(metas[start]), list(groups)) or first
    return preferred_checkpoint({n: metas[n] for n in groups[domain]})


def post(url: str, upload: tuple[str, bytes], checkpoint: str, start: threading.Barrier, t0: list,
         timeout_s: float) -> Answer:
    """Wait for every client at ``start``, then post ``upload`` (name, bytes); times from ``t0[0]``."""
    import requests

    start.wait()
    try:
        reply = requests.post(f"{url}/api/colorize", files={"image": upload}, data={"checkpoint": checkpoint},
                              timeout=timeout_s)  # the whole body is read before it returns
    except Exception as err:  # noqa: BLE001 - a dropped connection or a time-out is a result, not the end
        return Answer(time.perf_counter() - t0[0], error=f"{type(err).__name__}: {str(err).splitlines()[0]}")
    answer = Answer(time.perf_counter() - t0[0], reply.status_code, "Retry-After" in reply.headers)
    if not (answer.image or answer.busy):
        answer.error = f"{reply.status_code} {reply.text[:120]}"
    return answer


def clients_at_once(url: str, uploads: list[tuple[str, bytes]], checkpoint: str,
                    timeout_s: float = LIMIT_S) -> list[Answer]:
    """One client thread per upload, all posting at the same moment; their answers."""
    start = threading.Barrier(len(uploads) + 1)
    t0: list = []
    answers: list = [None] * len(uploads)

    def client(i: int) -> None:
        answers[i] = post(url, uploads[i], checkpoint, start, t0, timeout_s)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(uploads))]
    for thread in threads:
        thread.start()
    t0.append(time.perf_counter())
    start.wait()
    for thread in threads:
        thread.join(timeout_s + 30)
    return [a or Answer(timeout_s, error="client thread did not end") for a in answers]


def summary(answers: list[Answer], megapixels: float) -> dict:
    """First / p50 / max seconds of the images, throughput, and the counts of 429 answers and of errors."""
    times = sorted(a.seconds for a in answers if a.image)
    last = times[-1] if times else float("nan")
    return {"images": len(times), "clients": len(answers), "busy": sum(a.busy for a in answers),
            "errors": sorted({a.error for a in answers if a.error}), "n_errors": sum(bool(a.error) for a in answers),
            "first": times[0] if times else float("nan"), "p50": statistics.median(times) if times else float("nan"),
            "max": last, "per_s": len(times) / last if times else 0.0,
            "mp_per_s": len(times) * megapixels / last if times else 0.0}


def measure(kind: str, n: int, folder: Path, megapixels: float, catalog: str | None,
            checkpoint: str | None, limit_s: float = LIMIT_S) -> dict:
    """One round: a fresh server, ``n`` clients posting distinct ``kind`` images at once; the figures."""
    paths = images.make_tiffs(folder, n, megapixels, seed=1000 * n, kind=kind)
    uploads = [(path.name, path.read_bytes()) for path in paths]
    name = checkpoint or page_checkpoint(paths[0])
    load = os.getloadavg()[0]
    (answers, cpu, rss), others = load_app.others_cpu(_round, catalog, uploads, name, limit_s)
    for path in paths:
        path.unlink()
    return {"kind": kind, "checkpoint": name, "load": load, "others": others, "server_cpu": cpu, "rss": rss,
            **summary(answers, megapixels)}


def _round(catalog: str | None, uploads: list[tuple[str, bytes]], checkpoint: str, limit_s: float
           ) -> tuple[list[Answer], float, float]:
    """A fresh server, the clients at once; their answers, the server's CPU seconds meanwhile, its peak RSS MB."""
    with browser_app.app_server(catalog) as server:
        cpu0 = server.cpu_s()
        answers = clients_at_once(server.url, uploads, checkpoint, limit_s)
        return answers, server.cpu_s() - cpu0, server.peak_rss_mb()


def target(n: int, row: dict) -> str:
    """The issue's target for ``n`` clients, and whether ``row`` meets it."""
    answered = row["images"] + row["busy"] == row["clients"] and not row["n_errors"]
    if n == 8:
        met = answered and row["images"] == n and row["first"] <= 1.5 and row["p50"] <= 4
        return f"first <= 1.5 s, p50 <= 4 s: {'met' if met else '**missed**'}"
    if n == 32:
        return f"all answered: {'met' if answered else '**missed**'}"
    return "all answered: " + ("yes" if answered else "**no**")


def print_row(n: int, row: dict) -> None:
    errors = f" ({'; '.join(row['errors'])[:200]})" if row["errors"] else ""
    print(f"| {row['kind']} | {row['checkpoint']} | {n} | {row['images']} | {row['first']:.2f} | {row['p50']:.2f} | "
          f"{row['max']:.2f} | {row['per_s']:.2f} ({row['mp_per_s']:.1f} MP/s) | {row['busy']} | "
          f"{row['n_errors']}{errors} | {row['server_cpu']:.1f} | {row['rss']:.0f} | {row['load']:.2f} | "
          f"{row['others']:.0f} % | "
          f"{target(n, row)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="all", choices=[*images.KINDS, "all"],
                        help="kind of micrograph posted (benchmarks/images.py); all: each in turn (default)")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 16, 32], help="client counts (default 8 16 32)")
    parser.add_argument("--megapixels", type=float, default=4.0, help="size of the posted TIFFs (default 4)")
    parser.add_argument("--checkpoint", help="checkpoint for every post (default: the one Colorize starts on)")
    parser.add_argument("--catalog", help="checkpoint folder (default $COLORCORE_CHECKPOINTS, else checkpoints/)")
    parser.add_argument("--limit-s", type=float, default=LIMIT_S, help=f"seconds a request may take ({LIMIT_S})")
    args = parser.parse_args()
    if args.catalog:  # this process reads the catalog too, to choose the page's checkpoint
        os.environ["COLORCORE_CHECKPOINTS"] = args.catalog
    if min(args.clients) < 1:
        parser.error(f"--clients must be at least 1, got {min(args.clients)}")
    side = images.side_of(args.megapixels)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start; TIFFs {side} x {side} 16-bit; "
          f"COLORCORE_WORKERS={os.environ.get('COLORCORE_WORKERS', '1 (default)')}, "
          f"COLORCORE_MAX_WAITING={os.environ.get('COLORCORE_MAX_WAITING', '32 (default)')}\n")
    print("| kind | checkpoint | clients | images | first s | p50 s | max s | throughput images/s | 429 | errors | "
          "server CPU s | server peak RSS MB | load average before | others' CPU meanwhile | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="api_load-") as folder:
        for kind in images.kinds(args.kind):
            for n in args.clients:
                print_row(n, measure(kind, n, Path(folder), args.megapixels, args.catalog, args.checkpoint,
                                     args.limit_s))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
