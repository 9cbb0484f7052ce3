"""Training: ``train(config)`` runs the loop, records history, writes checkpoints, resumes.

Images are decoded once into memory (uint8), Lab conversion and augmentation
run batched in torch on the training device, so loading never dominates.
After every epoch the checkpoint file is replaced atomically (a killed run
leaves the last complete epoch) and a resume state (optimizer, history) is
written beside it as ``<out>.state.pt``.
"""
from __future__ import annotations

import dataclasses
import io
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import checkpoints as ckpt_io
from .data import (augment_batch, file_list_hash, image_batches, list_images, load_image_list, load_image_tensor,
                   split_files, take)
from .io import atomic_write_bytes, to_uint8
from .lab import check_recipe, decode_ab, encode_ab, encode_input, lab_to_rgb, rgb_to_lab
from .losses import CLASS_LOSS, LOSS_NAMES, get_loss, rebalanced_cross_entropy
from .metrics import ab_histogram, ab_rmse, merge_histograms, psnr
from .models import CLASSIFICATION, SIZE_MULTIPLE, create_model, get_spec, trainable_names
from .quantize import DEFAULT_LAMBDA, fit_bins, grid_counts


@dataclass
class TrainConfig:
    """Everything that decides a training run; stored in the checkpoint."""

    data: str                          # folder of colour images, searched recursively
    out: str                           # checkpoint file to write (.safetensors)
    model: str = "study_resnet18"      # registry name (colorcore.models.MODELS)
    recipe: str = "corrected"          # "corrected" L*/ab pipeline or the "study" reproduction
    loss: str = "huber"                # "mse", "huber" (delta 10 Lab units) or "ce" (classification models)
    rebalance: float = DEFAULT_LAMBDA  # classification: lambda mixing the colour prior with uniform
    train_images: int | None = None    # first N of the seeded training pool; None = all
    val_images: int | None = None      # None = 10 % of the files (at least 1)
    test_images: int | None = None     # None = 10 % of the files (at least 1); never trained on
    epochs: int = 100
    size: int = 128                    # images are resized (short side) and center-cropped to this
    scale: str = "resize"              # "resize" (as above) or "native": long side only shrunk to `size`, as
    #                                    inference sees an image at working size `size`; training takes crops
    crop: int | None = None            # random training crop (<= size); None = size
    batch: int = 32
    optimizer: str = "adamw"           # "adamw" or "adam"
    lr: float = 1e-3                   # peak learning rate
    weight_decay: float = 1e-4
    warmup_epochs: float = 2.0         # linear warm-up keeps early BatchNorm statistics sane
    schedule: str = "cosine"           # "cosine" decay to 5 % of lr, or "constant"
    grad_clip: float | None = 1.0      # max gradient norm; None = no clipping
    seed: int = 0                      # decides split, initialisation and augmentation
    group_pattern: str | None = None   # regex naming groups that must not straddle splits
    include: str | None = None         # regex a file's relative path must match to be used
    oversample: str | None = None      # regex of training files seen `oversample_factor` times an epoch
    oversample_factor: int = 1         # (rare kinds of image, e.g. whole fields among single-cell crops)
    val_every: int = 1                 # validate every N epochs (and always at the last)
    device: str = "auto"               # "auto" (cuda, mps, cpu), "cpu", "cuda", "mps"
    bf16: str = "auto"                 # autocast: "auto" (CUDA, or CPUs with native bf16), "on", "off"
    name: str = ""                     # checkpoint name; default: the out file's stem
    description: str = ""              # one line shown in listings and the app
    domain: str = ""                   # e.g. "scenes", "histology", "fluorescence"
    extra: dict = field(default_factory=dict)  # free-form notes stored as they are

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build from a dict; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**values)

    def validate(self) -> None:
        """Raise ``ValueError`` with a precise message for any impossible setting."""
        check_recipe(self.recipe)
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSS_NAMES)}")
        classifier = get_spec(self.model).kind == CLASSIFICATION
        if classifier != (self.loss == CLASS_LOSS):
            raise ValueError(f"the {CLASS_LOSS!r} loss goes with a classification model "
                             f"({', '.join(n for n in trainable_names() if get_spec(n).kind == CLASSIFICATION)}) "
                             f"and only with one; got model {self.model!r}, loss {self.loss!r}")
        if classifier and self.recipe != "corrected":
            raise ValueError("classification models use the corrected recipe (their classes are Lab a*b* bins)")
        if not 0.0 <= self.rebalance <= 1.0:
            raise ValueError(f"rebalance (lambda) must be in [0, 1], got {self.rebalance}")
        positive = {"epochs": self.epochs, "size": self.size, "batch": self.batch, "val_every": self.val_every,
                    "oversample_factor": self.oversample_factor}
        for key, value in positive.items():
            if value < 1:
                raise ValueError(f"{key} must be >= 1, got {value}")
        crop = self.crop or self.size
        if crop % SIZE_MULTIPLE or self.size % SIZE_MULTIPLE:
            raise ValueError(f"size and crop must be multiples of {SIZE_MULTIPLE}, got {self.size} and {crop}")
        if crop > self.size:
            raise ValueError(f"crop ({crop}) cannot exceed size ({self.size})")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be adam or adamw, got {self.optimizer!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be cosine or constant, got {self.schedule!r}")
        if self.scale not in ("resize", "native"):
            raise ValueError(f"scale must be resize or native, got {self.scale!r}")
        if self.bf16 not in ("auto", "on", "off"):
            raise ValueError(f"bf16 must be auto, on or off, got {self.bf16!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


#: How the student study trained (Adam at 1e-2, no warm-up, no clipping, MSE).
STUDY_RECIPE = {"recipe": "study", "loss": "mse", "optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0,
                "warmup_epochs": 0.0, "schedule": "constant", "grad_clip": None}


def get_lr(step: int, total_steps: int, warmup_steps: int, base_lr: float, schedule: str) -> float:
    """Learning rate at ``step``: linear warm-up, then constant or cosine to 5 % of ``base_lr``."""
    if warmup_steps and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return base_lr
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return base_lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def pick_device(name: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU for ``"auto"``; otherwise the named device (checked)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but no CUDA GPU is available; use --device cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)


def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX-512 BF16 or AMX); elsewhere bf16 is slower."""
    return torch.backends.cpu.get_cpu_capability() in ("AVX512_BF16", "AMX")


def use_bf16(device: torch.device, setting: str) -> bool:
    if setting != "auto":
        return setting == "on"
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())


@dataclass(frozen=True)
class _Dist:
    """Rank and world size of a torchrun launch (rank 0 of 1 otherwise)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device_name: str) -> tuple[_Dist, torch.device | None]:
    """Join the process group when started by torchrun (WORLD_SIZE > 1): NCCL on CUDA, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), None
    import torch.distributed as dist

    use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    dist.init_process_group("nccl" if use_cuda else "gloo")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    return _Dist(dist.get_rank(), dist.get_world_size()), device


def state_path(out: str | Path) -> Path:
    """Resume-state file written beside a checkpoint."""
    return Path(f"{out}.state.pt")


def _lab_batch(batch_u8: torch.Tensor, device: torch.device, recipe: str
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """uint8 (N, 3, H, W) -> (network input, target, rebuild L*) on ``device``."""
    rgb = batch_u8.to(device, non_blocking=True).float() / 255.0
    net_in, lightness = encode_input(rgb, recipe)
    target = encode_ab(rgb_to_lab(rgb)[:, 1:], recipe)
    return net_in, target, lightness


def _loss_input(net: nn.Module, model: nn.Module, net_in: torch.Tensor) -> torch.Tensor:
    """What the loss scores: class logits of a classifier, encoded a*b* of a regression net.

    ``net`` is ``model`` or its DistributedDataParallel wrapper (called, so gradients sync).
    """
    return net(net_in, raw=True)


def build_model(cfg: TrainConfig, train_imgs: torch.Tensor | list[torch.Tensor]
                ) -> tuple[nn.Module, dict, Callable, dict]:
    """The network, its constructor arguments, its loss and notes for the metadata.

    A classification model gets its classes, colour prior and rebalancing
    weights from ``train_imgs`` (uint8, N x 3 x H x W or a list of 3 x H x W) here.
    """
    if get_spec(cfg.model).kind != CLASSIFICATION:
        return create_model(cfg.model), {}, get_loss(cfg.loss), {}
    bins = fit_bins(grid_counts(train_imgs), lam=cfg.rebalance)
    args = {"n_bins": len(bins.centers)}
    model = create_model(cfg.model, **args)
    model.centers.copy_(torch.from_numpy(bins.centers))
    model.class_weights.copy_(torch.from_numpy(bins.weights))

    def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return rebalanced_cross_entropy(logits, target, model.centers, model.class_weights)

    notes = {"classes": {"n_bins": len(bins.centers), "lambda": cfg.rebalance, "temperature": model.temperature,
                         "max_weight": float(bins.weights.max()), "min_weight": float(bins.weights.min())}}
    return model, args, loss_fn, notes


@torch.no_grad()
def estimate_val(model: nn.Module, images: torch.Tensor | list[torch.Tensor], cfg: TrainConfig,
                 device: torch.device, loss_fn: Callable, batch: int = 50) -> dict:
    """Validation loss (the training criterion) and loss-independent ab RMSE and PSNR.

    The model is switched to ``eval()`` and back to ``train()``.
    """
    model.eval()
    losses, rmses, psnrs = [], [], []
    for chunk in image_batches(images, batch, SIZE_MULTIPLE):
        net_in, target, lightness = _lab_batch(chunk, device, cfg.recipe)
        raw = _loss_input(model, model, net_in).float()
        losses.append(float(loss_fn(raw, target)) * len(chunk))
        pred = model.decode(raw)
        lab = torch.cat([lightness, decode_ab(pred, cfg.recipe)], dim=1)
        out = to_uint8(lab_to_rgb(lab).permute(0, 2, 3, 1).cpu().numpy())
        truth = chunk.permute(0, 2, 3, 1).numpy()
        for pred_img, true_img in zip(out, truth):
            rmses.append(ab_rmse(pred_img, true_img))
            psnrs.append(psnr(pred_img, true_img))
    model.train()
    return {"val_loss": sum(losses) / len(images), "val_ab_rmse": float(np.mean(rmses)),
            "val_psnr": float(np.mean(psnrs))}


def _split_sizes(n_files: int, cfg: TrainConfig) -> tuple[int, int]:
    default = max(1, n_files // 10)
    return (default if cfg.test_images is None else cfg.test_images,
            default if cfg.val_images is None else cfg.val_images)


def prepare_data(cfg: TrainConfig, log: Callable[[str], None]) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Split the folder, decode training and validation images; returns (data manifest, train, val)."""
    files = list_images(cfg.data)
    if cfg.include:
        files = [f for f in files if re.search(cfg.include, f)]
        if not files:
            raise ValueError(f"{cfg.data}: no image file matches --include {cfg.include!r}")
    n_test, n_val = _split_sizes(len(files), cfg)
    split = split_files(files, seed=cfg.seed, n_test=n_test, n_val=n_val, group_pattern=cfg.group_pattern)
    train_files = split.train(cfg.train_images)
    log(f"data: {len(files)} files -> test {len(split.test)}, val {len(split.val)}, "
        f"train {len(train_files)} of a pool of {len(split.pool)}")
    seen = oversampled(train_files, cfg.oversample, cfg.oversample_factor)
    if len(seen) > len(train_files):
        log(f"oversampling: {len(seen) - len(train_files)} extra training samples an epoch from "
            f"files matching {cfg.oversample!r}")
    if cfg.scale == "native":
        train_imgs, bad_train = load_image_list(cfg.data, seen, cfg.size, cfg.crop or cfg.size)
        val_imgs, bad_val = load_image_list(cfg.data, split.val, cfg.size, SIZE_MULTIPLE)
    else:
        train_imgs, bad_train = load_image_tensor(cfg.data, seen, cfg.size)
        val_imgs, bad_val = load_image_tensor(cfg.data, split.val, cfg.size)
    for reason in bad_train + bad_val:
        log(f"skipped: {reason}")
    if len(train_imgs) == 0 or len(val_imgs) == 0:
        raise ValueError(f"{cfg.data}: no readable training or validation images")
    manifest = {
        "root": str(cfg.data), "n_files": len(files), "manifest_sha256": file_list_hash(files),
        "seed": cfg.seed, "group_pattern": cfg.group_pattern, "include": cfg.include,
        "split": {"test": len(split.test), "val": len(split.val), "train": len(train_files),
                  "pool": len(split.pool)},
        "split_sha256": {"test": file_list_hash(split.test), "val": file_list_hash(split.val),
                         "train": file_list_hash(train_files)},
        "files": {"test": split.test, "val": split.val, "train": sorted(train_files)},
        "skipped": bad_train + bad_val,
    }
    return manifest, train_imgs, val_imgs


