"""Outputs keep the input's scale and say where they came from: OME-TIFF, ImageJ tags, PNG pHYs."""
import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from colorcore.io import (ImageInfo, PixelSize, encode_png, encode_tiff16, output_description, read_image,
                          write_tiff16)

RGB = np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8)
INFO = ImageInfo(name="cells.ome.tif", format="TIFF", dtype="uint16", shape=(3, 7, 12, 20), width=20, height=12,
                 channels=1, normalization="16-bit: divided by 65535", axes="CZYX",
                 channel_names=("DAPI", "GFP", "RFP"), pixel_size=PixelSize(0.325, 0.4, "µm"),
                 selection="channel 0 (DAPI) of 3, z max of 7")


def test_description_names_input_plane_normalisation_and_checkpoint():
    text = output_description(INFO, "places500-huber")
    assert text.splitlines() == ["colorized by colorcore from: cells.ome.tif",
                                 "plane: channel 0 (DAPI) of 3, z max of 7",
                                 "normalization: 16-bit: divided by 65535",
                                 "pixel size: 0.325 x 0.4 µm",
                                 "checkpoint: places500-huber"]


def test_ome_tiff16_keeps_pixel_size_description_and_imagej_resolution(tmp_path):
    description = output_description(INFO, "places500-huber")
    write_tiff16(tmp_path / "out.tif", RGB, INFO.pixel_size, description)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.is_ome and tif.series[0].axes == "YXS"
        data = tif.asarray()
        pixels = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        res_x, res_y = tif.pages[0].get_resolution()
        unit = tif.pages[0].resolutionunit
    assert data.dtype == np.uint16 and np.array_equal(data, RGB.astype(np.uint16) * 257)
    assert pixels["Description"] == description
    px = pixels["Pixels"]
    assert (px["PhysicalSizeX"], px["PhysicalSizeY"]) == (0.325, 0.4)
    assert px["PhysicalSizeXUnit"] == px["PhysicalSizeYUnit"] == "µm"
    assert unit == tifffile.RESUNIT.CENTIMETER
    assert (1e4 / res_x, 1e4 / res_y) == (pytest.approx(0.325, rel=1e-6), pytest.approx(0.4, rel=1e-6))
    _, back = read_image(tmp_path / "out.tif")  # our own reader finds the scale again
    assert back.pixel_size == INFO.pixel_size


def test_tiff16_without_scale_and_float_input():
    data = tifffile.imread(io.BytesIO(encode_tiff16(RGB.astype(np.float32) / 255)))
    assert np.array_equal(data, RGB.astype(np.uint16) * 257)
    with tifffile.TiffFile(io.BytesIO(encode_tiff16(RGB))) as tif:
        assert "PhysicalSizeX" not in tif.ome_metadata and tif.pages[0].resolutionunit == tifffile.RESUNIT.NONE


@pytest.mark.parametrize("size, per_metre", [(PixelSize(0.325, 0.4, "µm"), (1 / 0.325e-6, 1 / 0.4e-6)),
                                             (PixelSize(4.0, 4.0, "nm"), (2.5e8, 2.5e8)),
                                             (PixelSize(0.001, 0.001, "in"), (1 / 0.0254e-3, 1 / 0.0254e-3))])
def test_png_keeps_pixel_size_as_phys(size, per_metre):
    png = encode_png(RGB, size, "provenance")
    img = Image.open(io.BytesIO(png))
    assert np.array_equal(np.asarray(img), RGB)
    dpi = img.info["dpi"]
    assert (dpi[0] / 0.0254, dpi[1] / 0.0254) == (pytest.approx(per_metre[0], abs=1),
                                                  pytest.approx(per_metre[1], abs=1))
    assert img.info["Description"] == "provenance"


def test_png_without_scale_or_with_sub_angstrom_pixels_has_no_phys():
    assert b"pHYs" not in encode_png(RGB)
    assert b"pHYs" not in encode_png(RGB, PixelSize(0.1, 0.1, "pm"))
    assert encode_png(RGB) == encode_png(RGB.astype(np.float32) / 255)
