"""colorcore.app.zipdata: a ZIP upload is extracted flat and safely, or refused with one clear message."""
from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest

from colorcore.app.zipdata import ZipLimits, ZipRefused, extract_images
from helpers import color_png, color_zip, png_bytes, zip_bytes


def test_images_are_extracted_flat_with_unique_safe_names(tmp_path):
    data = zip_bytes({"a/cells.png": color_png(1), "b/cells.png": color_png(2), "b/deep/x y?.png": color_png(3),
                      "notes.txt": b"hello", "__MACOSX/a/._cells.png": b"junk", "a/.DS_Store": b"x"})
    report = extract_images(data, tmp_path / "out")
    assert report.files == ["cells.png", "cells-2.png", "x y_.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(report.files)
    assert len(report.skipped) == 3 and any(s.startswith("notes.txt: not an image") for s in report.skipped)
    assert (tmp_path / "out" / "cells-2.png").read_bytes() == color_png(2)


@pytest.mark.parametrize(("data", "message"), [
    (b"this is not a zip", "not a ZIP archive"),
    (png_bytes(np.zeros((8, 8), np.uint8)), "not a ZIP archive"),
    (zip_bytes({"readme.txt": b"no images"}), "holds no images"),
    (zip_bytes({"ok.png": color_png(), "../../x.png": color_png()}), r"leaves its folder \('../../x.png'\)"),
    (zip_bytes({"/etc/x.png": color_png()}), "absolute path"),
    (zip_bytes({"C:\\x.png": color_png()}), "absolute path"),
    (zip_bytes({"a\\..\\..\\x.png": color_png()}), "leaves its folder"),
])
def test_bad_archives_are_refused_with_a_clear_message(tmp_path, data, message):
    with pytest.raises(ZipRefused, match=message):
        extract_images(data, tmp_path / "out")
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())
    assert not (tmp_path / "x.png").exists() and not (tmp_path.parent / "x.png").exists()


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path):
    bomb = zip_bytes({"bomb.png": b"\0" * (30 << 20)})  # 30 MB of zeros: about 30 kB compressed
    assert len(bomb) < 100_000
    with pytest.raises(ZipRefused, match="inflates .* times .*ZIP bomb"):
        extract_images(bomb, tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())
    with pytest.raises(ZipRefused, match="uncompressed; the limit is 1 MB per image"):
        extract_images(bomb, tmp_path / "out", ZipLimits(max_image_bytes=1 << 20))


def test_symbolic_links_and_encrypted_members_are_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(ZipRefused, match="symbolic link"):
        extract_images(buf.getvalue(), tmp_path / "out")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        secret = zipfile.ZipInfo("secret.png")
        zf.writestr(secret, color_png())
    data = bytearray(buf.getvalue())
    for offset in (6, data.rfind(b"PK\x01\x02") + 8):  # the encryption bit of the local and central headers
        data[offset] |= 0x1
    with pytest.raises(ZipRefused, match="encrypted"):
        extract_images(bytes(data), tmp_path / "out2")


def test_limits_on_size_and_count(tmp_path):
    data = color_zip(5)
    with pytest.raises(ZipRefused, match="5 images; the limit is 4"):
        extract_images(data, tmp_path / "a", ZipLimits(max_images=4))
    with pytest.raises(ZipRefused, match="the ZIP is 0 MB; the limit is 0 MB"):
        extract_images(data, tmp_path / "b", ZipLimits(max_zip_bytes=100))
    with pytest.raises(ZipRefused, match="entries; the limit is 3"):
        extract_images(data, tmp_path / "c", ZipLimits(max_members=3))
    with pytest.raises(ZipRefused, match="uncompressed; the limit is 0 MB"):
        extract_images(data, tmp_path / "d", ZipLimits(max_total_bytes=1000))
