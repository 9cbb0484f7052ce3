"""Command line: exit codes, one-line errors, never overwriting inputs."""
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from colorcore.cli import main


def test_colorize_good_and_bad_files(tiny_checkpoint, tmp_path, capsys):
    tifffile.imwrite(tmp_path / "cells.tif", (np.random.default_rng(0).random((45, 61)) * 4000).astype(np.uint16))
    (tmp_path / "broken.png").write_text("not a png")
    out = tmp_path / "out"
    code = main(["colorize", str(tmp_path / "cells.tif"), str(tmp_path / "broken.png"),
                 "--checkpoint", str(tiny_checkpoint), "--out", str(out), "--tiff16"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "broken.png" in err[0] and "not a supported image" in err[0]
    assert Image.open(out / "cells.png").size == (61, 45)
    assert tifffile.imread(out / "cells.tif").shape == (45, 61, 3)
    assert main(["colorize", str(tmp_path / "cells.tif"), "--checkpoint", str(tiny_checkpoint),
                 "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_colorize_never_overwrites_its_input(tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "x.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(src)
    before = src.read_bytes()
    code = main(["colorize", str(src), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path),
                 "--overwrite"])
    assert code == 2 and "overwrite an input" in capsys.readouterr().err
    assert src.read_bytes() == before


def test_usage_errors_are_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["colorize", "a.png"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--checkpoint" in err[0]
    assert main(["colorize", "a.png", "--checkpoint", "nope", "--out", "o"]) == 2
    assert "no checkpoint named 'nope'" in capsys.readouterr().err


def test_evaluate_table_json_and_store(tiny_checkpoint, color_folder, tmp_path, capsys):
    js = tmp_path / "m.json"
    code = main(["evaluate", "--data", str(color_folder), "--split", "test", "--checkpoint", str(tiny_checkpoint),
                 "--checkpoint", "gray", "--json", str(js)])
    assert code == 0
    table = capsys.readouterr().out
    assert "gray" in table and "ab_rmse" in table
    results = json.loads(js.read_text())
    assert set(results["gray"]) == {"n_images", "psnr", "ssim", "ab_rmse", "auc", "colorfulness",
                                    "colorfulness_gt", "cast_a", "cast_b", "green_recall", "hue_accuracy"}
    assert results["gray"]["n_images"] == 4 and results["gray"]["colorfulness"] < 1


def test_train_and_checkpoints_listing(color_folder, tmp_path, monkeypatch, capsys):
    out = tmp_path / "cat" / "mini.safetensors"
    code = main(["train", "--data", str(color_folder), "--out", str(out), "--epochs", "1", "--size", "32",
                 "--batch", "8", "--val-images", "4", "--test-images", "4", "--description", "mini run"])
    assert code == 0 and out.is_file()
    assert "epoch 1/1" in capsys.readouterr().out
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(out.parent))
    assert main(["checkpoints"]) == 0
    listing = capsys.readouterr().out
    assert "mini" in listing and "mini run" in listing
    assert main(["train", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "z.safetensors")]) == 2
    assert "not a directory" in capsys.readouterr().err
