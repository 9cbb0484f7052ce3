"""colorcore.app.folders: folders under the data root, safe selection, folder statistics as table rows."""
from __future__ import annotations

from pathlib import Path

import pytest

from colorcore import paths
from colorcore.app import folders


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
    stats = {"n_files": 3, "root": "data", "split": {"train": 2, "test": 1}, "ab_hist": {"edges": [0, 1]},
             "unreadable": [{"file": "x.png", "reason": "x.png: empty"}], "tiny": ["t.png"],
             "near_gray": [], "exact_duplicates": [["a.png", "b.png"]], "near_duplicates": []}
    items = {r["item"]: r["value"] for r in folders.overview_rows(stats)}
    assert items == {"n_files": "3", "root": "data", "split.train": "2", "split.test": "1"}
    counts = {r["check"]: r["count"] for r in folders.quality_counts(stats)}
    assert counts == {"unreadable files": 1, "tiny images": 1, "near-gray images": 0,
                      "groups of exact duplicates": 1, "groups of near duplicates": 0}
    lists = folders.quality_lists(stats)
    assert lists["exact duplicates"] == ["a.png = b.png"] and lists["unreadable files"] == ["x.png: empty"]
