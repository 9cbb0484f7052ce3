"""The student study's network (after lukemelas/Automatic-Image-Colorization), as regressor and as classifier."""
from __future__ import annotations

import torch
from torch import nn

from ..units import DEFAULT_TEMPERATURE
from .base import ClassificationModel, ColorModel, check_lightness
from .resnet import resnet18_front, torchvision_front


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def _study_decoder(out_channels: int) -> list[nn.Module]:
    """Conv128-BN-ReLU, up x2, Conv64-BN-ReLU, Conv64-BN-ReLU, up x2, Conv32-BN-ReLU, Conv (the last up x2 left out)."""
    return [*_conv_bn_relu(128, 128), nn.Upsample(scale_factor=2),
            *_conv_bn_relu(128, 64), *_conv_bn_relu(64, 64), nn.Upsample(scale_factor=2),
            *_conv_bn_relu(64, 32), nn.Conv2d(32, out_channels, kernel_size=3, padding=1)]


def _encoder(init: bool) -> nn.Sequential:
    return torchvision_front() if init else resnet18_front()


class _EncoderDecoder(ColorModel):
    """The study's shape: ``decoder(encoder(x))``; the encoder's output is what the domain check pools."""

    def features(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's layer1 (N, 64, H/4, W/4) and layer2 (N, 128, H/8, W/8) outputs."""
        check_lightness(lightness)
        layer1 = self.encoder[:5](lightness)
        return layer1, self.encoder[5](layer1)

    def raw_and_features(self, lightness: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """The training output and the encoder's features, in one pass."""
        features = self.features(lightness)
        return self.decoder(features[-1]), features

    def raw_output(self, lightness: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) encoded lightness -> encoded a*b* (N, 2, H, W), or class logits (N, Q, H/2, W/2)."""
        return self.raw_and_features(lightness)[0]


class StudyColorNet(_EncoderDecoder):
    """The student study's network (after lukemelas/Automatic-Image-Colorization): a*b* regression.

    Encoder: the ResNet-18 front (:mod:`colorcore.models.resnet`: conv1 over one
    channel, bn1, relu, maxpool, layer1, layer2): 128 channels at 1/8 resolution.
    Decoder: Conv128-BN-ReLU, up x2, Conv64-BN-ReLU, Conv64-BN-ReLU, up x2,
    Conv32-BN-ReLU, Conv2, up x2 (nearest-neighbour upsampling, as the study).

    Parameters
    ----------
    init : bool, default True
        Initialise as the study did (torchvision's ResNet-18 initialisation, which
        imports torchvision); False when weights are loaded right after.
    """

    def __init__(self, *, init: bool = True):
        super().__init__()
        self.encoder = _encoder(init)
        self.decoder = nn.Sequential(*_study_decoder(2), nn.Upsample(scale_factor=2))


class StudyClassNet(_EncoderDecoder, ClassificationModel):
    """The study's network as a classifier over quantised a*b* (Zhang et al. 2016).

    Same encoder and decoder as :class:`StudyColorNet` with ``n_bins`` output
    channels and without the last upsampling: logits come at half resolution
    (as the paper predicts at reduced resolution), are decoded by the annealed
    mean and the a*b* upsampled bilinearly.  The bin centres and rebalancing
    weights are buffers, so they travel in the checkpoint with the weights.

    Parameters
    ----------
    n_bins : int
        Number of a*b* classes (set by the training data; see :func:`colorcore.quantize.fit_bins`).
    temperature : float, default 0.38
        Default annealed-mean temperature.
    init : bool, default True
        As in :class:`StudyColorNet`.
    """

    def __init__(self, n_bins: int, temperature: float = DEFAULT_TEMPERATURE, *, init: bool = True):
        super().__init__()
        self._init_classes(n_bins, temperature)
        self.encoder = _encoder(init)
        self.decoder = nn.Sequential(*_study_decoder(n_bins))
