"""Colorize an image of any size: full-resolution L*, network at a working size, a*b* upsampled.

The network sees an aspect-preserving downscale of the image (long side at
most ``working_size``, both sides rounded to a multiple of 8: no square
stretch, no letterbox).  Its a*b* are upsampled bilinearly to the input's exact
size and combined with the input's own full-resolution L*, row band by row
band, so memory grows with the image (a few bytes a pixel) and never with
full-resolution network activations.

:func:`colorize` is :func:`predict` (the network, at working size) then :func:`merge` (L* and
upsampled a*b*); a server runs :func:`predict` once, shows ``merge(..., max_side=1460)`` and
makes the full-resolution ``merge`` only when the user downloads it: the same bytes as
:func:`colorize`.

Every prediction also says how far the image is from the checkpoint's training images
(``domain_score``, ``in_domain``: :mod:`colorcore.domain`, reusing the network pass where it can)
and, for classification checkpoints, how sure the network is of each pixel's colour
(``confidence``: :meth:`colorcore.models.base.ClassificationModel.confidence`, upsampled like a*b*).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoints import Checkpoint
from .metadata import domain as domain_name, domain_check
from .domain import Verdict, encoder_vectors, lightness_statistics, verdict
from .lab import decode_ab, encode_gray_input, encode_input, lab_to_rgb_and_gamut
from .units import DEFAULT_WORKING_SIZE, SIZE_MULTIPLE, check_temperature

#: Pixels per band when combining full-resolution L* with upsampled a*b*.
BAND_PIXELS = 1 << 21


@dataclass
class ColorizeResult:
    """Output of :func:`colorize`.

    Attributes
    ----------
    rgb : np.ndarray, uint8, shape (H, W, 3)
        Colorized sRGB at the input's exact size.
    working_shape : tuple of int
        (height, width) the network ran at.
    out_of_gamut : float
        Fraction of pixels whose Lab colour was outside sRGB and got clipped.
    domain_score : float or None
        Distance of the image from the checkpoint's training images, in units of its calibrated
        threshold (:mod:`colorcore.domain`); None when the checkpoint has no domain summary.
    in_domain : bool or None
        ``domain_score <= 1``: the image is like the ones the checkpoint learned from.
    confidence : np.ndarray, float32, shape (H, W), or None
        Per-pixel confidence in [0, 1] (classification checkpoints; None for regression ones).
    """

    rgb: np.ndarray
    working_shape: tuple
    out_of_gamut: float
    domain_score: float | None = None
    in_domain: bool | None = None
    confidence: np.ndarray | None = None

    def domain_note(self, checkpoint: Checkpoint) -> str:
        """One line on the domain check of this result by ``checkpoint`` (``""`` where it has none)."""
        if self.in_domain is None:
            return ""
        if self.in_domain:
            return f"in the training domain (score {self.domain_score:.2f})"
        return (f"OUTSIDE the {domain_name(checkpoint.meta)} training domain of {checkpoint.name} "
                f"(score {self.domain_score:.2f} > 1): its colours are guesses")

    def report(self) -> dict:
        """``in_domain``, ``domain_score`` and ``mean_confidence`` (None where not available), JSON-able and
        rounded to 4 decimals: what ``colorize --report`` writes and the API sends."""
        confidence = None if self.confidence is None else round(float(self.confidence.mean()), 4)
        score = None if self.domain_score is None else round(self.domain_score, 4)
        return {"in_domain": self.in_domain, "domain_score": score, "mean_confidence": confidence}


def working_shape(height: int, width: int, working_size: int | None = DEFAULT_WORKING_SIZE) -> tuple[int, int]:
    """Network input size for an image: aspect kept, long side <= working_size, multiples of 8.

    Images smaller than ``working_size`` are not enlarged (only rounded to a
    multiple of 8); ``working_size=None`` keeps the full size (rounded).
    """
    scale = 1.0 if working_size is None else min(1.0, working_size / max(height, width))

    def fit(side: int) -> int:
        return max(SIZE_MULTIPLE, int(round(side * scale / SIZE_MULTIPLE)) * SIZE_MULTIPLE)

    return fit(height), fit(width)


def _to_chw(image: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, 3) float [0, 1] -> (1, C, H, W) float32 tensor (no copy for float32)."""
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    return t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]


def _encode(t: torch.Tensor, recipe: str) -> tuple[torch.Tensor, torch.Tensor]:
    return encode_gray_input(t, recipe) if t.shape[1] == 1 else encode_input(t, recipe)


