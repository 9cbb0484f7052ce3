"""The Lab module against scikit-image, round trips and the recipes' encodings."""
import numpy as np
import pytest
import torch
from skimage import color

from colorcore import lab


def _chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)


def _edge_rgb() -> np.ndarray:
    corners = np.array([[r, g, b] for r in (0, 1) for g in (0, 1) for b in (0, 1)], dtype=np.float32)
    ramp = np.linspace(0, 1, 17, dtype=np.float32)
    grays = np.stack([ramp] * 3, -1)
    near_black = np.array([[0.001, 0.002, 0.0], [0.04045, 0.04045, 0.04045], [0.0031, 0.0, 0.0]], np.float32)
    return np.concatenate([corners, grays, near_black])[None]


@pytest.mark.parametrize("kind", ["random", "edges"])
def test_rgb_to_lab_matches_skimage(kind):
    rgb = np.random.default_rng(1).random((32, 32, 3)).astype(np.float32) if kind == "random" else _edge_rgb()
    ours = lab.rgb_to_lab(_chw(rgb)).permute(1, 2, 0).numpy()
    ref = color.rgb2lab(rgb)
    delta_e = np.sqrt(((ours - ref) ** 2).sum(-1))
    assert delta_e.max() < 0.5
    assert delta_e.mean() < 0.01


def test_lab_to_rgb_matches_skimage_including_out_of_gamut():
    rng = np.random.default_rng(2)
    lab_arr = np.stack([rng.uniform(0, 100, (48, 48)), rng.uniform(-128, 127, (48, 48)),
                        rng.uniform(-128, 127, (48, 48))], -1)
    with pytest.warns(UserWarning):  # skimage warns about negative Z values it clips
        ref = color.lab2rgb(lab_arr)
    ours = lab.lab_to_rgb(_chw(lab_arr)).permute(1, 2, 0).numpy()
    delta_e = np.sqrt(((color.rgb2lab(ours) - color.rgb2lab(ref)) ** 2).sum(-1))
    assert delta_e.max() < 0.5


def test_round_trip_batched_and_gray_is_zero_ab():
    rgb = torch.rand(4, 3, 16, 20)
    back = lab.lab_to_rgb(lab.rgb_to_lab(rgb))
    assert back.shape == rgb.shape
    assert (back - rgb).abs().max() < 1e-3
    gray = torch.rand(1, 1, 8, 8).expand(1, 3, 8, 8)
    assert lab.rgb_to_lab(gray)[:, 1:].abs().max() < 0.01  # matrix rows vs D65 white: as skimage


def test_gray_to_lightness_equals_rgb_path():
    g = torch.rand(1, 1, 10, 10)
    direct = lab.gray_to_lightness(g)
    via_rgb = lab.rgb_to_lab(g.expand(1, 3, 10, 10))[:, :1]
    assert torch.allclose(direct, via_rgb, atol=1e-4)


def test_encodings_gray_is_zero_in_corrected_and_half_in_study():
    zero = torch.zeros(1, 2, 4, 4)
    assert lab.encode_ab(zero).abs().max() == 0
    assert torch.allclose(lab.encode_ab(zero, "study"), torch.full_like(zero, 128 / 255))
    ab = torch.randn(1, 2, 4, 4) * 40
    for recipe in lab.RECIPES:
        assert torch.allclose(lab.decode_ab(lab.encode_ab(ab, recipe), recipe), ab, atol=1e-3)


def test_corrected_input_is_lightness_study_input_is_luminance():
    rgb = torch.rand(2, 3, 8, 8)
    net_in, lightness = lab.encode_input(rgb)
    assert torch.allclose(net_in, (lab.rgb_to_lab(rgb)[:, :1] - 50) / 50, atol=1e-5)
    assert net_in.min() >= -1 and net_in.max() <= 1
    gray_in, study_l = lab.encode_input(rgb, "study")
    ref = color.rgb2gray(rgb[0].permute(1, 2, 0).numpy())
    assert np.allclose(gray_in[0, 0].numpy(), ref, atol=1e-5)
    assert torch.allclose(study_l, gray_in * 100)


def test_bad_shapes_and_recipes_raise_clear_errors():
    with pytest.raises(ValueError, match=r"\(\*, 3, H, W\)"):
        lab.rgb_to_lab(torch.rand(4, 4))
    with pytest.raises(TypeError):
        lab.rgb_to_lab(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="unknown recipe"):
        lab.encode_ab(torch.zeros(1, 2, 2, 2), "bogus")


def test_out_of_gamut_fraction_counts_clipped_pixels():
    inside = lab.rgb_to_lab(torch.rand(3, 8, 8))
    assert lab.out_of_gamut_fraction(inside) == 0.0
    outside = torch.tensor([50.0, 120.0, -120.0]).view(3, 1, 1).expand(3, 4, 4)
    assert lab.out_of_gamut_fraction(outside) == 1.0
