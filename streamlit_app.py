"""colorcore explorer server: ``streamlit run streamlit_app.py`` (serves offline; see .streamlit/config.toml).

It listens on 127.0.0.1 unless told otherwise (``server.address`` in .streamlit/config.toml, next to
this file; ``--server.address 0.0.0.0`` or ``STREAMLIT_SERVER_ADDRESS`` open it) and says so as it
starts (:func:`colorcore.app.server.listening_note`).

This file is the server (Streamlit's ``st.App``): it starts loading the default checkpoints as the
server starts (warm start), answers ``/_stcore/health`` with 503 until they are loaded, serves the
HTTP API for scripts under ``<base path>/api`` (:mod:`colorcore.app.api`) and the pages of
``explorer.py`` (the navigation entry script every session runs).

``OMP_WAIT_POLICY=PASSIVE`` is set (unless the environment already says otherwise) before anything
is imported: libgomp reads it once, when torch loads, and by default its idle worker threads spin
between parallel regions, taking the cores the other sessions' uploads, previews and websockets need
(measured under load: every latency 27-65 % lower with it; docs/app.md, issue 11).
"""
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported (an admin's setting wins)

from contextlib import asynccontextmanager  # noqa: E402

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from colorcore.app.api import api_routes  # noqa: E402
from colorcore.app.server import HealthGate, listening_note, warm_start  # noqa: E402


@asynccontextmanager
async def lifespan(_app):
    print(listening_note(st.get_option("server.address") or "0.0.0.0", st.get_option("server.port"),
                         st.get_option("server.baseUrlPath")), file=sys.stderr, flush=True)
    warm_start()
    yield


app = st.App("explorer.py", lifespan=lifespan, middleware=[Middleware(HealthGate)],
             routes=api_routes(st.get_option("server.baseUrlPath"), st.get_option("server.maxUploadSize")))
