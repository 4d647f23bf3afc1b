"""The migrations build exactly the schema the code declares, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, event, text

from secplane.store import db as store_db
from secplane.store import prefix_lists as prefix_store
from secplane.store import security_groups as sg_store
from secplane.store.db import Database
from secplane.store.nonces import NonceBook
from secplane.store.schema import metadata


def _differences(url: str) -> list[object]:
    db = Database(url)
    try:
        with db.write_engine.begin() as conn:
            Database.upgrade(conn)
        with db.write_engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
    finally:
        db.dispose()


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store_db.__file__).with_name("migrations")))
    return cfg


def test_sqlite_migrations_match_the_schema(tmp_path: Path) -> None:
    assert _differences(f"sqlite:///{tmp_path / 'schema.db'}") == []


def test_postgresql_migrations_match_the_schema(own_pg_database: str) -> None:
    assert _differences(own_pg_database) == []


@contextmanager
def _upgraded(tmp_path: Path, revision: str, seed: Callable[[Connection], None]) -> Iterator[Database]:
    """A SQLite database of an older installation (schema ``revision``, rows by ``seed``), upgraded
    to the newest schema the way the server does it at start."""
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = _config()
    try:
        with db.write_engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            seed(conn)
        with db.write_engine.begin() as conn:
            Database.upgrade(conn)
        yield db
    finally:
        db.dispose()


def _keys_and_their_trail(conn: Connection) -> None:
    conn.execute(text("INSERT INTO accounts (id, created_at) VALUES ('1000000000000001', 0)"))
    conn.execute(
        text(
            "INSERT INTO access_keys (id, account_id, secret_sealed, status, created_at) "
            "VALUES ('LTAI5tOld', '1000000000000001', 'x', 'Active', 0)"
        )
    )
    for at, result in [(10.0, "Success"), (20.0, "Success"), (30.0, "SignatureDoesNotMatch")]:
        conn.execute(
            text(
                "INSERT INTO audit_events (at, request_id, access_key_id, result, http_status, "
                "latency_ms) VALUES (:at, 'r', 'LTAI5tOld', :result, 200, 1)"
            ),
            {"at": at, "result": result},
        )


def test_upgrading_keeps_when_keys_were_last_used(tmp_path: Path) -> None:
    """Migration 0007 fills ``last_used_at`` from the audit trail an older installation kept."""
    with _upgraded(tmp_path, "0006", _keys_and_their_trail) as db, db.write_engine.begin() as conn:
        used = conn.execute(text("SELECT last_used_at FROM access_keys WHERE id = 'LTAI5tOld'")).scalar()
    assert used == 20.0


def test_upgrading_keeps_the_nonces_of_the_replay_window(tmp_path: Path) -> None:
    """Migration 0008 rebuilds the SQLite nonce table without rowids: a nonce taken before the upgrade
    is still refused after it, and the migration goes down and up again."""

    def seed(conn: Connection) -> None:
        conn.execute(text("INSERT INTO nonces VALUES ('LTAI5tOld', 'n-1', 100.0)"))

    with _upgraded(tmp_path, "0007", seed) as db:
        with db.write_engine.begin() as conn:
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'nonces'")).scalar()
        assert "WITHOUT ROWID" in str(ddl)
        book = NonceBook(db)
        assert book.claim("LTAI5tOld", "n-1", 200.0) == (False, 0)
        assert book.claim("LTAI5tOld", "n-2", 200.0) == (True, 0)
        cfg = _config()
        with db.write_engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0007")
            rows = conn.execute(text("SELECT nonce FROM nonces ORDER BY nonce")).scalars().all()
            assert rows == ["n-1", "n-2"]
            command.upgrade(cfg, "head")


def test_rule_queries_use_the_partial_indexes(tmp_path: Path) -> None:
    """The limit check reads only the rules that name a group or a prefix list, and the reference
    lookups find them by index: each query repeats its partial index's condition, or SQLite scans."""
    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    seen: list[tuple[str, Any]] = []

    def plan(conn: Connection, statement: str, params: Any) -> str:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", tuple(params))
        return " | ".join(row[3] for row in rows)

    try:
        with db.write_engine.begin() as conn:
            Database.upgrade(conn)
        with db.write_engine.connect() as conn:
            quota = plan(conn, sg_store._QUOTA_USED, ("sg-1", "sg-1"))
            assert "USING INDEX ix_sg_rules_group_peers" in quota
            assert "USING COVERING INDEX ux_sg_rules_group_content" in quota
            unconditioned = plan(conn, "SELECT id FROM sg_rules WHERE peer_group_id = ?", ("sg-1",))
            assert "SCAN sg_rules" in unconditioned  # why the store repeats the condition

            event.listen(conn, "before_cursor_execute", lambda *a: seen.append((a[2], a[3])))
            sg_store.is_referenced(conn, "sg-1")
            prefix_store.is_referenced(conn, "pl-1")
        with db.write_engine.connect() as conn:
            plans = [plan(conn, statement, params) for statement, params in seen[:2]]
        assert "USING INDEX ix_sg_rules_peer_group" in plans[0]
        assert "USING INDEX ix_sg_rules_peer_prefix_list" in plans[1]
    finally:
        db.dispose()
