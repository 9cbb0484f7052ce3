"""Fine-tuning: ``train --init-from CHECKPOINT`` starts from a trained checkpoint instead of random weights.

The run takes its parent's model and arguments (a classifier's colour classes too: its bin centres
and rebalancing weights are reused, never refitted on the new images), recipe and training settings
(:func:`parent_preset`), with :data:`colorcore.config.FINETUNE_DEFAULTS` on top; a value given
explicitly wins (:func:`config_from_options` builds the run's configuration so), and one that cannot change (another model, recipe or colour classes) is refused
with one error naming them all (:func:`check_parent`).  Before its first step the network *is* the
parent, so its predictions are the parent's.  The new checkpoint records its parent's name and
SHA-256 and the parent's scores on the new validation split (``meta["parent"]``).
Importing this module imports no torch; :func:`load_parent` does, when it loads the parent's weights.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoints import load_checkpoint, read_metadata, resolve
from .config import FINETUNE_DEFAULTS, TrainConfig
from .metadata import CheckpointMeta, ParentInfo, default_temperature, model_spec, train_config

if TYPE_CHECKING:  # pragma: no cover
    from .models.base import ColorModel

#: Training settings a fine-tuned run takes from its parent's ``train_config`` unless given.
INHERITED = ("loss", "rebalance", "size", "scale", "crop", "batch", "optimizer", "weight_decay", "schedule",
             "grad_clip", "domain")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parent_metadata(init_from: str) -> CheckpointMeta:
    """The parent's metadata; ValueError for the gray baseline or a model that cannot be trained."""
    meta = read_metadata(init_from)
    if not model_spec(meta).trainable:
        raise ValueError(f"cannot fine-tune from {init_from!r}: the {meta['model']['name']} baseline has no "
                         "weights to start from")
    return meta


def parent_preset(init_from: str) -> dict:
    """Training settings of a run fine-tuning ``init_from``: the parent's, then the fine-tuning defaults.

    Parameters
    ----------
    init_from : str
        Catalog name or checkpoint file.

    Returns
    -------
    dict
        ``model``, ``recipe``, the :data:`INHERITED` settings the parent recorded, its decoding
        temperature (classifiers) and :data:`colorcore.config.FINETUNE_DEFAULTS`.

    Raises
    ------
    colorcore.checkpoints.CheckpointError
        If the checkpoint cannot be found or read.
    ValueError
        If it is the gray baseline.
    """
    meta = parent_metadata(init_from)
    recorded = train_config(meta)
    preset = {key: recorded[key] for key in INHERITED if key in recorded}
    preset.update(model=meta["model"]["name"], recipe=meta["recipe"])
    temperature = default_temperature(meta)
    if temperature is not None:
        preset["temperature"] = temperature
    return {**preset, **FINETUNE_DEFAULTS}


def config_from_options(given: dict) -> TrainConfig:
    """The :class:`~colorcore.config.TrainConfig` of ``colorcore train``'s values (None: not given).

    With ``init_from`` the values sit over the parent's settings (:func:`parent_preset`), else over
    the preset :meth:`~colorcore.config.TrainConfig.from_options` picks itself.

    Raises
    ------
    colorcore.checkpoints.CheckpointError
        If the ``init_from`` checkpoint cannot be found or read.
    ValueError
        If it is the gray baseline.
    """
    init_from = given.get("init_from")
    return TrainConfig.from_options(given, parent_preset(init_from) if init_from else None)


def check_parent(cfg: TrainConfig, meta: CheckpointMeta) -> None:
    """Raise one ``ValueError`` naming every setting of ``cfg`` that cannot differ from the parent's.

    The network (model), its input and target encodings (recipe) and a classifier's colour
    classes (fitted with the rebalancing ``lambda``) are the parent's; anything else may change.
    """
    conflicts = []
    if cfg.model != meta["model"]["name"]:
        conflicts.append(f"--model {cfg.model} (the parent is a {meta['model']['name']} model)")
    if cfg.recipe != meta["recipe"]:
        conflicts.append(f"--recipe {cfg.recipe} (the parent was trained with the {meta['recipe']} recipe)")
    classes = meta.get("classes")
    if classes and cfg.rebalance != classes["lambda"]:
        conflicts.append(f"--rebalance {cfg.rebalance} (the parent's {classes['n_bins']} colour classes were "
                         f"weighted with lambda {classes['lambda']} and are reused, not refitted)")
    if conflicts:
        raise ValueError(f"cannot fine-tune from {cfg.init_from}: {'; '.join(conflicts)}. Leave these options "
                         "out to take the parent's.")


def load_parent(cfg: TrainConfig) -> tuple["ColorModel", dict, dict, ParentInfo]:
    """The parent's network with its weights, ready to be trained further.

    Returns
    -------
    model : ColorModel
        The parent's network (eval mode: the caller switches it to training).
    model_args : dict
        Its constructor arguments (a classifier's temperature set to ``cfg.temperature``).
    notes : dict
        Metadata fields taken from the parent (``classes`` of a classifier).
    parent : ParentInfo
        ``name`` and ``sha256`` of the parent file.

    Raises
    ------
    ValueError
        If ``cfg`` asks for another model, recipe or colour classes (:func:`check_parent`).
    """
    path = resolve(cfg.init_from)
    ckpt = load_checkpoint(path)
    check_parent(cfg, ckpt.meta)
    args = dict(ckpt.meta["model"].get("args", {}))
    notes = {}
    if ckpt.model.takes_temperature:
        args["temperature"] = ckpt.model.temperature = cfg.temperature
        notes["classes"] = {**ckpt.meta["classes"], "temperature": cfg.temperature}
    info: ParentInfo = {"name": ckpt.meta.get("name") or ckpt.name, "sha256": file_sha256(path)}
    return ckpt.model, args, notes, info
