"""The administrator's view of the Train page's disk: ``python -m colorcore jobs list`` and ``jobs clean``.

``list`` shows every session's jobs (the page shows each session only its own), their drafts
(uploads never trained on) and the user checkpoints, with their sizes and the quotas
(:class:`colorcore.paths.Quotas`).  ``clean --older-than DAYS`` removes the ended jobs' folders
and the drafts older than that, and with ``--checkpoints`` the user checkpoints too (and
temporary files a killed writer left there); it prints each thing it removes, or with
``--dry-run`` would remove.  A job still queued or running is never removed, nor is anything in
the shipped catalog (:func:`colorcore.paths.catalog_dir`): a user folder that is the shipped
catalog, or inside it, is refused.
"""
from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import paths
from . import jobs
from .quotas import folder_bytes, size_text, user_checkpoints

#: Seconds in a day.
DAY_S = 24 * 3600


@dataclass(frozen=True)
class Entry:
    """A job folder, a draft or a user checkpoint as the administrator sees it.

    Attributes
    ----------
    kind : str
        ``job``, ``draft``, ``unreadable job`` (a folder whose ``job.json`` cannot be read),
        ``checkpoint`` or ``temporary file``.
    path : Path
    label : str
        What it is, in a line: state, name, data, session.
    stamp : float
        When it ended or last changed (``time.time()`` scale): what its age is measured from.
    n_bytes : int
    active : bool
        A job still queued, running or evaluating (never removed).
    """

    kind: str
    path: Path
    label: str
    stamp: float
    n_bytes: int
    active: bool = False

    def age_days(self, now: float) -> float:
        return (now - self.stamp) / DAY_S

    def line(self, now: float) -> str:
        """One line: what it is, when, how old and how large."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.stamp))
        return f"{self.kind} {self.path.name}  {self.label}  {when} ({self.age_days(now):.1f} days)  {size_text(self.n_bytes)}"


def _job_entry(folder: Path) -> Entry:
    size = folder_bytes(folder)
    if jobs.is_draft(folder):
        return Entry("draft", folder, f"upload never trained on, session {jobs.folder_owner(folder) or '?'}",
                     folder.stat().st_mtime, size)
    try:
        job = jobs.refresh(jobs.load(folder))
    except ValueError:
        return Entry("unreadable job", folder, "job.json cannot be read", folder.stat().st_mtime, size)
    label = f"{job.state} {job.name} from {job.source}, session {job.owner or '?'}"
    return Entry("job", folder, label, job.finished or job.created, size, job.active)


def job_entries() -> list[Entry]:
    """Every folder under the jobs folder, oldest first."""
    return sorted((_job_entry(folder) for folder in jobs.job_folders()), key=lambda e: e.stamp)


def _published_by() -> dict[str, str]:
    """``{checkpoint name: session}`` of the finished jobs."""
    return {job.name: job.owner for job in jobs.list_jobs() if job.state == "done"}


def checkpoint_entries() -> list[Entry]:
    """The user checkpoints, oldest first, then the temporary files a killed writer left beside them."""
    owners = _published_by()
    entries = [Entry("checkpoint", p, f"session {owners.get(p.stem, '?')}", p.stat().st_mtime, p.stat().st_size)
               for p in user_checkpoints()]
    folder = paths.user_catalog_dir()
    leftovers = sorted(folder.glob(".*.tmp")) if folder.is_dir() else []
    entries += [Entry("temporary file", p, "left by an interrupted write", p.stat().st_mtime, p.stat().st_size)
                for p in leftovers if p.is_file()]
    return sorted(entries, key=lambda e: e.stamp)


def _check_not_shipped() -> None:
    """Refuse to remove checkpoints when the user folder is, or is inside, the shipped catalog."""
    user, shipped = paths.user_catalog_dir().resolve(), paths.catalog_dir().resolve()
    if user == shipped or shipped in user.parents:
        raise ValueError(f"the user checkpoint folder {user} is the shipped catalog {shipped} or inside it; "
                         f"set {paths.USER_CHECKPOINTS_ENV} to a folder of its own before removing checkpoints")


def list_lines(now: float | None = None) -> list[str]:
    """The lines of ``jobs list``: job folders, then user checkpoints, each with totals and quotas."""
    now = time.time() if now is None else now
    quotas = paths.Quotas.from_env()
    folders, checkpoints = job_entries(), checkpoint_entries()
    kept = [e for e in checkpoints if e.kind == "checkpoint"]
    lines = [f"job folders in {jobs.jobs_dir()}: {len(folders)}, {size_text(sum(e.n_bytes for e in folders))} "
             f"(at most {size_text(quotas.session_bytes)} a session, {size_text(quotas.total_bytes)} in all)"]
    lines += [f"  {e.line(now)}" for e in folders]
    lines.append(f"user checkpoints in {paths.user_catalog_dir()}: {len(kept)}, "
                 f"{size_text(sum(e.n_bytes for e in kept))} (at most {quotas.checkpoints} checkpoints, "
                 f"{size_text(quotas.checkpoint_bytes)}, {quotas.session_checkpoints} a session)")
    lines += [f"  {e.line(now)}" for e in checkpoints]
    return lines


def removable(older_than_days: float, checkpoints: bool, now: float | None = None) -> list[Entry]:
    """What ``jobs clean`` removes: ended jobs and drafts older than ``older_than_days``, with ``checkpoints``
    the user checkpoints (and temporary files) too; never an active job or the shipped catalog.

    Raises
    ------
    ValueError
        With ``checkpoints``, if the user folder is the shipped catalog or inside it.
    """
    now = time.time() if now is None else now
    if checkpoints:
        _check_not_shipped()
    entries = job_entries() + (checkpoint_entries() if checkpoints else [])
    return [e for e in entries if not e.active and e.age_days(now) > older_than_days]


def _remove(entry: Entry) -> None:
    if entry.path.is_dir():
        shutil.rmtree(entry.path)
    else:
        entry.path.unlink(missing_ok=True)


def clean(older_than_days: float, checkpoints: bool = False, dry_run: bool = False,
          say: Callable[[str], None] = print) -> list[Entry]:
    """Remove (or with ``dry_run`` only name) what :func:`removable` finds, one line each; returns it."""
    now = time.time()
    found = removable(older_than_days, checkpoints, now)
    verb = "would remove" if dry_run else "removed"
    for entry in found:
        if not dry_run:
            _remove(entry)
        say(f"{verb} {entry.line(now)}")
    looked_at = "job folders, drafts and user checkpoints" if checkpoints else "job folders and drafts"
    if found:
        say(f"{verb} {len(found)} item(s), {size_text(sum(e.n_bytes for e in found))}, older than "
            f"{older_than_days:g} day(s)")
    else:
        say(f"nothing to remove: none of the {looked_at} is older than {older_than_days:g} day(s) and ended")
    return found


def _days(text: str) -> float:
    """An argparse type: a number of days >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got '{text}'") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def _cmd_list(_args) -> int:
    for line in list_lines():
        print(line)
    return 0


def _cmd_clean(args) -> int:
    clean(args.older_than, args.checkpoints, args.dry_run)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` (``colorcore jobs``) its ``list`` and ``clean`` commands."""
    sub = parser.add_subparsers(dest="jobs_command", required=True)
    sub.add_parser("list", help="every session's jobs, drafts and user checkpoints, with sizes and quotas"
                   ).set_defaults(func=_cmd_list)
    p = sub.add_parser("clean", help="remove ended jobs and drafts (and with --checkpoints user checkpoints) "
                                     "older than DAYS; never a running job or the shipped catalog")
    p.add_argument("--older-than", type=_days, required=True, metavar="DAYS",
                   help="remove what ended or last changed more than DAYS days ago (0: all that ended)")
    p.add_argument("--checkpoints", action="store_true", help="remove user checkpoints that old too")
    p.add_argument("--dry-run", action="store_true", help="only print what would be removed")
    p.set_defaults(func=_cmd_clean)
