"""AppTest of the Train page: a ZIP becomes a background job whose checkpoint reaches the Colorize picker;
bad ZIPs get a clear error and the page keeps working; cancelling leaves no checkpoint."""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from colorcore.app import jobs
from colorcore.checkpoints import catalog_names
from colorcore.config import FINETUNE_DEFAULTS
from helpers import APP, color_png, color_zip, download_labels, ok, png_bytes, zip_bytes

JOB_TIMEOUT_S = 240


@pytest.fixture()
def train_env(catalog_env, color_folder, tmp_path, monkeypatch):
    """Tiny catalog, an empty user-checkpoint folder, no examples, the data root at ``color_folder``."""
    monkeypatch.setenv("COLORCORE_USER_CHECKPOINTS", str(tmp_path / "user"))
    monkeypatch.setenv("COLORCORE_SAMPLES", str(tmp_path / "no-samples"))
    monkeypatch.setenv("COLORCORE_DATA_ROOT", str(color_folder))
    return tmp_path / "user"


def open_train() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/train.py").run()
    return ok(at)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="train.zip").set_value((name, data, "application/zip")).run()
    return ok(at)


def wait_until_ended(job_id: str) -> jobs.TrainingJob:
    import time
    end = time.time() + JOB_TIMEOUT_S
    while time.time() < end:
        job = jobs.find(job_id)
        if not job.active:
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not end: {job.log.read_text()}")


def test_a_zip_becomes_a_lab_checkpoint_in_the_colorize_picker(train_env):
    at = upload(open_train(), "stain.zip", color_zip(14))
    assert not at.error
    assert any("**stain.zip**: 14 image(s)" in m.value for m in at.markdown)
    assert at.dataframe[-1].value["check"].tolist()[0] == "unreadable files"  # the dataset analysis
    at.selectbox(key="train.base").set_value("places12-mse").run()
    assert at.number_input(key="train.epochs").value == FINETUNE_DEFAULTS["epochs"]
    at.number_input(key="train.epochs").set_value(2).run()
    assert any("About" in i.value and "images/s" in i.value for i in at.info)
    at.button(key="train.start").click().run()
    ok(at)
    job_id = at.session_state["train.job"]
    assert at.query_params["job"] == job_id  # reopening this URL watches the job again
    assert any(h.value == "Training job: stain-places12-mse" for h in at.subheader)
    assert len(at.get("progress")) == 1
    job = wait_until_ended(job_id)
    assert job.state == "done", job.error
    at.run()
    ok(at)
    assert len(at.get("plotly_chart")) == 2  # loss and validation ab RMSE curves
    rows = at.dataframe[0].value
    assert rows["checkpoint"].tolist() == ["stain-places12-mse", "places12-mse", "gray"]
    assert "Download stain-places12-mse.safetensors" in download_labels(at)
    at.button(key="train.use").click().run()
    ok(at)
    assert at.title[0].value == "Colorize"
    assert at.radio(key="colorize.checkpoint_domain").value == "lab"
    assert at.selectbox(key="colorize.checkpoint").value == "stain-places12-mse"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("notes.zip", b"not a zip at all", "not a ZIP archive"),
    ("empty.zip", zip_bytes({"readme.txt": b"hello"}), "holds no images"),
    ("gray.zip", zip_bytes({f"{i}.png": png_bytes(np.full((40, 48), 30 * i, np.uint8)) for i in range(4)}),
     "only gray images"),
    ("evil.zip", zip_bytes({"../../x.png": color_png()}), "leaves its folder"),
    ("bomb.zip", zip_bytes({"bomb.png": b"\0" * (30 << 20)}), "ZIP bomb"),
])
def test_bad_zips_get_a_clear_error_and_the_page_keeps_working(train_env, name, data, message):
    at = upload(open_train(), name, data)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not at.button  # nothing to start
    at = upload(at, "good.zip", color_zip(6))
    assert not at.error and at.button(key="train.start")


def test_cancelling_from_the_page_leaves_no_checkpoint(train_env):
    at = upload(open_train(), "stain.zip", color_zip(14))
    at.selectbox(key="train.base").set_value("places12-mse").run()
    at.number_input(key="train.epochs").set_value(300).run()
    at.button(key="train.start").click().run()
    job_id = at.session_state["train.job"]
    assert at.button(key="train.start").disabled  # one job per session
    at = AppTest.from_file(APP, default_timeout=60)  # the browser closed; the job's address opened again
    at.query_params["job"] = job_id
    at.run()
    at.switch_page("pages/train.py").run()
    assert any(h.value == "Training job: stain-places12-mse" for h in at.subheader)
    at.button(key="train.cancel").click().run()
    ok(at)
    job = wait_until_ended(job_id)
    assert job.state == "cancelled"
    assert not list(job.path.glob("*.safetensors*")) and "stain-places12-mse" not in catalog_names()
    at.run()
    assert [p.proto.text for p in at.get("progress")] == ["cancelled"]
    at = upload(at, "again.zip", color_zip(14))
    assert not at.button(key="train.start").disabled  # the session may start another job


def test_a_folder_under_the_data_root_can_be_chosen(train_env):
    at = open_train()
    at.radio(key="train.source").set_value("A folder under the data root").run()
    ok(at)
    assert at.selectbox(key="train.folder").options == ["a", "b"]
    assert any("**a**: 20 image(s)" in m.value for m in at.markdown)
