"""The checkpoint metadata, described once: typed JSON (TypedDicts) and the accessors every reader uses.

:class:`CheckpointMeta` is what a checkpoint file's header says about itself (model and arguments,
recipe, training config, data manifest and split, per-epoch history, evaluation metrics,
training-set a*b* histogram, colour classes, parent, domain check, versions);
:mod:`colorcore.checkpoints` reads and writes it.  Readers go through the accessors here rather
than ``.get(..., {})`` chains, so a field's home and default are written once.  No torch.
"""
from __future__ import annotations

from typing import Any, TypedDict

from .models import ModelSpec, get_spec
from .units import DEFAULT_TEMPERATURE

class ModelInfo(TypedDict):
    """Registry name and constructor arguments: ``create_model(name, **args)`` rebuilds the network."""

    name: str
    args: dict[str, Any]


class DataManifest(TypedDict, total=False):
    """What a checkpoint was trained on: folder, seeded split sizes, hashes and file lists."""

    root: str
    n_files: int
    manifest_sha256: str
    seed: int
    group_pattern: str | None
    include: str | None
    split: dict[str, int]            # "test", "val", "train", "pool" -> number of files
    split_sha256: dict[str, str]
    files: dict[str, list[str]]      # "test", "val", "train" -> relative paths
    skipped: list[str]
    more: dict                       # --more-data: "root", "n_files", "manifest_sha256" (all trained on)


class EpochRecord(TypedDict):
    """One entry of the training history (validation values are None on epochs without validation)."""

    epoch: int
    train_loss: float
    lr: float
    images_per_s: float
    val_loss: float | None
    val_ab_rmse: float | None
    val_psnr: float | None
    seconds: float


class SplitMetrics(TypedDict, total=False):
    """``colorcore evaluate`` results on one split (keys of :data:`colorcore.metrics.METRIC_NAMES`)."""

    n_images: int
    psnr: float
    ssim: float
    ab_rmse: float
    auc: float
    colorfulness: float
    colorfulness_gt: float
    cast_a: float
    cast_b: float
    green_recall: float | None
    hue_accuracy: float | None
    data: str                        # the folder evaluated
    temperature: float               # classification checkpoints: the temperature used


class ParentInfo(TypedDict, total=False):
    """The checkpoint a fine-tuned one started from (``train --init-from``)."""

    name: str
    sha256: str                      # of the parent's file
    val: dict[str, float]            # its val_loss, val_ab_rmse, val_psnr on this run's validation split


class DomainSummary(TypedDict):
    """One Gaussian of :mod:`colorcore.domain`, in probabilistic-PCA form over standardised vectors."""

    features: str                    # how an image becomes the vector (colorcore.domain.FEATURES)
    reference: float                 # its distance's 98th percentile on held-out validation images
    mean: list[float]                # (D,) mean vector
    scale: list[float]               # (D,) standard deviation of each value
    axes: list[list[float]]          # (k, D) principal axes of the standardised vectors
    variances: list[float]           # (k,) variance along each axis
    residual_variance: float         # variance of each of the other D - k directions


class DomainCheck(TypedDict, total=False):
    """What the training images look like, to the checkpoint's own encoder and in L* (:mod:`colorcore.domain`)."""

    working_size: int                # long side the encoder sees images at (the training size)
    summaries: dict[str, DomainSummary]  # "layer1", "layer2" (the encoder's last stages), "lightness"
    threshold: float                 # the larger summary distance / reference that still counts as in domain
    quantile: float                  # share of held-out validation images in domain by construction
    val_in_domain: float             # the share measured
    fitted_on: dict[str, Any]        # folder and numbers of training and validation images


#: Colour classes of a classification checkpoint (``lambda`` is a keyword, hence this form).
ClassesInfo = TypedDict("ClassesInfo", {"n_bins": int, "lambda": float, "temperature": float,
                                        "max_weight": float, "min_weight": float})


