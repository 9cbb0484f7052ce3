"""Every case of the hostile corpus posted to the HTTP API as a script would (issue 21): a PNG of the right size
with ASCII headers, or a 4xx JSON error naming the problem; never a 500 or a traceback."""
from __future__ import annotations

import io
import json
import urllib.parse

import numpy as np
import urllib3
from PIL import Image
from starlette.applications import Starlette

from colorcore.app.api import api_routes
from colorcore.app.inputs import APP_MAX_PIXELS
from colorcore.app.names import sanitize_filename
from colorcore.io import ImageError, read_image
from hostile import CASES, HOSTILE_UPLOAD_NAMES

from .asgi import request

CHECKPOINT = "places12-mse"


def _post(app, file_name: str, data: bytes):
    """POST api/colorize with the multipart body ``requests`` would send (urllib3 encodes it: a name in any script
    goes as UTF-8, control characters percent-encoded)."""
    body, content_type = urllib3.encode_multipart_formdata(
        {"checkpoint": CHECKPOINT, "working_size": "64", "image": (file_name, data, "application/octet-stream")})
    return request(app, "POST", "/api/colorize", {"Content-Type": content_type}, body)


def _expected(file_name: str, data: bytes):
    """What the library makes of the upload under the API's name and pixel limit: (image, info) or the ImageError."""
    try:
        return read_image(data, name=sanitize_filename(file_name, default="upload"), max_pixels=APP_MAX_PIXELS)
    except ImageError as err:
        return err


def _problem(name: str, expect: str, reply, expected) -> str:
    """Why the reply to case ``name`` is not handled ("" when it is)."""
    if any(not value.isascii() for value in reply.headers.values()):
        return f"non-ASCII header: {reply.headers}"
    if b"Traceback" in reply.body:
        return f"traceback in the body: {reply.body[:300]!r}"
    if expect == "ok":
        if reply.status != 200 or reply.body[:8] != b"\x89PNG\r\n\x1a\n":
            return f"expected 200 PNG, got {reply.status}: {reply.body[:300]!r}"
        if isinstance(expected, ImageError):
            return f"the library refuses it under the API's limits: {expected}"
        _, info = expected
        with Image.open(io.BytesIO(reply.body)) as png:
            png.load()
            if (png.height, png.width) != (info.height, info.width):
                return f"PNG is {png.height} x {png.width}, the input {info.height} x {info.width}"
        if reply.headers.get("x-colorcore-size") != f"{info.width}x{info.height}":
            return f"X-Colorcore-Size {reply.headers.get('x-colorcore-size')!r}"
        if urllib.parse.unquote(reply.headers.get("x-colorcore-plane", "")) != info.selection:
            return f"X-Colorcore-Plane {reply.headers.get('x-colorcore-plane')!r}, the plane read {info.selection!r}"
        return ""
    if not 400 <= reply.status < 500:
        return f"expected a 4xx, got {reply.status}: {reply.body[:300]!r}"
    if not reply.headers.get("content-type", "").startswith("application/json"):
        return f"expected a JSON error, got {reply.headers.get('content-type')!r}: {reply.body[:300]!r}"
    try:
        message = reply.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"not a JSON {{'error': ...}} body: {reply.body[:300]!r}"
    if not isinstance(expected, ImageError):
        return f"the library reads it under the API's limits, the API refused it: {message}"
    if message != str(expected):
        return f"error {message!r} is not the library's {str(expected)!r}"
    wanted = 413 if expected.too_large else 422
    if reply.status != wanted:
        return f"status {reply.status}, expected {wanted} for {message!r}"
    return ""


def test_every_hostile_case_is_answered_with_a_png_or_a_4xx_json_error(catalog_env, capsys):
    app = Starlette(routes=api_routes())
    tried, refused, answered, problems = 0, 0, 0, {}
    for name, (data, expect) in CASES.items():
        tried += 1
        reply = _post(app, name, data)
        problem = _problem(name, expect, reply, _expected(name, data))
        if problem:
            problems[name] = problem
        elif reply.status == 200:
            answered += 1
        else:
            refused += 1
    handled = refused + answered
    with capsys.disabled():
        print(f"\nAPI hostile corpus: {tried} tried, {handled} handled ({refused} refused with 4xx, "
              f"{answered} answered 200)")
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
    assert handled == tried == len(CASES)
    assert refused == sum(1 for _, expect in CASES.values() if expect == "error")


def test_hostile_upload_names_become_a_safe_download_name(catalog_env):
    app = Starlette(routes=api_routes())
    png = CASES["palette.png"][0]
    for name in HOSTILE_UPLOAD_NAMES:
        reply = _post(app, name, png)
        assert reply.status == 200, (name, reply.body[:300])
        assert all(value.isascii() for value in reply.headers.values())
        disposition = reply.headers["content-disposition"]
        fallback = disposition.split('filename="')[1].split('"')[0]
        assert "/" not in fallback and "\\" not in fallback and ".." not in fallback, (name, disposition)
        with Image.open(io.BytesIO(reply.body)) as result:
            assert np.asarray(result).shape[:2] == (48, 64)