def oversampled(files: list[str], pattern: str | None, factor: int) -> list[str]:
    """``files`` plus ``factor - 1`` more copies of those matching ``pattern`` (the training list of an epoch).

    Raises
    ------
    ValueError
        If a pattern is given but no file matches it.
    """
    if not pattern or factor == 1:
        return list(files)
    extra = [f for f in files if re.search(pattern, f)]
    if not extra:
        raise ValueError(f"no training file matches --oversample {pattern!r}")
    return list(files) + extra * (factor - 1)


def training_ab_histogram(images: torch.Tensor | list[torch.Tensor], batch: int = 256) -> dict:
    """a*b* histogram of uint8 training images, (N, 3, H, W) or a list (for the app's histogram page)."""
    return merge_histograms([
        ab_histogram(rgb_to_lab(chunk.float() / 255.0).permute(0, 2, 3, 1).numpy())
        for chunk in image_batches(images, batch)])


class _Progress:
    """tqdm bar with ETA on a terminal, one plain line per epoch elsewhere."""

    def __init__(self, total_steps: int, first_step: int, stream=sys.stderr, enabled: bool = True):
        self.bar = None
        if enabled and stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total_steps, initial=first_step, unit="step", dynamic_ncols=True, file=stream)

    def step(self, loss: float) -> None:
        if self.bar:
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            self.bar.update(1)

    def epoch(self, text: str, log: Callable[[str], None]) -> None:
        if self.bar:
            self.bar.write(text)
        else:
            log(text)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


