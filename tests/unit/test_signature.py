"""Signatures V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256): official vectors, the SDKs' own signers, encoding.

Every expected value here comes from outside secplane: the documented V1 test vector, the canonical request
captured from the Tea SDK (reference ram-sts-auth §3.2) and the signing code of the installed SDKs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import quote, unquote

import pytest
from alibabacloud_credentials.utils import parameter_helper as credentials_signer
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from alibabacloud_tea_openapi.utils import get_canonical_query_string, get_canonicalized_headers
from darabonba.request import DaraRequest
from hypothesis import given
from hypothesis import strategies as st

from secplane.protocol import signature as sig
from secplane.protocol.errors import ApiError
from secplane.protocol.wire import WireRequest, parse_timestamp, signed_request

# ---------------------------------------------------------------- V1: the official test vector

VECTOR_SECRET = "testsecret"
VECTOR_PARAMS = [
    ("AccessKeyId", "testid"),
    ("Action", "CreateUser"),
    ("Format", "JSON"),
    ("SignatureMethod", "HMAC-SHA1"),
    ("SignatureNonce", "6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2"),
    ("SignatureVersion", "1.0"),
    ("Timestamp", "2015-08-18T03:15:45Z"),
    ("UserName", "test"),
    ("Version", "2015-05-01"),
]
VECTOR_SIGNATURE = "kRA2cnpJVacIhDMzXnoNZG9tDCI="
VECTOR_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26Format%3DJSON%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3D6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2%26SignatureVersion%3D1.0"
    "%26Timestamp%3D2015-08-18T03%253A15%253A45Z%26UserName%3Dtest%26Version%3D2015-05-01"
)


def test_v1_official_vector_string_to_sign_and_signature() -> None:
    sts = sig.v1_string_to_sign("GET", VECTOR_PARAMS)
    assert sts == VECTOR_STRING_TO_SIGN
    assert sig.v1_sign(VECTOR_SECRET, sts) == VECTOR_SIGNATURE


def test_v1_official_vector_is_independent_of_parameter_order() -> None:
    shuffled = list(reversed(VECTOR_PARAMS))
    assert sig.v1_sign(VECTOR_SECRET, sig.v1_string_to_sign("GET", shuffled)) == VECTOR_SIGNATURE


def test_v1_official_vector_matches_both_sdk_signers() -> None:
    """The Tea V1 signer and the legacy core composer compute the same signature for the vector."""
    from aliyunsdkcore.auth.composer import rpc_signature_composer as legacy

    assert TeaUtils.get_rpcsignature(dict(VECTOR_PARAMS), "GET", VECTOR_SECRET) == VECTOR_SIGNATURE
    compose = vars(legacy)["__compose_string_to_sign"]  # module-private in aliyunsdkcore
    assert compose("GET", dict(VECTOR_PARAMS)) == VECTOR_STRING_TO_SIGN
    assert vars(legacy)["__get_signature"](VECTOR_STRING_TO_SIGN, VECTOR_SECRET) == VECTOR_SIGNATURE


def test_v1_verify_accepts_the_vector_and_reports_the_string_to_sign_otherwise() -> None:
    signed = [*VECTOR_PARAMS, ("Signature", VECTOR_SIGNATURE)]
    assert sig.v1_verify(VECTOR_SECRET, "GET", signed, VECTOR_SIGNATURE) is None
    # same request, other verb: the method is part of the string to sign
    assert (
        sig.v1_verify(VECTOR_SECRET, "POST", signed, VECTOR_SIGNATURE) == "POST" + VECTOR_STRING_TO_SIGN[3:]
    )
    # wrong secret
    assert sig.v1_verify("other", "GET", signed, VECTOR_SIGNATURE) == VECTOR_STRING_TO_SIGN
    # one tampered value
    tampered = [(k, "test2" if k == "UserName" else v) for k, v in signed]
    reported = sig.v1_verify(VECTOR_SECRET, "GET", tampered, VECTOR_SIGNATURE)
    assert reported is not None and "UserName%3Dtest2" in reported


def test_v1_signature_parameter_is_excluded_and_empty_values_are_signed() -> None:
    base = [("Action", "DescribeRegions"), ("SignatureType", "")]
    sts = sig.v1_string_to_sign("POST", [*base, ("Signature", "whatever")])
    assert sts == sig.v1_string_to_sign("POST", base)
    assert "SignatureType%3D" in sts  # present with its empty value, as the legacy SDK signs it
    assert sts != sig.v1_string_to_sign("POST", base[:1])


def test_v1_key_is_secret_plus_ampersand() -> None:
    sts = "GET&%2F&A%3Db"
    expected = base64.b64encode(hmac.new(b"s3cr3t&", sts.encode(), hashlib.sha1).digest()).decode()
    assert sig.v1_sign("s3cr3t", sts) == expected


def test_v1_legacy_sdk_signed_url_verifies() -> None:
    """The legacy SDK's own get_signed_url (with a body parameter) verifies on the server side."""
    from urllib.parse import parse_qsl, urlsplit

    from aliyunsdkcore.auth.composer.rpc_signature_composer import get_signed_url

    url, client_sts = get_signed_url(
        {"Action": "DescribeRegions", "Version": "2014-05-26", "AcceptLanguage": "en US*~é"},
        "ak",
        "sk",
        "JSON",
        "POST",
        {"FormParam": "x y"},
    )
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    params = [*query, ("FormParam", "x y")]
    signature = dict(query)["Signature"]
    assert sig.v1_string_to_sign("POST", params) == client_sts
    assert sig.v1_verify("sk", "POST", params, signature) is None


