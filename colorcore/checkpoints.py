"""One checkpoint format: a safetensors file whose header carries JSON metadata.

The metadata (model name and arguments, recipe, training config, data manifest
and split, per-epoch history, evaluation metrics, training-set a*b*
histogram, creation time, versions) is readable from the file's header without
loading any weight, and loading never unpickles anything: safetensors holds
only raw tensors.

A name such as ``places500-huber`` resolves to ``<catalog>/places500-huber.safetensors``;
the catalog is the project's ``checkpoints/`` folder unless ``COLORCORE_CHECKPOINTS``
names another.  ``gray`` is a built-in baseline that predicts a* = b* = 0.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save
from torch import nn

from . import __version__
from .io import atomic_write_bytes
from .lab import check_recipe
from .models import create_model
from .paths import catalog_dir

FORMAT = "colorcore-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".safetensors"
GRAY_BASELINE = "gray"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_REQUIRED = ("format", "format_version", "model", "recipe")


class CheckpointError(ValueError):
    """A checkpoint that cannot be found, read or used; the message says which and why."""


def catalog_names() -> list[str]:
    """Names of the checkpoints in the catalog, sorted."""
    folder = catalog_dir()
    return sorted(p.name[: -len(SUFFIX)] for p in folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def list_catalog() -> list[dict]:
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
        path = catalog_dir() / f"{text}{SUFFIX}"
        if path.is_file():
            return path
    if not catalog_only:
        path = Path(text)
        if path.is_file():
            return path
    choices = ", ".join([GRAY_BASELINE] + catalog_names())
    raise CheckpointError(f"no checkpoint named {text!r}; available: {choices}")


def read_metadata(name_or_path: str | os.PathLike, *, catalog_only: bool = False) -> dict:
    """Metadata of a checkpoint, from the file header only (no weights read)."""
    if str(name_or_path) == GRAY_BASELINE:
        return gray_metadata()
    path = resolve(name_or_path, catalog_only=catalog_only)
    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path.name}: not a readable checkpoint (truncated or not safetensors: {err})") from err
    return _parse_metadata(header, path.name)


def _parse_metadata(header: dict, name: str) -> dict:
    try:
        meta = json.loads(header["colorcore"])
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


def gray_metadata() -> dict:
    """Metadata of the built-in ``gray`` baseline."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "name": GRAY_BASELINE,
            "description": "baseline: a* = b* = 0 (the input's gray levels)",
            "model": {"name": "gray", "args": {}}, "recipe": "corrected", "history": [], "metrics": {}}


class GrayBaseline(nn.Module):
    """Predicts a* = b* = 0 everywhere."""

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return lightness.new_zeros((lightness.shape[0], 2, *lightness.shape[-2:]))


@dataclass
class Checkpoint:
    """A loaded checkpoint: the network in eval mode and its metadata."""

    name: str
    model: nn.Module
    meta: dict

    @property
    def recipe(self) -> str:
        return self.meta["recipe"]

    @property
    def device(self) -> torch.device:
        params = list(self.model.parameters())
        return params[0].device if params else torch.device("cpu")


def load_checkpoint(name_or_path: str | os.PathLike, *, device: str | torch.device = "cpu",
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
        return Checkpoint(GRAY_BASELINE, GrayBaseline().eval(), gray_metadata())
    path = resolve(name_or_path, catalog_only=catalog_only)
    meta = read_metadata(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            state = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path.name}: weights cannot be read (truncated file? {err})") from err
    try:
        model = create_model(meta["model"]["name"], **meta["model"].get("args", {}))
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"{path.name}: cannot build its model ({err})") from err
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(f"{path.name}: weights do not fit model {meta['model']['name']!r} ({first})") from err
    name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    return Checkpoint(name, model.to(device).eval(), meta)


def new_metadata(*, name: str, model_name: str, model_args: dict, recipe: str, **fields) -> dict:
    """Metadata skeleton with format, versions and creation time filled in."""
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
            "model": {"name": model_name, "args": model_args}, "recipe": check_recipe(recipe),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "colorcore_version": __version__, "torch_version": torch.__version__,
            "history": [], "metrics": {}}
    meta.update(fields)
    return meta


def save_checkpoint(path: str | os.PathLike, model: nn.Module, meta: dict) -> None:
    """Write weights and metadata atomically (a killed writer leaves the old file)."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    data = safetensors_save(state, metadata={"colorcore": json.dumps(meta, allow_nan=False)})
    atomic_write_bytes(path, data)


def update_metadata(name_or_path: str | os.PathLike, **fields) -> dict:
    """Rewrite a checkpoint with ``fields`` merged into its metadata (weights unchanged)."""
    ckpt = load_checkpoint(name_or_path)
    if ckpt.name == GRAY_BASELINE:
        raise CheckpointError("the gray baseline has no file to update")
    ckpt.meta.update(fields)
    save_checkpoint(resolve(name_or_path), ckpt.model, ckpt.meta)
    return ckpt.meta


def summary(meta: dict) -> dict:
    """Key facts of a checkpoint for tables: what it was trained on and how it scored."""
    cfg = meta.get("train_config", {})
    data = meta.get("data", {})
    test = meta.get("metrics", {}).get("test", {})
    return {"name": meta.get("name"), "model": meta["model"]["name"], "recipe": meta["recipe"],
            "domain": meta.get("domain", ""), "loss": cfg.get("loss", ""),
            "train_images": data.get("split", {}).get("train"), "epochs": len(meta.get("history", [])),
            "test_psnr": test.get("psnr"), "test_ab_rmse": test.get("ab_rmse"),
            "description": meta.get("description", "")}
