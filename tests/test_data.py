"""Deterministic, nested, group-aware splits and the in-memory image cache."""
import numpy as np
import pytest
import torch

from colorcore.data import augment_batch, load_image_tensor, resize_center_crop
from colorcore.splits import draw_split, file_list_hash, group_of, list_images

FILES = [f"img_{i:04d}.jpg" for i in range(1000)]


def test_split_is_deterministic_and_disjoint():
    a = draw_split(FILES, seed=3, n_test=250, n_val=250)
    b = draw_split(list(reversed(FILES)), seed=3, n_test=250, n_val=250)
    assert a == b
    assert len(a.test) == 250 and len(a.val) == 250 and len(a.pool) == 500
    assert not set(a.test) & set(a.val) and not (set(a.test) | set(a.val)) & set(a.pool)
    assert draw_split(FILES, seed=4, n_test=250, n_val=250).test != a.test


def test_training_subsets_are_nested():
    split = draw_split(FILES, seed=0, n_test=100, n_val=100)
    small, large = split.train(12), split.train(500)
    assert set(small) <= set(large) and len(small) == 12
    with pytest.raises(ValueError, match="pool holds 800"):
        split.train(801)


def test_groups_never_straddle_splits():
    files = [f"TCGA-{s:02d}-slide_r{r}c{c}.jpg" for s in range(30) for r in range(4) for c in range(4)]
    split = draw_split(files, seed=0, n_test=50, n_val=50, group_pattern=r"^(TCGA-\d+)")
    where = {}
    for name, part in (("test", split.test), ("val", split.val), ("pool", split.pool)):
        for f in part:
            where.setdefault(group_of(f, r"^(TCGA-\d+)"), set()).add(name)
    assert all(len(v) == 1 for v in where.values())
    assert len(split.test) >= 50 and len(split.test) % 16 == 0
    assert group_of("a/b/x.png", r"^(.*)/") == "a/b"


def test_impossible_split_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot fill"):
        draw_split(FILES[:10], seed=0, n_test=5, n_val=5)


def test_list_images_and_hash(color_folder, tmp_path):
    files = list_images(color_folder)
    assert len(files) == 40 and files[0].startswith("a/")
    assert file_list_hash(files) == file_list_hash(list(reversed(files)))
    with pytest.raises(ValueError, match="no image files"):
        list_images(tmp_path)


def test_cache_resizes_crops_and_skips_bad_files(color_folder, tmp_path):
    (tmp_path / "bad.png").write_text("nope")
    files = list_images(color_folder)[:3]
    imgs, bad = load_image_tensor(color_folder, files, 32)
    assert imgs.shape == (3, 3, 32, 32) and imgs.dtype == torch.uint8 and bad == []
    imgs, bad = load_image_tensor(tmp_path, ["bad.png"], 32)
    assert len(imgs) == 0 and "bad.png" in bad[0]
    assert resize_center_crop(np.zeros((50, 100, 3), np.uint8), 20).shape == (20, 20, 3)


def test_augment_is_reproducible():
    batch = torch.randint(0, 255, (4, 3, 16, 16), dtype=torch.uint8)
    a = augment_batch(batch, 8, torch.Generator().manual_seed(1))
    b = augment_batch(batch, 8, torch.Generator().manual_seed(1))
    assert a.shape == (4, 3, 8, 8) and torch.equal(a, b)
    with pytest.raises(ValueError, match="larger than"):
        augment_batch(batch, 32, torch.Generator())


def test_native_scale_keeps_small_images_and_shrinks_large_ones():
    from colorcore.data import fit_long_side, image_batches, take
    assert fit_long_side(np.zeros((68, 70, 3), np.uint8), 512, 64).shape == (68, 70, 3)
    assert fit_long_side(np.zeros((1000, 1600, 3), np.uint8), 512, 64).shape == (320, 512, 3)
    assert fit_long_side(np.zeros((40, 300, 3), np.uint8), 512, 64).shape[0] == 64  # a crop must fit
    images = [torch.zeros(3, 68, 70, dtype=torch.uint8), torch.ones(3, 320, 512, dtype=torch.uint8)]
    crops = augment_batch(images, 64, torch.Generator().manual_seed(0))
    assert crops.shape == (2, 3, 64, 64) and crops[1].min() == 1
    assert [tuple(b.shape) for b in image_batches(images, 8, multiple=8)] == [(1, 3, 64, 64), (1, 3, 320, 512)]
    assert take(images, torch.tensor([1]))[0] is images[1]
    with pytest.raises(ValueError, match="crop 80 is larger"):
        augment_batch(images, 80, torch.Generator())


