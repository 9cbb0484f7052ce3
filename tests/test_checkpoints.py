"""The checkpoint format: typed metadata read from the header alone, safe loading, header rewrites, catalog."""
import pickle
import subprocess
import sys

import pytest
import torch

from colorcore import checkpoints as ck
from colorcore import metadata as md
from colorcore import paths
from colorcore.checkpoints import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
from colorcore.models import create_model
from helpers import SHIPPED_CHECKPOINTS


def test_metadata_reads_without_weights_and_bad_files_are_refused(tiny_checkpoint, tmp_path):
    meta = read_metadata(tiny_checkpoint)
    assert meta["model"]["name"] == "study_resnet18" and meta["history"]
    data = tiny_checkpoint.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.safetensors"):
        load_checkpoint(tmp_path / "cut.safetensors")
    with pytest.raises(CheckpointError, match="no checkpoint named 'nope'"):
        load_checkpoint("nope")


def test_pickle_payload_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"state": Payload()}))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


def test_weights_of_another_model_are_refused(tiny_checkpoint, tmp_path):
    import torch.nn as nn
    meta = read_metadata(tiny_checkpoint)
    other = tmp_path / "other.safetensors"
    save_checkpoint(other, nn.Linear(3, 2), meta)
    with pytest.raises(CheckpointError, match="do not fit model"):
        load_checkpoint(other)
    meta_bad = {**meta, "model": {"name": "resnet999", "args": {}}}
    save_checkpoint(other, create_model("study_resnet18"), meta_bad)
    with pytest.raises(CheckpointError, match="unknown model 'resnet999'"):
        load_checkpoint(other)


def test_catalog_only_never_turns_user_input_into_a_path(tiny_checkpoint, catalog_env):
    for text in (str(tiny_checkpoint), "../checkpoints/places12-mse", "/etc/passwd", "places12-mse.safetensors"):
        with pytest.raises(CheckpointError, match="no checkpoint named"):
            load_checkpoint(text, catalog_only=True)
    assert load_checkpoint("places12-mse", catalog_only=True).name == "places12-mse"


def test_update_metadata_rewrites_the_header_and_keeps_the_weight_bytes(tiny_checkpoint, tmp_path):
    path = tmp_path / "copy.safetensors"
    path.write_bytes(tiny_checkpoint.read_bytes())
    before = load_checkpoint(path).model.state_dict()
    ck.update_metadata(path, description="rewritten", recommended=True)
    meta = read_metadata(path)
    assert meta["description"] == "rewritten" and meta["recommended"] is True
    after = load_checkpoint(path).model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    ck.store_metrics(path, "val", {"n_images": 3, "psnr": 20.0})
    ck.store_metrics(path, "test", {"n_images": 4, "psnr": 21.0})
    assert md.split_metrics(read_metadata(path), "val")["psnr"] == 20.0
    assert md.split_metrics(read_metadata(path))["n_images"] == 4
    with pytest.raises(CheckpointError, match="gray baseline"):
        ck.update_metadata("gray", description="x")


def test_shipped_checkpoints_load_unchanged(monkeypatch):
    monkeypatch.delenv(paths.CHECKPOINTS_ENV, raising=False)
    names = [path.stem for path in SHIPPED_CHECKPOINTS]
    assert names and ck.catalog_names() == names  # the session's user folder is empty
    for name in names:
        ckpt = load_checkpoint(name)
        assert ckpt.meta["name"] == name
        out = ckpt.model(torch.zeros(1, 1, 16, 24))
        assert out.shape == (1, 2, 16, 24) and torch.isfinite(out).all()


def test_set_recommended_marks_one_checkpoint_per_domain(tiny_checkpoint, tmp_path, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / f"{name}.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(tmp_path))
    assert ck.set_recommended("a") == ["a"]
    assert sorted(ck.set_recommended("b")) == ["a", "b"]
    assert [read_metadata(n).get("recommended") for n in ("a", "b")] == [False, True]


def test_header_reading_needs_no_torch(tiny_checkpoint):
    code = ("import sys, colorcore.checkpoints as c; m = c.read_metadata(sys.argv[1]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; print(m['model']['name'])")
    out = subprocess.run([sys.executable, "-c", code, str(tiny_checkpoint)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "study_resnet18"
