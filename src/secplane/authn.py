"""Authentication: who signed this request, and is the signature fresh, valid and unused?"""

from __future__ import annotations

from dataclasses import dataclass

from secplane.crypto import MasterKey
from secplane.operations.context import Principal
from secplane.protocol.errors import ApiError
from secplane.protocol.wire import SignedRequest, parse_timestamp
from secplane.store import accounts
from secplane.store.db import Database
from secplane.store.nonces import REPLAY_WINDOW_SECONDS, NonceBook

# Access keys of a cloud service acting in an account (the owner of managed resources, SG-12) carry
# ``service:<ServiceID>`` where a RAM user's key carries the user name.
SERVICE_PREFIX = "service:"


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    access_key_id: str


class KeyCache:
    """Access keys by id, remembered for a moment: the lookup is on every call's path.

    A key changed in this process is dropped at once (``forget``); another process sees the change
    within ``TTL`` seconds.
    """

    TTL = 2.0
    MAX_ENTRIES = 10_000

    def __init__(self, db: Database, master_key: MasterKey) -> None:
        self._db = db
        self._key = master_key
        self._entries: dict[str, tuple[float, accounts.AccessKey | None]] = {}

    def get(self, access_key_id: str, now: float) -> accounts.AccessKey | None:
        hit = self._entries.get(access_key_id)
        if hit is not None and now - hit[0] < self.TTL:
            return hit[1]
        key = accounts.load_access_key(self._db, self._key, access_key_id)
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[access_key_id] = (now, key)
        return key

    def forget(self, access_key_id: str) -> None:
        self._entries.pop(access_key_id, None)


class Authenticator:
    def __init__(self, db: Database, master_key: MasterKey) -> None:
        self.keys = KeyCache(db, master_key)
        self._nonces = NonceBook(db)

    def authenticate(self, signed: SignedRequest, now: float) -> Caller:
        """Check timestamp, key, signature, then nonce (last, so bad requests cannot burn nonces)."""
        at = parse_timestamp(signed.timestamp).timestamp()
        if abs(now - at) > REPLAY_WINDOW_SECONDS:
            raise ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        key = self.keys.get(signed.access_key_id, now)
        if key is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        if key.status != "Active":
            raise ApiError("InvalidAccessKeyId.Inactive", "Specified access key is disabled.", 400)
        string_to_sign = signed.verify(key.secret)
        if string_to_sign is not None:
            raise ApiError(
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation. server string to sign is:"
                + string_to_sign,
            )
        if not self._nonces.claim(key.id, signed.nonce, now):
            raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")
        if key.user_name is None:
            return Caller(Principal.root(key.account_id), key.id)
        if key.user_name.startswith(SERVICE_PREFIX):
            return Caller(Principal.service(key.account_id, key.user_name[len(SERVICE_PREFIX) :]), key.id)
        # RAM users arrive with the RAM issue; until then no other kind of key exists
        raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
