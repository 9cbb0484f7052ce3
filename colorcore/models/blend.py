"""A classifier's vivid annealed mean blended with a regressor's faithful a*b*, in one network.

Classification with class rebalancing gives real colour but errs boldly where it errs (PSNR below
the gray image); regression is faithful but sepia, its errors pulled toward the mean colour.  The
blend ``weight * vivid + (1 - weight) * faithful`` keeps most of the colour while the regressor damps
the bold mistakes; the weight and the temperature are chosen on a validation split
(:mod:`colorcore.blend`).  Both networks see the same input; the classifier's encoder features feed
the domain check and its class distribution the confidence map.
"""
from __future__ import annotations

import torch

from ..units import check_temperature
from . import create_model
from .base import ColorModel


class BlendNet(ColorModel):
    """``weight`` x a classifier's annealed mean + (1 - ``weight``) x a regressor's a*b*.

    Parameters
    ----------
    vivid, faithful : dict
        ``{"name": registry name, "args": constructor arguments}`` of the classification and the
        regression network.
    weight : float
        Share of the classifier, in [0, 1].
    temperature : float
        Default annealed-mean temperature of the classifier.
    init : bool, default True
        Passed to both networks (False when weights are loaded next).
    """

    takes_temperature = True

    def __init__(self, vivid: dict, faithful: dict, weight: float, temperature: float, *, init: bool = True):
        super().__init__()
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"blend weight must be in [0, 1], got {weight}")
        self.vivid = create_model(vivid["name"], **{**vivid.get("args", {}), "temperature": temperature},
                                  init=init)
        self.faithful = create_model(faithful["name"], **faithful.get("args", {}), init=init)
        if not self.vivid.takes_temperature or self.faithful.takes_temperature:
            raise ValueError(f"a blend joins a classification and a regression model, got {vivid['name']!r} "
                             f"and {faithful['name']!r}")
        self.weight = float(weight)
        self.temperature = check_temperature(temperature)

    def raw_and_features(self, lightness: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple]:
        """(class logits, encoded a*b*) and the classifier's encoder features, in one pass of each network."""
        logits, features = self.vivid.raw_and_features(lightness)
        return (logits, self.faithful.raw_output(lightness)), features

    def raw_output(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(class logits, encoded a*b*)."""
        return self.raw_and_features(lightness)[0]

    def decode(self, raw: tuple[torch.Tensor, torch.Tensor], temperature: float | None = None) -> torch.Tensor:
        """The weighted mean of the classifier's annealed mean (at ``temperature``) and the regressor's a*b*."""
        logits, ab = raw
        temperature = self.temperature if temperature is None else temperature
        return self.weight * self.vivid.decode(logits, temperature) + (1.0 - self.weight) * ab

    def confidence(self, raw: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The classifier's confidence (how sure its class distribution is of one colour)."""
        return self.vivid.confidence(raw[0])
