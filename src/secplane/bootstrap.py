"""First start and every start: data dir, master key, schema, the root account and its credentials."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, insert, select

from secplane.config import Settings
from secplane.crypto import MasterKey, MasterKeyMismatch
from secplane.store import accounts
from secplane.store.db import Database
from secplane.store.schema import meta


@dataclass(frozen=True)
class Credentials:
    account_id: str
    access_key_id: str
    access_key_secret: str
    endpoint: str
    region_id: str

    def as_dict(self) -> dict[str, str]:
        return {
            "account_id": self.account_id,
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "endpoint": self.endpoint,
            "region_id": self.region_id,
        }


def open_store(settings: Settings) -> tuple[Database, MasterKey]:
    """Open the database and the master key of an initialized installation (what each worker does)."""
    master_key = MasterKey.load_or_create(settings.data_dir / "master.key")
    db = Database(settings.effective_database_url)
    with db.read() as conn:
        check = conn.execute(select(meta.c.value).where(meta.c.key == "master_key_check")).scalar()
    if check is not None and check != master_key.check_value:
        db.dispose()
        raise _key_mismatch(settings)
    return db, master_key


def _key_mismatch(settings: Settings) -> MasterKeyMismatch:
    return MasterKeyMismatch(
        f"{settings.data_dir / 'master.key'} is not the master key this database was created with; "
        "copy master.key from the data dir of the first server (or point --data-dir at it)"
    )


def initialize(settings: Settings) -> Credentials | None:
    """Make the installation ready; return the root credentials when they were created just now."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    master_key = MasterKey.load_or_create(settings.data_dir / "master.key")
    db = Database(settings.effective_database_url, pool_size=2)
    try:
        with db.exclusive(settings.data_dir) as conn:
            db.upgrade(conn)
            creds = _ensure_root(conn, master_key, settings)
        if creds is not None:
            write_credentials(settings.data_dir / "credentials.json", creds)
        return creds
    finally:
        db.dispose()


def _ensure_root(conn: Connection, master_key: MasterKey, settings: Settings) -> Credentials | None:
    with conn.begin():
        rows = {row.key: row.value for row in conn.execute(select(meta.c.key, meta.c.value))}
        if "master_key_check" in rows:
            if rows["master_key_check"] != master_key.check_value:
                raise _key_mismatch(settings)
            return None
        account_id = accounts.create_account(conn)
        key = accounts.create_access_key(conn, master_key, account_id, None)
        conn.execute(
            insert(meta),
            [
                {"key": "master_key_check", "value": master_key.check_value},
                {"key": "root_account_id", "value": account_id},
            ],
        )
    return Credentials(account_id, key.id, key.secret, settings.endpoint, settings.region_id)


def write_credentials(path: Path, creds: Credentials) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds.as_dict(), f, indent=2)
        f.write("\n")
    os.chmod(path, 0o600)
