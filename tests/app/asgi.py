"""One HTTP request through an ASGI app in-process, as a server would pass it (no network, no httpx)."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass


@dataclass
class Reply:
    """What the app answered: status, headers (lower-case names, Latin-1 decoded, as on the wire) and body."""

    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def request(app, method: str, path: str, headers: dict | None = None, body: bytes = b"") -> Reply:
    """Send ``method path`` with ``headers`` (``Host: 127.0.0.1:8501`` unless given) and ``body`` to ``app``."""
    fields = {"host": "127.0.0.1:8501", "content-length": str(len(body)), **{k.lower(): v for k, v in (headers or {}).items()}}
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 1),
             "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fields.items()]}
    chunks = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list = []

    async def receive():
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return Reply(start["status"], {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]},
                 b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
