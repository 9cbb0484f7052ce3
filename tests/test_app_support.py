"""Unit tests of colorcore.app_support (the explorer's computation, no Streamlit)."""
from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
import tifffile
from PIL import Image

from colorcore import app_support as sup
from colorcore.checkpoints import load_checkpoint
from colorcore.io import ImageError
from colorcore.metrics import MetricAccumulator
from conftest import STUDY_NAMES, make_color_image


def png(arr) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("raw, expected", [
    ("photo.png", "photo.png"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\cells.tif", "cells.tif"),
    ("a/b/..png", "png"),
    ("..", "image"),
    ("", "image"),
    ("na\x00me?.png", "na_me_.png"),
    ("café.jpg", "cafe.jpg"),
    ("x" * 300 + ".tiff", "x" * 115 + ".tiff"),
])
def test_sanitize_filename(raw, expected):
    out = sup.sanitize_filename(raw)
    assert out == expected
    assert "/" not in out and "\\" not in out and ".." not in out and out


def test_result_and_unique_names():
    assert sup.result_filename("../dir/cells.tif", "places500-huber") == "cells_places500-huber.png"
    assert sup.result_filename("noext", "gray") == "noext_gray.png"
    assert sup.unique_names(["a.png", "A.png", "x/a.png", "b"]) == ["a.png", "A-2.png", "a-3.png", "b"]


def test_build_zip_sanitizes_and_keeps_all():
    items = [("../../evil.png", b"1"), ("ok.png", b"2"), ("dir/ok.png", b"3"), ("..", b"4")]
    data = sup.build_zip(items)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert names == ["evil.png", "ok.png", "ok-2.png", "image"]
        assert [zf.read(n) for n in names] == [b"1", b"2", b"3", b"4"]
        assert zf.testzip() is None


def test_content_hash():
    assert sup.content_hash(b"abc") == sup.content_hash(b"abc") != sup.content_hash(b"abd")


def _meta(name, domain="scenes", train=12, loss="mse", psnr=None, rmse=None, **extra):
    meta = {"name": name, "model": {"name": "m"}, "recipe": "corrected", "domain": domain,
            "train_config": {"loss": loss}, "data": {"root": "data/places", "split": {"train": train}},
            "history": [{"epoch": 1}], "metrics": {}}
    if psnr is not None:
        meta["metrics"]["test"] = {"psnr": psnr, "ab_rmse": rmse, "data": "data/places"}
    meta.update(extra)
    return meta


def test_group_by_domain_and_labels():
    metas = {"h1": _meta("h1", "histology"), "z": _meta("z", ""), "s2": _meta("s2"), "s1": _meta("s1"),
             "f": _meta("f", "fluorescence"), "q": _meta("q", "quasar")}
    assert sup.group_by_domain(metas) == {"scenes": ["s1", "s2"], "histology": ["h1"], "fluorescence": ["f"],
                                          "other": ["z"], "quasar": ["q"]}
    label = sup.checkpoint_label(_meta("p", train=500, loss="huber", psnr=23.14, rmse=12.35))
    assert label == "p · scenes, 500 train images, huber loss · test PSNR 23.1 dB, ab RMSE 12.3"
    assert "not evaluated yet" in sup.checkpoint_label(_meta("p"))
    assert "in training (3 epochs)" in sup.checkpoint_label(_meta("p", complete=False, epochs_done=3))
    assert sup.checkpoint_label(load_checkpoint("gray").meta).startswith("gray · baseline")
    rows = sup.catalog_rows({"p": _meta("p", psnr=20.0, rmse=10.0)})
    assert rows[0]["test PSNR (dB)"] == 20.0 and rows[0]["train images"] == 12 and rows[0]["loss"] == "mse"


def test_preferred_and_default_compare():
    metas = {"a": _meta("a", train=12), "b": _meta("b", train=500), "c": _meta("c", psnr=20, rmse=15.0),
             "d": _meta("d", psnr=21, rmse=11.0)}
    assert sup.preferred_checkpoint(metas) == "d"
    assert sup.preferred_checkpoint({k: metas[k] for k in "ab"}) == "b"
    assert sup.preferred_checkpoint({}) is None
    assert sup.preferred_checkpoint({**metas, "e": _meta("e", psnr=20, rmse=12.0, recommended=True)}) == "e"
    assert sup.default_compare(["x", *STUDY_NAMES, "y"]) == list(STUDY_NAMES)
    assert sup.default_compare(list("abcdef")) == list("abcd")


def test_samples_listing_and_reading(tmp_path, monkeypatch):
    monkeypatch.setenv(sup.SAMPLES_ENV, str(tmp_path))
    (tmp_path / "b.png").write_bytes(b"b")
    (tmp_path / "a.TIF").write_bytes(b"a")
    (tmp_path / "README.md").write_text("x")
    (tmp_path / ".hidden.png").write_bytes(b"h")
    (tmp_path / "sub.png").mkdir()
    assert sup.list_samples() == ["a.TIF", "b.png"]
    assert sup.read_sample("b.png") == b"b"
    for bad in ("../b.png", "README.md", str(tmp_path / "b.png"), "missing.png"):
        with pytest.raises(ImageError, match="not one of the shipped examples"):
            sup.read_sample(bad)
    monkeypatch.setenv(sup.SAMPLES_ENV, str(tmp_path / "none"))
    assert sup.list_samples() == []


class _Upload:
    def __init__(self, name, data):
        self.name, self._data = name, data

    def getvalue(self):
        return self._data


def test_gather_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv(sup.SAMPLES_ENV, str(tmp_path))
    (tmp_path / "ex.png").write_bytes(b"ex")
    assert sup.gather_inputs(None) == []
    assert sup.gather_inputs([], "ex.png") == [("ex.png", b"ex")]
    assert sup.gather_inputs(_Upload("u.png", b"u"), "ex.png") == [("u.png", b"u")]
    assert sup.gather_inputs([_Upload("1", b"1"), _Upload("2", b"2")]) == [("1", b"1"), ("2", b"2")]
    with pytest.raises(ImageError):
        sup.gather_inputs(None, "../secret.png")


def test_load_image_png_and_tiff16():
    rgb = make_color_image(np.random.default_rng(0), 20, 30)
    loaded = sup.load_image("../x/photo.png", png(rgb))
    assert loaded.name == "photo.png" and loaded.is_color
    assert np.array_equal(loaded.truth, rgb) and loaded.digest == sup.content_hash(png(rgb))
    buf = io.BytesIO()
    tifffile.imwrite(buf, (np.arange(600).reshape(20, 30) * 100).astype(np.uint16))
    gray = sup.load_image("cells.tif", buf.getvalue())
    assert not gray.is_color and gray.truth is None and gray.display.dtype == np.uint8
    facts = {r["fact"]: r["value"] for r in sup.image_facts(gray.info)}
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
        sup.load_image(name, data)


def test_load_image_pixel_limit():
    with pytest.raises(ImageError, match="big.png: .* exceeds the limit"):
        sup.load_image("big.png", png(np.zeros((100, 100), np.uint8)), max_pixels=5000)


def test_preview_and_slider_html():
    img = np.zeros((300, 900, 3), np.uint8)
    small = sup.preview(img, 300)
    assert small.shape == (100, 300, 3)
    assert sup.preview(img, 2000) is img
    html = sup.slider_html(np.zeros((30, 60), np.uint8), np.full((30, 60, 3), 200, np.uint8),
                                   after_label="<b>model</b>")
    assert html.count("data:image/png;base64,") == 2
    assert 'type="range"' in html and "clip-path" in html
    assert "http" not in html and "<script src" not in html  # nothing loaded from outside
    assert "&lt;b&gt;model&lt;/b&gt;" in html
    with pytest.raises(ValueError, match="differ in size"):
        sup.slider_html(np.zeros((3, 3), np.uint8), np.zeros((4, 3, 3), np.uint8))


def test_run_colorize_gray_baseline_and_compare_metrics():
    rgb = make_color_image(np.random.default_rng(3), 24, 32)
    image = rgb.astype(np.float32) / 255.0
    res = sup.run_colorize(image, load_checkpoint("gray"), 64)
    assert res.rgb.shape == rgb.shape and res.rgb.dtype == np.uint8
    assert Image.open(io.BytesIO(res.png)).size == (32, 24)
    rows = sup.compare_metrics({"gray": res.rgb, "perfect": rgb}, rgb)
    assert [r["checkpoint"] for r in rows] == ["gray", "perfect"]
    assert set(rows[0]) == {"checkpoint", *sup.COMPARE_COLUMNS}
    acc = MetricAccumulator()
    acc.add(res.rgb, rgb)
    expected = acc.result()
    for key in sup.COMPARE_COLUMNS:
        assert rows[0][key] == pytest.approx(expected[key])
    assert rows[1]["psnr"] > 100 and rows[1]["ab_rmse"] == 0 and rows[1]["cast_a"] == 0


def test_color_and_hist_summaries():
    gray = np.full((8, 8, 3), 128, np.uint8)
    s = sup.color_summary(gray)
    assert s["mean_chroma"] < 0.01 and abs(s["mean_a"]) < 0.01 and s["colorfulness"] == 0
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 200
    assert sup.color_summary(red)["mean_a"] > 40
    hist = sup.ab_hist_of(red)
    assert hist["n"] == 64
    hs = sup.hist_summary(hist)
    assert hs["mean_a"] == pytest.approx(sup.color_summary(red)["mean_a"], abs=5)
    assert sup.hist_summary({"edges": [0, 1], "counts": [[0]], "n": 0})["mean_chroma"] is None
    rows = sup.summary_rows({"out": s, "train": hs})
    assert rows[0]["image"] == "out" and rows[1]["colourfulness"] is None


def test_read_baselines(tmp_path):
    assert sup.read_baselines(tmp_path) == {}
    (tmp_path / sup.BASELINES_FILE).write_text("{broken")
    assert sup.read_baselines(tmp_path) == {}
    (tmp_path / sup.BASELINES_FILE).write_text(json.dumps({"places test": {"psnr": 21.0}, "bad": 3}))
    assert sup.read_baselines(tmp_path) == {"places test": {"psnr": 21.0}}


def test_test_metrics_rows():
    metas = {"a": _meta("a", psnr=22.0, rmse=12.0), "b": _meta("b")}
    rows = sup.test_metrics_rows(metas, {"places test": {"psnr": 20.0, "ab_rmse": 15.0}})
    assert [r["checkpoint"] for r in rows] == ["a", "b", "gray (baseline)"]
    assert rows[0]["psnr"] == 22.0 and rows[1]["psnr"] is None and rows[2]["data"] == "places test"
    assert set(rows[0]) == {"checkpoint", "data", *sup.TEST_COLUMNS}
    assert sup.has_history(metas["a"]) and not sup.has_history({"history": []})


def test_catalog_reading_reports_bad_files(catalog_env, tmp_path, monkeypatch):
    folder = tmp_path / "cat"
    folder.mkdir()
    os.symlink(catalog_env / "places12-mse.safetensors", folder / "places12-mse.safetensors")
    (folder / "broken.safetensors").write_bytes(b"\x00" * 10)
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(folder))
    cat = sup.read_catalog()
    assert cat.names == ["places12-mse"]
    assert len(cat.problems) == 1 and "broken" in cat.problems[0]
    stamps = dict(sup.catalog_stamps())
    assert set(stamps) == {"broken", "places12-mse"} and stamps["places12-mse"]
    assert sup.checkpoint_stamp("gray") == ""


