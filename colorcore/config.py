"""Training configuration: :class:`TrainConfig`, one dataclass whose fields also make the ``train`` command line.

Each field's ``metadata`` holds its ``help`` (and ``choices`` where the value is a name), so
:func:`add_arguments` generates ``--flag`` options from the fields and no option can be
forgotten.  This module imports no torch (``--help`` stays fast); it also holds the loss
names and the presets (the study recipe's, fine-tuning's) that training and the command line
share; the colour classes' defaults and the size multiple live in :mod:`colorcore.units`.
"""
from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass, field

from .models import get_spec, trainable_names
from .units import DEFAULT_LAMBDA, DEFAULT_TEMPERATURE, RECIPES, SIZE_MULTIPLE, check_temperature

#: Criteria of regression models (:mod:`colorcore.losses` implements them).
REGRESSION_LOSSES = ("mse", "huber")
#: The classification models' criterion (class-rebalanced cross-entropy; its classes come from the data).
CLASS_LOSS = "ce"
LOSS_NAMES = (*REGRESSION_LOSSES, CLASS_LOSS)

#: How the student study trained (Adam at 1e-2, no warm-up, constant rate, no clipping, MSE).
STUDY_RECIPE = {"recipe": "study", "loss": "mse", "optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0,
                "warmup_epochs": 0.0, "schedule": "constant", "grad_clip": None}
#: Fine-tuning defaults (``--init-from``), chosen on the validation split of docs/results.md's fine-tuning
#: study: lr 3e-4 beat 1e-4 and 3e-5 on 3, 12 and all images and was steadier than 1e-3; with a dozen images
#: an epoch is one step and validation still improved from 30 to 60 epochs; warm-up made no difference.
FINETUNE_DEFAULTS = {"lr": 3e-4, "epochs": 60, "warmup_epochs": 0.5}


