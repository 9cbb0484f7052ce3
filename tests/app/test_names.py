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
    ("a/b/..png", "png"),
    ("..", "image"),
    ("", "image"),
    ("na\x00me?.png", "na_me_.png"),
    ("café.jpg", "cafe.jpg"),
    ("x" * 300 + ".tiff", "x" * 115 + ".tiff"),
])
def test_sanitize_filename(raw, expected):
    out = names.sanitize_filename(raw)
    assert out == expected
    assert "/" not in out and "\\" not in out and ".." not in out and out


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
