"""The server's queue (:mod:`colorcore.workqueue`): first come first served, bounded, positions and estimates,
survives failing jobs; the turnstile uploads are decoded through: one at a time, in arrival order; and what
the sessions share around it (:mod:`colorcore.serve`): the result cache, the checkpoint store, the warm start."""
import ast
import threading
import time
from pathlib import Path

import pytest

from colorcore import workqueue
from colorcore.serve import JobCache, Server
from colorcore.workqueue import JobStatus, JobTimeout, QueueFull, Turnstile, WorkQueue


@pytest.fixture()
def gate():
    """An event jobs wait on, so a test decides when the first job may finish."""
    event = threading.Event()
    yield event
    event.set()


def _imported(nodes) -> list[str]:
    """Top-level names of the modules the import statements among ``nodes`` import (``.`` for a relative one)."""
    nodes = list(nodes)
    names = [alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names]
    names += ["." if node.level else node.module for node in nodes if isinstance(node, ast.ImportFrom)]
    return [name.split(".")[0] or "." for name in names]


def test_the_queue_module_stands_on_the_standard_library():
    """No colorcore import anywhere in colorcore.workqueue, and torch only inside the worker that sets its threads."""
    tree = ast.parse(Path(workqueue.__file__).read_text(encoding="utf-8"))
    assert not {"colorcore", "."} & set(_imported(ast.walk(tree)))
    assert "torch" not in _imported(tree.body)


def test_jobs_run_in_submission_order(gate):
    queue = WorkQueue(workers=1, max_waiting=10)
    order = []
    first = queue.submit(gate.wait, 5)
    jobs = [queue.submit(order.append, i) for i in range(6)]
    gate.set()
    for job in [first, *jobs]:
        job.result(5)
    assert order == list(range(6))
    queue.shutdown()


def test_positions_and_estimates_while_waiting(gate):
    queue = WorkQueue(workers=1, max_waiting=10)
    running = queue.submit(gate.wait, 5)
    second, third = queue.submit(time.sleep, 0), queue.submit(time.sleep, 0)
    deadline = time.monotonic() + 5
    while queue.status(running).state != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.status(running).state == "running"
    assert queue.status(second).ahead == 1 and queue.status(third).ahead == 2
    assert queue.status(third).estimate_s > queue.status(second).estimate_s > 0
    assert queue.status(third).message().startswith("2 images ahead of yours, about ")
    gate.set()
    third.result(5)
    assert queue.status(third) == JobStatus("done", 0, 0.0)
    queue.shutdown()


def test_a_full_queue_refuses_and_keeps_what_it_has(gate):
    queue = WorkQueue(workers=1, max_waiting=2)
    queue.submit(gate.wait, 5)
    while queue.waiting:  # the first job has started
        time.sleep(0.01)
    kept = [queue.submit(lambda i=i: i) for i in range(2)]
    with pytest.raises(QueueFull, match="busy"):
        queue.submit(lambda: None)
    gate.set()
    assert [job.result(5) for job in kept] == [0, 1]
    assert queue.submit(lambda: "after").result(5) == "after"  # room again
    queue.shutdown()


def test_a_failing_job_reaches_its_caller_and_the_next_job_runs():
    queue = WorkQueue(workers=1, max_waiting=4)
    bad = queue.submit(lambda: 1 / 0)
    good = queue.submit(lambda: "fine")
    with pytest.raises(ZeroDivisionError):
        bad.result(5)
    assert good.result(5) == "fine"
    queue.shutdown()


