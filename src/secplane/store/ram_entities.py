"""RAM identities by name, and the per-account RAM revision every policy cache is keyed on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from secplane.store.db import Database
from secplane.store.schema import ram_groups, ram_revisions, ram_roles, ram_users


def find_user(conn: Connection, account_id: str, name: str) -> Row[Any] | None:
    return conn.execute(
        select(ram_users).where(ram_users.c.account_id == account_id, ram_users.c.name == name)
    ).first()


def find_group(conn: Connection, account_id: str, name: str) -> Row[Any] | None:
    return conn.execute(
        select(ram_groups).where(ram_groups.c.account_id == account_id, ram_groups.c.name == name)
    ).first()


def find_role(conn: Connection, account_id: str, name: str) -> Row[Any] | None:
    return conn.execute(
        select(ram_roles).where(ram_roles.c.account_id == account_id, ram_roles.c.name == name)
    ).first()


def bump_revision(conn: Connection, account_id: str) -> None:
    """Mark the account's RAM state as changed (in the writing transaction): one upsert."""
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = dialect_insert(ram_revisions).values(account_id=account_id, revision=1)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[ram_revisions.c.account_id], set_={"revision": ram_revisions.c.revision + 1}
        )
    )


def load_revision(db: Database, account_id: str) -> int:
    """The account's RAM revision, on the hot path: one plain statement."""
    row = db.raw_fetchone("SELECT revision FROM ram_revisions WHERE account_id = ?", (account_id,))
    return int(row[0]) if row else 0


def load_user_id(db: Database, account_id: str, name: str) -> str | None:
    """A RAM user's id by name, on the hot path."""
    row = db.raw_fetchone("SELECT id FROM ram_users WHERE account_id = ? AND name = ?", (account_id, name))
    return str(row[0]) if row else None


def load_role(db: Database, role_id: str) -> tuple[str, str, str] | None:
    """(account_id, name, trust policy) of a role by id, on the hot path."""
    row = db.raw_fetchone("SELECT account_id, name, trust_policy FROM ram_roles WHERE id = ?", (role_id,))
    return (str(row[0]), str(row[1]), str(row[2])) if row else None
