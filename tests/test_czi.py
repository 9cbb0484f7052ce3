"""Zeiss CZI files written by pylibCZIrw: axes, channel names, pixel size, choices, damage."""
import io

import numpy as np
import pytest
import tifffile
from pylibCZIrw import czi as pyczi

from colorcore.io import ImageError, read_image, read_layout


def _write_czi(path, data: np.ndarray, names=("DAPI", "GFP", "RFP"), scale=0.65e-6):
    """``data`` is (T, C, Z, Y, X) gray or (T, C, Z, Y, X, 3) BGR."""
    with pyczi.create_czi(str(path), exist_ok=True) as czi:
        for t, c, z in np.ndindex(*data.shape[:3]):
            plane = data[t, c, z]
            czi.write(data=plane if plane.ndim == 3 else plane[..., None], plane={"T": t, "C": c, "Z": z})
        czi.write_metadata(document_name=path.stem, channel_names=dict(enumerate(names)) if names else None,
                           scale_x=scale, scale_y=scale, scale_z=2e-6)
    return path


def _planes(shape=(2, 3, 5, 20, 30)) -> np.ndarray:
    offsets = (np.arange(int(np.prod(shape[:3])), dtype=np.uint16) * 1000).reshape(shape[:3] + (1, 1))
    return offsets + np.random.default_rng(0).integers(0, 500, shape, dtype=np.uint16)


def _gray_tiff_image(plane: np.ndarray):
    buf = io.BytesIO()
    tifffile.imwrite(buf, plane)
    return read_image(buf.getvalue(), name="ref.tif")[0]


def test_czi_axes_names_pixel_size_and_defaults(tmp_path):
    data = _planes()
    path = _write_czi(tmp_path / "cells.czi", data)
    layout = read_layout(path)
    assert layout.axes == "TCZYX" and layout.shape == (2, 3, 5, 20, 30)
    assert layout.channel_names == ("DAPI", "GFP", "RFP")
    assert layout.pixel_size.unit == "µm" and layout.pixel_size.x == pytest.approx(0.65)
    img, info = read_image(path)
    assert info.format == "CZI" and info.dtype == "uint16" and img.shape == (20, 30)
    assert info.selection == "channel 0 (DAPI) of 3, z 2 of 5, t 0 of 2"
    assert np.array_equal(img, _gray_tiff_image(data[0, 0, 2]))


def test_czi_choices_and_max_projection_from_bytes(tmp_path):
    data = _planes()
    raw = _write_czi(tmp_path / "c.czi", data).read_bytes()
    img, info = read_image(raw, name="c.czi", channel="RFP", z=4, t=1)
    assert np.array_equal(img, _gray_tiff_image(data[1, 2, 4]))
    img, info = read_image(raw, name="c.czi", channel=1, z="max")
    assert info.selection == "channel 1 (GFP) of 3, z max of 5, t 0 of 2"
    assert np.array_equal(img, _gray_tiff_image(data[0, 1].max(axis=0)))


def test_czi_rgb_is_returned_as_rgb(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (1, 1, 1, 12, 16, 3), dtype=np.uint8)
    path = _write_czi(tmp_path / "he.czi", rgb[..., ::-1].copy(), names=None, scale=0.25e-6)  # CZI stores BGR
    img, info = read_image(path)
    assert info.axes == "YXS" and img.shape == (12, 16, 3) and info.selection == ""
    assert np.allclose(img * 255, rgb[0, 0, 0])
    size = info.pixel_size
    assert (size.x, size.y, size.unit) == (pytest.approx(0.25), pytest.approx(0.25), "µm")


@pytest.mark.parametrize("choice, message", [
    ({"channel": "CY5"}, "no channel named 'CY5'"),
    ({"z": 5}, r"z 5 is out of range: Z has 5 entries \(0-4\)"),
    ({"t": 2}, r"t 2 is out of range: T has 2 entries"),
    ({"page": 1}, "page= does not apply to CZI files"),
])
def test_czi_wrong_choices(tmp_path, choice, message):
    path = _write_czi(tmp_path / "w.czi", _planes())
    with pytest.raises(ImageError, match=rf"^w.czi: {message}"):
        read_image(path, **choice)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_czi_is_one_clear_error(tmp_path, cut):
    data = _write_czi(tmp_path / "t.czi", _planes()).read_bytes()
    with pytest.raises(ImageError, match=r"^cut.czi: not a readable CZI file, damaged or truncated"):
        read_image(data[: int(len(data) * cut)], name="cut.czi")
