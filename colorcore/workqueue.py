"""The server's one first-come-first-served queue for model work, and the turnstile uploads pass before it.

Every colorization a server does for any of its users goes through one :class:`WorkQueue`:
a fixed pool of worker threads (by default one, using all cores for torch's intra-op
threads, set once when the queue starts) takes jobs strictly in the order they were
submitted.  A waiting caller can ask where its job stands (:meth:`WorkQueue.status`: jobs
ahead of it and an estimate of its wait from the measured duration of recent jobs); a
queue holding ``max_waiting`` jobs refuses more with :class:`QueueFull` instead of
letting work pile up; a job that raises hands its exception to its caller and the worker
goes on with the next one; a background job (work that only adds a note to a page) runs only
when no other job waits, so it never delays anyone's result; a job that runs past ``job_limit_s`` (a hung decoder, say) is given
up: its caller gets :class:`JobTimeout` and a new worker takes the stuck one's place, so the
queue keeps moving.  The command line and the library do not use it: it is the server's.

What a page does before its job is queued (decoding an upload) passes a :class:`Turnstile`, one
session at a time in arrival order, so that when many people upload at once the first upload is
decoded (and its job queued) first instead of all of them sharing the cores and finishing together.

Neither torch (a worker imports it to set its threads) nor colorcore is imported here; :mod:`colorcore.serve` is
what one server's sessions share around the queue.
"""
from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

#: Environment variable: worker threads of the server's queue (default 1).
WORKERS_ENV = "COLORCORE_WORKERS"
#: Environment variable: torch intra-op threads of the server process (default: cores / workers).
THREADS_ENV = "COLORCORE_THREADS"
#: Environment variable: jobs that may wait before new ones are refused (default 32).
MAX_WAITING_ENV = "COLORCORE_MAX_WAITING"
#: Seconds assumed for a job before any has been measured.
FIRST_GUESS_S = 1.0
#: Weight of the newest job in the running mean of job durations.
DURATION_SMOOTHING = 0.3
#: Environment variable: uploads decoded at once by the server's turnstile (default 1).
INTAKE_ENV = "COLORCORE_INTAKE"
#: Environment variable: seconds a job may run before the server's queue gives up on it (default 600).
JOB_LIMIT_ENV = "COLORCORE_JOB_LIMIT_S"
#: One call for :meth:`WorkQueue.submit_many`: ``(fn, args, kwargs)``.
Call = tuple[Callable[..., Any], tuple, dict]


class QueueFull(RuntimeError):
    """The queue already holds as many waiting jobs as it accepts; try again shortly."""


class JobTimeout(RuntimeError):
    """A job ran longer than its queue's ``job_limit_s``: the queue gave up on it and replaced its worker."""


@dataclass
class Job:
    """One unit of model work and, once done, its result or exception."""

    id: int
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _result: Any = field(default=None, repr=False)
    _error: BaseException | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has run (True) or ``timeout`` seconds passed (False)."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> Any:
        """The job's return value; re-raises its exception.

        Raises
        ------
        TimeoutError
            If the job has not finished within ``timeout`` seconds.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.id} did not finish within {timeout} s")
        if self._error is not None:
            raise self._error
        return self._result


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands.

    Attributes
    ----------
    state : str
        ``"waiting"``, ``"running"`` or ``"done"``.
    ahead : int
        Jobs that will finish before this one starts (waiting ahead of it, plus running ones while it waits).
    estimate_s : float
        Expected seconds until this job is done (0 when done).
    """

    state: str
    ahead: int
    estimate_s: float

    def message(self, what: str = "image") -> str:
        """A line for the user, e.g. ``"2 images ahead of yours, about 3 s"``."""
        if self.state == "done":
            return "done"
        if self.state == "running" or self.ahead == 0:
            return f"working on your {what}, about {max(1, round(self.estimate_s))} s"
        plural = f"{what}s" if self.ahead != 1 else what
        return f"{self.ahead} {plural} ahead of yours, about {max(1, round(self.estimate_s))} s"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


