"""Microscope TIFFs: every common compression, OME/ImageJ axes, channel/z/t choices, pixel size,
plane-at-a-time reading of large stacks, and clear errors for damaged or wrong choices."""
import io
import re
import tracemalloc

import numpy as np
import pytest
import tifffile

from colorcore.io import ImageError, PixelSize, parse_channel, parse_z, read_image, read_layout

CHANNELS = ["DAPI", "GFP", "RFP"]


def _stack(shape=(2, 3, 7, 24, 32), seed=0) -> np.ndarray:
    """uint16 data whose every plane is distinct: value = 1000 * plane number + noise."""
    rng = np.random.default_rng(seed)
    planes = int(np.prod(shape[:-2]))
    offsets = (np.arange(planes, dtype=np.uint16) * 1000).reshape(shape[:-2] + (1, 1))
    return offsets + rng.integers(0, 500, shape, dtype=np.uint16)


def _ome(path, data, axes="TCZYX", names=CHANNELS, size=(0.325, 0.5), unit="µm", **kw):
    metadata = {"axes": axes, "PhysicalSizeX": size[0], "PhysicalSizeY": size[1],
                "PhysicalSizeXUnit": unit, "PhysicalSizeYUnit": unit}
    if names:
        metadata["Channel"] = {"Name": names}
    tifffile.imwrite(path, data, ome=True, metadata=metadata, **kw)
    return path


@pytest.mark.parametrize("compression", ["lzw", "zlib", "adobe_deflate", "zstd", "lzma", "packbits"])
def test_lossless_compressions_read_exactly(tmp_path, compression):
    data = _stack((3, 40, 50))
    path = tmp_path / f"{compression}.tif"
    tifffile.imwrite(path, data, compression=compression, predictor=compression in ("lzw", "zlib"),
                     photometric="minisblack", metadata={"axes": "ZYX"})
    assert tifffile.TiffFile(path).pages[1].compression != tifffile.COMPRESSION.NONE
    img, info = read_image(path, z=1)
    assert info.axes == "ZYX" and info.selection == "z 1 of 3"
    assert np.array_equal(img, read_image(_plain_tiff(data[1]), name="plain.tif")[0])


def _plain_tiff(plane: np.ndarray) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, plane)
    return buf.getvalue()


def test_jpeg_compressed_tiffs_gray_and_rgb(tmp_path):
    y, x = np.mgrid[0:64, 0:80]
    gray = (x * 3 + y).astype(np.uint8)
    tifffile.imwrite(tmp_path / "gray.tif", gray, compression="jpeg")
    img, info = read_image(tmp_path / "gray.tif")
    assert info.dtype == "uint8" and np.abs(img * 255 - gray).max() < 8
    rgb = np.stack([gray, 255 - gray, np.full_like(gray, 90)], -1)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, compression="jpeg", photometric="rgb")
    img, info = read_image(tmp_path / "rgb.tif")
    assert img.shape == (64, 80, 3) and np.abs(img * 255 - rgb).mean() < 3


def test_ome_defaults_choices_and_metadata(tmp_path):
    data = _stack()
    path = _ome(tmp_path / "cells.ome.tif", data, compression="lzw")
    img, info = read_image(path)
    assert info.axes == "TCZYX" and info.shape == (2, 3, 7, 24, 32)
    assert info.channel_names == tuple(CHANNELS)
    assert info.pixel_size == PixelSize(0.325, 0.5, "µm")
    assert info.selection == "channel 0 (DAPI) of 3, z 3 of 7, t 0 of 2"  # first channel, middle plane
    assert _plane_number(img, info) == 3
    _, info = read_image(path, channel="GFP", z=6, t=1)
    assert info.selection == "channel 1 (GFP) of 3, z 6 of 7, t 1 of 2"
    img, _ = read_image(path, channel=2, z=0, t=1)
    assert np.array_equal(img, read_image(_plain_tiff(data[1, 2, 0]), name="p.tif")[0])
    _, same = read_image(path, channel="gfp")  # names match without case when unambiguous
    assert same.selection.startswith("channel 1 (GFP)")


def _plane_number(img: np.ndarray, info) -> int:
    """Recover the plane of ``_stack`` a read returned from the normalisation's lower bound."""
    low = float(info.normalization.split("(")[1].split(" ")[0])
    return int(low // 1000)


def test_max_projection_equals_numpy(tmp_path):
    data = _stack((3, 5, 16, 20))
    data[1, 2, 3, 4] = 60000  # one bright pixel in one plane
    path = _ome(tmp_path / "zmax.ome.tif", data, axes="CZYX", compression="zlib")
    img, info = read_image(path, channel=1, z="max")
    assert info.selection == "channel 1 (GFP) of 3, z max of 5"
    expected, _ = read_image(_plain_tiff(data[1].max(axis=0)), name="m.tif")
    assert np.array_equal(img, expected) and img[3, 4] == pytest.approx(60000 / 65535)


def test_imagej_hyperstack_axes_and_scale(tmp_path):
    data = _stack((4, 2, 20, 30))
    path = tmp_path / "hyper.tif"
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.2, 1 / 0.2),
                     metadata={"axes": "ZCYX", "unit": "um", "spacing": 1.5})
    layout = read_layout(path)
    assert layout.axes == "ZCYX" and layout.size("C") == 2 and layout.size("Z") == 4 and layout.size("T") == 1
    assert layout.pixel_size.unit == "µm" and layout.pixel_size.x == pytest.approx(0.2)
    assert layout.channel_label(1) == "channel 1"
    img, info = read_image(path, channel=1, z=2)
    assert np.array_equal(img, read_image(_plain_tiff(data[2, 1]), name="p.tif")[0])


