"""One checkpoint format: a safetensors file whose header carries typed JSON metadata.

The metadata (:class:`colorcore.metadata.CheckpointMeta`, described there with its accessors) is
parsed from the file's header without torch and without reading any weight, and loading never
unpickles anything: safetensors holds only raw tensors.

A name such as ``places500-huber`` resolves to ``<catalog>/places500-huber.safetensors``
(:func:`colorcore.paths.catalog_dir`), else to the same file in the folder of checkpoints users
trained (:func:`colorcore.paths.user_catalog_dir`): a shipped name always wins.  ``gray`` is a
built-in baseline that predicts a* = b* = 0.
torch is imported only by the functions that load or save weights.
"""
from __future__ import annotations

import io
import json
import os
import re
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from . import __version__
from .io import atomic_write_bytes
from .metadata import CheckpointMeta, SplitMetrics, domain, model_spec
from .models import get_spec
from .paths import catalog_dir, user_catalog_dir
from .units import check_recipe

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .models.base import ColorModel

FORMAT = "colorcore-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".safetensors"
GRAY_BASELINE = "gray"
#: Key of the colorcore metadata inside the safetensors header's ``__metadata__``.
HEADER_KEY = "colorcore"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_REQUIRED = ("format", "format_version", "model", "recipe")
_MAX_HEADER = 100 << 20  # safetensors' own limit on header size


class CheckpointError(ValueError):
    """A checkpoint that cannot be found, read or used; the message says which and why."""


# ---------------------------------------------------------------- catalog and headers

def _names_in(folder: Path) -> set[str]:
    return {p.name[: -len(SUFFIX)] for p in folder.glob(f"*{SUFFIX}")} if folder.is_dir() else set()


def catalog_names() -> list[str]:
    """Names of the checkpoints in the catalog (shipped and user-trained), sorted."""
    return sorted(_names_in(catalog_dir()) | _names_in(user_catalog_dir()))


def _catalog_path(name: str) -> Path | None:
    """The file of catalog name ``name``: the shipped one, else the user-trained one, else None."""
    for folder in (catalog_dir(), user_catalog_dir()):
        path = folder / f"{name}{SUFFIX}"
        if path.is_file():
            return path
    return None


def list_catalog() -> list[CheckpointMeta]:
    """Metadata of every catalog checkpoint (headers only), sorted by name."""
    return [read_metadata(name) for name in catalog_names()]


def resolve(name_or_path: str | os.PathLike, *, catalog_only: bool = False) -> Path:
    """Path of a checkpoint given by catalog name or (unless ``catalog_only``) by path.

    Raises
    ------
    CheckpointError
        If nothing matches; the message lists the catalog's names.
    """
    text = str(name_or_path)
    if _NAME_RE.match(text) and not text.endswith(SUFFIX):
        path = _catalog_path(text)
        if path is not None:
            return path
    if not catalog_only:
        path = Path(text)
        if path.is_file():
            return path
    choices = ", ".join([GRAY_BASELINE] + catalog_names())
    raise CheckpointError(f"no checkpoint named {text!r}; available: {choices}")


