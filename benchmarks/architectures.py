"""Training speed of the registered architectures: images/s of one optimisation step (forward, loss, backward, AdamW).

Usage::

    PYTHONPATH=. python benchmarks/architectures.py [--sizes 64 128] [--batch 32] [--seconds 10]

Synthetic encoded inputs and targets (the data path is the same for every architecture and is
measured by ``benchmarks/training.py``); float32, channels_last, the machine's torch threads.
Classification models get 225 classes (the Places bins) and the rebalanced cross-entropy.
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from colorcore.losses import huber, rebalanced_cross_entropy
from colorcore.models import CLASSIFICATION, create_model, get_spec, trainable_names

N_BINS = 225


def images_per_s(name: str, size: int, batch: int, seconds: float) -> float:
    """Steps of ``name`` on ``batch`` images of ``size`` px until ``seconds`` have passed (after one warm-up)."""
    torch.manual_seed(0)
    classifier = get_spec(name).kind == CLASSIFICATION
    model = create_model(name, **({"n_bins": N_BINS} if classifier else {})).train()
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, size, size).contiguous(memory_format=torch.channels_last)
    target = torch.rand(batch, 2, size, size) * 0.6 - 0.3

    def step() -> None:
        raw = model(x, raw=True)
        loss = (rebalanced_cross_entropy(raw, target, model.centers, model.class_weights) if classifier
                else huber(raw, target))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        done += batch
    return done / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    names = trainable_names()
    print(f"{os.cpu_count()} cores, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), "
          f"{torch.get_num_threads()} threads, batch {args.batch}\n")
    print("| model | " + " | ".join(f"{s} px images/s" for s in args.sizes) + " | parameters |")
    print("|---|" + "---|" * (len(args.sizes) + 1))
    for name in names:
        speeds = [images_per_s(name, s, args.batch, args.seconds) for s in args.sizes]
        kwargs = {"n_bins": N_BINS} if get_spec(name).kind == CLASSIFICATION else {}
        params = sum(p.numel() for p in create_model(name, **kwargs).parameters())
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in speeds) + f" | {params / 1e6:.2f} M |")


if __name__ == "__main__":
    main()
