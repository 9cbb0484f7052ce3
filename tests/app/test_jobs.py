"""colorcore.app.jobs and jobrunner: jobs run in their own process, one at a time, and publish or leave nothing."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from colorcore.app import jobs, training, trainingdata
from colorcore.checkpoints import catalog_names, read_metadata
from helpers import color_zip

#: Seconds a tiny job may take here (process start, torch import, a few epochs, evaluation).
JOB_TIMEOUT_S = 240


@pytest.fixture()
def user_dir(tmp_path, monkeypatch, catalog_env):
    folder = tmp_path / "user"
    monkeypatch.setenv("COLORCORE_USER_CHECKPOINTS", str(folder))
    return folder


def wait_for(job_id: str, test, timeout: float = JOB_TIMEOUT_S) -> jobs.Job:
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


def read_log_epochs(job: jobs.Job) -> list[str]:
    return [line for line in job.log.read_text().splitlines() if line.startswith("epoch ")]


def test_a_job_whose_runner_died_is_reported_failed(user_dir):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_id, folder = jobs.new_folder()
    job = jobs.Job(id=job_id, name="x", folder=str(folder), data=str(folder), source="x", base=None,
                   state="running", pid=dead.pid)
    jobs.save(job)
    found = jobs.find(job_id)
    assert found.state == "failed" and "ended unexpectedly" in found.error
    assert jobs.find("not-an-id") is None and jobs.find("0" * 16) is None
