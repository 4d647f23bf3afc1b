"""The migrations build exactly the schema the code declares, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
