"""Out-of-domain check and confidence benchmark: the targets of issue 17, on the shipped checkpoints.

Usage::

    PYTHONPATH=. python benchmarks/domain_check.py [--data-root ../shared/data] [--checkpoints a,b] \
        [--limit N] [--json results.json]

For every catalog checkpoint with a domain check (``checkpoints --fit-domain``):

``domain``      its scores on its own test split (as recorded in its metadata) against the test splits of
                the other domains' checkpoints and the gray HeLa set (``<data root>/gray``): AUROC of the
                score separating own from others (target >= 0.95), share of its own test images in
                domain (>= 95 %), share of the others not in domain (>= 90 %), and each other set's share.
``confidence``  for each classification (vivid) checkpoint, the mean a*b* error (Lab units, full
                resolution, 8-bit output against the original) of the 10 % least confident pixels of its
                test split over that of the 10 % most confident (target >= 2). For the regression
                checkpoints, the same ratio for the cheap proxy "agreement with the prediction of the
                horizontally flipped image", which colorcore does not ship unless it meets the target.
``overhead``    seconds of ``colorize`` with the check (and confidence) against without, at three image sizes.

Prints Markdown tables. Not a test: it reads the data sets (``../shared/data``), which CI does not have.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorcore import colorize, load_checkpoint, read_image  # noqa: E402
from colorcore.checkpoints import Checkpoint, catalog_names  # noqa: E402
from colorcore.splits import list_images  # noqa: E402
from colorcore.domain import training_root  # noqa: E402
from colorcore.infer import domain_verdict, merge, predict  # noqa: E402
from colorcore.io import to_uint8  # noqa: E402
from colorcore.metadata import data_folder, domain, domain_check, model_spec, split_files  # noqa: E402
from colorcore.metrics import lab_of  # noqa: E402

#: Targets of issue 17.
AUROC_TARGET, OWN_IN_TARGET, OTHERS_OUT_TARGET, CONFIDENCE_RATIO_TARGET = 0.95, 0.95, 0.90, 2.0
#: Share of pixels at each end of the confidence ranking.
TAIL = 0.10


def auroc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties count half): the area under the ROC curve."""
    scores = np.concatenate([negatives, positives])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    for end in range(1, len(scores) + 1):  # average ranks over ties
        if end == len(scores) or sorted_scores[end] != sorted_scores[start]:
            ranks[order[start:end]] = (start + end + 1) / 2
            start = end
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[n_neg:].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _folder(meta: dict, data_root: Path | None) -> Path:
    return data_root / Path(data_folder(meta)).name if data_root else training_root(meta)


def image_sets(metas: dict, data_root: Path | None, limit: int | None) -> tuple[dict, dict]:
    """``{set name: [(file, image)]}`` of every checkpoint's test split (shared splits once) and the gray set,
    and ``{checkpoint: its own set's name}``."""
    sets, own = {}, {}
    for name, meta in metas.items():
        folder = _folder(meta, data_root)
        files = split_files(meta, "test")[:limit]
        key = f"{domain(meta)} test ({folder.name})"
        own[name] = key
        if key not in sets:
            sets[key] = [(f, read_image(folder / f)[0]) for f in files]
    gray = (data_root or training_root(next(iter(metas.values()))).parent) / "gray"
    sets["gray HeLa"] = [(f, read_image(gray / f)[0]) for f in list_images(gray)[:limit]]
    return sets, own


def domain_rows(checkpoints: dict, sets: dict, own: dict) -> list[dict]:
    """One row per checkpoint: AUROC, own share in domain, others' share out, and every other set's share out."""
    rows = []
    for name, ckpt in checkpoints.items():
        scores = {key: np.array([domain_verdict(image, ckpt).score for _, image in items])
                  for key, items in sets.items()}
        mine = scores[own[name]]
        others = {key: s for key, s in scores.items() if key != own[name] and not key.startswith(domain(ckpt.meta))}
        pooled = np.concatenate(list(others.values()))
        rows.append({"checkpoint": name, "own": own[name], "n_own": len(mine), "n_others": len(pooled),
                     "auroc": auroc(mine, pooled), "own_in": float(np.mean(mine <= 1)),
                     "others_out": float(np.mean(pooled > 1)),
                     "per_set_out": {key: float(np.mean(s > 1)) for key, s in others.items()}})
    return rows


def _tail_ratio(errors: np.ndarray, confidence: np.ndarray) -> tuple[float, float, float]:
    """Mean error of the least and of the most confident ``TAIL`` of pixels, and their ratio."""
    order = np.argsort(confidence, kind="stable")
    n = max(1, int(len(order) * TAIL))
    low, high = float(errors[order[:n]].mean()), float(errors[order[-n:]].mean())
    return low, high, low / max(high, 1e-9)


