"""The ResNet-18 front built without torchvision matches torchvision's resnet18 children 0-5 (the reference)."""
import torch
from torch import nn
from torchvision.models import resnet18

from colorcore.models.resnet import resnet18_front, torchvision_front


def _reference() -> nn.Sequential:
    ref = resnet18(weights=None)
    ref.conv1.weight = nn.Parameter(ref.conv1.weight.sum(dim=1, keepdim=True))
    return nn.Sequential(*list(ref.children())[0:6])


def test_same_state_dict_keys_and_shapes_as_torchvision():
    ours, ref = resnet18_front().state_dict(), _reference().state_dict()
    assert list(ours) == list(ref)
    assert all(ours[k].shape == ref[k].shape for k in ref)


def test_same_outputs_as_torchvision_with_the_same_weights():
    torch.manual_seed(0)
    ref = _reference()
    for module in ref.modules():  # non-trivial BatchNorm statistics, so eval mode is tested too
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    ours = resnet18_front()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 1, 40, 56)
    for mode in ("eval", "train"):
        getattr(ref, mode)(), getattr(ours, mode)()
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_torchvision_front_is_the_studys_initialisation():
    torch.manual_seed(3)
    a = torchvision_front().state_dict()
    torch.manual_seed(3)
    b = _reference().state_dict()
    assert all(torch.equal(a[k], b[k]) for k in b)
