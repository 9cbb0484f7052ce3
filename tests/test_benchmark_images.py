"""The load benchmarks' micrographs (benchmarks/images.py), made from samples/ only: distinct 4 MP 16-bit gray TIFFs
of each kind, which the Colorize page takes for what they imitate."""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import tifffile

from browser_app import ROOT
from colorcore.app.inputs import load_image, micrograph_kind


def load_images_module():
    spec = importlib.util.spec_from_file_location("images", ROOT / "benchmarks" / "images.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


images = load_images_module()
#: What the page's own check (colorcore.app.inputs.micrograph_kind) must call each kind.
PAGE_KIND = {"fluorescence": "fluorescence", "he": "brightfield", "noise": "micrograph"}


@pytest.mark.parametrize("kind", images.KINDS)
def test_each_kind_gives_distinct_4mp_16bit_images_of_its_character(kind, tmp_path):
    paths = images.make_tiffs(tmp_path, 2, 4.0, kind=kind, shared=None)
    first, second = (tifffile.imread(path) for path in paths)
    assert first.shape == second.shape == (2000, 2000)
    assert first.dtype == second.dtype == np.uint16
    assert np.mean(first != second) > 0.5  # not one image twice: no cache may serve the second
    loaded = load_image(paths[0].name, paths[0].read_bytes())
    assert micrograph_kind(loaded) == PAGE_KIND[kind]
    median = float(np.median(loaded.image))
    if kind == "fluorescence":
        assert median < 0.1 and np.percentile(loaded.image, 99.5) > 0.5  # dark background, bright nuclei
    elif kind == "he":
        assert median > 0.8 and np.percentile(loaded.image, 5) < 0.4  # bright glass, dark stained nuclei


def test_fields_come_from_samples_without_the_shared_data(tmp_path):
    assert len(images.source_fields("fluorescence", tmp_path / "absent")) == 1
    assert len(images.source_fields("he", None)) == 1


def test_an_unknown_kind_is_refused_with_the_choices():
    assert images.kinds("all") == list(images.KINDS)
    with pytest.raises(ValueError, match="fluorescence, he, noise or all"):
        images.kinds("dic")
