"""Inference keeps the exact size, handles any bit depth, and never mutates a shared checkpoint."""
import numpy as np
import pytest
import tifffile

from colorcore import colorize, load_checkpoint, read_image
from colorcore.infer import working_shape


def test_working_shape_keeps_aspect_and_multiples_of_8():
    assert working_shape(677, 1001, 512) == (344, 512)
    assert working_shape(128, 128, 512) == (128, 128)
    assert working_shape(1, 10000, 512) == (8, 512)
    assert working_shape(30, 50, None) == (32, 48)


def test_colorize_keeps_odd_sizes_and_16bit_input(tiny_checkpoint, tmp_path):
    ckpt = load_checkpoint(tiny_checkpoint)
    rng = np.random.default_rng(0)
    tifffile.imwrite(tmp_path / "cells.tif", (33000 + rng.integers(0, 4000, (677, 1001))).astype(np.uint16))
    image, info = read_image(tmp_path / "cells.tif")
    result = colorize(image, ckpt, working_size=256)
    assert result.rgb.shape == (677, 1001, 3) and result.rgb.dtype == np.uint8
    assert result.working_shape == (176, 256)
    # the output keeps the input's own lightness at full resolution
    from colorcore.metrics import lab_of
    from colorcore.lab import gray_to_lightness
    import torch
    l_out = lab_of(result.rgb)[..., 0]
    l_in = gray_to_lightness(torch.from_numpy(image)).numpy()
    assert np.abs(l_out - l_in).mean() < 1.5


def test_gray_baseline_returns_the_gray_image_and_colour_inputs_reduce_to_lightness():
    gray = load_checkpoint("gray")
    img = np.random.default_rng(0).random((13, 17)).astype(np.float32)
    out = colorize(img, gray).rgb
    assert np.abs(out[..., 0].astype(int) - (img * 255).round()).max() <= 1
    rgb = np.random.default_rng(1).random((9, 11, 3)).astype(np.float32)
    out = colorize(rgb, gray).rgb
    assert out.shape == (9, 11, 3) and np.abs(out[..., 0].astype(int) - out[..., 2]).max() <= 1


def test_colorize_rejects_bad_arrays(tiny_checkpoint):
    ckpt = load_checkpoint(tiny_checkpoint)
    with pytest.raises(ValueError, match="float"):
        colorize(np.zeros((4, 4), np.uint8), ckpt)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        colorize(np.zeros((4, 4, 2), np.float32), ckpt)


def test_shared_checkpoint_is_never_mutated_by_concurrent_sessions(tiny_checkpoint):
    """The app shares one loaded checkpoint between sessions (threads): results agree, weights stay."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    ckpt = load_checkpoint(tiny_checkpoint)
    before = {k: v.clone() for k, v in ckpt.model.state_dict().items()}
    images = [np.random.default_rng(i).random((60 + i, 90)).astype(np.float32) for i in range(6)]
    expected = [colorize(img, ckpt, working_size=64).rgb for img in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda img: colorize(img, ckpt, working_size=64).rgb, images))
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))
    assert not ckpt.model.training
    after = ckpt.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_preview_and_full_resolution_come_from_one_prediction(tiny_checkpoint):
    from colorcore.infer import merge, predict

    ckpt = load_checkpoint(tiny_checkpoint)
    y, x = np.mgrid[0:900, 0:1300] / 100.0
    image = (0.5 + 0.4 * np.sin(x) * np.cos(y)).astype(np.float32)  # smooth: shrinking commutes with colour
    pred = predict(image, ckpt, working_size=128)
    full = merge(image, pred)
    assert np.array_equal(full.rgb, colorize(image, ckpt, working_size=128).rgb)  # what the CLI writes
    small = merge(image, pred, max_side=400)
    assert small.rgb.shape == (277, 400, 3) and small.working_shape == full.working_shape
    from colorcore.io import shrink
    assert np.abs(small.rgb.astype(int) - shrink(full.rgb, 400).astype(int)).mean() < 1.5
