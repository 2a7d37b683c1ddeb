"""Reads of the pages and the API from a read replica; everything else on default.

With DATABASE_REPLICA_URL set, settings.READ_REPLICA_ALIAS names the replica. A replica lags
its primary, so it is read only where a lag of seconds is harmless and nothing was written
first: inside the request cycle of a read-only (GET/HEAD) dashboard or API view, and there

- only the product's data (costs, allocations, ingestion runs, sources, alerts, what-if):
  users, sessions, login throttling, teams and memberships, and API tokens stay on default, so
  a login, a revoked membership or a revoked token takes effect at once (costapp/core/access.py
  decides what a user may see from those);
- never inside a transaction (a transaction reads its own writes);
- never after the request wrote anything: its later reads go to default too.

Ingestion, attribution, alerts evaluation, Celery tasks and management commands never set the
flag, so they read and write default only and always read their own writes. Raw SQL goes to
whichever connection the code names; a read-only selector that wants the replica asks
`read_alias()` for it (`connections[read_alias()]`), which is default everywhere else.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

# The apps whose reads never go to the replica: who may log in and see what must be current.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "contenttypes", "admin", "axes", "core", "api"})
# The views whose read-only requests read the replica, by the module that defines them.
REPLICA_VIEW_MODULES = ("costapp.dashboard.", "costapp.api.")
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

REPLICA = "replica"  # the alias settings.py gives DATABASE_REPLICA_URL

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_alias() -> str | None:
    alias = getattr(settings, "READ_REPLICA_ALIAS", None)
    return alias if alias and alias in connections.settings else None


def read_alias(app_label: str | None = None) -> str:
    """The database a read made now should use: the replica inside a read-only page or API
    request (and outside any transaction), default otherwise."""
    alias = replica_alias()
    if (
        alias is None
        or not _replica_reads.get()
        or app_label in PRIMARY_ONLY_APPS
        or connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return DEFAULT_DB_ALIAS
    return alias


@contextmanager
def replica_reads():
    """Reads inside use the replica (when configured), as in a read-only page request."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """Django database router: see the module docstring."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias(model._meta.app_label)

    def db_for_write(self, model, **hints) -> str:
        # Read your own writes: once a request writes, its later reads stay on default.
        _replica_reads.set(False)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica holds the same rows as default: objects from either may be related.
        aliases = {DEFAULT_DB_ALIAS, replica_alias()}
        return True if {obj1._state.db, obj2._state.db} <= aliases else None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        # The replica follows default's schema through replication, never by migrate.
        return False if db in {REPLICA, replica_alias()} - {DEFAULT_DB_ALIAS} else None


class ReplicaReadsMiddleware:
    """Turns replica reads on for a read-only request to a dashboard or API view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _replica_reads.set(False)
        try:
            return self.get_response(request)
        finally:
            _replica_reads.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        view = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
        module = (view or view_func).__module__ or ""
        if (
            replica_alias() is not None
            and request.method in READ_ONLY_METHODS
            and module.startswith(REPLICA_VIEW_MODULES)
        ):
            _replica_reads.set(True)
        return None
