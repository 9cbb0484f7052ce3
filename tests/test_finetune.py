"""Fine-tuning (``train --init-from``): the parent's exact weights at step 0, its settings, clear refusals, the record."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorcore import finetune
from colorcore.checkpoints import load_checkpoint, read_metadata
from colorcore.config import FINETUNE_DEFAULTS, TrainConfig
from colorcore.finetune import config_from_options, file_sha256
from colorcore.train import estimate_val, setup, train
from helpers import make_color_image

ROOT = Path(__file__).resolve().parent.parent


def _finetune(folder, out, parent, **given) -> TrainConfig:
    """A fine-tuning config built as the command line builds it (parent's settings under the given ones)."""
    values = dict(data=str(folder), out=str(out), init_from=str(parent), train_images=8, val_images=4,
                  test_images=4, seed=1, **given)
    return config_from_options(values)


@pytest.fixture(scope="module")
def stain_folder(tmp_path_factory) -> Path:
    """16 small images in a palette the tiny checkpoints never saw: channels of ``make_color_image`` swapped
    and tinted pink-purple, like a stain."""
    root = tmp_path_factory.mktemp("stain")
    rng = np.random.default_rng(3)
    for i in range(16):
        rgb = make_color_image(rng, 40, 48)[..., [0, 2, 1]].astype(np.float32)
        rgb = rgb * 0.6 + np.array([100, 20, 90], np.float32)
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(root / f"stain_{i:02d}.png")
    return root


def _counted(fn, calls: list, name: str):
    def counted(*args, **kwargs):
        calls.append(name)
        return fn(*args, **kwargs)
    return counted


def _predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize("parent_fixture", ["tiny_checkpoint", "tiny_classifier"])
def test_step_zero_is_the_parent(parent_fixture, color_folder, tmp_path, request, monkeypatch):
    parent = request.getfixturevalue(parent_fixture)
    cfg = _finetune(color_folder, tmp_path / "ft.safetensors", parent)
    reads = []
    for module, name in ((finetune, "load_checkpoint"), (finetune, "read_metadata"), (finetune, "check_parent")):
        monkeypatch.setattr(module, name, _counted(getattr(module, name), reads, name))
    run = setup(cfg, log=lambda _: None)
    assert sorted(reads) == ["check_parent", "load_checkpoint"]  # the parent is read and checked once
    reference = load_checkpoint(parent)
    x = torch.randn(2, 1, 32, 40)
    assert torch.equal(_predict(run.model, x), _predict(reference.model, x))
    for key, value in reference.model.state_dict().items():
        assert torch.equal(run.model.state_dict()[key], value), key
    parent_meta = read_metadata(parent)
    assert run.meta["model"] == parent_meta["model"] and run.meta["recipe"] == parent_meta["recipe"]
    if parent_fixture == "tiny_classifier":  # the parent's colour classes, not refitted on the new images
        assert torch.equal(run.model.centers, reference.model.centers)
        assert run.meta["classes"] == parent_meta["classes"]


def test_settings_come_from_the_parent_with_fine_tuning_defaults(tiny_classifier, color_folder, tmp_path):
    cfg = _finetune(color_folder, tmp_path / "ft.safetensors", tiny_classifier)
    parent = read_metadata(tiny_classifier)["train_config"]
    assert (cfg.model, cfg.loss, cfg.size, cfg.batch) == ("study_resnet18_classes", "ce", parent["size"],
                                                          parent["batch"])
    assert (cfg.lr, cfg.epochs, cfg.warmup_epochs) == tuple(FINETUNE_DEFAULTS[k] for k in
                                                            ("lr", "epochs", "warmup_epochs"))
    assert _finetune(color_folder, tmp_path / "x.safetensors", tiny_classifier, lr=5e-4, epochs=3).lr == 5e-4


def test_incompatible_choices_are_refused_in_one_clear_error(tiny_checkpoint, tiny_classifier, color_folder,
                                                             tmp_path):
    out = tmp_path / "ft.safetensors"
    cfg = _finetune(color_folder, out, tiny_checkpoint, model="study_resnet18_classes", loss="ce")
    with pytest.raises(ValueError, match=r"cannot fine-tune from .*tiny.safetensors: --model study_resnet18_classes "
                                         r"\(the parent is a study_resnet18 model\)"):
        setup(cfg, log=lambda _: None)
    cfg = _finetune(color_folder, out, tiny_classifier, rebalance=0.9)
    with pytest.raises(ValueError, match=r"--rebalance 0.9 \(the parent's \d+ colour classes.*reused"):
        setup(cfg, log=lambda _: None)
    with pytest.raises(ValueError, match="gray baseline has no weights"):
        _finetune(color_folder, out, "gray")
    assert not out.exists()


def test_command_line_refuses_another_model_with_one_line(tiny_checkpoint, color_folder, tmp_path):
    out = tmp_path / "cli.safetensors"
    proc = subprocess.run([sys.executable, "-m", "colorcore", "train", "--data", str(color_folder), "--out", str(out),
                           "--init-from", str(tiny_checkpoint), "--model", "study_resnet18_classes"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot fine-tune from" in lines[0] and "--model study_resnet18_classes" in lines[0]
    assert not out.exists()


def test_fine_tuning_records_the_parent_and_lowers_the_validation_loss(tiny_checkpoint, stain_folder, tmp_path):
    out = tmp_path / "ft.safetensors"
    meta = train(_finetune(stain_folder, out, tiny_checkpoint, epochs=4, lr=1e-3), log=lambda _: None)
    parent = read_metadata(tiny_checkpoint)
    assert meta["parent"]["name"] == parent["name"] == "tiny"
    assert meta["parent"]["sha256"] == file_sha256(tiny_checkpoint)
    assert read_metadata(out)["parent"] == meta["parent"]
    assert meta["data"]["split"]["train"] == 8 and len(meta["data"]["split_sha256"]["test"]) == 64
    start = meta["parent"]["val"]["val_loss"]
    final = meta["history"][-1]["val_loss"]
    assert math.isfinite(start) and final < 0.8 * start, (start, final)
    # the recorded starting point is the parent on this run's validation images
    ckpt = load_checkpoint(tiny_checkpoint)
    from colorcore.data import prepare_data
    from colorcore.train import model_loss
    data = prepare_data(TrainConfig(**{**meta["train_config"], "out": str(tmp_path / "y")}), lambda _: None)
    cfg = TrainConfig(**meta["train_config"])
    again = estimate_val(ckpt.model, data.val, "corrected", torch.device("cpu"), model_loss(cfg, ckpt.model))
    assert again["val_loss"] == pytest.approx(start, rel=1e-5)
