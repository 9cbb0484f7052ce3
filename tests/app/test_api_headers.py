"""The API's headers carry text from files (channel names, file names) in any script without failing (issue 21.1)."""
from __future__ import annotations

import io
import json
import urllib.parse

import numpy as np
import tifffile
from starlette.applications import Starlette

from colorcore.app.api import api_routes, content_disposition, header_text

from .asgi import request


def _ome_tiff_with_channels(names: list[str]) -> bytes:
    buf = io.BytesIO()
    data = (np.random.default_rng(0).random((len(names), 40, 56)) * 60000).astype(np.uint16)
    tifffile.imwrite(buf, data, metadata={"axes": "CYX", "Channel": {"Name": names}}, ome=True)
    return buf.getvalue()


def _multipart(fields: dict, file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "colorcoreboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{file_name}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _post(app, path: str, body: bytes, content_type: str) -> tuple[int, dict, bytes]:
    """One request through the ASGI app, as a server would send it (Starlette encodes the headers here)."""
    reply = request(app, "POST", path, {"Content-Type": content_type}, body)
    return reply.status, reply.headers, reply.body


def test_a_channel_named_in_greek_and_a_file_named_in_cjk_are_served(catalog_env):
    app = Starlette(routes=api_routes())
    body, content_type = _multipart({"checkpoint": "places12-mse", "channel": "α-tubulin"}, "細胞 画像 α.ome.tif",
                                    _ome_tiff_with_channels(["DAPI", "α-tubulin"]))
    status, headers, content = _post(app, "/api/colorize", body, content_type)
    assert status == 200, content[:300]
    assert content[:4] == b"\x89PNG"
    assert all(value.isascii() for value in headers.values())
    assert urllib.parse.unquote(headers["x-colorcore-plane"]) == "channel 1 (α-tubulin) of 2"
    # the name itself is reduced by names.sanitize_filename (issue 21.2, still open); the header stays valid
    assert urllib.parse.unquote(headers["content-disposition"].split("filename*=UTF-8''")[1]).endswith(
        "_places12-mse.png")


def test_header_text_keeps_ascii_and_round_trips_any_script():
    assert header_text("channel 0 (DAPI) of 2, z 3 of 7") == "channel 0 (DAPI) of 2, z 3 of 7"
    for text in ["α-tubulin", "細胞", "ядро 100%", "line\r\nX-Injected: 1", "خلية"]:
        value = header_text(text)
        assert value.isascii() and "\r" not in value and "\n" not in value
        assert urllib.parse.unquote(value) == text


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name():
    value = content_disposition('画像 "a".png')
    assert value.isascii()
    assert 'filename="__ _a_.png"' in value
    assert urllib.parse.unquote(value.split("filename*=UTF-8''")[1]) == '画像 "a".png'
    json.dumps(value)
