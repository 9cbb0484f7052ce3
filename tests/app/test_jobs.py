"""colorcore.app.jobs and jobrunner: jobs run in their own process, one at a time, and publish or leave nothing."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import colorcore.io.write as write
import full_disk
from colorcore.app import jobrunner, jobs, training, trainingdata
from colorcore.checkpoints import catalog_names, read_metadata
from helpers import color_png, color_zip, zip_bytes

#: Seconds a tiny job may take here (process start, torch import, a few epochs, evaluation).
JOB_TIMEOUT_S = 240


@pytest.fixture()
def user_dir(tmp_path, monkeypatch, catalog_env):
    folder = tmp_path / "user"
    monkeypatch.setenv("COLORCORE_USER_CHECKPOINTS", str(folder))
    return folder


def wait_for(job_id: str, test, timeout: float = JOB_TIMEOUT_S) -> jobs.TrainingJob:
    """Poll the job until ``test(job)`` holds; fails with the job's log when it does not in time."""
    end = time.time() + timeout
    while time.time() < end:
        job = jobs.find(job_id)
        if test(job):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} stuck in {job.state}: {job.log.read_text() if job.log.exists() else ''}")


def _request(prepared, base="places12-mse", epochs=2, name="stain") -> training.TrainRequest:
    return training.TrainRequest(prepared, base, 8, 2, 2, epochs, name)


def test_a_job_trains_in_its_own_process_and_publishes_a_tested_lab_checkpoint(user_dir, color_folder):
    prepared = trainingdata.prepare_folder(color_folder, "a")
    job = training.start(_request(prepared), "owner-a", read_metadata("places12-mse"))
    assert job.state == "queued" and job.pid
    job = wait_for(job.id, lambda j: not j.active)
    assert job.state == "done", job.error
    assert job.name == "stain" and "stain" in catalog_names()
    meta = read_metadata("stain", catalog_only=True)
    assert meta["domain"] == "lab" and meta["parent"]["name"] == "places12-mse" and meta["complete"]
    assert meta["train_config"]["threads"] == 1 and meta["runtime"]["threads"] == 1
    assert set(job.metrics) == {"stain", "places12-mse", "gray"}
    assert meta["metrics"]["test"]["ab_rmse"] == pytest.approx(job.metrics["stain"]["ab_rmse"])
    assert set(meta["reference_metrics"]) == {"places12-mse", "gray"}
    assert job.metrics["gray"]["n_images"] == job.metrics["stain"]["n_images"] == 2  # the same held-out images
    assert job.pixels_per_s > 0 and training.measured_pixels_per_s()[0] == job.pixels_per_s
    assert not list(job.path.glob("*.safetensors*"))  # moved, not copied
    assert training.progress(job).message.startswith("done in")
    assert [r["role"] for r in training.result_rows(job)] == ["this run", "base checkpoint", "baseline (no colour)"]


def test_a_configuration_the_train_command_refuses_is_reported_before_queueing(user_dir, color_folder):
    """The request is built into the job's TrainConfig (the base checkpoint read) when the user asks: a
    base that is gone or cannot be fine-tuned is said at once, not after the job has waited in the queue."""
    prepared = trainingdata.prepare_folder(color_folder, "a")
    with pytest.raises(ValueError, match="no checkpoint named 'gone'"):
        training.start(_request(prepared, base="gone"), "owner-a", None)
    with pytest.raises(ValueError, match="gray baseline"):
        training.start(_request(prepared, base="gray"), "owner-a", None)
    assert jobs.queue() == [] and not list(jobs.jobs_dir().glob("*"))


