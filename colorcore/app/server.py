"""Server start-up: warm start of the default checkpoints and a health check that waits for it."""
from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..serve import get_server
from .catalog import default_compare, group_by_domain, preferred_checkpoint, read_catalog

#: Path of Streamlit's health check (relative to the base URL path).
HEALTH_PATH = "/_stcore/health"


def default_checkpoints() -> list[str]:
    """What the pages start with: each domain's preferred checkpoint, the Compare defaults and ``gray``."""
    metas = read_catalog().metas
    names = [preferred_checkpoint({n: metas[n] for n in group}) for group in group_by_domain(metas).values()]
    names += default_compare(metas) + ["gray"]
    return list(dict.fromkeys(n for n in names if n))


def warm_start() -> None:
    """Start loading the default checkpoints in the background (torch imported there too)."""
    get_server().warm(default_checkpoints())


class HealthGate:
    """ASGI middleware: ``/_stcore/health`` answers 503 ("warming up") until the warm start is done."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"].endswith(HEALTH_PATH)
                and not get_server().ready.is_set()):
            await PlainTextResponse("warming up: loading checkpoints", status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)
