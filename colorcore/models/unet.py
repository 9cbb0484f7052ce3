"""A U-Net on the study's ResNet-18 front: skip connections from every encoder stage, bilinear upsampling.

The study's network decodes from 1/8 resolution alone with nearest-neighbour upsampling, so
colour bleeds across edges and small structures get no colour of their own.  This decoder
joins, on the way up, the encoder's 1/4 and 1/2 resolution features and the input lightness
itself, and upsamples bilinearly.  The encoder is the same module as the study's (same
state-dict keys under ``encoder.``), so a study checkpoint's encoder can seed it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..units import DEFAULT_TEMPERATURE
from .base import ClassificationModel, ColorModel, check_lightness
from .study import _conv_bn_relu, _encoder


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class _UNetBody(ColorModel):
    """Encoder stages -> decoder features at 1/2 resolution (64 channels) and the full-resolution tail."""

    def __init__(self, init: bool):
        super().__init__()
        self.encoder = _encoder(init)
        self.bottom = nn.Sequential(*_conv_bn_relu(128, 128))           # 1/8
        self.up4 = nn.Sequential(*_conv_bn_relu(128 + 64, 96), *_conv_bn_relu(96, 96))   # 1/4 + layer1
        self.up2 = nn.Sequential(*_conv_bn_relu(96 + 64, 64), *_conv_bn_relu(64, 64))    # 1/2 + stem

    def half_resolution(self, lightness: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(N, 1, H, W) -> decoder features (N, 64, H/2, W/2) and the encoder's layer1 and layer2 outputs."""
        check_lightness(lightness)
        stem = self.encoder[2](self.encoder[1](self.encoder[0](lightness)))   # conv1, bn1, relu: 1/2
        s4 = self.encoder[4](self.encoder[3](stem))                            # maxpool, layer1: 1/4
        deep = self.encoder[5](s4)                                             # layer2: 1/8
        x = self.up4(torch.cat([_up(self.bottom(deep), s4), s4], dim=1))
        return self.up2(torch.cat([_up(x, stem), stem], dim=1)), (s4, deep)

    def raw_output(self, lightness: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) encoded lightness -> encoded a*b* (N, 2, H, W), or class logits (N, Q, H/2, W/2)."""
        return self.raw_and_features(lightness)[0]


class UNetColorNet(_UNetBody):
    """U-Net regression of a*b*: the half-resolution features, upsampled and joined with the lightness.

    Parameters
    ----------
    init : bool, default True
        Initialise the encoder as the study did (torchvision's); False when weights are loaded next.
    """

    def __init__(self, *, init: bool = True):
        super().__init__(init)
        self.full = nn.Sequential(*_conv_bn_relu(64 + 1, 32), nn.Conv2d(32, 2, kernel_size=3, padding=1))

    def raw_and_features(self, lightness: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Encoded a*b* (N, 2, H, W) and the encoder's features, in one pass."""
        x, features = self.half_resolution(lightness)
        return self.full(torch.cat([_up(x, lightness), lightness], dim=1)), features


class UNetClassNet(_UNetBody, ClassificationModel):
    """U-Net classifier over quantised a*b* (Zhang et al. 2016): logits at half resolution, annealed mean.

    Parameters
    ----------
    n_bins : int
        Number of a*b* classes.
    temperature : float, default 0.38
        Default annealed-mean temperature.
    init : bool, default True
        As in :class:`UNetColorNet`.
    """

    def __init__(self, n_bins: int, temperature: float = DEFAULT_TEMPERATURE, *, init: bool = True):
        super().__init__(init)
        self._init_classes(n_bins, temperature)
        self.head = nn.Conv2d(64, n_bins, kernel_size=1)

    def raw_and_features(self, lightness: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Class logits (N, Q, H/2, W/2) and the encoder's features, in one pass."""
        x, features = self.half_resolution(lightness)
        return self.head(x), features
