"""Engines, transactions and migrations for SQLite (default) and PostgreSQL.

Writes on SQLite start with ``BEGIN IMMEDIATE`` so that a read-check-write (a limit) is serialized
with every other writer, in this process and in any other process sharing the file. On PostgreSQL,
writers that check a limit lock the parent row (``lock_row``) inside the same transaction.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

_MIGRATIONS = Path(__file__).with_name("migrations")


_KEY: BindParameter[Any] = bindparam("key")


def _sqlite_engine(url: str, begin: str, pool_size: int) -> Engine:
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, connect_args={"check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint every 10,000 WAL pages (40 MB) rather than SQLite's 1,000: the pages a stream of
        # small writes keeps changing (the tails of the indexes) are copied back and synced once per
        # checkpoint, so fewer checkpoints cost less per write (about 15% of a CreateSecurityGroup).
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # straight to the driver: exec_driver_sql would run the whole execution machinery for a BEGIN;
        # none inside a transaction Database._transaction began on the driver already
        driver = conn.connection.dbapi_connection
        if not driver.in_transaction:  # type: ignore[union-attr]
            driver.execute(begin)  # type: ignore[union-attr]

    return engine


class Database:
    """The store's connection to one database URL."""

    def __init__(self, url: str, pool_size: int = 16) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.read_engine = _sqlite_engine(url, "BEGIN", pool_size)
            self.write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE", pool_size)
            self._hot_engine = _sqlite_engine(url, "BEGIN", pool_size)
        else:
            engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)
            self.read_engine = self.write_engine = engine
            self._hot_engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
        self._local = threading.local()  # each thread's hot-path connection
        self._dbapi: Any = self.write_engine.dialect.dbapi
        self._lock_statements: dict[str, Select[Any]] = {}  # per table, built once (see lock_row)
        self._kept: list[Connection] = []  # the threads' own connections (see _transaction), for dispose
        self._max_kept = pool_size // 2
        self._kept_lock = threading.Lock()
        self._begin = {self.read_engine: "BEGIN", self.write_engine: "BEGIN IMMEDIATE"}  # SQLite

    def read(self) -> AbstractContextManager[Connection]:
        return self._transaction(self.read_engine, "read")

    def write(self) -> AbstractContextManager[Connection]:
        return self._transaction(self.write_engine, "write")

    @contextmanager
    def _transaction(self, engine: Engine, slot: str) -> Iterator[Connection]:
        """A transaction on the thread's own connection to ``engine``, kept between calls (taking a
        connection from the pool and giving it back costs as much as a small handler). A transaction
        opened inside another on the same thread gets a pooled connection of its own, as before."""
        conn: Connection | None = getattr(self._local, slot, None)
        if conn is None or conn.closed:
            with self._kept_lock:
                # at most half the pool is kept by threads, so that the others always find one
                keep = len(self._kept) < self._max_kept
                if keep:
                    conn = engine.connect()
                    self._kept.append(conn)
            if conn is None:
                with engine.begin() as pooled:
                    yield pooled
                return
            setattr(self._local, slot, conn)
        if conn.in_transaction() or _driver_in_transaction(conn):
            with engine.begin() as nested:
                yield nested
            return
        if not self.is_sqlite:
            with conn.begin():
                yield conn
            return
        # SQLite: BEGIN and COMMIT straight on the driver. SQLAlchemy's transaction object and its
        # events cost 24 µs a call, more than the two statements; the handlers' plain statements do not
        # need it, and a Core statement that does begins it inside ours (see _on_begin), so that
        # SQLAlchemy ends it when it is there.
        raw: Any = conn.connection.driver_connection
        begin = self._begin[engine]
        try:
            raw.execute(begin)
        except self._dbapi.Error as exc:  # busy past the timeout, say: the error SQLAlchemy would raise
            raise DBAPIError.instance(begin, None, exc, self._dbapi.Error) from exc
        try:
            yield conn
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            else:
                raw.rollback()
            raise
        if conn.in_transaction():
            conn.commit()
            return
        try:
            raw.commit()
        except self._dbapi.Error as exc:
            raw.rollback()
            raise DBAPIError.instance("COMMIT", None, exc, self._dbapi.Error) from exc

    def lock_row(self, conn: Connection, table: Table, key: Any) -> Any:
        """Lock one row for the rest of the transaction (PostgreSQL); SQLite writers are already serial."""
        stmt = self._lock_statements.get(table.name)
        if stmt is None:  # built once per table: constructing a select costs more than running it
            pk = next(iter(table.primary_key.columns))
            stmt = select(table).where(pk == _KEY)
            if not self.is_sqlite:
                stmt = stmt.with_for_update()
            self._lock_statements[table.name] = stmt
        return conn.execute(stmt, {"key": key}).first()

    def insert_ignore(self, conn: Connection, table: Table, **values: Any) -> bool:
        """``INSERT … ON CONFLICT DO NOTHING``; True when the row was new."""
        dialect_insert = sqlite_insert if self.is_sqlite else pg_insert
        pk = next(iter(table.primary_key.columns))
        stmt = dialect_insert(table).values(**values).on_conflict_do_nothing().returning(pk)
        return conn.execute(stmt).first() is not None

    # -- the hot path: plain DB-API statements on a connection each thread keeps, no SQL compilation

    def raw_execute(
        self, sql: str, params: tuple[Any, ...] | Sequence[tuple[Any, ...]], many: bool = False
    ) -> int:
        """Run one writing statement (``?`` placeholders) in its own transaction; its rowcount."""
        raw, reader = self._hot_connection()
        statement = self._placeholders(sql)
        try:
            cursor = raw.cursor()
            if many:
                if self.is_sqlite:  # in autocommit mode each row would commit on its own: 10x the cost
                    cursor.execute("BEGIN")
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params)
            count = cursor.rowcount
            cursor.close()
            raw.commit()
            return int(count)
        except self._dbapi.Error as exc:
            raise self._wrap(raw, reader, statement, exc) from exc

    def raw_fetchone(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        raw, reader = self._hot_connection()
        statement = self._placeholders(sql)
        try:
            cursor = raw.cursor()
            cursor.execute(statement, params)
            row = cursor.fetchone()
            cursor.close()
            raw.commit()
            return tuple(row) if row is not None else None
        except self._dbapi.Error as exc:
            raise self._wrap(raw, reader, statement, exc) from exc

    def _placeholders(self, sql: str) -> str:
        return sql if self.is_sqlite else sql.replace("?", "%s")

    def _hot_connection(self) -> tuple[Any, Connection | None]:
        """The thread's connection for single statements, and the kept read connection it belongs to.

        On SQLite that is the thread's read connection whenever it has one with no transaction open:
        a commit on one connection makes SQLite drop every other connection's page cache, and each
        read call claims its nonce just before it reads (a separate connection reread some eight
        pages per DescribeSecurityGroupAttribute).
        """
        if self.is_sqlite:
            reader: Connection | None = getattr(self._local, "read", None)
            if reader is not None and _idle(reader):
                return reader.connection, reader
        raw = getattr(self._local, "raw", None)
        if raw is None:
            try:
                raw = self._hot_engine.raw_connection()
            except self._dbapi.Error as exc:  # the pool does not wrap a failed connect
                raise OperationalError("connect", None, exc) from exc
            self._local.raw = raw
        return raw, None

    def _wrap(self, raw: Any, reader: Connection | None, statement: str, exc: Exception) -> DBAPIError:
        """The DB-API error as SQLAlchemy's (what the gateway maps to Alibaba errors); a connection that
        failed operationally is dropped, and the thread opens a new one next time."""
        if isinstance(exc, self._dbapi.OperationalError):
            self._drop(raw, reader)
            return OperationalError(statement, None, exc)
        try:
            raw.rollback()
        except self._dbapi.Error:
            self._drop(raw, reader)
        return DBAPIError(statement, None, exc)

    def _drop(self, raw: Any, reader: Connection | None) -> None:
        """Forget a broken connection; the thread gets a new one next time."""
        if reader is not None:
            reader.invalidate()  # a kept read connection reconnects on its next use
        else:
            raw.invalidate()
            self._local.raw = None

    def ping(self) -> bool:
        try:
            with self.read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    @contextmanager
    def exclusive(self, lock_dir: Path) -> Iterator[Connection]:
        """A connection holding the installation-wide lock: a file lock for the processes of this host,
        and an advisory lock on PostgreSQL for the other hosts. Start-up work (migrations, the first
        account) runs under it, so several servers may start at once."""
        with process_lock(lock_dir / "startup.lock"), self.write_engine.connect() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_lock(7212026)"))
                conn.commit()
            try:
                yield conn
            finally:
                if not self.is_sqlite:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(7212026)"))
                    conn.commit()

    @staticmethod
    def upgrade(conn: Connection) -> None:
        """Bring the schema to head (run under ``exclusive``)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()

    def dispose(self) -> None:
        with self._kept_lock:
            kept, self._kept = self._kept, []
        for conn in kept:
            conn.close()  # a connection another thread keeps is closed under it: dispose is the end
        self.read_engine.dispose()
        self.write_engine.dispose()
        self._hot_engine.dispose()


@contextmanager
def process_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _idle(conn: Connection) -> bool:
    """Open, valid, and with no transaction on it, SQLAlchemy's or the driver's."""
    return not (conn.closed or conn.invalidated or conn.in_transaction() or _driver_in_transaction(conn))


def _driver_in_transaction(conn: Connection) -> bool:
    """Whether the driver has a transaction open (SQLite's may be one SQLAlchemy does not know of)."""
    return bool(getattr(conn.connection.driver_connection, "in_transaction", False))


# ---------------------------------------------------------------- plain SQL on the caller's transaction
#
# The hottest handler queries (security groups and their rules) skip SQLAlchemy's statement machinery:
# building a select and looking up its compiled form costs several times what SQLite takes to run it.
# These run a literal statement (``?`` placeholders, rewritten for PostgreSQL) through the DB-API
# connection of ``conn``, so they see and join the handler's transaction like any ``conn.execute``.

_PYFORMAT: dict[str, str] = {}  # statement with ? -> with %s


def _statement(conn: Connection, sql: str) -> str:
    if conn.dialect.paramstyle == "qmark":
        return sql
    statement = _PYFORMAT.get(sql)
    if statement is None:
        statement = _PYFORMAT[sql] = sql.replace("?", "%s")
    return statement


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an ``IN (...)`` of ``count`` values."""
    return ", ".join("?" * count)


def _run(conn: Connection, sql: str, params: Any, many: bool) -> Any:
    statement = _statement(conn, sql)
    fairy = conn.connection
    cursor = fairy.driver_connection.cursor()  # type: ignore[union-attr]
    # cursor-level listeners (statement logging, query-count tests) see these statements too; there is
    # no execution context, and a listener's replacement statement (retval=True) is not applied
    for listener in conn.dispatch.before_cursor_execute:
        listener(conn, cursor, statement, params if many else tuple(params), None, many)
    try:
        if many:
            cursor.executemany(statement, params)
        else:
            cursor.execute(statement, params)
    except Exception as exc:
        cursor.close()
        dbapi = conn.dialect.loaded_dbapi
        if not isinstance(exc, dbapi.Error):
            raise
        # what conn.execute would raise: SQLAlchemy's wrapper (the gateway maps it to Alibaba errors),
        # with a dead connection invalidated so that the pool does not hand it out again
        invalidated = conn.dialect.is_disconnect(exc, fairy.dbapi_connection, cursor)
        if invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            statement, params, exc, dbapi.Error, connection_invalidated=invalidated, dialect=conn.dialect
        ) from exc
    for listener in conn.dispatch.after_cursor_execute:
        listener(conn, cursor, statement, params if many else tuple(params), None, many)
    return cursor


def fetchall(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Every row of one query (plain tuples, in the order of the SELECT list)."""
    cursor = _run(conn, sql, params, False)
    rows = cursor.fetchall()
    cursor.close()
    return list(rows)


def fetchone(conn: Connection, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    cursor = _run(conn, sql, params, False)
    row = cursor.fetchone()
    cursor.close()
    return tuple(row) if row is not None else None


def execute(conn: Connection, sql: str, params: Sequence[Any] = (), many: bool = False) -> int:
    """One writing statement (``many``: once per parameter tuple of ``params``); its rowcount."""
    cursor = _run(conn, sql, params, many)
    count = cursor.rowcount
    cursor.close()
    return int(count)
