"""Classification model (Zhang et al. 2016): bins, soft encoding, rebalancing, annealed mean, training."""
import numpy as np
import pytest
import torch

from colorcore.checkpoints import load_checkpoint, read_metadata
from colorcore.cli import main
from colorcore.infer import colorize
from colorcore.lab import AB_SCALE
from colorcore.losses import rebalanced_cross_entropy
from colorcore.metrics import chroma_hue, lab_of
from colorcore.models import create_model, get_spec
from colorcore.models.study import StudyClassNet
from colorcore.quantize import annealed_mean, fit_bins, grid_counts, soft_encode
from colorcore.train import TrainConfig
from colorcore.units import check_temperature


def _uint8_images(*colors):
    """One 4 x 4 uint8 image (1, 3, 4, 4) per RGB colour."""
    return torch.tensor(colors, dtype=torch.uint8)[:, :, None, None].expand(-1, -1, 4, 4).contiguous()


def test_grid_counts_put_gray_in_the_centre_cell_and_count_every_pixel():
    counts = grid_counts(_uint8_images((128, 128, 128), (255, 0, 0)))
    assert counts.shape == (23, 23) and counts.sum() == 32
    assert counts[11, 11] == 16  # a* = b* = 0
    lab = lab_of(np.array([[[255, 0, 0]]], dtype=np.uint8))[0, 0]
    assert counts[int(round((lab[1] + 110) / 10)), int(round((lab[2] + 110) / 10))] == 16
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        grid_counts(torch.zeros(3, 4, 4, dtype=torch.uint8))


def test_fit_bins_keeps_seen_bins_and_weights_rare_colours_up():
    counts = np.zeros((23, 23))
    counts[11, 11] = 900  # common gray
    counts[3, 20] = 100   # rare colour
    bins = fit_bins(counts)
    assert len(bins.centers) == 2
    assert set(map(tuple, bins.centers.tolist())) == {(0.0, 0.0), (-80.0, 90.0)}
    assert bins.prior.sum() == pytest.approx(1.0)
    assert np.sum(bins.prior * bins.weights) == pytest.approx(1.0)
    rare = int(np.argmin(bins.prior))
    assert bins.weights[rare] > bins.weights[1 - rare]
    assert np.allclose(fit_bins(counts, lam=1.0).weights, 1.0)
    with pytest.raises(ValueError, match="all zero"):
        fit_bins(np.zeros((23, 23)))
    with pytest.raises(ValueError, match="lambda"):
        fit_bins(counts, lam=1.5)


def test_soft_encoding_spreads_over_the_nearest_centres():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [50.0, 50.0]])
    ab = torch.tensor([[0.0, 0.0], [9.0, 1.0]]).T.reshape(1, 2, 1, 2)
    index, weight = soft_encode(ab, centers, k=3)
    assert index.shape == weight.shape == (1, 3, 1, 2)
    assert index[0, 0, 0].tolist() == [0, 1]  # nearest first
    assert torch.allclose(weight.sum(dim=1), torch.ones(1, 1, 2))
    assert weight[0, 0, 0, 0] > weight[0, 1, 0, 0] > 0


def test_annealed_mean_goes_from_mean_to_mode():
    centers = torch.tensor([[-50.0, 0.0], [50.0, 0.0]])
    logits = torch.log(torch.tensor([0.3, 0.7]))[None, :, None, None]
    assert annealed_mean(logits, centers, 1.0)[0, :, 0, 0].tolist() == pytest.approx([20.0, 0.0], abs=1e-4)
    assert annealed_mean(logits, centers, 0.01)[0, 0, 0, 0] == pytest.approx(50.0, abs=1e-3)
    mid = annealed_mean(logits, centers, 0.38)[0, 0, 0, 0]
    assert 20.0 < mid < 50.0
    for bad in (0.0, -1.0, 2.0):
        with pytest.raises(ValueError, match="temperature must be between"):
            check_temperature(bad)


