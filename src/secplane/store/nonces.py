"""Signature nonces: a nonce is accepted once per access key within the replay window."""

from __future__ import annotations

from sqlalchemy import Connection

from secplane.store import db as sql
from secplane.store.db import Database

REPLAY_WINDOW_SECONDS = 15 * 60
_PRUNE = "DELETE FROM nonces WHERE created_at < ?"


class NonceBook:
    """Claims nonces in the shared database (one statement per call); prunes expired ones now and then."""

    _PRUNE_EVERY = 2000

    def __init__(self, db: Database) -> None:
        self._db = db
        self._since_prune = 0
        ignore = "INSERT OR IGNORE INTO" if db.is_sqlite else "INSERT INTO"
        conflict = "" if db.is_sqlite else " ON CONFLICT DO NOTHING"
        self._claim_sql = f"{ignore} nonces (access_key_id, nonce, created_at) VALUES (?, ?, ?){conflict}"
        # The same, also reading an account's RAM revision: a RAM identity's call needs both.
        self._claim_revision_sql = (
            f"{self._claim_sql} RETURNING (SELECT revision FROM ram_revisions WHERE account_id = ?)"
        )

    def claim(self, access_key_id: str, nonce: str, now: float, account_id: str = "") -> tuple[bool, int]:
        """Whether this nonce was unused with this key within the window (and is now taken); with
        ``account_id``, also that account's RAM revision (0 when there is none yet), in one statement."""
        if account_id:
            row = self._db.raw_fetchone(self._claim_revision_sql, (access_key_id, nonce, now, account_id))
            claimed, revision = row is not None, int(row[0] or 0) if row is not None else 0
        else:
            claimed, revision = self._db.raw_execute(self._claim_sql, (access_key_id, nonce, now)) == 1, 0
        self._prune_now_and_then(now)
        return claimed, revision

    def claim_in(self, conn: Connection, access_key_id: str, nonce: str, now: float) -> bool:
        """``claim`` inside the caller's transaction: the nonce is taken if and when it commits."""
        claimed = sql.execute(conn, self._claim_sql, (access_key_id, nonce, now)) == 1
        self._prune_now_and_then(now, conn)
        return claimed

    def _prune_now_and_then(self, now: float, conn: Connection | None = None) -> None:
        """Drop expired nonces every so many claims (in ``conn``'s transaction when given: another
        connection would wait for the write lock that transaction holds)."""
        self._since_prune += 1
        if self._since_prune >= self._PRUNE_EVERY:
            self._since_prune = 0
            expired = (now - REPLAY_WINDOW_SECONDS,)
            if conn is None:
                self._db.raw_execute(_PRUNE, expired)
            else:
                sql.execute(conn, _PRUNE, expired)
