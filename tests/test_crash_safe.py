"""A training run killed with SIGKILL mid-epoch resumes cleanly; checkpoint files are never torn."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from colorcore.checkpoints import CheckpointError, read_metadata

ROOT = Path(__file__).resolve().parent.parent


def _train_cmd(data, out, *extra):
    return [sys.executable, "-m", "colorcore", "train", "--data", str(data), "--out", str(out), "--epochs", "8",
            "--size", "32", "--batch", "4", "--val-images", "4", "--test-images", "4", "--seed", "1", *extra]


def test_sigkill_mid_epoch_then_resume(color_folder, tmp_path):
    out = tmp_path / "killed.safetensors"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_train_cmd(color_folder, out), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen_epochs, deadline = set(), time.time() + 240
    try:
        while time.time() < deadline:
            if out.exists():
                try:  # every read while training runs must see a complete file
                    seen_epochs.add(read_metadata(out)["epochs_done"])
                except CheckpointError as err:
                    raise AssertionError(f"torn checkpoint observed: {err}") from err
            if seen_epochs and max(seen_epochs) >= 2:
                time.sleep(0.05)  # land inside the next epoch
                break
            time.sleep(0.01)
        assert seen_epochs, "training never wrote a checkpoint"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = read_metadata(out)["epochs_done"]
    assert 2 <= done < 8
    rerun = subprocess.run(_train_cmd(color_folder, out, "--resume"), cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=240)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stdout
    hist = read_metadata(out)["history"]
    assert [h["epoch"] for h in hist] == list(range(1, 9))
