"""Training jobs of the explorer: a folder each on disk, run one at a time by a separate, lower-priority process.

A job lives in ``<user checkpoints>/.jobs/<id>/`` (:func:`jobs_dir`): ``job.json`` (its :class:`TrainingJob`),
``data/`` (the images of an uploaded ZIP), ``model.safetensors`` (the checkpoint while it trains),
``train.log``, ``runner.lock`` (held by its runner while it lives) and, when someone asks to stop
it, a ``cancel`` file; before it is submitted the folder is a draft whose ``owner`` file names the
session that uploaded it.  Its state moves
``queued -> running -> evaluating -> done`` (or ``failed``, ``cancelled``).  :func:`submit` writes the
job and starts its runner (:mod:`colorcore.app.jobrunner`) as a process of its own session, so the
job goes on when the browser closes; runners take their turn in the order jobs were submitted, one
at a time for the folder (a lock file), so one server, or several sharing the folder, never trains
two at once.  Only the runner changes a job's file once submitted, pages read it and ask to cancel;
but whoever reads an active job whose runner is gone (killed, crashed, the machine restarted) ends
it as the runner would have, failed (:func:`refresh`): no job looks alive forever.  The checkpoint
reaches the user catalog (:func:`colorcore.paths.user_catalog_dir`) only when the job is done: a
cancelled or failed job leaves nothing there.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .. import paths
from ..checkpoints import GRAY_BASELINE, SUFFIX, catalog_names
from ..io import atomic_write_bytes

#: Folder of the jobs inside the user-checkpoint folder (hidden: the catalog lists only ``*.safetensors``).
JOBS_FOLDER = ".jobs"
#: States of a job that has not ended.
ACTIVE = ("queued", "running", "evaluating")
#: File of a draft folder naming the session that uploaded it.
OWNER_FILE = "owner"
#: File of a job's folder its runner holds locked while it lives (the kernel lets go when it dies, however it dies).
RUNNER_LOCK = "runner.lock"
#: Why a job whose runner is gone failed.
RUNNER_GONE = "the training process ended unexpectedly (killed, or the server restarted); start the job again"
#: Seconds a job stored without a runner's pid (being submitted) counts as alive.
SUBMIT_GRACE_S = 60
#: Draft folders (an upload never submitted) older than this are removed (seconds).
DRAFT_MAX_AGE_S = 24 * 3600
#: Environment variable: niceness the runner adds to its priority (default 10; the server keeps 0).
NICE_ENV = "COLORCORE_TRAIN_NICE"
#: Environment variable: torch threads of a training job (default 1, leaving the other cores to the server).
THREADS_ENV = "COLORCORE_TRAIN_THREADS"
#: Environment variable: jobs that may wait in the queue before new ones are refused (default 4).
MAX_QUEUED_ENV = "COLORCORE_TRAIN_MAX_QUEUED"


def nice_increment() -> int:
    """How much lower than the server's a training job's OS priority is (``$COLORCORE_TRAIN_NICE``, default 10)."""
    return paths.env_int(NICE_ENV, 10, 0)


def train_threads() -> int:
    """torch threads of a training job (``$COLORCORE_TRAIN_THREADS``, default 1)."""
    return paths.env_int(THREADS_ENV, 1, 1)


def max_queued() -> int:
    """Jobs that may wait at once (``$COLORCORE_TRAIN_MAX_QUEUED``, default 4)."""
    return paths.env_int(MAX_QUEUED_ENV, 4, 1)


@dataclass
class TrainingJob:
    """One training job as stored in its ``job.json``.

    Attributes
    ----------
    id : str
        Random hex; knowing it is what lets a page watch and cancel the job.
    name : str
        The checkpoint it makes (sanitised, unique when submitted).
    folder : str
        The job's folder.
    data : str
        Folder of training images (the job's ``data/`` or one under the data root).
    source : str
        What the user gave: the ZIP's name or the data folder.
    base : str or None
        Checkpoint fine-tuned from; None when trained from scratch.
    args : list of str
        ``python -m colorcore train`` arguments.
    epochs, n_train, n_val, n_test : int
    estimate_s : float
        Expected run time (training and evaluation) when submitted.
    owner : str
        Token of the session that submitted it (one active job per session).
    state : str
        ``queued``, ``running``, ``evaluating``, ``done``, ``failed`` or ``cancelled``.
    created, started, finished : float or None
        ``time.time()`` stamps.
    pid : int or None
        The runner process.
    error : str or None
        Why it failed.
    metrics : dict
        Test metrics when done: ``{checkpoint name: metrics}`` (the new one, its base, ``gray``).
    pixels_per_s : float or None
        Training speed it measured (crop pixels x images per second), for later estimates.
    """

    id: str
    name: str
    folder: str
    data: str
    source: str
    base: str | None
    args: list = field(default_factory=list)
    epochs: int = 0
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0
    estimate_s: float = 0.0
    owner: str = ""
    state: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    error: str | None = None
    metrics: dict = field(default_factory=dict)
    pixels_per_s: float | None = None

    @property
    def path(self) -> Path:
        return Path(self.folder)

    @property
    def out(self) -> Path:
        """The checkpoint file while the job trains."""
        return self.path / "model.safetensors"

    @property
    def log(self) -> Path:
        return self.path / "train.log"

    @property
    def cancel_flag(self) -> Path:
        return self.path / "cancel"

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def jobs_dir() -> Path:
    """Folder of the training jobs: ``<user checkpoints>/.jobs``."""
    return paths.user_catalog_dir() / JOBS_FOLDER


def new_folder(owner: str = "") -> tuple[str, Path]:
    """A new job id and its (created) folder, a draft of session ``owner`` until :func:`submit` writes its ``job.json``."""
    job_id = secrets.token_hex(8)
    folder = jobs_dir() / job_id
    folder.mkdir(parents=True)
    (folder / OWNER_FILE).write_text(owner)
    return job_id, folder


def folder_owner(folder: Path) -> str:
    """The session a job folder belongs to: its job's owner, a draft's ``owner`` file; ``""`` if neither says."""
    try:
        return load(folder).owner
    except ValueError:
        pass
    try:
        return (folder / OWNER_FILE).read_text()
    except OSError:
        return ""


def job_folders() -> list[Path]:
    """Every folder under :func:`jobs_dir`: submitted jobs and drafts."""
    folder = jobs_dir()
    return sorted(sub for sub in folder.iterdir() if sub.is_dir()) if folder.is_dir() else []


def is_draft(folder: Path) -> bool:
    """Whether ``folder`` holds an upload never submitted as a job (no ``job.json``)."""
    return not (folder / "job.json").exists()


def remove_drafts(owner: str) -> None:
    """Remove the drafts of session ``owner``: its new upload replaces them (the page keeps one)."""
    for sub in job_folders():
        if is_draft(sub) and folder_owner(sub) == owner:
            shutil.rmtree(sub, ignore_errors=True)


def save(job: TrainingJob) -> None:
    """Write ``job.json`` atomically."""
    atomic_write_bytes(job.path / "job.json", (json.dumps(dataclasses.asdict(job), indent=1) + "\n").encode())


def load(folder: str | os.PathLike) -> TrainingJob:
    """The job stored in ``folder``; ``ValueError`` if it has none or it cannot be read."""
    try:
        values = json.loads((Path(folder) / "job.json").read_text())
        return TrainingJob(**values)
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(f"{folder}: not a training job ({err})") from None


def find(job_id: str) -> TrainingJob | None:
    """The job with id ``job_id`` (16 hex digits), or None."""
    if not (len(job_id) == 16 and all(c in "0123456789abcdef" for c in job_id)):
        return None
    try:
        return refresh(load(jobs_dir() / job_id))
    except ValueError:
        return None


#: Runner processes this process started, by pid: polled, so an ended one is reaped (not taken for alive).
_children: dict[int, subprocess.Popen] = {}


def _alive(pid: int) -> bool:
    if pid in _children:
        return _children[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def hold_runner_lock(job: TrainingJob) -> BinaryIO:
    """Lock ``job``'s :data:`RUNNER_LOCK` for as long as the returned file stays open: the runner's life.

    The file is locked under a name of its own first and then renamed, so no reader ever finds it
    unlocked while the runner lives.
    """
    claimed = job.path / f".{RUNNER_LOCK}.{os.getpid()}"
    handle = open(claimed, "wb")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.replace(claimed, job.path / RUNNER_LOCK)
    return handle


def runner_alive(job: TrainingJob) -> bool:
    """Whether ``job``'s runner process lives: it holds :data:`RUNNER_LOCK` (so a pid reused by another
    process does not count); before the runner has taken the lock, whether its pid is alive (a job
    being submitted has none yet: alive for :data:`SUBMIT_GRACE_S`)."""
    try:
        handle = open(job.path / RUNNER_LOCK, "rb")
    except FileNotFoundError:
        return _alive(job.pid) if job.pid else time.time() - job.created < SUBMIT_GRACE_S
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def refresh(job: TrainingJob) -> TrainingJob:
    """``job`` as it stands.

    An active job whose runner is gone is ended here as its runner would have: failed with
    :data:`RUNNER_GONE`, its partial checkpoint and uploaded images removed (:func:`finish`), and
    written, so every reader agrees.  Should writing fail (a full disk), it is reported failed all the same.
    """
    if not job.active or runner_alive(job):
        return job
    try:
        job = load(job.path)  # the runner's last word, written before it let go of its lock
    except ValueError:
        return dataclasses.replace(job, state="failed", error=RUNNER_GONE)
    if job.active:
        try:
            finish(job, "failed", RUNNER_GONE)
        except OSError:
            return dataclasses.replace(job, state="failed", error=RUNNER_GONE)
    return job


def list_jobs() -> list[TrainingJob]:
    """Every submitted job, oldest first (drafts, folders without a job, are skipped)."""
    jobs = []
    for sub in job_folders():
        if not is_draft(sub):
            try:
                jobs.append(refresh(load(sub)))
            except ValueError:
                continue
    return sorted(jobs, key=lambda j: (j.created, j.id))


def queue() -> list[TrainingJob]:
    """Active jobs in the order they run (the running one first)."""
    return [j for j in list_jobs() if j.active]


def ahead_of(job: TrainingJob) -> list[TrainingJob]:
    """Active jobs that run before ``job``."""
    return [j for j in queue() if (j.created, j.id) < (job.created, job.id)]


def prune_drafts(max_age_s: float = DRAFT_MAX_AGE_S) -> None:
    """Remove job folders never submitted (no ``job.json``) older than ``max_age_s``."""
    for sub in job_folders():
        if is_draft(sub) and time.time() - sub.stat().st_mtime > max_age_s:
            shutil.rmtree(sub, ignore_errors=True)


def checkpoint_name(text: str, default: str = "lab-model") -> str:
    """A catalog name made from what a user typed: lower case letters, digits, ``-``, ``_`` and ``.``,
    starting with a letter or digit, at most 48 characters (``default`` if nothing is left)."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", str(text).strip().lower().removesuffix(SUFFIX)).strip("-._")
    return name[:48].rstrip("-._") or default


