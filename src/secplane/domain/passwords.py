"""Console passwords: scrypt hashes in a self-describing form, and the account's password policy.

A hash reads ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (salt and hash in unpadded base64), so the cost can be
raised later without breaking the hashes already stored: each is checked with its own parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import string
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

# 16 MiB and about 50 ms per hash: slow for a guesser, fine for a login or a password change.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES, _HASH_BYTES = 16, 32
_MAX_N = 2**20  # a stored hash never asks for more than 1 GiB

MAX_PASSWORD_LENGTH = 128  # no policy asks for more than 32; this only bounds the work of a hash
_LOWER, _UPPER, _DIGITS = set(string.ascii_lowercase), set(string.ascii_uppercase), set(string.digits)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=129 * r * n + 1024 * 1024
    )


def hash_password(password: str) -> str:
    """A fresh salted scrypt hash of ``password``."""
    salt = os.urandom(_SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, _HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` is the one ``encoded`` was made from; False for a malformed hash."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        return False
    if not (1 < n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16 and expected):
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


def matches_any(password: str, hashes: Iterable[str]) -> bool:
    return any(verify_password(password, h) for h in hashes)


# ---------------------------------------------------------------- the policy


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """The account's password policy with Alibaba's defaults (no class required, 8 characters, no
    expiry, reuse allowed, no lock-out). Field names are the wire names in snake case, typo included."""

    minimum_password_length: int = 8
    require_lowercase_characters: bool = False
    require_uppercase_characters: bool = False
    require_numbers: bool = False
    require_symbols: bool = False
    hard_expiry: bool = False
    max_password_age: int = 0
    password_reuse_prevention: int = 0
    max_login_attemps: int = 0

    def document(self) -> dict[str, Any]:
        """The policy in its wire (and stored) shape: ``{"MinimumPasswordLength": 8, ...}``."""
        return {_WIRE[f.name]: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_document(cls, doc: dict[str, Any] | None) -> PasswordPolicy:
        """Read a stored document; fields it lacks keep their defaults."""
        values = {f.name: doc[_WIRE[f.name]] for f in fields(cls) if doc and _WIRE[f.name] in doc}
        return cls(**values)


_WIRE = {f.name: "".join(part.capitalize() for part in f.name.split("_")) for f in fields(PasswordPolicy)}

# Valid ranges of the numeric fields (days, previous passwords, attempts per hour).
RANGES = {
    "minimum_password_length": (8, 32),
    "max_password_age": (0, 1095),
    "password_reuse_prevention": (0, 24),
    "max_login_attemps": (0, 32),
}


def wire_name(field_name: str) -> str:
    return _WIRE[field_name]


def weaknesses(password: str, policy: PasswordPolicy) -> list[str]:
    """What ``password`` lacks under ``policy``, in words ("at least 12 characters", "a digit" ...);
    empty when it is strong enough."""
    chars = set(password)
    missing: list[str] = []
    if len(password) < policy.minimum_password_length:
        missing.append(f"at least {policy.minimum_password_length} characters")
    if policy.require_lowercase_characters and not chars & _LOWER:
        missing.append("a lowercase letter")
    if policy.require_uppercase_characters and not chars & _UPPER:
        missing.append("an uppercase letter")
    if policy.require_numbers and not chars & _DIGITS:
        missing.append("a digit")
    if policy.require_symbols and not chars - _LOWER - _UPPER - _DIGITS:
        missing.append("a symbol such as !@#$%")
    return missing


def reuse_window(policy: PasswordPolicy) -> int:
    """How many earlier hashes to keep besides the current one: the policy forbids the last N."""
    return max(policy.password_reuse_prevention - 1, 0)
