"""Accounts, their default resource group and their access keys."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import NoResultFound

from secplane.crypto import MasterKey
from secplane.domain import ids
from secplane.store import db as sql
from secplane.store.db import Database
from secplane.store.schema import access_keys, accounts, resource_groups


@dataclass(frozen=True, slots=True)
class AccessKey:
    id: str
    account_id: str
    user_name: str | None  # None: the account's root identity
    secret: str
    status: str


def create_account(conn: Connection) -> str:
    """A new account with its default resource group; returns the 16-digit account id."""
    account_id = ids.account_id()
    now = time.time()
    conn.execute(insert(accounts).values(id=account_id, alias="", created_at=now))
    conn.execute(
        insert(resource_groups).values(
            id=ids.resource_group_id(),
            account_id=account_id,
            name="default",
            display_name="default resource group",
            is_default=True,
            created_at=now,
        )
    )
    return account_id


def create_access_key(conn: Connection, key: MasterKey, account_id: str, user_name: str | None) -> AccessKey:
    ak = AccessKey(ids.access_key_id(), account_id, user_name, ids.access_key_secret(), "Active")
    conn.execute(
        insert(access_keys).values(
            id=ak.id,
            account_id=account_id,
            user_name=user_name,
            secret_sealed=key.seal(ak.secret),
            status=ak.status,
            created_at=time.time(),
        )
    )
    return ak


def find_access_key(conn: Connection, key: MasterKey, access_key_id: str) -> AccessKey | None:
    row = conn.execute(
        select(
            access_keys.c.account_id,
            access_keys.c.user_name,
            access_keys.c.secret_sealed,
            access_keys.c.status,
        ).where(access_keys.c.id == access_key_id)
    ).first()
    if row is None:
        return None
    return AccessKey(access_key_id, row.account_id, row.user_name, key.unseal(row.secret_sealed), row.status)


def load_access_key(db: Database, key: MasterKey, access_key_id: str) -> AccessKey | None:
    """The same as ``find_access_key`` on the hot path: one plain statement, no SQL compilation."""
    row = db.raw_fetchone(
        "SELECT account_id, user_name, secret_sealed, status FROM access_keys WHERE id = ?", (access_key_id,)
    )
    if row is None:
        return None
    account_id, user_name, sealed, status = row
    return AccessKey(access_key_id, account_id, user_name, key.unseal(sealed), status)


_DEFAULT_RESOURCE_GROUP = "SELECT id FROM resource_groups WHERE account_id = ? AND is_default = ?"
# made with the account and never changed or deleted, and every create asks: remembered per account
_default_resource_groups: dict[str, str] = {}


def default_resource_group(conn: Connection, account_id: str) -> str:
    known = _default_resource_groups.get(account_id)
    if known is None:
        row = sql.fetchone(conn, _DEFAULT_RESOURCE_GROUP, (account_id, True))
        if row is None:
            raise NoResultFound(f"account {account_id} has no default resource group")
        known = _default_resource_groups[account_id] = str(row[0])
    return known
