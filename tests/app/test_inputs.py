"""colorcore.app.inputs: shipped examples, uploads decoded, image facts and micrograph hints."""
from __future__ import annotations

import numpy as np
import pytest

from colorcore import paths
from colorcore.app import inputs
from colorcore.app.names import content_hash
from colorcore.io import ImageError
from helpers import make_color_image, png_bytes, tiff_bytes


def test_samples_listing_and_reading(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.SAMPLES_ENV, str(tmp_path))
    (tmp_path / "b.png").write_bytes(b"b")
    (tmp_path / "a.TIF").write_bytes(b"a")
    (tmp_path / "README.md").write_text("x")
    (tmp_path / ".hidden.png").write_bytes(b"h")
    (tmp_path / "sub.png").mkdir()
    assert inputs.list_samples() == ["a.TIF", "b.png"]
    assert inputs.read_sample("b.png") == b"b"
    for bad in ("../b.png", "README.md", str(tmp_path / "b.png"), "missing.png"):
        with pytest.raises(ImageError, match="not one of the shipped examples"):
            inputs.read_sample(bad)
    monkeypatch.setenv(paths.SAMPLES_ENV, str(tmp_path / "none"))
    assert inputs.list_samples() == []


class _Upload:
    def __init__(self, name, data):
        self.name, self._data = name, data

    def getvalue(self):
        return self._data


def test_gather_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.SAMPLES_ENV, str(tmp_path))
    (tmp_path / "ex.png").write_bytes(b"ex")
    assert inputs.gather_inputs(None) == []
    assert inputs.gather_inputs([], "ex.png") == [("ex.png", b"ex")]
    assert inputs.gather_inputs(_Upload("u.png", b"u"), "ex.png") == [("u.png", b"u")]
    assert inputs.gather_inputs([_Upload("1", b"1"), _Upload("2", b"2")]) == [("1", b"1"), ("2", b"2")]
    with pytest.raises(ImageError):
        inputs.gather_inputs(None, "../secret.png")


def test_load_image_png_and_tiff16():
    rgb = make_color_image(np.random.default_rng(0), 20, 30)
    loaded = inputs.load_image("../x/photo.png", png_bytes(rgb))
    assert loaded.name == "photo.png" and loaded.is_color
    assert np.array_equal(loaded.truth, rgb) and loaded.digest == content_hash(png_bytes(rgb))
    gray = inputs.load_image("cells.tif", tiff_bytes((np.arange(600).reshape(20, 30) * 100).astype(np.uint16)))
    assert not gray.is_color and gray.truth is None and gray.display.dtype == np.uint8
    facts = {r["fact"]: r["value"] for r in inputs.image_facts(gray.info)}
    assert "uint16" in facts["stored samples"] and "16-bit" in facts["stored samples"]
    assert facts["size"].startswith("30 x 20 px") and facts["channels read"] == "gray"
    assert "16-bit" in facts["normalisation"]


@pytest.mark.parametrize("name, data, match", [
    ("empty.png", b"", "empty.png: file is empty"),
    ("junk.png", b"not an image", "junk.png: not a supported image"),
    ("dir/trunc.tif", b"II*\x00garbage", "trunc.tif"),
])
def test_load_image_errors_name_the_file(name, data, match):
    with pytest.raises(ImageError, match=match):
        inputs.load_image(name, data)


def test_load_image_pixel_limit():
    with pytest.raises(ImageError, match="big.png: .* exceeds the limit"):
        inputs.load_image("big.png", png_bytes(np.zeros((100, 100), np.uint8)), max_pixels=5000)


def _gray_upload(name: str, image: np.ndarray) -> inputs.LoadedImage:
    return inputs.load_image(name, tiff_bytes(image) if name.endswith(".tif") else png_bytes(image))


def test_micrograph_kind_and_domain_hint():
    rng = np.random.default_rng(0)
    dark = rng.normal(2000, 50, (64, 64)).clip(0).astype(np.uint16)
    dark[20:30, 20:40] = 50000  # bright cells on a dark background
    bright = np.full((64, 64), 60000, np.uint16)
    bright[10:50, 10:50] = rng.integers(1000, 60000, (40, 40))
    mid = (np.linspace(0, 1, 64 * 64).reshape(64, 64) * 255).astype(np.uint8)
    assert inputs.micrograph_kind(_gray_upload("f.tif", dark)) == "fluorescence"
    assert inputs.micrograph_kind(_gray_upload("b.tif", bright)) == "brightfield"
    assert inputs.micrograph_kind(_gray_upload("m.tif", mid)) == "micrograph"
    assert inputs.micrograph_kind(_gray_upload("photo.png", mid)) is None  # 8-bit PNG: could be a photo
    assert inputs.micrograph_kind(inputs.load_image("c.png", png_bytes(make_color_image(rng, 20, 30)))) is None
    domains = ["scenes", "histology", "fluorescence"]
    hint = inputs.domain_hint("fluorescence", "scenes", domains)
    assert "**fluorescence**" in hint and "photographs" in hint and "histology" not in hint
    assert "**histology** or **fluorescence**" in inputs.domain_hint("micrograph", "scenes", domains)
    assert inputs.domain_hint("fluorescence", "fluorescence", domains) is None
    assert inputs.domain_hint("brightfield", "scenes", ["scenes", "fluorescence"]) is None
    assert inputs.domain_hint(None, "scenes", domains) is None


def test_suggested_domain_switches_only_clear_cases():
    domains = ["scenes", "histology", "fluorescence"]
    assert inputs.suggested_domain("fluorescence", "scenes", domains) == "fluorescence"
    assert inputs.suggested_domain("brightfield", "scenes", domains) == "histology"
    assert inputs.suggested_domain("micrograph", "scenes", domains) is None  # DIC, EM: a hint only
    assert inputs.suggested_domain(None, "scenes", domains) is None
    assert inputs.suggested_domain("fluorescence", "fluorescence", domains) is None
    assert inputs.suggested_domain("brightfield", "scenes", ["scenes"]) is None
    assert "fluorescence image" in inputs.describe_kind("fluorescence")
