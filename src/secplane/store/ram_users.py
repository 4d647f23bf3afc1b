"""RAM users in the store. Callers hold the write transaction.

Lock order, so that concurrent writers cannot deadlock: the account row (creators, renames), then the
user row (everything that changes what hangs off one user), then rows of that user.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, exists, func, insert, select, update

from secplane.domain import ids
from secplane.store.db import Database
from secplane.store.schema import (
    access_keys,
    accounts,
    ram_attachments,
    ram_group_members,
    ram_login_profiles,
    ram_mfa_devices,
    ram_users,
)


def lock_account(db: Database, conn: Connection, account_id: str) -> None:
    """Serialize the account's RAM creators and renamers (PostgreSQL): counts and names checked after
    this hold until commit. SQLite writers are serial already."""
    db.lock_row(conn, accounts, account_id)


def lock_user(db: Database, conn: Connection, user_id: str) -> Row[Any] | None:
    """The user's row, locked for the rest of the transaction; None once it is deleted."""
    row: Row[Any] | None = db.lock_row(conn, ram_users, user_id)
    return row


def user_by_id(conn: Connection, account_id: str, user_id: str) -> Row[Any] | None:
    return conn.execute(
        select(ram_users).where(ram_users.c.account_id == account_id, ram_users.c.id == user_id)
    ).first()


def count_users(conn: Connection, account_id: str) -> int:
    return int(conn.execute(select(func.count()).where(ram_users.c.account_id == account_id)).scalar_one())


def insert_user(conn: Connection, account_id: str, now: float, **values: str) -> Row[Any]:
    """A new user (``name`` and the optional profile fields); its row."""
    user_id = ids.ram_id()
    conn.execute(
        insert(ram_users).values(id=user_id, account_id=account_id, created_at=now, updated_at=now, **values)
    )
    row = user_by_id(conn, account_id, user_id)
    assert row is not None
    return row


def list_users(conn: Connection, account_id: str) -> list[Row[Any]]:
    """Every user of the account, by name (at most the account's limit, a thousand)."""
    stmt = select(ram_users).where(ram_users.c.account_id == account_id).order_by(ram_users.c.name)
    return list(conn.execute(stmt))


def update_user(conn: Connection, user: Row[Any], now: float, **values: str) -> Row[Any]:
    """Change the user's fields; a new ``name`` is carried to its access keys (which hold the name)."""
    conn.execute(update(ram_users).where(ram_users.c.id == user.id).values(updated_at=now, **values))
    new_name = values.get("name", user.name)
    if new_name != user.name:
        conn.execute(
            update(access_keys)
            .where(access_keys.c.account_id == user.account_id, access_keys.c.user_name == user.name)
            .values(user_name=new_name)
        )
    row = user_by_id(conn, user.account_id, user.id)
    assert row is not None
    return row


def delete_conflict(conn: Connection, user: Row[Any]) -> str | None:
    """What still hangs off the user and stops its deletion, as the ``DeleteConflict.User.<X>`` suffix
    (``Group``, ``AccessKey``, ``LoginProfile``, ``MFADevice``, ``Policy``), or None."""
    checks = (
        ("Group", exists().where(ram_group_members.c.user_id == user.id)),
        (
            "AccessKey",
            exists().where(access_keys.c.account_id == user.account_id, access_keys.c.user_name == user.name),
        ),
        ("LoginProfile", exists().where(ram_login_profiles.c.user_id == user.id)),
        ("MFADevice", exists().where(ram_mfa_devices.c.user_id == user.id)),
        (
            "Policy",
            exists().where(
                ram_attachments.c.account_id == user.account_id,
                ram_attachments.c.principal_type == "User",
                ram_attachments.c.principal_id == user.id,
            ),
        ),
    )
    for what, clause in checks:
        if conn.execute(select(clause)).scalar_one():
            return what
    return None


def delete_user(conn: Connection, user_id: str) -> None:
    conn.execute(delete(ram_users).where(ram_users.c.id == user_id))
