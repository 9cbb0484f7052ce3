"""Model registry: a name -> a factory, so checkpoints can rebuild their network.

Every model maps a one-channel lightness tensor ``(N, 1, H, W)`` (H and W
multiples of :data:`SIZE_MULTIPLE`) to a two-channel tensor ``(N, 2, H, W)``
of encoded a*b* (see :mod:`colorcore.lab` for the encodings).  Classification
models (:class:`StudyClassNet`) also give their class logits for training.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .lab import AB_SCALE
from .quantize import DEFAULT_TEMPERATURE, annealed_mean, check_temperature

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
        check_lightness(lightness)
        return self.decoder(self.encoder(lightness))


class StudyClassNet(nn.Module):
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
    """

    def __init__(self, n_bins: int, temperature: float = DEFAULT_TEMPERATURE):
        super().__init__()
        if n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {n_bins}")
        base = StudyColorNet(out_channels=n_bins)
        self.encoder = base.encoder
        self.decoder = base.decoder[:-1]
        self.temperature = check_temperature(temperature)
        self.register_buffer("centers", torch.zeros(n_bins, 2))
        self.register_buffer("class_weights", torch.ones(n_bins))

    def logits(self, lightness: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) encoded lightness -> class logits (N, Q, H/2, W/2)."""
        check_lightness(lightness)
        return self.decoder(self.encoder(lightness))

    def decode(self, logits: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Class logits -> encoded a*b* at twice their resolution (annealed mean)."""
        temperature = self.temperature if temperature is None else check_temperature(temperature)
        ab = annealed_mean(logits, self.centers, temperature) / AB_SCALE
        return F.interpolate(ab, scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, lightness: torch.Tensor, temperature: float | None = None,
                return_logits: bool = False) -> torch.Tensor:
        """Encoded a*b* (N, 2, H, W), or the logits if ``return_logits`` (for training under DDP)."""
        logits = self.logits(lightness)
        return logits if return_logits else self.decode(logits, temperature)


def check_lightness(lightness: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``lightness`` is (N, 1, H, W) with H, W multiples of SIZE_MULTIPLE."""
    if lightness.ndim != 4 or lightness.shape[1] != 1:
        raise ValueError(f"input must have shape (N, 1, H, W), got {tuple(lightness.shape)}")
    if lightness.shape[-2] % SIZE_MULTIPLE or lightness.shape[-1] % SIZE_MULTIPLE:
        raise ValueError(f"input height and width must be multiples of {SIZE_MULTIPLE}, "
                         f"got {tuple(lightness.shape[-2:])}")


def is_classifier(model: nn.Module) -> bool:
    """True for classification models (they take a ``temperature`` and train on logits)."""
    return isinstance(model, StudyClassNet)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "study_resnet18": StudyColorNet,
    "study_resnet18_classes": StudyClassNet,
}
#: Registry names of the classification models (trained with the ``ce`` loss).
CLASSIFIERS = ("study_resnet18_classes",)


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
