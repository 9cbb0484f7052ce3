"""Who the API answers and what it tells them (issue 21): browsers' cross-origin requests are refused (a page of
another site would send the user's sign-in along), scripts are served; the checkpoint listing names no user's
training data."""
from __future__ import annotations

import shutil

import pytest
from starlette.applications import Starlette

from colorcore import paths
from colorcore.app.api import api_routes
from colorcore.checkpoints import read_metadata, update_metadata

from .asgi import request

#: What a user's upload and job folder were called: none of it may reach another user.
SECRET_ZIP = "alice-unpublished-knockout-cells.zip"


@pytest.fixture()
def app(catalog_env):
    return Starlette(routes=api_routes("colorcore"))


FOREIGN = [
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "https://evil.example"},  # a browser that sends no Sec-Fetch-* headers
    {"Origin": "http://127.0.0.1:9999"},  # another port of the same host is another origin
    {"Origin": "null"},  # a sandboxed frame or a file:// page
    {"Sec-Fetch-Site": "same-site", "Origin": "https://other.lab.example"},
    {"Sec-Fetch-Site": "cross-site"},
]


@pytest.mark.parametrize("headers", FOREIGN)
@pytest.mark.parametrize("method,path", [("POST", "/colorcore/api/colorize"), ("GET", "/colorcore/api/checkpoints")])
def test_requests_a_browser_makes_from_another_origin_are_refused(app, headers, method, path):
    reply = request(app, method, path, headers, b"")
    assert reply.status == 403
    assert "cross-origin" in reply.json()["error"]


@pytest.mark.parametrize("headers", [
    {},  # curl, requests, a script
    {"Origin": "http://127.0.0.1:8501", "Sec-Fetch-Site": "same-origin"},
    {"Origin": "http://127.0.0.1:8501"},
    {"Sec-Fetch-Site": "none"},  # typed into the address bar
    {"Sec-Fetch-Site": "same-origin", "Origin": "https://lab.example", "Host": "127.0.0.1:8501"},  # a proxy's Host
])
def test_scripts_and_the_explorers_own_pages_are_served(app, headers):
    assert request(app, "GET", "/colorcore/api/checkpoints", headers).status == 200
    reply = request(app, "POST", "/colorcore/api/colorize", {**headers, "Content-Type": "multipart/form-data; boundary=x"},
                    b"--x--\r\n")
    assert reply.status == 400 and "field 'image'" in reply.json()["error"]  # past the origin check


@pytest.fixture()
def train_page_checkpoint(tiny_checkpoint, tmp_path, monkeypatch):
    """A user checkpoint as the Train page writes it: fine-tuned on an uploaded ZIP extracted in a job folder."""
    user = tmp_path / "user-checkpoints"
    user.mkdir()
    monkeypatch.setenv(paths.USER_CHECKPOINTS_ENV, str(user))
    path = user / "lab-cells.safetensors"
    shutil.copy(tiny_checkpoint, path)
    folder = str(user / ".jobs" / "0123456789abcdef" / "data")
    meta = read_metadata(path)
    update_metadata(path, name="lab-cells", domain="lab", parent={"name": "places500-huber", "sha256": "0" * 64},
                    description=f"fine-tuned from places500-huber on 12 images of {SECRET_ZIP} (Train page)",
                    train_config={**meta["train_config"], "data": folder, "out": str(path)},
                    data={**meta["data"], "root": folder, "split": {**meta["data"]["split"], "train": 12}})
    return folder


def test_the_listing_names_no_users_training_data_or_folders(app, train_page_checkpoint):
    reply = request(app, "GET", "/colorcore/api/checkpoints")
    text = reply.body.decode()
    assert SECRET_ZIP not in text and "alice" not in text
    assert train_page_checkpoint not in text and ".jobs" not in text and str(paths.user_catalog_dir()) not in text
    entry = next(e for e in reply.json()["checkpoints"] if e["name"] == "lab-cells")
    assert entry["description"] == "fine-tuned from places500-huber on 12 training images on this server's Train page"
    assert entry["domain"] == "lab"
    shipped = next(e for e in reply.json()["checkpoints"] if e["name"] == "places12-mse")
    assert shipped["description"] == "tiny stand-in for places12-mse"  # shipped descriptions are kept
