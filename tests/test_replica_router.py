"""The read-replica router, run against a second connection to a database on the same server.

settings_test.py declares `replica` as a TEST mirror of default: a second connection, its own
backend, to default's test database, so rows committed on default are there to read (tests are
transactional for that). READ_REPLICA_ALIAS turns the routing on, as DATABASE_REPLICA_URL does
in production.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext

from costapp.attribution.models import Allocation, AttributionPolicy, ClosedPeriod
from costapp.core.models import Team
from costapp.core.routers import ReplicaReadsMiddleware, read_alias, replica_reads
from costapp.ingest.models import IngestionRun

from .dashboard.builders import PASSWORD, allocation, finance_user, gpu_resource

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def replica(settings):
    settings.READ_REPLICA_ALIAS = "replica"
    return connections["replica"]


@pytest.fixture
def ledger():
    AttributionPolicy.current()  # made on first read otherwise: a write, then default only
    gpu_resource()
    allocation("2026-10-01T10:00", team="search", model="llama-70b", endpoint="/search/answer",
               amortized="40.1234567891", requests=1200)  # fmt: skip
    return finance_user()


def sql(captured: CaptureQueriesContext) -> str:
    return "\n".join(query["sql"] for query in captured.captured_queries)


def product_reads(captured: CaptureQueriesContext) -> list[str]:
    """The tables of the product's data (attribution, ingest, sources, alerts, what-if) read."""
    tables = re.findall(r'FROM "((?:attribution|ingest|sources|alerts|whatif)_\w+)"', sql(captured))
    return sorted(set(tables))


def test_a_read_on_the_replica_sees_what_default_committed(replica, ledger):
    with replica_reads():
        assert router.db_for_read(Allocation) == "replica"
        (row,) = Allocation.objects.all()
    assert row._state.db == "replica" and str(row.amortized_cost) == "40.1234567891"


def test_the_replica_is_a_second_connection_to_the_same_server(replica):
    query = "SELECT current_database(), inet_server_port(), pg_backend_pid()"
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(query)
        database, port, pid = cursor.fetchone()
    with replica.cursor() as cursor:
        cursor.execute(query)
        assert cursor.fetchone()[:2] == (database, port)
        assert cursor.fetchone() is None
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_read_only_page_reads_the_product_data_from_the_replica(client, replica, ledger):
    assert client.login(username=ledger.username, password=PASSWORD)
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default,
        CaptureQueriesContext(replica) as on_replica,
    ):
        response = client.get("/")
    assert response.status_code == 200
    assert "40.12" in response.content.decode()
    assert product_reads(on_replica)
    # Who is logged in and what they may see stay on default.
    for table in ("django_session", "auth_user", "core_orgrole", "core_membership"):
        assert table not in sql(on_replica)
    assert "django_session" in sql(on_default)


def test_the_api_reads_from_the_replica_too(client, replica, ledger):
    assert client.login(username=ledger.username, password=PASSWORD)
    with CaptureQueriesContext(replica) as on_replica:
        response = client.get("/api/v1/allocations?start=2026-10-01&end=2026-10-02")
    assert response.status_code == 200, response.content
    assert product_reads(on_replica)
    assert "api_apitoken" not in sql(on_replica)


def test_a_write_request_reads_and_writes_on_default_only(client, replica, ledger):
    assert client.login(username=ledger.username, password=PASSWORD)
    with CaptureQueriesContext(replica) as on_replica:
        response = client.post("/periods/", {"month": "2026-10", "action": "close"})
    assert response.status_code in {200, 302}
    assert ClosedPeriod.objects.filter(month="2026-10-01").exists()
    assert on_replica.captured_queries == []


def test_without_a_replica_every_read_stays_on_default(client, settings, ledger):
    settings.READ_REPLICA_ALIAS = None
    assert client.login(username=ledger.username, password=PASSWORD)
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        assert client.get("/").status_code == 200
    assert on_replica.captured_queries == []


def test_routing_decisions(replica):
    # Outside a read-only request (ingestion, attribution, alerts, tasks, commands): default.
    assert router.db_for_read(Allocation) == DEFAULT_DB_ALIAS
    with replica_reads():
        assert router.db_for_read(Allocation) == "replica"
        assert router.db_for_read(IngestionRun) == "replica"
        for model in (get_user_model(), Session, Team):
            assert router.db_for_read(model) == DEFAULT_DB_ALIAS
        with transaction.atomic():  # a transaction reads its own writes
            assert router.db_for_read(Allocation) == DEFAULT_DB_ALIAS
        assert router.db_for_write(Allocation) == DEFAULT_DB_ALIAS
        # After a write, the rest of the request reads default.
        assert router.db_for_read(Allocation) == DEFAULT_DB_ALIAS
    assert read_alias() == DEFAULT_DB_ALIAS
    assert not router.allow_migrate("replica", "attribution")
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "attribution") is not False


def test_a_write_inside_a_page_request_is_read_back_from_default(rf, replica, ledger):
    seen = {}

    def view(request):
        run = IngestionRun.objects.create(format="test", location="x")
        seen["alias"] = router.db_for_read(IngestionRun)
        seen["found"] = IngestionRun.objects.filter(pk=run.pk).exists()
        return None

    view.__module__ = "costapp.dashboard.views"
    middleware = ReplicaReadsMiddleware(lambda request: view(request))
    request = rf.get("/")
    middleware.process_view(request, view, (), {})
    middleware(request)
    assert seen == {"alias": DEFAULT_DB_ALIAS, "found": True}


ROLLUP_READS = ("attribution_rollup_day", "attribution_rollup_hour", "attribution_rollup_share")


@pytest.mark.parametrize("path", ["/", "/teams/search/", "/api/v1/costs"])
def test_the_rollup_reads_of_a_page_go_to_the_replica_after_the_refresh_on_default(
    client, replica, ledger, path
):
    # The ledger's allocation was written by the ORM: its day is marked stale, so the request
    # first refreshes the rollups (a write, on default), then reads them on the replica.
    assert client.login(username=ledger.username, password=PASSWORD)
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default,
        CaptureQueriesContext(replica) as on_replica,
    ):
        response = client.get(path)
    assert response.status_code == 200
    assert "40.12" in response.content.decode()
    on_default_sql, on_replica_sql = sql(on_default), sql(on_replica)
    assert "INSERT INTO attribution_rollup_hour" in on_default_sql
    assert "DELETE FROM attribution_rollup_stale" in on_default_sql
    assert "attribution_rollup_stale" not in on_replica_sql
    assert "INSERT INTO" not in on_replica_sql
    for table in ROLLUP_READS:
        assert f"FROM {table}" in on_replica_sql
    # Every rollup read is on the replica; default only wrote them.
    reads_on_default = [
        query["sql"]
        for query in on_default.captured_queries
        if "INSERT INTO" not in query["sql"]
        and "DELETE FROM" not in query["sql"]
        and any(f"FROM {table}" in query["sql"] for table in ROLLUP_READS)
    ]
    assert reads_on_default == []
