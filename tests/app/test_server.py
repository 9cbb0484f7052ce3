"""Server start-up: the warm start loads what the pages start with; health answers 503 until it is done."""
import asyncio

from colorcore.app import server
from colorcore.serve import Server, WorkQueue


def test_default_checkpoints_are_each_domains_first_pick_the_compare_defaults_and_gray(catalog_env):
    names = server.default_checkpoints()
    assert names[-1] == "gray" and len(names) == len(set(names))
    assert {"places12-mse", "places12-huber", "places500-mse", "places500-huber"} <= set(names)


def _get(app, path: str) -> int:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"]


def test_health_gate_answers_503_until_the_warm_start_is_done(catalog_env, monkeypatch):
    fresh = Server(WorkQueue(workers=1, max_waiting=2))
    monkeypatch.setattr(server, "get_server", lambda: fresh)

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate = server.HealthGate(inner)
    assert _get(gate, "/colorcore/_stcore/health") == 503
    assert _get(gate, "/colorcore/") == 200  # only the health check waits
    fresh.warm(["gray", "places12-mse"]).join(60)
    assert fresh.ready.is_set() and fresh.warm_error is None
    assert _get(gate, "/colorcore/_stcore/health") == 200
    fresh.queue.shutdown()
