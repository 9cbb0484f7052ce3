"""``pip install`` gives the colorcore package, its console command, and the shipped checkpoints from any folder.

The wheel is installed into a fresh virtual environment and, with ``pip install --target``, into a
plain folder. Both reuse this environment's packages (torch is never installed again), and both run
from the base interpreter or from this one, so the test passes from a virtual environment as from
the system Python.
"""
import json
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, SHIPPED_CHECKPOINTS

#: What a wheel is built from (what a clone holds, less what the wheel never needs).
_SKIP = shutil.ignore_patterns(".git", "tests", "docs", "runs", "build", "*.egg-info", "__pycache__", ".pytest_cache")


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` (text output captured); fail the test with its stderr unless it succeeds."""
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done


def _site_packages() -> list[str]:
    """The folders this environment imports installed packages from: its own, its base's, the user's."""
    user = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
    return [folder for folder in [*site.getsitepackages(), *user] if Path(folder).is_dir()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the repository (its links kept, as in a clone)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_SKIP, symlinks=True)
    _run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist"])
    return next((tmp / "dist").glob("colorcore-*.whl"))


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment of the base interpreter with the wheel installed, seeing this environment's packages.

    ``--system-site-packages`` would not do: made from inside a virtual environment, it sees the base
    interpreter's packages, not that environment's. A ``.pth`` file adds this environment's
    site-packages folders after the new environment's own, which holds the wheel.
    """
    folder = tmp_path_factory.mktemp("venv")
    _run([sys._base_executable, "-m", "venv", folder])
    python = folder / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    (Path(purelib) / "outer-environment.pth").write_text("".join(f"{path}\n" for path in _site_packages()))
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel])
    return folder


@pytest.fixture(scope="module")
def target(wheel, tmp_path_factory) -> Path:
    """A plain folder the wheel was installed into by ``pip install --target``."""
    folder = tmp_path_factory.mktemp("target")
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", folder, wheel])
    return folder


def _check_lists_the_shipped_checkpoints(colorcore: list, python: list, installed: Path, folder: Path,
                                         **env: str) -> None:
    """From ``folder``, ``colorcore checkpoints`` lists the shipped checkpoints and the import is ``installed``'s copy.

    ``colorcore`` and ``python`` start the command line and the interpreter; ``env`` is added to a bare
    environment (no checkout on the path, an empty folder of user checkpoints).
    """
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "COLORCORE_USER_CHECKPOINTS": str(folder / "user"),
           **env}
    listed = _run([*colorcore, "checkpoints", "--json"], cwd=folder, env=env)
    assert sorted(row["name"] for row in json.loads(listed.stdout)) == [path.stem for path in SHIPPED_CHECKPOINTS]
    where = _run([*python, "-c", "import colorcore; print(colorcore.__file__)"], cwd=folder, env=env).stdout
    assert where.startswith(str(installed)), where  # the installed copy, not the checkout


def test_console_command_lists_the_shipped_checkpoints_from_another_folder(venv, tmp_path):
    python = venv / "bin" / "python"
    _check_lists_the_shipped_checkpoints([venv / "bin" / "colorcore"], [python], venv, tmp_path)


def test_a_target_install_lists_the_shipped_checkpoints_from_another_folder(target, tmp_path):
    python = [sys.executable]
    _check_lists_the_shipped_checkpoints([*python, "-m", "colorcore"], python, target, tmp_path,
                                         PYTHONPATH=str(target))
