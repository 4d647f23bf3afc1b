"""The migrations build exactly the schema the code declares, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from secplane.store import db as store_db
from secplane.store.db import Database
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


def test_sqlite_migrations_match_the_schema(tmp_path: Path) -> None:
    assert _differences(f"sqlite:///{tmp_path / 'schema.db'}") == []


def test_postgresql_migrations_match_the_schema(own_pg_database: str) -> None:
    assert _differences(own_pg_database) == []


def test_upgrading_keeps_when_keys_were_last_used(tmp_path: Path) -> None:
    """Migration 0007 fills ``last_used_at`` from the audit trail an older installation kept."""
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store_db.__file__).with_name("migrations")))
    try:
        with db.write_engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
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
        with db.write_engine.begin() as conn:
            Database.upgrade(conn)
        with db.write_engine.begin() as conn:
            used = conn.execute(text("SELECT last_used_at FROM access_keys WHERE id = 'LTAI5tOld'")).scalar()
        assert used == 20.0
    finally:
        db.dispose()
