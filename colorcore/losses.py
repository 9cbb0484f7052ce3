"""Training criteria, one function each, against encoded a*b* targets (N, 2, H, W).

``mse`` and ``huber`` compare a regression network's encoded a*b* with the
target; ``rebalanced_cross_entropy`` scores a classification network's logits
(Zhang et al. 2016, see :mod:`colorcore.quantize`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# the classification loss ``ce`` is built by training (its classes come from the data)
from .config import CLASS_LOSS, LOSS_NAMES  # noqa: F401  (re-exported)
from .lab import AB_SCALE
from .quantize import soft_encode

#: Huber transition point in Lab units (errors below it are squared).
HUBER_DELTA_LAB = 10.0


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all elements."""
    return F.mse_loss(pred.float(), target.float())


def huber(pred: torch.Tensor, target: torch.Tensor, delta: float = HUBER_DELTA_LAB / AB_SCALE) -> torch.Tensor:
    """Huber loss; the default ``delta`` is 10 Lab units in the corrected encoding."""
    return F.huber_loss(pred.float(), target.float(), delta=delta)


def rebalanced_cross_entropy(logits: torch.Tensor, target: torch.Tensor, centers: torch.Tensor,
                             class_weights: torch.Tensor) -> torch.Tensor:
    """Class-rebalanced multinomial cross-entropy with soft-encoded targets.

    Parameters
    ----------
    logits : torch.Tensor, shape (N, Q, h, w)
        Class scores; ``h, w`` may be smaller than the target's (the target's
        a*b* is area-averaged down to them).
    target : torch.Tensor, shape (N, 2, H, W)
        Encoded a*b* (Lab units / ``AB_SCALE``).
    centers : torch.Tensor, shape (Q, 2)
        Bin centres in Lab units.
    class_weights : torch.Tensor, shape (Q,)
        Rebalancing weight per class; a pixel is weighted by its nearest class.

    Returns
    -------
    torch.Tensor
        Scalar: mean over pixels of weight x cross-entropy.
    """
    ab = target.float() * AB_SCALE
    if ab.shape[-2:] != logits.shape[-2:]:
        ab = F.interpolate(ab, size=logits.shape[-2:], mode="area")
    index, weight = soft_encode(ab, centers)
    log_probs = torch.log_softmax(logits.float(), dim=1).gather(1, index)
    return -((weight * log_probs).sum(dim=1) * class_weights[index[:, 0]]).mean()


#: Losses a regression network trains with (name -> function of prediction and target).
LOSSES = {"mse": mse, "huber": huber}  # keys: config.REGRESSION_LOSSES (offered without importing torch)


def get_loss(name: str):
    """Regression loss function by name; ``ValueError`` listing the choices if unknown."""
    if name not in LOSSES:
        raise ValueError(f"unknown regression loss {name!r}; choose one of {', '.join(LOSSES)} "
                         f"({CLASS_LOSS!r} is built by training from the data)")
    return LOSSES[name]
