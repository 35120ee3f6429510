"""Benchmark: latency of StartMLLabelingSetGenerationTaskRun and GetMLTaskRun, p50/p95,
through the HTTP endpoint (boto3 against `glue-labeling serve`) and through the CLI.

The request path is what is measured: validation, registry lookup, the sweeper, atomic
admission into the Delta ledger and the launch of the job's process. So that a hundred starts
do not start a hundred Spark JVMs, the HTTP server's launcher spawns `sleep` in place of
spark-submit (the same Popen call, a lighter child). A CLI process builds its own service with
the real launcher, so CLI starts do spark-submit real jobs. Every run is cancelled right after.
Usage: .venv/bin/python scripts/bench_api_latency.py [--requests 50] [--cli-requests 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config
from werkzeug.serving import make_server

from glue_labeling.launcher import LocalLauncher
from glue_labeling.server import GlueJsonApp
from glue_labeling.service import GlueLabelingService
from glue_labeling.settings import load_settings
from glue_labeling.spark import get_or_create_session


class PlaceholderJobLauncher(LocalLauncher):
    def spark_submit_command(self, job: str, arguments: dict[str, str]) -> list[str]:
        return ["sleep", "600"]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 1),
    }


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--cli-requests", type=int, default=10)
    args = parser.parse_args(argv)

    state = tempfile.mkdtemp(prefix="glue-labeling-bench-")
    settings = dataclasses.replace(load_settings(), state_dir=state, max_concurrent_runs_per_transform=1000)
    service = GlueLabelingService(settings, launcher=PlaceholderJobLauncher(settings))

    # Set-up (not measured): a registered table and a transform.
    spark = get_or_create_session(settings, app_name="bench set-up")
    table = Path(state) / "people"
    spark.createDataFrame([(1, "Ann"), (2, "Bo")], "id int, name string").write.parquet(str(table))
    service.catalog.register(spark, "bench", "people", str(table), "parquet")
    spark.stop()
    transform_id = service.create_ml_transform(
        {
            "Name": "bench",
            "Role": "local",
            "InputRecordTables": [{"DatabaseName": "bench", "TableName": "people"}],
            "Parameters": {"TransformType": "FIND_MATCHES", "FindMatchesParameters": {"PrimaryKeyColumnName": "id"}},
        }
    )["TransformId"]

    server = make_server("127.0.0.1", 0, GlueJsonApp(service), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    glue = boto3.client(
        "glue",
        endpoint_url=f"http://127.0.0.1:{server.server_port}",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 0}),
    )
    output = f"file://{state}/out"
    http_start, http_get, run_ids = [], [], []
    for _ in range(args.requests):
        result: dict = {}
        http_start.append(
            timed(
                lambda r=result: r.update(
                    glue.start_ml_labeling_set_generation_task_run(TransformId=transform_id, OutputS3Path=output)
                )
            )
        )
        run_ids.append(result["TaskRunId"])
        http_get.append(
            timed(lambda r=result: glue.get_ml_task_run(TransformId=transform_id, TaskRunId=r["TaskRunId"]))
        )
        service.cancel_ml_task_run({"TransformId": transform_id, "TaskRunId": result["TaskRunId"]})

    cli = str(Path(sys.executable).parent / "glue-labeling")
    environment = {**os.environ, **settings.to_environment()}
    cli_start, cli_get = [], []
    for _ in range(args.cli_requests):
        started = time.perf_counter()
        completed = subprocess.run(
            [
                cli,
                "start-ml-labeling-set-generation-task-run",
                "--transform-id",
                transform_id,
                "--output-s3-path",
                output,
            ],
            capture_output=True,
            text=True,
            env=environment,
            check=True,
        )
        cli_start.append(time.perf_counter() - started)
        run_id = json.loads(completed.stdout)["TaskRunId"]
        cli_get.append(
            timed(
                lambda run_id=run_id: subprocess.run(
                    [cli, "get-ml-task-run", "--transform-id", transform_id, "--task-run-id", run_id],
                    capture_output=True,
                    env=environment,
                    check=True,
                )
            )
        )
        service.cancel_ml_task_run({"TransformId": transform_id, "TaskRunId": run_id})
    server.shutdown()
    print(
        json.dumps(
            {
                "machine": socket.gethostname(),
                "ledger_rows": len(service.ledger.runs_of(transform_id)),
                "http_start": percentiles(http_start),
                "http_get": percentiles(http_get),
                "cli_start": percentiles(cli_start),
                "cli_get": percentiles(cli_get),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
