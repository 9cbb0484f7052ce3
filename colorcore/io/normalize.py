"""Mapping stored intensities to float32 [0, 1], and a decoded plane to (H, W) or (H, W, 3).

* 8-bit and 1-bit data are divided by their maximum (255 or 1).
* Other integer data (16/32-bit, signed) that span at least half of their type's range are
  divided by the type's maximum.  Data that use only part of their range (a 12-bit sensor in
  a 16-bit file, a camera offset of 33000) get a percentile stretch: the 0.5th percentile maps
  to 0 and the 99.8th to 1, values beyond saturate (the info says how many).
* Float data already inside [0, 1] are kept; other float data (negative, or above 1) get the
  same percentile stretch.  NaN and Inf pixels become 0 and are counted; an image with no
  finite pixel is refused.
"""
from __future__ import annotations

import numpy as np

from .info import ImageError

#: Percentiles used by the stretch for data that use only part of their range.
STRETCH_PERCENTILES = (0.5, 99.8)


def to_plane(arr: np.ndarray, notes: list) -> np.ndarray:
    """Reduce a decoded page to (H, W) or (H, W, 3).

    Leading axes of 4-D and larger pages are reduced to their first plane.  In a
    3-D page the channel axis is the last one if it has at most 4 entries, else
    the first one if that has at most 4; otherwise it is a stack of planes and
    the first plane along the shorter end axis is used.
    """
    while arr.ndim > 3:
        if arr.shape[0] != 1:
            notes.append(f"first plane of a {arr.ndim}-D page used")
        arr = arr[0]
    if arr.ndim == 3:
        if arr.shape[-1] > 4 and arr.shape[0] <= 4:
            arr = np.moveaxis(arr, 0, -1)
        elif arr.shape[-1] > 4:
            axis = 0 if arr.shape[0] <= arr.shape[-1] else -1
            notes.append(f"first of {arr.shape[axis]} planes used")
            arr = np.take(arr, 0, axis=axis)
    if arr.ndim == 3:
        channels = arr.shape[-1]
        if channels in (2, 4):
            notes.append("alpha channel dropped")
        arr = arr[..., 0] if channels <= 2 else arr[..., :3]
    return arr


def _sample(values: np.ndarray, limit: int = 1_000_000) -> np.ndarray:
    flat = values.reshape(-1)
    return flat[:: max(1, flat.size // limit)]


def normalize_intensity(arr: np.ndarray, name: str = "image", notes: list | None = None
                        ) -> tuple[np.ndarray, str]:
    """Map stored intensities to float32 [0, 1] (see the module docstring).

    Parameters
    ----------
    arr : np.ndarray, shape (H, W) or (H, W, 3)
        Bool, integer or float samples.
    name : str
        Used in error messages.
    notes : list of str, optional
        Receives notes about saturated or non-finite pixels.

    Returns
    -------
    image : np.ndarray, float32, same shape
    normalization : str
        Human-readable description of the mapping.

    Raises
    ------
    ImageError
        If the data type is unsupported or no pixel is finite.
    """
    notes = notes if notes is not None else []
    if arr.dtype == bool:
        return arr.astype(np.float32), "1-bit: False -> 0, True -> 1"
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0, "8-bit: divided by 255"
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and info.min == 0 and hi - lo >= info.max // 2:
            return (arr.astype(np.float32) / float(info.max),
                    f"{info.bits}-bit: divided by {info.max} (data span {lo}-{hi})")
        return _stretch(arr.astype(np.float32), name, notes, f"{info.bits}-bit")
    if np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32, copy=False)
        finite = np.isfinite(arr)
        n_bad = int(arr.size - np.count_nonzero(finite))
        if n_bad == arr.size:
            raise ImageError(f"{name}: image has no finite pixel values (all NaN or Inf)")
        if n_bad:
            notes.append(f"{n_bad} NaN/Inf pixel value(s) set to 0")
            arr = np.where(finite, arr, np.float32(np.nan))
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if lo >= 0.0 and hi <= 1.0:
            out, desc = arr.copy(), f"float data already in [0, 1] (span {lo:.3g}-{hi:.3g}): kept"
        else:
            out, desc = _stretch(arr, name, notes, "float")
        if n_bad:
            out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        return out.astype(np.float32, copy=False), desc
    raise ImageError(f"{name}: unsupported sample type {arr.dtype}")


def _stretch(arr: np.ndarray, name: str, notes: list, kind: str) -> tuple[np.ndarray, str]:
    """Percentile stretch of float32 data (NaN ignored), clipped to [0, 1]."""
    p_lo, p_hi = STRETCH_PERCENTILES
    sample = _sample(arr)
    sample = sample[np.isfinite(sample)]
    lo, hi = (float(v) for v in np.percentile(sample, [p_lo, p_hi]))
    if hi <= lo:  # fewer than two distinct levels inside the percentiles
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    if hi <= lo:
        notes.append("constant image")
        return np.full(arr.shape, 0.5, np.float32), f"{kind}: constant value {lo:.6g} shown as mid-gray"
    out = (arr - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    saturated = float(np.mean((out < 0) | (out > 1)))
    np.clip(out, 0.0, 1.0, out=out)
    if saturated:
        notes.append(f"{100 * saturated:.2f} % of pixels saturated by the stretch")
    return out, (f"{kind}: percentile stretch {p_lo}-{p_hi} % ({lo:.6g} -> 0, {hi:.6g} -> 1)")