def check_image(image: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``image`` is float (H, W) or (H, W, 3) in [0, 1]."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3)):
        raise ValueError(f"image must have shape (H, W) or (H, W, 3), got {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"image must be float in [0, 1] (use colorcore.read_image), got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image has no pixels: shape {image.shape}")


@dataclass
class Prediction:
    """The network's a*b* for one image, at working size: merge it with L* at any output size.

    Attributes
    ----------
    ab : torch.Tensor, float32, shape (2, h, w)
        a*b* in Lab units at the working size.
    working_shape : tuple of int
        (h, w).
    recipe : str
        The checkpoint's recipe (how L* is rebuilt from the input).
    confidence : torch.Tensor, float32, shape (h, w), or None
        Per-pixel confidence in [0, 1] at the working size (None: the checkpoint gives none).
    domain_score, in_domain : float, bool or None
        As in :class:`ColorizeResult`.
    """

    ab: torch.Tensor
    working_shape: tuple
    recipe: str
    confidence: torch.Tensor | None = None
    domain_score: float | None = None
    in_domain: bool | None = None


def downscale(image: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """(H, W) or (H, W, 3) float image -> (1, C, h, w) tensor at ``shape`` (antialiased bilinear, in [0, 1])."""
    t = _to_chw(image)
    if tuple(t.shape[-2:]) == tuple(shape):
        return t
    return F.interpolate(t, size=shape, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)


def _network_input(image: np.ndarray, checkpoint: Checkpoint, shape: tuple[int, int]
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """What the network sees of ``image`` at ``shape``: (1, 1, h, w) on the checkpoint's device, and the
    image's true L* at that shape (None for the study recipe, whose lightness is not L*)."""
    net_in, lightness = _encode(downscale(image, shape), checkpoint.recipe)
    true_lightness = lightness[0, 0] if checkpoint.recipe == "corrected" else None
    return net_in.to(checkpoint.device).contiguous(memory_format=torch.channels_last), true_lightness


@dataclass
class NetworkPass:
    """What one network pass saw and made, for the domain check to reuse: working shape, encoder features,
    the image's L* at that shape (None when not at hand)."""

    shape: tuple
    features: tuple | None
    lightness: torch.Tensor | None


@torch.inference_mode()
def domain_vectors(image: np.ndarray, checkpoint: Checkpoint, working_size: int,
                   done: NetworkPass | None = None) -> dict:
    """What the domain check scores of ``image`` (:mod:`colorcore.domain`): encoder and lightness vectors.

    Parameters
    ----------
    image : np.ndarray
        As in :func:`colorize`.
    checkpoint : Checkpoint
    working_size : int
        Long side the encoder sees the image at.
    done : NetworkPass, optional
        A pass already made: its features are reused when its shape is the one ``working_size`` gives
        (else the encoder runs at that size, a small one), its L* when at the default working size.

    Returns
    -------
    dict
        ``{"layer1": (2 C1,), "layer2": (2 C2,), "lightness": (2,)}``: :func:`colorcore.domain.encoder_vectors`
        of the encoder, and :func:`colorcore.domain.lightness_statistics` of the true L* at the default
        working size.

    Raises
    ------
    ValueError
        For a model without encoder features (the gray baseline).
    """
    height, width = image.shape[:2]
    wanted = working_shape(height, width, working_size)
    features = done.features if done is not None and tuple(done.shape) == wanted else None
    if features is None:
        features = checkpoint.model.features(_network_input(image, checkpoint, wanted)[0])
    vectors = {name: v[0] for name, v in encoder_vectors(features).items()}
    light_shape = working_shape(height, width, DEFAULT_WORKING_SIZE)
    lightness = done.lightness if done is not None and tuple(done.shape) == light_shape else None
    if lightness is None:
        lightness = _encode(downscale(image, light_shape), "corrected")[1][0, 0]
    return {**vectors, "lightness": lightness_statistics(lightness.numpy())}


def domain_verdict(image: np.ndarray, checkpoint: Checkpoint, done: NetworkPass | None = None) -> Verdict | None:
    """Where ``image`` stands against ``checkpoint``'s training domain; None without a domain summary.

    Parameters
    ----------
    image : np.ndarray
        As in :func:`colorize`.
    checkpoint : Checkpoint
    done : NetworkPass, optional
        As in :func:`domain_vectors`.
    """
    check = domain_check(checkpoint.meta)
    if check is None:
        return None
    return verdict(check, domain_vectors(image, checkpoint, check["working_size"], done))


def predict(image: np.ndarray, checkpoint: Checkpoint, *, working_size: int | None = DEFAULT_WORKING_SIZE,
            temperature: float | None = None) -> Prediction:
    """Run the network once on ``image`` at its working size (the only step that needs the model).

    Parameters and errors as in :func:`colorize`.
    """
    return predict_temperatures(image, checkpoint, [temperature], working_size=working_size)[0]


@torch.inference_mode()
def predict_temperatures(image: np.ndarray, checkpoint: Checkpoint, temperatures: list[float | None], *,
                         working_size: int | None = DEFAULT_WORKING_SIZE) -> list[Prediction]:
    """:func:`predict` at each of ``temperatures`` from one network pass and one domain check.

    Parameters and errors as in :func:`colorize` (None: the checkpoint's default temperature).
    """
    check_image(image)
    for temperature in temperatures:
        check_temperature_for(checkpoint, temperature)
    shape = working_shape(*image.shape[:2], working_size)
    net_in, lightness = _network_input(image, checkpoint, shape)
    raw, features = checkpoint.model.raw_and_features(net_in)
    confidence = checkpoint.model.confidence(raw)
    confidence = None if confidence is None else confidence[0].float().cpu()
    found = domain_verdict(image, checkpoint, NetworkPass(shape, features, lightness))
    return [Prediction(decode_ab(checkpoint.model.decode(raw, t).float().cpu(), checkpoint.recipe)[0], shape,
                       checkpoint.recipe, confidence, None if found is None else found.score,
                       None if found is None else found.in_domain)
            for t in temperatures]


def check_temperature_for(checkpoint: Checkpoint, temperature: float | None) -> None:
    """Raise ``ValueError`` if a temperature is given for a regression checkpoint, or is out of range."""
    if temperature is None:
        return
    if not checkpoint.model.takes_temperature:
        raise ValueError(f"{checkpoint.name} is a regression checkpoint; a temperature applies only to "
                         "classification (vivid-colour) checkpoints")
    check_temperature(temperature)


def _bilinear_axis(n_out: int, n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices and weights of align_corners=False bilinear resampling along one axis."""
    pos = ((torch.arange(n_out, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5).clamp(0, n_in - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=n_in - 1)
    return i0, i1, (pos - i0).float()


def _upsample_band(ab: torch.Tensor, rows: tuple, cols: tuple) -> torch.Tensor:
    """Bilinear a*b* (2, h, w) -> the band of full-resolution rows described by ``rows``."""
    r0, r1, wr = rows
    c0, c1, wc = cols
    top = ab[:, r0][:, :, c0] * (1 - wc) + ab[:, r0][:, :, c1] * wc
    bottom = ab[:, r1][:, :, c0] * (1 - wc) + ab[:, r1][:, :, c1] * wc
    return top * (1 - wr)[None, :, None] + bottom * wr[None, :, None]


def merge(image: np.ndarray, prediction: Prediction, max_side: int | None = None) -> ColorizeResult:
    """Combine ``image``'s own L* with the predicted a*b* upsampled bilinearly, band by band.

    Parameters
    ----------
    image : np.ndarray, float, shape (H, W) or (H, W, 3)
        The image the prediction was made for.
    prediction : Prediction
        From :func:`predict`.
    max_side : int or None
        None: the output has the input's full size.  Otherwise the image is first shrunk so its
        long side is at most ``max_side`` (a preview for display: cheap, whatever the input's size).

    Returns
    -------
    ColorizeResult
        With the prediction's domain verdict, and its confidence at the output's size.
    """
    check_image(image)
    height, width = image.shape[:2]
    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        height, width = max(1, round(height * scale)), max(1, round(width * scale))
        full = downscale(image, (height, width))
    else:
        full = _to_chw(image)
    shape = prediction.working_shape
    col_index = _bilinear_axis(width, shape[1])
    row_index = _bilinear_axis(height, shape[0])
    out = np.empty((height, width, 3), dtype=np.uint8)
    confidence = None if prediction.confidence is None else np.empty((height, width), dtype=np.float32)
    band = max(1, BAND_PIXELS // width)
    clipped = 0.0
    for top in range(0, height, band):
        bottom = min(height, top + band)
        _, lightness = _encode(full[:, :, top:bottom], prediction.recipe)
        rows = tuple(t[top:bottom] for t in row_index)
        lab = torch.cat([lightness[0], _upsample_band(prediction.ab, rows, col_index)], dim=0)
        rgb, outside = lab_to_rgb_and_gamut(lab)
        clipped += outside * (bottom - top)
        out[top:bottom] = (rgb.permute(1, 2, 0) * 255.0 + 0.5).to(torch.uint8).numpy()
        if confidence is not None:
            confidence[top:bottom] = _upsample_band(prediction.confidence[None], rows, col_index)[0].numpy()
    return ColorizeResult(rgb=out, working_shape=shape, out_of_gamut=clipped / height,
                          domain_score=prediction.domain_score, in_domain=prediction.in_domain,
                          confidence=confidence)


def colorize(image: np.ndarray, checkpoint: Checkpoint, *, working_size: int | None = DEFAULT_WORKING_SIZE,
             temperature: float | None = None) -> ColorizeResult:
    """Colorize a gray (or colour, reduced to L*) image at its full resolution.

    Parameters
    ----------
    image : np.ndarray, float, shape (H, W) or (H, W, 3)
        Intensities in [0, 1], as returned by :func:`colorcore.read_image`.
    checkpoint : Checkpoint
        From :func:`colorcore.load_checkpoint`; not modified.
    working_size : int or None, default 512
        Long side of the network's input; None runs at full size (costly).
    temperature : float or None
        Annealed-mean temperature of a classification checkpoint (None: its
        default, 0.38; lower is more vivid). ``ValueError`` for other checkpoints.

    Returns
    -------
    ColorizeResult
        ``rgb`` has exactly the input's height and width.
    """
    return merge(image, predict(image, checkpoint, working_size=working_size, temperature=temperature))
