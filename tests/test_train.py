"""Training: loss goes down, checkpoints are loadable and self-describing, resume continues."""
import math

import pytest

from colorcore.checkpoints import load_checkpoint, read_metadata
from colorcore.train import STUDY_RECIPE, TrainConfig, get_lr, resume_run, state_path, train


def _cfg(folder, out, **kw):
    base = dict(data=str(folder), out=str(out), epochs=4, size=32, batch=8, val_images=4, test_images=4,
                seed=0, lr=3e-3, warmup_epochs=0.5)
    base.update(kw)
    return TrainConfig(**base)


def test_tiny_training_lowers_loss_and_writes_a_self_describing_checkpoint(tiny_checkpoint):
    meta = read_metadata(tiny_checkpoint)
    hist = meta["history"]
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    for key in ("val_loss", "val_ab_rmse", "val_psnr"):
        assert all(math.isfinite(h[key]) for h in hist)
    assert meta["data"]["split"] == {"test": 4, "val": 4, "train": 32, "pool": 32}
    assert len(meta["data"]["split_sha256"]["test"]) == 64
    assert meta["train_config"]["loss"] == "huber" and meta["complete"] is True
    assert sum(map(sum, meta["train_ab_hist"]["counts"])) == meta["train_ab_hist"]["n"]
    ckpt = load_checkpoint(tiny_checkpoint)
    assert not ckpt.model.training and ckpt.recipe == "corrected"


def test_resume_continues_from_the_last_completed_epoch(color_folder, tmp_path):
    out = tmp_path / "r.safetensors"
    cfg = _cfg(color_folder, out, train_images=16, val_every=2)

    def stop_after_two(entry):
        if entry["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, on_epoch=stop_after_two, log=lambda _: None)
    assert read_metadata(out)["epochs_done"] == 2 and state_path(out).is_file()
    with pytest.raises(ValueError, match="already exists"):
        train(cfg, log=lambda _: None)
    with pytest.raises(ValueError, match="settings differ.*loss"):
        resume_run(_cfg(color_folder, out, train_images=16, val_every=2, loss="mse"), log=lambda _: None)
    resume_run(cfg, log=lambda _: None)
    hist = read_metadata(out)["history"]
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]
    assert hist[0]["val_loss"] is None and hist[1]["val_loss"] is not None


def test_study_recipe_trains_with_its_own_encoding(color_folder, tmp_path):
    cfg = TrainConfig.from_dict({**_cfg(color_folder, tmp_path / "s.safetensors", epochs=1).__dict__,
                                 **STUDY_RECIPE})
    meta = train(cfg, log=lambda _: None)
    assert meta["recipe"] == "study" and meta["train_config"]["optimizer"] == "adam"


def test_config_errors_are_precise(color_folder, tmp_path):
    with pytest.raises(ValueError, match="unknown training option"):
        TrainConfig.from_dict({"data": "x", "out": "y", "bogus": 1})
    with pytest.raises(ValueError, match="multiples of 8"):
        _cfg(color_folder, tmp_path / "x", size=30).validate()
    with pytest.raises(ValueError, match="cannot resume"):
        resume_run(_cfg(color_folder, tmp_path / "none.safetensors"), log=lambda _: None)
    with pytest.raises(ValueError, match="no image file matches"):
        train(_cfg(color_folder, tmp_path / "inc.safetensors", include="^zzz"), log=lambda _: None)


def test_lr_schedule_warms_up_and_decays():
    assert get_lr(0, 100, 10, 1.0, "cosine") == pytest.approx(0.1)
    assert get_lr(10, 100, 10, 1.0, "cosine") == pytest.approx(1.0)
    assert get_lr(100, 100, 10, 1.0, "cosine") == pytest.approx(0.05)
    assert get_lr(50, 100, 0, 1.0, "constant") == 1.0


def test_native_scale_training_on_images_of_several_sizes(tmp_path):
    import numpy as np
    from PIL import Image

    from conftest import make_color_image
    rng = np.random.default_rng(0)
    for i in range(12):
        h, w = (40, 48) if i % 2 else (90, 130)
        Image.fromarray(make_color_image(rng, h, w)).save(tmp_path / f"im{i}.png")
    out = tmp_path / "native.safetensors"
    meta = train(_cfg(tmp_path, out, epochs=2, size=96, crop=32, scale="native", val_images=2, test_images=2),
                 log=lambda _: None)
    assert meta["train_config"]["scale"] == "native"
    assert all(math.isfinite(h["val_ab_rmse"]) for h in meta["history"])
    with pytest.raises(ValueError, match="scale must be resize or native"):
        _cfg(tmp_path, tmp_path / "x.safetensors", scale="big").validate()


def test_oversampling_repeats_matching_files_and_refuses_a_pattern_matching_nothing(color_folder, tmp_path):
    from colorcore.train import oversampled
    assert oversampled(["a/1", "b/2"], "^a/", 3) == ["a/1", "b/2", "a/1", "a/1"]
    assert oversampled(["a/1"], None, 5) == ["a/1"]
    with pytest.raises(ValueError, match="no training file matches"):
        oversampled(["a/1"], "^z", 2)
    meta = train(_cfg(color_folder, tmp_path / "o.safetensors", epochs=1, oversample="^a/", oversample_factor=2),
                 log=lambda _: None)
    assert meta["data"]["split"]["train"] == 32 and meta["train_config"]["oversample_factor"] == 2
    with pytest.raises(ValueError, match="oversample_factor must be >= 1"):
        _cfg(color_folder, tmp_path / "x.safetensors", oversample_factor=0).validate()