class CheckpointMeta(TypedDict, total=False):
    """Everything a checkpoint file says about itself (JSON in the safetensors header)."""

    format: str
    format_version: int
    name: str
    description: str
    domain: str                      # "scenes", "histology", "fluorescence", ...
    recommended: bool                # the checkpoint pages start with in its domain
    model: ModelInfo
    recipe: str                      # "corrected" or "study"
    created: str
    colorcore_version: str
    torch_version: str
    train_config: dict[str, Any]     # colorcore.config.TrainConfig as a dict
    data: DataManifest
    train_ab_hist: dict[str, Any]    # colorcore.metrics.ab_histogram of the training images
    runtime: dict[str, Any]          # device, bf16, threads, processes of the training run
    classes: ClassesInfo
    history: list[EpochRecord]
    epochs_done: int
    complete: bool
    metrics: dict[str, SplitMetrics]  # split name ("test", "val", "all") -> metrics
    parent: ParentInfo               # fine-tuned checkpoints only
    reference_metrics: dict[str, SplitMetrics]  # other checkpoints (parent, gray) on this one's test split
    domain_check: DomainCheck        # the out-of-domain check's summary (None: not fitted)


# ---------------------------------------------------------------- accessors

def model_spec(meta: CheckpointMeta) -> ModelSpec:
    """The registry entry of the checkpoint's model (kind, whether it takes a temperature)."""
    return get_spec(meta["model"]["name"])


def train_config(meta: CheckpointMeta) -> dict[str, Any]:
    """The training configuration as recorded (:class:`colorcore.config.TrainConfig` as a dict; ``{}`` for the
    gray baseline)."""
    return meta.get("train_config") or {}


def domain(meta: CheckpointMeta) -> str:
    """Domain of a checkpoint (``scenes``, ``histology``, ``fluorescence``...) or ``other``."""
    return (meta.get("domain") or train_config(meta).get("domain") or "other").strip() or "other"


def loss_name(meta: CheckpointMeta) -> str:
    """The training criterion (``""`` for the gray baseline)."""
    return train_config(meta).get("loss", "")


def data_folder(meta: CheckpointMeta) -> str:
    """The folder a checkpoint was trained on as recorded (``""`` if none)."""
    return str(meta.get("data", {}).get("root") or "")


def train_images(meta: CheckpointMeta) -> int | None:
    """Number of training images (``--more-data`` included), None if not recorded."""
    data = meta.get("data", {})
    train = data.get("split", {}).get("train")
    return None if train is None else train + data.get("more", {}).get("n_files", 0)


def split_files(meta: CheckpointMeta, split: str) -> list[str] | None:
    """Relative paths of the recorded ``split`` (``"test"``, ``"val"``, ``"train"``), None if not recorded."""
    return meta.get("data", {}).get("files", {}).get(split)


def history(meta: CheckpointMeta) -> list[EpochRecord]:
    """The per-epoch training history (empty for the baseline)."""
    return meta.get("history") or []


def parent(meta: CheckpointMeta) -> ParentInfo | None:
    """The checkpoint a fine-tuned checkpoint started from; None for one trained from scratch."""
    return meta.get("parent") or None


def domain_check(meta: CheckpointMeta) -> DomainCheck | None:
    """The out-of-domain check's summary; None when it was never fitted (``checkpoints --fit-domain``)."""
    return meta.get("domain_check") or None


def split_metrics(meta: CheckpointMeta, split: str = "test") -> SplitMetrics:
    """Stored evaluation metrics of ``split`` (``{}`` when not evaluated)."""
    return meta.get("metrics", {}).get(split) or {}


def default_temperature(meta: CheckpointMeta) -> float | None:
    """The annealed-mean temperature a classification checkpoint decodes with by default; None otherwise.

    Newer checkpoints keep it in the model's arguments; older ones only in ``classes``.
    """
    if not model_spec(meta).takes_temperature:
        return None
    args = meta["model"].get("args", {})
    return float(args.get("temperature", meta.get("classes", {}).get("temperature", DEFAULT_TEMPERATURE)))


def summary(meta: CheckpointMeta) -> dict:
    """Key facts of a checkpoint for tables: what it was trained on and how it scored."""
    test = split_metrics(meta)
    return {"name": meta.get("name"), "model": meta["model"]["name"], "recipe": meta["recipe"],
            "domain": meta.get("domain", ""), "loss": loss_name(meta), "train_images": train_images(meta),
            "epochs": len(history(meta)), "test_psnr": test.get("psnr"), "test_ab_rmse": test.get("ab_rmse"),
            "description": meta.get("description", "")}
