"""Authentication: who signed this request, and is the signature fresh, valid and unused?"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import Connection

from secplane.crypto import MasterKey
from secplane.operations.context import Principal
from secplane.protocol.errors import ApiError
from secplane.protocol.wire import SignedRequest, parse_timestamp
from secplane.store import accounts, ram_entities, sts
from secplane.store.db import Database
from secplane.store.nonces import REPLAY_WINDOW_SECONDS, NonceBook

# Access keys of a cloud service acting in an account (the owner of managed resources, SG-12) carry
# ``service:<ServiceID>`` where a RAM user's key carries the user name.
SERVICE_PREFIX = "service:"
STS_PREFIX = "STS."


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    access_key_id: str
    revision: int = 0  # the account's RAM revision read for this call (RAM users and role sessions)
    session_policy: str | None = None  # the policy given at AssumeRole, if any
    # (access key id, nonce) not claimed yet: the call's write transaction claims it (see authenticate)
    pending_nonce: tuple[str, str] | None = None


def _is_ram_user(key: accounts.AccessKey) -> bool:
    return key.user_name is not None and not key.user_name.startswith(SERVICE_PREFIX)


class KeyCache:
    """Access keys by id, remembered: the lookup is on every call's path.

    A RAM user's key is kept with the account's RAM revision it was loaded at; every call reads the
    current revision (with its nonce, see ``Authenticator``) and reloads the key when it moved, so a key
    disabled or deleted in any server process stops working at the next call. The account's own keys and
    service keys are kept ``TTL`` seconds (``forget`` drops one at once).
    """

    TTL = 2.0
    MAX_ENTRIES = 10_000

    def __init__(self, db: Database, master_key: MasterKey) -> None:
        self._db = db
        self._key = master_key
        self._entries: dict[str, tuple[float, int, accounts.AccessKey | None]] = {}

    def get(self, access_key_id: str, now: float) -> tuple[accounts.AccessKey | None, int]:
        """The key and, for a RAM user's key, the RAM revision it was loaded at (to be checked)."""
        hit = self._entries.get(access_key_id)
        if hit is not None:
            at, revision, key = hit
            if (key is not None and _is_ram_user(key)) or now - at < self.TTL:
                return key, revision
        return self.load(access_key_id, now)

    def load(self, access_key_id: str, now: float) -> tuple[accounts.AccessKey | None, int]:
        """The key as stored now (and the revision it was read at), remembered."""
        key = accounts.load_access_key(self._db, self._key, access_key_id)
        revision = 0
        if key is not None and _is_ram_user(key):
            revision = ram_entities.load_revision(self._db, key.account_id)
            key = accounts.load_access_key(self._db, self._key, access_key_id)  # as of that revision
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[access_key_id] = (now, revision, key)
        return key, revision

    def forget(self, access_key_id: str) -> None:
        self._entries.pop(access_key_id, None)

    def clear(self) -> None:
        self._entries.clear()


