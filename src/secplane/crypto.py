"""Secrets at rest: sealed with the installation's master key, which never enters the database.

The key lives in a file (mode 0600) in the data directory. A check value stored in the database lets a
server refuse to start with a different key instead of failing later on every decrypt.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class MasterKeyMismatch(RuntimeError):
    """The database was sealed with another master key."""


class MasterKey:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self.check_value = hashlib.sha256(b"secplane-master-key-check:" + key).hexdigest()[:32]
        self.unseal = lru_cache(maxsize=4096)(self._unseal)

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKey:
        """Read the key file, creating it (0600, exclusively) when there is none."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(path.read_bytes().strip())
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as f:
            f.write(key + b"\n")
        return cls(key)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def _unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise MasterKeyMismatch(
                "a secret in the database cannot be decrypted with this master key"
            ) from None
