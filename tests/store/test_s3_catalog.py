"""The catalog on S3: a local S3-compatible server (moto) on a real socket, reached through s3fs."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.compaction import compact
from tradefabric.store.schema import RowCounts

from .test_versions_and_dedupe import candles, trades

BUCKET = "tradefabric-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def options(s3_endpoint: str) -> dict[str, Any]:
    return {
        "key": "test",
        "secret": "test",
        "client_kwargs": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"},
        # Listings must see the objects a previous step just wrote.
        "use_listings_cache": False,
    }


def test_catalog_on_s3_writes_dedupes_queries_pins_and_compacts(
    options: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    url = f"s3://{BUCKET}/{request.node.name}"
    writer = CatalogWriter(url, storage_options=options)
    assert writer.write_table("candles", candles(0, 30), source="import").rows_added == 30
    assert writer.write_table("candles", candles(20, 30), source="import").rows_added == 20
    writer.write_table("trades", trades(range(10)), source="download", operation="download")

    catalog = Catalog(url, storage_options=options)
    assert catalog.summary() == RowCounts(trades=10, candles=50)
    assert [v.operation for v in catalog.versions()] == ["import", "import", "download"]
    total = catalog.query("SELECT sum(volume) FROM candles").rows[0][0]
    assert total == sum(range(1, 31)) + sum(range(11, 31))

    report = compact(url, storage_options=options)
    assert (report.files_before, report.files_after, report.version) == (2, 1, 4)
    assert Catalog(url, storage_options=options).summary() == RowCounts(trades=10, candles=50)
    pinned = Catalog(url, version=1, storage_options=options)
    assert pinned.summary() == RowCounts(candles=30)

    # A second writer (another machine) sees the stored keys through S3.
    other = CatalogWriter(url, storage_options=options)
    again = other.write_table("candles", candles(0, 60), source="import")
    assert (again.rows_added, again.duplicates) == (10, 50)
