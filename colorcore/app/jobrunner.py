"""The process that runs one training job of :mod:`colorcore.app.jobs`: ``python -m colorcore.app.jobrunner FOLDER``.

It lowers its own OS priority (``nice``; the training child inherits it), waits for its turn (jobs in
the order they were submitted, one at a time per jobs folder: a lock file), then runs
``python -m colorcore train`` as a child with few threads (``--threads`` and ``OMP_NUM_THREADS``)
and stops it when the job's ``cancel`` file appears.  A finished checkpoint is evaluated on the job's
held-out test images next to its base and gray (:func:`colorcore.evaluate.evaluate`, what
``colorcore evaluate`` runs), the metrics are stored in it and it is moved into the user catalog
under the job's name.  Cancelled or failed, the job removes its partial checkpoint.

Every way a runner ends leaves an ended job: any exception (a full disk, a bug) fails the job with
its reason, its partial checkpoint and uploaded images removed (:func:`run`), SIGTERM does the same,
and the training child dies with its runner (Linux's parent-death signal), so a runner killed
outright leaves nothing that still writes; whoever reads that job next finds its lock free and ends
it failed (:func:`colorcore.app.jobs.refresh`).
"""
from __future__ import annotations

import ctypes
import dataclasses
import errno
import fcntl
import os
import signal
import statistics
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .. import paths
from . import jobs
from .jobs import TrainingJob

if TYPE_CHECKING:  # pragma: no cover
    from ..metadata import CheckpointMeta

#: Seconds between looks at the queue, the cancel file and the training process.
POLL_S = 0.5
#: Seconds a cancelled training process gets to stop before it is killed.
STOP_GRACE_S = 10
#: Lines of the log shown when training fails.
ERROR_LINES = 3
#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


@contextmanager
def turn(job: TrainingJob) -> Iterator[bool]:
    """Wait until ``job`` is first in the queue and holds the folder's lock; yields False if cancelled first."""
    with open(jobs.jobs_dir() / ".lock", "a+b") as lock:
        while True:
            if job.cancel_flag.exists():
                yield False
                return
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(POLL_S)
                continue
            if not jobs.ahead_of(job):
                break
            fcntl.flock(lock, fcntl.LOCK_UN)  # an earlier job's runner is still waiting: let it go first
            time.sleep(POLL_S)
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _stop(child: subprocess.Popen) -> None:
    child.terminate()
    try:
        child.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _dies_with_parent():
    """A ``preexec_fn`` that has Linux kill the child when its parent (the runner) dies; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl, parent = ctypes.CDLL(None, use_errno=True).prctl, os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the runner died before the signal was armed
            os._exit(1)
    return arm


def train_child(job: TrainingJob) -> int | None:
    """Run ``python -m colorcore train`` for ``job``; its exit status, or None if the job was cancelled.

    The child is stopped if this process is interrupted, and dies with it if it is killed.
    """
    env = {**os.environ, "OMP_NUM_THREADS": str(jobs.train_threads()), "MKL_NUM_THREADS": str(jobs.train_threads())}
    with open(job.log, "ab") as log:
        child = subprocess.Popen([sys.executable, "-m", "colorcore", "train", *job.args], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, env=env, cwd=job.path,
                                 preexec_fn=_dies_with_parent())
    try:
        while child.poll() is None:
            if job.cancel_flag.exists():
                return None
            time.sleep(POLL_S)
        return child.returncode
    finally:
        if child.poll() is None:
            _stop(child)


def _last_lines(path: Path, n: int = ERROR_LINES) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return " / ".join(lines[-n:])


def measured_speed(meta: CheckpointMeta) -> float | None:
    """Training pixels per second of a run: median images/s of its epochs times the crop's pixels."""
    from ..metadata import history, train_config

    epochs = history(meta)
    if not epochs:
        return None
    config = train_config(meta)
    crop = config.get("crop") or config.get("size")
    return statistics.median(h["images_per_s"] for h in epochs) * crop ** 2


