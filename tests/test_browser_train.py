"""Real-browser test of the Train page: upload a ZIP of colour images, fine-tune a tiny checkpoint for 2 epochs,
watch the live Plotly curves, and find the new checkpoint in the Colorize picker under the domain lab.

`streamlit run streamlit_app.py` on the tiny catalog with an empty user-checkpoint folder, driven by Debian's
Chromium through Playwright; fails on any browser console error, request leaving localhost or exception box.
"""
from __future__ import annotations

import re

import pytest

from browser_app import TIMEOUT_MS, chromium, no_exception_box, open_page, streamlit_server, upload, wait_idle, \
    watch_errors
from helpers import color_zip

#: Milliseconds the tiny job may take (a process of its own: torch import, 2 epochs, evaluation).
JOB_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def server(tiny_catalog, tmp_path_factory):
    user = tmp_path_factory.mktemp("browser-user-checkpoints")
    with streamlit_server(tiny_catalog, COLORCORE_USER_CHECKPOINTS=str(user)) as url:
        yield url


def choose_base(page, name: str, tries: int = 3) -> None:
    """Pick ``name`` in "Start from" (typed into the select box) until the checkpoint name follows it,
    which shows the page has rerun with it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_role("combobox", name="Start from")
    for _ in range(tries):
        box.click()
        box.fill(name)
        page.keyboard.press("Enter")
        try:
            page.wait_for_function("(n) => [...document.querySelectorAll('input')].some(i => i.value === n)",
                                   arg=f"stain-{name}", timeout=15_000)
            return
        except PlaywrightTimeout:
            wait_idle(page)
    raise AssertionError(f"could not choose {name} as the base checkpoint")


def test_train_page_uploads_trains_and_the_checkpoint_reaches_the_picker(server, tmp_path):
    archive = tmp_path / "stain.zip"
    archive.write_bytes(color_zip(14))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        errors, outside = watch_errors(page, server)
        try:
            page.goto(server, timeout=TIMEOUT_MS)
            open_page(page, "Train your own", "Train on your own images")
            upload(page, archive)
            page.get_by_text("14 image(s) for training, validation and test").wait_for(timeout=TIMEOUT_MS)
            wait_idle(page)
            choose_base(page, "places12-mse")
            wait_idle(page)
            epochs = page.get_by_role("spinbutton", name="Epochs")
            epochs.fill("2")
            epochs.press("Enter")
            wait_idle(page)
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("Training job: stain-places12-mse").wait_for(timeout=TIMEOUT_MS)
            page.get_by_text(re.compile("done in .* is in the checkpoint pickers")).wait_for(timeout=JOB_TIMEOUT_MS)
            page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
                                   timeout=TIMEOUT_MS)
            wait_idle(page)
            no_exception_box(page)
            page.screenshot(path=str(tmp_path / "train.png"), full_page=True)
            page.get_by_role("button", name="Colorize with stain-places12-mse").click()
            page.get_by_role("heading", name="Colorize").first.wait_for(timeout=TIMEOUT_MS)
            wait_idle(page)
            shown = page.get_by_role("combobox", name="Checkpoint").input_value()
            assert shown.startswith("stain-places12-mse · lab"), shown
            no_exception_box(page)
        finally:
            page.screenshot(path=str(tmp_path / "last.png"), full_page=True)
            page.close()
    assert not errors, f"browser console errors: {errors}"
    assert not outside, f"requests left localhost: {outside[:5]}"
