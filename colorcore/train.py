"""Training: ``train(config)`` runs the loop, records history, writes checkpoints, resumes.

Read top to bottom: :func:`setup` makes a :class:`Run` (device, data, model: new, or the
parent's when fine-tuning with ``init_from`` (:mod:`colorcore.finetune`), optimiser, metadata),
:func:`train_epoch` makes one pass over the training images, :func:`end_epoch` validates,
writes the checkpoint and records history; :func:`train` and :func:`resume_run` loop over
the epochs.  Images are decoded once into memory (uint8); Lab conversion and
augmentation run batched in torch on the training device, so loading never dominates.
After every epoch the checkpoint file is replaced atomically (a killed run leaves the last
complete epoch) and a resume state (optimizer, history) is written beside it
(:func:`colorcore.resume.state_path`).  Started by ``torchrun``, every process trains
on its shard of each batch (DistributedDataParallel) and rank 0 alone validates and writes.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import checkpoints as ckpt_io
from .config import TrainConfig  # noqa: F401  (re-exported: build a config and train it from one module)
from .data import TrainingSet, augment_batch, image_batches, lab_batch, prepare_data, take, training_ab_histogram
from .finetune import load_parent
from .io import to_uint8
from .lab import decode_ab, lab_to_rgb
from .losses import get_loss, rebalanced_cross_entropy
from .metadata import CheckpointMeta
from .metrics import ab_rmse, psnr
from .models import get_spec
from .quantize import fit_bins, grid_counts
from .resume import check_new_run, load_resume_state, save_resume_state
from .runtime import Dist, distributed, pick_device, use_bf16, use_channels_last
from .units import SIZE_MULTIPLE

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def get_lr(step: int, total_steps: int, warmup_steps: int, base_lr: float, schedule: str) -> float:
    """Learning rate at ``step``: linear warm-up, then constant or cosine to 5 % of ``base_lr``."""
    if warmup_steps and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return base_lr
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return base_lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


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


@dataclass
class Run:
    """One training run: what :func:`train_epoch` and :func:`end_epoch` read and update."""

    cfg: TrainConfig
    dist: Dist                      # this process's rank among torchrun's processes (0 of 1 otherwise)
    device: torch.device
    bf16: bool                      # bf16 autocast of the forward pass
    channels_last: bool             # memory format of model and inputs
    model: nn.Module                # the network: validated and saved
    net: nn.Module                  # model, or its DistributedDataParallel wrapper: trained (gradients sync)
    optimizer: torch.optim.Optimizer
    loss_fn: LossFn                 # (model(x, raw=True), encoded a*b* target) -> scalar
    data: TrainingSet
    meta: CheckpointMeta                      # checkpoint metadata, history updated each epoch
    history: list[dict]             # one entry per completed epoch (resumed runs start with the old ones)
    start_epoch: int
    steps_per_epoch: int
    progress: _Progress
    log: Callable[[str], None]
    on_epoch: Callable[[dict], None] | None = None

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.cfg.epochs

    @property
    def warmup_steps(self) -> int:
        return int(round(self.cfg.warmup_epochs * self.steps_per_epoch))


def model_loss(cfg: TrainConfig, model: nn.Module) -> LossFn:
    """The training criterion of ``model``: ``cfg.loss``, or for a classifier the cross-entropy
    rebalanced by its own class centres and weights."""
    if not get_spec(cfg.model).classifies:
        return get_loss(cfg.loss)

    def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return rebalanced_cross_entropy(logits, target, model.centers, model.class_weights)

    return loss_fn


def build_model(cfg: TrainConfig, train_imgs: torch.Tensor | list[torch.Tensor]) -> tuple[nn.Module, dict, dict]:
    """A new network, its constructor arguments and notes for the metadata.

    A classification model gets its classes, colour prior and rebalancing weights from
    ``train_imgs`` (uint8, N x 3 x H x W or a list of 3 x H x W) and decodes at ``cfg.temperature``.
    """
    spec = get_spec(cfg.model)
    if not spec.classifies:
        return spec.build(), {}, {}
    bins = fit_bins(grid_counts(train_imgs), lam=cfg.rebalance)
    args = {"n_bins": len(bins.centers), "temperature": cfg.temperature}
    model = spec.build(**args)
    model.centers.copy_(torch.from_numpy(bins.centers))
    model.class_weights.copy_(torch.from_numpy(bins.weights))
    notes = {"classes": {"n_bins": len(bins.centers), "lambda": cfg.rebalance, "temperature": model.temperature,
                         "max_weight": float(bins.weights.max()), "min_weight": float(bins.weights.min())}}
    return model, args, notes


def _new_or_parent(cfg: TrainConfig, data: TrainingSet, device: torch.device, main: bool, parent: tuple | None
                   ) -> tuple[nn.Module, dict, LossFn, dict]:
    """The network to train (new, or ``parent``, :func:`colorcore.finetune.load_parent`'s, when fine-tuning), its
    arguments, loss and metadata notes.

    A fine-tuned run's notes hold ``parent``: its name, SHA-256 and (rank 0) its scores on the validation images.
    """
    if parent is None:
        torch.manual_seed(cfg.seed)  # with the split's seed, decides the initialisation
        model, model_args, notes = build_model(cfg, data.train)
        return model.to(device), model_args, model_loss(cfg, model), notes
    model, model_args, notes, parent = parent
    model = model.to(device)
    loss_fn = model_loss(cfg, model)
    if main:
        parent["val"] = estimate_val(model, data.val, cfg.recipe, device, loss_fn)
    return model, model_args, loss_fn, {**notes, "parent": parent}


def _metadata(cfg: TrainConfig, model_args: dict, notes: dict, data: TrainingSet, runtime: dict) -> dict:
    """The checkpoint metadata of a run (history and epochs are filled in by :func:`end_epoch`)."""
    return ckpt_io.new_metadata(
        name=cfg.name or Path(cfg.out).name.removesuffix(ckpt_io.SUFFIX), model_name=cfg.model,
        model_args=model_args, recipe=cfg.recipe, description=cfg.description, domain=cfg.domain,
        train_config=dataclasses.asdict(cfg), data=data.manifest,
        train_ab_hist=training_ab_histogram(data.train).to_dict(), runtime=runtime, **notes)


def setup(cfg: TrainConfig, *, resume: bool = False, log: Callable[[str], None] = print, dist: Dist = Dist(),
          device: torch.device | None = None, on_epoch: Callable[[dict], None] | None = None) -> Run:
    """Check the configuration, load the data, build model and optimiser (restored when resuming).

    Raises
    ------
    ValueError
        For an impossible configuration, an existing output of a fresh run, a missing or
        different resume state, or unusable data.
    """
    # the parent, loaded and checked once, first: another model would otherwise be reported as a mismatch with
    # the parent's loss
    parent = load_parent(cfg) if cfg.init_from else None
    cfg.validate()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.batch % dist.world:
        raise ValueError(f"batch ({cfg.batch}) must be divisible by the number of processes ({dist.world})")
    log = log if dist.main else (lambda _: None)
    saved = None
    if resume:
        saved = load_resume_state(cfg.out, dataclasses.asdict(cfg))
    else:
        check_new_run(cfg.out)
    device = device or pick_device(cfg.device)
    bf16 = use_bf16(device, cfg.bf16)
    channels_last = use_channels_last(device, bf16)
    data = prepare_data(cfg, log)
    if saved and saved["data_sha256"] != data.manifest["split_sha256"]:
        raise ValueError(f"cannot resume {cfg.out}: the data folder's files changed since the run started")

    model, model_args, loss_fn, notes = _new_or_parent(cfg, data, device, dist.main, parent)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history, start_epoch = [], 1
    if saved:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        history, start_epoch = list(saved["history"]), int(saved["epoch"]) + 1
        log(f"resuming {cfg.out} after epoch {saved['epoch']}")
    steps_per_epoch = max(1, math.ceil(len(data.train) / cfg.batch))
    runtime = {"device": str(device), "bf16": bf16, "channels_last": channels_last,
               "threads": torch.get_num_threads(), "processes": dist.world}
    log(f"device {device}, bf16 autocast {'on' if bf16 else 'off'}, channels_last {channels_last}, "
        f"{dist.world} process(es), {steps_per_epoch} steps/epoch")
    model.train()
    return Run(cfg, dist, device, bf16, channels_last, model, dist.wrap(model, device), optimizer, loss_fn, data,
               _metadata(cfg, model_args, notes, data, runtime), history, start_epoch, steps_per_epoch,
               _Progress(steps_per_epoch * cfg.epochs, (start_epoch - 1) * steps_per_epoch, enabled=dist.main),
               log, on_epoch)


def _train_step(run: Run, batch_u8: torch.Tensor, epoch: int) -> float:
    """One optimisation step on a uint8 batch (this process's shard); returns the loss."""
    net_in, target, _ = lab_batch(batch_u8, run.device, run.cfg.recipe)
    if run.channels_last:
        net_in = net_in.contiguous(memory_format=torch.channels_last)
    with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=run.bf16):
        raw = run.net(net_in, raw=True)  # through the DDP wrapper, so gradients sync
    loss = run.loss_fn(raw.float(), target)
    value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(f"training loss became {value} at epoch {epoch}; lower the learning rate")
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if run.cfg.grad_clip:
        nn.utils.clip_grad_norm_(run.net.parameters(), run.cfg.grad_clip)
    run.optimizer.step()
    return value


def train_epoch(run: Run, epoch: int) -> dict:
    """One pass over the training images in a seeded order; returns the epoch's history entry.

    Every process draws the same global batches and trains on its shard of each; the
    loss is averaged over all processes.  Validation fields are None (:func:`end_epoch` fills them).
    """
    cfg, dist = run.cfg, run.dist
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    order = torch.randperm(len(run.data.train), generator=gen)
    totals = torch.zeros(2, dtype=torch.float64)  # loss sum, images (this process's shard)
    for i in range(run.steps_per_epoch):
        idx = order[i * cfg.batch:(i + 1) * cfg.batch]
        if len(idx) < 2 * dist.world and totals[1]:  # BatchNorm cannot train on one image
            continue
        for group in run.optimizer.param_groups:
            group["lr"] = get_lr((epoch - 1) * run.steps_per_epoch + i, run.total_steps, run.warmup_steps,
                                 cfg.lr, cfg.schedule)
        batch = dist.shard(augment_batch(take(run.data.train, idx), cfg.crop or cfg.size, gen))
        loss = _train_step(run, batch, epoch)
        totals += torch.tensor([loss * len(batch), len(batch)], dtype=torch.float64)
        run.progress.step(loss)
    dist.all_reduce(totals)
    seconds = time.perf_counter() - t0
    return {"epoch": epoch, "train_loss": float(totals[0] / totals[1]), "lr": run.optimizer.param_groups[0]["lr"],
            "images_per_s": float(totals[1]) / seconds, "val_loss": None, "val_ab_rmse": None, "val_psnr": None,
            "seconds": seconds}


@torch.no_grad()
def estimate_val(model: nn.Module, images: torch.Tensor | list[torch.Tensor], recipe: str, device: torch.device,
                 loss_fn: LossFn, batch: int = 50) -> dict:
    """Validation loss (the training criterion) and loss-independent ab RMSE and PSNR of ``model``.

    The model is switched to ``eval()`` and back to ``train()``.
    """
    model.eval()
    losses, rmses, psnrs = [], [], []
    for chunk in image_batches(images, batch, SIZE_MULTIPLE):
        net_in, target, lightness = lab_batch(chunk, device, recipe)
        raw = model(net_in, raw=True).float()
        losses.append(float(loss_fn(raw, target)) * len(chunk))
        lab = torch.cat([lightness, decode_ab(model.decode(raw), recipe)], dim=1)
        out = to_uint8(lab_to_rgb(lab).permute(0, 2, 3, 1).cpu().numpy())
        for pred_img, true_img in zip(out, chunk.permute(0, 2, 3, 1).numpy()):
            rmses.append(ab_rmse(pred_img, true_img))
            psnrs.append(psnr(pred_img, true_img))
    model.train()
    return {"val_loss": sum(losses) / len(images), "val_ab_rmse": float(np.mean(rmses)),
            "val_psnr": float(np.mean(psnrs))}


def end_epoch(run: Run, epoch: int, entry: dict) -> None:
    """Rank 0 validates when due, records ``entry``, writes checkpoint and resume state, reports; all wait."""
    cfg = run.cfg
    if run.dist.main:
        if epoch % cfg.val_every == 0 or epoch == cfg.epochs:
            t0 = time.perf_counter()
            entry.update(estimate_val(run.model, run.data.val, cfg.recipe, run.device, run.loss_fn))
            entry["seconds"] += time.perf_counter() - t0
        run.history.append(entry)
        run.meta.update(history=run.history, epochs_done=epoch, complete=epoch == cfg.epochs)
        ckpt_io.save_checkpoint(cfg.out, run.model, run.meta)
        save_resume_state(cfg.out, run.model, run.optimizer, epoch=epoch, history=run.history,
                                  config=dataclasses.asdict(cfg), data_sha256=run.data.manifest["split_sha256"])
        if run.on_epoch:
            run.on_epoch(entry)
        run.progress.epoch(_epoch_line(entry, cfg.epochs, run.history), run.log)
    run.dist.barrier()


def _epoch_line(entry: dict, epochs: int, history: list) -> str:
    mean_s = float(np.mean([h["seconds"] for h in history[-5:]]))
    eta = mean_s * (epochs - entry["epoch"])
    text = f"epoch {entry['epoch']}/{epochs} train_loss {entry['train_loss']:.5g}"
    if entry["val_loss"] is not None:
        text += (f" val_loss {entry['val_loss']:.5g} val_ab_rmse {entry['val_ab_rmse']:.2f}"
                 f" val_psnr {entry['val_psnr']:.2f}")
    return text + f" ({entry['images_per_s']:.0f} img/s, {entry['seconds']:.1f} s, eta {eta / 60:.1f} min)"


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
    with distributed(cfg.device) as (dist, device):
        run = setup(cfg, resume=resume, log=log, dist=dist, device=device, on_epoch=on_epoch)
        try:
            for epoch in range(run.start_epoch, cfg.epochs + 1):
                end_epoch(run, epoch, train_epoch(run, epoch))
        finally:
            run.progress.close()
    return store_domain_check(cfg.out, log) if dist.main else run.meta


def store_domain_check(out: str, log: Callable[[str], None]) -> dict:
    """Fit the out-of-domain check of the finished checkpoint ``out`` on its training and validation files.

    So every trained checkpoint (command line or the app's Train page) warns when an image lies
    outside what it learned.  A split too small to fit one (under 2 validation groups) is logged and
    the checkpoint kept without a check.  Returns the metadata written last.
    """
    from .domain import fit_checkpoint
    from .io import ImageError

    try:
        check = fit_checkpoint(ckpt_io.load_checkpoint(out))
    except (ValueError, ImageError) as err:
        log(f"domain check not fitted: {err}")
        return ckpt_io.read_metadata(out)
    log(f"domain check fitted on {check['fitted_on']['train_images']} training images "
        f"({check['val_in_domain']:.0%} of {check['fitted_on']['val_images']} validation images in domain)")
    return ckpt_io.update_metadata(out, domain_check=check)
