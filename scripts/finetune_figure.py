"""Table and figure of the fine-tuning study (scripts/finetune_study.sh): blood-smear test images through every run.

Usage::

    PYTHONPATH=. python scripts/finetune_figure.py DATA OUT_DIR DOMAIN BASE

DATA is the micrographs folder, OUT_DIR the study's folder (runs/finetune), DOMAIN the runs' prefix
(``blood``, ``he``) and BASE the checkpoint they were fine-tuned from; checkpoints are found by name
through ``COLORCORE_USER_CHECKPOINTS`` (set to OUT_DIR here).  Prints the markdown table of the stored
test metrics (each run's ``*.test.json``, the base and gray from ``DOMAIN-base-gray.test.json``) with
each run's wall time (``wall_times.txt``) and draws docs/figures/finetune_DOMAIN.png.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from make_results import ROOT, image_grid  # noqa: E402  (scripts/ is on sys.path when run as a script)

from colorcore.checkpoints import read_metadata
from colorcore.metrics import METRIC_NAMES

#: Runs of a domain, columns of the figure and rows of the table in this order (after the base).
RUNS = ["scratch3", "finetune3", "scratch12", "finetune12", "finetune-all", "scratch-all"]
#: Test images drawn in the figure.
FIGURE_IMAGES = 4


def table(out_dir: Path, names: list[str], domain: str) -> str:
    """Markdown: the base, every run and gray on the domain's test split, with training wall times."""
    results = json.loads((out_dir / f"{domain}-base-gray.test.json").read_text())
    for name in names[1:]:
        results.update(json.loads((out_dir / f"{name}.test.json").read_text()))
    walls = dict(line.split() for line in (out_dir / "wall_times.txt").read_text().splitlines() if line.strip())
    lines = ["| checkpoint | train images | training time | " + " | ".join(METRIC_NAMES) + " |",
             "|---" * (len(METRIC_NAMES) + 3) + "|"]
    for name in names + ["gray"]:
        m = results[name]
        n_train = read_metadata(name)["data"]["split"]["train"] if name != "gray" else "-"
        wall = f"{int(walls[name]) / 60:.1f} min" if name in walls else "-"
        cells = ["-" if m.get(k) is None else (str(m[k]) if k == "n_images" else f"{m[k]:.3f}") for k in METRIC_NAMES]
        lines.append(f"| {name} | {n_train} | {wall} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    data, out_dir, domain, base = Path(sys.argv[1]), Path(sys.argv[2]).resolve(), sys.argv[3], sys.argv[4]
    os.environ["COLORCORE_USER_CHECKPOINTS"] = str(out_dir)
    names = [base] + [f"{domain}-{run}" for run in RUNS]
    files = read_metadata(f"{domain}-finetune12")["data"]["files"]["test"]
    step = max(1, len(files) // FIGURE_IMAGES)
    image_grid([(data, f) for f in files[::step][:FIGURE_IMAGES]], names,
               ROOT / "docs" / "figures" / f"finetune_{domain}.png", working_size=512)
    print(table(out_dir, names, domain))


if __name__ == "__main__":
    main()
