"""Scheduled batch runs: a trigger with an idempotency key starts at most one run per key, even
when two triggers race from separate processes; a trigger that finds the concurrency limit
reached exits with its own exit code."""

from __future__ import annotations

import json
import multiprocessing
from typing import Any

import pytest
from _sleep_launcher import SleepLauncher, admit_run, transform_request

from glue_labeling import cli
from glue_labeling.contract import InvalidInputException
from glue_labeling.ledger import TaskRunLedger
from glue_labeling.service import GlueLabelingService
from glue_labeling.settings import Settings

OUTPUT = "s3://labeling-bucket/nightly/"


def _service(state: Settings) -> GlueLabelingService:
    return GlueLabelingService(state, launcher=SleepLauncher(state))


def test_a_second_trigger_with_the_same_key_returns_the_first_run(people_state: Settings) -> None:
    service = _service(people_state)
    transform_id = service.create_ml_transform(transform_request())["TransformId"]
    first = service.start_scheduled_labeling_set_generation(transform_id, OUTPUT, "2026-11-27T02:00")
    again = service.start_scheduled_labeling_set_generation(transform_id, OUTPUT, "2026-11-27T02:00")
    other_slot = service.start_scheduled_labeling_set_generation(transform_id, OUTPUT, "2026-11-28T02:00")
    assert first["Started"] is True and again == {"TaskRunId": first["TaskRunId"], "Started": False}
    assert other_slot["Started"] is True and other_slot["TaskRunId"] != first["TaskRunId"]
    assert len(TaskRunLedger(people_state).runs_of(transform_id)) == 2
    with pytest.raises(InvalidInputException):
        service.start_scheduled_labeling_set_generation(transform_id, OUTPUT, "")


def _trigger(state: Settings, transform_id: str, barrier: Any, results: Any) -> None:
    service = _service(state)
    service.ledger.runs_of("warm-up")  # imports and table handles before the race
    barrier.wait(timeout=120)
    results.put(service.start_scheduled_labeling_set_generation(transform_id, OUTPUT, "slot-1"))


def test_two_racing_triggers_start_one_run(people_state: Settings) -> None:
    transform_id = _service(people_state).create_ml_transform(transform_request())["TransformId"]
    context = multiprocessing.get_context("forkserver")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_trigger, args=(people_state, transform_id, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert {outcome["TaskRunId"] for outcome in outcomes} == {outcomes[0]["TaskRunId"]}
    assert sorted(outcome["Started"] for outcome in outcomes) == [False, True]
    rows = TaskRunLedger(people_state).runs_of(transform_id)
    assert [row["task_run_id"] for row in rows] == [outcomes[0]["TaskRunId"]]


def test_the_cli_trigger_exits_with_its_own_code_when_the_limit_is_reached(
    people_state: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service = _service(people_state)
    transform_id = service.create_ml_transform(transform_request())["TransformId"]
    slot_1 = service.start_scheduled_labeling_set_generation(transform_id, OUTPUT, "slot-1")["TaskRunId"]
    for index in range(people_state.max_concurrent_runs_per_transform - 1):
        admit_run(people_state, transform_id, f"tsk-{index}")
    for name, value in people_state.to_environment().items():
        monkeypatch.setenv(name, value)
    arguments = ["start-scheduled-labeling-set-generation", "--transform-id", transform_id, "--output-s3-path", OUTPUT]

    # A repeated trigger of a slot that already ran is answered even at the limit.
    assert cli.main([*arguments, "--idempotency-key", "slot-1"]) == 0
    assert json.loads(capsys.readouterr().out) == {"TaskRunId": slot_1, "Started": False}
    assert cli.main([*arguments, "--idempotency-key", "slot-9"]) == cli.LIMIT_REACHED_EXIT
    error = json.loads(capsys.readouterr().err)
    assert error["__type"] == "ConcurrentRunsExceededException" and error["IdempotencyKey"] == "slot-9"
    assert len(TaskRunLedger(people_state).runs_of(transform_id)) == 3
