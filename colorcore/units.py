"""Lab ranges, network scales, recipe names and colour-class defaults: the numbers that modules without torch share.

:mod:`colorcore.lab` converts colours with these; the training configuration, the
command line, checkpoint metadata and the models check names, sizes and temperatures
against them without importing torch.  This module imports nothing of colorcore.
"""
from __future__ import annotations

#: Largest |a*| and |b*| considered (sRGB reaches about -86..98 in a* and -108..95 in b*): the range
#: of the a*b* histograms, of the colour classes' grid, and the scale of regression targets.
AB_LIMIT = 110.0
#: Lab units -> network units for a*b* in the corrected recipe (gray is 0, the gamut within [-1, 1]).
AB_SCALE = AB_LIMIT
#: L* -> network units: ``(L - L_CENTER) / L_SCALE`` is in [-1, 1].
L_CENTER = 50.0
L_SCALE = 50.0
#: Default long side (px) of the image the network sees at inference (the output keeps the input's size).
DEFAULT_WORKING_SIZE = 512
#: How an image becomes a network input and target (see :mod:`colorcore.lab`).
RECIPES = ("corrected", "study")
#: A network's input height and width must be multiples of this (the encoders' stride).
SIZE_MULTIPLE = 8
#: Rebalancing mix of the colour prior and the uniform distribution (Zhang et al. 2016: 0.5).
DEFAULT_LAMBDA = 0.5
#: Annealed-mean temperature of classification models (Zhang et al. 2016: 0.38; lower is more vivid).
DEFAULT_TEMPERATURE = 0.38
#: Allowed annealed-mean temperatures.
TEMPERATURE_RANGE = (0.01, 1.0)


def check_recipe(recipe: str) -> str:
    """Return ``recipe`` if it is known, else raise ``ValueError`` listing the choices."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    return recipe


def check_temperature(temperature: float) -> float:
    """Return ``temperature`` as a float if it is within :data:`TEMPERATURE_RANGE`, else raise ``ValueError``."""
    low, high = TEMPERATURE_RANGE
    if not low <= float(temperature) <= high:
        raise ValueError(f"temperature must be between {low} and {high} "
                         f"({DEFAULT_TEMPERATURE} is the paper's; lower is more vivid), got {temperature}")
    return float(temperature)
