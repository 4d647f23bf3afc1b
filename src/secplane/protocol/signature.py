"""The two request-signature schemes the official SDKs emit.

V1 (``HMAC-SHA1``, ``SignatureVersion=1.0``): every query and form parameter but ``Signature`` is signed;
the key is ``secret + "&"``. V3 (``ACS3-HMAC-SHA256``): a canonical request over the query, the headers
named in ``SignedHeaders`` and the body hash; the key is the secret as is. Both are recomputed here exactly
as the clients compute them, so a mismatch can be reported with the server's string to sign.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from secplane.protocol.errors import ApiError

V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba signs it: unreserved kept, space as %20, ``*`` as %2A."""
    if _UNRESERVED.fullmatch(value):  # most values (ids, names, nonces) need no encoding at all
        return value
    return quote(value, safe="-_.~")


@functools.lru_cache(maxsize=8192)
def _encode_short(text: str) -> str:
    """Names (``Permissions.7.PortRange``) and most values (``TCP``, CIDRs, ports, times) come again
    and again: each is encoded once (a 50-rule call signs some 160 of them)."""
    return percent_encode(text)


def _canonical_pairs(params: Iterable[tuple[str, str]], plus_spaces: bool = False) -> str:
    encoded = []
    for name, value in params:
        enc_value = _encode_short(value) if len(value) <= 64 else percent_encode(value)
        if plus_spaces:
            enc_value = enc_value.replace("%20", "+")
        encoded.append((_encode_short(name) if len(name) <= 64 else percent_encode(name), enc_value))
    encoded.sort()
    return "&".join(f"{k}={v}" for k, v in encoded)


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison that treats any text a client sends (non-ASCII included) as data."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------- V1


def v1_string_to_sign(method: str, params: Iterable[tuple[str, str]], plus_spaces: bool = False) -> str:
    """``METHOD&%2F&enc(canonical query)`` over every parameter except ``Signature``."""
    signed = [(k, v) for k, v in params if k != "Signature"]
    canonical = _canonical_pairs(signed, plus_spaces)
    # the canonical string holds only unreserved characters, "%", "=", "&" (and "+"): encode just those
    outer = canonical.replace("%", "%25").replace("=", "%3D").replace("&", "%26").replace("+", "%2B")
    return f"{method.upper()}&%2F&{outer}"


def v1_sign(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def v1_verify(secret: str, method: str, params: list[tuple[str, str]], signature: str) -> str | None:
    """Return None when the signature matches, else the server's string to sign.

    A second canonical form with ``+`` for spaces is accepted too: alibabacloud-credentials' AssumeRole
    call signs that way (reference ram-sts-auth §2.4).
    """
    sts = v1_string_to_sign(method, params)
    if _same(v1_sign(secret, sts), signature):
        return None
    if any(" " in v for _, v in params):
        alt = v1_string_to_sign(method, params, plus_spaces=True)
        if _same(v1_sign(secret, alt), signature):
            return None
    return sts


# ---------------------------------------------------------------- V3


@dataclass(frozen=True, slots=True)
class V3Authorization:
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_v3_authorization(header: str) -> V3Authorization:
    """Parse ``ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex``."""
    algorithm, _, rest = header.partition(" ")
    if algorithm != V3_ALGORITHM:
        raise ApiError(
            "InvalidSignatureMethod", f"The signature algorithm {algorithm!r} is not supported.", 400
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value
    credential = fields.get("Credential", "")
    signed = fields.get("SignedHeaders", "")
    signature = fields.get("Signature", "")
    if not credential or not signed or not signature:
        raise ApiError("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
    return V3Authorization(credential, tuple(h.strip().lower() for h in signed.split(";")), signature)


def v3_canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    payload_hash: str,
) -> str:
    names = sorted(signed_headers)
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
    return "\n".join(
        (
            method.upper(),
            path or "/",
            _canonical_pairs(query),
            canonical_headers,
            ";".join(names),
            payload_hash,
        )
    )


def v3_string_to_sign(canonical_request: str) -> str:
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def v3_sign(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def v3_verify(secret: str, string_to_sign: str, signature: str) -> bool:
    return _same(v3_sign(secret, string_to_sign), signature.lower())