def reserve_name(wanted: str) -> str:
    """:func:`checkpoint_name` of ``wanted``, with ``-2``, ``-3``... appended if a catalog checkpoint (shipped
    or user), the gray baseline or an active job has it: a job never overwrites a checkpoint."""
    base = checkpoint_name(wanted)
    taken = set(catalog_names()) | {GRAY_BASELINE} | {j.name for j in queue()}
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    return name


def runner_command(job: TrainingJob) -> list[str]:
    """The command that runs ``job``: ``python -m colorcore.app.jobrunner FOLDER``."""
    return [sys.executable, "-m", "colorcore.app.jobrunner", str(job.path)]


def submit(job: TrainingJob) -> TrainingJob:
    """Store ``job`` as queued and start its runner in a session of its own (it outlives the page).

    Raises
    ------
    RuntimeError
        If :func:`max_queued` jobs are already waiting.
    """
    waiting = [j for j in queue() if j.state == "queued"]
    if len(waiting) >= max_queued():
        raise RuntimeError(f"the training queue is full ({len(waiting)} jobs waiting); try again later")
    job.state, job.created = "queued", time.time()
    save(job)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.REPO_ROOT),
                                                                      os.environ.get("PYTHONPATH")]))}
    with open(job.log, "ab") as log:
        proc = subprocess.Popen(runner_command(job), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, cwd=job.path)
    _children[proc.pid] = proc
    job.pid = proc.pid
    save(job)  # the runner rewrites it with the same pid when it starts
    return job


def cancel(job: TrainingJob) -> None:
    """Ask ``job``'s runner to stop it (it removes the partial checkpoint); a job whose runner is gone ends here."""
    if not job.active:
        return
    job.cancel_flag.touch()
    if not runner_alive(job):
        finish(job, "cancelled")


def remove_outputs(job: TrainingJob) -> None:
    """Delete what the job's training wrote in its folder: checkpoint, resume state, temporary files."""
    for pattern in ("*.safetensors*", ".*.tmp"):
        for path in job.path.glob(pattern):
            path.unlink(missing_ok=True)


def finish(job: TrainingJob, state: str, error: str | None = None) -> None:
    """End ``job`` in ``state``: its uploaded images are deleted, and a job that did not finish
    leaves no half-written checkpoint."""
    remove_outputs(job)
    if Path(job.data).resolve().parent == job.path.resolve():  # a ZIP's images, not a data-root folder
        shutil.rmtree(job.data, ignore_errors=True)
    job.state, job.error, job.finished = state, error, time.time()
    save(job)