class Authenticator:
    def __init__(self, db: Database, master_key: MasterKey) -> None:
        self.keys = KeyCache(db, master_key)
        self._db = db
        self._master_key = master_key
        self._nonces = NonceBook(db)
        # Resolved identities, valid while the account's RAM revision is unchanged.
        self._users: dict[tuple[str, str], tuple[int, str | None]] = {}
        self._sessions: dict[str, tuple[int, sts.Session | None, Principal | None]] = {}

    def authenticate(self, signed: SignedRequest, now: float, defer_nonce: bool = False) -> Caller:
        """Check timestamp, key, signature, then nonce (last, so bad requests cannot burn nonces).

        ``defer_nonce`` (a writing call): an account's or a service's key leaves its nonce to the
        call's write transaction — one commit instead of two. The caller must then either run
        ``claim_in`` in that transaction or, if the call fails before it commits, ``claim_now``.
        """
        at = parse_timestamp(signed.timestamp).timestamp()
        if abs(now - at) > REPLAY_WINDOW_SECONDS:
            raise ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if signed.access_key_id.startswith(STS_PREFIX):
            return self._role_session(signed, now)
        key, revision = self.keys.get(signed.access_key_id, now)
        key = _usable(key)
        if key.user_name is None or key.user_name.startswith(SERVICE_PREFIX):
            if defer_nonce:
                _check_signature(signed, key.secret)
                pending = (key.id, signed.nonce)
            else:
                self._verify(signed, key.secret, key.id, now)
                pending = None
            if key.user_name is None:
                principal = Principal.root(key.account_id)
            else:
                principal = Principal.service(key.account_id, key.user_name[len(SERVICE_PREFIX) :])
            return Caller(principal, key.id, pending_nonce=pending)
        # A key's secret never changes, so the remembered one verifies the signature; if the account's
        # RAM state moved since, the key is read again (it may be disabled or gone by now).
        current = self._verify(signed, key.secret, key.id, now, key.account_id)
        if current != revision:
            loaded, revision = self.keys.load(signed.access_key_id, now)
            key = _usable(loaded)
        assert key.user_name is not None
        user_id = self._user_id(key.account_id, key.user_name, revision)
        if user_id is None:  # the user is gone (its keys go first, so this is a race at most)
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        return Caller(Principal.user(key.account_id, user_id, key.user_name), key.id, revision)

    def _verify(
        self, signed: SignedRequest, secret: str, key_id: str, now: float, account_id: str = ""
    ) -> int:
        """Check the signature, then claim the nonce; with ``account_id``, the same statement reads
        that account's RAM revision, which is returned (one round trip for both on the hot path)."""
        _check_signature(signed, secret)
        claimed, revision = self._nonces.claim(key_id, signed.nonce, now, account_id)
        if not claimed:
            raise _nonce_used()
        return revision

    def claim_in(self, conn: Connection, pending: tuple[str, str], now: float) -> None:
        """Claim a deferred nonce in the call's write transaction: it holds only if the call commits."""
        if not self._nonces.claim_in(conn, *pending, now):
            raise _nonce_used()

    def claim_now(self, pending: tuple[str, str], now: float) -> None:
        """Claim a deferred nonce of a call that failed before committing (used already is fine: a
        replay failed, or the claim in the rolled-back transaction found it taken)."""
        self._nonces.claim(*pending, now)

    def _user_id(self, account_id: str, name: str, revision: int) -> str | None:
        hit = self._users.get((account_id, name))
        if hit is not None and hit[0] == revision:
            return hit[1]
        user_id = ram_entities.load_user_id(self._db, account_id, name)
        if len(self._users) >= KeyCache.MAX_ENTRIES:
            self._users.clear()
        self._users[(account_id, name)] = (revision, user_id)
        return user_id

    def _role_session(self, signed: SignedRequest, now: float) -> Caller:
        """An ``STS.`` key: the session must exist, match its token, be unexpired, and its role must
        still exist and still trust whoever assumed it."""
        key_id = signed.access_key_id
        hit = self._sessions.get(key_id)
        session = hit[1] if hit is not None else sts.load_session(self._db, self._master_key, key_id)
        if session is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        if not signed.security_token:
            raise ApiError("MissingSecurityToken", "SecurityToken is mandatory for this action.")
        if not hmac.compare_digest(sts.token_digest(signed.security_token), session.token_sha256):
            raise ApiError(
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The SecurityToken does not match the AccessKeyId.",
            )
        if now >= session.expires_at:
            raise ApiError("InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        revision = self._verify(signed, session.secret, key_id, now, session.account_id)
        principal = hit[2] if hit is not None and hit[0] == revision else None
        if principal is None:
            principal = _session_principal(self._db, session)
            if len(self._sessions) >= KeyCache.MAX_ENTRIES:
                self._sessions.clear()
            self._sessions[key_id] = (revision, session, principal)
        if principal is None:
            raise ApiError(
                "InvalidSecurityToken.Expired",
                "Specified SecurityToken is no longer valid: its role was deleted or no longer trusts the "
                "identity that assumed it.",
            )
        return Caller(principal, key_id, revision, session.session_policy)


def _check_signature(signed: SignedRequest, secret: str) -> None:
    string_to_sign = signed.verify(secret)
    if string_to_sign is not None:
        raise ApiError(
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation. server string to sign is:"
            + string_to_sign,
        )


def _nonce_used() -> ApiError:
    return ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")


def _usable(key: accounts.AccessKey | None) -> accounts.AccessKey:
    if key is None:
        raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    if key.status != "Active":
        raise ApiError("InvalidAccessKeyId.Inactive", "Specified access key is disabled.", 400)
    return key


def _session_principal(db: Database, session: sts.Session) -> Principal | None:
    """The role session's principal, or None when its role is gone or no longer trusts the caller."""
    from secplane.authz import trusts
    from secplane.domain.policy import PolicyError, parse_policy

    role = ram_entities.load_role(db, session.role_id)
    if role is None:
        return None
    account_id, role_name, trust_text = role
    try:
        trust = parse_policy(trust_text, kind="trust")
    except PolicyError:
        return None
    if not trusts(trust, session.caller, account_id, {}):
        return None
    return Principal.role_session(account_id, session.role_id, role_name, session.session_name)
