"""colorcore.app.catalog: stamps, domains, labels, rows and the checkpoints pages start with."""
from __future__ import annotations

import os

import pytest

from colorcore import paths
from colorcore.app import catalog
from colorcore.checkpoints import load_checkpoint, read_metadata
from helpers import STUDY_NAMES, fake_meta


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


def test_preferred_checkpoint():
    metas = {"a": fake_meta("a", train=12), "b": fake_meta("b", train=500), "c": fake_meta("c", psnr=20, rmse=15.0),
             "d": fake_meta("d", psnr=21, rmse=11.0)}
    assert catalog.preferred_checkpoint(metas) == "d"
    assert catalog.preferred_checkpoint({k: metas[k] for k in "ab"}) == "b"
    assert catalog.preferred_checkpoint({}) is None
    assert catalog.preferred_checkpoint({**metas, "e": fake_meta("e", psnr=20, rmse=12.0, recommended=True)}) == "e"


def test_default_compare():
    assert catalog.default_compare(["x", *STUDY_NAMES, "y"]) == list(STUDY_NAMES)
    assert catalog.default_compare(list("abcdef")) == list("abcd")


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


def test_vivid_checkpoints_are_labelled_and_take_a_temperature(tiny_classifier):
    meta = read_metadata(tiny_classifier)
    assert catalog.is_vivid(meta) and not catalog.is_vivid(fake_meta("p"))
    assert catalog.default_temperature(meta) == pytest.approx(0.38)
    assert "a*b* classification (vivid)" in catalog.checkpoint_label(meta)