def test_background_jobs_run_only_when_no_other_job_waits(gate):
    """A page's note (which other checkpoints suit an image) never delays a result: submitted before later
    previews, it runs after them; its status counts every foreground job as ahead."""
    queue = WorkQueue(workers=1, max_waiting=4)
    order = []
    first = queue.submit(gate.wait, 5)
    while queue.status(first).state != "running":
        time.sleep(0.01)
    note = queue.submit_many([(order.append, ("note",), {})], background=True)[0]
    later = [queue.submit(order.append, i) for i in range(3)]
    status = queue.status(note)
    assert status.state == "waiting" and status.ahead == 4  # three previews waiting and the running one
    assert queue.waiting == 4  # three previews and the note
    gate.set()
    for job in [first, note, *later]:
        job.result(5)
    assert order == [0, 1, 2, "note"]
    assert len(queue.submit_many([(gate.wait, (5,), {})] * 4, background=True)) == 4  # a lane of its own
    with pytest.raises(QueueFull, match="checks are already waiting"):
        queue.submit_many([(gate.wait, (5,), {})] * 4, background=True)
    assert queue.submit(lambda: "a result").result(5) == "a result"  # the results' lane is not full
    queue.shutdown()


def test_a_hung_job_is_given_up_and_the_queue_goes_on(gate):
    """A job that never returns (a hung decoder) used to hold its worker for good: every later job waited
    forever. Past the limit its caller gets JobTimeout, a new worker serves the rest, and the stuck one's
    late result is dropped (its worker then ends)."""
    queue = WorkQueue(workers=1, max_waiting=8, job_limit_s=0.3)
    stuck = queue.submit(lambda: (gate.wait(30), "late")[1])
    after = [queue.submit(lambda i=i: i * i) for i in range(3)]
    with pytest.raises(JobTimeout, match="limit of 0.3 s"):
        stuck.result(5)
    assert [job.result(5) for job in after] == [0, 1, 4]
    assert queue.given_up == 1 and queue.completed == 3
    gate.set()
    time.sleep(0.2)
    with pytest.raises(JobTimeout):  # the late result does not replace the answer its caller already got
        stuck.result(0)
    assert sum(thread.is_alive() for thread in queue._threads) == 1  # the stuck worker ended
    assert queue.submit(lambda: "next").result(5) == "next"
    queue.shutdown()


def test_a_given_up_job_is_retried_by_the_cache(gate):
    queue = WorkQueue(workers=1, max_waiting=8, job_limit_s=0.2)
    cache = JobCache(queue)
    first = cache.get_or_submit("key", gate.wait, 30)
    with pytest.raises(JobTimeout):
        first.result(5)
    assert cache.get_or_submit("key", lambda: "again").result(5) == "again"
    gate.set()
    queue.shutdown()


def test_the_job_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("COLORCORE_JOB_LIMIT_S", "45")
    queue = WorkQueue.for_this_machine()
    assert queue.job_limit_s == 45
    queue.shutdown()
    monkeypatch.setenv("COLORCORE_JOB_LIMIT_S", "-1")
    with pytest.raises(ValueError, match="COLORCORE_JOB_LIMIT_S must be a whole number"):
        WorkQueue.for_this_machine()


def test_never_more_jobs_at_once_than_workers():
    queue = WorkQueue(workers=2, max_waiting=50)
    lock, now, peak = threading.Lock(), [0], [0]

    def work():
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(0.01)
        with lock:
            now[0] -= 1

    jobs = [queue.submit(work) for _ in range(20)]
    for job in jobs:
        job.result(10)
    assert peak[0] == 2 and queue.max_running_seen == 2 and queue.completed == 20
    queue.shutdown()


def test_run_reports_progress_while_waiting(gate):
    queue = WorkQueue(workers=1, max_waiting=4)
    queue.submit(gate.wait, 5)
    seen = []
    threading.Timer(0.3, gate.set).start()
    assert queue.run(lambda: 42, on_wait=seen.append, poll_s=0.05) == 42
    assert seen and seen[0].state == "waiting" and seen[0].ahead == 1
    queue.shutdown()


def test_wait_says_only_what_changed(gate):
    queue = WorkQueue(workers=1, max_waiting=4)
    blocker = queue.submit(gate.wait, 5)
    mine = queue.submit(lambda: "mine")
    said = []
    threading.Timer(0.5, gate.set).start()
    assert queue.wait(mine, said.append, poll_s=0.02) == "mine"
    assert said and said[0].startswith("1 image ahead of yours, about ")
    assert all(a != b for a, b in zip(said, said[1:]))  # about 25 checks, a few messages
    assert len(said) < 10
    blocker.result(5)
    with pytest.raises(ZeroDivisionError):
        queue.wait(queue.submit(lambda: 1 / 0), said.append)
    queue.shutdown()


