"""End-to-end inference benchmark: read a 16-bit TIFF, normalise, colorize, write a PNG.

Usage::

    PYTHONPATH=. python benchmarks/inference.py [--sizes 0.25 1 4 16 64] [--study-max 4] [--repeats 2]

For each size a fresh process (so peak RSS is that size's own) loads the checkpoint once and times
colorcore's pipeline
(``read_image`` -> ``colorize`` with the default working size -> PNG) warm: one untimed run, then the
best of ``--repeats``. The study's way of doing the same work runs in the same table for sizes up to
``--study-max`` megapixels: PIL ``convert`` of the 16-bit file (clipping it), ``rgb2gray``, the network
at full resolution without channels_last, scikit-image ``lab2rgb`` on the whole image, PIL save.
Prints a Markdown table with the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _make_tiff(path: Path, megapixels: float) -> tuple[int, int]:
    import tifffile
    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(megapixels * 1e6 / width))
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cells = 33000 + 3000 * (np.sin(x / 37) * np.cos(y / 53)) ** 2
    tifffile.imwrite(path, (cells + rng.integers(0, 300, (height, width))).astype(np.uint16))
    return height, width


def ours(tiff: Path, out: Path, ckpt) -> None:
    from colorcore import colorize, read_image
    from colorcore.io import write_png
    image, _ = read_image(tiff)
    write_png(out, colorize(image, ckpt).rgb)


def study(tiff: Path, out: Path, ckpt) -> None:
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from skimage.color import lab2rgb, rgb2gray

    model = ckpt.model.to(memory_format=torch.contiguous_format)
    rgb = np.asarray(Image.open(tiff).convert("RGB")) / 255.0  # the study's PIL convert clips 16-bit data
    gray = rgb2gray(rgb)
    h, w = gray.shape
    t = torch.from_numpy(gray).float()[None, None]
    t = F.pad(t, (0, -w % 8, 0, -h % 8))
    with torch.no_grad():
        ab = model(t)[0, :, :h, :w].numpy().transpose(1, 2, 0) * 255 - 128
    lab = np.concatenate([gray[..., None] * 100, ab], axis=-1)
    Image.fromarray((lab2rgb(lab) * 255).astype(np.uint8)).save(out)


def _child(way: str, tiff: str, repeats: int) -> None:
    """Run in a fresh process: model loaded once, warm-up, timed runs, peak RSS; prints JSON."""
    from colorcore import load_checkpoint
    fn = ours if way == "ours" else study
    ckpt = load_checkpoint("places500-huber" if way == "ours" else "study500-mse")
    out = Path(tempfile.mkdtemp()) / "out.png"
    fn(Path(tiff), out, ckpt)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(Path(tiff), out, ckpt)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": min(times), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _measure(way: str, tiff: Path, repeats: int, timeout: int = 900) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", way, str(tiff), "--repeats", str(repeats)],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 1, 4, 16, 64])
    parser.add_argument("--study-max", type=float, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("WAY", "TIFF"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.repeats)
        return
    import torch
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads\n")
    print("| size | colorcore s | colorcore peak RSS MB | study way s | study peak RSS MB | speed-up |")
    print("|---|---|---|---|---|---|")
    tmp = Path(tempfile.mkdtemp())
    for mp in args.sizes:
        tiff = tmp / f"bench_{mp}.tif"
        h, w = _make_tiff(tiff, mp)
        mine = _measure("ours", tiff, args.repeats)
        theirs = _measure("study", tiff, args.repeats) if mp <= args.study_max else {"error": "not run"}
        ratio = (f"{theirs['seconds'] / mine['seconds']:.1f}x"
                 if "seconds" in theirs and "seconds" in mine else "-")

        def cell(d, key, fmt):
            return fmt.format(d[key]) if key in d else d.get("error", "-")
        print(f"| {w} x {h} ({mp:g} MP) | {cell(mine, 'seconds', '{:.2f}')} | {cell(mine, 'peak_rss_mb', '{:.0f}')} | "
              f"{cell(theirs, 'seconds', '{:.2f}')} | {cell(theirs, 'peak_rss_mb', '{:.0f}')} | {ratio} |")
        tiff.unlink()


if __name__ == "__main__":
    main()
