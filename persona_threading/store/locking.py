"""Several processes writing one SQLite file: take the lock up front, wait, retry a bounded number of times."""

from __future__ import annotations

import sqlite3
import time

#: Seconds sqlite3 waits for another writer's lock, then how often the whole write is retried.
BUSY_TIMEOUT_SECONDS = 20.0
LOCKED_RETRIES = 6


class Transaction:
    """BEGIN/COMMIT around a block, ROLLBACK on error; nests by joining the outer one."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.outer = False

    def __enter__(self):
        self.outer = not self.db.in_transaction
        if self.outer:  # the write lock up front: a deferred BEGIN can fail without waiting (WAL)
            self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, *_):
        if self.outer:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def is_locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def retrying(write, *args):
    """Run ``write`` (one whole transaction), again when another writer still held the lock
    after the busy timeout: a bounded number of times, then the error stands. A write inside
    an outer transaction (``route --dry-run``) is not retried: only the outer one could be."""
    for attempt in range(LOCKED_RETRIES):
        try:
            return write(*args)
        except sqlite3.OperationalError as exc:
            db = getattr(getattr(write, "__self__", None), "db", None)  # a store's own method
            nested = isinstance(db, sqlite3.Connection) and db.in_transaction
            if not is_locked(exc) or nested or attempt == LOCKED_RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