def test_lab_batch_encodes_as_each_recipe_says():
    from colorcore.data import lab_batch
    from colorcore.lab import rgb_to_gray, rgb_to_lab
    batch = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    rgb = batch.float() / 255
    lab = rgb_to_lab(rgb)
    net_in, target, lightness = lab_batch(batch, torch.device("cpu"), "corrected")
    assert torch.allclose(net_in, (lab[:, :1] - 50) / 50) and torch.allclose(lightness, lab[:, :1])
    assert torch.allclose(target, lab[:, 1:] / 110)
    net_in, target, lightness = lab_batch(batch, torch.device("cpu"), "study")
    assert torch.allclose(net_in, rgb_to_gray(rgb)) and torch.allclose(lightness, rgb_to_gray(rgb) * 100)
    assert torch.allclose(target, (lab[:, 1:] + 128) / 255)


def test_oversampling_repeats_matching_files_and_refuses_a_pattern_matching_nothing():
    from colorcore.splits import oversampled
    assert oversampled(["a/1", "b/2"], "^a/", 3) == ["a/1", "b/2", "a/1", "a/1"]
    assert oversampled(["a/1"], None, 5) == ["a/1"]
    with pytest.raises(ValueError, match="no training file matches --oversample '\\^z'"):
        oversampled(["a/1"], "^z", 2)


def test_split_sizes_default_to_a_tenth_and_at_least_one():
    from colorcore.splits import split_sizes
    assert split_sizes(100, None, None) == (10, 10)
    assert split_sizes(5, None, 2) == (1, 2)
    assert split_sizes(100, 0, 7) == (0, 7)


def test_training_histogram_counts_every_pixel_of_tensors_and_lists():
    from colorcore.data import training_ab_histogram
    imgs = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    hist = training_ab_histogram(imgs, batch=2)
    assert hist.n == 3 * 64 == hist.counts.sum() and hist.ndim == 2
    assert training_ab_histogram(list(imgs)) == hist
    assert list(hist.to_dict()) == ["edges", "counts", "n"]  # the layout stored as train_ab_hist


def _prep_cfg(folder, **kw):
    from colorcore.config import TrainConfig
    return TrainConfig(**{"data": str(folder), "out": "unused.safetensors", "size": 32, "val_images": 4,
                          "test_images": 4, "seed": 0, **kw})


def test_prepare_data_splits_decodes_and_describes_the_training_set(color_folder):
    from colorcore.data import prepare_data
    lines = []
    data = prepare_data(_prep_cfg(color_folder, train_images=10, oversample="^a/", oversample_factor=2), lines.append)
    m = data.manifest
    assert m["split"] == {"test": 4, "val": 4, "train": 10, "pool": 32}
    assert data.train.shape[0] == 10 + sum(f.startswith("a/") for f in m["files"]["train"])
    assert data.train.shape[1:] == (3, 32, 32) and data.val.shape == (4, 3, 32, 32)
    assert m["split_sha256"]["train"] == file_list_hash(m["files"]["train"]) and m["n_files"] == 40
    assert not set(m["files"]["train"]) & set(m["files"]["test"] + m["files"]["val"])
    assert lines[0] == "data: 40 files -> test 4, val 4, train 10 of a pool of 32"
    assert lines[1].startswith("oversampling: ")
    native = prepare_data(_prep_cfg(color_folder, train_images=2, size=64, crop=16, scale="native"), lambda _: None)
    assert isinstance(native.train, list) and native.train[0].shape == (3, 40, 48)
    with pytest.raises(ValueError, match="no image file matches --include"):
        prepare_data(_prep_cfg(color_folder, include="^zzz"), lambda _: None)


def test_more_data_trains_on_every_image_and_leaves_the_split_unchanged(color_folder, tmp_path):
    from PIL import Image

    from colorcore.data import prepare_data
    more = tmp_path / "more"
    more.mkdir()
    for i in range(5):
        Image.new("RGB", (40, 48), (10 * i, 200, 30)).save(more / f"m{i}.png")
    plain = prepare_data(_prep_cfg(color_folder, train_images=10), lambda _: None)
    lines = []
    data = prepare_data(_prep_cfg(color_folder, train_images=10, more_data=str(more)), lines.append)
    assert data.manifest["files"] == plain.manifest["files"]  # test, validation and --data's training files
    assert data.train.shape[0] == 15 and torch.equal(data.train[:10], plain.train)
    assert data.manifest["more"] == {"root": str(more), "n_files": 5,
                                     "manifest_sha256": file_list_hash([f"m{i}.png" for i in range(5)])}
    assert "more data: 5 training images from" in lines[1]
    assert "more" not in plain.manifest
    native = prepare_data(_prep_cfg(color_folder, train_images=2, size=64, crop=16, scale="native",
                                    more_data=str(more)), lambda _: None)
    assert len(native.train) == 7 and native.train[-1].shape == (3, 48, 40)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty: no image files"):
        prepare_data(_prep_cfg(color_folder, more_data=str(empty)), lambda _: None)