_RESUME_FREE = {"epochs", "device", "bf16", "val_every", "out", "description", "extra"}


def _check_resume(saved: dict, cfg: TrainConfig) -> None:
    current = dataclasses.asdict(cfg)
    # a key missing from an older run's state had the default then, as now
    differ = sorted(k for k in current if k not in _RESUME_FREE and k in saved and saved[k] != current[k])
    if differ:
        raise ValueError(f"cannot resume {cfg.out}: settings differ from the interrupted run ({', '.join(differ)})")


def train(cfg: TrainConfig, on_epoch: Callable[[dict], None] | None = None,
          log: Callable[[str], None] = print) -> dict:
    """Train a colorization network and write its checkpoint.

    Parameters
    ----------
    cfg : TrainConfig
    on_epoch : callable, optional
        Called with each epoch's history entry.
    log : callable
        Receives progress lines.

    Returns
    -------
    dict
        The checkpoint metadata written last.
    """
    return _run(cfg, resume=False, on_epoch=on_epoch, log=log)


def resume_run(cfg: TrainConfig, on_epoch: Callable[[dict], None] | None = None,
               log: Callable[[str], None] = print) -> dict:
    """Continue an interrupted :func:`train` from its last completed epoch."""
    return _run(cfg, resume=True, on_epoch=on_epoch, log=log)