def checkpoint_stamp(name: str) -> str:
    """Identity of a checkpoint file's current version (path, inode, size, mtime, ctime); ``""`` for ``gray``.

    Cache keys include it, so a checkpoint rewritten by a running training
    (atomic replace) is loaded afresh instead of served stale.  The inode tells a file renamed into place
    with the same size and a preserved mtime; the ctime, which nobody can set, a copy in place with them
    (``cp -p``).

    Raises
    ------
    CheckpointError
        If ``name`` is not in the catalog.
    """
    if name == GRAY_BASELINE:
        return ""
    path = resolve(name, catalog_only=True)
    st = path.stat()
    return f"{path}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _header_of(fh: BinaryIO, name: str) -> tuple[dict, int]:
    """The safetensors JSON header of the file open as ``fh`` (at its start) and the offset its tensor data start at.

    Raises
    ------
    CheckpointError
        If the file is not safetensors, or shorter than its header says (truncated).
    """
    try:
        head = fh.read(8)
        size = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 0 < size <= _MAX_HEADER:
            raise CheckpointError(f"{name}: not a readable checkpoint (no safetensors header)")
        header = json.loads(fh.read(size))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
        total = fh.seek(0, os.SEEK_END)
    except (OSError, ValueError, TypeError, KeyError, IndexError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{name}: not a readable checkpoint (truncated or not safetensors: {err})") from err
    if not isinstance(header, dict) or total < 8 + size + end:
        raise CheckpointError(f"{name}: not a readable checkpoint (truncated: {total} of {8 + size + end} bytes)")
    return header, 8 + size


def _unreadable(path: Path, err: OSError) -> CheckpointError:
    return CheckpointError(f"{path.name}: not a readable checkpoint ({err.strerror or err})")


def _read_header(path: Path) -> tuple[dict, int]:
    """:func:`_header_of` the file ``path`` (the header only is read)."""
    try:
        with open(path, "rb") as fh:
            return _header_of(fh, path.name)
    except OSError as err:
        raise _unreadable(path, err) from err


def _read_file(path: Path) -> tuple[dict, bytes, int]:
    """The header of ``path``, the whole file and the offset its tensor data start at, from one read.

    Header and tensors then come from one version of the file, even if it is replaced meanwhile (a
    training job's atomic rename): reading them with two opens could pair one version's metadata with
    another's weights.
    """
    try:
        blob = path.read_bytes()
    except OSError as err:
        raise _unreadable(path, err) from err
    header, data_start = _header_of(io.BytesIO(blob), path.name)
    return header, blob, data_start


def read_metadata(name_or_path: str | os.PathLike, *, catalog_only: bool = False) -> CheckpointMeta:
    """Metadata of a checkpoint, from the file header only (no weights read, no torch)."""
    if str(name_or_path) == GRAY_BASELINE:
        return gray_metadata()
    path = resolve(name_or_path, catalog_only=catalog_only)
    header, _ = _read_header(path)
    return _parse_metadata(header.get("__metadata__") or {}, path.name)


def _parse_metadata(header_meta: dict, name: str) -> CheckpointMeta:
    try:
        meta = json.loads(header_meta[HEADER_KEY])
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{name}: no colorcore metadata in the file header") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not a colorcore checkpoint")
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise CheckpointError(f"{name}: metadata lacks {', '.join(missing)}")
    if meta["format_version"] > FORMAT_VERSION:
        raise CheckpointError(f"{name}: format version {meta['format_version']} is newer than this "
                              f"colorcore reads ({FORMAT_VERSION}); upgrade colorcore")
    try:
        check_recipe(meta["recipe"])
    except ValueError as err:
        raise CheckpointError(f"{name}: {err}") from err
    return meta


