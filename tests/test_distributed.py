"""torchrun with 2 CPU processes (gloo) computes what one process computes with DDP's arithmetic.

DDP with batch 8 on two processes is not a single-process run with batch 8: each process's
BatchNorm normalises with the statistics of its own 4 images, the gradient is the mean of the
two shards' gradients, and the running statistics (hence validation) are rank 0's alone
(DDP broadcasts rank 0's buffers before each forward).  The reference below does exactly
that in one process (shard 1, then shard 0 from the same BatchNorm buffers, half of each
shard's gradient), with one thread as each process has.  Measured: the losses agree exactly
(halving a gradient is exact and a sum of two is order-free); the test allows 1e-6 relative for
the loss averages, which the two sides sum differently.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from colorcore.checkpoints import read_metadata
from colorcore.config import TrainConfig
from colorcore.data import augment_batch, lab_batch, take
from colorcore.runtime import Dist
from colorcore.train import estimate_val, get_lr, setup

ROOT = Path(__file__).resolve().parent.parent
ARGS = {"epochs": 2, "size": 32, "batch": 8, "val_images": 4, "test_images": 4, "seed": 3, "train_images": 24}


def _step_as_two_processes(run, batch: torch.Tensor) -> float:
    """One optimisation step as DDP on two processes takes it; returns the mean loss of the shards."""
    buffers = list(run.model.buffers())
    before = [b.clone() for b in buffers]
    run.optimizer.zero_grad(set_to_none=True)
    losses = []
    for rank in (1, 0):  # rank 1 first, then rank 0 from the same buffers: rank 0's running statistics remain
        for b, saved in zip(buffers, before):
            b.copy_(saved)
        net_in, target, _ = lab_batch(Dist(rank, 2).shard(batch), run.device, run.cfg.recipe)
        loss = run.loss_fn(run.model(net_in, raw=True).float(), target)
        (loss / 2).backward()  # DDP averages the two shards' gradients
        losses.append(loss.item())
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.grad_clip)
    run.optimizer.step()
    return sum(losses) / 2


def _reference_history(cfg: TrainConfig) -> list[dict]:
    """Train and validate ``cfg`` in this process with the arithmetic of two DDP processes."""
    run = setup(cfg, log=lambda _: None)
    history = []
    for epoch in range(1, cfg.epochs + 1):
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        order = torch.randperm(len(run.data.train), generator=gen)
        losses = []
        for i in range(run.steps_per_epoch):
            for group in run.optimizer.param_groups:
                group["lr"] = get_lr((epoch - 1) * run.steps_per_epoch + i, run.total_steps, run.warmup_steps,
                                     cfg.lr, cfg.schedule)
            idx = order[i * cfg.batch:(i + 1) * cfg.batch]
            losses.append(_step_as_two_processes(run, augment_batch(take(run.data.train, idx), cfg.size, gen)))
        val = estimate_val(run.model, run.data.val, cfg.recipe, run.device, run.loss_fn)
        history.append({"train_loss": sum(losses) / len(losses), "val_loss": val["val_loss"]})
    return history


def test_two_process_ddp_matches_one_process_doing_ddps_arithmetic(color_folder, tmp_path):
    out = tmp_path / "ddp.safetensors"
    argv = ["--data", str(color_folder), "--out", str(out)]
    for key, value in ARGS.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "colorcore", "train", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "2 process(es)" in run.stdout
    meta = read_metadata(out)
    assert meta["runtime"]["processes"] == 2
    ddp = meta["history"]
    assert [h["epoch"] for h in ddp] == [1, 2]
    assert set(ddp[0]) == {"epoch", "train_loss", "lr", "images_per_s", "val_loss", "val_ab_rmse", "val_psnr",
                           "seconds"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the two processes (OMP_NUM_THREADS=1)
    try:
        reference = _reference_history(TrainConfig(data=str(color_folder), out=str(tmp_path / "ref"), **ARGS))
    finally:
        torch.set_num_threads(threads)
    for ours, theirs in zip(reference, ddp):
        assert theirs["train_loss"] == pytest.approx(ours["train_loss"], rel=1e-6)
        assert theirs["val_loss"] == pytest.approx(ours["val_loss"], rel=1e-6)