def _run(cfg: TrainConfig, *, resume: bool, on_epoch, log) -> dict:
    cfg.validate()
    rank, ddp_device = _init_distributed(cfg.device)
    try:
        return _loop(cfg, rank, ddp_device, resume=resume, on_epoch=on_epoch,
                     log=log if rank.main else (lambda _: None))
    finally:
        if rank.world > 1:
            import torch.distributed as dist
            dist.destroy_process_group()


def _loop(cfg: TrainConfig, rank: _Dist, ddp_device, *, resume: bool, on_epoch, log) -> dict:
    if cfg.batch % rank.world:
        raise ValueError(f"batch ({cfg.batch}) must be divisible by the number of processes ({rank.world})")
    out = Path(cfg.out)
    spath = state_path(out)
    saved = None
    if resume:
        if not spath.is_file():
            raise ValueError(f"cannot resume: {spath} does not exist (start without --resume)")
        saved = torch.load(spath, map_location="cpu", weights_only=True)
        _check_resume(saved["config"], cfg)
    elif out.exists() or spath.exists():
        raise ValueError(f"{out} already exists; pass --resume to continue it or choose another --out")
    device = ddp_device or pick_device(cfg.device)
    bf16 = use_bf16(device, cfg.bf16)
    channels_last = bf16 or device.type == "cuda"
    manifest, train_imgs, val_imgs = prepare_data(cfg, log)
    if saved and saved["data_sha256"] != manifest["split_sha256"]:
        raise ValueError(f"cannot resume {out}: the data folder's files changed since the run started")

    torch.manual_seed(cfg.seed)
    model, model_args, loss_fn, model_notes = build_model(cfg, train_imgs)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history: list[dict] = []
    start_epoch = 1
    if saved:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        history = list(saved["history"])
        start_epoch = int(saved["epoch"]) + 1
        log(f"resuming {out} after epoch {saved['epoch']}")
    net = model
    if rank.world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    crop = cfg.crop or cfg.size
    steps_per_epoch = max(1, math.ceil(len(train_imgs) / cfg.batch))
    total_steps = steps_per_epoch * cfg.epochs
    warmup_steps = int(round(cfg.warmup_epochs * steps_per_epoch))
    meta = ckpt_io.new_metadata(
        name=cfg.name or out.name.removesuffix(ckpt_io.SUFFIX), model_name=cfg.model, model_args=model_args,
        recipe=cfg.recipe, description=cfg.description, domain=cfg.domain,
        train_config=dataclasses.asdict(cfg), data=manifest,
        train_ab_hist=training_ab_histogram(train_imgs),
        runtime={"device": str(device), "bf16": bf16, "channels_last": channels_last,
                 "threads": torch.get_num_threads(), "processes": rank.world}, **model_notes)
    log(f"device {device}, bf16 autocast {'on' if bf16 else 'off'}, channels_last {channels_last}, "
        f"{rank.world} process(es), {steps_per_epoch} steps/epoch")
    progress = _Progress(total_steps, (start_epoch - 1) * steps_per_epoch, enabled=rank.main)
    model.train()
    try:
        for epoch in range(start_epoch, cfg.epochs + 1):
            t0 = time.perf_counter()
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            order = torch.randperm(len(train_imgs), generator=gen)
            totals = torch.zeros(2, dtype=torch.float64)  # loss sum, images (this process's shard)
            for i in range(steps_per_epoch):
                idx = order[i * cfg.batch:(i + 1) * cfg.batch]
                if len(idx) < 2 * rank.world and totals[1]:  # BatchNorm cannot train on one image
                    continue
                step = (epoch - 1) * steps_per_epoch + i
                for group in optimizer.param_groups:
                    group["lr"] = get_lr(step, total_steps, warmup_steps, cfg.lr, cfg.schedule)
                # every process draws the same global batch, then trains on its own shard of it
                batch = augment_batch(take(train_imgs, idx), crop, gen)[rank.rank::rank.world]
                loss = _train_step(net, model, optimizer, batch, cfg, device, loss_fn, bf16, channels_last, epoch)
                totals += torch.tensor([loss * len(batch), len(batch)], dtype=torch.float64)
                progress.step(loss)
            if rank.world > 1:
                import torch.distributed as dist
                dist.all_reduce(totals)
            train_time = time.perf_counter() - t0
            entry = {"epoch": epoch, "train_loss": float(totals[0] / totals[1]),
                     "lr": optimizer.param_groups[0]["lr"], "images_per_s": float(totals[1]) / train_time,
                     "val_loss": None, "val_ab_rmse": None, "val_psnr": None}
            if rank.main:  # rank 0 alone validates and writes checkpoints and history
                if epoch % cfg.val_every == 0 or epoch == cfg.epochs:
                    entry.update(estimate_val(model, val_imgs, cfg, device, loss_fn))
                entry["seconds"] = time.perf_counter() - t0
                history.append(entry)
                meta.update(history=history, epochs_done=epoch, complete=epoch == cfg.epochs)
                ckpt_io.save_checkpoint(out, model, meta)
                _save_state(spath, model, optimizer, history, epoch, cfg, manifest)
                if on_epoch:
                    on_epoch(entry)
                progress.epoch(_epoch_line(entry, cfg.epochs, history), log)
            if rank.world > 1:
                dist.barrier()
    finally:
        progress.close()
    return meta