def _arrive_in_order(turnstile: Turnstile, count: int, work) -> list[threading.Thread]:
    """Start ``count`` threads that ask for a turn one after another (each has asked before the next starts)."""
    threads = []
    for i in range(count):
        asked = turnstile.waiting
        thread = threading.Thread(target=work, args=(i,))
        thread.start()
        threads.append(thread)
        while turnstile.waiting == asked and thread.is_alive():  # this one has taken its ticket (or is inside)
            time.sleep(0.001)
    return threads


def test_turnstile_admits_one_at_a_time_in_arrival_order(gate):
    turnstile = Turnstile()
    order, inside, peak = [], [0], [0]
    lock = threading.Lock()

    def work(i):
        with turnstile.turn():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            gate.wait(5) if i == 0 else time.sleep(0.002)
            order.append(i)
            with lock:
                inside[0] -= 1

    first = threading.Thread(target=work, args=(0,))
    first.start()
    while not inside[0]:  # the first one holds the turn until the gate opens
        time.sleep(0.001)
    threads = _arrive_in_order(turnstile, 6, lambda i: work(i + 1))
    assert turnstile.waiting == 6 and order == []
    gate.set()
    for thread in [first, *threads]:
        thread.join(5)
    assert order == list(range(7)) and peak[0] == 1 and turnstile.max_inside_seen == 1 and turnstile.waiting == 0


def test_turnstile_of_width_two_and_a_failing_holder_passes_the_turn_on():
    turnstile = Turnstile(width=2)
    both_in = threading.Barrier(2, timeout=5)

    def work(_i):
        with turnstile.turn():
            both_in.wait()  # only passes when two are inside at once

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert turnstile.max_inside_seen == 2 and not both_in.broken
    with pytest.raises(ZeroDivisionError):
        with turnstile.turn():
            1 / 0
    with turnstile.turn():  # the failed holder gave its turn back
        pass
    with pytest.raises(ValueError):
        Turnstile(width=0)


def test_server_intake_width_from_the_environment(monkeypatch):
    monkeypatch.setenv("COLORCORE_INTAKE", "2")
    server = Server(WorkQueue(workers=1, max_waiting=2))
    assert server.intake.width == 2
    server.queue.shutdown()
    monkeypatch.setenv("COLORCORE_INTAKE", "0")
    queue = WorkQueue(workers=1, max_waiting=2)
    with pytest.raises(ValueError, match="COLORCORE_INTAKE"):
        Server(queue)
    queue.shutdown()


def test_settings_from_the_environment_are_checked(monkeypatch):
    monkeypatch.setenv("COLORCORE_WORKERS", "zero")
    with pytest.raises(ValueError, match="COLORCORE_WORKERS must be a whole number"):
        WorkQueue.for_this_machine()


