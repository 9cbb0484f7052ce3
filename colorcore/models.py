"""Model registry: a name -> a factory, so checkpoints can rebuild their network.

Every model maps a one-channel lightness tensor ``(N, 1, H, W)`` (H and W
multiples of :data:`SIZE_MULTIPLE`) to a two-channel tensor ``(N, 2, H, W)``
of encoded a*b* (see :mod:`colorcore.lab` for the encodings).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

#: Input height and width must be multiples of this (the encoder's stride).
SIZE_MULTIPLE = 8


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class StudyColorNet(nn.Module):
    """The student study's network (after lukemelas/Automatic-Image-Colorization).

    Encoder: torchvision ``resnet18`` with no pretrained weights, ``conv1``
    summed over its RGB filters to take one channel, children 0-5 (conv1, bn1,
    relu, maxpool, layer1, layer2): 128 channels at 1/8 resolution.
    Decoder: Conv128-BN-ReLU, up x2, Conv64-BN-ReLU, Conv64-BN-ReLU, up x2,
    Conv32-BN-ReLU, Conv2, up x2 (nearest-neighbour upsampling, as the study).

    Parameters
    ----------
    out_channels : int, default 2
        Output channels (2 for a*b* regression).
    """

    def __init__(self, out_channels: int = 2):
        super().__init__()
        from torchvision.models import resnet18  # imported here: torchvision's import is slow

        resnet = resnet18(weights=None)
        resnet.conv1.weight = nn.Parameter(resnet.conv1.weight.sum(dim=1, keepdim=True))
        self.encoder = nn.Sequential(*list(resnet.children())[0:6])
        self.decoder = nn.Sequential(
            *_conv_bn_relu(128, 128), nn.Upsample(scale_factor=2),
            *_conv_bn_relu(128, 64), *_conv_bn_relu(64, 64), nn.Upsample(scale_factor=2),
            *_conv_bn_relu(64, 32), nn.Conv2d(32, out_channels, kernel_size=3, padding=1),
            nn.Upsample(scale_factor=2),
        )

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) encoded lightness -> (N, out_channels, H, W)."""
        if lightness.ndim != 4 or lightness.shape[1] != 1:
            raise ValueError(f"input must have shape (N, 1, H, W), got {tuple(lightness.shape)}")
        if lightness.shape[-2] % SIZE_MULTIPLE or lightness.shape[-1] % SIZE_MULTIPLE:
            raise ValueError(f"input height and width must be multiples of {SIZE_MULTIPLE}, "
                             f"got {tuple(lightness.shape[-2:])}")
        return self.decoder(self.encoder(lightness))


MODELS: dict[str, Callable[..., nn.Module]] = {
    "study_resnet18": StudyColorNet,
}


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model by name.

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the choices).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)
