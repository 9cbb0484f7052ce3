"""colorcore.heap: freed memory given back to the system (glibc's malloc_trim), on a timer."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from colorcore import heap


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _churn(keep: list) -> None:
    """What a request does to a thread's arena: many image-sized buffers made and dropped, one kept after them
    (so the freed memory lies below a live block, where free() alone cannot give it back)."""
    blocks = [np.ones(96 * 1024 // 8) for _ in range(2000)]  # 96 KB each: under glibc's mmap threshold
    keep.append(np.ones(16))
    del blocks


@pytest.mark.skipif(not heap.can_trim(), reason="the C library is not glibc (malloc_trim is glibc's)")
def test_trim_gives_freed_memory_back():
    keep: list = []
    base = rss_mb()
    worker = threading.Thread(target=_churn, args=(keep,))
    worker.start()
    worker.join()
    held = rss_mb() - base
    assert held > 40, f"free() alone gave back all but {held:.0f} MB: nothing for this test to show"
    heap.trim()
    left = rss_mb() - base
    assert left < held / 4, f"of the {held:.0f} MB freed but held, {left:.0f} MB are still held after trim()"


def test_trimmer_trims_until_stopped():
    trimmer = heap.Trimmer(every_s=0.02).start()
    deadline = time.monotonic() + 10
    while trimmer.trims < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    trimmer.stop(timeout=5)
    assert trimmer.trims >= 3 and trimmer.seconds >= 0
    done = trimmer.trims
    time.sleep(0.1)
    assert trimmer.trims == done  # stopped: no more trims


@pytest.mark.parametrize("every_s", [0, -1])
def test_trimmer_needs_a_positive_interval(every_s):
    with pytest.raises(ValueError, match="every_s must be positive"):
        heap.Trimmer(every_s)


def test_start_trimming_once_per_process(monkeypatch):
    monkeypatch.setattr(heap, "_started", None)
    assert heap.start_trimming(0) is None  # off
    first = heap.start_trimming(30)
    try:
        assert heap.start_trimming(5) is first
        assert (first is None) == (not heap.can_trim())
    finally:
        if first is not None:
            first.stop(timeout=1)
