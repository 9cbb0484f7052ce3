"""Every hostile or odd file gets the documented error or a correct image, in the library and the CLI."""
import numpy as np
import pytest
from PIL import Image

from colorcore.cli import main
from colorcore.io import ImageError, read_image
from hostile import CASES, make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("hostile"))


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


def _check_library(path, expect) -> str:
    """The documented error naming the file, or a correct image: what ``read_image`` gave ("error" or "ok")."""
    if expect == "error":
        with pytest.raises(ImageError) as info:
            read_image(path)
        assert path.name in str(info.value)
        return "error"
    image, info = read_image(path)
    assert image.dtype == np.float32 and image.ndim in (2, 3)
    assert image.ndim == 2 or image.shape[2] == 3
    assert np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1
    assert (info.height, info.width) == image.shape[:2]
    return "ok"


@pytest.mark.parametrize("name", sorted(CASES))
def test_library_raises_documented_error_or_returns_a_correct_image(corpus, name):
    _check_library(*corpus[name])


def test_library_handles_the_whole_corpus(corpus, capsys):
    outcomes, problems = [], {}
    for name, (path, expect) in corpus.items():
        try:
            outcomes.append(_check_library(path, expect))
        except Exception as err:  # noqa: BLE001 - counted, then reported below
            problems[name] = f"{type(err).__name__}: {err}"
    refused, read = outcomes.count("error"), outcomes.count("ok")
    with capsys.disabled():
        print(f"\nlibrary hostile corpus: {len(corpus)} tried, {len(outcomes)} handled "
              f"({refused} refused with ImageError, {read} read)")
    assert not problems, problems
    assert len(outcomes) == len(corpus) == len(CASES)


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
    # per file: a bad one has its one error line and no output, a good one its PNG at the input's size
    refused, answered, problems = 0, 0, {}
    for name, (path, expect) in corpus.items():
        stem = path.stem[:-4] if path.stem.lower().endswith(".ome") else path.stem
        out = tmp_path / "out" / f"{stem}.png"
        lines = [line for line in errors if f"{path.name}: " in line]
        if expect == "error":
            if len(lines) == 1 and not out.exists():
                refused += 1
            else:
                problems[name] = f"error lines {lines}, output written: {out.exists()}"
            continue
        _, info = read_image(path)
        if lines or not out.exists():
            problems[name] = f"error lines {lines}, output written: {out.exists()}"
            continue
        with Image.open(out) as png:
            if (png.height, png.width) == (info.height, info.width):
                answered += 1
            else:
                problems[name] = f"PNG is {png.height} x {png.width}, the input {info.height} x {info.width}"
    with capsys.disabled():
        print(f"\nCLI hostile corpus: {len(corpus)} tried, {refused + answered} handled "
              f"({refused} refused with an error line, {answered} written)")
    assert not problems, problems
    assert refused + answered == len(corpus)
