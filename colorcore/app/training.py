"""What the Train page computes: the training request and its command, time estimates, progress and results.

A request (:class:`TrainRequest`) becomes a ``python -m colorcore train`` command line
(:func:`train_args`: fine-tuned from a base checkpoint with ``--init-from``, or from scratch),
domain ``lab``, few threads; :func:`start` submits it as a job (:mod:`colorcore.app.jobs`), one
active job per session.  :func:`estimate_s` predicts a run's time from the speed measured on this
machine (the last finished job's, else :data:`DEFAULT_PIXELS_PER_S`); :func:`progress` reads a running
job's checkpoint (rewritten every epoch) for the live curves.  ``python -m colorcore.app.training``
submits, lists and cancels jobs from a shell, as the page does (``--help``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..checkpoints import GRAY_BASELINE, CheckpointError, read_metadata
from ..metadata import CheckpointMeta, model_spec, train_config
from ..config import FINETUNE_DEFAULTS
from ..units import DEFAULT_WORKING_SIZE
from . import jobs, quotas
from .jobs import TrainingJob
from .trainingdata import PreparedData

#: A run from scratch on the page: the study network with Huber loss on 128-px images, 64-px crops.
SCRATCH = {"model": "study_resnet18", "loss": "huber", "size": 128, "crop": 64, "epochs": 100}
#: Most epochs the page offers.
MAX_EPOCHS = 300
#: Training pixels per second (crop pixels x images/s) of a job here: a Train-page job (12 blood smears,
#: one thread, nice 10; docs/results.md) trained at a median 66.6 images/s of 64-px crops.  Replaced by
#: the last finished job's own measurement.
DEFAULT_PIXELS_PER_S = 66.6 * 64 * 64
#: Cost of a validated pixel (forward pass only) relative to a trained one, measured in that job (0.42).
VALIDATE_SHARE = 0.4
#: Cost of an evaluated pixel at working size (forward pass, full-resolution merge, metrics) relative to a
#: trained one, measured in that job (about 1).
EVALUATE_SHARE = 1.0
#: Seconds to start a job (imports, decoding the images).
STARTUP_S = 15.0


@dataclass
class TrainRequest:
    """What the user asked for: the data, the base checkpoint (None: from scratch), split sizes, epochs, name."""

    data: PreparedData
    base: str | None
    n_train: int
    n_val: int
    n_test: int
    epochs: int
    name: str

    def validate(self) -> None:
        """Raise ``ValueError`` for sizes the data cannot fill or epochs out of range."""
        for label, value in (("training", self.n_train), ("validation", self.n_val), ("test", self.n_test)):
            if value < 1:
                raise ValueError(f"at least 1 {label} image is needed, got {value}")
        if self.n_train + self.n_val + self.n_test > self.data.n_images:
            raise ValueError(f"{self.n_train} + {self.n_val} + {self.n_test} images asked for, but "
                             f"{self.data.source} has {self.data.n_images}")
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be between 1 and {MAX_EPOCHS}, got {self.epochs}")


def base_choices(metas: dict) -> list[str]:
    """Catalog checkpoints a run can start from (trainable models; not the gray baseline)."""
    out = []
    for name, meta in metas.items():
        try:
            if model_spec(meta).trainable:
                out.append(name)
        except ValueError:  # a model this version does not know
            continue
    return out


def settings(base_meta: CheckpointMeta | None) -> dict:
    """``size``, ``crop`` and default ``epochs`` of a run from ``base_meta`` (None: from scratch)."""
    if base_meta is None:
        return {k: SCRATCH[k] for k in ("size", "crop", "epochs")}
    recorded = train_config(base_meta)
    size = int(recorded.get("size", SCRATCH["size"]))
    return {"size": size, "crop": int(recorded.get("crop") or size), "epochs": FINETUNE_DEFAULTS["epochs"]}


def train_args(req: TrainRequest, name: str, out: str) -> list[str]:
    """The ``python -m colorcore train`` arguments of ``req`` writing checkpoint ``name`` to ``out``."""
    what = f"fine-tuned from {req.base}" if req.base else "trained from scratch"
    args = ["--data", req.data.folder, "--out", out, "--name", name, "--domain", "lab",
            "--description", f"{what} on {req.n_train} images of {req.data.source} (Train page)",
            "--train-images", str(req.n_train), "--val-images", str(req.n_val), "--test-images", str(req.n_test),
            "--epochs", str(req.epochs), "--seed", "0", "--val-every", "1", "--threads", str(jobs.train_threads())]
    if req.base:
        return args + ["--init-from", req.base]
    return args + [f"--{k}={SCRATCH[k]}" for k in ("model", "loss", "size", "crop")]


def measured_pixels_per_s() -> tuple[float, str]:
    """Training pixels per second on this machine and where the number comes from."""
    for job in reversed(jobs.list_jobs()):
        if job.state == "done" and job.pixels_per_s:
            return job.pixels_per_s, f"measured by the last finished job ({job.name})"
    return DEFAULT_PIXELS_PER_S, "measured on this machine with one thread"


def estimate_s(n_train: int, n_val: int, n_test: int, epochs: int, size: int, crop: int, pixels_per_s: float,
               n_compared: int = 3) -> float:
    """Seconds a job takes: start, ``epochs`` of training on ``crop``-px crops and validation at ``size`` px,
    then evaluating ``n_compared`` checkpoints on the test images at the default working size."""
    train = epochs * n_train * crop ** 2
    validate = epochs * n_val * size ** 2 * VALIDATE_SHARE
    evaluate = n_test * n_compared * DEFAULT_WORKING_SIZE ** 2 * EVALUATE_SHARE
    return STARTUP_S + (train + validate + evaluate) / pixels_per_s


def request_estimate_s(req: TrainRequest, base_meta: CheckpointMeta | None) -> float:
    """:func:`estimate_s` of a request at the measured speed."""
    shape = settings(base_meta)
    return estimate_s(req.n_train, req.n_val, req.n_test, req.epochs, shape["size"], shape["crop"],
                      measured_pixels_per_s()[0], 3 if req.base else 2)


def estimate_line(req: TrainRequest, base_meta: CheckpointMeta | None) -> str:
    """How long ``req`` will take here, and how long the jobs ahead of it, as a sentence."""
    pixels, how = measured_pixels_per_s()
    text = (f"About {_minutes(request_estimate_s(req, base_meta))} at this machine's speed "
            f"({pixels / 64 ** 2:.0f} training images/s at 64 px, {how})")
    ahead = jobs.queue()
    if ahead:
        wait = sum(remaining_s(j, job_metadata(j)) for j in ahead)
        text += f", after the {len(ahead)} job(s) in the queue (about {_minutes(wait)})"
    return text + "."


def active_job_of(owner: str) -> TrainingJob | None:
    """The queued or running job of session ``owner``, if any."""
    return next((j for j in jobs.queue() if j.owner == owner), None)


def check_config(req: TrainRequest) -> None:
    """Build the :class:`colorcore.config.TrainConfig` the job's ``colorcore train`` will build from
    :func:`train_args` (the base checkpoint read and checked for fine-tuning), so a setting it would refuse is
    reported when the user asks, not after the job has waited its turn in the queue.

    Raises
    ------
    ValueError
        As :func:`colorcore.finetune.config_from_options` does (a :class:`CheckpointError` for a base
        checkpoint that cannot be read).
    """
    from ..config import parse_options
    from ..finetune import config_from_options

    config_from_options(parse_options(train_args(req, jobs.checkpoint_name(req.name), "model.safetensors")))


def start(req: TrainRequest, owner: str, base_meta: CheckpointMeta | None) -> TrainingJob:
    """Submit ``req`` as a job of session ``owner``.

    Raises
    ------
    ValueError
        For impossible sizes (:meth:`TrainRequest.validate`), a configuration the train command refuses
        (:func:`check_config`), or an upload whose images are gone (replaced by a later upload of the session,
        or removed as a day-old draft).
    colorcore.app.quotas.QuotaExceeded
        If the checkpoint would pass a quota (:func:`colorcore.app.quotas.check_new_checkpoint`).
    RuntimeError
        If the session already has an active job, or the queue is full.
    """
    req.validate()
    check_config(req)
    mine = active_job_of(owner)
    if mine is not None:
        raise RuntimeError(f"your training job {mine.name} is {mine.state}; cancel it or wait until it ends")
    if not Path(req.data.folder).is_dir():
        raise ValueError(f"the images of {req.data.source} are no longer on the server; upload it again")
    quotas.check_new_checkpoint(owner)
    job_id, folder = (req.data.job_id, jobs.jobs_dir() / req.data.job_id) if req.data.job_id else jobs.new_folder()
    name = jobs.reserve_name(req.name)
    job = TrainingJob(id=job_id, name=name, folder=str(folder), data=req.data.folder, source=req.data.source,
              base=req.base, epochs=req.epochs, n_train=req.n_train, n_val=req.n_val, n_test=req.n_test,
              estimate_s=request_estimate_s(req, base_meta), owner=owner)
    job.args = train_args(req, name, str(job.out))
    return jobs.submit(job)


@dataclass
class Progress:
    """Where a job stands: ``meta`` (its checkpoint's metadata, None before the first epoch), a fraction done
    and a line for the user."""

    meta: CheckpointMeta | None
    fraction: float
    message: str


def job_metadata(job: TrainingJob) -> dict | None:
    """The metadata of the job's checkpoint: the one training, or the published one; None if there is none."""
    for source, catalog_only in ((job.out, False), (job.name, True)):
        try:
            return read_metadata(source, catalog_only=catalog_only)
        except CheckpointError:
            continue
    return None


def _minutes(seconds: float) -> str:
    return f"{max(1, round(seconds / 60))} min" if seconds >= 60 else f"{max(1, round(seconds))} s"


def remaining_s(job: TrainingJob, meta: CheckpointMeta | None = None) -> float:
    """Expected seconds until ``job`` ends: its estimate, or from its epochs so far once it runs."""
    if job.state == "queued":
        return job.estimate_s
    elapsed = time.time() - (job.started or time.time())
    history = (meta or {}).get("history") or []
    if job.state == "running" and history:
        per_epoch = statistics.mean(h["seconds"] for h in history[-5:])
        return per_epoch * (job.epochs - len(history)) + STARTUP_S
    return max(0.0, job.estimate_s - elapsed) if job.active else 0.0


def progress(job: TrainingJob) -> Progress:
    """:class:`Progress` of ``job`` now."""
    meta = job_metadata(job)
    done = len((meta or {}).get("history") or [])
    if job.state == "queued":
        ahead = jobs.ahead_of(job)
        wait = sum(remaining_s(j) for j in ahead)
        text = (f"waiting for {len(ahead)} job(s) ahead of it; starts in about {_minutes(wait)}" if ahead
                else "starting")
        return Progress(meta, 0.0, text)
    if job.state == "running":
        return Progress(meta, done / job.epochs, f"epoch {done} of {job.epochs}; about "
                        f"{_minutes(remaining_s(job, meta))} left")
    if job.state == "evaluating":
        return Progress(meta, 1.0, f"testing {job.name} on the {job.n_test} held-out images")
    if job.state == "done":
        took = (job.finished or 0) - (job.started or job.created)
        return Progress(meta, 1.0, f"done in {_minutes(took)}: {job.name} is in the checkpoint pickers "
                        "under the domain lab")
    return Progress(meta, 0.0, f"{job.state}" + (f": {job.error}" if job.error else ""))


def result_rows(job: TrainingJob) -> list[dict]:
    """Test metrics of a finished job's checkpoint, its base and gray on the same held-out images."""
    roles = {job.name: "this run", job.base: "base checkpoint", GRAY_BASELINE: "baseline (no colour)"}
    return [{"checkpoint": name, "role": roles.get(name, ""), **metrics} for name, metrics in job.metrics.items()]


def queue_rows(owner: str, limit: int = 20) -> list[dict]:
    """The recent jobs of session ``owner``, newest first, as table rows (no ids; other sessions' jobs,
    their names and data, are not shown: ``python -m colorcore jobs list`` shows the administrator all)."""
    rows = []
    for job in reversed([j for j in jobs.list_jobs() if j.owner == owner][-limit:]):
        rows.append({"checkpoint": job.name, "state": job.state, "data": job.source, "base": job.base or "(none)",
                     "train images": job.n_train, "epochs": job.epochs,
                     "submitted": time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created))})
    return rows


