"""colorcore blend: a classifier and a regressor joined, weight and temperature chosen on validation."""
import pytest
import torch

from colorcore.blend import TEMPERATURES, WEIGHTS, check_pair, choose
from colorcore.checkpoints import load_checkpoint, read_metadata
from colorcore.cli import main
from colorcore.metadata import default_temperature


def _row(t, w, rmse, colour):
    return {"temperature": t, "weight": w, "ab_rmse": rmse, "colorfulness": colour, "colorfulness_gt": 40.0}


def test_choose_takes_the_most_faithful_blend_that_keeps_enough_colour():
    rows = [_row(0.3, 0.5, 15.0, 20.0), _row(0.3, 0.8, 17.0, 33.0), _row(0.3, 1.0, 19.0, 38.0)]
    assert choose(rows)["weight"] == 0.8                      # 15.0 is more faithful but too gray (0.5 x)
    assert choose(rows, min_colourfulness=0.9)["weight"] == 1.0
    assert choose(rows, min_colourfulness=1.5)["weight"] == 1.0  # none colourful enough: the most colourful
    with pytest.raises(ValueError, match="no validation image"):
        choose([])


def test_blend_command_writes_the_chosen_blend_with_both_parents(tiny_classifier, tiny_checkpoint, color_folder,
                                                                 tmp_path, capsys):
    out = tmp_path / "tiny-blend.safetensors"
    assert main(["blend", "--vivid", str(tiny_classifier), "--faithful", str(tiny_checkpoint),
                 "--data", str(color_folder), "--out", str(out), "--description", "tiny blend"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: weight ")
    meta = read_metadata(out)
    blend, vivid = meta["blend"], read_metadata(tiny_classifier)
    assert len(blend["sweep"]) == len(TEMPERATURES) * len(WEIGHTS) and blend["chosen_on"] == "val"
    assert blend["chosen"] == choose(blend["sweep"]) and len(blend["vivid"]["sha256"]) == 64
    assert meta["model"]["args"]["weight"] == blend["chosen"]["weight"]
    assert default_temperature(meta) == blend["chosen"]["temperature"]
    assert meta["data"] == vivid["data"] and meta["domain"] == "scenes" and meta["history"] == []
    ckpt, parts = load_checkpoint(out), (load_checkpoint(tiny_classifier), load_checkpoint(tiny_checkpoint))
    x = torch.randn(1, 1, 32, 40)
    w, t = blend["chosen"]["weight"], blend["chosen"]["temperature"]
    torch.testing.assert_close(ckpt.model(x), w * parts[0].model(x, temperature=t) + (1 - w) * parts[1].model(x))
    assert main(["blend", "--vivid", str(tiny_classifier), "--faithful", str(tiny_checkpoint),
                 "--data", str(color_folder), "--out", str(out)]) == 2  # never overwrites
    assert "exists; choose another --out" in capsys.readouterr().err


def test_pairs_that_cannot_be_blended_are_one_clear_error(tiny_classifier, tiny_checkpoint, color_folder, tmp_path,
                                                          capsys):
    vivid, faithful = load_checkpoint(tiny_classifier), load_checkpoint(tiny_checkpoint)
    with pytest.raises(ValueError, match="not a classification checkpoint"):
        check_pair(faithful, faithful)
    with pytest.raises(ValueError, match="not a trained regression checkpoint"):
        check_pair(vivid, load_checkpoint("gray"))
    other = dict(faithful.meta, data={**faithful.meta["data"], "split_sha256": {"test": "x", "val": "y"}})
    with pytest.raises(ValueError, match="same test and validation split"):
        check_pair(vivid, type(faithful)(faithful.name, faithful.model, other))
    assert main(["blend", "--vivid", str(tiny_checkpoint), "--faithful", str(tiny_checkpoint),
                 "--data", str(color_folder), "--out", str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a classification checkpoint" in err[0]
