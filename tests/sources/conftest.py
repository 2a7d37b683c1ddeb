"""Fixtures for source tests: moto's S3 server on loopback, and Source builders."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from costapp.sources.models import Source

S3_ENV = {"aws_access_key_id": "IL_TEST_S3_KEY", "aws_secret_access_key": "IL_TEST_S3_SECRET"}


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real S3 HTTP endpoint (moto in server mode) on 127.0.0.1, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """A fresh bucket; credentials live only in the environment variables S3_ENV names."""
    monkeypatch.setenv("IL_TEST_S3_KEY", "testing")
    monkeypatch.setenv("IL_TEST_S3_SECRET", "testing")
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"bills-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    client.endpoint = moto_endpoint
    return client


@pytest.fixture
def make_source(db):
    def make(**fields) -> Source:
        fields.setdefault("name", f"source-{uuid.uuid4().hex[:8]}")
        fields.setdefault("format", "jsonl")
        fields.setdefault("location_kind", Source.Location.LOCAL)
        return Source.objects.create(**fields)

    return make


def request_line(request_id: str, ts: str = "2026-11-01T10:05:00Z", **extra) -> str:
    """One request in our JSON Lines schema (costapp.ingest.jsonl); `extra` overrides fields."""
    record = {
        "timestamp": ts,
        "request_id": request_id,
        "team": "search",
        "model": "llama-70b",
        "endpoint": "/v1/chat",
        "resource_id": "i-1",
        "input_tokens": 100,
        "output_tokens": 10,
        "latency_ms": 500,
        "cache_hit": False,
    }
    record.update(extra)
    return json.dumps(record)
