"""Shared fixtures: one SparkSession for the whole run, a private state directory per test,
and a real S3-protocol server (moto's standalone server) on loopback."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from glue_labeling.settings import ENV_PREFIX, Settings, load_settings

S3_ACCESS_KEY = "glue-labeling-test"
S3_SECRET_KEY = "glue-labeling-test-secret"
# The one setting the tests take from the environment: scripts/test_spark35.sh points it at the
# Spark 3.5 jars. Every other setting is the tests' own, whatever the developer has exported.
JARS_DIR_VARIABLE = ENV_PREFIX + "JARS_DIR"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the SparkSession (directly or through another fixture) `spark`,
    so `pytest -m spark` selects them all (scripts/test_spark35.sh)."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server in its own process: in this process, a delta-rs call that holds the GIL
    while it waits for the server would starve a server thread."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("s3-server") / "moto.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the S3 server did not start; see {log.name}") from None
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Settings:
    state = tmp_path_factory.mktemp("session-state")
    return dataclasses.replace(
        load_settings({name: value for name, value in os.environ.items() if name == JARS_DIR_VARIABLE}),
        state_dir=str(state),
        s3_endpoint=s3_endpoint,
        s3_access_key=S3_ACCESS_KEY,
        s3_secret_key=S3_SECRET_KEY,
        spark_shuffle_partitions=2,
        spark_driver_memory="2g",
    )


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    """A fresh control plane (ledger, registry, catalog) per test."""
    return dataclasses.replace(base_settings, state_dir=str(tmp_path / "state"))


@pytest.fixture(scope="session")
def spark(base_settings: Settings):
    from glue_labeling.spark import get_or_create_session

    session = get_or_create_session(base_settings, app_name="glue-labeling-tests")
    yield session
    session.stop()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AWS in this process (moto's mock_aws), with fake credentials so nothing reaches AWS.
    Not for delta-rs: it cannot reach an in-process mock (use `s3_endpoint`)."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def s3(s3_endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
    )


@pytest.fixture
def people_state(
    settings: Settings, spark: Any, base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """A fresh control plane whose catalog knows db.people (registered once per session); the
    SleepLauncher jobs its tests start are killed afterwards."""
    from _sleep_launcher import kill_jobs, shared_people_catalog

    state = dataclasses.replace(settings, catalog_uri=shared_people_catalog(spark, base_settings, tmp_path_factory))
    yield state
    kill_jobs(state)