def test_job_cache_shares_a_key_retries_failures_and_evicts_the_oldest(gate):
    from colorcore.serve import JobCache

    queue = WorkQueue(workers=1, max_waiting=10)
    cache = JobCache(queue, max_entries=2)
    first = cache.get_or_submit("a", gate.wait, 5)
    assert cache.get_or_submit("a", lambda: "other") is first  # in flight: the same job
    gate.set()
    first.result(5)
    bad = cache.get_or_submit("b", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        bad.result(5)
    retried = cache.get_or_submit("b", lambda: "ok")
    assert retried is not bad and retried.result(5) == "ok"
    cache.get_or_submit("c", lambda: "c").result(5)
    cache.get_or_submit("d", lambda: "d").result(5)
    assert cache.get_or_submit("a", lambda: "again").result(5) == "again"  # "a" was evicted, recomputed
    queue.shutdown()


def test_submit_many_queues_one_block_in_order_all_or_none(gate):
    queue = WorkQueue(workers=1, max_waiting=5)
    order = []
    queue.submit(gate.wait, 5)
    while queue.waiting:  # the blocking job has started
        time.sleep(0.01)
    early = queue.submit(order.append, "early")
    block = queue.submit_many([(order.append, (f"page {i}",), {}) for i in range(3)])
    late = queue.submit(order.append, "late")
    assert [queue.status(job).ahead for job in block] == [2, 3, 4]  # running one + early + the block's own
    with pytest.raises(QueueFull):  # 5 waiting: no room for 2 more, so neither is queued
        queue.submit_many([(order.append, ("x",), {}), (order.append, ("y",), {})])
    assert queue.waiting == 5
    gate.set()
    for job in [early, *block, late]:
        job.result(5)
    assert order == ["early", "page 0", "page 1", "page 2", "late"]
    queue.shutdown()


def test_concurrent_blocks_are_served_each_as_a_whole(gate):
    """Sessions that queue their jobs at the same moment: each one's jobs run together, never interleaved."""
    queue = WorkQueue(workers=1, max_waiting=100)
    queue.submit(gate.wait, 5)
    order, start = [], threading.Barrier(8)

    def session(s: int) -> list:
        start.wait(5)
        return queue.submit_many([(order.append, (s,), {}) for _ in range(4)])

    threads = [threading.Thread(target=session, args=(s,)) for s in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    gate.set()
    deadline = time.monotonic() + 5
    while queue.completed < 33 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(order) == 32
    runs = [order[i:i + 4] for i in range(0, 32, 4)]
    assert all(len(set(run)) == 1 for run in runs) and sorted(run[0] for run in runs) == list(range(8))
    queue.shutdown()


def test_job_cache_many_reuses_what_it_has_and_queues_the_rest_together(gate):
    from colorcore.serve import JobCache

    queue = WorkQueue(workers=1, max_waiting=4)
    cache = JobCache(queue)
    known = cache.get_or_submit("b", gate.wait, 5)
    while queue.waiting:  # "b" is running
        time.sleep(0.01)
    a, b, c, a_again = cache.get_or_submit_many([("a", lambda: "a", (), {}), ("b", lambda: "other", (), {}),
                                                 ("c", lambda: "c", (), {}), ("a", lambda: "twice", (), {})])
    assert b is known and a is a_again and queue.waiting == 2  # b in flight, a asked twice: a and c queued
    with pytest.raises(QueueFull):
        cache.get_or_submit_many([(k, lambda: k, (), {}) for k in "xyz"])  # 3 more do not fit: none is kept
    assert queue.waiting == 2 and cache.get_or_submit("x", lambda: "x") is not None and queue.waiting == 3
    gate.set()
    assert [job.result(5) for job in (a, c)] == ["a", "c"]
    queue.shutdown()


def test_checkpoint_store_loads_once_per_file_version(catalog_env):
    from colorcore.serve import CheckpointStore

    store = CheckpointStore(max_entries=2)
    first = store.get("places12-mse")
    assert store.get("places12-mse") is first
    (catalog_env / "places12-mse.safetensors").touch()  # a rewritten file is a new version
    import os
    stat = (catalog_env / "places12-mse.safetensors").stat()
    os.utime(catalog_env / "places12-mse.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert store.get("places12-mse") is not first


def test_warm_goes_on_past_a_checkpoint_that_fails_and_health_names_it(tiny_catalog, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(tiny_catalog, tmp_path / "catalog")
    broken = tmp_path / "catalog" / "places12-huber.safetensors"
    broken.write_bytes(broken.read_bytes()[:5000])
    monkeypatch.setenv("COLORCORE_CHECKPOINTS", str(tmp_path / "catalog"))
    server = Server(WorkQueue(workers=1, max_waiting=2))
    assert server.health().startswith("warming up")
    server.warm(["gray", "places12-huber", "places12-mse"]).join(120)
    assert server.ready.is_set()
    assert {name for name, _ in server.checkpoints._loaded} == {"gray", "places12-mse"}
    assert server.health().startswith("cannot load places12-huber (places12-huber.safetensors: not a readable")
    broken.unlink()  # gone from the catalog: no longer a checkpoint the server must load
    assert server.health() is None
    server.queue.shutdown()
