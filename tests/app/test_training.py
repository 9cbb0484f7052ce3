"""colorcore.app.trainingdata and colorcore.app.training: checked data, the train command, estimates, names."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colorcore.app import jobs, training, trainingdata
from colorcore.app.trainingdata import PreparedData
from colorcore.config import FINETUNE_DEFAULTS, TrainConfig, flag_fields
from helpers import color_png, png_bytes, zip_bytes


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    folder = tmp_path / "user"
    monkeypatch.setenv("COLORCORE_USER_CHECKPOINTS", str(folder))
    return folder


def test_a_zip_is_extracted_into_a_job_folder_and_cleaned(user_dir):
    gray = png_bytes(np.full((40, 48), 128, np.uint8))
    data = zip_bytes({**{f"s/{i}.png": color_png(i) for i in range(5)}, "s/copy.png": color_png(0), "s/gray.png": gray})
    prepared = trainingdata.prepare_zip(data, "stain.zip")
    assert prepared.job_id and (user_dir / ".jobs" / prepared.job_id / "data").is_dir()
    assert sorted(p.name for p in (user_dir / ".jobs" / prepared.job_id / "data").iterdir()) == \
        ["0.png", "1.png", "2.png", "3.png", "4.png"]
    assert prepared.n_images == 5 and prepared.stats.n_files == 7
    assert sorted(prepared.left_out) == [("copy.png", "an exact copy of 0.png"), ("gray.png", "stored as gray")]
    assert "2 file(s) are left out of training" in trainingdata.summary(prepared)[-1]
    assert trainingdata.summary(prepared)[0].startswith("**stain.zip**: 5 image(s)")


def test_a_zip_in_any_script_trains_on_all_its_images_and_lists_what_it_leaves_out(user_dir):
    """Issue 21: a ZIP of 细胞0.png, 细胞1.png... trained on none of them (their names lost the extension)."""
    names = ["细胞0.png", "细胞1.png", "細胞2.png", "Κύτταρο3.png", "خلية4.png", "תא5.png", "клетка6.png", "café7.png"]
    gray = png_bytes(np.full((40, 48), 128, np.uint8))
    data = zip_bytes({**{f"染色/{n}": color_png(i) for i, n in enumerate(names)}, "染色/细胞9.png": color_png(0),
                      "染色/灰色.png": gray, "染色/说明.txt": b"notes", "__MACOSX/染色/._细胞0.png": b"x",
                      "染色/.隐藏.png": color_png(9)})
    prepared = trainingdata.prepare_zip(data, "染色.zip")
    assert prepared.n_images == len(names)
    assert sorted(p.name for p in Path(prepared.folder).iterdir()) == sorted(names)
    assert trainingdata.left_out_rows(prepared) == [
        {"file": "染色/说明.txt", "reason": "not an image (.png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, .tiff, .czi)"},
        {"file": "__MACOSX/染色/._细胞0.png", "reason": "macOS metadata (__MACOSX), not an image"},
        {"file": "染色/.隐藏.png", "reason": "a hidden file"},
        {"file": "灰色.png", "reason": "stored as gray"},
        {"file": "细胞9.png", "reason": "an exact copy of 细胞0.png"}]


def test_a_folder_s_files_that_training_skips_are_listed(tmp_path):
    root = tmp_path / "root"
    (root / "stain" / "sub").mkdir(parents=True)
    for i in range(4):
        (root / "stain" / "sub" / f"细胞{i}.png").write_bytes(color_png(i))
    (root / "stain" / "broken.png").write_bytes(b"not a png")
    (root / "stain" / "notes.txt").write_text("x")
    (root / "stain" / ".hidden.png").write_bytes(color_png(5))
    prepared = trainingdata.prepare_folder(root, "stain")
    rows = {r["file"]: r["reason"] for r in trainingdata.left_out_rows(prepared)}
    assert set(rows) == {"notes.txt", ".hidden.png", "broken.png"}
    assert rows[".hidden.png"] == "a hidden file" and rows["broken.png"].startswith("unreadable")


@pytest.mark.parametrize(("members", "message"), [
    ({f"{i}.png": png_bytes(np.full((40, 48), 20 * i, np.uint8)) for i in range(4)}, "only gray images"),
    ({"a.png": color_png(1), "b.png": color_png(2)}, "2 usable colour image.*at least 3"),
])
def test_data_without_enough_colour_is_refused(user_dir, members, message):
    with pytest.raises(ValueError, match=message):
        trainingdata.prepare_zip(zip_bytes(members), "x.zip")
    assert not any((user_dir / ".jobs").iterdir())  # the draft folder is gone


def test_a_data_root_folder_is_analysed_not_changed(color_folder):
    prepared = trainingdata.prepare_folder(color_folder, "a")
    assert prepared.job_id is None and prepared.n_images == 20 and prepared.folder.endswith("/a")
    with pytest.raises(ValueError, match="not one of the data folders"):
        trainingdata.prepare_folder(color_folder, "../a")


def test_default_split_holds_out_a_tenth_each():
    assert trainingdata.default_split(12) == (10, 1, 1)
    assert trainingdata.default_split(100) == (80, 10, 10)
    assert trainingdata.default_split(3) == (1, 1, 1)


def _request(base, n_images=12, **kw) -> training.TrainRequest:
    data = PreparedData("/data/stain", "stain.zip", {}, n_images)
    values = dict(n_train=10, n_val=1, n_test=1, epochs=5, name="stain")
    values.update(kw)
    return training.TrainRequest(data, base, **values)


def test_the_train_command_fine_tunes_or_trains_from_scratch_as_a_lab_checkpoint():
    args = training.train_args(_request("histology-huber"), "stain", "/jobs/x/model.safetensors")
    assert args[args.index("--init-from") + 1] == "histology-huber" and "--model" not in " ".join(args)
    assert args[args.index("--domain") + 1] == "lab" and args[args.index("--threads") + 1] == "1"
    scratch = training.train_args(_request(None), "stain", "/o.safetensors")
    assert "--init-from" not in scratch and "--model=study_resnet18" in scratch
    # every option is one the train command knows
    known = {f"--{f.name.replace('_', '-')}" for f in flag_fields()}
    assert {a.split("=")[0] for a in args + scratch if a.startswith("--")} <= known
    assert TrainConfig.from_dict({"data": "d", "out": "o", "threads": 1}).threads == 1


def test_requests_are_checked():
    _request(None).validate()
    with pytest.raises(ValueError, match="10 \\+ 1 \\+ 1 images asked for, but stain.zip has 11"):
        _request(None, n_images=11).validate()
    with pytest.raises(ValueError, match="at least 1 test image"):
        _request(None, n_test=0).validate()
    with pytest.raises(ValueError, match="epochs must be between 1 and"):
        _request(None, epochs=0).validate()


def test_settings_follow_the_base_checkpoint(tiny_checkpoint):
    from colorcore.checkpoints import read_metadata
    assert training.settings(None) == {"size": 128, "crop": 64, "epochs": 100}
    assert training.settings(read_metadata(tiny_checkpoint)) == {"size": 32, "crop": 32,
                                                                 "epochs": FINETUNE_DEFAULTS["epochs"]}


def test_estimate_grows_with_the_work():
    base = training.estimate_s(10, 2, 2, 30, 192, 64, training.DEFAULT_PIXELS_PER_S)
    assert training.STARTUP_S < base < training.estimate_s(20, 2, 2, 30, 192, 64, training.DEFAULT_PIXELS_PER_S)
    assert base < training.estimate_s(10, 2, 2, 60, 192, 64, training.DEFAULT_PIXELS_PER_S)
    assert training.estimate_s(10, 2, 2, 30, 192, 64, 2 * training.DEFAULT_PIXELS_PER_S) < base


def test_names_are_sanitised_and_never_taken(user_dir, catalog_env):
    assert jobs.checkpoint_name("../My Stain (v2).safetensors") == "my-stain-v2"
    assert jobs.checkpoint_name("  ...  ") == "lab-model"
    assert len(jobs.checkpoint_name("x" * 100)) == 48
    assert jobs.reserve_name("places12-mse") == "places12-mse-2"  # a shipped name is never reused
    assert jobs.reserve_name("gray") == "gray-2"
    user_dir.mkdir()
    (user_dir / "stain.safetensors").write_bytes(b"")
    assert jobs.reserve_name("Stain") == "stain-2"


def test_the_curves_mark_where_fine_tuning_started():
    from colorcore.app import figures
    meta = {"history": [{"epoch": 1, "train_loss": 0.2, "val_loss": 0.3}], "train_config": {"loss": "huber"}}
    fig = figures.with_reference(figures.loss_curves({"stain": meta}), 0.5, "base, before")
    assert fig.layout.shapes[0].y0 == 0.5 and fig.layout.annotations[0].text == "base, before"
    assert not figures.with_reference(figures.loss_curves({"stain": meta}), None, "x").layout.shapes
