"""One RPC request as received, and the signature claims it carries.

``signed_request`` finds which scheme signed the request (V3 header or V1 query), the access key, the
action and version, the timestamp and the nonce. ``SignedRequest.verify(secret)`` recomputes the
signature; it returns None on a match and the server's string to sign otherwise.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote_plus, urlsplit

from secplane.protocol import signature as sig
from secplane.protocol.errors import ApiError, missing_parameter

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(slots=True)
class WireRequest:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    client_ip: str
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, method: str, target: str, query_string: str, headers: dict[str, str], body: bytes, client_ip: str
    ) -> WireRequest:
        """Decode query and form parameters; accept a proxy-form target (``http://host/?a=b``)."""
        path = target
        if target.startswith(("http://", "https://")):
            split = urlsplit(target if not query_string else f"{target}?{query_string}")
            path, query_string = split.path or "/", split.query
        req = cls(method.upper(), path or "/", query_string, headers, body, client_ip)
        req.query = parse_query(query_string)
        content_type = headers.get("content-type", "")
        if body and content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE:
            try:
                req.form = parse_query(body.decode())
            except UnicodeDecodeError:
                raise ApiError("InvalidParameter", "The request body is not valid UTF-8.") from None
        req.params = dict(req.query)
        req.params.update(req.form)
        return req

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


def parse_query(text: str) -> list[tuple[str, str]]:
    """``a=1&b=x+y`` as pairs (``+`` is a space, blanks kept): ``parse_qsl`` with a fast path for the
    many parts that need no unquoting."""
    pairs = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = _unquote_short(value) if len(value) <= 64 else unquote_plus(value)
        pairs.append((name, value))
    return pairs


@functools.lru_cache(maxsize=4096)
def _unquote_short(value: str) -> str:
    """CIDRs, port ranges and times repeat from call to call: each is decoded once."""
    return unquote_plus(value)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    scheme: str  # "V3" or "V1"
    access_key_id: str
    action: str
    version: str
    timestamp: str
    nonce: str
    security_token: str
    _wire: WireRequest
    _v3: sig.V3Authorization | None = None

    def verify(self, secret: str) -> str | None:
        """None when the signature matches, else the string to sign the server computed."""
        w = self._wire
        if self._v3 is None:
            return sig.v1_verify(secret, w.method, w.query + w.form, w.params.get("Signature", ""))
        canonical = sig.v3_canonical_request(
            w.method,
            w.path,
            w.query,
            w.headers,
            self._v3.signed_headers,
            w.headers.get("x-acs-content-sha256", sig.EMPTY_SHA256),
        )
        sts = sig.v3_string_to_sign(canonical)
        return None if sig.v3_verify(secret, sts, self._v3.signature) else sts


_V3_REQUIRED_SIGNED = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce")


def signed_request(w: WireRequest) -> SignedRequest:
    """Read the signature claims, or raise the gateway error an Alibaba client expects."""
    authorization = w.headers.get("authorization", "")
    if authorization.startswith("ACS3-"):
        auth = sig.parse_v3_authorization(authorization)
        missing = [h for h in _V3_REQUIRED_SIGNED if h not in auth.signed_headers]
        if missing:
            raise ApiError(
                "IncompleteSignature",
                f"The request signature does not conform to Aliyun standards: header {missing[0]} "
                "must be signed.",
            )
        token = w.headers.get("x-acs-security-token", "")
        if token and "x-acs-security-token" not in auth.signed_headers:
            raise ApiError(
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: header "
                "x-acs-security-token must be signed.",
            )
        body_hash = hashlib.sha256(w.body).hexdigest()
        claimed = w.headers.get("x-acs-content-sha256", body_hash)
        if not hmac.compare_digest(claimed.encode("utf-8", "surrogatepass"), body_hash.encode()):
            raise ApiError(
                "IncompleteSignature", "The x-acs-content-sha256 header does not match the request body."
            )
        return SignedRequest(
            "V3",
            auth.access_key_id,
            w.headers.get("x-acs-action", ""),
            w.headers.get("x-acs-version", ""),
            w.headers.get("x-acs-date", ""),
            w.headers.get("x-acs-signature-nonce", ""),
            token,
            w,
            auth,
        )
    p = w.params
    if "Signature" not in p:
        raise missing_parameter("AccessKeyId" if "AccessKeyId" not in p else "Signature")
    for name in ("AccessKeyId", "SignatureNonce", "Timestamp"):
        if not p.get(name):
            raise missing_parameter(name)
    if p.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        raise ApiError("InvalidParamater", 'The specified parameter "SignatureMethod" is not valid.')
    if p.get("SignatureVersion", "1.0") != "1.0":
        raise ApiError("InvalidParamater", 'The specified parameter "SignatureVersion" is not valid.')
    return SignedRequest(
        "V1",
        p["AccessKeyId"],
        p.get("Action", ""),
        p.get("Version", ""),
        p["Timestamp"],
        p["SignatureNonce"],
        p.get("SecurityToken", ""),
        w,
    )


def parse_timestamp(value: str) -> datetime:
    """``YYYY-MM-DDThh:mm:ssZ`` (fractions tolerated) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None or "T" not in value:
            raise ValueError(value)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiError(
            "IllegalTimestamp",
            'The input parameter "Timestamp" that is mandatory for processing this request is not supplied.',
        ) from None
