"""The registry is the one source of truth on a model's kind; models share one interface; no torch to list them."""
import subprocess
import sys

import pytest
import torch

from colorcore.models import CLASSIFICATION, REGISTRY, REGRESSION, create_model, get_spec, trainable_names


def test_specs_say_kind_loss_and_temperature():
    assert get_spec("study_resnet18").kind == REGRESSION and get_spec("study_resnet18").default_loss == "huber"
    vivid = get_spec("study_resnet18_classes")
    assert vivid.kind == CLASSIFICATION and vivid.default_loss == "ce" and vivid.takes_temperature
    assert not get_spec("gray").trainable and "gray" not in trainable_names()
    with pytest.raises(ValueError, match="unknown model 'nope'; available: blend, gray, study_resnet18"):
        get_spec("nope")


@pytest.mark.parametrize("name,kwargs", [("study_resnet18", {}), ("study_resnet18_classes", {"n_bins": 6}),
                                         ("gray", {})])
def test_every_model_has_the_one_interface(name, kwargs):
    model = create_model(name, **kwargs).eval()
    assert model.takes_temperature == REGISTRY[name].takes_temperature
    x = torch.randn(2, 1, 24, 40)
    raw = model(x, raw=True)
    ab = model.decode(raw)
    assert ab.shape == (2, 2, 24, 40) and torch.equal(ab, model(x))
    if not model.takes_temperature:
        assert raw is not None and torch.equal(raw, ab)
        with pytest.raises(ValueError, match="regression model"):
            model(x, 0.3)


def test_classifier_temperature_changes_the_decoding_but_not_the_logits():
    model = create_model("study_resnet18_classes", n_bins=6, temperature=0.2).eval()
    model.centers.copy_(torch.tensor([[-40.0, 0], [40, 0], [0, 40], [0, -40], [20, 20], [-20, -20]]))
    x = torch.randn(1, 1, 16, 16)
    assert model.temperature == 0.2
    assert not torch.equal(model(x), model(x, 1.0))
    torch.testing.assert_close(model(x), model(x, 0.2))


def test_registry_imports_without_torch():
    code = "import sys, colorcore.models as m; m.get_spec('study_resnet18'); assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
