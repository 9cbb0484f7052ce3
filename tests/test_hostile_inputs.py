"""Every hostile or odd file gets the documented error or a correct image, in the library and the CLI."""
import numpy as np
import pytest

from colorcore.cli import main
from colorcore.io import ImageError, read_image
from hostile import CASES, make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("hostile"))


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_library_raises_documented_error_or_returns_a_correct_image(corpus, name):
    path, expect = corpus[name]
    if expect == "error":
        with pytest.raises(ImageError) as info:
            read_image(path)
        assert path.name in str(info.value)
        return
    image, info = read_image(path)
    assert image.dtype == np.float32 and image.ndim in (2, 3)
    assert image.ndim == 2 or image.shape[2] == 3
    assert np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1
    assert (info.height, info.width) == image.shape[:2]


def test_specific_results(corpus):
    img, info = read_image(corpus["exif_rotated.jpg"][0])
    assert img.shape[:2] == (40, 20)
    img, info = read_image(corpus["pages_of_different_sizes.tif"][0], page=1)
    assert img.shape == (50, 10) and info.pages == 2
    img, _ = read_image(corpus["constant_16bit.tif"][0])
    assert np.all(img == img.flat[0])
    img, info = read_image(corpus["three_values_16bit.tif"][0])
    assert len(np.unique(img)) == 3
    img, info = read_image(corpus["animated.gif"][0], page=2)
    assert info.pages == 3 and img.max() > 0.9


def test_cli_exits_0_or_2_with_one_line_per_bad_file(corpus, tiny_checkpoint, tmp_path, capsys):
    paths = [str(p) for p, _ in corpus.values()]
    n_bad = sum(1 for _, e in corpus.values() if e == "error")
    code = main(["colorize", *paths, "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "out"),
                 "--working-size", "64"])
    captured = capsys.readouterr()
    assert code == 2
    errors = captured.err.strip().splitlines()
    assert len(errors) == n_bad and all(line.startswith("colorcore: error: ") for line in errors)
    assert "Traceback" not in captured.err
    written = sorted((tmp_path / "out").glob("*.png"))
    assert len(written) == len(paths) - n_bad
