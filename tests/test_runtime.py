"""Device choice, bf16 only where the CPU has it natively, and a single process's no-op collectives."""
import pytest
import torch
from torch import nn

from colorcore import runtime
from colorcore.runtime import Dist, distributed, init_distributed, pick_device, use_bf16, use_channels_last


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    assert pick_device("cpu") == torch.device("cpu")


def test_named_devices_are_checked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU is available; use --device cpu"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda or mps, got 'tpu'"):
        pick_device("tpu")


@pytest.mark.parametrize(("capability", "native"), [("AVX2", False), ("AVX512", False), ("DEFAULT", False),
                                                     ("AVX512_BF16", True), ("AMX", True)])
def test_bf16_auto_only_on_cuda_and_cpus_with_native_bf16(monkeypatch, capability, native):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert runtime.cpu_has_native_bf16() is native
    assert use_bf16(torch.device("cpu"), "auto") is native
    assert use_bf16(torch.device("cuda"), "auto") is True
    assert use_bf16(torch.device("mps"), "auto") is False
    assert use_bf16(torch.device("cpu"), "on") is True and use_bf16(torch.device("cuda"), "off") is False


def test_channels_last_on_cuda_and_with_bf16():
    assert use_channels_last(torch.device("cuda"), False)
    assert use_channels_last(torch.device("cpu"), True)
    assert not use_channels_last(torch.device("cpu"), False)


def test_a_plain_start_is_rank_0_of_1_and_its_collectives_do_nothing(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    dist, device = init_distributed("auto")
    assert dist == Dist(0, 1) and dist.main and device is None
    totals = torch.tensor([3.0, 4.0])
    dist.all_reduce(totals)
    dist.barrier()
    assert totals.tolist() == [3.0, 4.0]
    model = nn.Linear(2, 2)
    assert dist.wrap(model, torch.device("cpu")) is model
    with distributed("cpu") as (inside, device):
        assert inside == Dist() and device is None


def test_each_rank_takes_every_world_th_image():
    batch = torch.arange(8)
    shards = [Dist(rank, 3).shard(batch).tolist() for rank in range(3)]
    assert shards == [[0, 3, 6], [1, 4, 7], [2, 5]]
    assert not Dist(1, 3).main
