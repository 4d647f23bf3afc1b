"""The audit trail (RAM-11): every API call, written in batches off the request path."""

from __future__ import annotations

import logging
import threading
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from secplane.store.db import Database
from secplane.store.schema import audit_events

log = logging.getLogger(__name__)


class AuditEvent(NamedTuple):
    """One call, as its row (a tuple: the batch insert takes it as it is)."""

    at: float
    request_id: str
    account_id: str
    principal: str
    access_key_id: str
    source_ip: str
    product: str
    version: str
    action: str
    resources: str
    result: str
    http_status: int
    latency_ms: float
    message: str


_COLUMNS = list(AuditEvent._fields)
_INSERT = f"INSERT INTO audit_events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


class AuditWriter:
    """Collects events and inserts them in batches from one thread; ``close`` writes what is left.

    Recording is a list append: no lock, no wake-up of the writer on the request path (the GIL makes
    ``append`` and the swap in ``_take`` atomic).
    """

    def __init__(self, db: Database, flush_interval: float = 0.2) -> None:
        self._db = db
        self._pending: list[AuditEvent] = []
        self._interval = flush_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def record(self, event: AuditEvent) -> None:
        self._pending.append(event)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._write(self._take())

    def _take(self) -> list[AuditEvent]:
        taken, self._pending = self._pending, []
        return taken

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._write(self._take())

    def _write(self, events: list[AuditEvent]) -> None:
        if not events:
            return
        try:
            self._db.raw_execute(_INSERT, events, many=True)
            self._db.raw_execute(_LAST_USED, _last_used(events), many=True)
        except Exception:  # the trail must not take the API down; the loss is logged loudly
            log.exception("could not write %d audit events", len(events))


# GetAccessKeyLastUsed reads this: one update per key and batch costs less than an index over the trail
_LAST_USED = (
    "UPDATE access_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)"
)


def _last_used(events: list[AuditEvent]) -> list[tuple[float, str, float]]:
    """(time, key, time) of each key's newest successful call among ``events``."""
    newest: dict[str, float] = {}
    for e in events:
        if e.result == "Success" and e.access_key_id and newest.get(e.access_key_id, 0.0) < e.at:
            newest[e.access_key_id] = e.at
    return [(at, key, at) for key, at in newest.items()]


def query_events(
    conn: Connection,
    *,
    since: float | None = None,
    until: float | None = None,
    action: str | None = None,
    principal: str | None = None,
    result: str | None = None,
    account_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first. ``result`` is a code (``Success``, ``SignatureDoesNotMatch`` ...) or ``failed``."""
    t = audit_events
    stmt = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(t.c.at >= since)
    if until is not None:
        stmt = stmt.where(t.c.at < until)
    if action:
        stmt = stmt.where(t.c.action == action)
    if principal:
        stmt = stmt.where(t.c.principal == principal)
    if account_id:
        stmt = stmt.where(t.c.account_id == account_id)
    if result == "failed":
        stmt = stmt.where(t.c.result != "Success")
    elif result:
        stmt = stmt.where(t.c.result == result)
    return [dict(row._mapping) for row in conn.execute(stmt)]
