"""AppTest checks of every page of the Streamlit explorer, on the tiny checkpoint catalog."""
from __future__ import annotations

import gc
import io
import math
import os
import urllib.parse

import numpy as np
import pytest
import tifffile
from streamlit.testing.v1 import AppTest

from helpers import APP, STUDY_NAMES, color_png, download_labels, gray_tiff16, ok, png_bytes, tiff_bytes

PAGES = ("pages/colorize.py", "pages/compare.py", "pages/curves.py", "pages/histograms.py", "pages/dataset.py")


@pytest.fixture()
def app_env(catalog_env, color_folder, tmp_path, monkeypatch):
    """Tiny catalog, an examples folder with one image, and the data root at ``color_folder``."""
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "example.png").write_bytes(color_png(seed=7))
    monkeypatch.setenv("COLORCORE_SAMPLES", str(samples))
    monkeypatch.setenv("COLORCORE_DATA_ROOT", str(color_folder))
    return catalog_env


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    return ok(at)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app_env, page):
    at = open_page(page)
    assert at.title[0].value
    assert not at.error


def test_colorize_is_landing_and_lists_checkpoints(app_env):
    at = open_page(PAGES[0])
    assert at.title[0].value == "Colorize"
    box = at.selectbox(key="colorize.checkpoint")
    assert sorted(label.split(" · ")[0] for label in box.options) == sorted(STUDY_NAMES)
    assert all("train images" in label and "loss" in label for label in box.options)


def test_colorize_png_and_tiff16_with_zip(app_env):
    at = open_page(PAGES[0])
    at.file_uploader[0].set_value([("photo.png", color_png(), "image/png"),
                                   ("cells 16bit.tif", gray_tiff16(), "image/tiff")]).run()
    ok(at)
    assert not at.error
    labels = download_labels(at)
    ckpt = at.selectbox(key="colorize.checkpoint").value
    assert f"Download photo_{ckpt}.png" in labels
    assert f"Download cells 16bit_{ckpt}.png" in labels
    assert any("ZIP" in label for label in labels)
    assert len(at.get("iframe")) == 2  # one before/after slider per result
    facts = "\n".join(df.value.to_string() for df in at.dataframe)
    assert "uint16" in facts and "16-bit" in facts and "normalisation" in facts