def gray_metadata() -> CheckpointMeta:
    """Metadata of the built-in ``gray`` baseline."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "name": GRAY_BASELINE,
            "description": "baseline: a* = b* = 0 (the input's gray levels)",
            "model": {"name": GRAY_BASELINE, "args": {}}, "recipe": "corrected", "history": [], "metrics": {}}


# ---------------------------------------------------------------- weights

@dataclass
class Checkpoint:
    """A loaded checkpoint: the network in eval mode and its metadata."""

    name: str
    model: "ColorModel"
    meta: CheckpointMeta

    @property
    def recipe(self) -> str:
        return self.meta["recipe"]

    @property
    def device(self) -> "torch.device":
        import torch

        params = list(self.model.parameters())
        return params[0].device if params else torch.device("cpu")


def load_checkpoint(name_or_path: str | os.PathLike, *, device: "str | torch.device" = "cpu",
                    catalog_only: bool = False) -> Checkpoint:
    """Load a checkpoint by catalog name or path (``"gray"`` is the baseline).

    Parameters
    ----------
    name_or_path : str or os.PathLike
    device : str or torch.device, default "cpu"
    catalog_only : bool, default False
        Refuse anything but catalog names (for servers taking user input).

    Raises
    ------
    CheckpointError
        Unknown name, unreadable or truncated file, foreign file, or weights that
        do not fit the model named in the metadata.
    """
    if str(name_or_path) == GRAY_BASELINE:
        return Checkpoint(GRAY_BASELINE, get_spec(GRAY_BASELINE).build().eval(), gray_metadata())
    path = resolve(name_or_path, catalog_only=catalog_only)
    header, blob, _ = _read_file(path)  # metadata and weights of one version of the file
    meta = _parse_metadata(header.get("__metadata__") or {}, path.name)
    state = _weights_of(blob, path.name)
    try:
        model = model_spec(meta).build(**meta["model"].get("args", {}), init=False)
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"{path.name}: cannot build its model ({err})") from err
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(f"{path.name}: weights do not fit model {meta['model']['name']!r} ({first})") from err
    name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    return Checkpoint(name, model.to(device).eval(), meta)


def _weights_of(blob: bytes, name: str) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(blob)
    except (SafetensorError, ValueError) as err:
        raise CheckpointError(f"{name}: weights cannot be read (truncated file? {err})") from err


def new_metadata(*, name: str, model_name: str, model_args: dict, recipe: str, **fields) -> CheckpointMeta:
    """Metadata skeleton with format, versions and creation time filled in."""
    import torch

    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
            "model": {"name": model_name, "args": model_args}, "recipe": check_recipe(recipe),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "colorcore_version": __version__, "torch_version": torch.__version__,
            "history": [], "metrics": {}}
    meta.update(fields)
    return meta


def _encode_meta(meta: CheckpointMeta) -> dict[str, str]:
    return {HEADER_KEY: json.dumps(meta, allow_nan=False)}


def save_checkpoint(path: str | os.PathLike, model: "ColorModel", meta: CheckpointMeta) -> None:
    """Write weights and metadata atomically (a killed writer leaves the old file)."""
    from safetensors.torch import save as safetensors_save

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, safetensors_save(state, metadata=_encode_meta(meta)))


def update_metadata(name_or_path: str | os.PathLike, **fields) -> CheckpointMeta:
    """Rewrite a checkpoint's header with ``fields`` merged into its metadata; the weight bytes are kept as they are.

    Raises
    ------
    CheckpointError
        For the gray baseline (no file) or an unreadable file.
    """
    if str(name_or_path) == GRAY_BASELINE:
        raise CheckpointError("the gray baseline has no file to update")
    path = resolve(name_or_path)
    header, blob, data_start = _read_file(path)  # the header and weights of one version
    meta = _parse_metadata(header.get("__metadata__") or {}, path.name)
    meta.update(fields)
    header["__metadata__"] = {**header.get("__metadata__", {}), **_encode_meta(meta)}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors aligns the data to 8 bytes
    atomic_write_bytes(path, struct.pack("<Q", len(text)) + text + blob[data_start:])
    return meta


def store_metrics(name_or_path: str | os.PathLike, split: str, metrics: SplitMetrics) -> CheckpointMeta:
    """Store evaluation ``metrics`` under ``meta["metrics"][split]`` (other splits kept)."""
    meta = read_metadata(name_or_path)
    return update_metadata(name_or_path, metrics={**meta.get("metrics", {}), split: metrics})


def set_recommended(name: str) -> list[str]:
    """Mark catalog checkpoint ``name`` as its domain's recommended one and unmark the others of that domain.

    Returns
    -------
    list of str
        The names whose metadata changed.
    """
    chosen = domain(read_metadata(name, catalog_only=True))
    changed = []
    for other in catalog_names():
        meta = read_metadata(other, catalog_only=True)
        wanted = other == name
        if domain(meta) == chosen and bool(meta.get("recommended")) != wanted:
            update_metadata(other, recommended=wanted)
            changed.append(other)
    return changed
