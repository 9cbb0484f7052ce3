"""The one model interface (:class:`ColorModel`) and the gray baseline."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..quantize import annealed_mean
from ..units import AB_SCALE, SIZE_MULTIPLE, check_temperature


def check_lightness(lightness: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``lightness`` is (N, 1, H, W) with H, W multiples of SIZE_MULTIPLE."""
    if lightness.ndim != 4 or lightness.shape[1] != 1:
        raise ValueError(f"input must have shape (N, 1, H, W), got {tuple(lightness.shape)}")
    if lightness.shape[-2] % SIZE_MULTIPLE or lightness.shape[-1] % SIZE_MULTIPLE:
        raise ValueError(f"input height and width must be multiples of {SIZE_MULTIPLE}, "
                         f"got {tuple(lightness.shape[-2:])}")


class ColorModel(nn.Module):
    """Encoded lightness (N, 1, H, W) -> encoded a*b* (N, 2, H, W); what every registered model is.

    Subclasses implement :meth:`raw_output` (what the training loss scores) and,
    when that is not already a*b*, :meth:`decode`.  Callers use:

    * ``model(x)``: encoded a*b* (inference, ONNX export);
    * ``model(x, raw=True)``: the training output (through a DDP wrapper too);
    * ``model.decode(raw, temperature)``: the training output as encoded a*b*;
    * ``model.takes_temperature``: whether ``temperature`` means anything;
    * ``model.raw_and_features(x)``: the training output and the encoder features it came from (the
      outputs of its last two stages, which the domain check of :mod:`colorcore.domain` pools), in one
      pass; ``model.features(x)`` the features alone;
    * ``model.confidence(raw)``: per-pixel confidence in [0, 1] where the output has one.
    """

    #: True for models decoded with an annealed-mean temperature.
    takes_temperature = False

    def raw_output(self, lightness: torch.Tensor) -> torch.Tensor:
        """What the training loss scores (encoded a*b* for regression models)."""
        raise NotImplementedError

    def decode(self, raw: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """The training output as encoded a*b*: the identity for regression models.

        Raises
        ------
        ValueError
            If a temperature is given to a model that does not take one.
        """
        if temperature is not None:
            raise ValueError(f"{type(self).__name__} is a regression model; a temperature applies only "
                             "to classification (vivid-colour) models")
        return raw

    def raw_and_features(self, lightness: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """The training output and the encoder features it was computed from.

        The features are the outputs (N, C, h, w) of the encoder's last two stages, shallow first
        (the study's ResNet-18 front: layer1 at 1/4 and layer2 at 1/8 resolution), so the domain
        check costs no second pass; None for models without learned features (the gray baseline).
        """
        return self.raw_output(lightness), None

    def features(self, lightness: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
        """The encoder features alone (models with an encoder skip their decoder here)."""
        return self.raw_and_features(lightness)[1]

    def confidence(self, raw: torch.Tensor) -> torch.Tensor | None:
        """Per-pixel confidence (N, H, W) in [0, 1] at the resolution :meth:`decode` gives; None when the
        output carries none (a regression model predicts one colour, not a distribution)."""
        return None

    def forward(self, lightness: torch.Tensor, temperature: float | None = None,
                raw: bool = False) -> torch.Tensor:
        """Encoded a*b* (N, 2, H, W), or the training output when ``raw``."""
        out = self.raw_output(lightness)
        return out if raw else self.decode(out, temperature)


class GrayBaseline(ColorModel):
    """Predicts a* = b* = 0 everywhere (the ``gray`` baseline; nothing to train)."""

    def raw_output(self, lightness: torch.Tensor) -> torch.Tensor:
        return lightness.new_zeros((lightness.shape[0], 2, *lightness.shape[-2:]))


class ClassificationModel(ColorModel):
    """A model predicting a distribution over a*b* classes (Zhang et al. 2016), decoded by the annealed mean.

    Subclasses call :meth:`_init_classes` in their constructor and return class logits at half
    resolution from :meth:`raw_output`.  The bin centres and rebalancing weights are buffers, so
    they travel in the checkpoint with the weights.
    """

    takes_temperature = True

    def _init_classes(self, n_bins: int, temperature: float) -> None:
        if n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {n_bins}")
        self.temperature = check_temperature(temperature)
        self.register_buffer("centers", torch.zeros(n_bins, 2))
        self.register_buffer("class_weights", torch.ones(n_bins))

    def decode(self, raw: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Class logits -> encoded a*b* at twice their resolution (annealed mean; None: the default temperature)."""
        temperature = self.temperature if temperature is None else check_temperature(temperature)
        ab = annealed_mean(raw, self.centers, temperature) / AB_SCALE
        return F.interpolate(ab, scale_factor=2, mode="bilinear", align_corners=False)

    def confidence(self, raw: torch.Tensor) -> torch.Tensor:
        """How sure the class distribution is of one colour (N, H, W) in [0, 1], upsampled x2 like :meth:`decode`.

        1 - the spread of the distribution in a*b* (the square root of its expected squared distance
        from its mean colour, in Lab units) over the spread of a uniform distribution over the bins:
        1 when one colour has all the probability, 0 when the colours are as spread as all bins
        alike.  Unlike the entropy, it counts doubt between two near greens as little and doubt
        between green and red as much, as the a*b* error does.
        """
        probability = torch.softmax(raw.float(), dim=1)
        centers = self.centers.float()
        mean = torch.einsum("nqhw,qc->nchw", probability, centers)
        second = torch.einsum("nqhw,q->nhw", probability, (centers ** 2).sum(dim=1))
        spread = (second - (mean ** 2).sum(dim=1)).clamp(min=0).sqrt()
        uniform = ((centers - centers.mean(dim=0)) ** 2).sum(dim=1).mean().sqrt().clamp(min=1e-6)
        confidence = (1 - spread / uniform).clamp(0, 1)[:, None]
        return F.interpolate(confidence, scale_factor=2, mode="bilinear", align_corners=False)[:, 0].clamp(0, 1)
