"""ONNX export: dynamic height and width, onnxruntime agrees with PyTorch within 1e-3."""
import numpy as np
import onnx
import onnxruntime as ort
import torch

from colorcore.checkpoints import load_checkpoint
from colorcore.cli import main


def test_onnx_matches_pytorch_on_random_inputs_of_several_sizes(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "tiny.onnx"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--onnx", str(out)]) == 0
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["recipe"] == "corrected" and meta["size_multiple"] == "8"
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    model = load_checkpoint(tiny_checkpoint).model
    rng = np.random.default_rng(0)
    for shape in [(1, 1, 32, 48), (2, 1, 96, 40), (1, 1, 200, 304)]:
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {"lightness": x})[0]
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() < 1e-3
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--onnx", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["export", "--checkpoint", "gray", "--onnx", str(tmp_path / "g.onnx")]) == 2


def test_classifier_exports_with_its_annealed_mean(tiny_classifier, tmp_path):
    out = tmp_path / "vivid.onnx"
    assert main(["export", "--checkpoint", str(tiny_classifier), "--onnx", str(out)]) == 0
    assert {p.key: p.value for p in onnx.load(str(out)).metadata_props}["temperature"].startswith("0.38")
    x = np.random.default_rng(1).uniform(-1, 1, (1, 1, 40, 56)).astype(np.float32)
    with torch.no_grad():
        ref = load_checkpoint(tiny_classifier).model(torch.from_numpy(x)).numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"lightness": x})[0]
    assert got.shape == ref.shape == (1, 2, 40, 56) and np.abs(got - ref).max() < 1e-3
