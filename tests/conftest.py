"""Shared fixtures: small generated images and tiny checkpoints trained by the tests themselves."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorcore import paths
from colorcore.checkpoints import read_metadata, update_metadata
from colorcore.train import TrainConfig, train
from helpers import STUDY_NAMES, make_color_image


#: ``COLORCORE_`` variables the suite takes from the caller: the browser tests' catalog and screenshot folder.
HONOURED_VARIABLES = ("COLORCORE_CHECKPOINTS", "COLORCORE_SCREENSHOTS")
#: Where the session keeps its folder of user checkpoints.
USER_CHECKPOINTS = pytest.StashKey[Path]()


def pytest_configure(config) -> None:
    """Run the suite without the developer's colorcore settings, from before any test module is collected.

    Every other ``COLORCORE_`` variable is removed, and the checkpoints users train go to an empty
    temporary folder for the whole session (never the developer's own, which would otherwise join
    the catalog and the tests built from it).
    """
    for name in [name for name in os.environ if name.startswith("COLORCORE_") and name not in HONOURED_VARIABLES]:
        del os.environ[name]
    folder = config.stash[USER_CHECKPOINTS] = Path(tempfile.mkdtemp(prefix="colorcore-user-checkpoints-"))
    os.environ[paths.USER_CHECKPOINTS_ENV] = str(folder)


def pytest_unconfigure(config) -> None:
    """Remove the session's folder of user checkpoints."""
    shutil.rmtree(config.stash[USER_CHECKPOINTS], ignore_errors=True)


@pytest.fixture(scope="session")
def color_folder(tmp_path_factory) -> Path:
    """A folder of 40 small colour PNGs in two sub-folders."""
    root = tmp_path_factory.mktemp("colors")
    rng = np.random.default_rng(0)
    for i in range(40):
        sub = root / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        Image.fromarray(make_color_image(rng, 40, 48)).save(sub / f"img_{i:02d}.png")
    return root


@pytest.fixture(scope="session")
def tiny_checkpoint(color_folder, tmp_path_factory) -> Path:
    """A checkpoint trained for 3 epochs on ``color_folder`` (a few seconds)."""
    out = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    cfg = TrainConfig(data=str(color_folder), out=str(out), epochs=3, size=32, batch=8, val_images=4,
                      test_images=4, loss="huber", seed=0, description="tiny test checkpoint", domain="scenes")
    train(cfg, log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def tiny_classifier(color_folder, tmp_path_factory) -> Path:
    """A classification (vivid-colour) checkpoint trained for 3 epochs on ``color_folder``."""
    out = tmp_path_factory.mktemp("ckpt") / "tiny-vivid.safetensors"
    cfg = TrainConfig(data=str(color_folder), out=str(out), model="study_resnet18_classes", loss="ce", epochs=3,
                      size=32, batch=8, val_images=4, test_images=4, seed=0, lr=3e-3,
                      description="tiny classification checkpoint", domain="scenes")
    train(cfg, log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def tiny_catalog(tiny_checkpoint, tmp_path_factory) -> Path:
    """A checkpoint catalog folder holding the tiny checkpoint under the study's four names.

    Each copy records what its name says (``places500-huber``: 500 training images, huber loss),
    so the app recognises the study's grid from the metadata as it does on the shipped catalog.
    """
    folder = tmp_path_factory.mktemp("catalog")
    for name in STUDY_NAMES:
        path = folder / f"{name}.safetensors"
        shutil.copy(tiny_checkpoint, path)
        meta = read_metadata(path)
        n_train, loss = name.removeprefix("places").split("-")
        data = {**meta["data"], "split": {**meta["data"]["split"], "train": int(n_train)}}
        update_metadata(path, name=name, description=f"tiny stand-in for {name}",
                        train_config={**meta["train_config"], "loss": loss}, data=data)
    return folder


@pytest.fixture()
def catalog_env(tiny_catalog, monkeypatch) -> Path:
    """Point colorcore's checkpoint catalog at the tiny catalog for one test."""
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(tiny_catalog))
    return tiny_catalog
