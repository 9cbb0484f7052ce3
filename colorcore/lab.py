"""The one sRGB <-> CIE Lab (D65, 2 degree observer) conversion, in torch.

Every colour conversion in colorcore goes through this module, and so do the
constants that turn physical Lab units into network inputs and targets.

Two *recipes* say how an image becomes a network input and a target:

``"corrected"`` (the default)
    The input is CIE L* mapped to [-1, 1] by ``(L - 50) / 50``; the target is
    a*b* divided by ``AB_SCALE`` so that gray is exactly 0.
``"study"``
    What the student study did, kept only to reproduce its result: the input is
    scikit-image ``rgb2gray`` luminance in [0, 1] and the output is rebuilt as if
    that luminance were L* / 100; the target is ``(ab + 128) / 255`` so gray
    sits at about 0.5.

Functions take channel-first tensors ``(..., 3, H, W)`` so they work batched or
not, on any device, and in any floating dtype (computation is float32).
"""
from __future__ import annotations

import torch

from .units import AB_SCALE, L_CENTER, L_SCALE, RECIPES, check_recipe  # noqa: F401  (re-exported)

# sRGB primaries, D65 white (the matrices and white point scikit-image uses).
_XYZ_FROM_RGB = torch.tensor(
    [[0.412453, 0.357580, 0.180423],
     [0.212671, 0.715160, 0.072169],
     [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
_RGB_FROM_XYZ = torch.linalg.inv(_XYZ_FROM_RGB)
_WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
# scikit-image rgb2gray weights (applied to gamma-encoded values).
_GRAY_WEIGHTS = torch.tensor([0.2125, 0.7154, 0.0721], dtype=torch.float64)
_EPS = 0.008856  # (6/29)^3, CIE threshold
_KAPPA = 7.787   # linear-segment slope used by scikit-image


def _check_channels(t: torch.Tensor, name: str) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.ndim < 3 or t.shape[-3] != 3:
        raise ValueError(f"{name} must have shape (*, 3, H, W), got {tuple(t.shape)}")


def _mix(matrix: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Apply a 3x3 matrix over the channel axis of a (*, 3, H, W) tensor."""
    m = matrix.to(device=t.device, dtype=t.dtype)
    return torch.einsum("ij,...jhw->...ihw", m, t)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB transfer curve (values in [0, 1])."""
    return torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB transfer curve; negative inputs map to 0."""
    lin = lin.clamp(min=0.0)
    return torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def _f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > _EPS, t.clamp(min=_EPS) ** (1 / 3), _KAPPA * t + 16 / 116)


def _f_inv(f: torch.Tensor) -> torch.Tensor:
    cube = f ** 3
    return torch.where(cube > _EPS, cube, (f - 16 / 116) / _KAPPA)


def luminance_to_lightness(y: torch.Tensor) -> torch.Tensor:
    """CIE L* in [0, 100] from relative luminance Y in [0, 1] (any shape)."""
    return 116 * _f(y.float()) - 16


def gray_to_lightness(gray: torch.Tensor) -> torch.Tensor:
    """CIE L* of an sRGB-encoded gray level (R = G = B = gray), any shape.

    A gray pixel's luminance is its linearised value because the Y row of the
    sRGB -> XYZ matrix sums to 1, so this needs no 3-channel tensor.
    """
    return luminance_to_lightness(srgb_to_linear(gray.float()))


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Convert sRGB to CIE Lab (D65).

    Parameters
    ----------
    rgb : torch.Tensor, shape (*, 3, H, W)
        Gamma-encoded sRGB in [0, 1], any float dtype and device.

    Returns
    -------
    torch.Tensor, shape (*, 3, H, W), float32
        L* in [0, 100], a* and b* in Lab units (about -128 to 127).

    Raises
    ------
    TypeError, ValueError
        If ``rgb`` is not a tensor with 3 channels in dimension -3.
    """
    _check_channels(rgb, "rgb")
    xyz = _mix(_XYZ_FROM_RGB, srgb_to_linear(rgb.float()))
    white = _WHITE_D65.to(device=rgb.device, dtype=torch.float32).view(3, 1, 1)
    fx, fy, fz = _f(xyz / white).unbind(-3)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


def _lab_to_linear_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> linear sRGB, unclipped; like scikit-image, a negative f(Z) is set to 0."""
    lightness, a, b = lab.float().unbind(-3)
    fy = (lightness + 16) / 116
    f = torch.stack([fy + a / 500, fy, (fy - b / 200).clamp(min=0.0)], dim=-3)
    white = _WHITE_D65.to(device=lab.device, dtype=torch.float32).view(3, 1, 1)
    return _mix(_RGB_FROM_XYZ, _f_inv(f) * white)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Convert CIE Lab (D65) to sRGB, clipping out-of-gamut colours to [0, 1].

    Parameters
    ----------
    lab : torch.Tensor, shape (*, 3, H, W)
        L* in [0, 100], a*, b* in Lab units.

    Returns
    -------
    torch.Tensor, shape (*, 3, H, W), float32
        Gamma-encoded sRGB in [0, 1]. Use :func:`out_of_gamut_fraction` to know
        how much was clipped.
    """
    _check_channels(lab, "lab")
    return linear_to_srgb(_lab_to_linear_rgb(lab)).clamp(0.0, 1.0)


def lab_to_rgb_and_gamut(lab: torch.Tensor, tol: float = 1e-3) -> tuple[torch.Tensor, float]:
    """:func:`lab_to_rgb` plus the fraction of pixels that were outside the sRGB gamut (clipped)."""
    _check_channels(lab, "lab")
    lin = _lab_to_linear_rgb(lab)
    outside = ((lin < -tol) | (lin > 1 + tol)).any(dim=-3)
    return linear_to_srgb(lin).clamp(0.0, 1.0), float(outside.float().mean())


def out_of_gamut_fraction(lab: torch.Tensor, tol: float = 1e-3) -> float:
    """Fraction of pixels whose Lab colour lies outside the sRGB gamut."""
    return lab_to_rgb_and_gamut(lab, tol)[1]


def rgb_to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """scikit-image ``rgb2gray`` luminance of (*, 3, H, W) sRGB -> (*, 1, H, W)."""
    _check_channels(rgb, "rgb")
    return _mix(_GRAY_WEIGHTS.view(1, 3), rgb.float())


def encode_input(rgb: torch.Tensor, recipe: str = "corrected") -> tuple[torch.Tensor, torch.Tensor]:
    """Network input and the L* used to rebuild the colour image.

    Parameters
    ----------
    rgb : torch.Tensor, shape (*, 3, H, W)
        sRGB in [0, 1] (a gray image has three equal channels).
    recipe : {"corrected", "study"}

    Returns
    -------
    net_in : torch.Tensor, shape (*, 1, H, W)
        What the network sees.
    lightness : torch.Tensor, shape (*, 1, H, W)
        L* in [0, 100] to combine with the predicted a*b*. For the study
        recipe this is ``rgb2gray * 100``, the study's mistake, kept on purpose.
    """
    if check_recipe(recipe) == "study":
        gray = rgb_to_gray(rgb)
        return gray, gray * 100
    lightness = rgb_to_lab(rgb)[..., :1, :, :]
    return (lightness - L_CENTER) / L_SCALE, lightness


def encode_gray_input(gray: torch.Tensor, recipe: str = "corrected") -> tuple[torch.Tensor, torch.Tensor]:
    """Like :func:`encode_input` for a one-channel gray image (*, 1, H, W), cheaper."""
    if check_recipe(recipe) == "study":
        gray = gray.float()
        return gray, gray * 100
    lightness = gray_to_lightness(gray)
    return (lightness - L_CENTER) / L_SCALE, lightness


def encode_ab(ab: torch.Tensor, recipe: str = "corrected") -> torch.Tensor:
    """a*b* in Lab units -> regression target of the recipe."""
    if check_recipe(recipe) == "study":
        return (ab + 128) / 255
    return ab / AB_SCALE


def decode_ab(target: torch.Tensor, recipe: str = "corrected") -> torch.Tensor:
    """Inverse of :func:`encode_ab`: network output -> a*b* in Lab units."""
    if check_recipe(recipe) == "study":
        return target.float() * 255 - 128
    return target.float() * AB_SCALE