def evaluate_job(job: TrainingJob) -> dict:
    """Test metrics of the job's checkpoint, its base and gray on its held-out images; stored in the checkpoint.

    Returns
    -------
    dict
        ``{name: metrics}`` with the job's name for the new checkpoint.
    """
    import torch

    from ..checkpoints import GRAY_BASELINE, load_checkpoint, store_metrics, update_metadata
    from ..metadata import split_files
    from ..evaluate import evaluate

    torch.set_num_threads(jobs.train_threads())
    new = dataclasses.replace(load_checkpoint(job.out), name=job.name)
    job.pixels_per_s = measured_speed(new.meta)
    others = ([load_checkpoint(job.base, catalog_only=True)] if job.base else []) + [load_checkpoint(GRAY_BASELINE)]
    results, _ = evaluate(job.data, split_files(new.meta, "test") or [], [new, *others])
    store_metrics(job.out, "test", {**results[job.name], "data": job.data})
    update_metadata(job.out, reference_metrics={c.name: results[c.name] for c in others})
    return results


def publish(job: TrainingJob) -> str:
    """Move the job's checkpoint into the user catalog under a name nothing else has; returns the name.

    The name was reserved when the job was submitted; a shipped checkpoint of that name that
    arrived since gets the job's a ``-2`` (``-3``...) suffix.
    """
    from ..checkpoints import catalog_names, update_metadata

    name = jobs.reserve_name(job.name) if job.name in catalog_names() else job.name
    if name != job.name:
        update_metadata(job.out, name=name)
    target = paths.user_catalog_dir() / f"{name}.safetensors"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(job.out, target)
    return name


def describe(err: BaseException) -> str:
    """Why a job failed, in words for the user: a full disk says so and what to do."""
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        where = f" ({err.filename})" if err.filename else ""
        return (f"the server's disk is full{where}; ask its administrator to free space (python -m colorcore "
                "jobs clean --older-than DAYS), then start the job again")
    if isinstance(err, SystemExit):
        return "the training process was stopped (a signal); start the job again"
    return f"{type(err).__name__}: {err}"


def _terminate(signum, _frame) -> None:
    """SIGTERM handler: end like an exception, so the job is failed and cleaned up (:func:`run`)."""
    raise SystemExit(128 + signum)


def run(job: TrainingJob) -> int:
    """Run ``job`` to its end (done, failed or cancelled); returns 0, or 1 if it failed.

    Whatever goes wrong, the job ends: an exception (or SIGTERM, made one by :func:`main`) fails it with
    the reason (:func:`describe`; the traceback goes to its log), its partial checkpoint and images removed.
    """
    try:
        return _run(job)
    except BaseException as err:  # noqa: BLE001 - every way out must leave an ended job
        phase = "evaluating the checkpoint" if job.state == "evaluating" else "training"
        try:
            with open(job.log, "a") as log:
                traceback.print_exc(file=log)
            jobs.finish(job, "failed", f"{phase} failed: {describe(err)}")
        except OSError:  # the job's files cannot be written (a full disk): its next reader ends it
            traceback.print_exc()
        return 1


def _run(job: TrainingJob) -> int:
    job.pid = os.getpid()
    jobs.save(job)
    with turn(job) as mine:
        if not mine:
            jobs.finish(job, "cancelled")
            return 0
        job.state, job.started = "running", time.time()
        jobs.save(job)
        status = train_child(job)
        if status is None:
            jobs.finish(job, "cancelled")
            return 0
        if status != 0:
            jobs.finish(job, "failed", _last_lines(job.log) or f"training exited with status {status}")
            return 1
        job.state = "evaluating"
        jobs.save(job)
        results = evaluate_job(job)
        name = publish(job)
        job.metrics = {(name if key == job.name else key): value for key, value in results.items()}
        job.name = name
        jobs.finish(job, "done")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m colorcore.app.jobrunner FOLDER``: lower the priority, then :func:`run` the job in FOLDER."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m colorcore.app.jobrunner JOB_FOLDER", file=sys.stderr)
        return 2
    job = jobs.load(args[0])
    lock = jobs.hold_runner_lock(job)  # held until this process ends, however it ends
    signal.signal(signal.SIGTERM, _terminate)
    os.nice(jobs.nice_increment())
    with lock:
        return run(job)


if __name__ == "__main__":
    sys.exit(main())