def test_stats_display_helpers():
    stats = {"n_files": 3, "root": "data", "split": {"train": 2, "test": 1}, "ab_hist": {"edges": [0, 1]},
             "unreadable": [{"file": "x.png", "reason": "x.png: empty"}], "tiny": ["t.png"],
             "near_gray": [], "exact_duplicates": [["a.png", "b.png"]], "near_duplicates": []}
    items = {r["item"]: r["value"] for r in sup.overview_rows(stats)}
    assert items == {"n_files": "3", "root": "data", "split.train": "2", "split.test": "1"}
    counts = {r["check"]: r["count"] for r in sup.quality_counts(stats)}
    assert counts == {"unreadable files": 1, "tiny images": 1, "near-gray images": 0,
                      "groups of exact duplicates": 1, "groups of near duplicates": 0}
    lists = sup.quality_lists(stats)
    assert lists["exact duplicates"] == ["a.png = b.png"] and lists["unreadable files"] == ["x.png: empty"]


def test_colorcore_never_imports_streamlit():
    import ast
    from pathlib import Path
    package = Path(sup.__file__).resolve().parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "streamlit" for n in names), path.name


def test_preview_keeps_extremely_thin_images_drawable():
    thin = np.zeros((1, 10000, 3), np.uint8)
    shown = sup.preview(thin)
    assert shown.shape[1] == sup.PREVIEW_SIDE and shown.shape[0] * sup.MAX_DISPLAY_ASPECT >= shown.shape[1]
    tall = np.zeros((10000, 1), np.uint8)
    assert sup.preview(tall).shape[1] >= 1600 // sup.MAX_DISPLAY_ASPECT


