"""Generate the tables and figures of docs/results.md from the shipped checkpoints.

Usage::

    PYTHONPATH=. python scripts/make_results.py [--data ../shared/data/places] [--checkpoint NAME ...]

Writes docs/figures/loss_curves.png, docs/figures/val_metrics.png,
docs/figures/test_grid.png, docs/results_table.md, and the gray baseline's
test metrics to checkpoints/baselines.json (read by the app).  Every number comes
from the checkpoints' stored metadata or from evaluating on the recorded test
split, nothing is typed by hand.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from colorcore.checkpoints import catalog_dir, load_checkpoint, read_metadata  # noqa: E402
from colorcore.evaluate import evaluate  # noqa: E402
from colorcore.infer import colorize  # noqa: E402
from colorcore.io import read_image, to_uint8  # noqa: E402
from colorcore.metrics import METRIC_NAMES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STUDY_GRID = ["places12-mse", "places12-huber", "places500-mse", "places500-huber", "study500-mse"]


def loss_figure(metas: list[dict], path: Path) -> None:
    """Train and validation loss per epoch (log scale), one panel per criterion."""
    losses = sorted({m["train_config"]["loss"] for m in metas})
    fig, axes = plt.subplots(1, len(losses), figsize=(6 * len(losses), 4), squeeze=False)
    for ax, loss in zip(axes[0], losses):
        for m in (m for m in metas if m["train_config"]["loss"] == loss):
            h = m["history"]
            line, = ax.plot([e["epoch"] for e in h], [e["train_loss"] for e in h], label=f"{m['name']} train")
            val = [(e["epoch"], e["val_loss"]) for e in h if e["val_loss"] is not None]
            ax.plot(*zip(*val), "--", color=line.get_color(), label=f"{m['name']} val")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{loss.upper()} loss (its own scale; not comparable across criteria)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def val_metric_figure(metas: list[dict], path: Path) -> None:
    """Loss-independent validation ab RMSE and PSNR of all checkpoints on one axis each."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for key, ax, label in (("val_ab_rmse", axes[0], "validation ab RMSE (Lab units, lower is better)"),
                           ("val_psnr", axes[1], "validation PSNR (dB, higher is better)")):
        for m in metas:
            pts = [(e["epoch"], e[key]) for e in m["history"] if e[key] is not None]
            ax.plot(*zip(*pts), label=m["name"])
        ax.set_xlabel("epoch")
        ax.set_title(label)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def grid_figure(data: Path, files: list[str], names: list[str], path: Path, working_size: int) -> None:
    """Rows: test images; columns: gray input | every checkpoint | original."""
    ckpts = [load_checkpoint(n) for n in ["gray"] + names]
    cols = ["gray input"] + names + ["original"]
    fig, axes = plt.subplots(len(files), len(cols), figsize=(1.6 * len(cols), 1.6 * len(files)))
    for r, name in enumerate(files):
        image, _ = read_image(data / name)
        panels = [colorize(image, c, working_size=working_size).rgb for c in ckpts] + [to_uint8(image)]
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(panel)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table(rows: dict) -> str:
    head = "| checkpoint | " + " | ".join(METRIC_NAMES) + " |"
    sep = "|---" * (len(METRIC_NAMES) + 1) + "|"
    lines = [head, sep]
    for name, m in rows.items():
        cells = ["-" if m.get(k) is None else (str(m[k]) if k == "n_images" else f"{m[k]:.3f}")
                 for k in METRIC_NAMES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "places"))
    parser.add_argument("--checkpoint", action="append", help="default: the study grid")
    parser.add_argument("--grid-images", type=int, default=8)
    parser.add_argument("--working-size", type=int, default=512)
    args = parser.parse_args()
    names = args.checkpoint or STUDY_GRID
    data = Path(args.data)
    metas = [read_metadata(n) for n in names]
    figures = ROOT / "docs" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    loss_figure(metas, figures / "loss_curves.png")
    val_metric_figure(metas, figures / "val_metrics.png")
    test_files = metas[0]["data"]["files"]["test"]
    gray, problems = evaluate(data, test_files, [load_checkpoint("gray")], working_size=args.working_size)
    if problems:
        print("\n".join(problems))
    rows = {m["name"]: m.get("metrics", {}).get("test", {}) for m in metas}
    rows["gray (baseline)"] = gray["gray"]
    baselines = {"places test split (seed 0, 250 images)": gray["gray"]}
    (catalog_dir() / "baselines.json").write_text(json.dumps(baselines, indent=2) + "\n")
    grid_figure(data, test_files[: args.grid_images], names, figures / "test_grid.png", args.working_size)
    table = markdown_table(rows)
    (ROOT / "docs" / "results_table.md").write_text(table + "\n")
    print(table)
    for m in metas:
        h = m["history"]
        vals = [e["val_loss"] for e in h if e["val_loss"] is not None]
        after5 = [e["val_loss"] for e in h if e["val_loss"] is not None and e["epoch"] > 5]
        print(f"{m['name']}: epochs {len(h)}, final val_loss {vals[-1]:.5g}, max val_loss after epoch 5 "
              f"{max(after5):.5g} ({max(after5) / vals[-1]:.2f} x final), "
              f"train time {sum(e['seconds'] for e in h) / 60:.1f} min")


if __name__ == "__main__":
    main()
