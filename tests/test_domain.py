"""Out-of-domain check and per-pixel confidence: library, metadata and command line."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from colorcore import colorize, load_checkpoint, read_image
from colorcore.checkpoints import read_metadata, update_metadata
from colorcore.metadata import domain_check, split_files
from colorcore.cli import main
from colorcore.domain import FEATURES, fit, fit_checkpoint, lightness_statistics, score, training_root
from colorcore.infer import merge, predict


@pytest.fixture(scope="module")
def fitted(tiny_checkpoint, tmp_path_factory):
    """A copy of the tiny checkpoint with its domain summary fitted on ``color_folder`` and stored."""
    path = tmp_path_factory.mktemp("fitted") / "tiny-fitted.safetensors"
    shutil.copy(tiny_checkpoint, path)
    update_metadata(path, domain_check=fit_checkpoint(load_checkpoint(path)))
    return path


@pytest.fixture(scope="module")
def unfitted(tiny_checkpoint, tiny_classifier, tmp_path_factory):
    """Copies of the tiny regression and classification checkpoints without the check training fitted."""
    folder = tmp_path_factory.mktemp("unfitted")
    copies = []
    for path in (tiny_checkpoint, tiny_classifier):
        copies.append(shutil.copy(path, folder / path.name))
        update_metadata(copies[-1], domain_check=None)
    return copies


def _noise(seed: int = 0, shape=(48, 64)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _vectors(rng, n: int, shift: float = 0.0) -> dict:
    return {"layer1": rng.normal(shift, 1.0, size=(n, 12)), "layer2": rng.normal(shift, 1.0, size=(n, 20)),
            "lightness": rng.normal(shift, 1.0, size=(n, 2))}


def test_fit_calibrates_the_threshold_on_held_out_validation_folds():
    rng = np.random.default_rng(0)
    check = fit(_vectors(rng, 300), _vectors(rng, 200), axes=5, quantile=0.95)
    assert set(check["summaries"]) == set(FEATURES)
    assert all(s["features"] == FEATURES[name] for name, s in check["summaries"].items())
    assert len(check["summaries"]["layer2"]["axes"]) == 5 and len(check["summaries"]["lightness"]["axes"]) == 1
    assert 0.93 <= check["val_in_domain"] <= 0.97
    assert 0.9 <= np.mean(score(check, _vectors(rng, 500)) <= 1) <= 0.99
    assert (score(check, _vectors(rng, 50, shift=5.0)) > 2).all()
    far_in_lightness_only = {**_vectors(rng, 50), "lightness": rng.normal(5.0, 1.0, size=(50, 2))}
    assert (score(check, far_in_lightness_only) > 1).all()


def test_groups_never_straddle_folds_and_bad_input_is_refused():
    rng = np.random.default_rng(1)
    groups = [f"slide{i // 10}" for i in range(60)]
    check = fit(_vectors(rng, 100), _vectors(rng, 60), groups, folds=4)
    assert 0 < check["val_in_domain"] <= 1
    with pytest.raises(ValueError, match="at least 2 training images"):
        fit(_vectors(rng, 1), _vectors(rng, 10))
    with pytest.raises(ValueError, match="at least 2 groups"):
        fit(_vectors(rng, 10), _vectors(rng, 10), ["one"] * 10)
    with pytest.raises(ValueError, match="must have the vectors"):
        fit({"layer2": np.zeros((5, 3))}, _vectors(rng, 10))


def test_lightness_statistics_tell_a_gradient_from_a_texture():
    y, x = np.mgrid[0:128, 0:128]
    landscape = 80 - 0.4 * y + 3 * np.sin(x / 3)        # bright above, dark below
    texture = 50 + 20 * np.sin(x / 2.0) * np.sin(y / 2.0)  # alike everywhere
    assert lightness_statistics(landscape)[0] > lightness_statistics(texture)[0] + 1
    flat = lightness_statistics(np.full((16, 16), 40.0))
    assert np.isfinite(flat).all() and flat[1] == 0.0


def test_summary_round_trips_in_the_metadata_and_keeps_the_weights(fitted, tiny_checkpoint):
    check = domain_check(read_metadata(fitted))
    assert check is not None and check["working_size"] == read_metadata(fitted)["train_config"]["size"]
    assert {name: summary["features"] for name, summary in check["summaries"].items()} == FEATURES
    assert check["fitted_on"]["train_images"] == len(split_files(read_metadata(fitted), "train"))
    assert json.loads(json.dumps(check)) == check
    assert len(json.dumps(check)) < 100_000
    weights = {k: v for k, v in load_checkpoint(fitted).model.state_dict().items()}
    original = load_checkpoint(tiny_checkpoint).model.state_dict()
    assert all((weights[k] == original[k]).all() for k in original)
    assert domain_check(read_metadata(tiny_checkpoint)) is not None  # fitted when its training ended


def test_training_image_is_in_domain_noise_and_flat_fields_are_not(fitted):
    ckpt = load_checkpoint(fitted)
    root = training_root(ckpt.meta)
    for name in split_files(ckpt.meta, "train")[:5]:
        image, _ = read_image(root / name)
        result = colorize(image, ckpt)
        assert result.in_domain is True and 0 <= result.domain_score <= 1
    for other in (_noise(), np.full((48, 64), 0.5, np.float32), np.zeros((64, 64), np.float32)):
        result = colorize(other, ckpt)
        assert result.in_domain is False and result.domain_score > 1


def test_without_a_summary_the_verdict_is_none(unfitted):
    result = colorize(_noise(), load_checkpoint(unfitted[0]))
    assert result.in_domain is None and result.domain_score is None
    assert colorize(_noise(), load_checkpoint("gray")).in_domain is None


def test_the_score_does_not_depend_on_the_working_size(fitted):
    ckpt = load_checkpoint(fitted)
    image = _noise(1, (300, 420))
    scores = {predict(image, ckpt, working_size=size).domain_score for size in (64, 128, 512)}
    assert len(scores) == 1


def test_confidence_of_a_classifier_has_the_output_shape_and_range(tiny_classifier):
    ckpt = load_checkpoint(tiny_classifier)
    image = _noise(2, (45, 61))
    result = colorize(image, ckpt, working_size=32)
    assert result.confidence.shape == (45, 61) and result.confidence.dtype == np.float32
    assert 0.0 <= result.confidence.min() and result.confidence.max() <= 1.0
    prediction = predict(image, ckpt, working_size=32)
    assert tuple(prediction.confidence.shape) == prediction.working_shape
    assert merge(image, prediction, max_side=20).confidence.shape == (15, 20)


def test_regression_checkpoints_give_no_confidence(tiny_checkpoint):
    assert colorize(_noise(), load_checkpoint(tiny_checkpoint)).confidence is None


def test_training_root_says_what_to_pass_when_the_folder_is_missing(tiny_checkpoint, tmp_path):
    meta = {**read_metadata(tiny_checkpoint), "data": {"root": str(tmp_path / "gone" / "cells")}}
    with pytest.raises(ValueError, match="--data-root DIR, with cells/ in it"):
        training_root(meta)
    (tmp_path / "cells").mkdir()
    assert training_root(meta, tmp_path) == tmp_path / "cells"


def _write_inputs(folder, fitted):
    ckpt = load_checkpoint(fitted)
    train = split_files(ckpt.meta, "train")[0]
    shutil.copy(training_root(ckpt.meta) / train, folder / "in.png")
    Image.fromarray((_noise() * 255).astype(np.uint8)).save(folder / "noise.png")
    (folder / "broken.png").write_text("not a png")


def test_report_lists_every_input_and_bad_files_get_one_error_line(fitted, tmp_path, capsys):
    _write_inputs(tmp_path, fitted)
    report = tmp_path / "report.json"
    code = main(["colorize", str(tmp_path / "in.png"), str(tmp_path / "noise.png"), str(tmp_path / "broken.png"),
                 "--checkpoint", str(fitted), "--out", str(tmp_path / "out"), "--report", str(report)])
    captured = capsys.readouterr()
    assert code == 2
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and "broken.png" in errors[0]
    assert "OUTSIDE" in captured.out and "noise.png" in captured.out
    entries = {e["file"].rsplit("/", 1)[-1]: e for e in json.loads(report.read_text())}
    keys = {"file", "checkpoint", "in_domain", "domain_score", "mean_confidence"}
    assert set(entries["in.png"]) == keys and set(entries["noise.png"]) == keys
    assert entries["in.png"]["in_domain"] is True and entries["noise.png"]["in_domain"] is False
    assert entries["in.png"]["mean_confidence"] is None and entries["in.png"]["checkpoint"] == "tiny-fitted"
    assert "not a supported image" in entries["broken.png"]["error"]


def test_confidence_map_is_written_for_classifiers_and_refused_for_regression(unfitted, fitted, tmp_path,
                                                                            capsys):
    _write_inputs(tmp_path, fitted)
    out, report = tmp_path / "out", tmp_path / "report.json"
    assert main(["colorize", str(tmp_path / "noise.png"), "--checkpoint", str(unfitted[1]), "--out", str(out),
                 "--confidence", "--report", str(report)]) == 0
    conf = np.asarray(Image.open(out / "noise.confidence.png"))
    assert conf.shape == (48, 64) and conf.dtype == np.uint8
    entry = json.loads(report.read_text())[0]
    assert entry["in_domain"] is None and 0 <= entry["mean_confidence"] <= 1
    capsys.readouterr()
    assert main(["colorize", str(tmp_path / "noise.png"), "--checkpoint", str(fitted), "--out", str(out),
                 "--confidence", "--overwrite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "regression checkpoint" in err[0]


def test_fit_domain_command_stores_the_summary(tiny_checkpoint, color_folder, tmp_path, capsys):
    path = tmp_path / "copy.safetensors"
    shutil.copy(tiny_checkpoint, path)
    assert main(["checkpoints", "--fit-domain", str(path), "--data-root", str(color_folder.parent), "--json"]) == 0
    assert "domain check fitted on" in capsys.readouterr().err
    assert domain_check(read_metadata(path))["fitted_on"]["root"] == str(color_folder)
    assert main(["checkpoints", "--fit-domain", str(path), "--data-root", str(tmp_path / "gone")]) == 2
    assert "--data-root DIR" in capsys.readouterr().err
    assert main(["checkpoints", "--data-root", str(color_folder)]) == 2


def test_every_shipped_checkpoint_carries_a_check_of_the_current_features():
    from colorcore.domain import FEATURES
    from colorcore.paths import REPO_ROOT

    paths = sorted((REPO_ROOT / "checkpoints").glob("*.safetensors"))
    if not paths:
        pytest.skip("no shipped checkpoints in this checkout")
    for path in paths:
        check = domain_check(read_metadata(path))
        assert check is not None, f"{path.name}: run scripts/fit_domain_checks.sh"
        assert {name: s["features"] for name, s in check["summaries"].items()} == FEATURES, path.name
        assert len(json.dumps(check)) < 100_000 and check["val_in_domain"] >= 0.95
