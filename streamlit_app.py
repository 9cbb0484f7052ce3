"""colorcore explorer server: ``streamlit run streamlit_app.py`` (serves offline; see .streamlit/config.toml).

This file is the server (Streamlit's ``st.App``): it starts loading the default checkpoints as the
server starts (warm start), answers ``/_stcore/health`` with 503 until they are loaded, serves the
HTTP API for scripts under ``<base path>/api`` (:mod:`colorcore.app.api`) and the pages of
``explorer.py`` (the navigation entry script every session runs).
"""
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware

from colorcore.app.api import api_routes
from colorcore.app.server import HealthGate, warm_start


@asynccontextmanager
async def lifespan(_app):
    warm_start()
    yield


app = st.App("explorer.py", lifespan=lifespan, middleware=[Middleware(HealthGate)],
             routes=api_routes(st.get_option("server.baseUrlPath"), st.get_option("server.maxUploadSize")))
