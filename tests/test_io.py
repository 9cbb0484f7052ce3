"""Reading micrographs: bit depths, layouts, normalisation and clear refusals."""
import io as _io
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from colorcore.io import ImageError, encode_png, is_image_name, read_image, to_uint8, write_png, write_tiff16


def _png_bytes(arr: np.ndarray, **kw) -> bytes:
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", **kw)
    return buf.getvalue()


def test_8bit_png_gray_and_rgb(tmp_path):
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    img, info = read_image(_png_bytes(gray), name="g.png")
    assert img.dtype == np.float32 and img.shape == (16, 16)
    assert img.max() == 1.0 and info.dtype == "uint8" and "255" in info.normalization
    rgb = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    path = tmp_path / "c.png"
    path.write_bytes(_png_bytes(rgb))
    img, info = read_image(path)
    assert img.shape == (10, 12, 3) and info.channels == 3 and info.name == "c.png"
    assert np.array_equal(to_uint8(img), rgb)


def test_16bit_full_range_is_divided_not_stretched(tmp_path):
    arr = np.linspace(0, 65535, 64 * 64).astype(np.uint16).reshape(64, 64)
    tifffile.imwrite(tmp_path / "full.tif", arr)
    img, info = read_image(tmp_path / "full.tif")
    assert info.dtype == "uint16" and "divided by 65535" in info.normalization
    assert np.allclose(img, arr / 65535.0, atol=1e-6)


def test_16bit_camera_offset_gets_percentile_stretch_not_clipping(tmp_path):
    rng = np.random.default_rng(0)
    arr = (33000 + rng.integers(0, 3000, (100, 80))).astype(np.uint16)
    tifffile.imwrite(tmp_path / "cam.tif", arr)
    img, info = read_image(tmp_path / "cam.tif")
    assert "percentile stretch" in info.normalization
    assert img.min() == 0.0 and img.max() == 1.0
    assert 0.3 < img.mean() < 0.7  # the data fill the range instead of sitting at 0.5 gray
    # a PNG 16-bit goes the same way (PIL mode I;16, never convert()-clipped)
    img_png, info_png = read_image(_png_bytes(arr), name="cam.png")
    assert info_png.format == "PNG" and np.allclose(img_png, img, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_tiffs(tmp_path, dtype):
    inside = np.random.default_rng(1).random((20, 30)).astype(dtype)
    tifffile.imwrite(tmp_path / "unit.tif", inside)
    img, info = read_image(tmp_path / "unit.tif")
    assert "kept" in info.normalization and np.allclose(img, inside, atol=1e-6)
    wide = (inside * 5000 - 100).astype(dtype)
    wide[0, 0] = np.nan
    tifffile.imwrite(tmp_path / "wide.tif", wide)
    img, info = read_image(tmp_path / "wide.tif")
    assert "stretch" in info.normalization and img[0, 0] == 0 and np.isfinite(img).all()
    assert any("NaN" in n for n in info.notes)


def test_all_nan_empty_and_garbage_are_refused_with_the_file_name(tmp_path):
    tifffile.imwrite(tmp_path / "nan.tif", np.full((8, 8), np.nan, np.float32))
    with pytest.raises(ImageError, match=r"nan.tif: .*no finite"):
        read_image(tmp_path / "nan.tif")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty.png: file is empty"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("<html>not an image</html>")
    with pytest.raises(ImageError, match=r"text.png: not a supported image"):
        read_image(tmp_path / "text.png")
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "missing.tif")


def test_truncated_files_raise_image_error(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = _png_bytes(rgb)
    with pytest.raises(ImageError, match="cut.png"):
        read_image(data[: len(data) // 2], name="cut.png")
    buf = _io.BytesIO()
    tifffile.imwrite(buf, rgb)
    with pytest.raises(ImageError, match="cut.tif"):
        read_image(buf.getvalue()[:300], name="cut.tif")


def test_rgba_palette_and_cmyk(tmp_path):
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., 0] = 200
    img, info = read_image(_png_bytes(rgba), name="a.png")
    assert img.shape == (6, 6, 3) and "alpha channel dropped" in info.notes
    pal = Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)).quantize(16)
    buf = _io.BytesIO()
    pal.save(buf, format="PNG")
    img, info = read_image(buf.getvalue(), name="p.png")
    assert img.shape == (8, 8, 3) and "palette expanded to RGB" in info.notes
    buf = _io.BytesIO()
    Image.new("CMYK", (5, 4), (0, 255, 0, 0)).save(buf, format="JPEG")
    img, info = read_image(buf.getvalue(), name="cmyk.jpg")
    assert img.shape == (4, 5, 3) and info.format == "JPEG"


