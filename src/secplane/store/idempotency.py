"""ClientToken idempotency: the first result of a creating call, kept to be replayed."""

from __future__ import annotations

import time

from sqlalchemy import Connection, insert, select

from secplane.store.schema import idempotency


def recall(conn: Connection, account_id: str, action: str, token: str) -> tuple[str, str] | None:
    """(params digest, response JSON) of an earlier call with this token, if any."""
    row = conn.execute(
        select(idempotency.c.params_digest, idempotency.c.response).where(
            idempotency.c.account_id == account_id,
            idempotency.c.action == action,
            idempotency.c.client_token == token,
        )
    ).first()
    return (row.params_digest, row.response) if row else None


def remember(conn: Connection, account_id: str, action: str, token: str, digest: str, response: str) -> None:
    conn.execute(
        insert(idempotency).values(
            account_id=account_id,
            action=action,
            client_token=token,
            params_digest=digest,
            response=response,
            created_at=time.time(),
        )
    )
