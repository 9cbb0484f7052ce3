"""colorcore.app.quotas and colorcore.paths.Quotas: limits on the disk the Train page fills, with clear messages."""
from __future__ import annotations

import dataclasses

import pytest

from colorcore import paths
from colorcore.app import jobs, quotas, trainingdata
from helpers import color_zip


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    folder = tmp_path / "user"
    monkeypatch.setenv(paths.USER_CHECKPOINTS_ENV, str(folder))
    return folder


def test_quotas_come_from_the_environment_with_defaults(monkeypatch):
    assert paths.Quotas.from_env() == paths.Quotas()
    monkeypatch.setenv(paths.TRAIN_SESSION_BYTES_ENV, "500M")
    monkeypatch.setenv(paths.TRAIN_TOTAL_BYTES_ENV, "1.5G")
    monkeypatch.setenv(paths.USER_CHECKPOINTS_MAX_ENV, "7")
    monkeypatch.setenv(paths.USER_CHECKPOINTS_BYTES_ENV, "1048576")
    got = paths.Quotas.from_env()
    assert (got.session_bytes, got.total_bytes, got.checkpoints, got.checkpoint_bytes) == \
        (500 << 20, 3 << 29, 7, 1 << 20)
    for name, value in ((paths.TRAIN_TOTAL_BYTES_ENV, "lots"), (paths.USER_CHECKPOINTS_MAX_ENV, "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name):
            paths.Quotas.from_env()
        monkeypatch.delenv(name)


def test_uploads_are_refused_over_the_session_and_the_server_quota(user_dir, monkeypatch):
    first = trainingdata.prepare_zip(color_zip(6), "a.zip", owner="session-a")
    held = quotas.folder_bytes(jobs.jobs_dir() / first.job_id)
    limits = paths.Quotas(session_bytes=held + 100, total_bytes=2 * held + 100)
    quotas.check_upload("session-a", 100, limits)  # just fits
    with pytest.raises(quotas.QuotaExceeded, match=f"already hold .*{paths.TRAIN_SESSION_BYTES_ENV}.*wait until"):
        quotas.check_upload("session-a", 101, limits)
    quotas.check_upload("session-b", held, limits)
    with pytest.raises(quotas.QuotaExceeded, match=f"{paths.TRAIN_TOTAL_BYTES_ENV}.*jobs clean --older-than"):
        quotas.check_upload("session-b", held + 101, dataclasses.replace(limits, session_bytes=1 << 30))


def test_a_refused_upload_keeps_nothing_and_a_new_one_replaces_the_session_s_draft(user_dir, monkeypatch):
    first = trainingdata.prepare_zip(color_zip(6), "a.zip", owner="session-a")
    other = trainingdata.prepare_zip(color_zip(6), "b.zip", owner="session-b")
    monkeypatch.setenv(paths.TRAIN_SESSION_BYTES_ENV, "1K")
    with pytest.raises(quotas.QuotaExceeded, match="a session may hold 1 kB"):
        trainingdata.prepare_zip(color_zip(6), "c.zip", owner="session-a")
    assert sorted(p.name for p in jobs.job_folders()) == [other.job_id]  # a's draft replaced, c's not kept
    assert first.job_id not in [p.name for p in jobs.job_folders()]


def test_new_jobs_are_refused_over_the_checkpoint_quotas(user_dir):
    user_dir.mkdir()
    (user_dir / "a.safetensors").write_bytes(b"x" * 100)
    quotas.check_new_checkpoint("s", paths.Quotas(checkpoints=2, checkpoint_bytes=101))
    with pytest.raises(quotas.QuotaExceeded, match=f"holds 1 user checkpoint.*{paths.USER_CHECKPOINTS_MAX_ENV}"):
        quotas.check_new_checkpoint("s", paths.Quotas(checkpoints=1))
    with pytest.raises(quotas.QuotaExceeded, match=f"take 0 kB.*{paths.USER_CHECKPOINTS_BYTES_ENV}"):
        quotas.check_new_checkpoint("s", paths.Quotas(checkpoint_bytes=100))
    job_id, folder = jobs.new_folder("s")
    jobs.save(jobs.TrainingJob(id=job_id, name="a", folder=str(folder), data=str(folder), source="a.zip", base=None,
                       state="done", owner="s"))
    with pytest.raises(quotas.QuotaExceeded, match=f"this session has trained 1.*{paths.TRAIN_SESSION_CHECKPOINTS_ENV}"):
        quotas.check_new_checkpoint("s", paths.Quotas(session_checkpoints=1))
    quotas.check_new_checkpoint("another", paths.Quotas(session_checkpoints=1))
