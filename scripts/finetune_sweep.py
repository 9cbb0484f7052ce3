"""How to fine-tune on a few images: learning rate, warm-up and a frozen encoder, measured on the validation split.

Usage::

    PYTHONPATH=. python scripts/finetune_sweep.py BASE DATA OUT_DIR [--include REGEX]

Fine-tunes checkpoint BASE (``train --init-from``) on the first 3, 12 or all training images of DATA
(the split of ``--test-images 50 --val-images 30 --seed 0``, as scripts/finetune_study.sh) with each
setting below, validating every 5 epochs, and prints one markdown row per run: the validation ab RMSE
of the base (before), the best and the last, the epoch of the best, and the wall time.  Only the
validation split is used: the test split stays untouched for docs/results.md.  "frozen encoder"
keeps the ResNet front's weights and BatchNorm statistics as the base had them and trains the
decoder only (the experiment behind leaving ``--freeze-encoder`` out).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from colorcore import train as train_mod
from colorcore.finetune import config_from_options

#: (label, train images, epochs, overrides of the fine-tuning settings, frozen encoder)
RUNS = [
    ("lr 1e-3", 12, 60, {"lr": 1e-3}, False),
    ("lr 3e-4", 12, 60, {"lr": 3e-4}, False),
    ("lr 1e-4", 12, 60, {"lr": 1e-4}, False),
    ("lr 3e-5", 12, 60, {"lr": 3e-5}, False),
    ("lr 1e-4, no warm-up", 12, 60, {"lr": 1e-4, "warmup_epochs": 0.0}, False),
    ("lr 1e-4, warm-up 2 epochs", 12, 60, {"lr": 1e-4, "warmup_epochs": 2.0}, False),
    ("lr 1e-4, frozen encoder", 12, 60, {"lr": 1e-4}, True),
    ("lr 1e-3, frozen encoder", 12, 60, {"lr": 1e-3}, True),
    ("lr 1e-4", 3, 60, {"lr": 1e-4}, False),
    ("lr 1e-4, frozen encoder", 3, 60, {"lr": 1e-4}, True),
    ("lr 1e-3", None, 30, {"lr": 1e-3}, False),
    ("lr 1e-4", None, 30, {"lr": 1e-4}, False),
    ("lr 3e-4", 3, 60, {"lr": 3e-4}, False),
    ("lr 3e-4, frozen encoder", 3, 60, {"lr": 3e-4}, True),
    ("lr 1e-3, frozen encoder", 3, 60, {"lr": 1e-3}, True),
    ("lr 3e-4", None, 30, {"lr": 3e-4}, False),
]


def frozen(load_parent):
    """``load_parent`` whose network keeps its encoder's weights and BatchNorm statistics fixed."""
    def load(cfg):
        model, args, notes, parent = load_parent(cfg)
        for param in model.encoder.parameters():
            param.requires_grad_(False)
        train = model.train

        def keep_encoder_eval(mode: bool = True):
            train(mode)
            model.encoder.eval()
            return model

        model.train = keep_encoder_eval
        return model, args, notes, parent
    return load


def run_one(base: str, data: str, include: str | None, out: Path, n_train, epochs: int, overrides: dict,
            freeze: bool) -> dict:
    cfg = config_from_options({"data": data, "out": str(out), "init_from": base, "include": include,
                               "train_images": n_train, "test_images": 50, "val_images": 30, "seed": 0,
                               "epochs": epochs, "val_every": 5, **overrides})
    original = train_mod.load_parent
    train_mod.load_parent = frozen(original) if freeze else original
    try:
        t0 = time.perf_counter()
        meta = train_mod.train(cfg, log=lambda _: None)
        seconds = time.perf_counter() - t0
    finally:
        train_mod.load_parent = original
    scored = [h for h in meta["history"] if h["val_ab_rmse"] is not None]
    best = min(scored, key=lambda h: h["val_ab_rmse"])
    return {"before": meta["parent"]["val"]["val_ab_rmse"], "best": best["val_ab_rmse"], "best_epoch": best["epoch"],
            "last": scored[-1]["val_ab_rmse"], "seconds": seconds, "n_train": meta["data"]["split"]["train"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("data")
    parser.add_argument("out_dir")
    parser.add_argument("--include")
    parser.add_argument("--only", help="comma-separated indices of RUNS to run (default: all)")
    args = parser.parse_args()
    chosen = [int(i) for i in args.only.split(",")] if args.only else range(len(RUNS))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print("| setting | train images | epochs | val ab RMSE before | best (epoch) | last | wall time |")
    print("|---|---|---|---|---|---|---|")
    for i in chosen:
        label, n_train, epochs, overrides, freeze = RUNS[i]
        out = out_dir / f"sweep{i:02d}.safetensors"
        for stale in out_dir.glob(f"{out.name}*"):
            stale.unlink()
        r = run_one(args.base, args.data, args.include, out, n_train, epochs, overrides, freeze)
        print(f"| {label} | {r['n_train']} | {epochs} | {r['before']:.2f} | {r['best']:.2f} ({r['best_epoch']}) | "
              f"{r['last']:.2f} | {r['seconds']:.0f} s |", flush=True)

if __name__ == "__main__":
    main()
