"""Signature nonces: a nonce is accepted once per access key within the replay window."""

from __future__ import annotations

from sqlalchemy import delete

from secplane.store.db import Database
from secplane.store.schema import nonces

REPLAY_WINDOW_SECONDS = 15 * 60


class NonceBook:
    """Claims nonces in the shared database; prunes expired ones now and then."""

    _PRUNE_EVERY = 2000

    def __init__(self, db: Database) -> None:
        self._db = db
        self._since_prune = 0

    def claim(self, access_key_id: str, nonce: str, now: float) -> bool:
        """True if this nonce was not used with this key within the window (and is now taken)."""
        with self._db.write() as conn:
            inserted = self._db.insert_ignore(
                conn, nonces, access_key_id=access_key_id, nonce=nonce, created_at=now
            )
            self._since_prune += 1
            if self._since_prune >= self._PRUNE_EVERY:
                self._since_prune = 0
                conn.execute(delete(nonces).where(nonces.c.created_at < now - REPLAY_WINDOW_SECONDS))
        return inserted