def test_jobs_queue_one_at_a_time_and_cancelling_leaves_no_checkpoint(user_dir, monkeypatch):
    monkeypatch.setenv(jobs.MAX_QUEUED_ENV, "1")
    first = trainingdata.prepare_zip(color_zip(14), "stain.zip")
    job = training.start(_request(first, epochs=300), "owner-a", read_metadata("places12-mse"))
    job = wait_for(job.id, lambda j: j.out.exists())  # training, its first epoch written
    with pytest.raises(RuntimeError, match="your training job stain is running"):
        training.start(_request(trainingdata.prepare_zip(color_zip(14), "more.zip")), "owner-a", None)
    second = training.start(_request(trainingdata.prepare_zip(color_zip(14, seed=1), "b.zip"), name="other"),
                            "owner-b", None)
    with pytest.raises(RuntimeError, match="queue is full"):  # one may wait (COLORCORE_TRAIN_MAX_QUEUED=1)
        training.start(_request(trainingdata.prepare_zip(color_zip(14), "c.zip")), "owner-c", None)
    time.sleep(2)  # the second runner waits for its turn
    assert jobs.find(second.id).state == "queued" and jobs.ahead_of(second) == [jobs.find(job.id)]
    assert "waiting for 1 job(s) ahead" in training.progress(jobs.find(second.id)).message
    jobs.cancel(jobs.find(second.id))
    assert wait_for(second.id, lambda j: not j.active).state == "cancelled"
    jobs.cancel(jobs.find(job.id))
    job = wait_for(job.id, lambda j: not j.active)
    assert job.state == "cancelled" and 0 < len(read_log_epochs(job)) < 300
    assert not list(job.path.glob("*.safetensors*")) and not list(job.path.glob(".*.tmp"))
    assert not (job.path / "data").exists()  # the uploaded images are deleted with the job
    assert "stain" not in catalog_names() and not list(user_dir.glob("*.safetensors"))


def read_log_epochs(job: jobs.TrainingJob) -> list[str]:
    return [line for line in job.log.read_text().splitlines() if line.startswith("epoch ")]


def test_a_job_whose_runner_died_is_reported_failed(user_dir):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_id, folder = jobs.new_folder()
    job = jobs.TrainingJob(id=job_id, name="x", folder=str(folder), data=str(folder), source="x", base=None,
                   state="running", pid=dead.pid)
    jobs.save(job)
    found = jobs.find(job_id)
    assert found.state == "failed" and "ended unexpectedly" in found.error
    assert jobs.find("not-an-id") is None and jobs.find("0" * 16) is None


def _draft_job(prepared, **fields) -> jobs.TrainingJob:
    """A stored, queued job on ``prepared`` (a ZIP's folder), not started: for running its runner in this process."""
    folder = Path(prepared.folder).parent
    job = jobs.TrainingJob(id=prepared.job_id, name="stain", folder=str(folder), data=prepared.folder,
                   source=prepared.source, base=None, epochs=2, n_train=4, n_val=1, n_test=1, owner="owner-a",
                   **fields)
    job.args = training.train_args(_request(prepared, base=None), job.name, str(job.out))
    jobs.save(job)
    return job


def _assert_cleaned_up(job: jobs.TrainingJob, user_dir: Path) -> None:
    """The job left nothing behind: no checkpoint or temporary file, no uploaded images, nothing in the catalog."""
    assert not list(job.path.glob("*.safetensors*")) and not list(job.path.glob(".*.tmp"))
    assert not Path(job.data).exists()
    assert not list(user_dir.glob("*.safetensors")) and not list(user_dir.glob(".*.tmp"))
    assert job.name not in catalog_names()


class Surprise(Exception):
    """An exception no part of the runner expects."""


def test_an_unexpected_error_in_the_runner_fails_the_job_and_leaves_nothing(user_dir, monkeypatch):
    job = _draft_job(trainingdata.prepare_zip(color_zip(6), "stain.zip"))

    def half_trained(running: jobs.TrainingJob) -> int:
        running.out.write_bytes(b"partial")
        (running.path / ".model.safetensors.x.tmp").write_bytes(b"half")
        raise Surprise("something nobody planned for")

    monkeypatch.setattr(jobrunner, "train_child", half_trained)
    assert jobrunner.run(job) == 1
    stored = jobs.load(job.path)
    assert stored.state == "failed" and "Surprise: something nobody planned for" in stored.error
    _assert_cleaned_up(stored, user_dir)
    assert "Traceback" in stored.log.read_text()  # the details are in the job's log


def test_a_job_whose_runner_pid_was_reused_is_failed_not_running(user_dir):
    """The runner is gone (its lock is free) though another process now has its pid: this one."""
    job = _draft_job(trainingdata.prepare_zip(color_zip(6), "stain.zip"), state="running", pid=os.getpid())
    jobs.hold_runner_lock(job).close()  # a runner took its lock, then ended
    job.out.write_bytes(b"partial")
    found = jobs.find(job.id)
    assert found.state == "failed" and "ended unexpectedly" in found.error
    assert jobs.load(job.path).state == "failed"  # written: every reader agrees from now on
    _assert_cleaned_up(found, user_dir)


def test_a_live_runner_is_not_taken_for_dead(user_dir):
    job = _draft_job(trainingdata.prepare_zip(color_zip(6), "stain.zip"), state="running", pid=os.getpid())
    lock = jobs.hold_runner_lock(job)
    try:
        assert jobs.find(job.id).state == "running" and Path(job.data).is_dir()
    finally:
        lock.close()


