"""STS role sessions: issuing temporary credentials and finding them again when they sign a call."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert

from secplane.crypto import MasterKey
from secplane.domain import ids
from secplane.store.db import Database
from secplane.store.schema import sts_sessions


@dataclass(frozen=True, slots=True)
class StsCredentials:
    access_key_id: str
    access_key_secret: str
    security_token: str
    expiration: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class Session:
    """A stored session as authentication needs it (the secret unsealed)."""

    access_key_id: str
    account_id: str
    role_id: str
    session_name: str
    secret: str
    token_sha256: str
    session_policy: str | None
    caller: str
    expires_at: float


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_session(
    conn: Connection,
    key: MasterKey,
    *,
    account_id: str,
    role_id: str,
    session_name: str,
    duration: int,
    caller: str,
    now: float,
    session_policy: str | None = None,
    source_identity: str = "",
) -> StsCredentials:
    """Store a new role session and return its credentials (the secret and token, this once).

    ``caller`` is who assumed the role — an ARN (``acs:ram::<acct>:user/<name>``) or a service name
    (``ecs.aliyuncs.com``): the trust policy is checked against it again whenever the session is used.
    """
    creds = StsCredentials(
        ids.sts_access_key_id(), ids.access_key_secret(), ids.security_token(), float(int(now) + duration)
    )
    conn.execute(
        insert(sts_sessions).values(
            access_key_id=creds.access_key_id,
            account_id=account_id,
            role_id=role_id,
            session_name=session_name,
            secret_sealed=key.seal(creds.access_key_secret),
            token_sha256=token_digest(creds.security_token),
            session_policy=session_policy,
            caller=caller,
            source_identity=source_identity,
            created_at=now,
            expires_at=creds.expiration,
        )
    )
    global _issued
    _issued += 1
    if _issued % PURGE_EVERY == 0:
        purge_expired(conn, now)
    return creds


_issued = 0
PURGE_EVERY = 500  # sessions issued by this process between two purges of long-expired ones


def load_session(db: Database, key: MasterKey, access_key_id: str) -> Session | None:
    """The session an ``STS.`` key id names, on the hot path: one plain statement."""
    row = db.raw_fetchone(
        "SELECT account_id, role_id, session_name, secret_sealed, token_sha256, session_policy, caller, "
        "expires_at FROM sts_sessions WHERE access_key_id = ?",
        (access_key_id,),
    )
    if row is None:
        return None
    account_id, role_id, session_name, sealed, digest, policy, caller, expires_at = row
    return Session(
        access_key_id,
        account_id,
        role_id,
        session_name,
        key.unseal(sealed),
        digest,
        policy,
        caller,
        expires_at,
    )


def purge_expired(conn: Connection, now: float, grace: float = 86400.0) -> int:
    """Forget sessions a day after they expired (they are refused from the moment they expire)."""
    return int(conn.execute(delete(sts_sessions).where(sts_sessions.c.expires_at < now - grace)).rowcount)
