"""RAM groups and their members, and the plain queries every named RAM entity shares (users, groups,
roles and custom policies are all rows with an ``id``, an ``account_id`` and a ``name``).

Callers hold the transaction. Writers that check a limit or a conflict lock first, always in the order
account row → user → group → role → policy (``find_named``); SQLite writers are serialized already, on
PostgreSQL the row locks make the checks hold across server processes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Table, delete, func, insert, select, update

from secplane.store.db import Database
from secplane.store.schema import ram_group_members, ram_groups, ram_users

# ---------------------------------------------------------------- any named RAM entity


def find_named(
    db: Database, conn: Connection, table: Table, account_id: str, name: str, *, lock: bool = False
) -> Row[Any] | None:
    """The account's entity called ``name`` in ``table`` (users, groups, roles, custom policies), with
    ``lock`` locked until the transaction ends; None if there is none."""
    stmt = select(table).where(table.c.account_id == account_id, table.c.name == name)
    if lock and not db.is_sqlite:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def count_in_account(conn: Connection, table: Table, account_id: str) -> int:
    return int(conn.execute(select(func.count()).where(table.c.account_id == account_id)).scalar_one())


def all_in_account(conn: Connection, table: Table, account_id: str) -> list[Row[Any]]:
    """Every entity of the account, by name (the order of ListUsers too)."""
    stmt = select(table).where(table.c.account_id == account_id).order_by(table.c.name)
    return list(conn.execute(stmt))


def update_by_id(conn: Connection, table: Table, entity_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(table).where(table.c.id == entity_id).values(**values))


def delete_by_id(conn: Connection, table: Table, entity_id: str) -> None:
    conn.execute(delete(table).where(table.c.id == entity_id))


def insert_row(conn: Connection, table: Table, **values: Any) -> None:
    conn.execute(insert(table).values(**values))


# ---------------------------------------------------------------- membership


def add_member(conn: Connection, group_id: str, user_id: str, now: float) -> None:
    insert_row(conn, ram_group_members, group_id=group_id, user_id=user_id, joined_at=now)


def remove_member(conn: Connection, group_id: str, user_id: str) -> bool:
    """True when the user was a member."""
    c = ram_group_members.c
    return (
        conn.execute(delete(ram_group_members).where(c.group_id == group_id, c.user_id == user_id)).rowcount
        > 0
    )


def is_member(conn: Connection, group_id: str, user_id: str) -> bool:
    c = ram_group_members.c
    return (
        conn.execute(select(c.user_id).where(c.group_id == group_id, c.user_id == user_id)).first()
        is not None
    )


def count_groups_of_user(conn: Connection, user_id: str) -> int:
    c = ram_group_members.c
    return int(conn.execute(select(func.count()).where(c.user_id == user_id)).scalar_one())


def has_members(conn: Connection, group_id: str) -> bool:
    c = ram_group_members.c
    return conn.execute(select(c.user_id).where(c.group_id == group_id).limit(1)).first() is not None


def groups_of_user(conn: Connection, user_id: str) -> list[Row[Any]]:
    """The user's groups (``name``, ``id``, ``comments``, ``joined_at``), in the order joined."""
    m, g = ram_group_members.c, ram_groups.c
    stmt = (
        select(g.id, g.name, g.comments, m.joined_at)
        .join_from(ram_group_members, ram_groups, g.id == m.group_id)
        .where(m.user_id == user_id)
        .order_by(m.joined_at, g.name)
    )
    return list(conn.execute(stmt))


def users_of_group(conn: Connection, group_id: str) -> list[Row[Any]]:
    """The group's members (``name``, ``display_name``, ``joined_at``), in the order they joined."""
    m, u = ram_group_members.c, ram_users.c
    stmt = (
        select(u.name, u.display_name, m.joined_at)
        .join_from(ram_group_members, ram_users, u.id == m.user_id)
        .where(m.group_id == group_id)
        .order_by(m.joined_at, u.name)
    )
    return list(conn.execute(stmt))
