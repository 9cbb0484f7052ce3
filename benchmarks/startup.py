"""Cold-start benchmark of the command line: what a lab script pays each time it calls colorcore per file.

Usage::

    PYTHONPATH=. python benchmarks/startup.py [--repeats 5] [--baseline DIR]

Each command runs in a fresh Python process (``python -m colorcore ...``), timed from launch to exit;
the table gives the median and the range of ``--repeats`` runs, and which heavy modules each
command imported (``-X importtime`` totals for torch and torchvision).  ``colorize`` colours a
1 MP 16-bit TIFF with the shipped ``places500-huber`` (read, network, PNG written).
``--baseline DIR`` runs the same commands from another checkout (e.g. ``git worktree add /tmp/old REV``)
in the same run, interleaved, and adds its median and the ratio.
Targets (issue 14): ``--help`` and ``checkpoints`` <= 1.0 s, ``colorize`` of 1 MP <= 5 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _make_tiff(path: Path) -> None:
    import tifffile
    y, x = np.mgrid[0:866, 0:1155].astype(np.float32)
    tifffile.imwrite(path, (33000 + 3000 * (np.sin(x / 37) * np.cos(y / 53)) ** 2).astype(np.uint16))


def _time(args: list[str], root: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "colorcore", *args], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _heavy_imports(args: list[str]) -> str:
    """Which of torch / torchvision the command imported, with their cumulative import time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "colorcore", *args], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found = []
    for line in proc.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] in ("torch", "torchvision", "torchvision.models"):
            found.append(f"{parts[2]} {int(parts[1]) / 1e6:.1f} s")
    return ", ".join(found) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout to time side by side")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    tiff = tmp / "cells_1mp.tif"
    _make_tiff(tiff)
    commands = {
        "--help": ["--help"],
        "checkpoints": ["checkpoints"],
        "colorize 1 MP 16-bit TIFF": ["colorize", str(tiff), "--checkpoint", "places500-huber",
                                      "--out", str(tmp / "out"), "--overwrite"],
    }
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.repeats} cold runs each\n")
    roots = [ROOT] + ([args.baseline.resolve()] if args.baseline else [])
    extra = " baseline median s | ratio |" if args.baseline else ""
    print(f"| command | median s | min-max s | heavy imports (cumulative) |{extra}")
    print("|---|---|---|---|" + ("---|---|" if args.baseline else ""))
    for label, argv in commands.items():
        times: dict[Path, list[float]] = {root: [] for root in roots}
        for root in roots:
            _time(argv, root)  # warm the file-system cache, as a lab script's second call would
        for _ in range(args.repeats):
            for root in roots:  # interleaved, so both see the same machine load
                times[root].append(_time(argv, root))
        ours = times[ROOT]
        row = (f"| {label} | {statistics.median(ours):.2f} | {min(ours):.2f}-{max(ours):.2f} | "
               f"{_heavy_imports(argv)} |")
        if args.baseline:
            base = statistics.median(times[roots[1]])
            row += f" {base:.2f} | {base / statistics.median(ours):.1f}x faster |"
        print(row)


if __name__ == "__main__":
    main()
