"""A memory probe for the soak's server: what holds its resident memory (docs/reliability.md).

Python imports ``sitecustomize`` at start-up from the path; put this folder first on the server's
``PYTHONPATH`` and name an output folder, and the first process that starts with it (the server; not the
decoders or training jobs it starts) samples itself from a daemon thread::

    PYTHONPATH=. python benchmarks/soak.py --minutes 12 --browsers 2 --api-clients 2 --no-train \\
        --env PYTHONPATH=$PWD/benchmarks/memprobe:$PWD --env PROBE_DIR=/tmp/probe \\
        --env PROBE_MODE=tracemalloc --env PROBE_TIMES=150,300,480,690

``PROBE_MODE``:

* ``tracemalloc``: starts ``tracemalloc`` (10 frames) at the first of ``PROBE_TIMES`` (seconds after start)
  and writes ``snapN.pickle`` at each later one; compare two with ``python benchmarks/memprobe/compare.py
  snap1.pickle snap3.pickle``.  It halves the server's throughput.
* ``mallinfo`` (default): every ``PROBE_EVERY`` seconds (default 20) one line of ``mallinfo.jsonl``: the
  resident size and glibc's own account (``mallinfo2``: bytes in use, free bytes kept in its arenas).
* ``trim``: as ``mallinfo``, and calls ``malloc_trim(0)`` after each sample, noting the resident size after
  it and the time it took (what :mod:`colorcore.heap` does, at a chosen interval).
"""
import ctypes
import json
import os
import threading
import time


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _tracemalloc(out: str, times: list[float]) -> None:
    import tracemalloc
    start = time.monotonic()
    for i, at in enumerate(times):
        time.sleep(max(0.0, start + at - time.monotonic()))
        if not tracemalloc.is_tracing():
            tracemalloc.start(10)
        else:
            tracemalloc.take_snapshot().dump(os.path.join(out, f"snap{i}.pickle"))


def _sample(out: str, every: float, trim: bool) -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _Mallinfo2
    start = time.monotonic()
    while True:
        time.sleep(every)
        info = libc.mallinfo2()
        row = {"t": round(time.monotonic() - start, 1), "rss_mb": round(_rss_mb()), "in_use_mb": info.uordblks >> 20,
               "free_kept_mb": info.fordblks >> 20, "mmap_mb": info.hblkhd >> 20}
        if trim:
            began = time.perf_counter()
            libc.malloc_trim(0)
            row.update(trim_ms=round((time.perf_counter() - began) * 1000, 1), rss_after_trim_mb=round(_rss_mb()))
        with open(os.path.join(out, "mallinfo.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")


def _claim(out: str) -> bool:
    """Whether this is the first process to start with ``out`` (the server)."""
    try:
        fd = os.open(os.path.join(out, "owner"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except OSError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


_OUT = os.environ.get("PROBE_DIR")
if _OUT and os.path.isdir(_OUT) and _claim(_OUT):
    _MODE = os.environ.get("PROBE_MODE", "mallinfo")
    if _MODE == "tracemalloc":
        _times = [float(t) for t in os.environ.get("PROBE_TIMES", "150,300,600").split(",")]
        _target, _args = _tracemalloc, (_OUT, _times)
    else:
        _target, _args = _sample, (_OUT, float(os.environ.get("PROBE_EVERY", "20")), _MODE == "trim")
    threading.Thread(target=_target, args=_args, name="memprobe", daemon=True).start()
