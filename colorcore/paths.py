"""Where colorcore finds its files (shipped and user checkpoints, example images, data root) and the variables that move them.

Each folder is looked up when asked for, so a variable set after import (a test's
``monkeypatch.setenv``, a server's configuration) takes effect; so are the limits on the disk
the Train page's users may fill (:class:`Quotas`, :meth:`Quotas.from_env`).  The shipped checkpoints are
package data, ``colorcore/_catalog``: in a source checkout a link to the repository's
``checkpoints/`` folder, in an installed wheel a copy of it (see ``pyproject.toml``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

#: Environment variable naming another checkpoint catalog folder.
CHECKPOINTS_ENV = "COLORCORE_CHECKPOINTS"
#: Environment variable naming another folder of example images for the app.
SAMPLES_ENV = "COLORCORE_SAMPLES"
#: Environment variable naming the root folder the app's dataset page offers.
DATA_ROOT_ENV = "COLORCORE_DATA_ROOT"
#: Environment variable naming the folder of checkpoints users train (the app's Train page, its jobs).
USER_CHECKPOINTS_ENV = "COLORCORE_USER_CHECKPOINTS"

#: Environment variable: bytes one Train-page session's job folders (uploaded images, logs) may hold.
TRAIN_SESSION_BYTES_ENV = "COLORCORE_TRAIN_SESSION_BYTES"
#: Environment variable: bytes all job folders together may hold.
TRAIN_TOTAL_BYTES_ENV = "COLORCORE_TRAIN_TOTAL_BYTES"
#: Environment variable: checkpoints one Train-page session may train (kept or in training).
TRAIN_SESSION_CHECKPOINTS_ENV = "COLORCORE_TRAIN_SESSION_CHECKPOINTS"
#: Environment variable: checkpoints the user folder may hold (those in training included).
USER_CHECKPOINTS_MAX_ENV = "COLORCORE_USER_CHECKPOINTS_MAX"
#: Environment variable: bytes the user checkpoints may take together.
USER_CHECKPOINTS_BYTES_ENV = "COLORCORE_USER_CHECKPOINTS_BYTES"
#: Multipliers of the units a size may be given in (powers of 1024).
BYTE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

#: The ``colorcore`` package folder.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The source checkout holding the package (meaningful only when not installed as a wheel).
REPO_ROOT = PACKAGE_DIR.parent
#: The package-data folder of the shipped checkpoints, inside the ``colorcore`` package.
SHIPPED_CHECKPOINTS = "_catalog"


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def catalog_dir() -> Path:
    """Folder of the checkpoint catalog.

    Returns
    -------
    pathlib.Path
        ``$COLORCORE_CHECKPOINTS`` if set; else the shipped checkpoints, the package's data folder
        ``_catalog`` found by :mod:`importlib.resources` (with its link resolved, so a checkout
        gives its ``checkpoints/`` folder) wherever the package was installed.
    """
    configured = _from_env(CHECKPOINTS_ENV)
    if configured:
        return configured
    return Path(resources.files(__package__) / SHIPPED_CHECKPOINTS).resolve()


def user_catalog_dir() -> Path:
    """Folder of the checkpoints users train, listed in the catalog after the shipped ones.

    Returns
    -------
    pathlib.Path
        ``$COLORCORE_USER_CHECKPOINTS`` if set; else ``$XDG_DATA_HOME/colorcore/checkpoints``
        (``~/.local/share/colorcore/checkpoints`` without it). It may not exist yet: it is
        created when the first user checkpoint is written.
    """
    configured = _from_env(USER_CHECKPOINTS_ENV)
    if configured:
        return configured
    data_home = _from_env("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return data_home / "colorcore" / "checkpoints"


def samples_dir() -> Path:
    """Folder of the app's example images (``samples/``; ``$COLORCORE_SAMPLES`` overrides)."""
    return _from_env(SAMPLES_ENV) or REPO_ROOT / "samples"