class WorkQueue:
    """A bounded first-come-first-served queue served by ``workers`` threads.

    Parameters
    ----------
    workers : int, default 1
        Jobs run at once.  With torch work, ``workers * threads`` should not exceed the cores.
    max_waiting : int, default 32
        Jobs that may wait (not counting running ones); :meth:`submit` raises :class:`QueueFull` beyond.
    threads : int or None
        torch intra-op threads for the whole process (None: leave torch's setting), set by the workers as
        they start, before their first job: torch is imported there, not in the thread that makes the queue
        (a server's start-up thread answers sooner).
    job_limit_s : float or None
        Seconds a job may run (None: no limit).  Past it the job's caller gets :class:`JobTimeout` and a
        new worker thread takes the place of the one stuck in it (a Python thread cannot be stopped: the
        stuck one ends by itself if its job ever returns, its result discarded).
    """

    def __init__(self, workers: int = 1, max_waiting: int = 32, threads: int | None = None,
                 job_limit_s: float | None = None):
        if workers < 1 or max_waiting < 1:
            raise ValueError(f"workers and max_waiting must be >= 1, got {workers} and {max_waiting}")
        if job_limit_s is not None and job_limit_s <= 0:
            raise ValueError(f"job_limit_s must be > 0, got {job_limit_s}")
        self.job_limit_s = job_limit_s
        self.given_up = 0  #: jobs given up for running past job_limit_s
        self.threads = threads
        self.workers = workers
        self.max_waiting = max_waiting
        self._waiting: deque[Job] = deque()
        self._background: deque[Job] = deque()  # served only when _waiting is empty
        self._running: dict[int, Job] = {}
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._mean_s = FIRST_GUESS_S
        self._closed = False
        self.completed = 0
        self.max_running_seen = 0
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        for _ in range(workers):
            self._start_worker()
        if job_limit_s is not None:
            threading.Thread(target=self._watch, name="colorcore-queue-watch", daemon=True).start()

    def _start_worker(self) -> None:
        thread = threading.Thread(target=self._serve, name=f"colorcore-queue-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    @classmethod
    def for_this_machine(cls) -> "WorkQueue":
        """The server's queue: ``$COLORCORE_WORKERS`` workers (default 1) sharing the cores for torch threads
        (``$COLORCORE_THREADS`` overrides, e.g. when several server processes share one machine)."""
        workers = _env_int(WORKERS_ENV, 1)
        threads = _env_int(THREADS_ENV, max(1, (os.cpu_count() or 1) // workers))
        return cls(workers=workers, max_waiting=_env_int(MAX_WAITING_ENV, 32), threads=threads,
                   job_limit_s=_env_int(JOB_LIMIT_ENV, 600))

    def submit(self, fn: Callable[..., Any], *args, **kwargs) -> Job:
        """Queue ``fn(*args, **kwargs)``; returns its :class:`Job` at once.

        Raises
        ------
        QueueFull
            If ``max_waiting`` jobs are already waiting.
        """
        return self.submit_many([(fn, args, kwargs)])[0]

    def submit_many(self, calls: Sequence[Call], background: bool = False) -> list[Job]:
        """Queue several calls ``(fn, args, kwargs)`` together, in order, next to each other; returns their jobs.

        One caller's jobs (a page's several checkpoints) then wait as one block: a job submitted
        by anybody later starts after all of them, so that caller is served first come first
        served as a whole instead of alternating with the others.  All or none are queued.
        ``background`` jobs (first come first served among themselves) start only when no other
        job waits: work nobody's result waits for.

        Raises
        ------
        QueueFull
            If fewer than ``len(calls)`` more jobs may wait in their lane (nothing is queued then).
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the queue has been shut down")
            lane = self._background if background else self._waiting
            if len(lane) + len(calls) > self.max_waiting:
                raise QueueFull(f"the server is busy: {len(lane)} {'checks' if background else 'images'} are "
                                "already waiting; try again in a moment")
            jobs = [Job(next(self._ids), fn, tuple(args), dict(kwargs)) for fn, args, kwargs in calls]
            lane.extend(jobs)
            self._lock.notify(len(jobs))
            return jobs

    def status(self, job: Job) -> JobStatus:
        """Where ``job`` stands now (see :class:`JobStatus`)."""
        with self._lock:
            if job.done:
                return JobStatus("done", 0, 0.0)
            if job.id in self._running:
                elapsed = time.monotonic() - (job.started or time.monotonic())
                return JobStatus("running", 0, max(0.0, self._mean_s - elapsed))
            in_background = any(other is job for other in self._background)
            ahead = (len(self._waiting) + sum(1 for other in self._background if other.id < job.id) if in_background
                     else sum(1 for other in self._waiting if other.id < job.id))
            ahead_total = ahead + len(self._running)
            rounds = ahead // self.workers + 1  # batches of `workers` jobs before and including this one
            return JobStatus("waiting", ahead_total, rounds * self._mean_s + (self._mean_s if self._running else 0.0))

    def run(self, fn: Callable[..., Any], *args, on_wait: Callable[[JobStatus], None] | None = None,
            poll_s: float = 0.25, **kwargs) -> Any:
        """Submit and wait for the result, calling ``on_wait(status)`` every ``poll_s`` while waiting."""
        job = self.submit(fn, *args, **kwargs)
        while not job.wait(poll_s if on_wait else None):
            on_wait(self.status(job))
        return job.result()

    def wait(self, job: Job, on_change: Callable[[str], None], what: str = "image", poll_s: float = 0.25) -> Any:
        """Wait for ``job``'s result; ``on_change(message)`` is called with :meth:`JobStatus.message` whenever that
        text changes (checked every ``poll_s``), not at every check: a waiting page's note is re-sent (and
        re-drawn by its browser) only when what it says changes, about once a second."""
        said = None
        while not job.wait(poll_s):
            message = self.status(job).message(what)
            if message != said:
                on_change(message)
                said = message
        return job.result()

    @property
    def waiting(self) -> int:
        """Jobs waiting now (not counting running ones)."""
        with self._lock:
            return len(self._waiting) + len(self._background)

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Stop the workers after the running jobs; waiting jobs fail with ``RuntimeError``."""
        with self._lock:
            self._closed = True
            while self._waiting or self._background:
                job = (self._waiting or self._background).popleft()
                job._error = RuntimeError("the server is shutting down")
                job._done.set()
            self._lock.notify_all()
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout)

    def _set_torch_threads(self) -> None:
        """Set torch's threads (:attr:`threads`) for the process; a failure is logged, never fatal to the worker.

        A worker that ended here would leave every job waiting forever; going on, it runs them, and those that
        need torch hand their own error to their callers.
        """
        try:
            import torch

            torch.set_num_threads(self.threads)
        except Exception:  # noqa: BLE001 - e.g. a broken torch install: the jobs report it
            logging.getLogger(__name__).exception("colorcore: the queue's worker could not set torch's threads")

    def _serve(self) -> None:
        if self.threads is not None:
            self._set_torch_threads()
        while True:
            with self._lock:
                while not self._waiting and not self._background and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = (self._waiting or self._background).popleft()
                job.started = time.monotonic()
                self._running[job.id] = job
                self.max_running_seen = max(self.max_running_seen, len(self._running))
            result, error = None, None
            try:
                result = job.fn(*job.args, **job.kwargs)
            except Exception as err:  # noqa: BLE001 - handed to the caller; the worker goes on
                error = err
            except BaseException as err:  # SystemExit, KeyboardInterrupt: re-raised as such, it would end the caller
                error = RuntimeError(f"the job ended with {type(err).__name__}: {err}")
                error.__cause__ = err
            with self._lock:
                if self._running.pop(job.id, None) is None:  # given up (_give_up): another worker serves now
                    return
                job._result, job._error, job.finished = result, error, time.monotonic()
                self._mean_s += DURATION_SMOOTHING * ((job.finished - job.started) - self._mean_s)
                self.completed += 1
                job._done.set()

    def _watch(self) -> None:
        """Give up the jobs running past :attr:`job_limit_s` (checked a few times a limit, at least once a second)."""
        every = min(1.0, self.job_limit_s / 4)
        while not self._stopped.wait(every):  # not self._lock.wait: a notify meant for a worker must reach one
            with self._lock:
                now = time.monotonic()
                for job in [j for j in self._running.values() if now - j.started > self.job_limit_s]:
                    self._give_up(job, now)

    def _give_up(self, job: Job, now: float) -> None:
        """Fail ``job`` with :class:`JobTimeout` and start a worker in its stuck worker's place (lock held)."""
        del self._running[job.id]
        job._error = JobTimeout(f"the job ran over the server's limit of {self.job_limit_s:g} s and was given up; "
                                "try again, with a smaller working size or image if it happens again")
        job.finished = now
        self.given_up += 1
        job._done.set()
        logging.getLogger(__name__).error("colorcore: gave up job %d (%s) after %.0f s; a new worker replaces its own",
                                          job.id, getattr(job.fn, "__name__", job.fn), now - job.started)
        self._start_worker()


class Turnstile:
    """First come, first served admission to a stretch of work: at most ``width`` callers inside at once,
    admitted strictly in the order they arrived.

    The server passes every upload's decoding through one (``Server.intake``): when eight people upload
    at the same moment, eight decodes sharing two cores would all finish late, and with them the first
    person's queued job; one at a time, the first upload is decoded at full speed and its job queued
    first, and the others follow in the order they came (the total work is the same).
    """

    def __init__(self, width: int = 1):
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        self.width = width
        self._cond = threading.Condition()
        self._issued = 0  # tickets handed out so far
        self._next = 0  # the lowest ticket not yet admitted
        self._inside = 0
        self.max_inside_seen = 0

    @classmethod
    def for_this_machine(cls) -> "Turnstile":
        """The server's turnstile: ``$COLORCORE_INTAKE`` callers inside at once (default 1)."""
        return cls(_env_int(INTAKE_ENV, 1))

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this caller's turn (after everyone who asked earlier has entered), hold it for the block."""
        with self._cond:
            ticket = self._issued
            self._issued += 1
            while ticket != self._next or self._inside >= self.width:
                self._cond.wait()
            self._next += 1
            self._inside += 1
            self.max_inside_seen = max(self.max_inside_seen, self._inside)
            self._cond.notify_all()  # with width > 1 the next ticket may enter too
        try:
            yield
        finally:
            with self._cond:
                self._inside -= 1
                self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """Callers waiting for their turn now."""
        with self._cond:
            return self._issued - self._next
