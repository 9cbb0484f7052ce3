"""torchrun with 2 CPU processes (gloo) matches a single-process run with the same global batch."""
import os
import subprocess
import sys
from pathlib import Path

from colorcore.checkpoints import read_metadata

ROOT = Path(__file__).resolve().parent.parent


def _args(data, out):
    return ["-m", "colorcore", "train", "--data", str(data), "--out", str(out), "--epochs", "2", "--size", "32",
            "--batch", "8", "--val-images", "4", "--test-images", "4", "--seed", "3", "--train-images", "24"]


def test_two_process_ddp_matches_single_process(color_folder, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    single, multi = tmp_path / "single.safetensors", tmp_path / "ddp.safetensors"
    run = subprocess.run([sys.executable, *_args(color_folder, single)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          *_args(color_folder, multi)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "2 process(es)" in run.stdout
    one, two = read_metadata(single)["history"], read_metadata(multi)["history"]
    assert [h["epoch"] for h in two] == [h["epoch"] for h in one] == [1, 2]
    assert set(two[0]) == set(one[0])
    assert read_metadata(multi)["runtime"]["processes"] == 2
    for a, b in zip(one, two):  # same data, init and global batch; BatchNorm sees half batches under DDP
        assert abs(a["train_loss"] - b["train_loss"]) <= 0.25 * a["train_loss"]
        assert abs(a["val_loss"] - b["val_loss"]) <= 0.25 * a["val_loss"]