def test_cross_entropy_prefers_the_right_class_and_weights_rare_pixels():
    centers = torch.tensor([[0.0, 0.0], [60.0, 0.0]])
    target = torch.full((1, 2, 2, 2), 0.0)
    target[:, 0] = 60.0 / AB_SCALE  # every pixel is the second colour
    right = torch.tensor([-5.0, 5.0])[None, :, None, None].expand(1, 2, 2, 2)
    wrong = -right
    even = torch.ones(2)
    assert rebalanced_cross_entropy(right, target, centers, even) < rebalanced_cross_entropy(wrong, target, centers, even)
    heavy = torch.tensor([1.0, 3.0])
    assert rebalanced_cross_entropy(wrong, target, centers, heavy) == pytest.approx(
        3 * float(rebalanced_cross_entropy(wrong, target, centers, even)))


def test_classifier_forward_gives_full_size_ab_and_half_size_logits():
    model = create_model("study_resnet18_classes", n_bins=5).eval()
    x = torch.randn(2, 1, 48, 32)
    assert model(x, raw=True).shape == (2, 5, 24, 16)
    assert model(x).shape == (2, 2, 48, 32)
    assert model.takes_temperature and get_spec("study_resnet18_classes").takes_temperature
    assert not create_model("study_resnet18").takes_temperature
    with pytest.raises(ValueError, match="n_bins"):
        StudyClassNet(n_bins=1)
    with pytest.raises(ValueError, match="multiples of 8"):
        model(torch.randn(1, 1, 30, 32))


def test_classification_config_pairs_model_and_loss():
    with pytest.raises(ValueError, match="'ce' loss goes with a classification model"):
        TrainConfig(data="x", out="y", model="study_resnet18_classes", loss="huber").validate()
    with pytest.raises(ValueError, match="'ce' loss goes with a classification model"):
        TrainConfig(data="x", out="y", loss="ce").validate()
    with pytest.raises(ValueError, match="corrected recipe"):
        TrainConfig(data="x", out="y", model="study_resnet18_classes", loss="ce", recipe="study").validate()
    with pytest.raises(ValueError, match="rebalance"):
        TrainConfig(data="x", out="y", model="study_resnet18_classes", loss="ce", rebalance=2).validate()


def test_trained_classifier_checkpoint_carries_its_classes(tiny_classifier):
    meta = read_metadata(tiny_classifier)
    hist = meta["history"]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    n_bins = meta["model"]["args"]["n_bins"]
    assert meta["classes"]["n_bins"] == n_bins and meta["classes"]["lambda"] == 0.5
    ckpt = load_checkpoint(tiny_classifier)
    assert ckpt.model.centers.shape == (n_bins, 2) and ckpt.model.centers.abs().sum() > 0
    assert float(ckpt.model.class_weights.max()) == pytest.approx(meta["classes"]["max_weight"], rel=1e-5)


def _mean_chroma(rgb):
    return float(chroma_hue(lab_of(rgb))[0].mean())


def test_lower_temperature_gives_more_vivid_colours(tiny_classifier, tiny_checkpoint):
    ckpt = load_checkpoint(tiny_classifier)
    gray = np.linspace(0, 1, 40 * 56, dtype=np.float32).reshape(40, 56)
    vivid = colorize(gray, ckpt, temperature=0.05).rgb
    mean = colorize(gray, ckpt, temperature=1.0).rgb
    assert vivid.shape == (40, 56, 3)
    assert _mean_chroma(vivid) > _mean_chroma(mean)
    assert np.array_equal(colorize(gray, ckpt).rgb, colorize(gray, ckpt, temperature=0.38).rgb)
    with pytest.raises(ValueError, match="regression checkpoint"):
        colorize(gray, load_checkpoint(tiny_checkpoint), temperature=0.38)


def test_cli_temperature_errors_are_one_line(tiny_classifier, tiny_checkpoint, tmp_path, capsys):
    image = tmp_path / "g.png"
    from PIL import Image
    Image.fromarray(np.full((16, 24), 128, np.uint8)).save(image)
    assert main(["colorize", str(image), "--checkpoint", str(tiny_classifier), "--temperature", "0.2",
                 "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "g.png").is_file()
    assert main(["colorize", str(image), "--checkpoint", str(tiny_classifier), "--temperature", "3",
                 "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "temperature must be between" in err[0]
    assert main(["colorize", str(image), "--checkpoint", str(tiny_checkpoint), "--temperature", "0.2",
                 "--out", str(tmp_path / "o3")]) == 2
    assert "regression checkpoint" in capsys.readouterr().err
