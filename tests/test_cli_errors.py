"""Command line: operating-system errors and out-of-range numbers are one line and exit 2, never a traceback."""
import errno
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from PIL import Image

from colorcore.cli import main


@pytest.fixture()
def image(tmp_path):
    path = tmp_path / "cells.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 32), dtype=np.uint8)).save(path)
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_output_folder_under_a_file(tiny_checkpoint, image, tmp_path, capsys):
    code = main(["colorize", str(image), "--checkpoint", str(tiny_checkpoint), "--out", f"{image}/o"])
    assert code == 2
    line = _one_error_line(capsys)
    assert f"{image}/o: Not a directory" in line and "check the path" in line


def test_output_folder_without_write_permission(tiny_checkpoint, image, tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: the refusal is the operating system's, raised as it would be
        def refuse(*args, dir=None, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", dir)
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    else:
        locked.chmod(0o500)
    code = main(["colorize", str(image), "--checkpoint", str(tiny_checkpoint), "--out", str(locked)])
    assert code == 2
    line = _one_error_line(capsys)
    assert "cells.png" in line and "Permission denied" in line
    assert not list(locked.iterdir())


def test_a_full_disk_leaves_no_partial_file(tiny_checkpoint, image, tmp_path, capsys, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "out"
    assert main(["colorize", str(image), "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 2
    assert "No space left on device" in _one_error_line(capsys)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--data", ".", "--checkpoint", "gray", "--limit", "-3"], "--limit: must be at least 1, got -3"),
    (["evaluate", "--data", ".", "--checkpoint", "gray", "--working-size", "0"],
     "--working-size: must be at least 8, got 0"),
    (["colorize", "a.png", "--checkpoint", "gray", "--out", "o", "--working-size", "4"],
     "--working-size: must be at least 8, got 4"),
    (["colorize", "a.png", "--checkpoint", "gray", "--out", "o", "--t", "-1"], "--t: must be at least 0"),
    (["colorize", "a.png", "--checkpoint", "gray", "--out", "o", "--page", "x"], "--page: expected an integer"),
    (["colorize", "a.png", "--checkpoint", "gray", "--out", "o", "--max-pixels", "0"], "--max-pixels: must be"),
    (["analyze", "--data", ".", "--max-images", "0"], "--max-images: must be at least 1"),
])
def test_numbers_out_of_range_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in _one_error_line(capsys)


def test_the_console_command_prints_no_traceback(image, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "colorcore", "colorize", str(image), "--checkpoint", "places12-mse",
                           "--out", f"{image}/o"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
