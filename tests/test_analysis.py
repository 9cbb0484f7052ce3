"""Dataset analysis: folder statistics and their helpers, checkpoint data, the JSON layout, CLI."""
from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from colorcore import analysis
from colorcore.analysis import (ColourTotals, FolderStats, RecordedDataStats, check_relative, checkpoint_data_stats,
                                file_stats, folder_stats, sample_files, to_json)
from colorcore.checkpoints import read_metadata
from colorcore.cli import main
from colorcore.metrics import Histogram, ab_histogram, chroma_hue, lab_of

STATS_KEYS = {"n_files", "n_analysed", "sampled", "n_readable", "unreadable", "sizes", "tiny", "n_color",
              "n_gray", "gray", "near_gray", "exact_duplicates", "near_duplicates", "ab_hist", "hue_hist", "chroma_hist",
              "settings"}


def blocks(seed: int, size: int = 64, grid: int = 8) -> np.ndarray:
    """uint8 RGB image of random coloured blocks: strong structure, distinct per seed."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, (grid, grid, 3), dtype=np.uint8)
    return np.kron(cells, np.ones((size // grid, size // grid, 1), dtype=np.uint8))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """Colour, gray, tiny, near-gray, duplicate, near-duplicate and broken images."""
    root = tmp_path_factory.mktemp("mixed")
    base = blocks(1)
    Image.fromarray(base).save(root / "color_a.png")
    Image.fromarray(blocks(2, size=48)).save(root / "color_b.png")
    shutil.copy(root / "color_a.png", root / "copy_of_a.png")  # same bytes
    tifffile.imwrite(root / "a_as_tiff.tif", base)  # same pixels, other bytes
    noisy = np.clip(base.astype(int) + np.random.default_rng(5).integers(-3, 4, base.shape), 0, 255)
    Image.fromarray(noisy.astype(np.uint8)).save(root / "noisy_a.png")
    gray = np.kron(np.random.default_rng(3).integers(0, 256, (8, 8), dtype=np.uint8),
                   np.ones((10, 10), np.uint8))
    Image.fromarray(gray).save(root / "gray.png")
    tinted = np.repeat(np.kron(np.random.default_rng(4).integers(40, 200, (4, 4)),
                               np.ones((10, 10), int))[..., None], 3, axis=2)
    tinted[..., 0] += 2  # stored as colour, chroma about 1-2
    Image.fromarray(tinted.astype(np.uint8)).save(root / "nearly_gray.png")
    (root / "sub").mkdir()
    Image.fromarray(blocks(7, size=16, grid=4)[:, :12]).save(root / "sub" / "tiny.png")
    (root / "broken.png").write_text("this is not an image\n")
    return root


@pytest.fixture(scope="module")
def mixed_stats(mixed) -> FolderStats:
    return folder_stats(mixed)


def test_folder_stats_counts_and_sizes(mixed_stats):
    s = mixed_stats
    assert {f.name for f in fields(s)} == STATS_KEYS
    assert (s.n_files, s.n_analysed, s.sampled, s.n_readable) == (9, 9, False, 8)
    assert [u["file"] for u in s.unreadable] == ["broken.png"]
    assert "broken.png" in s.unreadable[0]["reason"]
    # files are analysed in sorted order: a_as_tiff, broken(x), color_a, color_b, copy_of_a, gray, nearly_gray,
    # noisy_a, sub/tiny
    assert s.sizes == {"widths": [64, 64, 48, 64, 80, 40, 64, 12], "heights": [64, 64, 48, 64, 80, 40, 64, 16]}
    assert s.tiny == ["sub/tiny.png"]
    assert (s.n_color, s.n_gray, s.gray) == (7, 1, ["gray.png"])
    assert s.near_gray == ["nearly_gray.png"]
    assert all(isinstance(getattr(s, k), Histogram) for k in ("ab_hist", "hue_hist", "chroma_hist"))
    stored = json.loads(json.dumps(to_json(s)))
    assert stored["ab_hist"] == s.ab_hist.to_dict() and set(stored["ab_hist"]) == {"edges", "counts", "n"}
    assert set(stored["hue_hist"]) == {"edges", "counts"}  # 1-D histograms carry no n, as before
    assert Histogram.from_dict(stored["chroma_hist"]) == s.chroma_hist


def test_folder_stats_duplicates(mixed_stats):
    assert mixed_stats.exact_duplicates == [["a_as_tiff.tif", "color_a.png", "copy_of_a.png"]]
    # the exact group takes part through its first file only
    assert mixed_stats.near_duplicates == [["a_as_tiff.tif", "noisy_a.png"]]


def test_folder_stats_histograms(mixed_stats):
    ab, hue, chroma = mixed_stats.ab_hist, mixed_stats.hue_hist, mixed_stats.chroma_hist
    pixels = sum(w * h for w, h in zip(mixed_stats.sizes["widths"], mixed_stats.sizes["heights"]))
    assert ab.n == pixels == ab.counts.sum() == chroma.counts.sum()
    assert ab.ndim == 2 and ab.edges[0] == -110 and ab.edges[-1] == 110  # colorcore.units.AB_LIMIT
    assert len(hue.edges) == 37 and hue.edges[0] == 0 and hue.edges[-1] == 360
    assert len(chroma.edges) == len(chroma.counts) + 1
    assert 0 < hue.counts.sum() < pixels  # gray and near-gray pixels are not in the hue histogram


def test_hue_histogram_of_a_solid_colour(tmp_path):
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:] = (200, 40, 30)
    Image.fromarray(rgb).save(tmp_path / "red.png")
    s = folder_stats(tmp_path)
    chroma, hue = (float(v.flat[0]) for v in chroma_hue(lab_of(rgb)))
    assert s.hue_hist.counts[int(hue // 10)] == 600 and s.hue_hist.counts.sum() == 600
    assert s.chroma_hist.counts[int(chroma // 5)] == 600
    assert s.n_color == 1 and not s.near_gray and not s.exact_duplicates


def test_folder_stats_large_image_is_downscaled(tmp_path):
    Image.fromarray(blocks(3, size=640, grid=8)).save(tmp_path / "big.png")
    s = folder_stats(tmp_path)
    assert s.sizes == {"widths": [640], "heights": [640]}
    assert s.ab_hist.n == analysis.ANALYSIS_PX ** 2


def test_folder_stats_sampling_is_seeded(mixed):
    first = folder_stats(mixed, max_images=3, seed=1)
    assert first.sampled is True and first.n_analysed == 3 and first.n_files == 9
    assert first == folder_stats(mixed, max_images=3, seed=1)
    assert first.n_readable + len(first.unreadable) == 3


def test_folder_stats_explicit_files(mixed):
    s = folder_stats(mixed, ["gray.png", "missing.png"])
    assert s.n_files == 2 and s.n_gray == 1
    assert s.unreadable[0]["file"] == "missing.png" and "cannot read" in s.unreadable[0]["reason"]


@pytest.mark.parametrize("kwargs, message", [
    ({"files": []}, "files is empty"),
    ({"files": ["../x.png"]}, "contains '..'"),
    ({"files": ["/etc/passwd"]}, "is absolute"),
    ({"max_images": 0}, "max_images must be an integer >= 1"),
    ({"tiny_px": 1.5}, "tiny_px must be an integer"),
    ({"near_gray_chroma": float("nan")}, "near_gray_chroma must be a finite number"),
])
def test_folder_stats_refuses_bad_arguments(mixed, kwargs, message):
    with pytest.raises(ValueError, match=message):
        folder_stats(mixed, **kwargs)


def test_folder_stats_refuses_missing_or_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        folder_stats(tmp_path / "nope")
    with pytest.raises(ValueError, match="no image files"):
        folder_stats(tmp_path)


def test_sample_files_is_seeded_and_keeps_file_order():
    files = [f"{i:02d}.png" for i in range(20)]
    assert sample_files(files, 20, seed=0) == files
    picked = sample_files(files, 5, seed=3)
    assert len(picked) == 5 and picked == sorted(picked) and picked == sample_files(files, 5, seed=3)
    assert picked != sample_files(files, 5, seed=4)


def test_file_stats_of_one_image_and_of_unreadable_files(mixed):
    colours = ColourTotals()
    record = file_stats(mixed, "color_b.png", colours)
    assert record.readable and (record.width, record.height, record.gray) == (48, 48, False)
    assert record.mean_chroma > 10 and record.dhash.shape == (64,) and 0 <= record.mean_l <= 100
    assert record.byte_key and record.pixel_key
    result = colours.result()
    assert result["ab_hist"].n == 48 * 48 == result["chroma_hist"].counts.sum()
    broken = file_stats(mixed, "broken.png", colours)
    assert not broken.readable and broken.byte_key and broken.pixel_key is None
    assert broken.reason.startswith("broken.png")
    missing = file_stats(mixed, "missing.png", colours)
    assert missing.byte_key is None and "cannot read file" in missing.reason
    assert colours.result()["ab_hist"].n == 48 * 48  # unreadable files add no pixels


def test_check_relative():
    assert str(check_relative("a/b.png", "file")) == "a/b.png"
    for bad, message in [("../x", "contains '..'"), ("/abs", "is absolute"), ("C:\\x", "is absolute"),
                         ("a\x00", "NUL"), (3, "must be a string")]:
        with pytest.raises(ValueError, match=message):
            check_relative(bad, "file")


def test_checkpoint_data_stats():
    lab = np.array([[50.0, 32.5, 2.5]] * 10 + [[50.0, 2.5, 52.5]] * 7 + [[50.0, 2.5, 2.5]] * 5)
    stored = ab_histogram(lab).to_dict()  # as training stores it
    meta = {"name": "x", "data": {"root": "../shared/data/places", "n_files": 100, "manifest_sha256": "ab" * 32,
                                  "split": {"test": 10, "val": 10, "train": 12, "pool": 80},
                                  "split_sha256": {}, "files": {"test": [], "val": [], "train": []}},
            "train_ab_hist": stored}
    s = checkpoint_data_stats(meta)
    assert isinstance(s, RecordedDataStats) and {f.name for f in fields(s)} == {
        "root", "n_files", "manifest_sha256", "split", "ab_hist", "hue_hist", "chroma_hist", "n_train_pixels"}
    assert (s.root, s.n_files, s.manifest_sha256) == ("../shared/data/places", 100, "ab" * 32)
    assert s.split["train"] == 12 and s.n_train_pixels == 22
    assert s.ab_hist == ab_histogram(lab) and to_json(s)["ab_hist"] == stored
    assert s.hue_hist.counts[0] == 10 and s.hue_hist.counts[8] == 7 and s.chroma_hist.counts.sum() == 22
    bare = checkpoint_data_stats({})
    assert all(getattr(bare, f.name) is None for f in fields(bare))
    partial = checkpoint_data_stats({"data": {"n_files": 3}, "train_ab_hist": None})
    assert partial.n_files == 3 and partial.split is None and partial.hue_hist is None
    with pytest.raises(ValueError, match="must be a dict"):
        checkpoint_data_stats(None)
    with pytest.raises(ValueError, match=r"train_ab_hist counts must have shape \(2,\) or \(2, 2\)"):
        checkpoint_data_stats({"train_ab_hist": {"edges": [0, 1, 2], "counts": [[1, 2, 3]]}})


def test_checkpoint_data_stats_of_a_shipped_checkpoint():
    meta = read_metadata("places12-mse", catalog_only=True)
    s = checkpoint_data_stats(meta)
    assert to_json(s)["ab_hist"] == meta["train_ab_hist"]  # the stored layout, unchanged
    assert s.n_train_pixels == s.ab_hist.counts.sum() == s.chroma_hist.counts.sum()


def test_cli_analyze(mixed, tmp_path, capsys):
    out = tmp_path / "stats.json"
    assert main(["analyze", "--data", str(mixed), "--json", str(out), "--max-images", "50"]) == 0
    printed = capsys.readouterr().out
    assert "9 files, 9 analysed, 8 readable, 1 unreadable" in printed
    assert "exact duplicates: 1 groups (3 files)" in printed
    written = json.loads(out.read_text())
    assert set(written) == STATS_KEYS and written == to_json(folder_stats(mixed, max_images=50))
    assert main(["analyze", "--data", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a directory" in err
