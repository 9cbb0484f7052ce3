"""``python -m colorcore jobs list | clean``: the administrator sees every session's jobs and removes old ones,
never a running job or the shipped catalog."""
from __future__ import annotations

import os
import time

import pytest

from colorcore import cli, paths
from colorcore.app import jobs

DAY = 24 * 3600


@pytest.fixture()
def user_dir(tmp_path, monkeypatch, catalog_env):
    folder = tmp_path / "user"
    monkeypatch.setenv(paths.USER_CHECKPOINTS_ENV, str(folder))
    return folder


def _job(owner: str, name: str, state: str, age_days: float, **fields) -> jobs.TrainingJob:
    job_id, folder = jobs.new_folder(owner)
    (folder / "data").mkdir()
    (folder / "data" / "img.png").write_bytes(b"x" * 1000)
    stamp = time.time() - age_days * DAY
    job = jobs.TrainingJob(id=job_id, name=name, folder=str(folder), data=str(folder / "data"), source=f"{name}.zip",
                   base=None, state=state, owner=owner, created=stamp, finished=stamp, **fields)
    jobs.save(job)
    return job


def _checkpoint(user_dir, name: str, age_days: float):
    user_dir.mkdir(parents=True, exist_ok=True)
    path = user_dir / f"{name}.safetensors"
    path.write_bytes(b"weights")
    stamp = time.time() - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


def _draft(owner: str, age_days: float):
    _, folder = jobs.new_folder(owner)
    stamp = time.time() - age_days * DAY
    os.utime(folder, (stamp, stamp))
    return folder


def _run(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main(["jobs", *argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_list_shows_every_session_s_jobs_and_checkpoints_with_the_quotas(user_dir, capsys, monkeypatch):
    monkeypatch.setenv(paths.USER_CHECKPOINTS_MAX_ENV, "50")
    _job("session-a", "mine", "done", 3)
    _job("session-b", "theirs", "failed", 1, error="boom")
    _draft("session-c", 0.5)
    _checkpoint(user_dir, "mine", 3)
    status, out, _ = _run(capsys, "list")
    assert status == 0
    assert "done mine from mine.zip, session session-a" in out and "failed theirs from theirs.zip" in out
    assert "draft" in out and "session session-c" in out
    assert "checkpoint mine.safetensors  session session-a" in out
    assert "at most 50 checkpoints" in out and "2.0 GB a session" in out


def test_clean_removes_what_ended_long_ago_and_names_it(user_dir, capsys):
    old, recent = _job("a", "old", "done", 10), _job("b", "recent", "done", 1)
    old_draft, new_draft = _draft("c", 10), _draft("d", 0.1)
    old_ckpt, new_ckpt = _checkpoint(user_dir, "old", 10), _checkpoint(user_dir, "recent", 1)
    status, out, _ = _run(capsys, "clean", "--older-than", "7")
    assert status == 0
    assert not old.path.exists() and not old_draft.exists()
    assert recent.path.exists() and new_draft.exists() and old_ckpt.exists()  # checkpoints only when asked
    assert f"removed job {old.id}  done old" in out and f"removed draft {old_draft.name}" in out
    assert "removed 2 item(s), 2 kB, older than 7 day(s)" in out
    status, out, _ = _run(capsys, "clean", "--older-than", "7", "--checkpoints")
    assert not old_ckpt.exists() and new_ckpt.exists()
    assert "removed checkpoint old.safetensors" in out


def test_a_dry_run_removes_nothing(user_dir, capsys):
    job = _job("a", "old", "cancelled", 10)
    ckpt = _checkpoint(user_dir, "old", 10)
    status, out, _ = _run(capsys, "clean", "--older-than", "1", "--checkpoints", "--dry-run")
    assert status == 0 and job.path.exists() and ckpt.exists()
    assert f"would remove job {job.id}" in out and "would remove checkpoint old.safetensors" in out


def test_a_running_job_and_the_shipped_catalog_are_never_removed(user_dir, catalog_env, capsys, monkeypatch):
    running = _job("a", "busy", "running", 30, pid=os.getpid())
    lock = jobs.hold_runner_lock(running)
    try:
        status, out, _ = _run(capsys, "clean", "--older-than", "0", "--checkpoints")
    finally:
        lock.close()
    assert status == 0 and running.path.exists() and "nothing to remove" in out
    shipped = sorted(p.name for p in catalog_env.iterdir())
    monkeypatch.setenv(paths.USER_CHECKPOINTS_ENV, str(catalog_env))  # a server set up wrongly
    status, out, err = _run(capsys, "clean", "--older-than", "0", "--checkpoints")
    assert status == 2 and "is the shipped catalog" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in catalog_env.iterdir()) == shipped


@pytest.mark.parametrize("days", ["-1", "soon"])
def test_a_bad_age_is_a_usage_error(user_dir, capsys, days):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["jobs", "clean", "--older-than", days])
    assert exit_.value.code == 2 and "--older-than" in capsys.readouterr().err
