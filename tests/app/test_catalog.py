"""colorcore.app.catalog: stamps, domains, labels, rows and the checkpoints pages start with."""
from __future__ import annotations

import os

import pytest

from colorcore import paths
from colorcore.app import catalog
from colorcore.checkpoints import load_checkpoint, read_metadata
from helpers import STUDY_NAMES, fake_meta


def study_meta(name: str, **changes) -> dict:
    """Metadata of a study-grid checkpoint (scenes, study_resnet18, corrected), changed by ``changes``."""
    meta = fake_meta(name, train=changes.pop("train", 500), loss=changes.pop("loss", "huber"))
    meta["model"]["name"] = "study_resnet18"
    meta.update(changes)
    return meta


@pytest.fixture()
def shipped(monkeypatch) -> catalog.Catalog:
    """The shipped catalog (``checkpoints/`` of the checkout, package data: always there), headers only."""
    monkeypatch.setenv(paths.CHECKPOINTS_ENV, str(paths.REPO_ROOT / "checkpoints"))
    cat = catalog.read_catalog()
    assert cat.metas, "the shipped checkpoints are missing from this checkout"
    return cat


def test_group_by_domain_and_labels():
    metas = {"h1": fake_meta("h1", "histology"), "z": fake_meta("z", ""), "s2": fake_meta("s2"),
             "s1": fake_meta("s1"), "f": fake_meta("f", "fluorescence"), "q": fake_meta("q", "quasar")}
    assert catalog.group_by_domain(metas) == {"scenes": ["s1", "s2"], "histology": ["h1"], "fluorescence": ["f"],
                                              "other": ["z"], "quasar": ["q"]}
    label = catalog.checkpoint_label(fake_meta("p", train=500, loss="huber", psnr=23.14, rmse=12.35))
    assert label == "p · scenes, 500 train images, huber loss · test PSNR 23.1 dB, ab RMSE 12.3"
    assert "not evaluated yet" in catalog.checkpoint_label(fake_meta("p"))
    assert "in training (3 epochs)" in catalog.checkpoint_label(fake_meta("p", complete=False, epochs_done=3))
    assert catalog.checkpoint_label(load_checkpoint("gray").meta).startswith("gray · baseline")
    rows = catalog.catalog_rows({"p": fake_meta("p", psnr=20.0, rmse=10.0)})
    assert rows[0]["test PSNR (dB)"] == 20.0 and rows[0]["train images"] == 12 and rows[0]["loss"] == "mse"


def test_catalog_rows_show_a_user_checkpoint_s_data_neutrally_and_shipped_ones_as_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.CHECKPOINTS_ENV, str(tmp_path))
    (tmp_path / "shipped.safetensors").touch()  # is_shipped looks at the shipped folder only
    user = fake_meta("mine", description="trained from scratch on 12 images of alice_secret_cells.zip (Train page)",
                     data={"root": "/srv/colorcore/uploads/alice/alice_secret_cells", "split": {"train": 12}})
    rows = catalog.catalog_rows({"shipped": fake_meta("shipped", description="places, 12 images"), "mine": user})
    assert (rows[0]["data"], rows[0]["description"]) == ("data/places", "places, 12 images")
    assert rows[1]["data"] == catalog.UPLOADED_DATA and rows[1]["train images"] == 12
    assert rows[1]["description"] == "trained from scratch on 12 training images on this server's Train page"
    assert not [value for value in rows[1].values() if "alice" in str(value) or "/srv" in str(value)]


def test_preferred_checkpoint():
    metas = {"a": fake_meta("a", train=12), "b": fake_meta("b", train=500), "c": fake_meta("c", psnr=20, rmse=15.0),
             "d": fake_meta("d", psnr=21, rmse=11.0)}
    assert catalog.preferred_checkpoint(metas) == "d"
    assert catalog.preferred_checkpoint({k: metas[k] for k in "ab"}) == "b"
    assert catalog.preferred_checkpoint({}) is None
    assert catalog.preferred_checkpoint({**metas, "e": fake_meta("e", psnr=20, rmse=12.0, recommended=True)}) == "e"


def test_study_grid_is_recognised_by_metadata_not_names():
    assert catalog.in_study_grid(study_meta("any-name"))
    places_root = study_meta("x", domain="", data={"root": "../shared/data/places/", "split": {"train": 12}})
    assert catalog.in_study_grid(places_root)  # no domain recorded, but trained on the places folder
    assert not catalog.in_study_grid(study_meta("places500-huber", train=4500))
    assert not catalog.in_study_grid(study_meta("places500-huber", loss="l1"))
    assert not catalog.in_study_grid(study_meta("places500-huber", recipe="study"))
    assert not catalog.in_study_grid(study_meta("places500-huber", domain="fluorescence"))
    assert not catalog.in_study_grid(study_meta("places500-huber", model={"name": "study_resnet18_classes"}))
    assert not catalog.in_study_grid(fake_meta("places500-huber", train=500, loss="huber"))  # other model


def test_default_compare_orders_the_grid_and_falls_back_to_the_first_few():
    metas = {"z-huber-12": study_meta("z", train=12), "a-mse-500": study_meta("a", train=500, loss="mse"),
             "other": fake_meta("other"), "b-mse-12": study_meta("b", train=12, loss="mse")}
    assert catalog.default_compare(metas) == ["b-mse-12", "z-huber-12", "a-mse-500"]
    plain = {name: fake_meta(name) for name in "abcdef"}
    assert catalog.default_compare(plain) == list("abcd")
    assert catalog.default_compare(plain, limit=2) == ["a", "b"]
    assert catalog.default_compare({}) == []


def test_default_compare_on_the_shipped_catalog(shipped):
    assert catalog.default_compare(shipped.metas) == list(STUDY_NAMES)
    without = {name: meta for name, meta in shipped.metas.items() if name not in STUDY_NAMES}
    assert catalog.default_compare(without) == list(without)[:4]


def test_catalog_reading_reports_bad_files(catalog_env, tmp_path, monkeypatch):
    folder = tmp_path / "cat"
    folder.mkdir()
    os.symlink(catalog_env / "places12-mse.safetensors", folder / "places12-mse.safetensors")
    (folder / "broken.safetensors").write_bytes(b"\x00" * 10)
    monkeypatch.setenv(paths.CHECKPOINTS_ENV, str(folder))
    cat = catalog.read_catalog()
    assert cat.names == ["places12-mse"]
    assert len(cat.problems) == 1 and "broken" in cat.problems[0]
    stamps = dict(catalog.catalog_stamps())
    assert set(stamps) == {"broken", "places12-mse"} and stamps["places12-mse"]
    assert catalog.checkpoint_stamp("gray") == ""


def test_tiny_catalog_is_the_study_grid(catalog_env):
    cat = catalog.read_catalog()
    assert catalog.default_compare(cat.metas) == list(STUDY_NAMES)
    assert "500 train images, huber loss" in catalog.checkpoint_label(cat.metas["places500-huber"])


def test_vivid_checkpoints_are_labelled_and_take_a_temperature(tiny_classifier):
    meta = read_metadata(tiny_classifier)
    assert catalog.is_vivid(meta) and not catalog.is_vivid(fake_meta("p"))
    assert catalog.default_temperature(meta) == pytest.approx(0.38)
    assert "a*b* classification (vivid)" in catalog.checkpoint_label(meta)