# ---------------------------------------------------------------- command line
def _submit(args) -> int:
    from .trainingdata import default_split, prepare_folder, prepare_zip

    owner = f"cli-{os.getpid()}"
    if args.zip:
        data = prepare_zip(Path(args.zip).read_bytes(), Path(args.zip).name, owner=owner)
    else:
        folder = Path(args.folder).resolve()
        data = prepare_folder(folder.parent, folder.name)
    base_meta = read_metadata(args.base, catalog_only=True) if args.base else None
    n_train, n_val, n_test = default_split(data.n_images)
    req = TrainRequest(data, args.base, args.train_images or n_train, args.val_images or n_val,
                       args.test_images or n_test, args.epochs or settings(base_meta)["epochs"],
                       args.name or f"{Path(data.source).stem}-{args.base or 'scratch'}")
    job = start(req, owner, base_meta)
    print(f"job {job.id}: {job.name}, {job.state}, about {_minutes(job.estimate_s)} "
          f"(log {job.log}; cancel: python -m colorcore.app.training cancel {job.id})")
    return 0


def _list(_args) -> int:
    for job in jobs.list_jobs():
        print(f"{job.id}  {job.state:<10} {job.name:<30} {progress(job).message}")
    return 0


def _cancel(args) -> int:
    job = jobs.find(args.id)
    if job is None:
        raise ValueError(f"no training job {args.id!r}")
    jobs.cancel(job)
    print(f"asked job {job.id} ({job.name}) to stop")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m colorcore.app.training submit|list|cancel``: the Train page's jobs from a shell."""
    parser = argparse.ArgumentParser(prog="python -m colorcore.app.training",
                                     description="Start, list and cancel the explorer's training jobs.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("submit", help="queue a training job as the Train page does (lower priority, few threads)")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--zip", help="ZIP of colour images (extracted and checked as an upload)")
    given.add_argument("--folder", help="folder of colour images (used as it is)")
    p.add_argument("--base", help="catalog checkpoint to fine-tune (default: train from scratch)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--train-images", type=int)
    p.add_argument("--val-images", type=int)
    p.add_argument("--test-images", type=int)
    p.add_argument("--name", help="checkpoint name (sanitised; made unique)")
    p.set_defaults(func=_submit)
    sub.add_parser("list", help="every job with its state").set_defaults(func=_list)
    p = sub.add_parser("cancel", help="stop a job (its partial checkpoint is removed)")
    p.add_argument("id")
    p.set_defaults(func=_cancel)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
