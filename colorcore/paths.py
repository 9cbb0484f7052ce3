"""Where colorcore finds its files (shipped and user checkpoints, example images, data root) and the variables that move them.

Each folder is looked up when asked for, so a variable set after import (a test's
``monkeypatch.setenv``, a server's configuration) takes effect.  The shipped checkpoints are
package data, ``colorcore/_catalog``: in a source checkout a link to the repository's
``checkpoints/`` folder, in an installed wheel a copy of it (see ``pyproject.toml``).
"""
from __future__ import annotations

import os
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
