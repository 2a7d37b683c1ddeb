"""Postgres session advisory locks: one worker at a time on a piece of work, across processes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection


@contextmanager
def try_advisory_lock(namespace: int, key: int) -> Iterator[bool]:
    """Yield whether this session got the lock, without waiting for it; release it on exit.

    A session lock, not a transaction one: Postgres drops it if the connection dies, so a
    killed worker never leaves the work locked.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])


def hold_session_lock(namespace: int, key: int) -> None:
    """Take the session lock, waiting for it; it lasts until released or the session ends, so
    another session finding it free knows its holder has finished or died."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [namespace, key])


def release_session_lock(namespace: int, key: int) -> None:
    """Release a lock hold_session_lock took. A session that is gone has already dropped it."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
    except DatabaseError:
        pass
