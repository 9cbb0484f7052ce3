"""Training: loss goes down, checkpoints are loadable and self-describing, resume continues."""
import dataclasses
import math

import pytest
import torch

from colorcore.checkpoints import load_checkpoint, read_metadata
from colorcore.resume import check_resume, state_path
from colorcore.config import TrainConfig
from colorcore.data import lab_batch
from colorcore.losses import mse
from colorcore.runtime import Dist, use_bf16
from colorcore.train import end_epoch, get_lr, resume_run, setup, train, train_epoch


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
    # fitted at the end of the run on its own training and validation files: the app can warn
    assert meta["domain_check"]["fitted_on"] == {"root": meta["data"]["root"], "train_images": 32, "val_images": 4}


def test_a_split_too_small_for_a_domain_check_keeps_the_checkpoint_and_says_so(color_folder, tmp_path):
    out, lines = tmp_path / "t.safetensors", []
    meta = train(_cfg(color_folder, out, epochs=1, train_images=4, val_images=1), log=lines.append)
    assert "domain_check" not in meta and read_metadata(out)["complete"] is True
    assert any(line.startswith("domain check not fitted: need at least 2 training images") for line in lines)


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


def test_study_recipe_trains_as_the_study_did(color_folder, tmp_path, monkeypatch):
    """Adam at 1e-2 without warm-up, decay or clipping, MSE on (ab + 128) / 255 targets from rgb2gray input."""
    from colorcore import train as train_mod
    from colorcore.lab import rgb_to_gray, rgb_to_lab

    clipped, batches = [], []
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda *a, **k: clipped.append(a[1]))

    def spy(batch_u8, device, recipe):
        out = lab_batch(batch_u8, device, recipe)
        batches.append((batch_u8, out))
        return out

    monkeypatch.setattr(train_mod, "lab_batch", spy)
    out = tmp_path / "s.safetensors"
    cfg = TrainConfig.from_options({"data": str(color_folder), "out": str(out), "recipe": "study", "epochs": 2,
                                    "size": 32, "batch": 8, "val_images": 4, "test_images": 4, "train_images": 16})
    run = setup(cfg, log=lambda _: None)
    assert type(run.optimizer) is torch.optim.Adam and run.loss_fn is mse
    assert run.optimizer.param_groups[0]["weight_decay"] == 0.0 and run.warmup_steps == 0
    entries = [train_epoch(run, epoch) for epoch in (1, 2)]
    assert [e["lr"] for e in entries] == [1e-2, 1e-2] and clipped == []
    rgb = batches[0][0].float() / 255
    net_in, target, lightness = batches[0][1]
    assert torch.allclose(target, (rgb_to_lab(rgb)[:, 1:] + 128) / 255)
    assert torch.allclose(net_in, rgb_to_gray(rgb)) and torch.allclose(lightness, rgb_to_gray(rgb) * 100)
    end_epoch(run, 2, entries[1])
    assert read_metadata(out)["recipe"] == "study" and read_metadata(out)["train_config"]["optimizer"] == "adam"
    # the corrected recipe, for contrast: AdamW, warm-up, clipping at 1.0, targets ab / 110
    run = setup(_cfg(color_folder, tmp_path / "c.safetensors", train_images=16), log=lambda _: None)
    assert type(run.optimizer) is torch.optim.AdamW and run.warmup_steps == 1
    train_epoch(run, 1)
    assert clipped == [1.0, 1.0]
    rgb = batches[-1][0].float() / 255
    assert torch.allclose(batches[-1][1][1], rgb_to_lab(rgb)[:, 1:] / 110)


def test_setup_makes_one_run_and_an_epoch_skips_a_one_image_batch(color_folder, tmp_path):
    cfg = _cfg(color_folder, tmp_path / "run.safetensors", train_images=17)
    run = setup(cfg, log=lambda _: None)
    assert run.net is run.model and run.dist == Dist() and run.device == torch.device("cpu")
    assert run.bf16 == use_bf16(run.device, "auto") and run.history == [] and run.start_epoch == 1
    assert (run.steps_per_epoch, run.total_steps, run.warmup_steps) == (3, 12, 2)
    assert run.meta["train_config"] == dataclasses.asdict(cfg)
    assert run.meta["model"] == {"name": "study_resnet18", "args": {}}
    calls = []
    loss_fn = run.loss_fn
    run.loss_fn = lambda raw, target: calls.append(len(raw)) or loss_fn(raw, target)
    entry = train_epoch(run, 1)
    assert calls == [8, 8]  # the 17th image alone would make BatchNorm statistics of one image
    assert entry["val_loss"] is None and math.isfinite(entry["train_loss"])
    with pytest.raises(ValueError, match=r"batch \(9\) must be divisible by the number of processes \(2\)"):
        setup(_cfg(color_folder, tmp_path / "x.safetensors", batch=9), dist=Dist(0, 2))


def test_a_classifier_trained_at_a_temperature_decodes_at_it_when_loaded(color_folder, tmp_path):
    out = tmp_path / "t.safetensors"
    train(_cfg(color_folder, out, model="study_resnet18_classes", temperature=0.2, epochs=1, train_images=8),
          log=lambda _: None)
    meta = read_metadata(out)
    assert meta["model"]["args"]["temperature"] == 0.2 and meta["classes"]["temperature"] == 0.2
    assert meta["model"]["args"]["n_bins"] == meta["classes"]["n_bins"]
    assert load_checkpoint(out).model.temperature == 0.2


def test_run_errors_are_precise(color_folder, tmp_path):
    with pytest.raises(ValueError, match="multiples of 8"):
        train(_cfg(color_folder, tmp_path / "x.safetensors", size=30), log=lambda _: None)
    with pytest.raises(ValueError, match="cannot resume.*does not exist"):
        resume_run(_cfg(color_folder, tmp_path / "none.safetensors"), log=lambda _: None)
    with pytest.raises(ValueError, match="no image file matches"):
        train(_cfg(color_folder, tmp_path / "inc.safetensors", include="^zzz"), log=lambda _: None)
    check_resume({"loss": "mse", "epochs": 3}, {"loss": "mse", "epochs": 9, "temperature": 0.38}, "o")
    with pytest.raises(ValueError, match=r"settings differ from the interrupted run \(loss, seed\)"):
        check_resume({"loss": "mse", "seed": 0}, {"loss": "huber", "seed": 1}, "o")


def test_lr_schedule_warms_up_and_decays():
    assert get_lr(0, 100, 10, 1.0, "cosine") == pytest.approx(0.1)
    assert get_lr(10, 100, 10, 1.0, "cosine") == pytest.approx(1.0)
    assert get_lr(100, 100, 10, 1.0, "cosine") == pytest.approx(0.05)
    assert get_lr(50, 100, 0, 1.0, "constant") == 1.0


def test_native_scale_training_on_images_of_several_sizes(tmp_path):
    import numpy as np
    from PIL import Image

    from helpers import make_color_image
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