def _opt(default, help: str, choices: tuple | list | None = None):
    """A field with a default, its ``--help`` text and, for names, the allowed ``choices``."""
    meta = {"help": help} if choices is None else {"help": help, "choices": tuple(choices)}
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """Everything that decides a training run; stored in the checkpoint (``train_config``).

    Build it from a dict with :meth:`from_dict` (unknown keys are errors), or from command-line
    values with :meth:`from_options`; :meth:`validate` reports impossible settings.
    """

    # what to learn from and where to write: required, there is no sensible default
    data: str = field(metadata={"help": "folder of colour images (searched recursively)"})
    out: str = field(metadata={"help": "checkpoint file to write (.safetensors)"})
    # the network and its criterion: the registry knows what a model is and how it trains by default
    model: str = _opt("study_resnet18", "study_resnet18 regresses a*b*; study_resnet18_classes classifies "
                      "them (vivid colours)", trainable_names())
    recipe: str = _opt("corrected", "corrected L*/ab pipeline, or the student study's recipe (its optimiser "
                       "settings too, under any option given)", RECIPES)
    loss: str | None = _opt(None, "training criterion (default: the model's, huber or ce; study recipe: mse)",
                            LOSS_NAMES)
    # fine-tuning: a lab's few images start from a trained network instead of random weights
    init_from: str | None = _opt(None, "fine-tune: start from this checkpoint (catalog name or file): its model, "
                                 "arguments, colour classes, recipe and settings, with lr {lr:g}, {epochs} epochs "
                                 "and {warmup_epochs:g} warm-up epochs unless given".format(**FINETUNE_DEFAULTS))
    # classification only: rare colours need up-weighting, else the mean colour is gray-brown
    rebalance: float = _opt(DEFAULT_LAMBDA, "classification: class rebalancing lambda (0: inverse prior, "
                            "1: no rebalancing)")
    # classification only: stored with the model, so loading decodes as validation did
    temperature: float = _opt(DEFAULT_TEMPERATURE, "classification: default annealed-mean temperature stored "
                              "with the model (lower is more vivid)")
    # more training data: a second folder whose images all join the training pool, so --data's
    # seeded test and validation splits (the common test of every model of a domain) stay unchanged
    more_data: str | None = _opt(None, "folder of more training images (searched recursively): all of them "
                                 "train, none go to test or validation, so --data's split is unchanged")
    # the split: seeded and nested, so small training sets lie inside large ones
    train_images: int | None = _opt(None, "first N images of the seeded training pool (default: all)")
    val_images: int | None = _opt(None, "validation images (default: 10 % of the files, at least 1)")
    test_images: int | None = _opt(None, "held-out test images, never trained on (default: 10 % of the files)")
    epochs: int = _opt(100, "passes over the training images")
    # images are decoded once at this size into memory, so loading never dominates
    size: int = _opt(128, "px: resize short side and center-crop (scale resize), or shrink the long side to it "
                     "(scale native)")
    scale: str = _opt("resize", "resize: short side to --size, center crop; native: each image keeps its scale, "
                      "long side only shrunk to --size (as inference at working size --size), random --crop",
                      ("resize", "native"))
    crop: int | None = _opt(None, "random training crop in px (default: --size)")
    batch: int = _opt(32, "images per optimisation step (over all processes)")
    # optimiser: AdamW with warm-up, cosine decay and clipping keeps validation loss stable
    optimizer: str = _opt("adamw", "optimiser", ("adamw", "adam"))
    lr: float = _opt(1e-3, "peak learning rate (study recipe: 1e-2)")
    weight_decay: float = _opt(1e-4, "weight decay")
    warmup_epochs: float = _opt(2.0, "linear warm-up, in epochs (keeps early BatchNorm statistics sane)")
    schedule: str = _opt("cosine", "learning rate after warm-up: cosine decay to 5 % of lr, or constant",
                         ("cosine", "constant"))
    grad_clip: float | None = _opt(1.0, "max gradient norm (study recipe: no clipping)")
    # reproducibility: one seed decides split, initialisation and augmentation
    seed: int = _opt(0, "decides split, initialisation and augmentation")
    group_pattern: str | None = _opt(None, "regex whose first group names an image's group (slide, field); "
                                     "groups never straddle splits, e.g. '^([^/]+)/' for folders")
    include: str | None = _opt(None, "regex a file's relative path must match, e.g. '^(he_|blood_)'")
    # rare kinds of image (whole fields among single-cell crops) would otherwise barely be learned
    oversample: str | None = _opt(None, "regex of training files to show more often (split unchanged)")
    oversample_factor: int = _opt(1, "times a file matching --oversample is seen an epoch")
    val_every: int = _opt(1, "validate every N epochs (and always at the last)")
    # where and how fast: bf16 only where the hardware computes it natively, else it is slower
    device: str = _opt("auto", "auto: cuda, then mps, then cpu", ("auto", "cpu", "cuda", "mps"))
    bf16: str = _opt("auto", "bf16 autocast (auto: on CUDA and CPUs with native bf16)", ("auto", "on", "off"))
    # a background job beside a server leaves it cores (the app's training jobs use 1)
    threads: int | None = _opt(None, "torch intra-op threads (default: torch's, one per core)")
    # what listings and the app show
    name: str = _opt("", "checkpoint name (default: the out file's stem)")
    description: str = _opt("", "one line shown in listings and the app")
    domain: str = _opt("", "e.g. scenes, histology, fluorescence")
    # free-form notes stored as they are (Python API only: no command-line flag)
    extra: dict = field(default_factory=dict, metadata={"help": "free-form notes", "flag": False})

    def __post_init__(self) -> None:
        if self.loss is None and self.model in trainable_names():
            self.loss = get_spec(self.model).default_loss

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build from a dict of field values.

        Raises
        ------
        ValueError
            If ``values`` holds a key that is not a field (the message lists them), or lacks ``data`` or ``out``.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)}")
        missing = [f.name for f in dataclasses.fields(cls) if _required(f) and f.name not in values]
        if missing:
            raise ValueError(f"missing training option(s): {', '.join(missing)}")
        return cls(**values)

    @classmethod
    def from_options(cls, given: dict, parent: dict | None = None) -> "TrainConfig":
        """Build from command-line values (None: not given) over a preset over the defaults.

        A fine-tuning run's preset (``init_from``) is ``parent``: the parent's settings and the fine-tuning
        defaults, which the caller reads (:func:`colorcore.finetune.parent_preset`, or both steps in one:
        :func:`colorcore.finetune.config_from_options`); any other run's is the study recipe's optimiser
        settings (:data:`STUDY_RECIPE`) when ``recipe`` is ``"study"``.  A value given explicitly wins.

        Raises
        ------
        ValueError
            If ``parent`` is given without ``init_from``, or ``init_from`` without ``parent``.
        """
        given = {k: v for k, v in given.items() if v is not None}
        if bool(given.get("init_from")) != (parent is not None):
            raise ValueError("a fine-tuning run (init_from) is built over its parent's preset and only it is: "
                             "pass parent=colorcore.finetune.parent_preset(init_from) with init_from")
        preset = parent if parent is not None else STUDY_RECIPE if given.get("recipe") == "study" else {}
        return cls.from_dict({**preset, **given})

    def validate(self) -> None:
        """Raise ``ValueError`` with a precise message for any impossible setting."""
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise ValueError(f"{f.name} must be {_one_of(choices)}, got {getattr(self, f.name)!r}")
        self._validate_model()
        for key in ("epochs", "size", "batch", "val_every", "oversample_factor"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        crop = self.crop or self.size
        if crop % SIZE_MULTIPLE or self.size % SIZE_MULTIPLE:
            raise ValueError(f"size and crop must be multiples of {SIZE_MULTIPLE}, got {self.size} and {crop}")
        if crop > self.size:
            raise ValueError(f"crop ({crop}) cannot exceed size ({self.size})")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        for key in ("weight_decay", "warmup_epochs"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 (or None for no clipping), got {self.grad_clip}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")

    def _validate_model(self) -> None:
        """The model, its loss, recipe and classification settings fit together."""
        classifier = get_spec(self.model).classifies
        if classifier != (self.loss == CLASS_LOSS):
            classifiers = [n for n in trainable_names() if get_spec(n).classifies]
            raise ValueError(f"the {CLASS_LOSS!r} loss goes with a classification model "
                             f"({', '.join(classifiers)}) and only with one; got model {self.model!r}, "
                             f"loss {self.loss!r}")
        if classifier and self.recipe != "corrected":
            raise ValueError("classification models use the corrected recipe (their classes are Lab a*b* bins)")
        if not 0.0 <= self.rebalance <= 1.0:
            raise ValueError(f"rebalance (lambda) must be in [0, 1], got {self.rebalance}")
        if classifier:
            check_temperature(self.temperature)
        elif self.temperature != DEFAULT_TEMPERATURE:
            raise ValueError(f"temperature applies only to classification models; {self.model!r} is a "
                             f"regression model (got temperature {self.temperature})")


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _one_of(choices) -> str:
    """``"a or b"``, ``"a, b or c"``."""
    names = [str(c) for c in choices]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def flag_fields() -> list[dataclasses.Field]:
    """The :class:`TrainConfig` fields that are command-line options (all but ``extra``), in order."""
    return [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("flag", True)]


def options_of(namespace) -> dict:
    """The :func:`flag_fields` values of a parsed ``argparse`` namespace (None: not given), by field name."""
    return {f.name: getattr(namespace, f.name) for f in flag_fields()}


def parse_options(argv: list[str]) -> dict:
    """:func:`options_of` the ``colorcore train`` arguments ``argv``.

    Raises
    ------
    ValueError
        If ``argv`` holds an unknown flag or a value of the wrong type.
    """
    parser = argparse.ArgumentParser(prog="colorcore train", exit_on_error=False)
    add_arguments(parser)
    try:
        namespace, unknown = parser.parse_known_args(argv)
    except argparse.ArgumentError as err:
        raise ValueError(str(err)) from None
    if unknown:
        raise ValueError(f"unknown training option(s): {' '.join(unknown)}")
    return options_of(namespace)


def _value_type(hint) -> type:
    """``int`` for ``int`` or ``int | None``: the type argparse converts a flag's text to."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def add_arguments(parser) -> None:
    """Add one ``--flag`` per :func:`flag_fields` field to an ``argparse`` parser.

    Every flag defaults to None (not given), so :meth:`TrainConfig.from_options` can tell
    explicit values from defaults; ``--help`` shows each field's default.
    """
    hints = typing.get_type_hints(TrainConfig)
    for f in flag_fields():
        text = f.metadata["help"]
        if not _required(f) and f.default not in (None, ""):
            text += f" (default: {f.default})"
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=_value_type(hints[f.name]),
                            required=_required(f), choices=f.metadata.get("choices"), help=text.replace("%", "%%"))
