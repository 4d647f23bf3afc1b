"""What a RAM user proves itself with, in the store: access keys, console passwords, virtual MFA
devices; and the account-wide RAM settings. Callers hold the write transaction and, for a user's
credentials, the user's row lock (``ram_users.lock_user``).

Secrets never appear here in the clear: key secrets and MFA seeds arrive sealed, passwords hashed.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from sqlalchemy import Connection, Row, Select, delete, func, insert, select, text, update

from secplane.store.db import Database
from secplane.store.schema import (
    access_keys,
    accounts,
    ram_login_profiles,
    ram_mfa_devices,
    ram_settings,
    ram_users,
)

# ---------------------------------------------------------------- access keys


def _owner(account_id: str, user_name: str | None) -> Any:
    c = access_keys.c
    owner = c.user_name.is_(None) if user_name is None else c.user_name == user_name
    return (c.account_id == account_id) & owner


def keys_of(conn: Connection, account_id: str, user_name: str | None) -> list[Row[Any]]:
    """The user's keys (``None``: the account's own root keys), oldest first. Secrets stay sealed."""
    stmt = (
        select(access_keys)
        .where(_owner(account_id, user_name))
        .order_by(access_keys.c.created_at, access_keys.c.id)
    )
    return list(conn.execute(stmt))


def key_of(conn: Connection, account_id: str, user_name: str | None, key_id: str) -> Row[Any] | None:
    stmt = select(access_keys).where(_owner(account_id, user_name), access_keys.c.id == key_id)
    return conn.execute(stmt).first()


def set_key_status(conn: Connection, key_id: str, status: str) -> None:
    conn.execute(update(access_keys).where(access_keys.c.id == key_id).values(status=status))


def delete_key(conn: Connection, key_id: str) -> None:
    conn.execute(delete(access_keys).where(access_keys.c.id == key_id))


def last_used(conn: Connection, key_id: str) -> float | None:
    """When the key last signed a call that succeeded (the audit writer records it with each batch, so
    it lags the API by the trail's flush interval)."""
    value = conn.execute(select(access_keys.c.last_used_at).where(access_keys.c.id == key_id)).scalar()
    return float(value) if value is not None else None


# ---------------------------------------------------------------- login profiles


def login_profile(conn: Connection, user_id: str) -> Row[Any] | None:
    return conn.execute(select(ram_login_profiles).where(ram_login_profiles.c.user_id == user_id)).first()


def insert_login_profile(
    conn: Connection, user_id: str, password_hash: str, reset_required: bool, mfa_required: bool, now: float
) -> None:
    conn.execute(
        insert(ram_login_profiles).values(
            user_id=user_id,
            password_hash=password_hash,
            previous_hashes="[]",
            password_reset_required=reset_required,
            mfa_bind_required=mfa_required,
            created_at=now,
            updated_at=now,
        )
    )


def previous_hashes(profile: Row[Any]) -> list[str]:
    """The profile's earlier password hashes, newest first."""
    values = json.loads(profile.previous_hashes or "[]")
    return [str(v) for v in values]


def update_login_profile(conn: Connection, user_id: str, now: float, **values: Any) -> None:
    """Change flags and/or the password (``password_hash`` with its ``previous_hashes`` list)."""
    if "previous_hashes" in values:
        values["previous_hashes"] = json.dumps(values["previous_hashes"])
    conn.execute(
        update(ram_login_profiles)
        .where(ram_login_profiles.c.user_id == user_id)
        .values(updated_at=now, **values)
    )


def delete_login_profile(conn: Connection, user_id: str) -> None:
    conn.execute(delete(ram_login_profiles).where(ram_login_profiles.c.user_id == user_id))


# ---------------------------------------------------------------- virtual MFA devices


def _device(account_id: str, name: str) -> Select[Any]:
    c = ram_mfa_devices.c
    return select(ram_mfa_devices).where(c.account_id == account_id, c.name == name)


def mfa_device(
    db: Database, conn: Connection, account_id: str, name: str, lock: bool = False
) -> Row[Any] | None:
    """One device by name; ``lock`` holds its row for the rest of the transaction (PostgreSQL)."""
    stmt = _device(account_id, name)
    if lock and not db.is_sqlite:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def mfa_device_of_user(conn: Connection, user_id: str) -> Row[Any] | None:
    return conn.execute(select(ram_mfa_devices).where(ram_mfa_devices.c.user_id == user_id)).first()


def count_mfa_devices(conn: Connection, account_id: str) -> int:
    stmt = select(func.count()).where(ram_mfa_devices.c.account_id == account_id)
    return int(conn.execute(stmt).scalar_one())


def insert_mfa_device(conn: Connection, account_id: str, name: str, seed_sealed: str, now: float) -> None:
    conn.execute(
        insert(ram_mfa_devices).values(
            account_id=account_id, name=name, seed_sealed=seed_sealed, created_at=now
        )
    )


def bind_mfa_device(
    conn: Connection, account_id: str, name: str, user_id: str, step: int, now: float
) -> None:
    """Give the device to the user; ``step`` is the last TOTP time step used, never accepted again."""
    c = ram_mfa_devices.c
    conn.execute(
        update(ram_mfa_devices)
        .where(c.account_id == account_id, c.name == name)
        .values(user_id=user_id, activated_at=now, last_code_step=step)
    )


def unbind_mfa_device(conn: Connection, account_id: str, name: str) -> None:
    c = ram_mfa_devices.c
    conn.execute(
        update(ram_mfa_devices)
        .where(c.account_id == account_id, c.name == name)
        .values(user_id=None, activated_at=None)
    )


def delete_mfa_device(conn: Connection, account_id: str, name: str) -> None:
    c = ram_mfa_devices.c
    conn.execute(delete(ram_mfa_devices).where(c.account_id == account_id, c.name == name))


def list_mfa_devices(conn: Connection, account_id: str) -> list[Row[Any]]:
    """Every device of the account by name, with its user's id, name and display name (None: unbound)."""
    d, u = ram_mfa_devices.c, ram_users.c
    stmt = (
        select(d.name, d.activated_at, u.id.label("user_id"), u.name.label("user_name"), u.display_name)
        .select_from(ram_mfa_devices.outerjoin(ram_users, u.id == d.user_id))
        .where(d.account_id == account_id)
        .order_by(d.name)
    )
    return list(conn.execute(stmt))


# ---------------------------------------------------------------- account settings


def setting(conn: Connection, account_id: str, name: str) -> dict[str, Any] | None:
    """A stored settings document (``password_policy``, ``security_preference``), or None: defaults."""
    c = ram_settings.c
    doc = conn.execute(select(c.document).where(c.account_id == account_id, c.name == name)).scalar()
    return dict(json.loads(doc)) if doc is not None else None


def put_setting(db: Database, conn: Connection, account_id: str, name: str, document: dict[str, Any]) -> None:
    """Replace the settings document (insert or update, race-free under the account lock)."""
    db.lock_row(conn, accounts, account_id)
    encoded = json.dumps(document, separators=(",", ":"))
    c = ram_settings.c
    changed = conn.execute(
        update(ram_settings).where(c.account_id == account_id, c.name == name).values(document=encoded)
    ).rowcount
    if not changed:
        conn.execute(insert(ram_settings).values(account_id=account_id, name=name, document=encoded))


def account_alias(conn: Connection, account_id: str) -> str:
    return str(conn.execute(select(accounts.c.alias).where(accounts.c.id == account_id)).scalar_one())


def set_account_alias(db: Database, conn: Connection, account_id: str, alias: str) -> bool:
    """Give the account ``alias`` (or clear it with ""); False when another account holds it. Setters
    of the same alias are serialized (SQLite writers already are; PostgreSQL takes a lock on it)."""
    if alias:
        if not db.is_sqlite:
            key = zlib.crc32(f"ram-account-alias:{alias}".encode())
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        taken = conn.execute(
            select(accounts.c.id).where(accounts.c.alias == alias, accounts.c.id != account_id).limit(1)
        ).first()
        if taken is not None:
            return False
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(alias=alias))
    return True
