"""AppTest of the Train page on a shared server (issue 21): names in any script, what is left out and why,
disk quotas with a clear error, and a session seeing only its own jobs."""
from __future__ import annotations

from colorcore import paths
from colorcore.app import jobs
from helpers import color_png, color_zip, zip_bytes
from test_app_train import open_train, train_env, upload  # noqa: F401 - train_env is a fixture

#: A ZIP's members named in several scripts, with what the page must leave out.
SCRIPT_ZIP = {**{f"染色/{name}": color_png(i) for i, name in enumerate(
    ["细胞0.png", "细胞1.png", "細胞2.png", "Κύτταρο3.png", "خلية4.png", "תא5.png", "клетка6.png", "café7.png"])},
    "染色/说明.txt": b"notes", "__MACOSX/染色/._细胞0.png": b"junk"}


def test_a_zip_named_in_any_script_trains_on_every_image_and_lists_what_it_leaves_out(train_env):
    at = upload(open_train(), "染色.zip", zip_bytes(SCRIPT_ZIP))
    assert not at.error
    assert any("**染色.zip**: 8 image(s)" in m.value for m in at.markdown)
    assert any("2 file(s) are left out of training" in m.value for m in at.markdown)
    assert any(e.label == "Left out of training: 2 file(s)" for e in at.expander)
    left_out = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert left_out["file"].tolist() == ["染色/说明.txt", "__MACOSX/染色/._细胞0.png"]
    assert left_out["reason"].tolist()[1] == "macOS metadata (__MACOSX), not an image"
    assert at.button(key="train.start")


def test_the_jobs_table_shows_only_this_session_s_jobs(train_env):
    for owner, name in (("this-session", "mine"), ("another-session", "theirs")):
        job_id, folder = jobs.new_folder(owner)
        jobs.save(jobs.TrainingJob(id=job_id, name=name, folder=str(folder), data=str(folder / "data"),
                           source=f"{name}-secret.zip", base=None, state="done", owner=owner))
    at = upload(open_train(), "stain.zip", color_zip(6))
    at.session_state["train.owner"] = "this-session"
    at.run()
    assert any(e.label == "Your training jobs" for e in at.expander)
    table = next(d.value for d in at.dataframe if "submitted" in d.value.columns)
    assert table["checkpoint"].tolist() == ["mine"] and table["data"].tolist() == ["mine-secret.zip"]
    assert not any("theirs" in str(d.value.to_dict()) for d in at.dataframe)


def test_an_upload_over_the_session_quota_gets_a_clear_error_and_the_page_keeps_working(train_env, monkeypatch):
    monkeypatch.setenv(paths.TRAIN_SESSION_BYTES_ENV, "10K")
    at = upload(open_train(), "stain.zip", color_zip(14))
    assert any(paths.TRAIN_SESSION_BYTES_ENV in e.value and "a session may hold 10 kB" in e.value
               and "upload fewer or smaller images" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.button and not any((train_env / ".jobs").iterdir())  # nothing kept
    monkeypatch.delenv(paths.TRAIN_SESSION_BYTES_ENV)
    at = upload(at, "stain.zip", color_zip(14))
    assert not at.error and at.button(key="train.start")


def test_a_new_upload_replaces_the_session_s_earlier_one(train_env):
    at = upload(open_train(), "first.zip", color_zip(6))
    at = upload(at, "second.zip", color_zip(6, seed=1))
    folders = list((train_env / ".jobs").iterdir())
    assert len(folders) == 1 and jobs.folder_owner(folders[0]) == at.session_state["train.owner"]


def test_starting_over_the_checkpoint_quota_gets_a_clear_error(train_env, monkeypatch):
    monkeypatch.setenv(paths.USER_CHECKPOINTS_MAX_ENV, "1")
    train_env.mkdir(parents=True, exist_ok=True)
    (train_env / "someone-else.safetensors").write_bytes(b"x")
    at = upload(open_train(), "stain.zip", color_zip(6))
    at.button(key="train.start").click().run()
    assert any(e.value.startswith("Not started:") and paths.USER_CHECKPOINTS_MAX_ENV in e.value
               and "python -m colorcore jobs clean" in e.value for e in at.error), [e.value for e in at.error]
    assert jobs.list_jobs() == []