def _train_step(net: nn.Module, model: nn.Module, optimizer, batch_u8: torch.Tensor, cfg: TrainConfig,
                device: torch.device, loss_fn: Callable, bf16: bool, channels_last: bool, epoch: int) -> float:
    """One optimisation step on a uint8 batch; returns the loss."""
    net_in, target, _ = _lab_batch(batch_u8, device, cfg.recipe)
    if channels_last:
        net_in = net_in.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        pred = _loss_input(net, model, net_in)
    loss = loss_fn(pred.float(), target)
    value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(f"training loss became {value} at epoch {epoch}; lower the learning rate")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip:
        nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
    optimizer.step()
    return value


def _save_state(path: Path, model, optimizer, history, epoch, cfg, manifest) -> None:
    buf = io.BytesIO()
    torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "history": history, "config": dataclasses.asdict(cfg),
                "data_sha256": manifest["split_sha256"]}, buf)
    atomic_write_bytes(path, buf.getvalue())


def _epoch_line(entry: dict, epochs: int, history: list) -> str:
    mean_s = float(np.mean([h["seconds"] for h in history[-5:]]))
    eta = mean_s * (epochs - entry["epoch"])
    text = f"epoch {entry['epoch']}/{epochs} train_loss {entry['train_loss']:.5g}"
    if entry["val_loss"] is not None:
        text += (f" val_loss {entry['val_loss']:.5g} val_ab_rmse {entry['val_ab_rmse']:.2f}"
                 f" val_psnr {entry['val_psnr']:.2f}")
    return text + f" ({entry['images_per_s']:.0f} img/s, {entry['seconds']:.1f} s, eta {eta / 60:.1f} min)"
