"""An API request whose job hangs gets a JSON 503 with Retry-After once the queue gives the job up; the next
request is served (before the queue's job limit, a hung job held the only worker and every later request
waited for good)."""
from __future__ import annotations

import threading

import numpy as np
from starlette.applications import Starlette

from app.asgi import request
from app.test_api_headers import _multipart
from colorcore.app import api
from colorcore.serve import get_server
from helpers import make_color_image, png_bytes


def _post(png: bytes):
    body, content_type = _multipart({"checkpoint": "places12-mse"}, "cells.png", png)
    return request(Starlette(routes=api.api_routes()), "POST", "/api/colorize", {"Content-Type": content_type}, body)


def test_a_hung_job_answers_503_and_the_next_request_is_served(catalog_env, monkeypatch):
    png = png_bytes(make_color_image(np.random.default_rng(8), 48, 64))
    queue = get_server().queue
    released = threading.Event()
    with monkeypatch.context() as patched:
        patched.setattr(queue, "job_limit_s", 0.5)  # the server's default is 600 s ($COLORCORE_JOB_LIMIT_S)
        patched.setattr(api, "colorize_file", lambda *args: released.wait(60))
        hung = _post(png)
    released.set()
    assert hung.status == 503 and hung.headers["content-type"] == "application/json"
    assert "limit of 0.5 s" in hung.json()["error"] and hung.headers["retry-after"]
    assert _post(png).status == 200
