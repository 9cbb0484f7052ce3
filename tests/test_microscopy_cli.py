"""``colorize`` on microscope files: channel/z/t options, scale kept on output, one line per bad file."""
import io

import numpy as np
import pytest
import tifffile
from PIL import Image
from pylibCZIrw import czi as pyczi

from colorcore.cli import main

PIXEL_UM = (0.325, 0.325)


def _ome_3c_7z(path, compression="lzw"):
    """A 3-channel, 7-plane, LZW-compressed OME-TIFF with channel names and a physical pixel size."""
    data = np.random.default_rng(0).integers(100, 4000, (3, 7, 36, 44), dtype=np.uint16)
    tifffile.imwrite(path, data, ome=True, compression=compression,
                     metadata={"axes": "CZYX", "Channel": {"Name": ["DAPI", "GFP", "RFP"]},
                               "PhysicalSizeX": PIXEL_UM[0], "PhysicalSizeY": PIXEL_UM[1]})
    return path


def _run(tiny_checkpoint, out, *args) -> int:
    return main(["colorize", *map(str, args), "--checkpoint", str(tiny_checkpoint), "--out", str(out),
                 "--working-size", "32"])


def test_dapi_max_projection_to_ome_tiff_keeps_the_pixel_size(tiny_checkpoint, tmp_path, capsys):
    src = _ome_3c_7z(tmp_path / "X.ome.tif")
    assert tifffile.TiffFile(src).pages[0].compression == tifffile.COMPRESSION.LZW
    code = _run(tiny_checkpoint, tmp_path / "o", src, "--channel", "DAPI", "--z", "max", "--tiff16")
    line = capsys.readouterr().out.strip()
    assert code == 0
    assert "channel 0 (DAPI) of 3, z max of 7" in line and "pixel 0.325 x 0.325 µm" in line
    with tifffile.TiffFile(tmp_path / "o" / "X.tif") as out, tifffile.TiffFile(src) as inp:
        got = tifffile.xml2dict(out.ome_metadata)["OME"]["Image"]
        given = tifffile.xml2dict(inp.ome_metadata)["OME"]["Image"]["Pixels"]
        assert out.series[0].shape == (36, 44, 3) and out.series[0].dtype == np.uint16
    for key in ("PhysicalSizeX", "PhysicalSizeY"):
        assert got["Pixels"][key] == given[key] == pytest.approx(0.325)
        assert got["Pixels"][key + "Unit"] == given.get(key + "Unit", "µm") == "µm"
    for expected in ("X.ome.tif", "channel 0 (DAPI) of 3, z max of 7", "normalization: 16-bit", "checkpoint: tiny"):
        assert expected in got["Description"]
    png = Image.open(tmp_path / "o" / "X.png")
    assert png.size == (44, 36) and png.info["dpi"][0] / 0.0254 == pytest.approx(1 / 0.325e-6, abs=1)


def test_wrong_choices_are_one_line_each_and_the_batch_goes_on(tiny_checkpoint, tmp_path, capsys):
    good = _ome_3c_7z(tmp_path / "good.ome.tif")
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, np.random.default_rng(1).integers(0, 4000, (30, 40), dtype=np.uint16))
    other = tmp_path / "other.ome.tif"
    tifffile.imwrite(other, np.zeros((2, 8, 8), np.uint16), ome=True,
                     metadata={"axes": "CYX", "Channel": {"Name": ["GFP", "RFP"]}})
    buf = io.BytesIO()
    _ome_3c_7z(buf)
    (tmp_path / "cut.ome.tif").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    czi = tmp_path / "stack.czi"
    with pyczi.create_czi(str(czi)) as writer:
        for z in range(3):
            writer.write(data=np.full((16, 20, 1), 100 * z, np.uint16), plane={"C": 0, "Z": z, "T": 0})
        writer.write_metadata(channel_names={0: "DAPI"}, scale_x=1e-6, scale_y=1e-6)
    code = _run(tiny_checkpoint, tmp_path / "o", good, plain, other, tmp_path / "cut.ome.tif", czi,
                "--channel", "DAPI", "--z", "2")
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 3 and "Traceback" not in err
    assert "plain.tif: no channel named 'DAPI': the file names no channels; the file has axes Y=30, X=40" in lines[0]
    assert "other.ome.tif: no channel named 'DAPI'; the file has axes C=2 (GFP, RFP), Y=8, X=8" in lines[1]
    assert "cut.ome.tif: damaged or truncated TIFF" in lines[2]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["good.png", "stack.png"]
    assert "z 2 of 7" in out and "z 2 of 3" in out


def test_choice_syntax_errors_and_page_default(tiny_checkpoint, tmp_path, capsys):
    src = _ome_3c_7z(tmp_path / "s.ome.tif", compression=None)
    assert _run(tiny_checkpoint, tmp_path / "o", src, "--z", "middle") == 2
    assert capsys.readouterr().err.strip() == \
        "colorcore: error: z must be a plane index (0, 1, ...) or 'max', got 'middle'"
    assert _run(tiny_checkpoint, tmp_path / "o", src, "--page", "5") == 0  # a raw page, as before
    assert "z " not in capsys.readouterr().out
