"""Model registry: a name -> a :class:`ModelSpec` (factory, kind, default loss), so checkpoints rebuild their network.

Every model is a :class:`colorcore.models.base.ColorModel`: it maps encoded lightness
``(N, 1, H, W)`` (H and W multiples of :data:`colorcore.units.SIZE_MULTIPLE`) to encoded a*b* ``(N, 2, H, W)``,
and callers ask it (``takes_temperature``, ``decode``, ``forward(..., raw=True)``) instead of
testing its type.  This module imports no torch: the CLI lists and validates model names
without it, and a network's module is imported when one is built.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING


if TYPE_CHECKING:  # pragma: no cover
    from .base import ColorModel

#: A model predicting encoded a*b* directly (trained with a regression loss).
REGRESSION = "regression"
#: A model predicting a distribution over a*b* classes (trained with the class loss, decoded by temperature).
CLASSIFICATION = "classification"
#: A classifier's annealed mean blended with a regressor's a*b* (built from two trained checkpoints).
BLEND = "blend"


@dataclass(frozen=True)
class ModelSpec:
    """What the rest of colorcore needs to know about a registered model.

    Attributes
    ----------
    name : str
        Registry name, stored in checkpoints.
    factory : str
        ``"module:Class"`` of the network (imported on first use).
    kind : str
        :data:`REGRESSION`, :data:`CLASSIFICATION` or :data:`BLEND`.
    default_loss : str or None
        Training criterion used when none is given; None for models that cannot be trained.
    description : str
        One line for listings and ``--help``.
    """

    name: str
    factory: str
    kind: str
    default_loss: str | None
    description: str

    @property
    def takes_temperature(self) -> bool:
        """True for models whose decoding has an annealed-mean temperature (classification, blend); these
        also give a per-pixel confidence."""
        return self.kind in (CLASSIFICATION, BLEND)

    @property
    def classifies(self) -> bool:
        """True for models that predict a*b* classes: their classes and colour prior are fitted to the training
        images and they train with the class loss."""
        return self.kind == CLASSIFICATION

    @property
    def regresses(self) -> bool:
        """True for models that predict a*b* directly (trained with a regression loss, or a fixed baseline)."""
        return self.kind == REGRESSION

    @property
    def trainable(self) -> bool:
        """False for fixed baselines."""
        return self.default_loss is not None

    def build(self, **kwargs) -> "ColorModel":
        """Construct the network (imports its module, and torch, now)."""
        module, cls = self.factory.split(":")
        return getattr(importlib.import_module(module), cls)(**kwargs)


REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("study_resnet18", "colorcore.models.study:StudyColorNet", REGRESSION, "huber",
              "the study's network: ResNet-18 front at 1/8 resolution, nearest-neighbour decoder, a*b* regression"),
    ModelSpec("study_resnet18_classes", "colorcore.models.study:StudyClassNet", CLASSIFICATION, "ce",
              "the study's network classifying a*b* bins (Zhang et al. 2016): vivid colours"),
    ModelSpec("unet_resnet18", "colorcore.models.unet:UNetColorNet", REGRESSION, "huber",
              "U-Net on the study's encoder: skips from every stage, bilinear upsampling, a*b* regression"),
    ModelSpec("unet_resnet18_classes", "colorcore.models.unet:UNetClassNet", CLASSIFICATION, "ce",
              "U-Net on the study's encoder classifying a*b* bins: vivid colours with sharp edges"),
    ModelSpec("blend", "colorcore.models.blend:BlendNet", BLEND, None,
              "a classifier's annealed mean blended with a regressor's a*b* (colorcore blend): vivid and faithful"),
    ModelSpec("gray", "colorcore.models.base:GrayBaseline", REGRESSION, None,
              "baseline: a* = b* = 0 (the input's gray levels)"),
)}


def get_spec(name: str) -> ModelSpec:
    """The registry entry of ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the choices).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(sorted(REGISTRY))}") from None


def trainable_names() -> list[str]:
    """Registry names that ``colorcore train`` accepts, sorted."""
    return sorted(name for name, spec in REGISTRY.items() if spec.trainable)


def create_model(name: str, **kwargs) -> "ColorModel":
    """Build a registered model by name (``kwargs`` go to its constructor).

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the choices).
    """
    return get_spec(name).build(**kwargs)
