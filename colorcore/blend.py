"""Blend a trained classification checkpoint with a trained regression checkpoint (``colorcore blend``).

The weight and the temperature are chosen on the validation split both checkpoints record: the most
faithful pair (lowest a*b* RMSE) whose colourfulness is still at least ``min_colourfulness`` of the
originals'.  The result is one checkpoint holding both networks (:class:`colorcore.models.blend.BlendNet`).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from .checkpoints import Checkpoint, load_checkpoint, new_metadata, resolve, save_checkpoint
from .finetune import file_sha256
from .infer import merge, predict, predict_temperatures
from .io import ImageError, read_image, to_uint8
from .metadata import CheckpointMeta, domain, model_spec, split_files
from .metrics import MetricAccumulator
from .models import create_model

#: Temperatures and classifier weights tried on the validation split.
TEMPERATURES = (0.2, 0.25, 0.3, 0.38, 0.46, 0.55)
WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: The chosen blend keeps at least this share of the originals' colourfulness (``blend --min-colourfulness``).
MIN_COLOURFULNESS = 0.8


def check_pair(vivid: Checkpoint, faithful: Checkpoint) -> None:
    """Raise ``ValueError`` unless ``vivid`` classifies, ``faithful`` regresses, and both share recipe and split."""
    if not model_spec(vivid.meta).classifies:
        raise ValueError(f"{vivid.name} is not a classification checkpoint; the vivid side of a blend must be one")
    if not (model_spec(faithful.meta).regresses and model_spec(faithful.meta).trainable):
        raise ValueError(f"{faithful.name} is not a trained regression checkpoint; the faithful side must be one")
    if vivid.recipe != faithful.recipe:
        raise ValueError(f"{vivid.name} and {faithful.name} use different recipes ({vivid.recipe}, {faithful.recipe})")
    hashes = [c.meta.get("data", {}).get("split_sha256", {}) for c in (vivid, faithful)]
    if not hashes[0].get("val") or any(h.get(s) != hashes[0].get(s) for h in hashes for s in ("test", "val")):
        raise ValueError(f"{vivid.name} and {faithful.name} must record the same test and validation split")


def sweep(vivid: Checkpoint, faithful: Checkpoint, root: str | Path, files: list[str], *,
          temperatures=TEMPERATURES, weights=WEIGHTS, progress: Callable | None = None) -> list[dict]:
    """Metrics of every (temperature, weight) blend on colour images ``files`` under ``root``.

    Returns
    -------
    list of dict
        One row per pair: ``temperature``, ``weight`` and the metrics of
        :meth:`colorcore.metrics.MetricAccumulator.result`.  Unreadable and gray files are skipped.
    """
    pairs = [(t, w) for t in temperatures for w in weights]
    accumulators = {pair: MetricAccumulator() for pair in pairs}
    for name in (progress(files) if progress else files):
        try:
            image, _ = read_image(Path(root) / name)
        except ImageError:
            continue
        if image.ndim != 3:
            continue
        truth, regressed = to_uint8(image), predict(image, faithful)
        for t, classified in zip(temperatures, predict_temperatures(image, vivid, list(temperatures))):
            for w in weights:
                blended = dataclasses.replace(classified, ab=w * classified.ab + (1 - w) * regressed.ab)
                accumulators[t, w].add(merge(image, blended).rgb, truth)
    return [{"temperature": t, "weight": w, **accumulators[t, w].result()} for t, w in pairs]


def choose(rows: list[dict], min_colourfulness: float = MIN_COLOURFULNESS) -> dict:
    """The lowest a*b* RMSE row whose colourfulness is at least ``min_colourfulness`` x the originals'.

    If no row is that colourful, the most colourful one.
    """
    if not rows:
        raise ValueError("no validation image could be read: nothing to choose a blend on")
    vivid = [r for r in rows if r["colorfulness"] >= min_colourfulness * r["colorfulness_gt"]]
    if vivid:
        return min(vivid, key=lambda r: r["ab_rmse"])
    return max(rows, key=lambda r: r["colorfulness"])


def blend_metadata(vivid: Checkpoint, faithful: Checkpoint, chosen: dict, *, name: str, description: str,
                   blend: dict) -> CheckpointMeta:
    """Metadata of the blend: the classifier's data, colour classes and domain, and ``blend`` (parents, choice).

    No training history or configuration: a blend is not trained (its parents' are in their files).
    """
    model_args = {"vivid": vivid.meta["model"], "faithful": faithful.meta["model"],
                  "weight": chosen["weight"], "temperature": chosen["temperature"]}
    kept = {k: vivid.meta[k] for k in ("data", "train_ab_hist", "classes") if k in vivid.meta}
    return new_metadata(name=name, model_name="blend", model_args=model_args, recipe=vivid.recipe,
                        **kept, domain=domain(vivid.meta), description=description, blend=blend)


def blend_on_validation(vivid: str | Path, faithful: str | Path, root: str | Path, out: str | Path, *,
                        name: str, description: str = "", min_colourfulness: float = MIN_COLOURFULNESS,
                        progress: Callable | None = None) -> dict:
    """Sweep the blends of two checkpoints (names or files) on their validation split, save the chosen one.

    Returns the chosen row of :func:`sweep`.

    Raises
    ------
    ValueError
        If the pair cannot be blended (:func:`check_pair`) or no validation image is readable.
    """
    ckpts = {side: load_checkpoint(given) for side, given in (("vivid", vivid), ("faithful", faithful))}
    check_pair(ckpts["vivid"], ckpts["faithful"])
    rows = sweep(ckpts["vivid"], ckpts["faithful"], root, split_files(ckpts["vivid"].meta, "val"), progress=progress)
    chosen = choose(rows, min_colourfulness)
    blend = {**{side: {"name": c.meta.get("name") or c.name, "sha256": file_sha256(resolve(given))}
                for (side, c), given in zip(ckpts.items(), (vivid, faithful))},
             "chosen": chosen, "chosen_on": "val", "root": str(root), "min_colourfulness": min_colourfulness,
             "rule": "lowest a*b* RMSE with colourfulness >= min_colourfulness x the originals'", "sweep": rows}
    meta = blend_metadata(ckpts["vivid"], ckpts["faithful"], chosen, name=name, description=description,
                          blend=blend)
    model = create_model("blend", **meta["model"]["args"], init=False)
    model.vivid.load_state_dict(ckpts["vivid"].model.state_dict())
    model.faithful.load_state_dict(ckpts["faithful"].model.state_dict())
    save_checkpoint(out, model, meta)
    return chosen
