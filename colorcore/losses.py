"""Training criteria, one function each, on encoded a*b* tensors (N, 2, H, W)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .lab import AB_SCALE

#: Huber transition point in Lab units (errors below it are squared).
HUBER_DELTA_LAB = 10.0


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all elements."""
    return F.mse_loss(pred.float(), target.float())


def huber(pred: torch.Tensor, target: torch.Tensor, delta: float = HUBER_DELTA_LAB / AB_SCALE) -> torch.Tensor:
    """Huber loss; the default ``delta`` is 10 Lab units in the corrected encoding."""
    return F.huber_loss(pred.float(), target.float(), delta=delta)


LOSSES = {"mse": mse, "huber": huber}


def get_loss(name: str):
    """Loss function by name; ``ValueError`` listing the choices if unknown."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]
