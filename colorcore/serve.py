"""What the sessions of one server process share: results, checkpoints, the queue they go through.

Around the server's one queue (:class:`colorcore.workqueue.WorkQueue`) and its upload turnstile
(:class:`colorcore.workqueue.Turnstile`): :class:`JobCache` (results by key, so two sessions asking
for the same preview wait on one job), :class:`CheckpointStore` (each checkpoint loaded once) and
:class:`Server`, which holds them all and warms the default checkpoints at start-up (its
:meth:`Server.health` says :data:`WARMING_UP` until that is done); :func:`get_server` is the
process's one :class:`Server`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Sequence

from .workqueue import Call, Job, Turnstile, WorkQueue


def _nbytes(result: Any) -> int:
    return int(getattr(result, "nbytes", 0) or 0)


class JobCache:
    """Results of model work shared by every session: one :class:`Job` per key, least recently used evicted.

    A key asked for while its job is still waiting or running gets that same job (two people
    colorizing the same example share one computation); a failed job is forgotten, so asking
    again retries.  Finished results are kept up to ``max_entries`` and ``max_bytes`` (their
    ``nbytes``).
    """

    def __init__(self, queue: WorkQueue, max_entries: int = 64, max_bytes: int = 512 << 20):
        self.queue = queue
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._jobs: OrderedDict[Any, Job] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_submit(self, key: Any, fn: Callable[..., Any], *args, **kwargs) -> Job:
        """The job for ``key``: the cached or in-flight one, else ``fn(*args, **kwargs)`` queued now.

        Raises
        ------
        colorcore.workqueue.QueueFull
            If the job has to be queued and the queue is full.
        """
        return self.get_or_submit_many([(key, fn, args, kwargs)])[0]

    def get_or_submit_many(self, requests: Sequence[tuple[Any, Callable[..., Any], tuple, dict]],
                           background: bool = False) -> list[Job]:
        """The jobs for several ``(key, fn, args, kwargs)``: cached or in-flight ones, the others queued together
        (:meth:`WorkQueue.submit_many`: next to each other, all or none, in the ``background`` lane if asked),
        in the order given.

        Raises
        ------
        colorcore.workqueue.QueueFull
            If jobs have to be queued and the queue has no room for all of them (none is queued then).
        """
        with self._lock:
            found: dict[Any, Job] = {}
            missing: dict[Any, Call] = {}
            for key, fn, args, kwargs in requests:
                job = self._jobs.get(key)
                if job is not None and not (job.done and job._error is not None):
                    self._jobs.move_to_end(key)
                    found[key] = job
                elif key not in missing:
                    missing[key] = (fn, args, kwargs)
            if missing:
                for key, job in zip(missing, self.queue.submit_many(list(missing.values()), background)):
                    self._jobs[key] = found[key] = job
                self._evict()
            return [found[key] for key, *_ in requests]

    def _evict(self) -> None:
        done = [k for k, j in self._jobs.items() if j.done]
        total = sum(_nbytes(self._jobs[k]._result) for k in done)
        for key in done:  # oldest first
            if len(self._jobs) <= self.max_entries and total <= self.max_bytes:
                break
            total -= _nbytes(self._jobs.pop(key)._result)


class CheckpointStore:
    """Checkpoints loaded once per server process, keyed by catalog name and file version; never mutated."""

    def __init__(self, max_entries: int = 16):
        self.max_entries = max_entries
        self._loaded: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str):
        """The catalog checkpoint ``name`` (or ``gray``), loaded on first use.

        Raises
        ------
        colorcore.checkpoints.CheckpointError
            If ``name`` is not in the catalog or cannot be loaded.
        """
        from .checkpoints import checkpoint_stamp, load_checkpoint

        key = (name, checkpoint_stamp(name))
        with self._lock:  # one loader at a time: two sessions asking at once share one load
            if key not in self._loaded:
                self._loaded[key] = load_checkpoint(name, catalog_only=True)
                while len(self._loaded) > self.max_entries:
                    self._loaded.popitem(last=False)
            self._loaded.move_to_end(key)
            return self._loaded[key]


def _stamp_or_none(name: str) -> str | None:
    """:func:`colorcore.checkpoints.checkpoint_stamp` of ``name``; None once it is no longer in the catalog."""
    from .checkpoints import CheckpointError, checkpoint_stamp

    try:
        return checkpoint_stamp(name)
    except CheckpointError:
        return None


#: What :meth:`Server.health` says until the warm start is done.
WARMING_UP = "warming up: loading checkpoints"


class Server:
    """What a server process shares between its sessions: the queue, the result cache, the checkpoints, and
    the turnstile uploads are decoded through (:meth:`Turnstile.for_this_machine` unless ``intake`` is given)."""

    def __init__(self, queue: WorkQueue, intake: Turnstile | None = None):
        self.queue = queue
        self.intake = intake or Turnstile.for_this_machine()
        self.result_cache = JobCache(queue)  # model results by key, shared by the sessions
        self.checkpoints = CheckpointStore()
        self.ready = threading.Event()
        self._failures: dict[str, tuple[str | None, str]] = {}  # name -> (its file's stamp then, why it failed)
        self._failures_lock = threading.Lock()

    def warm(self, names: list[str]) -> threading.Thread:
        """Load ``names`` in a background thread, then set :attr:`ready`.

        One that fails to load is noted with its reason (:meth:`health` reports it) and the others
        are still loaded.
        """
        thread = threading.Thread(target=self._warm_all, args=(list(names),), name="colorcore-warm", daemon=True)
        thread.start()
        return thread

    def _warm_all(self, names: list[str]) -> None:
        try:
            for name in names:  # the first one imports torch, the slowest import, here rather than for a user
                self._warm_one(name)
        finally:
            self.ready.set()

    def _warm_one(self, name: str) -> None:
        from .checkpoints import CheckpointError

        stamp = _stamp_or_none(name)
        try:
            self.checkpoints.get(name)
        except CheckpointError as err:  # its message names the file and says why
            self._note_failure(name, stamp, str(err))
        except Exception as err:  # noqa: BLE001 - reported by the health check, never fatal
            self._note_failure(name, stamp, f"{type(err).__name__}: {err}")
        else:
            with self._failures_lock:
                self._failures.pop(name, None)

    def _note_failure(self, name: str, stamp: str | None, reason: str) -> None:
        with self._failures_lock:
            self._failures[name] = (stamp, reason)

    def health(self) -> str | None:
        """Why this server is not healthy, None when it is.

        Not healthy while the warm start runs (:data:`WARMING_UP`) and while a checkpoint it was
        given cannot be loaded (each one named, with its reason).  A failed checkpoint whose file
        has changed since is tried again in the background (warming up meanwhile); one that has
        left the catalog is forgotten.
        """
        with self._failures_lock:
            if not self.ready.is_set():
                return WARMING_UP
            changed = []
            for name, (stamp, _) in list(self._failures.items()):
                now = _stamp_or_none(name)
                if now is None:
                    del self._failures[name]
                elif now != stamp:
                    changed.append(name)
            if changed:
                self.ready.clear()
                self.warm(changed)
                return WARMING_UP
            failures = dict(self._failures)
        if not failures:
            return None
        return "cannot load " + "; ".join(f"{name} ({reason})" for name, (_, reason) in failures.items())


_server: Server | None = None
_server_lock = threading.Lock()


def get_server() -> Server:
    """The process's one :class:`Server` (its queue sized by :meth:`WorkQueue.for_this_machine`)."""
    global _server
    with _server_lock:
        if _server is None:
            _server = Server(WorkQueue.for_this_machine())
        return _server
