"""The resume state of a training run, kept beside its checkpoint (:mod:`colorcore.checkpoints`).

``<out>.state.pt`` holds what a run needs to continue after an interruption: weights, optimiser
state, history, configuration and the split's hashes (``torch.save`` of tensors and plain data,
read back with ``weights_only=True``: nothing arbitrary is unpickled).  It is replaced atomically
after every epoch.
"""
from __future__ import annotations

import os
from pathlib import Path

from .io import atomic_write_bytes


#: Training settings that may change when a run is resumed; every other one must match the interrupted run.
RESUME_FREE = frozenset({"epochs", "device", "bf16", "threads", "val_every", "out", "description", "extra"})


def state_path(out: str | os.PathLike) -> Path:
    """Resume-state file written beside the checkpoint ``out``: ``<out>.state.pt``."""
    return Path(f"{out}.state.pt")


def save_resume_state(out: str | os.PathLike, model, optimizer, *, epoch: int, history: list, config: dict,
                      data_sha256: dict) -> None:
    """Write the resume state of the run writing ``out``, after ``epoch``, atomically."""
    from io import BytesIO

    import torch

    buf = BytesIO()
    torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "history": history, "config": config, "data_sha256": data_sha256}, buf)
    atomic_write_bytes(state_path(out), buf.getvalue())


def check_new_run(out: str | os.PathLike) -> None:
    """Raise ``ValueError`` if ``out`` or its resume state exists (a new run never overwrites one)."""
    if Path(out).exists() or state_path(out).exists():
        raise ValueError(f"{out} already exists; pass --resume to continue it or choose another --out")


def load_resume_state(out: str | os.PathLike, config: dict) -> dict:
    """The resume state of the interrupted run writing ``out``, checked against its new ``config``.

    Returns
    -------
    dict
        ``epoch`` (last completed), ``model`` and ``optimizer`` state dicts, ``history``,
        ``config`` and ``data_sha256`` (the split's hashes) of the interrupted run.

    Raises
    ------
    ValueError
        If there is no resume state, or settings outside :data:`RESUME_FREE` differ (named).
    """
    import torch

    path = state_path(out)
    if not path.is_file():
        raise ValueError(f"cannot resume: {path} does not exist (start without --resume)")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    check_resume(saved["config"], config, out)
    return saved


def check_resume(saved: dict, config: dict, out: str | os.PathLike) -> None:
    """Raise ``ValueError`` naming the settings of ``config`` that differ from the interrupted run's ``saved``."""
    # a key missing from an older run's state had the default then, as now
    differ = sorted(k for k in config if k not in RESUME_FREE and k in saved and saved[k] != config[k])
    if differ:
        raise ValueError(f"cannot resume {out}: settings differ from the interrupted run ({', '.join(differ)})")