def data_root() -> Path | None:
    """The root folder offered by the app's dataset page.

    Returns
    -------
    pathlib.Path or None
        ``$COLORCORE_DATA_ROOT`` if that variable is set and not empty (the path
        is returned even if it does not exist, so the page can say so); else the
        ``shared/data`` folder beside the repository if it exists; else None.
    """
    configured = _from_env(DATA_ROOT_ENV)
    if configured:
        return configured
    default = REPO_ROOT.parent / "shared" / "data"
    return default if default.is_dir() else None


def env_int(name: str, default: int, minimum: int) -> int:
    """The whole number in environment variable ``name`` (``default`` when unset or empty).

    Raises
    ------
    ValueError
        If it is not a whole number >= ``minimum``; the message names the variable.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.lstrip("-").isdigit() or int(value) < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def env_bytes(name: str, default: int) -> int:
    """A size in environment variable ``name``: bytes, or a number with ``K``, ``M``, ``G`` or ``T`` (powers of
    1024; ``500M``, ``2G``, ``1.5T``); ``default`` when unset or empty.

    Raises
    ------
    ValueError
        If it is not such a size of at least one byte; the message names the variable.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?", value, re.IGNORECASE)
    size = int(float(match[1]) * BYTE_UNITS[match[2].upper()]) if match else 0
    if size < 1:
        raise ValueError(f"{name} must be a size such as 2G, 500M or 1048576 (bytes), got {value!r}")
    return size


@dataclass(frozen=True)
class Quotas:
    """Limits on the disk the Train page's users fill; :meth:`from_env` reads them from the environment.

    Attributes
    ----------
    session_bytes : int
        Bytes one session's job folders may hold at once: the uploaded ZIP's images being checked or
        trained on (a new upload replaces the session's earlier, unsubmitted one) and the logs of its
        jobs (``$COLORCORE_TRAIN_SESSION_BYTES``, default 2 GiB: one upload as large as the page takes).
    total_bytes : int
        Bytes all job folders together may hold (``$COLORCORE_TRAIN_TOTAL_BYTES``, default 20 GiB).
    session_checkpoints : int
        Checkpoints one session may train, those still in the user folder and the one in training
        (``$COLORCORE_TRAIN_SESSION_CHECKPOINTS``, default 20).
    checkpoints : int
        Checkpoints the user folder may hold, those in training included
        (``$COLORCORE_USER_CHECKPOINTS_MAX``, default 200).
    checkpoint_bytes : int
        Bytes the user checkpoints may take together (``$COLORCORE_USER_CHECKPOINTS_BYTES``, default
        2 GiB; a fine-tuned study network takes about 4 MB).

    Sizes are bytes or a number with ``K``, ``M``, ``G`` or ``T`` (``500M``); counts are whole numbers >= 1.
    """

    session_bytes: int = 2 << 30
    total_bytes: int = 20 << 30
    session_checkpoints: int = 20
    checkpoints: int = 200
    checkpoint_bytes: int = 2 << 30

    @classmethod
    def from_env(cls) -> "Quotas":
        """The quotas the environment sets, the defaults where it sets none.

        Raises
        ------
        ValueError
            For a value that is not a size or a count (the message names the variable).
        """
        default = cls()
        return cls(session_bytes=env_bytes(TRAIN_SESSION_BYTES_ENV, default.session_bytes),
                   total_bytes=env_bytes(TRAIN_TOTAL_BYTES_ENV, default.total_bytes),
                   session_checkpoints=env_int(TRAIN_SESSION_CHECKPOINTS_ENV, default.session_checkpoints, 1),
                   checkpoints=env_int(USER_CHECKPOINTS_MAX_ENV, default.checkpoints, 1),
                   checkpoint_bytes=env_bytes(USER_CHECKPOINTS_BYTES_ENV, default.checkpoint_bytes))
