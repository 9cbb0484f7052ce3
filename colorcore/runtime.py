"""Where training runs: the device (CUDA, then MPS, then CPU), bf16 autocast, and torchrun's process group.

The device is chosen once; bf16 autocast is used on CUDA and on CPUs that compute bf16
natively (AVX-512 BF16, AMX), where elsewhere it would be slower than float32.  Started
by ``torchrun`` (``WORLD_SIZE`` > 1), training joins a process group (NCCL on CUDA, gloo
on CPU) through :func:`distributed`; a plain start is rank 0 of 1 and every collective
of :class:`Dist` is then a no-op.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

def pick_device(name: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU for ``"auto"``; otherwise the named device.

    Raises
    ------
    ValueError
        If ``name`` is unknown, or ``"cuda"`` is asked for without a CUDA GPU.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but no CUDA GPU is available; use --device cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)


def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX-512 BF16 or AMX); elsewhere bf16 is slower."""
    return torch.backends.cpu.get_cpu_capability() in ("AVX512_BF16", "AMX")


def use_bf16(device: torch.device, setting: str) -> bool:
    """Whether to train under bf16 autocast: ``"on"``, ``"off"``, or ``"auto"`` (CUDA, CPUs with native bf16)."""
    if setting != "auto":
        return setting == "on"
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())


def use_channels_last(device: torch.device, bf16: bool) -> bool:
    """channels_last memory format where it is faster: on CUDA, and with bf16 on CPU."""
    return bf16 or device.type == "cuda"


@dataclass(frozen=True)
class Dist:
    """This process's place in a torchrun launch (rank 0 of 1 otherwise) and the collectives training uses."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """True for the process that validates and writes files (rank 0)."""
        return self.rank == 0

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's share of a global batch (every ``world``-th image from ``rank``)."""
        return batch[self.rank::self.world]

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """``model`` in DistributedDataParallel when there are several processes (gradients sync), else itself."""
        if self.world == 1:
            return model
        return nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    def all_reduce(self, tensor: torch.Tensor) -> None:
        """Sum ``tensor`` over processes, in place."""
        if self.world > 1:
            import torch.distributed as dist
            dist.all_reduce(tensor)

    def barrier(self) -> None:
        """Wait for every process."""
        if self.world > 1:
            import torch.distributed as dist
            dist.barrier()


def init_distributed(device_name: str) -> tuple[Dist, torch.device | None]:
    """Join the process group when started by torchrun (``WORLD_SIZE`` > 1): NCCL on CUDA, gloo on CPU.

    Returns
    -------
    dist : Dist
    device : torch.device or None
        This process's device under torchrun (its ``LOCAL_RANK`` GPU, or the CPU); None otherwise.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), None
    import torch.distributed as dist

    use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    dist.init_process_group("nccl" if use_cuda else "gloo")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    return Dist(dist.get_rank(), dist.get_world_size()), device


@contextmanager
def distributed(device_name: str) -> Iterator[tuple[Dist, torch.device | None]]:
    """:func:`init_distributed` for the block, leaving the process group at its end (also on errors)."""
    dist, device = init_distributed(device_name)
    try:
        yield dist, device
    finally:
        if dist.world > 1:
            import torch.distributed

            torch.distributed.destroy_process_group()