def _ab_error(rgb: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.hypot(*(lab_of(rgb)[..., 1:] - lab_of(truth)[..., 1:]).transpose(2, 0, 1)).ravel()


def _flip_disagreement(image: np.ndarray, ckpt: Checkpoint) -> np.ndarray:
    """How much the a*b* change when the image is flipped left-right (Lab units), upsampled like a*b*."""
    import torch.nn.functional as F

    prediction = predict(image, ckpt)
    flipped = predict(np.ascontiguousarray(image[:, ::-1]), ckpt)
    difference = (prediction.ab - flipped.ab.flip(-1)).norm(dim=0)[None, None]
    return F.interpolate(difference, size=image.shape[:2], mode="bilinear", align_corners=False).ravel().numpy()


def confidence_rows(checkpoints: dict, sets: dict, own: dict) -> list[dict]:
    """Per checkpoint: error of the least vs most confident pixels (classification) or of the flip proxy (regression)."""
    rows = []
    for name, ckpt in checkpoints.items():
        errors, confidence = [], []
        kind = model_spec(ckpt.meta).kind
        spread = model_spec(ckpt.meta).takes_temperature  # classification and blends
        for _, image in sets[own[name]]:
            if image.ndim != 3:
                continue
            result = colorize(image, ckpt)
            errors.append(_ab_error(result.rgb, to_uint8(image)))
            confidence.append(result.confidence.ravel() if spread else -_flip_disagreement(image, ckpt))
        low, high, ratio = _tail_ratio(np.concatenate(errors), np.concatenate(confidence))
        rows.append({"checkpoint": name, "kind": kind, "signal": "1 - a*b* spread" if spread else
                     "flip agreement (proxy)", "pixels": int(sum(map(len, errors))), "error_least": low,
                     "error_most": high, "ratio": ratio})
    return rows


def _best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def overhead_rows(checkpoints: dict) -> list[dict]:
    """Seconds of ``colorize`` with the domain check and confidence and without, at three sizes."""
    rows = []
    rng = np.random.default_rng(0)
    for name, ckpt in checkpoints.items():
        bare = Checkpoint(ckpt.name, ckpt.model, {k: v for k, v in ckpt.meta.items() if k != "domain_check"})
        for height, width in ((128, 128), (512, 512), (1536, 2048)):
            image = rng.random((height, width)).astype(np.float32)
            colorize(image, ckpt)  # warm
            with_check = _best_of(lambda: colorize(image, ckpt))
            without = _best_of(lambda: colorize(image, bare))
            prediction = predict(image, bare)
            merged = _best_of(lambda: merge(image, prediction))
            merged_plain = _best_of(lambda: merge(image, dataclasses.replace(prediction, confidence=None)))
            rows.append({"checkpoint": name, "size": f"{width} x {height}", "with_s": with_check, "without_s": without,
                         "check_overhead": with_check / without - 1,
                         "confidence_merge_s": merged - merged_plain if prediction.confidence is not None else None})
    return rows


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def print_tables(domain_table: list[dict], confidence_table: list[dict], overhead_table: list[dict]) -> None:
    """Markdown tables with the targets."""
    print("| checkpoint | own test split | n own / others | AUROC (>= 0.95) | own in domain (>= 95 %) | "
          "others not in domain (>= 90 %) | others out, per set |\n|---|---|---|---|---|---|---|")
    for r in domain_table:
        per_set = ", ".join(f"{k}: {v:.0%}" for k, v in r["per_set_out"].items())
        print(f"| {r['checkpoint']} | {r['own']} | {r['n_own']} / {r['n_others']} | {r['auroc']:.3f} "
              f"({_mark(r['auroc'] >= AUROC_TARGET)}) | {r['own_in']:.1%} ({_mark(r['own_in'] >= OWN_IN_TARGET)}) | "
              f"{r['others_out']:.1%} ({_mark(r['others_out'] >= OTHERS_OUT_TARGET)}) | {per_set} |")
    print("\n| checkpoint | signal | pixels | ab error, 10 % least confident | ab error, 10 % most confident | "
          "ratio (>= 2) |\n|---|---|---|---|---|---|")
    for r in confidence_table:
        print(f"| {r['checkpoint']} | {r['signal']} | {r['pixels']} | {r['error_least']:.2f} | {r['error_most']:.2f} | "
              f"{r['ratio']:.2f} ({_mark(r['ratio'] >= CONFIDENCE_RATIO_TARGET)}) |")
    print("\n| checkpoint | image | colorize with check (s) | without (s) | check overhead | "
          "confidence in merge (s) |\n|---|---|---|---|---|---|")
    for r in overhead_table:
        conf = "-" if r["confidence_merge_s"] is None else f"{r['confidence_merge_s']:.4f}"
        print(f"| {r['checkpoint']} | {r['size']} | {r['with_s']:.4f} | {r['without_s']:.4f} | "
              f"{r['check_overhead']:+.1%} | {conf} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", type=Path, help="folder holding the data sets and gray/ "
                        "(default: each checkpoint's recorded folder, and gray/ beside it)")
    parser.add_argument("--checkpoints", help="comma-separated names (default: every catalog checkpoint with a check)")
    parser.add_argument("--overhead", default="places500-huber,places500-vivid,histology-huber",
                        help="checkpoints timed for the overhead table ('' for none)")
    parser.add_argument("--limit", type=int, help="images per set (a quick run)")
    parser.add_argument("--json", type=Path, help="write every number as JSON here")
    args = parser.parse_args(argv)
    names = args.checkpoints.split(",") if args.checkpoints else catalog_names()
    checkpoints = {n: load_checkpoint(n) for n in names}
    checkpoints = {n: c for n, c in checkpoints.items() if domain_check(c.meta) is not None}
    sets, own = image_sets({n: c.meta for n, c in checkpoints.items()}, args.data_root, args.limit)
    tables = {"domain": domain_rows(checkpoints, sets, own), "confidence": confidence_rows(checkpoints, sets, own),
              "overhead": overhead_rows({n: checkpoints[n] for n in args.overhead.split(",") if n in checkpoints})}
    print_tables(tables["domain"], tables["confidence"], tables["overhead"])
    if args.json:
        args.json.write_text(json.dumps(tables, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
