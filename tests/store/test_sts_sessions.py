"""STS sessions in the store: issued sealed, found by key id, forgotten a day after they expire."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from secplane.bootstrap import initialize, open_store
from secplane.config import Settings
from secplane.store import sts
from secplane.store.schema import sts_sessions


def test_sessions_are_sealed_found_and_purged(tmp_path: Path) -> None:
    settings = Settings.from_env(data_dir=tmp_path, database_url="")
    creds = initialize(settings)
    assert creds is not None
    db, key = open_store(settings)
    now = time.time()
    try:
        with db.write() as conn:
            old = sts.issue_session(
                conn, key, account_id=creds.account_id, role_id="1", session_name="old", duration=900,
                caller="ecs.aliyuncs.com", now=now - 3 * 86400,
            )  # fmt: skip
            fresh = sts.issue_session(
                conn, key, account_id=creds.account_id, role_id="1", session_name="new", duration=900,
                caller="ecs.aliyuncs.com", now=now,
            )  # fmt: skip
            stored = conn.execute(select(sts_sessions.c.secret_sealed, sts_sessions.c.token_sha256)).all()
            assert all(fresh.access_key_secret not in row[0] for row in stored)
            assert all(fresh.security_token not in row[1] for row in stored)
        found = sts.load_session(db, key, fresh.access_key_id)
        assert found is not None and found.secret == fresh.access_key_secret
        assert found.token_sha256 == sts.token_digest(fresh.security_token)
        with db.write() as conn:
            assert sts.purge_expired(conn, now) == 1
        assert sts.load_session(db, key, old.access_key_id) is None
        assert sts.load_session(db, key, fresh.access_key_id) is not None
    finally:
        db.dispose()
