"""The ResNet-18 front (children 0-5: conv1 ... layer2) with one input channel, without importing torchvision.

Its module names and state-dict keys are those of ``nn.Sequential(*list(torchvision.models.resnet18().children())[:6])``,
so the shipped checkpoints load unchanged; ``tests/models/test_resnet.py`` checks keys and outputs against
torchvision, which stays the reference.  Building it here keeps ``import torchvision.models`` (about 5 s:
it imports torch._dynamo, sympy and triton) out of inference.  Training still initialises from torchvision
(:func:`torchvision_front`) so that a seed gives the same network as it always did.
"""
from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock``: two 3x3 convolutions and a shortcut (1x1 conv when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, kernel_size=1, stride=stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def resnet18_front() -> nn.Sequential:
    """conv1 (1 channel in), bn1, relu, maxpool, layer1, layer2: (N, 1, H, W) -> (N, 128, H/8, W/8)."""
    return nn.Sequential(
        nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64)),
        nn.Sequential(BasicBlock(64, 128, stride=2), BasicBlock(128, 128)),
    )


def torchvision_front() -> nn.Sequential:
    """The study's encoder as the study built it: an untrained torchvision ``resnet18`` with ``conv1``
    summed over its RGB filters, children 0-5 (torchvision's initialisation and random-number use)."""
    from torchvision.models import resnet18  # slow import, paid by training only

    resnet = resnet18(weights=None)
    resnet.conv1.weight = nn.Parameter(resnet.conv1.weight.sum(dim=1, keepdim=True))
    return nn.Sequential(*list(resnet.children())[0:6])