def test_contiguous_stack_with_one_ifd_is_memory_mapped(tmp_path):
    """ImageJ writes stacks over 4 GB with one IFD and contiguous data; read a plane without the rest."""
    data = _stack((5, 3, 20, 30))
    path = tmp_path / "big_imagej.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "ZCYX"}, truncate=True)
    assert len(tifffile.TiffFile(path).pages) == 1
    expected, _ = read_image(_plain_tiff(data[4, 2]), name="p.tif")
    for source in (path, path.read_bytes()):
        img, info = read_image(source, name="big_imagej.tif", channel=2, z=4)
        assert np.array_equal(img, expected) and info.selection == "channel 2 of 3, z 4 of 5"


def test_tifffile_axes_metadata_and_rgb_stacks(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 256, (3, 12, 16, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgbz.ome.tif", rgb, ome=True, photometric="rgb", metadata={"axes": "ZYXS"})
    img, info = read_image(tmp_path / "rgbz.ome.tif", z=2)
    assert img.shape == (12, 16, 3) and info.axes == "ZYXS" and np.allclose(img * 255, rgb[2])
    img, info = read_image(tmp_path / "rgbz.ome.tif", z="max")
    assert np.allclose(img * 255, rgb.max(axis=0))


def test_plain_files_keep_their_behaviour_and_refuse_axis_choices(tmp_path):
    stack = np.stack([np.full((10, 12), v, np.uint16) for v in (100, 60000)])
    tifffile.imwrite(tmp_path / "pages.tif", stack)
    img, info = read_image(tmp_path / "pages.tif")
    assert info.page == 0 and info.pages == 2 and info.selection == "" and info.axes == "YX"
    for ok in ({"channel": 0}, {"z": 0}, {"z": "max"}, {"t": 0}):
        read_image(tmp_path / "pages.tif", **ok)
    with pytest.raises(ImageError, match=r"pages.tif: z 1 is out of range: there is no Z axis; the file has "
                                         r"axes Y=10, X=12; choose a page .* with page="):
        read_image(tmp_path / "pages.tif", z=1)
    with pytest.raises(ImageError, match="no channel named 'DAPI': the file names no channels"):
        read_image(tmp_path / "pages.tif", channel="DAPI")


def test_pixel_size_from_centimetre_tags_not_from_print_dpi(tmp_path):
    arr = np.zeros((8, 8), np.uint8)
    tifffile.imwrite(tmp_path / "cm.tif", arr, resolution=(1e4 / 0.65, 1e4 / 0.65), resolutionunit="CENTIMETER")
    assert read_image(tmp_path / "cm.tif")[1].pixel_size.x == pytest.approx(0.65)
    tifffile.imwrite(tmp_path / "dpi.tif", arr, resolution=(72, 72), resolutionunit="INCH")
    assert read_image(tmp_path / "dpi.tif")[1].pixel_size is None


def test_nanometre_ome_pixel_size_and_unnamed_channels(tmp_path):
    path = _ome(tmp_path / "em.ome.tif", _stack((2, 16, 16)), axes="CYX", names=None, size=(4.2, 4.2), unit="nm")
    img, info = read_image(path, channel=1)
    assert info.pixel_size == PixelSize(4.2, 4.2, "nm") and info.channel_names == ()
    assert info.selection == "channel 1 of 2"


def test_pixel_limit_applies_to_the_plane_not_the_stack(tmp_path):
    path = _ome(tmp_path / "tall.ome.tif", _stack((1, 1, 40, 50, 60)))
    img, info = read_image(path, max_pixels=50 * 60)  # the stack holds 40 times more
    assert img.shape == (50, 60)
    with pytest.raises(ImageError, match=r"tall.ome.tif: 60 x 50 pixels .* exceeds the limit"):
        read_image(path, max_pixels=50 * 60 - 1)


def _peak_bytes(read) -> int:
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_one_plane_of_a_40_mb_stack_is_read_alone(tmp_path):
    data = np.zeros((4, 10, 512, 1024), np.uint16)  # 40 MiB: 40 planes of 1 MiB
    data[2, 3] = 7
    path = _ome(tmp_path / "stack40.ome.tif", data, axes="CZYX", names=None)
    tifffile.imwrite(tmp_path / "plane.tif", data[2, 3])
    single = _peak_bytes(lambda: read_image(tmp_path / "plane.tif"))  # decoding + normalising one plane
    plane_bytes = 512 * 1024 * 2
    assert _peak_bytes(lambda: read_image(path, channel=2, z=3)) < single + plane_bytes
    assert _peak_bytes(lambda: read_image(path, channel=1, z="max")) < single + 2 * plane_bytes
    img, _ = read_image(path, channel=2, z=3)
    assert img.shape == (512, 1024) and img.max() == img.min()


@pytest.mark.parametrize("choice, message", [
    ({"channel": "CY5"}, "no channel named 'CY5'"),
    ({"channel": 3}, r"channel 3 is out of range: C has 3 entries \(0-2\)"),
    ({"z": 7}, r"z 7 is out of range: Z has 7 entries \(0-6\)"),
    ({"t": 5}, r"t 5 is out of range: T has 2 entries \(0-1\)"),
    ({"z": -1}, r"z -1 is out of range"),
    ({"z": 1.5}, r"z must be an integer index, got 1.5"),
])
def test_wrong_choices_name_the_file_axes_and_sizes(tmp_path, choice, message):
    path = _ome(tmp_path / "c.ome.tif", _stack())
    with pytest.raises(ImageError) as err:
        read_image(path, **choice)
    assert str(err.value).startswith("c.ome.tif: ")
    assert err.value.args[0].endswith("the file has axes T=2, C=3 (DAPI, GFP, RFP), Z=7, Y=24, X=32")
    assert re.search(message, str(err.value))


def test_page_and_axis_choice_together_are_refused(tmp_path):
    path = _ome(tmp_path / "c.ome.tif", _stack((2, 3, 8, 8)), axes="CZYX", names=["a", "b"])
    _, info = read_image(path, page=4)  # a raw page stays readable
    assert info.page == 4 and info.selection == ""
    with pytest.raises(ImageError, match="give either page or channel/z/t"):
        read_image(path, page=1, z=2)


def _ome_bytes(data=None, **kw) -> bytes:
    buf = io.BytesIO()
    _ome(buf, _stack((3, 7, 20, 30)) if data is None else data, axes="CZYX", **kw)
    return buf.getvalue()


def _replace_ome_xml(data: bytes, old: str, new: str) -> bytes:
    xml = tifffile.TiffFile(io.BytesIO(data)).ome_metadata
    bad = xml.replace(old, new)
    assert bad != xml
    return data.replace(xml.encode(), bad.ljust(len(xml)).encode())


@pytest.mark.parametrize("case, message", [
    ("truncated_half", "damaged or truncated TIFF"),
    ("truncated_end", "damaged or truncated TIFF"),
    ("xml_syntax", "invalid OME metadata"),
    ("xml_missing_planes", r"OME metadata describe 27 planes .* 6 are not in the file"),
    ("xml_unknown_axis", "invalid OME metadata"),
])
def test_damaged_ome_tiffs_give_one_clear_error(case, message):
    data = _ome_bytes(compression="lzw")
    hostile = {
        "truncated_half": lambda: data[: len(data) // 2],
        "truncated_end": lambda: data[:-100],
        "xml_syntax": lambda: _replace_ome_xml(data, "</Pixels>", "</Pixelz>"),
        "xml_missing_planes": lambda: _replace_ome_xml(data, 'SizeZ="7"', 'SizeZ="9"'),
        "xml_unknown_axis": lambda: _replace_ome_xml(data, 'DimensionOrder="XYZCT"', 'DimensionOrder="XYQCT"'),
    }[case]()
    with pytest.raises(ImageError) as err:
        read_image(hostile, name=f"{case}.ome.tif")
    text = str(err.value)
    assert text.startswith(f"{case}.ome.tif: ") and "\n" not in text
    assert re.search(message, text)


def test_tifffile_log_is_captured_not_printed(capsys, caplog):
    data = _replace_ome_xml(_ome_bytes(), 'SizeZ="7"', 'SizeZ="9"')
    with pytest.raises(ImageError):
        read_image(data, name="x.ome.tif")
    assert capsys.readouterr().err == "" and not caplog.records


def test_parsers_for_typed_choices():
    assert parse_channel("2") == 2 and parse_channel(" DAPI ") == "DAPI"
    assert parse_z("max") == "max" and parse_z("MAX") == "max" and parse_z("4") == 4
    for bad in ("-1", "middle", ""):
        with pytest.raises(ValueError, match="z must be a plane index"):
            parse_z(bad)
    with pytest.raises(ValueError):
        parse_channel("  ")


def test_layout_of_pngs_and_bytes(tmp_path):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.zeros((5, 7, 3), np.uint8)).save(buf, format="PNG")
    layout = read_layout(buf.getvalue(), name="x.png")
    assert layout.axes == "YXS" and layout.shape == (5, 7, 3) and layout.size("C") == 1
    assert read_layout(_ome_bytes(), name="o.ome.tif").describe() == "C=3 (DAPI, GFP, RFP), Z=7, Y=20, X=30"
    with pytest.raises(ImageError, match="junk.tif: not a supported image"):
        read_layout(b"not an image at all", name="junk.tif")
