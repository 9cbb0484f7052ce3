"""colorcore.app.folders: folders under the data root, safe selection, folder statistics as table rows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colorcore import paths
from colorcore.analysis import FolderStats, RecordedDataStats
from colorcore.app import folders
from colorcore.metrics import Histogram


@pytest.fixture()
def tree(tmp_path) -> Path:
    root = tmp_path / "root"
    for folder in ("a/b/c", "a/empty", "flat", "docs", ".hidden", "deep/x/y"):
        (root / folder).mkdir(parents=True)
    for path in ("a/b/c/img.png", "flat/one.jpg", ".hidden/img.png", "deep/x/y/z.tif", "top.png"):
        (root / path).write_bytes(b"")
    (root / "docs" / "readme.txt").write_text("no images here")
    (tmp_path / "outside").mkdir()
    return root


def test_list_data_folders(tree):
    assert folders.list_data_folders(tree) == ["a", "a/b", "deep", "deep/x", "flat"]
    with pytest.raises(ValueError, match="not a directory"):
        folders.list_data_folders(tree / "top.png")


def test_resolve_data_folder(tree):
    assert folders.resolve_data_folder(tree, "a/b") == (tree / "a" / "b").resolve()
    assert folders.resolve_data_folder(str(tree), ".") == tree.resolve()
    (tree / "escape").symlink_to(tree.parent / "outside", target_is_directory=True)
    for relative, message in [("../outside", "contains '..'"), ("a/../../outside", "contains '..'"),
                              (str(tree.parent / "outside"), "is absolute"), ("escape", "outside the data root"),
                              ("top.png", "is not a folder"), ("missing", "is not a folder"),
                              ("a\x00b", "NUL")]:
        with pytest.raises(ValueError, match=message):
            folders.resolve_data_folder(tree, relative)
    with pytest.raises(ValueError, match="must be a string"):
        folders.resolve_data_folder(tree, None)


def test_data_root_the_dataset_page_offers(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ROOT_ENV, str(tmp_path))
    assert paths.data_root() == tmp_path
    monkeypatch.delenv(paths.DATA_ROOT_ENV)
    default = paths.REPO_ROOT.parent / "shared" / "data"
    assert paths.data_root() == (default if default.is_dir() else None)


def test_stats_display_helpers():
    recorded = RecordedDataStats(root="data", n_files=3, manifest_sha256="ab", split={"train": 2, "test": 1},
                                 ab_hist=Histogram(np.arange(3.0), np.zeros((2, 2))), hue_hist=None, chroma_hist=None,
                                 n_train_pixels=None)
    items = {r["item"]: r["value"] for r in folders.overview_rows(recorded)}
    assert items == {"root": "data", "n_files": "3", "manifest_sha256": "ab", "split.train": "2", "split.test": "1",
                     "hue_hist": "None", "chroma_hist": "None", "n_train_pixels": "None"}  # not a histogram's
    stats = FolderStats(n_files=3, n_analysed=3, sampled=False, n_readable=2,
                        unreadable=[{"file": "x.png", "reason": "x.png: empty"}], sizes={"widths": [], "heights": []},
                        tiny=["t.png"], n_color=2, n_gray=0, gray=[], near_gray=[],
                        exact_duplicates=[["a.png", "b.png"]], near_duplicates=[], ab_hist=None, hue_hist=None,
                        chroma_hist=None, settings={"tiny_px": 32})
    assert {r["item"]: r["value"] for r in folders.overview_rows(stats)}["n_readable"] == "2"
    counts = {r["check"]: r["count"] for r in folders.quality_counts(stats)}
    assert counts == {"unreadable files": 1, "tiny images": 1, "near-gray images": 0,
                      "groups of exact duplicates": 1, "groups of near duplicates": 0}
    lists = folders.quality_lists(stats)
    assert lists["exact duplicates"] == ["a.png = b.png"] and lists["unreadable files"] == ["x.png: empty"]
