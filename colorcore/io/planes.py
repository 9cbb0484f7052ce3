"""Choosing one plane of a file with channels (C), planes (Z) or time points (T).

Defaults are what a viewer shows a person first: the first channel, the middle plane of a
z-stack and the first time point.  ``z="max"`` is a maximum-intensity projection over Z,
computed one plane at a time so that a stack is never held in memory whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from .info import ImageError, Layout

#: The ``z`` value asking for a maximum-intensity projection.
Z_MAX = "max"

Channel = Union[int, str, None]
PlaneZ = Union[int, str, None]
#: Reads the plane at {axis: index} (every axis but Y, X and S) as (Y, X) or (Y, X, S).
PlaneReader = Callable[[dict], np.ndarray]


def parse_channel(text: str) -> int | str:
    """A channel as typed by a person: ``"1"`` -> 1, ``"DAPI"`` -> ``"DAPI"``.

    Raises
    ------
    ValueError
        If ``text`` is empty.
    """
    text = str(text).strip()
    if not text:
        raise ValueError("channel must be an index (0, 1, ...) or a channel name, got ''")
    return int(text) if text.isdigit() else text


def parse_z(text: str) -> int | str:
    """A z choice as typed by a person: ``"3"`` -> 3, ``"max"`` -> :data:`Z_MAX`.

    Raises
    ------
    ValueError
        If ``text`` is neither a non-negative integer nor ``max``.
    """
    text = str(text).strip()
    if text.lower() == Z_MAX:
        return Z_MAX
    if not text.isdigit():
        raise ValueError(f"z must be a plane index (0, 1, ...) or '{Z_MAX}', got '{text}'")
    return int(text)


@dataclass(frozen=True)
class Choice:
    """What the user asked for; None means the default (first channel, middle plane, first time point)."""

    channel: Channel = None
    z: PlaneZ = None
    t: int | None = None

    def given(self) -> bool:
        return any(v is not None for v in (self.channel, self.z, self.t))


@dataclass(frozen=True)
class Plane:
    """A resolved choice: fixed indices, whether Z is projected, and how to say it."""

    index: dict
    z_max: bool
    text: str
    notes: tuple


def choose_plane(name: str, layout: Layout, choice: Choice, hint: str = "") -> Plane:
    """Resolve ``choice`` against ``layout``; ``hint`` is added to error messages.

    Raises
    ------
    ImageError
        For a channel, z or t the file does not have, naming the axes and sizes it has.
    """
    def fail(problem: str) -> ImageError:
        return ImageError(f"{name}: {problem}; the file has axes {layout.describe()}{hint}")

    channel = _channel_index(layout, choice.channel, fail)
    n_z = layout.size("Z")
    z_max = choice.z == Z_MAX
    z = n_z // 2 if choice.z is None else (0 if z_max else _index("z", choice.z, n_z, fail))
    t = 0 if choice.t is None else _index("t", choice.t, layout.size("T"), fail)
    chosen = {"C": channel, "Z": z, "T": t}
    index, notes = {}, []
    for axis, length in zip(layout.axes, layout.shape):
        if axis in "YXS" or (axis == "Z" and z_max):
            continue
        index[axis] = chosen.get(axis, 0)
        if axis not in chosen:
            notes.append(f"first of {length} entries along axis {axis} used")
    return Plane(index, z_max, _describe(layout, channel, "max" if z_max else z, t), tuple(notes))


def _channel_index(layout: Layout, channel: Channel, fail) -> int:
    if channel is None:
        return 0
    if not isinstance(channel, str):
        return _index("channel", channel, layout.size("C"), fail)
    names = list(layout.channel_names)
    if channel in names:
        return names.index(channel)
    folded = [n.casefold() for n in names]
    if folded.count(channel.casefold()) == 1:
        return folded.index(channel.casefold())
    raise fail(f"no channel named '{channel}'" + ("" if any(names) else ": the file names no channels"))


def _index(what: str, value, length: int, fail) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise fail(f"{what} must be an integer index, got {value!r}")
    if not 0 <= value < length:
        axis = {"channel": "C", "z": "Z", "t": "T"}[what]
        have = f"{axis} has {length} entries (0-{length - 1})" if length > 1 else f"there is no {axis} axis"
        raise fail(f"{what} {value} is out of range: {have}")
    return int(value)


def _describe(layout: Layout, channel: int, z, t: int) -> str:
    parts = []
    if "C" in layout.axes:
        names = layout.channel_names
        label = f" ({names[channel]})" if channel < len(names) and names[channel] else ""
        parts.append(f"channel {channel}{label} of {layout.size('C')}")
    if "Z" in layout.axes:
        parts.append(f"z {z} of {layout.size('Z')}")
    if "T" in layout.axes:
        parts.append(f"t {t} of {layout.size('T')}")
    return ", ".join(parts)


def read_plane(read: PlaneReader, plane: Plane, layout: Layout) -> np.ndarray:
    """Read the chosen plane; a max projection reads the Z planes one at a time.

    Returns
    -------
    np.ndarray, shape (Y, X) or (Y, X, S), the file's sample type
    """
    if not plane.z_max or "Z" not in layout.axes:
        return np.asarray(read(plane.index))
    projection = None
    for z in range(layout.size("Z")):
        arr = np.asarray(read({**plane.index, "Z": z}))
        projection = np.array(arr) if projection is None else np.fmax(projection, arr, out=projection)
    return projection