# ---------------------------------------------------------------- percent-encoding


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~", "~"),
        ("-_.", "-_."),
        ("AZaz09", "AZaz09"),
        ("/", "%2F"),
        ("+", "%2B"),
        ("=&", "%3D%26"),
        ("%", "%25"),
        ("é", "%C3%A9"),
        ("华东", "%E5%8D%8E%E4%B8%9C"),
        ("😀", "%F0%9F%98%80"),
        ("", ""),
    ],
)
def test_percent_encode(raw: str, encoded: str) -> None:
    assert sig.percent_encode(raw) == encoded


# lone surrogates cannot come off the wire: parameters are decoded from UTF-8
_wire_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))


@given(_wire_text)
def test_percent_encode_is_rfc3986_reversible_and_what_the_tea_signer_does(value: str) -> None:
    encoded = sig.percent_encode(value)
    assert re.fullmatch(r"(?:[A-Za-z0-9\-_.~]|%[0-9A-F]{2})*", encoded)
    assert unquote(encoded) == value
    assert encoded == quote(value, safe="~", encoding="utf-8")  # Tea V3 get_canonical_query_string


# ---------------------------------------------------------------- quote_plus variant (§2.4)

POLICY = '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


def _credentials_lib_params() -> dict[str, str]:
    return {
        "Action": "AssumeRole",
        "Format": "JSON",
        "Version": "2015-04-01",
        "DurationSeconds": "3600",
        "RoleArn": "acs:ram::123:role/r",
        "RoleSessionName": "s",
        "Policy": POLICY,
        "AccessKeyId": "ak",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "Timestamp": "2026-01-01T00:00:00Z",
        "SignatureNonce": "6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2",
    }


def test_quote_plus_variant_from_alibabacloud_credentials_is_accepted() -> None:
    params = _credentials_lib_params()
    client_sts = credentials_signer.compose_string_to_sign("GET", params)
    signature = credentials_signer.sign_string(client_sts, "sk&")
    strict = sig.v1_string_to_sign("GET", list(params.items()))
    assert client_sts != strict  # the quirk is real: spaces became + (then %2B), not %20 (%2520)
    assert client_sts == sig.v1_string_to_sign("GET", list(params.items()), plus_spaces=True)
    assert sig.v1_verify("sk", "GET", list(params.items()), signature) is None
    assert sig.v1_verify("wrong", "GET", list(params.items()), signature) == strict


def test_quote_plus_variant_does_not_weaken_values_without_spaces() -> None:
    params = [("A", "x+y")]
    signature = sig.v1_sign("sk", sig.v1_string_to_sign("GET", [("A", "x y")], plus_spaces=True))
    # "x y" signed the + way must not verify a request whose value is literally "x+y"
    assert sig.v1_verify("sk", "GET", params, signature) is not None


# ---------------------------------------------------------------- V3: canonical request

