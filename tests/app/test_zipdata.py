"""colorcore.app.zipdata: a ZIP upload is extracted flat and safely, or refused with one clear message."""
from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib

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
    assert len(report.left_out) == 3 and report.left_out[0] == ("notes.txt", "not an image "
                                                                "(.png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, .tiff, .czi)")
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


class _RawName(zipfile.ZipInfo):
    """A member whose name is stored as the given bytes, without the UTF-8 flag (as Windows tools write)."""

    def __init__(self, raw: bytes, extra: bytes = b""):
        super().__init__(raw.decode("cp437"))
        self.raw, self.extra = raw, extra

    def _encodeFilenameFlags(self):
        return self.raw, self.flag_bits & ~0x800


def legacy_zip(members: dict[bytes, bytes], extra: dict[bytes, bytes] | None = None) -> bytes:
    """A ZIP whose member names are raw bytes (no UTF-8 flag), with optional extra fields by name."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for raw, data in members.items():
            zf.writestr(_RawName(raw, (extra or {}).get(raw, b"")), data)
    return buf.getvalue()


def unicode_path_extra(raw: bytes, name: str) -> bytes:
    """Info-ZIP's Unicode Path extra field (0x7075): the UTF-8 name of a member stored under ``raw``."""
    body = b"\x01" + struct.pack("<I", zlib.crc32(raw)) + name.encode()
    return struct.pack("<HH", 0x7075, len(body)) + body


SCRIPTS = ["细胞0.png", "細胞1.png", "Κύτταρο 2.jpg", "خلية3.png", "תא4.png", "клетка5.tif", "café6.png",
           "می\u200cخواهم7.png"]


def test_names_in_any_script_are_kept_with_their_extension(tmp_path):
    data = zip_bytes({f"stain/{name}": color_png(i) for i, name in enumerate(SCRIPTS)})
    report = extract_images(data, tmp_path / "out")
    assert report.files == SCRIPTS and not report.left_out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(SCRIPTS)
    assert (tmp_path / "out" / "细胞0.png").read_bytes() == color_png(0)


def test_names_without_the_utf8_flag_are_read_as_their_tool_wrote_them(tmp_path):
    members = {"café.png".encode("cp437"): color_png(1),          # Windows (US): cp437, no flag
               "细胞0.png".encode(): color_png(2),                  # macOS / Linux zip: UTF-8, no flag
               "Ελλάδα.png".encode("cp737"): color_png(3),         # Windows (Greek): another code page
               "画像.png".encode("cp932"): color_png(4)}            # Windows (Japan): Shift-JIS
    report = extract_images(legacy_zip(members), tmp_path / "out")
    assert report.files[:2] == ["café.png", "细胞0.png"]
    assert len(report.files) == 4 and all(f.endswith(".png") for f in report.files)  # none lost, extensions kept
    assert not report.left_out


def test_the_unicode_path_extra_field_gives_the_real_name(tmp_path):
    raw = "細胞.png".encode("cp932")
    data = legacy_zip({raw: color_png(1), b"plain.png": color_png(2)},
                      extra={raw: unicode_path_extra(raw, "細胞.png"),
                             b"plain.png": unicode_path_extra(b"other.png", "stale.png")})  # CRC of another name
    assert extract_images(data, tmp_path / "out").files == ["細胞.png", "plain.png"]


def test_a_utf8_extra_name_that_climbs_out_is_refused(tmp_path):
    data = legacy_zip({b"ok.png": color_png()}, extra={b"ok.png": unicode_path_extra(b"ok.png", "../../x.png")})
    with pytest.raises(ZipRefused, match="leaves its folder"):
        extract_images(data, tmp_path / "out")


def test_everything_left_out_is_named_with_its_reason(tmp_path):
    data = zip_bytes({"a/细胞.png": color_png(1), "b/细胞.png": color_png(2), "notes.txt": b"hello",
                      "__MACOSX/a/._细胞.png": b"junk", "a/.DS_Store": b"x", ".hidden/x.png": color_png(3),
                      "a/.細胞.png": color_png(4), "folder/": b""})
    report = extract_images(data, tmp_path / "out")
    assert report.files == ["细胞.png", "细胞-2.png"]
    assert report.left_out == [("notes.txt", "not an image (.png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, .tiff, .czi)"),
                               ("__MACOSX/a/._细胞.png", "macOS metadata (__MACOSX), not an image"),
                               ("a/.DS_Store", "a hidden file"), (".hidden/x.png", "a hidden file"),
                               ("a/.細胞.png", "a hidden file")]


def test_the_space_an_upload_needs_is_asked_for_before_anything_is_written(tmp_path):
    asked = []

    def refuse(n_bytes: int) -> None:
        asked.append(n_bytes)
        raise ZipRefused("no room")

    data = zip_bytes({"a.png": color_png(1), "b.png": color_png(2)})
    with pytest.raises(ZipRefused, match="no room"):
        extract_images(data, tmp_path / "out", reserve=refuse)
    assert asked == [len(color_png(1)) + len(color_png(2))] and not any((tmp_path / "out").iterdir())
