"""The U-Net models: shapes for any multiple-of-8 size, training step, ONNX parity, checkpoint round trip."""
import numpy as np
import pytest
import torch

from colorcore.checkpoints import load_checkpoint, new_metadata, save_checkpoint
from colorcore.infer import colorize
from colorcore.models import create_model

MODELS = [("unet_resnet18", {}), ("unet_resnet18_classes", {"n_bins": 7})]


@pytest.mark.parametrize("name,kwargs", MODELS)
@pytest.mark.parametrize("shape", [(8, 8), (40, 56), (72, 24)])
def test_output_size_and_dtype(name, kwargs, shape):
    model = create_model(name, **kwargs).eval()
    out = model(torch.randn(2, 1, *shape))
    assert out.shape == (2, 2, *shape) and out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("name,kwargs", MODELS)
def test_forward_backward_on_a_tiny_batch(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, **kwargs).train()
    raw = model(torch.randn(3, 1, 32, 48), raw=True)
    raw.float().square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.encoder[0].weight.grad.abs().sum() > 0  # gradients reach the encoder through the skips


@pytest.mark.parametrize("name,kwargs", MODELS)
def test_checkpoint_round_trip_and_colorize_at_odd_image_sizes(name, kwargs, tmp_path):
    model = create_model(name, **kwargs).eval()
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(path, model, new_metadata(name=name, model_name=name, model_args=kwargs, recipe="corrected"))
    loaded = load_checkpoint(path)
    x = torch.randn(1, 1, 40, 56)
    torch.testing.assert_close(loaded.model(x), model(x))
    image = np.random.default_rng(0).random((67, 101)).astype(np.float32)
    assert colorize(image, loaded, working_size=64).rgb.shape == (67, 101, 3)


@pytest.mark.parametrize("name,kwargs", MODELS)
def test_onnx_export_matches_pytorch(name, kwargs, tmp_path):
    import onnxruntime as ort

    from colorcore.checkpoints import Checkpoint
    from colorcore.export import export_onnx

    model = create_model(name, **kwargs).eval()
    meta = new_metadata(name=name, model_name=name, model_args=kwargs, recipe="corrected")
    path = export_onnx(Checkpoint(name, model, meta), tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path))
    for shape in ((32, 48), (64, 40)):
        x = torch.randn(1, 1, *shape)
        (got,) = session.run(None, {"lightness": x.numpy()})
        np.testing.assert_allclose(got, model(x).detach().numpy(), atol=1e-3)