def _processes_mentioning(text: str) -> list[int]:
    """Pids of the processes whose command line holds ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize(("signum", "reason"), [
    (signal.SIGKILL, "ended unexpectedly"),  # nothing runs in the runner: its next reader ends the job
    (signal.SIGTERM, "training failed: the training process was stopped (a signal)"),  # the runner ends it
])
def test_a_runner_killed_mid_job_is_reported_failed_after_a_restart_and_leaves_nothing(user_dir, signum, reason):
    """The issue's fault test: the server (and the runner with it) killed during training, then started again."""
    data = zip_bytes({f"染色/细胞{i}.png": color_png(i) for i in range(12)})  # names in CJK train too
    job = training.start(_request(trainingdata.prepare_zip(data, "染色.zip"), epochs=300), "owner-a",
                         read_metadata("places12-mse"))
    job = wait_for(job.id, lambda j: j.out.exists())  # training: its first epoch is written
    os.kill(job.pid, signum)
    end = time.time() + 60
    while jobs.runner_alive(job) and time.time() < end:  # the runner ends (SIGTERM: once it has ended the job)
        time.sleep(0.2)
    # a fresh process (the restarted server) reads the jobs table
    read = subprocess.run([sys.executable, "-c", "from colorcore.app import jobs, training\n"
                           "print([(r['checkpoint'], r['state']) for r in training.queue_rows('owner-a')])"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert read.stdout.strip() == "[('stain', 'failed')]", read.stderr
    stored = jobs.load(job.path)
    assert stored.state == "failed" and reason in stored.error
    time.sleep(2 * jobrunner.POLL_S)
    assert not _processes_mentioning(str(job.path))  # the training process died with its runner
    _assert_cleaned_up(stored, user_dir)


def test_the_jobs_table_shows_a_session_only_its_own_jobs(user_dir):
    for owner, name in (("owner-a", "mine"), ("owner-b", "theirs"), ("owner-a", "mine-too")):
        job_id, folder = jobs.new_folder()
        jobs.save(jobs.TrainingJob(id=job_id, name=name, folder=str(folder), data=str(folder), source=f"{name}.zip",
                           base=None, state="done", owner=owner))
    assert [r["checkpoint"] for r in training.queue_rows("owner-a")] == ["mine-too", "mine"]
    assert [r["data"] for r in training.queue_rows("owner-b")] == ["theirs.zip"]
    assert training.queue_rows("owner-c") == []


def test_a_full_disk_while_training_writes_its_checkpoint_fails_the_job_and_leaves_nothing(user_dir, monkeypatch):
    """The issue's fault test: ``colorcore train`` (the job's child process) finds the disk full mid-checkpoint."""
    monkeypatch.setenv("PYTHONPATH", str(full_disk.sitecustomize(user_dir.parent / "full-disk")))
    job = training.start(_request(trainingdata.prepare_zip(color_zip(14), "stain.zip")), "owner-a",
                         read_metadata("places12-mse"))
    job = wait_for(job.id, lambda j: not j.active)
    assert job.state == "failed" and "No space left on device" in job.error
    assert "check the path, its permissions and the free disk space" in job.error  # what to do
    _assert_cleaned_up(job, user_dir)


def test_a_full_disk_while_the_runner_stores_the_test_scores_fails_the_job_and_leaves_nothing(
        user_dir, color_folder, tiny_checkpoint, monkeypatch):
    job_id, folder = jobs.new_folder("owner-a")
    job = jobs.TrainingJob(id=job_id, name="stain", folder=str(folder), data=str(color_folder), source="a", base=None,
                   epochs=3, n_test=4, owner="owner-a")
    jobs.save(job)

    def trained(running: jobs.TrainingJob) -> int:
        shutil.copy(tiny_checkpoint, running.out)
        return 0

    monkeypatch.setattr(jobrunner, "train_child", trained)
    monkeypatch.setattr(write, "_atomic_write", full_disk.failing(write._atomic_write))
    assert jobrunner.run(job) == 1
    stored = jobs.load(folder)
    assert stored.state == "failed" and stored.error.startswith(
        "evaluating the checkpoint failed: the server's disk is full")
    assert "python -m colorcore jobs clean" in stored.error
    assert not list(folder.glob("*.safetensors*")) and not list(folder.glob(".*.tmp"))
    assert not list(user_dir.glob("*.safetensors")) and "stain" not in catalog_names()
    assert color_folder.is_dir()  # a data-root folder is never removed
