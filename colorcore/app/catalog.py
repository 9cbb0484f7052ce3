"""The checkpoint catalog as the pages show it: file stamps, domains, labels, rows and default choices."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..checkpoints import (GRAY_BASELINE, SUFFIX, CheckpointError, catalog_names, checkpoint_stamp, read_metadata,
                           resolve)
from ..metadata import CheckpointMeta, data_folder, default_temperature, model_spec, parent, summary, train_images
from ..metadata import domain as domain_of
from ..paths import catalog_dir

#: Domains in the order the pages list them; others follow alphabetically.
DOMAIN_ORDER = ("scenes", "histology", "fluorescence")
#: What each domain's checkpoints learned from, shown under the domain choice.
DOMAIN_NOTES = {
    "scenes": "Trained on Places2 photographs (the study's domain). For micrographs choose histology "
              "(brightfield: H&E tissue, blood smears, IHC) or fluorescence (single fluorescence channels).",
    "histology": "Trained on brightfield micrographs (H&E tissue, blood smears, IHC): stain-like colours "
                 "(hematoxylin purple, eosin pink, DAB brown).",
    "fluorescence": "Trained on fluorescence composites in the viewer convention: DNA blue, main marker green, "
                    "third marker red.",
    "lab": "Trained on this server's Train page on a lab's own colour images (see each checkpoint's description "
           "for its base and data).",
}
#: The study's grid, which the Compare page starts with, as checkpoints record it in their metadata:
#: the regression network, the corrected recipe, each loss trained on each number of scene images.
STUDY_MODEL = "study_resnet18"
STUDY_RECIPE = "corrected"
STUDY_LOSSES = ("mse", "huber")
STUDY_TRAIN_IMAGES = (12, 500)
#: Folder name of the scene photographs (a checkpoint recording no domain is a scene one if trained there).
SCENES_FOLDER = "places"


def catalog_stamps() -> tuple[tuple[str, str], ...]:
    """``(name, stamp)`` of every catalog checkpoint (cheap: one ``stat`` each)."""
    out = []
    for name in catalog_names():
        try:
            out.append((name, checkpoint_stamp(name)))
        except (CheckpointError, OSError):
            continue
    return tuple(out)


@dataclass
class Catalog:
    """Readable catalog entries and the files that could not be read.

    Attributes
    ----------
    metas : dict
        ``{name: metadata}`` in catalog order.
    problems : list of str
        One message per unreadable checkpoint file.
    """

    metas: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.metas)


def read_catalog() -> Catalog:
    """Headers of all catalog checkpoints; a bad file is reported, not raised."""
    cat = Catalog()
    for name in catalog_names():
        try:
            cat.metas[name] = read_metadata(name, catalog_only=True)
        except CheckpointError as err:
            cat.problems.append(str(err))
    return cat



def group_by_domain(metas: dict) -> dict[str, list[str]]:
    """``{domain: [names]}`` with the known domains first, names sorted inside each."""
    groups: dict[str, list[str]] = {}
    for name, meta in metas.items():
        groups.setdefault(domain_of(meta), []).append(name)
    order = [d for d in DOMAIN_ORDER if d in groups] + sorted(d for d in groups if d not in DOMAIN_ORDER)
    return {d: sorted(groups[d]) for d in order}


def is_vivid(meta: CheckpointMeta) -> bool:
    """True for a classification (vivid-colour) checkpoint, which takes an annealed-mean temperature."""
    try:
        return model_spec(meta).takes_temperature
    except ValueError:  # a model this version does not know: not offered a temperature
        return False


def _fmt(value, spec: str, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:{spec}}{unit}"


def checkpoint_label(meta: CheckpointMeta) -> str:
    """One line saying what a checkpoint was trained on and how it scored.

    Example: ``places500-huber · scenes, 500 train images, huber loss · test PSNR 23.1 dB,
    ab RMSE 12.4``.
    """
    s = summary(meta)
    if s["name"] == GRAY_BASELINE:
        return f"{GRAY_BASELINE} · baseline, a* = b* = 0"
    trained = [domain_of(meta)]
    if s["train_images"] is not None:
        trained.append(f"{s['train_images']} train images")
    if is_vivid(meta):
        trained.append("a*b* classification (vivid)")
    elif s["loss"]:
        trained.append(f"{s['loss']} loss")
    if meta.get("recipe") == "study":
        trained.append("study recipe")
    if meta.get("complete") is False:
        trained.append(f"in training ({meta.get('epochs_done', s['epochs'])} epochs)")
    if s["test_psnr"] is None and s["test_ab_rmse"] is None:
        scored = "not evaluated yet"
    else:
        scored = f"test PSNR {_fmt(s['test_psnr'], '.1f', ' dB')}, ab RMSE {_fmt(s['test_ab_rmse'], '.1f')}"
    return f"{s['name']} · {', '.join(trained)} · {scored}"


def is_shipped(name: str) -> bool:
    """True for ``gray`` and the checkpoints of the shipped catalog (:func:`colorcore.paths.catalog_dir`), False
    for those users trained (a shipped name wins: :func:`colorcore.checkpoints.resolve`)."""
    return name == GRAY_BASELINE or (catalog_dir() / f"{name}{SUFFIX}").is_file()


#: What the catalog table says a user-trained checkpoint's data are (never the server folder of a user's upload).
UPLOADED_DATA = "images uploaded on the Train page"


def public_description(name: str, meta: CheckpointMeta) -> str:
    """The description every user is shown: a shipped checkpoint's own; for one a user trained, what it was trained
    from and on how many images, never the data's name (an uploaded ZIP's file name) or its folder, which its
    recorded description and training settings hold."""
    if is_shipped(name):
        return meta.get("description", "")
    start = parent(meta)
    what = f"fine-tuned from {start['name']}" if start else "trained from scratch"
    return f"{what} on {train_images(meta)} training images on this server's Train page"


def catalog_rows(metas: dict) -> list[dict]:
    """Table rows (one per checkpoint) of what each was trained on and how it scored.

    Every session sees the table: a checkpoint a user trained shows :data:`UPLOADED_DATA` and
    :func:`public_description`, not the folder and file name of that user's upload.
    """
    rows = []
    for name, meta in metas.items():
        s = summary(meta)
        shipped = is_shipped(name)
        rows.append({"checkpoint": name, "domain": domain_of(meta),
                     "data": data_folder(meta) if shipped else UPLOADED_DATA,
                     "train images": s["train_images"], "loss": s["loss"], "recipe": s["recipe"],
                     "epochs": s["epochs"], "test PSNR (dB)": s["test_psnr"],
                     "test ab RMSE": s["test_ab_rmse"], "description": public_description(name, meta)})
    return rows


def preferred_checkpoint(metas: dict) -> str | None:
    """The checkpoint pages start with: one marked ``recommended`` in its metadata, else the lowest
    test ab RMSE, else the most training images, else the first."""
    if not metas:
        return None

    def key(name):
        s = summary(metas[name])
        rmse = s["test_ab_rmse"]
        return (not metas[name].get("recommended"), rmse is None, rmse if rmse is not None else 0.0,
                -(s["train_images"] or 0), name)

    return min(metas, key=key)


def _trained_on_scenes(meta: CheckpointMeta) -> bool:
    """Domain ``scenes``; for a checkpoint that records no domain, a data root named ``places``."""
    domain = domain_of(meta)
    if domain != "other":
        return domain == "scenes"
    root = data_folder(meta).replace("\\", "/").rstrip("/")
    return PurePosixPath(root).name == SCENES_FOLDER


def in_study_grid(meta: CheckpointMeta) -> bool:
    """True for a checkpoint of the study's grid, recognised by its metadata (never by its name).

    That is: trained on scenes (domain ``scenes``, or no domain and a data root named ``places``), model
    ``STUDY_MODEL`` (``model.name``), recipe ``STUDY_RECIPE``, a loss of ``STUDY_LOSSES``
    (``train_config.loss``) and a number of training images in ``STUDY_TRAIN_IMAGES``
    (``data.split.train``).
    """
    s = summary(meta)
    return (_trained_on_scenes(meta) and s["model"] == STUDY_MODEL and s["recipe"] == STUDY_RECIPE
            and s["loss"] in STUDY_LOSSES and s["train_images"] in STUDY_TRAIN_IMAGES)


def default_compare(metas: dict, limit: int = 4) -> list[str]:
    """Checkpoints the Compare and Training curves pages start with.

    The study's grid (:func:`in_study_grid`) ordered by training images then loss (mse first),
    if the catalog has any of it; else the first ``limit`` checkpoints.

    Parameters
    ----------
    metas : dict
        ``{name: metadata}`` in catalog order.
    limit : int, default 4
    """
    def grid_order(name: str) -> tuple:
        s = summary(metas[name])
        return s["train_images"], STUDY_LOSSES.index(s["loss"]), name

    study = sorted((name for name, meta in metas.items() if in_study_grid(meta)), key=grid_order)
    return study or list(metas)[:limit]
