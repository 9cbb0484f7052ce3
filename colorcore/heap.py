"""Giving a long-running server's freed memory back to the system.

glibc's allocator keeps memory that Python, NumPy and torch have freed inside its heaps (one per
thread group, an *arena*), to hand out again; it returns only what lies at a heap's top.  A server whose
threads each build and drop tens of megabytes of image buffers per request holds a growing share of
freed memory that way: under the soak (docs/reliability.md) ``malloc_trim(0)`` gave back about 300 MB of
1.4 GB at once, and as much was held again 30 seconds later.  :class:`Trimmer` calls ``malloc_trim`` every
few seconds from a daemon thread, so the resident size follows what is in use rather than the highest
level each arena ever reached.  On a system without glibc it does nothing.
"""
from __future__ import annotations

import ctypes
import threading
import time

#: Default seconds between two trims (``COLORCORE_TRIM_S``; 0 turns trimming off).
TRIM_EVERY_S = 10


def _glibc_trim():
    """glibc's ``malloc_trim`` from the process's own symbols, or None where the C library has none."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_MALLOC_TRIM = _glibc_trim()


def can_trim() -> bool:
    """Whether this process's C library can give freed memory back (glibc)."""
    return _MALLOC_TRIM is not None


def trim() -> bool:
    """Give the freed memory of every arena back to the system; True if any was given back."""
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False


class Trimmer:
    """A daemon thread that calls :func:`trim` every ``every_s`` seconds until :meth:`stop`.

    Each trim takes tens of milliseconds on a heap of a gigabyte (it walks the free lists under each
    arena's lock): at the default ten seconds, under one per cent of one core.
    """

    def __init__(self, every_s: float = TRIM_EVERY_S):
        if every_s <= 0:
            raise ValueError(f"every_s must be positive, not {every_s}")
        self.every_s = every_s
        self.trims = 0  #: trims done so far
        self.seconds = 0.0  #: time they took, in all
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="colorcore-trim", daemon=True)

    def start(self) -> Trimmer:
        """Start the thread (once); returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to end and wait for it up to ``timeout`` seconds."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            began = time.perf_counter()
            trim()
            self.seconds += time.perf_counter() - began
            self.trims += 1


_started: Trimmer | None = None
_started_lock = threading.Lock()


def start_trimming(every_s: float = TRIM_EVERY_S) -> Trimmer | None:
    """The process's one :class:`Trimmer`, started by the first call (later calls return it as it is); None
    where trimming is off (``every_s`` 0) or the C library cannot trim."""
    global _started
    if every_s == 0 or not can_trim():
        return None
    with _started_lock:
        if _started is None:
            _started = Trimmer(every_s).start()
        return _started
