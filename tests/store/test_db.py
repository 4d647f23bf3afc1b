"""Database: the connections threads keep between transactions, and batches on the hot connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from secplane.store import db as sql
from secplane.store.db import Database


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}", pool_size=4)
    with database.write() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield database
    database.dispose()


def _connection_id(db: Database) -> int:
    with db.read() as conn:
        return id(conn)


def test_a_thread_keeps_its_connection_between_transactions(db: Database) -> None:
    assert _connection_id(db) == _connection_id(db)


def test_a_nested_transaction_gets_a_connection_of_its_own(db: Database) -> None:
    """(A write inside a write would wait for SQLite's one writer: reads are what nest.)"""
    with db.read() as outer, db.read() as inner:
        assert outer is not inner
        assert inner.execute(text("SELECT COUNT(*) FROM t")).scalar() == 0


def test_threads_keep_at_most_half_the_pool(db: Database) -> None:
    """Pool of 4 (+4 overflow): two kept connections, the other threads still get pooled ones."""
    seen: list[int] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        with db.read() as conn:
            seen.append(id(conn))
            barrier.wait(timeout=10)  # all four hold a connection at once

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(seen) == 4 and len(set(seen)) == 4
    assert len(db._kept) == 2  # (the main thread's "write" slot of the fixture is one of them)


def test_dispose_closes_the_kept_connections(db: Database) -> None:
    with db.read() as conn:
        kept = conn
    db.dispose()
    assert kept.closed
    with db.read() as conn:  # a disposed database opens new ones on demand
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_a_batch_on_the_hot_connection_is_all_or_nothing(db: Database) -> None:
    """One transaction for the whole batch: a failing row leaves none of the others behind."""
    with pytest.raises(DBAPIError, match="UNIQUE"):
        db.raw_execute("INSERT INTO t (k, v) VALUES (?, ?)", [(1, "a"), (2, "b"), (1, "again")], many=True)
    assert db.raw_fetchone("SELECT COUNT(*) FROM t", ()) == (0,)
    assert db.raw_execute("INSERT INTO t (k, v) VALUES (?, ?)", [(1, "a"), (2, "b")], many=True) == 2
    assert db.raw_fetchone("SELECT COUNT(*) FROM t", ()) == (2,)


def _reader_of_this_thread(db: Database) -> object:
    with db.read() as conn:
        return conn.connection.dbapi_connection


def test_single_statements_share_the_read_connection_outside_its_transactions(db: Database) -> None:
    """A commit on another connection would empty the read connection's page cache: a read call's nonce
    claim goes on the read connection itself, unless a transaction is open on it."""
    reader = _reader_of_this_thread(db)
    db.raw_execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "claimed"))
    assert _reader_of_this_thread(db) is reader
    with db.read() as conn:
        assert conn.execute(text("SELECT v FROM t WHERE k = 1")).scalar() == "claimed"
        # inside the read transaction the statement commits on its own connection, at once
        db.raw_execute("INSERT INTO t (k, v) VALUES (?, ?)", (2, "meanwhile"))
        with db.write_engine.connect() as other:
            assert other.execute(text("SELECT v FROM t WHERE k = 2")).scalar() == "meanwhile"
        assert conn.execute(text("SELECT COUNT(*) FROM t")).scalar() == 1  # its own snapshot


def test_a_failed_statement_on_the_shared_connection_leaves_reads_working(db: Database) -> None:
    _reader_of_this_thread(db)
    with pytest.raises(DBAPIError):
        db.raw_execute("INSERT INTO no_such_table VALUES (?)", (1,))  # an OperationalError
    with db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM t")).scalar() == 0
    assert db.raw_execute("INSERT INTO t (k, v) VALUES (?, ?)", (3, "after")) == 1


def _count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM t")).scalar_one())


def test_plain_and_core_statements_share_the_transaction(db: Database) -> None:
    """SQLite transactions begin on the driver; a Core statement (which begins SQLAlchemy's own) runs
    inside it, and the two commit or roll back together."""
    with db.write() as conn:
        sql.execute(conn, "INSERT INTO t (k, v) VALUES (?, ?)", (1, "plain"))
        conn.execute(text("INSERT INTO t (k, v) VALUES (2, 'core')"))
    assert _count(db) == 2
    for core_first in (True, False):
        with pytest.raises(RuntimeError), db.write() as conn:
            if core_first:
                conn.execute(text("INSERT INTO t (k, v) VALUES (3, 'core')"))
            sql.execute(conn, "INSERT INTO t (k, v) VALUES (?, ?)", (4, "plain"))
            raise RuntimeError("the handler failed")
        assert _count(db) == 2


def test_a_busy_database_is_sqlalchemys_operational_error(db: Database) -> None:
    """What the gateway answers with a retryable 503, whichever layer began the transaction."""
    with db.write() as conn:
        conn.connection.driver_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
    holder = db.write_engine.raw_connection()
    try:
        holder.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
        with pytest.raises(OperationalError), db.write():
            pass
    finally:
        holder.rollback()
        holder.close()
    with db.write() as conn:  # and the connection still works
        sql.execute(conn, "INSERT INTO t (k, v) VALUES (?, ?)", (5, "after"))
    assert _count(db) == 1


def test_sqlite_checkpoints_every_ten_thousand_pages(db: Database) -> None:
    """Fewer checkpoints copy the pages a stream of writes keeps changing fewer times."""
    with db.write() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10000