CAPTURED_HEADERS = {
    "accept": "application/json",
    "host": "127.0.0.1:18931",
    "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
    "x-acs-action": "CreateUser",
    "x-acs-content-sha256": sig.EMPTY_SHA256,
    "x-acs-credentials-provider": "static_ak",
    "x-acs-date": "2026-11-28T00:24:09Z",
    "x-acs-signature-nonce": "93ea7beba4d0f0e5fdd8bc36b34462c2",
    "x-acs-version": "2015-05-01",
}
CAPTURED_QUERY = [("UserName", "alice"), ("Comments", "a b*c~d/é"), ("DisplayName", "Alice Smith")]
CAPTURED_CANONICAL_REQUEST = """POST
/
Comments=a%20b%2Ac~d%2F%C3%A9&DisplayName=Alice%20Smith&UserName=alice
accept:application/json
host:127.0.0.1:18931
user-agent:AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2
x-acs-action:CreateUser
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-credentials-provider:static_ak
x-acs-date:2026-11-28T00:24:09Z
x-acs-signature-nonce:93ea7beba4d0f0e5fdd8bc36b34462c2
x-acs-version:2015-05-01

accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"""


def test_v3_reproduces_the_captured_canonical_request() -> None:
    canonical = sig.v3_canonical_request(
        "post", "/", CAPTURED_QUERY, CAPTURED_HEADERS, list(reversed(CAPTURED_HEADERS)), sig.EMPTY_SHA256
    )
    assert canonical == CAPTURED_CANONICAL_REQUEST


def test_v3_canonical_pieces_match_the_tea_signer() -> None:
    tea_query = get_canonical_query_string(dict(CAPTURED_QUERY))
    tea_headers, tea_signed = get_canonicalized_headers(CAPTURED_HEADERS)
    lines = CAPTURED_CANONICAL_REQUEST.split("\n")
    assert lines[2] == tea_query
    assert "\n".join(lines[3:12]) + "\n" == tea_headers
    assert lines[13] == tea_signed


def test_v3_string_to_sign_structure() -> None:
    sts = sig.v3_string_to_sign(CAPTURED_CANONICAL_REQUEST)
    algorithm, digest = sts.split("\n")
    assert algorithm == "ACS3-HMAC-SHA256"
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == hashlib.sha256(CAPTURED_CANONICAL_REQUEST.encode()).hexdigest()


def test_v3_signature_matches_the_tea_authorization_header() -> None:
    request = DaraRequest()
    request.method = "POST"
    request.pathname = "/"
    request.query = dict(CAPTURED_QUERY)
    request.headers = dict(CAPTURED_HEADERS)
    header = TeaUtils.get_authorization(request, "ACS3-HMAC-SHA256", sig.EMPTY_SHA256, "AKID", "s3cr3t")
    auth = sig.parse_v3_authorization(header)
    assert auth.access_key_id == "AKID"
    assert auth.signed_headers == tuple(sorted(CAPTURED_HEADERS))
    sts = sig.v3_string_to_sign(CAPTURED_CANONICAL_REQUEST)
    assert auth.signature == sig.v3_sign("s3cr3t", sts)
    assert re.fullmatch(r"[0-9a-f]{64}", auth.signature)
    assert sig.v3_verify("s3cr3t", sts, auth.signature)
    assert sig.v3_verify("s3cr3t", sts, auth.signature.upper())
    assert not sig.v3_verify("s3cr3t&", sts, auth.signature)  # V3 keys are the secret as is, no "&"


def test_v3_header_values_are_trimmed_and_missing_signed_headers_are_empty() -> None:
    canonical = sig.v3_canonical_request("GET", "", [], {"host": "  h:1 "}, ["x-acs-date", "host"], "abc")
    assert canonical == "GET\n/\n\nhost:h:1\nx-acs-date:\n\nhost;x-acs-date\nabc"


def test_parse_v3_authorization() -> None:
    auth = sig.parse_v3_authorization(
        "ACS3-HMAC-SHA256 Credential=LTAI,SignedHeaders=Host;X-Acs-Date,Signature=abc123"
    )
    assert auth == sig.V3Authorization("LTAI", ("host", "x-acs-date"), "abc123")
    with pytest.raises(ApiError) as exc:
        sig.parse_v3_authorization("ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=b")
    assert exc.value.code == "InvalidSignatureMethod"
    for broken in (
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host",
        "ACS3-HMAC-SHA256 SignedHeaders=host,Signature=b",
        "ACS3-HMAC-SHA256 Credential=a,Signature=b",
    ):
        with pytest.raises(ApiError) as exc:
            sig.parse_v3_authorization(broken)
        assert exc.value.code == "IncompleteSignature", broken


# ---------------------------------------------------------------- the request as received


