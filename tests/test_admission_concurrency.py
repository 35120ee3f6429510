"""Admission under contention: many simultaneous Start calls at one transform, from separate
processes (each with its own GlueLabelingClient on the same state directory) and from threads.
The per-transform quota (3) must hold exactly: 3 runs admitted, every other caller refused
with ConcurrentRunsExceededException, and 3 rows in the ledger.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections import Counter
from typing import Any

import pytest
from _sleep_launcher import (
    SleepLauncher,
    call_in_worker,
    transform_request,
)

from glue_labeling.client import GlueLabelingClient
from glue_labeling.contract import GlueError
from glue_labeling.ledger import TaskRunLedger
from glue_labeling.registry import TransformRegistry
from glue_labeling.service import GlueLabelingService
from glue_labeling.settings import Settings

OUTPUT = "s3://labeling-bucket/sets/"
PROCESSES = 12
THREADS = 16
PRELOAD = (
    "_sleep_launcher",
    "glue_labeling.client",
    "glue_labeling.service",
    "pandas",
    "pyarrow.compute",
    "pyarrow.dataset",
    "pyarrow.fs",
    "pyarrow.parquet",
    "deltalake.fs",
)


@pytest.fixture(scope="module")
def mp_context() -> multiprocessing.context.BaseContext:
    """forkserver: every worker is a fresh process (no state inherited from pytest's threads),
    forked from a single-threaded server that imported the project once. The modules delta-rs
    pulls in on a first read (pandas, pyarrow.dataset...) are preloaded too: importing them in
    each of 12 workers costs seconds of CPU."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*PRELOAD])
    return context


def client_for(state: Settings) -> GlueLabelingClient:
    return GlueLabelingClient(service=GlueLabelingService(state, launcher=SleepLauncher(state)))


def run_in_processes(
    context: multiprocessing.context.BaseContext,
    state: Settings,
    operation: str,
    request: dict[str, Any],
    count: int,
) -> list[tuple[str, Any]]:
    """`count` processes make the same call at the same moment; their outcomes."""
    barrier = context.Barrier(count)
    results = context.Queue()
    workers = [
        context.Process(target=call_in_worker, args=(state, operation, request, barrier, results)) for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=120) for _ in workers]
    except queue.Empty:
        pytest.fail("a worker process did not report")
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    assert [worker.exitcode for worker in workers] == [0] * count
    return outcomes


def run_in_threads(clients: list[GlueLabelingClient], transform_id: str) -> list[tuple[str, Any]]:
    barrier = threading.Barrier(len(clients))
    outcomes: list[tuple[str, Any]] = []
    guard = threading.Lock()

    def call(client: GlueLabelingClient) -> None:
        barrier.wait(timeout=60)
        try:
            result = (
                "ok",
                client.start_ml_labeling_set_generation_task_run(TransformId=transform_id, OutputS3Path=OUTPUT),
            )
        except GlueError as error:
            result = ("error", error.code)
        except BaseException as error:  # report it as an outcome: the assertions name it
            result = ("crash", repr(error))
        with guard:
            outcomes.append(result)

    threads = [threading.Thread(target=call, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def assert_exactly_three_admitted(state: Settings, transform_id: str, outcomes: list[tuple[str, Any]]) -> None:
    kinds = Counter(kind for kind, _ in outcomes)
    assert kinds["crash"] == 0, [value for kind, value in outcomes if kind == "crash"]
    admitted = [value["TaskRunId"] for kind, value in outcomes if kind == "ok"]
    refused = [value for kind, value in outcomes if kind == "error"]
    assert len(admitted) == 3, outcomes
    assert refused == ["ConcurrentRunsExceededException"] * (len(outcomes) - 3)

    rows = TaskRunLedger(state).runs_of(transform_id)
    assert sorted(row["task_run_id"] for row in rows) == sorted(admitted)
    assert len({row["task_run_id"] for row in rows}) == 3
    launcher = SleepLauncher(state)
    for row in rows:
        assert row["status"] == "STARTING"
        assert row["launcher_handle"], row
        assert launcher.is_alive(row["launcher_handle"]) is True

    # The quota still holds afterwards.
    with pytest.raises(GlueError) as error:
        client_for(state).start_ml_labeling_set_generation_task_run(TransformId=transform_id, OutputS3Path=OUTPUT)
    assert error.value.code == "ConcurrentRunsExceededException"


def test_concurrent_starts_from_separate_processes(
    people_state: Settings, mp_context: multiprocessing.context.BaseContext
) -> None:
    transform_id = client_for(people_state).create_ml_transform(**transform_request())["TransformId"]
    request = {"TransformId": transform_id, "OutputS3Path": OUTPUT}
    outcomes = run_in_processes(mp_context, people_state, "StartMLLabelingSetGenerationTaskRun", request, PROCESSES)
    assert len(outcomes) == PROCESSES
    assert_exactly_three_admitted(people_state, transform_id, outcomes)


def test_concurrent_creates_of_one_name_from_separate_processes(
    people_state: Settings, mp_context: multiprocessing.context.BaseContext
) -> None:
    outcomes = run_in_processes(mp_context, people_state, "CreateMLTransform", transform_request("contended"), 6)
    assert Counter(kind for kind, _ in outcomes) == {"ok": 1, "error": 5}, outcomes
    assert {value for kind, value in outcomes if kind == "error"} == {"AlreadyExistsException"}
    [created] = [value["TransformId"] for kind, value in outcomes if kind == "ok"]
    assert [t["TransformId"] for t in TransformRegistry(people_state).all()] == [created]


@pytest.mark.parametrize("sharing", ["one-client", "client-per-thread"])
def test_concurrent_starts_from_threads(people_state: Settings, sharing: str) -> None:
    shared = client_for(people_state)
    transform_id = shared.create_ml_transform(**transform_request())["TransformId"]
    clients = [shared if sharing == "one-client" else client_for(people_state) for _ in range(THREADS)]
    outcomes = run_in_threads(clients, transform_id)
    assert len(outcomes) == THREADS
    assert_exactly_three_admitted(people_state, transform_id, outcomes)


def test_the_quota_is_per_transform_under_contention(people_state: Settings) -> None:
    shared = client_for(people_state)
    first = shared.create_ml_transform(**transform_request("first"))["TransformId"]
    second = shared.create_ml_transform(**transform_request("second"))["TransformId"]
    clients = [client_for(people_state) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    outcomes: dict[str, list[str]] = {first: [], second: []}
    guard = threading.Lock()

    def call(index: int) -> None:
        transform_id = first if index % 2 else second
        barrier.wait(timeout=60)
        try:
            clients[index].start_ml_labeling_set_generation_task_run(TransformId=transform_id, OutputS3Path=OUTPUT)
            outcome = "ok"
        except GlueError as error:
            outcome = error.code
        with guard:
            outcomes[transform_id].append(outcome)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for transform_id, results in outcomes.items():
        assert Counter(results) == {"ok": 3, "ConcurrentRunsExceededException": THREADS // 2 - 3}
        assert len(TaskRunLedger(people_state).runs_of(transform_id)) == 3
