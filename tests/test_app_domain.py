"""The app and the API say when an image is outside a checkpoint's training domain, and show the confidence map."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from colorcore import colorize, load_checkpoint
from colorcore.app import trust
from colorcore.app.api import TRUST_HEADERS, colorize_file, trust_headers
from colorcore.checkpoints import update_metadata
from colorcore.domain import Verdict, fit_checkpoint, training_root
from colorcore.metadata import split_files
from helpers import APP, ok, png_bytes

NAME = "scenes-fitted"


@pytest.fixture(scope="module")
def fitted_catalog(tiny_checkpoint, tiny_classifier, tmp_path_factory):
    """A catalog of the tiny checkpoint with its domain check fitted, and the tiny classifier without one."""
    folder = tmp_path_factory.mktemp("fitted-catalog")
    path = folder / f"{NAME}.safetensors"
    shutil.copy(tiny_checkpoint, path)
    update_metadata(path, name=NAME, domain_check=fit_checkpoint(load_checkpoint(path)))
    shutil.copy(tiny_classifier, folder / "scenes-vivid.safetensors")
    update_metadata(folder / "scenes-vivid.safetensors", domain_check=None)  # training fitted one: take it away
    return folder


@pytest.fixture()
def app_env(fitted_catalog, tmp_path, monkeypatch):
    samples = tmp_path / "samples"
    samples.mkdir()
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(fitted_catalog))
    monkeypatch.setenv("COLORCORE_SAMPLES", str(samples))
    return fitted_catalog


def _training_png(catalog) -> bytes:
    ckpt = load_checkpoint(catalog / f"{NAME}.safetensors")
    return (training_root(ckpt.meta) / split_files(ckpt.meta, "train")[0]).read_bytes()


def _noise_png() -> bytes:
    return png_bytes((np.random.default_rng(0).random((48, 64)) * 255).astype(np.uint8))


def _colorize_page(upload: tuple) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="colorize.checkpoint").set_value(NAME).run()
    at.file_uploader[0].set_value(upload).run()
    return ok(at)


def _domain_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "unlike anything" in w.value]


def test_out_of_domain_upload_gets_a_warning_naming_the_training_domain(app_env):
    at = _colorize_page(("noise.png", _noise_png(), "image/png"))
    warnings = _domain_warnings(at)
    assert len(warnings) == 1 and NAME in warnings[0] and "the scenes domain" in warnings[0]
    assert "guesses" in warnings[0] and not at.error


def test_in_domain_upload_gets_no_warning(app_env):
    at = _colorize_page(("train.png", _training_png(app_env), "image/png"))
    assert _domain_warnings(at) == [] and not at.error


def test_confidence_toggle_shows_the_map_or_says_there_is_none(app_env):
    at = _colorize_page(("noise.png", _noise_png(), "image/png"))
    at.toggle(key="colorize.confidence").set_value(True).run()
    assert any("no per-pixel confidence" in c.value for c in at.caption)
    at.selectbox(key="colorize.checkpoint").set_value("scenes-vivid").run()
    ok(at)
    assert any(c.startswith("confidence of scenes-vivid") for img in at.image for c in img.captions)


def test_compare_shows_in_domain_per_checkpoint(app_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/compare.py").run()
    at.multiselect(key="compare.checkpoints").set_value([NAME, "scenes-vivid"]).run()
    at.file_uploader[0].set_value(("noise.png", _noise_png(), "image/png")).run()
    ok(at)
    captions = [c for img in at.image for c in img.captions]
    assert any(c.startswith(f"{NAME} · OUT of domain") for c in captions)
    assert "scenes-vivid" in captions  # no domain check: no verdict shown
    assert any(NAME in w.value and "outside the training domain" in w.value for w in at.warning)


def test_api_headers_carry_the_verdict_and_mean_confidence(app_env):
    image_headers = colorize_file(_noise_png(), "noise.png", {"name": NAME, "fmt": "png", "working_size": 512,
                                                              "temperature": None, "plane": {}})[1]
    assert image_headers[TRUST_HEADERS["in_domain"]] == "false"
    assert float(image_headers[TRUST_HEADERS["domain_score"]]) > 1
    assert image_headers[TRUST_HEADERS["mean_confidence"]] == "null"
    vivid = colorize(np.full((16, 16), 0.5, np.float32), load_checkpoint(app_env / "scenes-vivid.safetensors"))
    headers = trust_headers(vivid)
    assert headers[TRUST_HEADERS["in_domain"]] == "null" and 0 <= json.loads(headers[TRUST_HEADERS["mean_confidence"]]) <= 1


def test_warning_text_and_suggestions():
    found = {"a": Verdict(0.8, True), "b": Verdict(0.3, True), "c": Verdict(4.0, False)}
    assert trust.in_domain_names(found) == ["b", "a"]
    text = trust.warning_text("c", {"domain": "scenes", "description": "photos"}, 4.0, ["b", "a"])
    assert "(the scenes domain: photos)" in text and "4.0" in text and "**b**, **a**" in text
    assert "No checkpoint" in trust.warning_text("c", {"domain": "scenes"}, 4.0, [])
    assert "In domain for" not in trust.warning_text("c", {"domain": "scenes"}, 4.0, None)


def test_confidence_display_runs_from_dark_red_to_white():
    shown = trust.confidence_display(np.array([[0.0, 1.0]]))
    assert shown.dtype == np.uint8 and shown.shape == (1, 2, 3)
    assert tuple(shown[0, 1]) == (255, 255, 255) and shown[0, 0, 0] < 128
