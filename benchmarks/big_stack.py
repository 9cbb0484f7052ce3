"""Large-stack benchmark: peak memory of reading one plane (and a max projection) of a ~2 GB 5-D OME-TIFF.

Usage::

    PYTHONPATH=. python benchmarks/big_stack.py [--dir /tmp] [--t 4] [--c 3] [--z 20] [--side 2048]

Writes a T x C x Z x side x side uint16 OME-TIFF (default 4 x 3 x 20 x 2048 x 2048: 240 planes,
2.0 GB), one plane at a time, then in a fresh process per case (so peak RSS is that case's own)
imports colorcore, reads the file with ``read_image`` and reports the seconds, the RSS before the
read, the peak RSS while reading (Linux ``VmHWM`` reset after the imports) and the process's peak
(``ru_maxrss``). The file is deleted at the end. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "imports only": None,
    "one plane (channel 1, middle z, t 2)": {"channel": 1, "t": 2},
    "max projection over z (channel 0, t 0)": {"channel": 0, "z": "max"},
}


def write_stack(path: Path, t: int, c: int, z: int, side: int) -> int:
    """Write the OME-TIFF plane by plane (never the stack in memory); returns its size in bytes."""
    import tifffile

    y, x = np.mgrid[0:side, 0:side]
    base = ((np.sin(x / 41.0) * np.cos(y / 29.0)) ** 2 * 3000).astype(np.uint16)

    def planes():
        for index in range(t * c * z):
            yield base + np.uint16(100 * (index % 400))

    tifffile.imwrite(path, planes(), shape=(t, c, z, side, side), dtype=np.uint16, ome=True,
                     metadata={"axes": "TCZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1})
    return path.stat().st_size


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM peak), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _child(path: str, choice: str) -> None:
    """Run in a fresh process: read with ``choice`` (JSON kwargs, or null for imports only); print JSON.

    The peak is reset (``/proc/self/clear_refs``) after the imports, so ``read_peak_mb`` is the
    highest RSS while reading.
    """
    from colorcore.io import read_image

    kwargs = json.loads(choice)
    before = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    t0 = time.perf_counter()
    shape = read_image(path, **kwargs)[0].shape if kwargs is not None else None
    print(json.dumps({"seconds": time.perf_counter() - t0, "shape": shape, "rss_before_mb": before,
                      "read_peak_mb": _status_mb("VmHWM"),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _measure(path: Path, kwargs: dict | None) -> dict:
    choice = json.dumps(kwargs)
    proc = subprocess.run([sys.executable, __file__, "--child", str(path), choice], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=900)
    if proc.returncode:
        raise SystemExit(proc.stderr.strip() or f"child exited {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the stack is written (and deleted)")
    parser.add_argument("--t", type=int, default=4)
    parser.add_argument("--c", type=int, default=3)
    parser.add_argument("--z", type=int, default=20)
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "CHOICE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    path = Path(args.dir) / "colorcore_big_stack.ome.tif"
    try:
        t0 = time.perf_counter()
        size = write_stack(path, args.t, args.c, args.z, args.side)
        print(f"stack: T={args.t} C={args.c} Z={args.z} Y=X={args.side} uint16, {size / 1e9:.2f} GB, "
              f"written in {time.perf_counter() - t0:.0f} s\n")
        print("| read | plane | seconds | RSS before MB | peak RSS while reading MB | peak RSS of the process MB |")
        print("|---|---|---|---|---|---|")
        for label, kwargs in CASES.items():
            r = _measure(path, kwargs)
            plane = " x ".join(map(str, r["shape"])) if r["shape"] else "-"
            print(f"| {label} | {plane} | {r['seconds']:.2f} | {r['rss_before_mb']:.0f} | {r['read_peak_mb']:.0f} | "
                  f"{r['peak_rss_mb']:.0f} |")
    finally:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
