"""Lab ranges, network scales and recipe names: the numbers that modules without torch share.

:mod:`colorcore.lab` converts colours with these; the training configuration, the
command line and checkpoint metadata check names against them without importing torch.
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


def check_recipe(recipe: str) -> str:
    """Return ``recipe`` if it is known, else raise ``ValueError`` listing the choices."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    return recipe