def test_colorize_keeps_no_copy_of_its_slider(app_env):
    """``st.iframe`` asks :func:`urllib.parse.urlsplit` (an lru_cache of 128 calls) whether the slider page is a
    URL; the page must not leave its documents there (in the soak they held ~70 MB; docs/reliability.md)."""
    at = open_page(PAGES[0])
    at.file_uploader[0].set_value(("photo.png", color_png(), "image/png")).run()
    ok(at)
    (frame,) = at.get("iframe")
    page = len(frame.proto.srcdoc)
    held = [r for r in gc.get_objects() if type(r) is urllib.parse.SplitResult and sum(map(len, r)) >= page // 2]
    assert not held, f"{len(held)} slider pages kept by urlsplit's cache"


def test_colorize_switch_checkpoint(app_env):
    at = open_page(PAGES[0])
    at.file_uploader[0].set_value(("photo.png", color_png(), "image/png")).run()
    for name in ("places500-mse", "places12-mse"):
        at.selectbox(key="colorize.checkpoint").set_value(name).run()
        ok(at)
        assert at.selectbox(key="colorize.checkpoint").value == name
        assert f"Download photo_{name}.png" in download_labels(at)


def test_colorize_bad_uploads_reported_others_go_through(app_env):
    at = open_page(PAGES[0])
    too_big = png_bytes(np.zeros((7000, 6000), np.uint8))  # 42 MP > the app's 40 MP limit
    at.file_uploader[0].set_value([("empty.png", b"", "image/png"),
                                   ("notes.png", b"this is not an image", "image/png"),
                                   ("../../etc/broken.tif", b"II*\x00garbage", "image/tiff"),
                                   ("huge.png", too_big, "image/png"),
                                   ("good.png", color_png(), "image/png")]).run()
    ok(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 4
    assert any("empty.png" in e and "empty" in e for e in errors)
    assert any("notes.png" in e for e in errors)
    assert any("broken.tif" in e and "../" not in e for e in errors)
    assert any("huge.png" in e and "MP" in e for e in errors)
    assert download_labels(at)[0].startswith("Download good_")
    # The app keeps serving: a later good upload works.
    at.file_uploader[0].set_value(("again.png", color_png(seed=3), "image/png")).run()
    ok(at)
    assert not at.error


def test_colorize_example_picker(app_env):
    at = open_page(PAGES[0])
    at.selectbox(key="colorize.example").set_value("example.png").run()
    ok(at)
    assert any(label.startswith("Download example_") for label in download_labels(at))


def test_compare_color_ground_truth_table(app_env):
    at = open_page(PAGES[1])
    assert at.multiselect(key="compare.checkpoints").value == list(STUDY_NAMES)
    at.file_uploader[0].set_value(("truth.png", color_png(seed=5), "image/png")).run()
    ok(at)
    assert not at.error
    table = at.dataframe[-1].value
    assert list(table["checkpoint"]) == ["gray", *STUDY_NAMES]
    for col in ("psnr", "ssim", "ab_rmse", "colorfulness", "cast_a", "cast_b"):
        assert all(math.isfinite(v) for v in table[col]), col
    gray = table[table["checkpoint"] == "gray"].iloc[0]
    assert gray["colorfulness"] < 1.0  # the grayscale version has (almost: rounding) no colour
    captions = [c for img in at.image for c in img.captions]
    assert captions[0].startswith("grayscale input") and captions[-1].startswith("original")
    assert [c.split(" · ")[0] for c in captions[1:-1]] == list(STUDY_NAMES)  # then the domain verdict


def test_compare_grayscale_input_has_no_table(app_env):
    at = open_page(PAGES[1])
    at.multiselect(key="compare.checkpoints").set_value(["places12-huber", "places500-mse"]).run()
    at.file_uploader[0].set_value(("cells.tif", gray_tiff16(), "image/tiff")).run()
    ok(at)
    assert any("grayscale" in i.value for i in at.info)
    assert not at.dataframe


def test_curves_produce_plotly_figures(app_env):
    at = open_page(PAGES[2])
    assert len(at.get("plotly_chart")) == 2
    assert any("not comparable" in w.value for w in at.warning)
    at.toggle(key="curves.log").set_value(True).run()
    at.radio(key="curves.metric").set_value("val_psnr").run()
    ok(at)
    assert len(at.get("plotly_chart")) == 2
    table = at.dataframe[0].value
    assert set(STUDY_NAMES) <= set(table["checkpoint"])


def test_curves_show_stored_gray_baseline(catalog_env, tmp_path, monkeypatch):
    folder = tmp_path / "catalog"
    folder.mkdir()
    for name in STUDY_NAMES:
        os.symlink(catalog_env / f"{name}.safetensors", folder / f"{name}.safetensors")
    (folder / "baselines.json").write_text('{"places test split": {"psnr": 21.5, "ab_rmse": 14.0, "n_images": 250}}')
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(folder))
    at = open_page(PAGES[2])
    table = at.dataframe[0].value
    row = table[table["checkpoint"] == "gray (baseline)"].iloc[0]
    assert row["psnr"] == 21.5 and row["data"] == "places test split"


def test_histograms_color_and_gray(app_env):
    at = open_page(PAGES[3])
    at.file_uploader[0].set_value(("truth.png", color_png(seed=2), "image/png")).run()
    ok(at)
    assert len(at.get("plotly_chart")) == 2
    assert list(at.dataframe[-1].value["image"])[1] == "ground truth"
    at.file_uploader[0].set_value(("cells.tif", gray_tiff16(), "image/tiff")).run()
    ok(at)
    assert len(at.get("plotly_chart")) == 2  # output next to the training-set histogram
    assert "training set" in list(at.dataframe[-1].value["image"])[1]


def test_histograms_bad_upload(app_env):
    at = open_page(PAGES[3])
    at.file_uploader[0].set_value(("x.png", b"\x89PNG\r\n\x1a\nnope", "image/png")).run()
    ok(at)
    assert any("x.png" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_dataset_checkpoint_and_folder(app_env):
    at = open_page(PAGES[4])
    assert len(at.get("plotly_chart")) == 3  # a*b*, hue, chroma of the training data
    items = set(at.dataframe[0].value["item"])
    assert {"n_files", "split.train"} <= items
    at.radio(key="dataset.source").set_value("A folder under the data root").run()
    ok(at)
    assert at.selectbox(key="dataset.folder").options == ["a", "b"]
    at.button(key="dataset.run").click().run()
    ok(at)
    assert len(at.get("plotly_chart")) == 4  # sizes, a*b*, hue, chroma
    checks = at.dataframe[-1].value
    assert list(checks["check"])[0] == "unreadable files"


def test_pages_say_when_catalog_is_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(tmp_path))
    for page in PAGES[:4]:
        at = open_page(page)
        assert any("catalog is empty" in i.value for i in at.info), page


def test_page_url_opened_first_gets_the_navigation(app_env):
    """A page URL opened before explorer.py ever ran (legacy pages/ mode) ends up inside st.navigation."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page("pages/compare.py").run()
    ok(at)
    assert at.title[0].value == "Compare checkpoints"
    assert at.session_state["app.navigation"] is True
    assert "app.redirect" not in at.session_state


@pytest.fixture()
def domain_env(tiny_checkpoint, tiny_classifier, tmp_path, monkeypatch):
    """A catalog with a scene regression, a scene classification and a fluorescence checkpoint."""
    import shutil

    from colorcore.checkpoints import update_metadata
    folder = tmp_path / "catalog"
    folder.mkdir()
    for name, source, domain in (("places500-huber", tiny_checkpoint, "scenes"),
                                 ("places500-vivid", tiny_classifier, "scenes"),
                                 ("fluorescence-huber", tiny_checkpoint, "fluorescence")):
        shutil.copy(source, folder / f"{name}.safetensors")
        update_metadata(folder / f"{name}.safetensors", name=name, domain=domain)
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(folder))
    monkeypatch.setenv("COLORCORE_SAMPLES", str(tmp_path / "no-samples"))
    return folder


def fluorescence_tiff16() -> bytes:
    data = np.full((40, 56), 1500, np.uint16)
    data[10:20, 15:35] = 52000
    return tiff_bytes(data)


def test_colorize_suggests_the_fluorescence_domain_for_a_fluorescence_upload(domain_env):
    at = open_page(PAGES[0])
    assert at.radio(key="colorize.checkpoint_domain").options == ["scenes", "fluorescence"]
    assert any("For micrographs" in c.value for c in at.caption)
    at.file_uploader[0].set_value(("nuclei.tif", fluorescence_tiff16(), "image/tiff")).run()
    ok(at)
    # not chosen by the user yet: the upload starts on the fluorescence domain's checkpoint, and says so
    assert at.radio(key="colorize.checkpoint_domain").value == "fluorescence"
    assert at.selectbox(key="colorize.checkpoint").value == "fluorescence-huber"
    assert any("fluorescence image" in i.value and "**fluorescence** checkpoints" in i.value for i in at.info)
    assert "Download nuclei_fluorescence-huber.png" in download_labels(at)
    next(b for b in at.button if b.label == "Use the scenes checkpoints instead").click().run()
    ok(at)
    # one click reverses it; the user's choice now stands and the hint suggests switching instead
    assert at.radio(key="colorize.checkpoint_domain").value == "scenes"
    assert any("fluorescence image" in i.value and "choose the **fluorescence** domain" in i.value for i in at.info)
    at.radio(key="colorize.checkpoint_domain").set_value("fluorescence").run()
    ok(at)
    assert at.selectbox(key="colorize.checkpoint").value == "fluorescence-huber"
    assert not any("fluorescence image" in i.value for i in at.info)


def test_choices_survive_a_visit_to_another_page(domain_env, monkeypatch):
    """Back on Colorize after Compare, the pickers hold what they held and the page runs once.

    Before, Streamlit dropped the state of every widget the Compare run did not draw: the domain went
    back to scenes, the fluorescence upload switched it again with an ``st.rerun`` (a second run of the
    page, during which a file dropped on the uploader was lost: 1 upload in about 15 in the soak), and
    the working size the user chose went back to 512.
    """
    import streamlit

    reruns, rerun = [], streamlit.rerun
    monkeypatch.setattr(streamlit, "rerun", lambda *args, **kwargs: (reruns.append(1), rerun(*args, **kwargs)))
    at = open_page(PAGES[0])
    at.file_uploader[0].set_value(("nuclei.tif", fluorescence_tiff16(), "image/tiff")).run()
    assert len(reruns) == 1  # the domain switch
    at.select_slider(key="colorize.working_size").set_value(256).run()
    at.toggle(key="colorize.confidence").set_value(True).run()
    ok(at)
    assert at.radio(key="colorize.checkpoint_domain").value == "fluorescence"
    at.switch_page(PAGES[1]).run()
    ok(at)
    at.multiselect(key="compare.checkpoints").set_value(["places500-huber"]).run()
    at.switch_page(PAGES[0]).run()
    ok(at)
    assert len(reruns) == 1  # no second switch, no st.rerun on the way back
    assert at.radio(key="colorize.checkpoint_domain").value == "fluorescence"
    assert at.selectbox(key="colorize.checkpoint").value == "fluorescence-huber"
    assert at.select_slider(key="colorize.working_size").value == 256
    assert at.toggle(key="colorize.confidence").value is True
    assert "Download nuclei_fluorescence-huber.png" in download_labels(at)
    at.switch_page(PAGES[1]).run()
    assert at.multiselect(key="compare.checkpoints").value == ["places500-huber"]


def test_colorize_vivid_checkpoint_has_a_temperature_slider(domain_env):
    at = open_page(PAGES[0])
    assert not at.slider  # regression checkpoint first: no temperature
    at.selectbox(key="colorize.checkpoint").set_value("places500-vivid").run()
    ok(at)
    slider = at.slider(key="colorize.temperature")
    assert slider.value == pytest.approx(0.38)
    at.file_uploader[0].set_value(("cells.tif", gray_tiff16(), "image/tiff")).run()
    ok(at)
    first = [img.value for img in at.get("image")]
    at.slider(key="colorize.temperature").set_value(0.1).run()
    ok(at)
    assert not at.error
    assert download_labels(at)[0] == "Download cells_places500-vivid.png"
    assert [img.value for img in at.get("image")] != first  # another preview at another temperature


def ome_stack() -> bytes:
    """A 3-channel, 5-plane 16-bit OME-TIFF (LZW) with channel names and a pixel size."""
    rng = np.random.default_rng(5)
    data = (1000 + rng.integers(0, 3000, (3, 5, 40, 56))).astype(np.uint16)
    buf = io.BytesIO()
    tifffile.imwrite(buf, data, ome=True, compression="lzw", metadata={
        "axes": "CZYX", "Channel": {"Name": ["DAPI", "GFP", "mCherry"]},
        "PhysicalSizeX": 0.325, "PhysicalSizeY": 0.325, "PhysicalSizeXUnit": "µm", "PhysicalSizeYUnit": "µm"})
    return buf.getvalue()


def test_colorize_offers_plane_pickers_only_for_stacks(app_env):
    at = open_page(PAGES[0])
    at.file_uploader[0].set_value(("photo.png", color_png(), "image/png")).run()
    ok(at)
    assert not [s for s in at.selectbox if s.label in ("Channel", "Z plane")]
    at.file_uploader[0].set_value(("cells.ome.tif", ome_stack(), "image/tiff")).run()
    ok(at)
    channel = next(s for s in at.selectbox if s.label == "Channel")
    z = next(s for s in at.selectbox if s.label == "Z plane")
    assert channel.options == ["DAPI", "GFP", "mCherry"] and z.value == 2 and "maximum projection" in z.options
    assert any("channel 0 (DAPI) of 3" in str(r) for r in at.dataframe[-1].value["value"])
    channel.set_value(1).run()
    z = next(s for s in at.selectbox if s.label == "Z plane")
    z.set_value("max").run()
    ok(at)
    facts = " ".join(str(v) for v in at.dataframe[-1].value["value"])
    assert "channel 1 (GFP) of 3" in facts and "z max of 5" in facts
    assert not at.error
