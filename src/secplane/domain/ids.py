"""Resource identifiers in Alibaba's shapes: ``sg-bp1…`` ids, 16-digit accounts, ``LTAI…`` keys."""

from __future__ import annotations

import functools
import random
import secrets
import string
import threading
import time
import uuid

_ALNUM_LOWER = string.ascii_lowercase + string.digits
_ALNUM = string.ascii_letters + string.digits
_ALNUM_LOWER_DIGITS_FIRST = string.digits + string.ascii_lowercase  # in ASCII order: sorts as numbers

# The first characters of a real id follow the region (bp… cn-hangzhou, uf… cn-shanghai ...).
_REGION_CODES = {
    "cn-hangzhou": "bp",
    "cn-shanghai": "uf",
    "cn-beijing": "2ze",
    "cn-qingdao": "m5e",
    "cn-zhangjiakou": "8vb",
    "cn-huhehaote": "hp3",
    "cn-shenzhen": "wz9",
    "cn-guangzhou": "7xv",
    "cn-chengdu": "2vc",
    "cn-hongkong": "j6c",
    "ap-southeast-1": "t4n",
    "ap-northeast-1": "6we",
    "us-west-1": "rj9",
    "us-east-1": "0xi",
    "eu-central-1": "gw8",
}


def _byte_map(alphabet: str) -> tuple[bytes, bytes]:
    """A byte -> character table for ``bytes.translate`` and the bytes it must drop: keeping only
    bytes below the largest multiple of the alphabet's size keeps every character equally likely."""
    size = len(alphabet)
    keep = 256 - 256 % size
    table = bytes(ord(alphabet[b % size]) for b in range(256))
    return table, bytes(range(keep, 256))


_BYTE_MAPS = {alphabet: _byte_map(alphabet) for alphabet in (_ALNUM_LOWER, _ALNUM)}


class _RandomBytes:
    """CSPRNG bytes fetched a few KiB at a time: one system call per id (50 for a batch of rules)
    cost more than building the ids."""

    _CHUNK = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._at = 0

    def take(self, n: int) -> bytes:
        with self._lock:
            if self._at + n > len(self._buffer):
                self._buffer, self._at = secrets.token_bytes(max(self._CHUNK, n)), 0
            out = self._buffer[self._at : self._at + n]
            self._at += n
            return out


_random_bytes = _RandomBytes()


def _random(n: int, alphabet: str = _ALNUM_LOWER) -> str:
    """``n`` uniform characters from the CSPRNG, mapped in C (one ``secrets.choice`` per character
    costs a system call each: 20x slower on the id of every created resource)."""
    table, drop = _BYTE_MAPS[alphabet]
    out = b""
    while len(out) < n:
        out += _random_bytes.take(n + 8).translate(table, drop)
    return out[:n].decode("ascii")


def resource_id(prefix: str, region_id: str = "") -> str:
    """``prefix-<region code><time><random>``, 20 characters after the dash.

    The time part — the millisecond in base 36, 8 characters — makes ids sort by creation, so that a
    new row lands at the end of its table's primary-key index: with wholly random ids every insert
    dirties a random index page, and a commit of 50 new rules wrote some 50 pages. The 9 to 10 random
    characters left (12 where the region has no code) keep ids unique: 46 bits or more per millisecond.
    """
    return resource_ids(prefix, region_id, 1)[0]


def resource_ids(prefix: str, region_id: str, count: int) -> list[str]:
    """``count`` ids of ``resource_id``'s shape, their random parts drawn in one go (a batch of rules)."""
    code = _REGION_CODES.get(region_id, "")
    head = f"{prefix}-{code}{_base36(time.time_ns() // 1_000_000, 8)}"
    size = 12 - len(code)
    tails = _random(size * count)
    return [head + tails[i : i + size] for i in range(0, size * count, size)]


@functools.lru_cache(maxsize=64)
def _base36(value: int, width: int) -> str:
    """Cached: the ids one request creates (50 rules, say) share their millisecond."""
    digits = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        digits.append(_ALNUM_LOWER_DIGITS_FIRST[digit])
    return "".join(reversed(digits))


def resource_group_id() -> str:
    return "rg-acfm" + _random(15)


def account_id() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def access_key_id() -> str:
    return "LTAI5t" + _random(18, _ALNUM)


def access_key_secret() -> str:
    return _random(30, _ALNUM)


_fast_random = random.Random()


def request_id() -> str:
    """An upper-case version-4 UUID. Not a secret, so the fast generator will do (os.urandom is a
    system call on every request's path)."""
    return str(uuid.UUID(int=_fast_random.getrandbits(128), version=4)).upper()


def ram_id() -> str:
    """A UserId / GroupId / RoleId: 16 digits, like Alibaba's."""
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def sts_access_key_id() -> str:
    return "STS.NU" + _random(24, _ALNUM)


def security_token() -> str:
    """An opaque STS security token. Only its SHA-256 is stored."""
    return "CAIS" + secrets.token_urlsafe(96)
