"""The disk the Train page's users may fill: what they hold now, and the checks made before they fill more.

Two things grow: job folders (``<user checkpoints>/.jobs``: an upload's images from the moment it
is checked until its job ends, then the job's record and log) and the user checkpoints that
finished jobs publish.  :func:`check_upload` runs before a ZIP's images are written and
:func:`check_new_checkpoint` before a job is queued; each raises :class:`QuotaExceeded` with a
message naming the limit, the environment variable that sets it and what to do.  The limits are
:class:`colorcore.paths.Quotas` (environment variables, defaults in its docstring); the
administrator frees space with ``python -m colorcore jobs clean`` (:mod:`colorcore.app.jobadmin`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..checkpoints import SUFFIX
from . import jobs

#: What a user is told to ask for when a server-wide limit is reached.
ASK_ADMIN = "ask the server's administrator to remove old ones (python -m colorcore jobs clean --older-than DAYS{})"


class QuotaExceeded(ValueError):
    """A request that would pass a disk quota; the message names the limit and what to do."""


def size_text(n_bytes: int) -> str:
    """``n_bytes`` for people: ``512 kB``, ``3.4 MB``, ``2.0 GB`` (powers of 1024)."""
    if n_bytes < 1 << 20:
        return f"{n_bytes / (1 << 10):.0f} kB"
    if n_bytes < 1 << 30:
        return f"{n_bytes / (1 << 20):.1f} MB"
    return f"{n_bytes / (1 << 30):.1f} GB"


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (links not followed; files that vanish meanwhile not counted)."""
    total = 0
    for top, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                continue
    return total


@dataclass(frozen=True)
class FolderUsage:
    """Bytes of the job folders: ``total`` and ``by_owner`` (session token -> bytes; ``""`` for unknown)."""

    total: int
    by_owner: dict


def folder_usage() -> FolderUsage:
    """What the job folders hold now, in all and per session."""
    by_owner: dict[str, int] = {}
    for folder in jobs.job_folders():
        owner = jobs.folder_owner(folder)
        by_owner[owner] = by_owner.get(owner, 0) + folder_bytes(folder)
    return FolderUsage(sum(by_owner.values()), by_owner)


def user_checkpoints() -> list[Path]:
    """The checkpoint files in the user folder (:func:`colorcore.paths.user_catalog_dir`), by name."""
    folder = paths.user_catalog_dir()
    return sorted(p for p in folder.glob(f"*{SUFFIX}") if p.is_file()) if folder.is_dir() else []


def check_upload(owner: str, n_bytes: int, quotas: paths.Quotas | None = None) -> None:
    """Refuse an upload of session ``owner`` whose images take ``n_bytes`` if the job folders would pass a quota.

    Raises
    ------
    QuotaExceeded
        Over the session's (``session_bytes``) or the server's (``total_bytes``) quota.
    """
    quotas = quotas or paths.Quotas.from_env()
    usage = folder_usage()
    mine = usage.by_owner.get(owner, 0) if owner else 0
    if mine + n_bytes > quotas.session_bytes:
        held = f"; your session's jobs and uploads already hold {size_text(mine)}" if mine else ""
        raise QuotaExceeded(
            f"these images take {size_text(n_bytes)}{held}, and a session may hold {size_text(quotas.session_bytes)} "
            f"({paths.TRAIN_SESSION_BYTES_ENV}): upload fewer or smaller images"
            + (", or wait until your training job ends" if mine else ""))
    if usage.total + n_bytes > quotas.total_bytes:
        raise QuotaExceeded(
            f"the server's training jobs and uploads hold {size_text(usage.total)} of the "
            f"{size_text(quotas.total_bytes)} they may take ({paths.TRAIN_TOTAL_BYTES_ENV}), too little is left "
            f"for these {size_text(n_bytes)}: try again later, or {ASK_ADMIN.format('')}")


def check_new_checkpoint(owner: str, quotas: paths.Quotas | None = None) -> None:
    """Refuse a new job of session ``owner`` if the checkpoint it makes would pass a quota.

    Checkpoints still training count: each publishes one when done.

    Raises
    ------
    QuotaExceeded
        Over the user folder's count (``checkpoints``) or bytes (``checkpoint_bytes``), or the
        session's count (``session_checkpoints``).
    """
    quotas = quotas or paths.Quotas.from_env()
    kept, training = user_checkpoints(), jobs.queue()
    if len(kept) + len(training) >= quotas.checkpoints:
        raise QuotaExceeded(
            f"the server holds {len(kept)} user checkpoint(s) and trains {len(training)}, its limit is "
            f"{quotas.checkpoints} ({paths.USER_CHECKPOINTS_MAX_ENV}): {ASK_ADMIN.format(' --checkpoints')}")
    kept_bytes = sum(p.stat().st_size for p in kept)
    if kept_bytes >= quotas.checkpoint_bytes:
        raise QuotaExceeded(
            f"the user checkpoints take {size_text(kept_bytes)}, their limit is {size_text(quotas.checkpoint_bytes)} "
            f"({paths.USER_CHECKPOINTS_BYTES_ENV}): {ASK_ADMIN.format(' --checkpoints')}")
    names = {p.name.removesuffix(SUFFIX) for p in kept}
    mine = [j for j in jobs.list_jobs() if j.owner == owner and (j.active or (j.state == "done" and j.name in names))]
    if owner and len(mine) >= quotas.session_checkpoints:
        raise QuotaExceeded(
            f"this session has trained {len(mine)} checkpoint(s) that the server keeps, the limit per session is "
            f"{quotas.session_checkpoints} ({paths.TRAIN_SESSION_CHECKPOINTS_ENV}): {ASK_ADMIN.format(' --checkpoints')}")
