"""Server start-up: warm start of the default checkpoints, the trimming of freed memory, and a health check
that waits for the warm start and says which checkpoints cannot be loaded."""
from __future__ import annotations

import ipaddress

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..checkpoints import GRAY_BASELINE, catalog_names
from ..heap import TRIM_EVERY_S, start_trimming
from ..paths import env_int
from ..serve import get_server
from .catalog import default_compare, group_by_domain, is_shipped, preferred_checkpoint, read_catalog

#: Path of Streamlit's health check (relative to the base URL path).
HEALTH_PATH = "/_stcore/health"
#: Seconds between two trims of the freed memory (:mod:`colorcore.heap`); 0 turns trimming off.
TRIM_ENV = "COLORCORE_TRIM_S"
#: ``server.address`` values that mean every interface.
EVERY_INTERFACE = ("0.0.0.0", "::", "")


def _is_loopback(address: str) -> bool:
    try:
        return address == "localhost" or ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name
        return False


def listening_note(address: str, port: int, base_path: str = "") -> str:
    """The start-up line saying where the server listens and how to open it to others (or close it).

    ``.streamlit/config.toml`` keeps it on 127.0.0.1: served there, only this machine reaches it.

    Examples
    --------
    >>> listening_note("127.0.0.1", 8501)[:57]
    'colorcore: serving http://127.0.0.1:8501/ only from this '
    """
    host = f"[{address}]" if ":" in address else address
    url = f"http://{host or '0.0.0.0'}:{port}/" + (base_path.strip("/") + "/" if base_path.strip("/") else "")
    if _is_loopback(address):
        return (f"colorcore: serving {url} only from this machine (server.address {address}). To serve the lab, "
                "run deploy/run.sh (nginx with sign-in in front); to listen on every interface with no sign-in, "
                "start with --server.address 0.0.0.0 (or STREAMLIT_SERVER_ADDRESS=0.0.0.0).")
    where = "on every network interface" if address in EVERY_INTERFACE else f"on {address}"
    return (f"colorcore: serving {url} {where}, with no sign-in: anyone who reaches port {port} can use it. "
            "Put deploy/run.sh (nginx with sign-in) in front, or leave server.address at 127.0.0.1.")


def default_checkpoints(metas: dict | None = None) -> list[str]:
    """What the pages start with: each domain's preferred checkpoint, the Compare defaults and ``gray``.

    Parameters
    ----------
    metas : dict, optional
        ``{name: metadata}`` of the readable catalog checkpoints (default: read now).
    """
    metas = read_catalog().metas if metas is None else metas
    names = [preferred_checkpoint({n: metas[n] for n in group}) for group in group_by_domain(metas).values()]
    names += default_compare(metas) + [GRAY_BASELINE]
    return list(dict.fromkeys(n for n in names if n))


def required_checkpoints() -> list[str]:
    """What the warm start must load: :func:`default_checkpoints`, then every shipped checkpoint whose header
    cannot be read (nothing says it is not one the pages should start with, so its failure is reported)."""
    catalog = read_catalog()
    unreadable = [name for name in catalog_names() if name not in catalog.metas and is_shipped(name)]
    return default_checkpoints(catalog.metas) + unreadable


def warm_start() -> None:
    """Start loading the required checkpoints in the background (torch imported there too), and giving freed
    memory back to the system every ``$COLORCORE_TRIM_S`` seconds (:mod:`colorcore.heap`).

    Raises
    ------
    ValueError
        If ``COLORCORE_TRIM_S`` is not a whole number >= 0.
    """
    start_trimming(env_int(TRIM_ENV, TRIM_EVERY_S, 0))
    get_server().warm(required_checkpoints())


class HealthGate:
    """ASGI middleware: ``/_stcore/health`` answers 503 with the reason while the server is not healthy
    (:meth:`colorcore.serve.Server.health`: warming up, or a required checkpoint that cannot be loaded)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(HEALTH_PATH):
            reason = get_server().health()
            if reason is not None:
                await PlainTextResponse(reason, status_code=503)(scope, receive, send)
                return
        await self.app(scope, receive, send)
