"""colorcore.app.downloads and the route that serves them: a page's download survives its reruns."""
from __future__ import annotations

import urllib.parse

from starlette.applications import Starlette

from colorcore.app.api import api_routes
from colorcore.app.downloads import DOWNLOADS, Download, Downloads, link_html

from .asgi import request


def _file(key, data: bytes = b"data", name: str = "cells.png") -> Download:
    return Download(lambda: data, name, "image/png", key)


def test_a_download_keeps_its_token_on_every_run_of_its_session_and_no_other_session_has_it():
    downloads = Downloads()
    first = downloads.register("session-a", _file(("file", "png", "digest-1")), run=1)
    again = downloads.register("session-a", _file(("file", "png", "digest-1"), b"made again"), run=2)
    other = downloads.register("session-b", _file(("file", "png", "digest-1")), run=1)
    assert first == again  # a button drawn by the run before names the download the rerun drew
    assert other != first
    assert downloads.get(first).make() == b"made again"
    assert downloads.get("0" * 40) is None
    assert len(downloads) == 2


def test_another_file_gets_another_token_so_an_old_button_never_fetches_the_new_upload():
    downloads = Downloads()
    old = downloads.register("s", _file(("file", "png", "digest-1"), b"old", "old.png"), run=1)
    new = downloads.register("s", _file(("file", "png", "digest-2"), b"new", "new.png"), run=2)
    assert old != new
    assert downloads.get(old).make() == b"old" and downloads.get(new).file_name == "new.png"


def test_a_session_keeps_the_downloads_of_its_last_two_runs_and_ended_sessions_are_dropped():
    downloads = Downloads(per_session=3)
    first, second = downloads.register("s", _file("a"), run=1), downloads.register("s", _file("b"), run=2)
    assert downloads.get(first) is not None  # a click may still come from run 1's buttons while run 2 draws
    third = downloads.register("s", _file("c"), run=3)
    assert downloads.get(first) is None and downloads.get(second) is not None and downloads.get(third) is not None
    many = [downloads.register("s", _file(i), run=3) for i in range(4)]
    assert [downloads.get(t) is not None for t in many] == [False, True, True, True]  # at most per_session
    downloads.register("ended", _file("x"), run=1)
    downloads.forget(lambda session: session == "s")
    assert len(downloads) == 3


def test_the_link_escapes_names_in_any_script():
    html = link_html("/api/download/abc", _file(1, name='細胞 "α" <b>.png'), 'Download 細胞 "α" <b>.png', "4 MP")
    assert 'download="細胞 &quot;α&quot; &lt;b&gt;.png"' in html
    assert '>Download 細胞 &quot;α&quot; &lt;b&gt;.png</a>' in html
    assert "<b>" not in html


def test_the_route_serves_a_registered_file_made_when_fetched_under_its_exact_name():
    made = []

    def make():
        made.append(1)
        return b"\x89PNG result"

    token = DOWNLOADS.register("route-test", Download(make, "細胞_α.png", "image/png", ("route", 1)), run=1)
    assert not made  # nothing is made until the download is fetched
    app = Starlette(routes=api_routes("colorcore"))
    reply = request(app, "GET", f"/colorcore/api/download/{token}", {"Sec-Fetch-Site": "same-origin"})
    assert reply.status == 200 and reply.body == b"\x89PNG result" and made == [1]
    assert reply.headers["content-type"] == "image/png"
    assert urllib.parse.quote("細胞_α.png") in reply.headers["content-disposition"]
    assert reply.headers["cache-control"] == "no-store"


def test_an_unknown_token_or_a_file_that_cannot_be_made_is_a_json_error():
    app = Starlette(routes=api_routes())
    missing = request(app, "GET", "/api/download/" + "0" * 40)
    assert missing.status == 404 and "no longer offered" in missing.json()["error"]

    def gone() -> bytes:
        raise FileNotFoundError(2, "No such file or directory", "/srv/checkpoints/stain.safetensors")

    token = DOWNLOADS.register("route-test", Download(gone, "stain.safetensors", "application/octet-stream", "gone"), run=1)
    reply = request(app, "GET", f"/api/download/{token}")
    assert reply.status == 410 and "stain.safetensors could not be made" in reply.json()["error"]