def _gray_upload(name: str, image: np.ndarray) -> "sup.LoadedImage":
    buf = io.BytesIO()
    if name.endswith(".tif"):
        tifffile.imwrite(buf, image)
    else:
        Image.fromarray(image).save(buf, format="PNG")
    return sup.load_image(name, buf.getvalue())


def test_micrograph_kind_and_domain_hint():
    rng = np.random.default_rng(0)
    dark = rng.normal(2000, 50, (64, 64)).clip(0).astype(np.uint16)
    dark[20:30, 20:40] = 50000  # bright cells on a dark background
    bright = np.full((64, 64), 60000, np.uint16)
    bright[10:50, 10:50] = rng.integers(1000, 60000, (40, 40))
    mid = (np.linspace(0, 1, 64 * 64).reshape(64, 64) * 255).astype(np.uint8)
    assert sup.micrograph_kind(_gray_upload("f.tif", dark)) == "fluorescence"
    assert sup.micrograph_kind(_gray_upload("b.tif", bright)) == "brightfield"
    assert sup.micrograph_kind(_gray_upload("m.tif", mid)) == "micrograph"
    assert sup.micrograph_kind(_gray_upload("photo.png", mid)) is None  # 8-bit PNG: could be a photo
    assert sup.micrograph_kind(sup.load_image("c.png", png(make_color_image(rng, 20, 30)))) is None
    domains = ["scenes", "histology", "fluorescence"]
    hint = sup.domain_hint("fluorescence", "scenes", domains)
    assert "**fluorescence**" in hint and "photographs" in hint and "histology" not in hint
    assert "**histology** or **fluorescence**" in sup.domain_hint("micrograph", "scenes", domains)
    assert sup.domain_hint("fluorescence", "fluorescence", domains) is None
    assert sup.domain_hint("brightfield", "scenes", ["scenes", "fluorescence"]) is None
    assert sup.domain_hint(None, "scenes", domains) is None


def test_vivid_checkpoints_are_labelled_and_take_a_temperature(tiny_classifier):
    from colorcore.checkpoints import read_metadata
    meta = read_metadata(tiny_classifier)
    assert sup.is_vivid(meta) and not sup.is_vivid(_meta("p"))
    assert sup.default_temperature(meta) == pytest.approx(0.38)
    assert "a*b* classification (vivid)" in sup.checkpoint_label(meta)
    image = np.linspace(0, 1, 24 * 40, dtype=np.float32).reshape(24, 40)
    ckpt = load_checkpoint(tiny_classifier)
    assert sup.run_colorize(image, ckpt, 64, 0.1).rgb.shape == (24, 40, 3)
