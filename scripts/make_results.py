"""Generate the tables and figures of docs/results.md from the shipped checkpoints.

Usage::

    PYTHONPATH=. python scripts/make_results.py [--data-root ../shared/data]

Writes docs/figures/{loss_curves,val_metrics,test_grid,micrograph_grid,hela_grid}.png,
docs/results_table.md (every checkpoint on its own test split with the gray
baseline, and per split every compared checkpoint), and the gray baseline's
test metrics per split to checkpoints/baselines.json (read by the app).  Every
number comes from evaluating on the test splits recorded in the checkpoints,
nothing is typed by hand.  Checkpoints missing from the catalog are left out.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from colorcore.checkpoints import catalog_dir, catalog_names, load_checkpoint, read_metadata  # noqa: E402
from colorcore.evaluate import evaluate  # noqa: E402
from colorcore.infer import colorize  # noqa: E402
from colorcore.io import read_image, to_uint8  # noqa: E402
from colorcore.metrics import METRIC_NAMES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: Scene checkpoints, evaluated on the Places test split and drawn in the loss curves and the test grid.
SCENE_CHECKPOINTS = ["places12-mse", "places12-huber", "places500-mse", "places500-huber", "study500-mse",
                     "places4500-huber", "places500-vivid", "places12000-unet-huber", "places12000-unet-blend"]
#: Micrograph test splits: folder under the data root, the checkpoints trained on it (the first one's
#: recorded split is used) and the scene checkpoints compared with them.
DOMAIN_SPLITS = {
    "histology": ("micrographs", ["histology-huber"], ["places500-huber", "places4500-huber", "places500-vivid",
                                                   "places12000-unet-blend"]),
    "fluorescence": ("fluorescence", ["fluorescence-fields", "fluorescence-huber", "fluorescence-vivid"],
                     ["places500-huber", "places4500-huber", "places500-vivid", "places12000-unet-blend"]),
}
#: Columns of the micrograph figures: the best regression and the vivid scene model, then the domain models.
MICROGRAPH_FIGURE = ["places500-huber", "places500-vivid", "places12000-unet-blend", "histology-huber", "fluorescence-huber",
                     "fluorescence-vivid", "fluorescence-fields"]
#: Classification checkpoints swept over annealed-mean temperatures (on their validation split).
VIVID_SWEEPS = {"places500-vivid": "places", "fluorescence-vivid": "fluorescence"}
TEMPERATURES = (0.1, 0.2, 0.38, 0.6, 1.0)
#: Grayscale HeLa images of ../shared/data/gray (16-bit fluorescence, float DIC, 8-bit EM).
HELA_FILES = ["fluo-n2dl-hela_02sub_t00_uint16.tif", "imagej_hela-cells_ch0_lysosomes_uint16.tif",
              "imagej_hela-cells_ch1_mitochondria_uint16.tif", "imagej_hela-cells_ch2_nuclei_uint16.tif",
              "dic-c2dh-hela_stardist_float32.tif", "fibsem_jrc_hela-22_thumbnail.jpg",
              "fibsem_jrc_hela-bfa_thumbnail.jpg"]


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


def image_grid(rows: list[tuple[Path, str]], names: list[str], path: Path, working_size: int,
               with_original: bool = True) -> None:
    """Rows: images ``(folder, file)``; columns: gray input | every checkpoint | original (colour inputs)."""
    ckpts = [load_checkpoint(n) for n in ["gray"] + names]
    cols = ["gray input"] + names + (["original"] if with_original else [])
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.7 * len(cols), 1.7 * len(rows)), squeeze=False)
    for r, (folder, name) in enumerate(rows):
        image, _ = read_image(folder / name)
        panels = [colorize(image, c, working_size=working_size).rgb for c in ckpts]
        if with_original:
            panels.append(to_uint8(image))
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(panel)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=7)
            if c == 0:
                ax.set_ylabel(Path(name).stem[:24], fontsize=6)
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


def split_table(data: Path, files: list[str], names: list[str], working_size: int) -> dict:
    """Every named checkpoint and the gray baseline evaluated on one list of test files."""
    results, problems = evaluate(data, files, [load_checkpoint(n) for n in names + ["gray"]],
                                 working_size=working_size)
    if problems:
        print("\n".join(problems))
    return {(f"{n} (baseline)" if n == "gray" else n): results[n] for n in names + ["gray"]}


def temperature_table(data: Path, files: list[str], name: str, working_size: int) -> dict:
    """A classification checkpoint decoded at several annealed-mean temperatures on ``files``."""
    ckpt = load_checkpoint(name)
    rows = {}
    for temperature in TEMPERATURES:
        results, _ = evaluate(data, files, [ckpt], working_size=working_size, temperature=temperature)
        rows[f"{name} T={temperature:g}"] = results[name]
    return rows


def all_checkpoints_table(tables: dict[str, dict]) -> str:
    """One table: every checkpoint on its own test split (scene checkpoints on the scene split) and gray."""
    head = "| test split | checkpoint | " + " | ".join(METRIC_NAMES) + " |"
    lines = [head, "|---" * (len(METRIC_NAMES) + 2) + "|"]
    for split, (owners, rows) in tables.items():
        for name, m in rows.items():
            if name in owners or name.endswith("(baseline)"):
                cells = ["-" if m.get(k) is None else (str(m[k]) if k == "n_images" else f"{m[k]:.3f}")
                         for k in METRIC_NAMES]
                lines.append(f"| {split} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def stability_lines(metas: list[dict]) -> list[str]:
    """Per checkpoint: final validation loss, the largest after epoch 5 and training time."""
    out = []
    for m in metas:
        h = m["history"]
        vals = [e["val_loss"] for e in h if e["val_loss"] is not None]
        after5 = [e["val_loss"] for e in h if e["val_loss"] is not None and e["epoch"] > 5] or vals
        out.append(f"{m['name']}: epochs {len(h)}, final val_loss {vals[-1]:.5g}, max val_loss after epoch 5 "
                   f"{max(after5):.5g} ({max(after5) / vals[-1]:.2f} x final), "
                   f"train time {sum(e['seconds'] for e in h) / 60:.1f} min")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--grid-images", type=int, default=8)
    parser.add_argument("--working-size", type=int, default=512)
    args = parser.parse_args()
    root = Path(args.data_root)
    available = set(catalog_names())
    scene_names = [n for n in SCENE_CHECKPOINTS if n in available]
    metas = [read_metadata(n) for n in scene_names]
    trained = [m for m in metas if m.get("history")]  # a blend is built, not trained: no curves
    figures = ROOT / "docs" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    loss_figure(trained, figures / "loss_curves.png")
    val_metric_figure(trained, figures / "val_metrics.png")

    scene_files = metas[0]["data"]["files"]["test"]
    tables = {"places": (scene_names, split_table(root / "places", scene_files, scene_names, args.working_size))}
    baselines = {"places test split (seed 0, 250 images)": tables["places"][1]["gray (baseline)"]}
    image_grid([(root / "places", f) for f in scene_files[: args.grid_images]], scene_names,
               figures / "test_grid.png", args.working_size)
    micro_rows = []
    for split, (folder, owners, others) in DOMAIN_SPLITS.items():
        owners = [n for n in owners if n in available]
        if not owners:
            continue
        files = read_metadata(owners[0])["data"]["files"]["test"]
        names = owners + [n for n in others if n in available]
        tables[split] = (owners, split_table(root / folder, files, names, args.working_size))
        baselines[f"{split} test split ({owners[0]}, {len(files)} images)"] = tables[split][1]["gray (baseline)"]
        micro_rows += [(root / folder, f) for f in files[:: max(1, len(files) // 3)][:3]]
    micro_names = [n for n in MICROGRAPH_FIGURE if n in available]
    image_grid(micro_rows, micro_names, figures / "micrograph_grid.png", args.working_size)
    image_grid([(root / "gray", f) for f in HELA_FILES], micro_names, figures / "hela_grid.png",
               args.working_size, with_original=False)
    (catalog_dir() / "baselines.json").write_text(json.dumps(baselines, indent=2) + "\n")

    text = ["# Test-split tables (generated by scripts/make_results.py)", "",
            "## Every checkpoint on its own test split, with the gray baseline", "",
            all_checkpoints_table(tables)]
    for split, (_, rows) in tables.items():
        text += ["", f"## {split} test split: all compared checkpoints", "", markdown_table(rows)]
    for name, folder in VIVID_SWEEPS.items():
        if name in available:
            val_files = read_metadata(name)["data"]["files"]["val"]
            text += ["", f"## {name} on its validation split at several temperatures", "",
                     markdown_table(temperature_table(root / folder, val_files, name, args.working_size))]
    text += ["", "## Validation stability", ""] + [f"- {line}" for line in stability_lines(
        [m for m in map(read_metadata, sorted(available)) if m.get("history")])]
    (ROOT / "docs" / "results_table.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
