"""colorcore.app.names: sanitized upload and download names, ZIP archives, content hashes."""
from __future__ import annotations

import io
import zipfile

import pytest

from colorcore.app import names


@pytest.mark.parametrize("raw, expected", [
    ("photo.png", "photo.png"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\cells.tif", "cells.tif"),
    ("a/b/..png", "image.png"),
    ("..", "image"),
    ("", "image"),
    ("na\x00me?.png", "na_me_.png"),
    ("café.jpg", "café.jpg"),
    ("x" * 300 + ".tiff", "x" * 115 + ".tiff"),
    # names in any script keep their stem and extension (NFC), losing only separators and control characters
    ("画像.png", "画像.png"),
    ("细胞 0.tif", "细胞 0.tif"),
    ("Κύτταρα.jpeg", "Κύτταρα.jpeg"),
    ("cafe\u0301.png", "café.png"),  # decomposed (macOS) becomes composed
    ("خلية دم.png", "خلية دم.png"),
    ("תא.png", "תא.png"),
    ("می\u200cخواهم.png", "می\u200cخواهم.png"),  # Persian keeps its zero-width non-joiner
    ("evil\u202egnp.exe.png", "evil_gnp.exe.png"),  # a right-to-left override is not kept
    ("tab\there\n.png", "tab_here_.png"),
    ("  spaced name .png ", "spaced name .png"),
    ("no extension. ", "no extension"),
    ("a<b>:c|d*.png", "a_b_c_d_.png"),
    ("細" * 100 + ".png", "細" * 38 + ".png"),  # at most 120 UTF-8 bytes, whole characters
])
def test_sanitize_filename(raw, expected):
    out = names.sanitize_filename(raw)
    assert out == expected
    assert "/" not in out and "\\" not in out and ".." not in out and out
    assert len(out.encode()) <= names.MAX_NAME_BYTES


def test_download_names_keep_the_upload_s_script():
    assert names.result_filename("細胞0.tif", "gray") == "細胞0_gray.png"
    assert names.result_filename("../Κύτταρα.ome.tif", "places12-mse") == "Κύτταρα.ome_places12-mse.png"


def test_unique_names_in_any_script():
    assert names.unique_names(["细胞0.png", "细胞1.png", "细胞0.png", "Straße.png", "STRASSE.png"]) == \
        ["细胞0.png", "细胞1.png", "细胞0-2.png", "Straße.png", "STRASSE-2.png"]
    assert names.unique_names(["cafe\u0301.png", "café.png"]) == ["café.png", "café-2.png"]
    long = ["細" * 100 + ".png"] * 2
    assert all(len(n.encode()) <= names.MAX_NAME_BYTES for n in names.unique_names(long))


def test_result_and_unique_names():
    assert names.result_filename("../dir/cells.tif", "places500-huber") == "cells_places500-huber.png"
    assert names.result_filename("noext", "gray") == "noext_gray.png"
    assert names.unique_names(["a.png", "A.png", "x/a.png", "b"]) == ["a.png", "A-2.png", "a-3.png", "b"]


def test_build_zip_sanitizes_and_keeps_all():
    items = [("../../evil.png", b"1"), ("ok.png", b"2"), ("dir/ok.png", b"3"), ("..", b"4")]
    data = names.build_zip(items)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        listed = zf.namelist()
        assert listed == ["evil.png", "ok.png", "ok-2.png", "image"]
        assert [zf.read(n) for n in listed] == [b"1", b"2", b"3", b"4"]
        assert zf.testzip() is None


def test_content_hash():
    assert names.content_hash(b"abc") == names.content_hash(b"abc") != names.content_hash(b"abd")
