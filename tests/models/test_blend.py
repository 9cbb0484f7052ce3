"""The blend network: weighted mean of a classifier's and a regressor's a*b*, shapes, ONNX parity, round trip."""
import numpy as np
import pytest
import torch

from colorcore.checkpoints import Checkpoint, load_checkpoint, new_metadata, save_checkpoint
from colorcore.infer import colorize
from colorcore.models import create_model, get_spec

ARGS = {"vivid": {"name": "unet_resnet18_classes", "args": {"n_bins": 7}},
        "faithful": {"name": "unet_resnet18", "args": {}}, "weight": 0.7, "temperature": 0.3}


def _blend(**kw):
    torch.manual_seed(0)
    return create_model("blend", **{**ARGS, **kw}).eval()


def test_registered_as_an_untrainable_model_with_a_temperature():
    spec = get_spec("blend")
    assert spec.takes_temperature and not spec.trainable


@pytest.mark.parametrize("shape", [(8, 8), (40, 56), (72, 24)])
def test_output_is_the_weighted_mean_of_both_networks_at_any_size(shape):
    model = _blend()
    x = torch.randn(2, 1, *shape)
    out = model(x)
    expected = 0.7 * model.vivid(x, temperature=0.3) + 0.3 * model.faithful(x)
    assert out.shape == (2, 2, *shape) and out.dtype == torch.float32
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(model(x, temperature=0.5), 0.7 * model.vivid(x, temperature=0.5) + 0.3 * model.faithful(x))
    assert model.confidence(model(x, raw=True)).shape == (2, *shape)


def test_refuses_a_weight_outside_0_1_and_two_networks_of_one_kind():
    with pytest.raises(ValueError, match="weight must be in"):
        _blend(weight=1.5)
    with pytest.raises(ValueError, match="joins a classification and a regression model"):
        _blend(faithful=ARGS["vivid"])


def test_checkpoint_round_trip_and_onnx_parity(tmp_path):
    import onnxruntime as ort

    from colorcore.export import export_onnx

    model = _blend()
    path = tmp_path / "blend.safetensors"
    meta = new_metadata(name="blend", model_name="blend", model_args=ARGS, recipe="corrected")
    save_checkpoint(path, model, meta)
    loaded = load_checkpoint(path)
    x = torch.randn(1, 1, 40, 56)
    torch.testing.assert_close(loaded.model(x), model(x))
    assert loaded.model.temperature == 0.3
    image = np.random.default_rng(0).random((67, 101)).astype(np.float32)
    assert colorize(image, loaded, working_size=64).rgb.shape == (67, 101, 3)
    session = ort.InferenceSession(str(export_onnx(Checkpoint("blend", model, meta), tmp_path / "b.onnx")))
    (got,) = session.run(None, {"lightness": x.numpy()})
    np.testing.assert_allclose(got, model(x).detach().numpy(), atol=1e-3)
