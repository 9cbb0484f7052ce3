"""``pip install .`` gives the colorcore package, its console command, and the shipped checkpoints from any folder."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What a wheel is built from (what a clone holds, less what the wheel never needs).
_SKIP = shutil.ignore_patterns(".git", "tests", "docs", "runs", "build", "*.egg-info", "__pycache__", ".pytest_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment (seeing this one's packages) with a wheel built from the repository installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_SKIP)
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist)], check=True, capture_output=True, timeout=300)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    wheel = next(dist.glob("colorcore-*.whl"))
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    return venv


def test_console_command_lists_the_shipped_checkpoints_from_another_folder(installed, tmp_path):
    shipped = sorted(p.name.removesuffix(".safetensors") for p in (ROOT / "checkpoints").glob("*.safetensors"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([str(installed / "bin" / "colorcore"), "checkpoints", "--json"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json
    assert sorted(row["name"] for row in json.loads(out.stdout)) == shipped
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import colorcore; print(colorcore.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.startswith(str(installed)), where.stdout  # the installed copy, not the checkout