def _wire(target: str, headers: dict[str, str] | None = None, body: bytes = b"", method: str = "POST"):
    path, _, query = target.partition("?")
    return WireRequest.parse(
        method, target if "://" in target else path, query, headers or {}, body, "1.2.3.4"
    )


def test_wire_merges_query_and_form_and_signs_both() -> None:
    w = _wire(
        "/?Action=DescribeRegions&A=1",
        {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"B=x+y&C=%2A",
    )
    assert w.params == {"Action": "DescribeRegions", "A": "1", "B": "x y", "C": "*"}
    other = _wire("/?B=1", {"content-type": "application/json"}, b"B=2")
    assert other.params == {"B": "1"}  # a non-form body is not parameters


def test_wire_accepts_a_proxy_form_target() -> None:
    w = _wire("http://ecs.cn-shanghai.aliyuncs.com/?Action=DescribeRegions&X=a%20b")
    assert w.path == "/"
    assert w.params == {"Action": "DescribeRegions", "X": "a b"}
    assert _wire("http://ecs.aliyuncs.com").path == "/"


def test_signed_request_v1_requirements() -> None:
    base = "Action=A&AccessKeyId=k&SignatureNonce=n&Timestamp=2026-01-01T00:00:00Z&Signature=s"
    assert signed_request(_wire(f"/?{base}")).scheme == "V1"
    for name in ("AccessKeyId", "SignatureNonce", "Timestamp"):
        query = "&".join(p for p in base.split("&") if not p.startswith(name))
        with pytest.raises(ApiError) as exc:
            signed_request(_wire(f"/?{query}"))
        assert (exc.value.code, f'"{name}"' in exc.value.message) == ("MissingParameter", True)
    for bad in ("SignatureMethod=HMAC-SHA256", "SignatureVersion=2.0"):
        with pytest.raises(ApiError) as exc:
            signed_request(_wire(f"/?{base}&{bad}"))
        assert exc.value.code == "InvalidParamater"  # sic, as Alibaba spells it


def test_signed_request_v3_requires_core_headers_signed() -> None:
    auth = (
        "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-action;x-acs-version;x-acs-date,Signature=a"
    )
    with pytest.raises(ApiError) as exc:
        signed_request(_wire("/", {"authorization": auth}))
    assert exc.value.code == "IncompleteSignature" and "x-acs-signature-nonce" in exc.value.message


def test_signed_request_v3_body_hash_must_match() -> None:
    auth = (
        "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-action;x-acs-version;x-acs-date;"
        "x-acs-signature-nonce,Signature=a"
    )
    headers = {"authorization": auth, "x-acs-content-sha256": sig.EMPTY_SHA256}
    assert signed_request(_wire("/", headers)).scheme == "V3"
    with pytest.raises(ApiError) as exc:
        signed_request(_wire("/", headers, body=b"x"))
    assert exc.value.code == "IncompleteSignature"


@pytest.mark.parametrize(
    "value", ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123Z", "2026-01-01T08:00:00+08:00"]
)
def test_parse_timestamp_accepts(value: str) -> None:
    assert parse_timestamp(value).timestamp() == pytest.approx(1767225600, abs=1)


@pytest.mark.parametrize(
    "value", ["", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "yesterday", "1767225600"]
)
def test_parse_timestamp_refuses(value: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_timestamp(value)
    assert exc.value.code == "IllegalTimestamp"


# Regressions: each of these was a 500 (OverflowError, TypeError from hmac.compare_digest on non-ASCII str).


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_parse_timestamp_out_of_range_is_illegal(value: str) -> None:
    with pytest.raises(ApiError) as exc:
        parse_timestamp(value)
    assert exc.value.code == "IllegalTimestamp"


def test_v1_verify_non_ascii_signature_is_a_mismatch() -> None:
    assert sig.v1_verify("sk", "GET", [("A", "b")], "é") == sig.v1_string_to_sign("GET", [("A", "b")])


def test_v3_verify_non_ascii_signature_is_a_mismatch() -> None:
    assert sig.v3_verify("sk", "ACS3-HMAC-SHA256\n00", "é") is False


def test_signed_request_v3_non_ascii_body_hash_is_incomplete_signature() -> None:
    auth = (
        "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-action;x-acs-version;x-acs-date;"
        "x-acs-signature-nonce,Signature=a"
    )
    with pytest.raises(ApiError) as exc:
        signed_request(_wire("/", {"authorization": auth, "x-acs-content-sha256": "\u00e9"}))
    assert exc.value.code == "IncompleteSignature"
