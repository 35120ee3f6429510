"""Shared fixtures: one SparkSession for the whole run, a private state directory per test,
and a real S3-protocol server (moto's standalone server) on loopback."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from glue_labeling.settings import Settings, load_settings

S3_ACCESS_KEY = "glue-labeling-test"
S3_SECRET_KEY = "glue-labeling-test-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Settings:
    state = tmp_path_factory.mktemp("session-state")
    return dataclasses.replace(
        load_settings({}),
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
def s3(s3_endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
    )