def test_multipage_tiff_first_page_unless_asked(tmp_path):
    stack = np.stack([np.full((10, 12), v, np.uint16) for v in (100, 60000)])
    stack[0, 0, 0] = 0
    stack[1, 0, 0] = 0
    tifffile.imwrite(tmp_path / "stack.tif", stack)
    img, info = read_image(tmp_path / "stack.tif")
    assert info.pages == 2 and info.page == 0 and img.shape == (10, 12)
    img1, info1 = read_image(tmp_path / "stack.tif", page=1)
    assert info1.page == 1 and np.isclose(img1[5, 5], 60000 / 65535)
    assert "stretch" in info.normalization  # page 0 holds only 0 and 100
    with pytest.raises(ImageError, match="page 5"):
        read_image(tmp_path / "stack.tif", page=5)


def test_rgb_tiff_16bit_and_planar(tmp_path):
    rgb = (np.random.default_rng(0).random((9, 7, 3)) * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    img, info = read_image(tmp_path / "rgb.tif")
    assert img.shape == (9, 7, 3) and info.channels == 3
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate")
    img2, _ = read_image(tmp_path / "planar.tif")
    assert np.allclose(img, img2)


def test_pixel_limit_refuses_from_the_header(tmp_path):
    arr = np.zeros((300, 400), np.uint8)
    with pytest.raises(ImageError, match="exceeds the limit"):
        read_image(_png_bytes(arr), name="big.png", max_pixels=100_000)
    tifffile.imwrite(tmp_path / "big.tif", arr)
    with pytest.raises(ImageError, match="big.tif: 400 x 300 pixels"):
        read_image(tmp_path / "big.tif", max_pixels=100_000)


def _small_file_with_many_samples(axes: str) -> bytes:
    """A zlib-compressed TIFF of a few KB whose planes decode to 255 samples a pixel."""
    shape = {"YXS": (128, 128, 255), "CYXS": (2, 128, 128, 255)}[axes]
    buf = _io.BytesIO()
    tifffile.imwrite(buf, np.zeros(shape, np.uint8), photometric="minisblack", planarconfig="contig",
                     compression="zlib", metadata={"axes": axes}, ome=axes != "YXS")
    return buf.getvalue()


@pytest.mark.parametrize("axes", ["YXS", "CYXS"])
def test_decoded_size_is_checked_from_the_header_on_every_tiff_path(axes, monkeypatch):
    data = _small_file_with_many_samples(axes)
    assert len(data) < 50_000  # a 4 MB plane in a small file

    def never(*args, **kwargs):
        raise AssertionError("a page was decoded before its size was checked")
    monkeypatch.setattr(tifffile.TiffPage, "asarray", never)
    with pytest.raises(ImageError, match="each pixel would decode to 255 bytes") as err:
        read_image(data, name="many_samples.tif", max_pixels=40_000_000)
    assert err.value.too_large


def test_decoded_bytes_are_limited_beside_the_pixels():
    buf = _io.BytesIO()
    tifffile.imwrite(buf, np.zeros((100, 100, 4), np.float64), photometric="rgb", extrasamples=[2])
    read_image(buf.getvalue(), name="rgba64.tif")  # 32 bytes a pixel is the most a pixel may take
    with pytest.raises(ImageError, match="would decode to 0.3 MB, over the limit of 0.2 MB"):
        read_image(buf.getvalue(), name="rgba64.tif", max_pixels=30_000)


def test_forged_png_header_is_refused_before_decoding():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    with pytest.raises(ImageError, match="bomb.png"):
        read_image(data, name="bomb.png")


def test_exif_orientation_is_honoured():
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # white left half
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    buf = _io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    out, info = read_image(buf.getvalue(), name="rot.jpg")
    assert out.shape[:2] == (40, 20)
    assert any("EXIF" in n for n in info.notes)


def test_identical_rgb_channels_read_as_gray_and_writers(tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, (7, 9), dtype=np.uint8)
    img, info = read_image(_png_bytes(np.stack([gray] * 3, -1)), name="g3.png")
    assert img.ndim == 2 and info.channels == 1
    rgb = np.random.default_rng(1).random((5, 6, 3)).astype(np.float32)
    write_png(tmp_path / "o.png", rgb)
    back, _ = read_image(tmp_path / "o.png")
    assert np.array_equal(to_uint8(back), to_uint8(rgb))
    write_tiff16(tmp_path / "o.tif", rgb)
    assert tifffile.imread(tmp_path / "o.tif").dtype == np.uint16
    assert encode_png(to_uint8(rgb))[:4] == b"\x89PNG"


@pytest.mark.parametrize("name, expected", [
    ("cells.tif", True), ("CELLS.TIFF", True), ("細胞 画像.PNG", True), ("α-tubulin.ome.tif", True), ("scan.czi", True),
    (".hidden.png", False), (".png", False), ("notes.txt", False), ("png", False), ("cells.tif.", False),
])
def test_is_image_name_is_the_one_test_of_image_file_names(name, expected):
    assert is_image_name(name) is expected
