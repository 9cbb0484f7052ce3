"""How far to trust a result, as the pages say it: the out-of-domain warning, other checkpoints' verdicts,
the confidence map.

The numbers come from :mod:`colorcore.domain` (``domain_score``: 1 is the edge of a checkpoint's
training domain) and from the classification checkpoints' class distributions (``confidence``).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..checkpoints import Checkpoint
from ..metadata import CheckpointMeta, domain_check
from ..domain import Verdict
from ..infer import domain_verdict
from .catalog import domain_of

#: Confidence-map colours: from "a guess" (dark red) through amber to "sure" (white).
_RAMP = np.array([[90, 0, 20], [200, 80, 0], [250, 200, 60], [255, 255, 255]], dtype=np.float64)


def checkable(metas: dict) -> list[str]:
    """Names of the catalog checkpoints that carry a domain summary, in catalog order."""
    return [name for name, meta in metas.items() if domain_check(meta) is not None]


def verdicts(image: np.ndarray, checkpoints: Iterable[tuple[str, Checkpoint]]) -> dict[str, Verdict]:
    """Each checkpoint's :class:`colorcore.domain.Verdict` on ``image`` (its encoder only; model work).

    Parameters
    ----------
    image : np.ndarray
        Float (H, W) or (H, W, 3) in [0, 1].
    checkpoints : iterable of (name, Checkpoint)
        Those without a domain summary are left out of the result.
    """
    found = {name: domain_verdict(image, ckpt) for name, ckpt in checkpoints}
    return {name: v for name, v in found.items() if v is not None}


def in_domain_names(found: dict[str, Verdict]) -> list[str]:
    """The checkpoints for which the image is in domain, closest first."""
    return sorted((name for name, v in found.items() if v.in_domain), key=lambda name: found[name].score)


def warning_text(name: str, meta: CheckpointMeta, score: float, suggestions: list[str] | None) -> str:
    """The warning shown next to an out-of-domain result.

    Parameters
    ----------
    name : str
        The checkpoint that made the result.
    meta : dict
        Its metadata (domain and description name what it learned from).
    score : float
        The image's ``domain_score`` (> 1).
    suggestions : list of str or None
        Checkpoints for which the image is in domain (None: not known, e.g. the server was busy).
    """
    learned = f"the {domain_of(meta)} domain" + (f": {meta['description']}" if meta.get("description") else "")
    text = (f"**This image is unlike anything {name} learned from** ({learned}): it scores {score:.1f} on "
            f"the checkpoint's domain check, where 1 is the edge of its training images. Its colours here are "
            "guesses, not evidence.")
    if suggestions:
        return text + f" In domain for: {', '.join(f'**{s}**' for s in suggestions)}."
    if suggestions is not None:
        return text + " No checkpoint in the catalog was trained on images like it."
    return text


def domain_label(in_domain: bool, score: float) -> str:
    """Short verdict for a caption: in domain or out of domain, with the score."""
    return f"in domain ({score:.2f})" if in_domain else f"OUT of domain ({score:.1f})"


def confidence_display(confidence: np.ndarray) -> np.ndarray:
    """A confidence map (H, W) in [0, 1] as a uint8 RGB image: dark red where the colour is a guess, white where sure.

    Raises
    ------
    ValueError
        If ``confidence`` is not 2-D.
    """
    if confidence.ndim != 2:
        raise ValueError(f"confidence must be (H, W), got shape {confidence.shape}")
    position = np.clip(confidence, 0.0, 1.0) * (len(_RAMP) - 1)
    low = np.minimum(position.astype(int), len(_RAMP) - 2)
    weight = (position - low)[..., None]
    return (_RAMP[low] * (1 - weight) + _RAMP[low + 1] * weight + 0.5).astype(np.uint8)
