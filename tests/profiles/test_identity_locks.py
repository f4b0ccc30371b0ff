"""Blocking-key locks (``profiles.identity.bulk.keys_lock``): on PostgreSQL a batch
of few keys locks each key, so unrelated batches never wait for each other and
batches sharing a key do; a batch of many keys locks their hashed buckets,
which excludes every per-key locker of those buckets. SQLite's IMMEDIATE
transactions serialize writers, so there the function takes no lock at all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction

from profiles.identity import bulk
from profiles.identity.bulk import KEY_LOCKS_MAX, keys_lock

A = ("email", "ada@example.org")
B = ("email", "grace@example.org")
MANY = [("phone", f"+3161234{n:04d}") for n in range(KEY_LOCKS_MAX + 1)]


def _while_held(keys: list[tuple[str, str]], then: Callable[[], Any]) -> Any:
    """Hold ``keys`` locked in a transaction of another thread (and connection) while
    ``then`` runs here; returns what ``then`` returned."""
    locked, done = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                keys_lock(keys)
                locked.set()
                done.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10)
        return then()
    finally:
        done.set()
        thread.join(10)


def _waits(keys: list[tuple[str, str]]) -> bool:
    """Whether locking ``keys`` here has to wait (for more than 300 ms)."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            keys_lock(keys)
    except OperationalError:
        return True
    return False


@pytest.mark.django_db(transaction=True)
def test_key_locks_exclude_only_batches_sharing_a_key(
    django_assert_num_queries: Any,
) -> None:
    if connection.vendor != "postgresql":
        with django_assert_num_queries(0):
            keys_lock([A, B, *MANY])
        return
    assert _while_held([A], lambda: _waits([B])) is False
    assert _while_held([A], lambda: _waits([B, A])) is True
    # Many keys: their buckets, exclusively; a per-key locker of any of them waits...
    assert _while_held(MANY, lambda: _waits([MANY[0]])) is True
    # ... and a bucket locker waits for a per-key locker in one of its buckets.
    assert _while_held([MANY[0]], lambda: _waits(MANY)) is True


def _in_bucket(bucket: int, count: int) -> list[tuple[str, str]]:
    keys = (("phone", f"+31{n:09d}") for n in range(10**9))
    return [k for k, _ in zip(
        (k for k in keys if bulk._key_hash(k) % bulk.LOCK_BUCKETS == bucket),
        range(count), strict=False,
    )]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_bucket_locker_excludes_its_buckets_only() -> None:
    coarse = _in_bucket(0, KEY_LOCKS_MAX + 1)  # all in bucket 0: one bucket lock
    if connection.vendor != "postgresql":
        assert len(set(coarse)) == KEY_LOCKS_MAX + 1
        return
    assert _while_held(coarse, lambda: _waits(_in_bucket(1, 1))) is False
    assert _while_held(coarse, lambda: _waits([("email", "x@example.org"), coarse[-1]])) is True
