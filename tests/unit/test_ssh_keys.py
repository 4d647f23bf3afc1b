"""OpenSSH public keys: every supported type (made by ``ssh-keygen``, certificates signed by throw-away
CAs of every CA type), legacy v00 certificates (built here, as no current OpenSSH makes them), every
refusal, fingerprints against ``ssh-keygen -l -E md5``, and random input that must never raise anything
but ``KeyFormatError``.

The ``ssh-keygen`` helpers at the top are shared with the API tests.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secplane.domain.ssh_keys import (
    CERT_TYPES,
    PLAIN_TYPES,
    SUPPORTED_TYPES,
    KeyFormatError,
    PublicKey,
    generate_rsa,
    normalize_fingerprint,
    parse_blob,
    parse_public_key,
)

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_ssh_keygen = pytest.mark.skipif(
    SSH_KEYGEN is None, reason="ssh-keygen is not installed (apt-get install openssh-client)"
)

# ---------------------------------------------------------------- ssh-keygen helpers (shared)

KEYGEN_ARGS: dict[str, list[str]] = {
    "ssh-rsa": ["-t", "rsa", "-b", "2048"],
    "ssh-dss": ["-t", "dsa"],
    "ecdsa-sha2-nistp256": ["-t", "ecdsa", "-b", "256"],
    "ecdsa-sha2-nistp384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa-sha2-nistp521": ["-t", "ecdsa", "-b", "521"],
    "ssh-ed25519": ["-t", "ed25519"],
}
# Which throw-away CA signs each certificate, and with which signature algorithm: every CA key type and
# every RSA signature hash gets used once.
CERT_SIGNERS: dict[str, tuple[str, list[str]]] = {
    "ssh-rsa-cert-v01@openssh.com": ("ssh-rsa", ["-t", "rsa-sha2-512"]),
    "ssh-dss-cert-v01@openssh.com": ("ssh-dss", []),
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": ("ecdsa-sha2-nistp384", []),
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": ("ssh-ed25519", []),
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": ("ecdsa-sha2-nistp256", []),
    "ssh-ed25519-cert-v01@openssh.com": ("ssh-rsa", ["-t", "ssh-rsa"]),
}
V01_CERT_TYPES = tuple(CERT_SIGNERS)


def run_keygen(*args: str | Path) -> str:
    assert SSH_KEYGEN is not None
    done = subprocess.run(
        [SSH_KEYGEN, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def keygen(directory: Path, name: str, key_type: str) -> Path:
    """A new key of ``key_type`` in ``directory``; returns the ``.pub`` file."""
    run_keygen("-q", "-N", "", "-C", f"test {name}", "-f", directory / name, *KEYGEN_ARGS[key_type])
    return directory / f"{name}.pub"


def certify(public: Path, ca_private: Path, *extra: str) -> Path:
    """A user certificate for ``public`` signed by ``ca_private``; returns the ``-cert.pub`` file."""
    run_keygen("-q", "-s", ca_private, "-I", "throw-away", "-n", "user,root", *extra, public)
    return public.with_name(public.name.removesuffix(".pub") + "-cert.pub")


def ssh_keygen_md5(path: Path) -> str:
    """What ``ssh-keygen -l -E md5`` prints for the key in ``path``, as 32 hex digits."""
    return normalize_fingerprint(run_keygen("-l", "-E", "md5", "-f", path).split()[1])


def make_key_files(directory: Path) -> dict[str, Path]:
    """One ``.pub`` file per supported type that ``ssh-keygen`` makes: the plain keys, and a v01
    certificate of each kind signed by throw-away CAs."""
    files = {key_type: keygen(directory, key_type.replace("@", "_"), key_type) for key_type in KEYGEN_ARGS}
    cas = {
        key_type: keygen(directory, f"ca-{key_type}", key_type).with_suffix("") for key_type in KEYGEN_ARGS
    }
    for cert_type, (ca_type, extra) in CERT_SIGNERS.items():
        plain = CERT_TYPES[cert_type][0]
        subject = keygen(directory, f"subject-{cert_type.split('@')[0]}", plain)
        files[cert_type] = certify(subject, cas[ca_type], *extra)
    return files


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if SSH_KEYGEN is None:
        pytest.skip("ssh-keygen is not installed (apt-get install openssh-client)")
    return make_key_files(tmp_path_factory.mktemp("ssh-keys"))


# ---------------------------------------------------------------- wire helpers for hand-made blobs


def string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def mpint(value: int, pad: int = 0) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b""
    return string(b"\x00" * pad + raw)


def key_fields(key: PublicKey) -> bytes:
    """The blob of a plain key without its leading type string."""
    return key.plain_blob[4 + len(key.key_type) :]


def openssh_line(key: rsa.RSAPublicKey | dsa.DSAPublicKey) -> str:
    """The OpenSSH line of an RSA or DSA key (DSA written by hand: cryptography deprecates it)."""
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    numbers = key.public_numbers()
    p, q, g = numbers.parameter_numbers.p, numbers.parameter_numbers.q, numbers.parameter_numbers.g
    return line_of(string(b"ssh-dss") + b"".join(mpint(v) for v in (p, q, g, numbers.y)), "ssh-dss")


def v00_certificate(subject: PublicKey, ca_private: rsa.RSAPrivateKey | dsa.DSAPrivateKey) -> str:
    """A legacy ``*-cert-v00@openssh.com`` line for ``subject``, signed the v00 way (ssh-rsa with
    SHA-1 or ssh-dss), laid out as OpenSSH 5.4-6.9 did."""
    cert_type = f"{subject.key_type}-cert-v00@openssh.com"
    ca_line = openssh_line(ca_private.public_key())
    body = (
        string(cert_type.encode()) + key_fields(subject) + struct.pack(">I", 1) + string(b"throw-away")
        + string(string(b"user")) + struct.pack(">QQ", 0, 2**64 - 1) + string(b"") + string(os.urandom(32))
        + string(b"") + string(base64.b64decode(ca_line.split()[1]))
    )  # fmt: skip
    if isinstance(ca_private, rsa.RSAPrivateKey):
        signature = string(b"ssh-rsa") + string(ca_private.sign(body, padding.PKCS1v15(), hashes.SHA1()))
    else:
        r, s = decode_dss_signature(ca_private.sign(body, hashes.SHA1()))
        signature = string(b"ssh-dss") + string(r.to_bytes(20, "big") + s.to_bytes(20, "big"))
    return f"{cert_type} {base64.b64encode(body + string(signature)).decode()} legacy"


def blob_of(line: str) -> bytes:
    return base64.b64decode(line.split()[1])


def line_of(blob: bytes, key_type: str | None = None) -> str:
    return f"{key_type or 'ssh-ed25519'} {base64.b64encode(blob).decode()}"


def ed25519_line() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


# ---------------------------------------------------------------- every supported type


@needs_ssh_keygen
@pytest.mark.parametrize("key_type", [*KEYGEN_ARGS, *V01_CERT_TYPES])
def test_every_type_ssh_keygen_makes_is_accepted_with_its_fingerprint(
    key_files: dict[str, Path], key_type: str, tmp_path: Path
) -> None:
    path = key_files[key_type]
    key = parse_public_key(path.read_text())
    assert key.key_type == key_type
    assert key.is_certificate == (key_type in CERT_TYPES)
    assert key.fingerprint == ssh_keygen_md5(path)
    assert len(key.fingerprint) == 32 and key.fingerprint == key.fingerprint.lower()
    # The line kept (no comment) is still a key OpenSSH reads, with the same fingerprint.
    kept = tmp_path / "kept.pub"
    kept.write_text(key.openssh + "\n")
    assert ssh_keygen_md5(kept) == key.fingerprint


@needs_ssh_keygen
def test_a_plain_key_is_fingerprinted_by_the_md5_of_its_base64_blob(key_files: dict[str, Path]) -> None:
    for key_type in KEYGEN_ARGS:
        line = key_files[key_type].read_text()
        assert parse_public_key(line).fingerprint == hashlib.md5(blob_of(line)).hexdigest()


@needs_ssh_keygen
@pytest.mark.parametrize("cert_type", V01_CERT_TYPES)
def test_a_certificate_has_the_fingerprint_of_the_key_it_certifies(
    key_files: dict[str, Path], cert_type: str
) -> None:
    cert_path = key_files[cert_type]
    plain_path = cert_path.with_name(cert_path.name.removesuffix("-cert.pub") + ".pub")
    cert, plain = parse_public_key(cert_path.read_text()), parse_public_key(plain_path.read_text())
    assert cert.fingerprint == plain.fingerprint == ssh_keygen_md5(plain_path)
    assert cert.fingerprint != hashlib.md5(cert.blob).hexdigest()
    assert cert.plain_blob == plain.blob


@needs_ssh_keygen
def test_the_bare_base64_blob_and_odd_spacing_are_accepted(key_files: dict[str, Path]) -> None:
    line = key_files["ssh-ed25519"].read_text()
    key_type, encoded = line.split()[:2]
    expected = parse_public_key(line)
    assert parse_public_key(encoded) == expected
    assert parse_public_key(f"\n  {key_type}\t{encoded}   a comment with spaces \r\n") == expected
    assert parse_public_key(f"{key_type} {encoded} not my PRIVATE KEY") == expected


@pytest.mark.parametrize("plain_type", ["ssh-rsa", "ssh-dss"])
def test_legacy_v00_certificates_are_accepted(plain_type: str) -> None:
    if plain_type == "ssh-rsa":
        subject_key: rsa.RSAPrivateKey | dsa.DSAPrivateKey = rsa.generate_private_key(65537, 1024)
        ca: rsa.RSAPrivateKey | dsa.DSAPrivateKey = rsa.generate_private_key(65537, 1024)
    else:
        subject_key, ca = dsa.generate_private_key(1024), dsa.generate_private_key(1024)
    subject_line = openssh_line(subject_key.public_key())
    subject = parse_public_key(subject_line)
    cert = parse_public_key(v00_certificate(subject, ca))
    assert cert.key_type == f"{plain_type}-cert-v00@openssh.com"
    assert cert.fingerprint == subject.fingerprint == hashlib.md5(blob_of(subject_line)).hexdigest()


def test_redundant_leading_zeros_are_read_as_openssh_reads_them(tmp_path: Path) -> None:
    """OpenSSH trims them and fingerprints the canonical blob; so do we."""
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    padded = string(b"ssh-rsa") + mpint(numbers.e, pad=2) + mpint(numbers.n, pad=1)
    key = parse_blob(padded)
    canonical = string(b"ssh-rsa") + mpint(numbers.e) + mpint(numbers.n)
    assert key.plain_blob == canonical and key.blob == padded
    assert key.fingerprint == hashlib.md5(canonical).hexdigest()
    if SSH_KEYGEN is not None:
        path = tmp_path / "padded.pub"
        path.write_text(line_of(padded, "ssh-rsa"))
        assert ssh_keygen_md5(path) == key.fingerprint


# ---------------------------------------------------------------- generated pairs


def test_generated_pairs_are_rsa_2048_with_an_unencrypted_pkcs8_private_key() -> None:
    pair = generate_rsa()
    assert pair.private_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    private = load_pem_private_key(pair.private_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    public_line = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    assert pair.public.openssh == public_line
    assert pair.public.key_type == "ssh-rsa" and pair.public.bits == 2048
    assert pair.private_pem not in repr(pair) and "PRIVATE" not in repr(pair)


@needs_ssh_keygen
def test_ssh_keygen_derives_the_stored_public_key_from_a_generated_private_key(tmp_path: Path) -> None:
    pair = generate_rsa()
    private = tmp_path / "id"
    private.write_text(pair.private_pem)
    private.chmod(0o600)
    assert run_keygen("-y", "-f", private).strip() == pair.public.openssh
    private.with_suffix(".pub").write_text(pair.public.openssh)
    assert ssh_keygen_md5(private.with_suffix(".pub")) == pair.public.fingerprint


def test_fingerprint_filters_are_normalized() -> None:
    digest = "58:37:07:0F:6a:ba:28:ea:bd:00:f9:18:61:ff:7f:f7"
    assert normalize_fingerprint(f" MD5:{digest} ") == "5837070f6aba28eabd00f91861ff7ff7"
    assert normalize_fingerprint(digest.replace(":", "").upper()) == "5837070f6aba28eabd00f91861ff7ff7"


# ---------------------------------------------------------------- refusals


def _rsa_private_pem(fmt: PrivateFormat) -> str:
    from cryptography.hazmat.primitives.serialization import NoEncryption

    key = rsa.generate_private_key(65537, 1024)
    return key.private_bytes(Encoding.PEM, fmt, NoEncryption()).decode()


def _public_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _rfc4716() -> str:
    encoded = ed25519_line().split()[1]
    return f'---- BEGIN SSH2 PUBLIC KEY ----\nComment: "x"\n{encoded}\n---- END SSH2 PUBLIC KEY ----\n'


def _small_rsa() -> str:
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    return line_of(string(b"ssh-rsa") + mpint(numbers.e) + mpint(numbers.n >> 600), "ssh-rsa")


def _ecdsa(curve_name: bytes = b"nistp256", compressed: bool = False) -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    fmt = PublicFormat.CompressedPoint if compressed else PublicFormat.UncompressedPoint
    point = key.public_bytes(Encoding.X962, fmt)
    return line_of(string(b"ecdsa-sha2-nistp256") + string(curve_name) + string(point), "ecdsa-sha2-nistp256")


def _ecdsa_off_curve() -> str:
    return line_of(
        string(b"ecdsa-sha2-nistp256") + string(b"nistp256") + string(b"\x04" + b"\x01" * 64),
        "ecdsa-sha2-nistp256",
    )


def _sk_key() -> str:
    blob = string(b"sk-ssh-ed25519@openssh.com") + string(os.urandom(32)) + string(b"ssh:")
    return line_of(blob, "sk-ssh-ed25519@openssh.com")


def _ed25519_blob_with(tail: bytes = b"", cut: int = 0) -> str:
    blob = blob_of(ed25519_line()) + tail
    return line_of(blob[: len(blob) - cut])


def _negative_mpint() -> str:
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    raw = numbers.n.to_bytes(128, "big")  # top bit set, no sign byte: negative
    return line_of(string(b"ssh-rsa") + mpint(numbers.e) + string(raw), "ssh-rsa")


def _certificate(tamper: Callable[[bytearray], None]) -> str:
    """An ed25519 v01 certificate signed by an ed25519 CA, changed by ``tamper``."""
    from cryptography.hazmat.primitives.serialization import SSHCertificateBuilder, SSHCertificateType

    subject, ca = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    cert = (
        SSHCertificateBuilder()
        .public_key(subject.public_key())
        .type(SSHCertificateType.USER)
        .key_id(b"throw-away")
        .valid_principals([b"user"])
        .valid_before(2**63)
        .valid_after(0)
        .sign(ca)
    )
    blob = bytearray(base64.b64decode(cert.public_bytes().split()[1]))
    tamper(blob)
    return line_of(bytes(blob), "ssh-ed25519-cert-v01@openssh.com")


def _flip(offset: int) -> Callable[[bytearray], None]:
    def flip(blob: bytearray) -> None:
        blob[offset] ^= 0x01

    return flip


# case -> (the text, what the refusal says)
REFUSED: dict[str, tuple[Callable[[], str], str]] = {
    "empty": (lambda: "   ", "empty"),
    "pkcs8 private key": (lambda: _rsa_private_pem(PrivateFormat.PKCS8), "private key"),
    "pkcs1 private key": (lambda: _rsa_private_pem(PrivateFormat.TraditionalOpenSSL), "private key"),
    "openssh private key": (lambda: _rsa_private_pem(PrivateFormat.OpenSSH), "private key"),
    "private key on one line": (
        lambda: _rsa_private_pem(PrivateFormat.PKCS8).replace("\n", " "),
        "private key",
    ),
    "pem public key": (_public_pem, "PEM"),
    "rfc 4716 block": (_rfc4716, "RFC 4716"),
    "garbage": (lambda: "this is not a key", "not an OpenSSH public key"),
    "authorized_keys options": (lambda: 'from="10.0.0.1" ' + ed25519_line(), "not an OpenSSH public key"),
    "not base64": (lambda: "ssh-ed25519 @@@@", "Base64"),
    "bad padding": (lambda: "ssh-ed25519 " + ed25519_line().split()[1][:-1], "Base64"),
    "two keys on two lines": (lambda: ed25519_line() + "\n" + ed25519_line(), "one line"),
    "type word mismatch": (lambda: "ssh-rsa " + ed25519_line().split()[1], "says ssh-rsa"),
    "unsupported type word": (lambda: "ssh-xmss@openssh.com AAAA", "not supported"),
    "unsupported sk key": (_sk_key, "not supported"),
    "truncated blob": (lambda: _ed25519_blob_with(cut=3), "truncated"),
    "stray bytes": (lambda: _ed25519_blob_with(tail=b"\x00"), "stray bytes"),
    "rsa under 1024 bits": (_small_rsa, "1024 to 16384"),
    "negative mpint": (_negative_mpint, "negative"),
    "curve mismatch": (lambda: _ecdsa(curve_name=b"nistp384"), "curve"),
    "compressed point": (lambda: _ecdsa(compressed=True), "uncompressed"),
    "point off the curve": (_ecdsa_off_curve, "not valid"),
    "short ed25519 key": (lambda: line_of(string(b"ssh-ed25519") + string(b"\x01" * 31)), "32 bytes"),
    "certificate with a flipped signature": (lambda: _certificate(_flip(-1)), "signature"),
    "certificate with a changed body": (lambda: _certificate(_flip(80)), "signature"),
    "certificate of an unknown kind": (lambda: _certificate(_cert_kind(3)), "neither a user nor a host"),
    "too long": (lambda: "ssh-rsa " + "A" * 20_000, "longer than"),
}


def _cert_kind(kind: int) -> Callable[[bytearray], None]:
    """Rewrite the certificate type field (after type, nonce, key and serial) of an ed25519 cert."""

    def rewrite(blob: bytearray) -> None:
        offset = 4 + len("ssh-ed25519-cert-v01@openssh.com") + 4 + 32 + 4 + 32 + 8
        blob[offset : offset + 4] = struct.pack(">I", kind)

    return rewrite


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(case: str) -> None:
    make, reason = REFUSED[case]
    with pytest.raises(KeyFormatError, match=reason):
        parse_public_key(make())


def test_a_private_key_is_named_as_such() -> None:
    with pytest.raises(KeyFormatError, match="private key"):
        parse_public_key(_rsa_private_pem(PrivateFormat.OpenSSH))


def test_an_unsupported_type_lists_the_supported_ones() -> None:
    with pytest.raises(KeyFormatError, match="ssh-ed25519") as err:
        parse_public_key(_sk_key())
    assert "sk-ssh-ed25519@openssh.com" in str(err.value)


def test_a_certificate_signed_by_an_unsupported_ca_type_is_refused() -> None:
    subject = parse_public_key(ed25519_line())
    ca_blob = string(b"sk-ssh-ed25519@openssh.com") + string(os.urandom(32)) + string(b"ssh:")
    cert_type = b"ssh-ed25519-cert-v01@openssh.com"
    body = (
        string(cert_type) + string(os.urandom(32)) + key_fields(subject) + struct.pack(">QI", 0, 1)
        + string(b"id") + string(b"") + struct.pack(">QQ", 0, 2**64 - 1) + string(b"") + string(b"")
        + string(b"") + string(ca_blob) + string(string(b"sk-ssh-ed25519@openssh.com") + string(b"x"))
    )  # fmt: skip
    with pytest.raises(KeyFormatError, match="CA key"):
        parse_blob(body)


# ---------------------------------------------------------------- random input


def outcome(parse: Callable[[Any], PublicKey], value: Any) -> PublicKey | KeyFormatError:
    """What parsing gives: a key, or the one documented error (anything else fails the test)."""
    try:
        return parse(value)
    except KeyFormatError as exc:
        assert str(exc)  # a reason the caller can act on
        return exc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_blobs_raise_nothing_but_key_format_error(blob: bytes) -> None:
    result = outcome(parse_blob, blob)
    assert isinstance(result, KeyFormatError) or result.blob == blob


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_random_text_raises_nothing_but_key_format_error(text: str) -> None:
    result = outcome(parse_public_key, text)
    assert isinstance(result, KeyFormatError) or result.key_type in SUPPORTED_TYPES


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PLAIN_TYPES), st.binary(max_size=300))
def test_random_fields_behind_a_known_type_raise_nothing_but_key_format_error(
    key_type: str, fields: bytes
) -> None:
    result = outcome(parse_blob, string(key_type.encode()) + fields)
    assert isinstance(result, KeyFormatError) or result.key_type == key_type


@pytest.fixture(scope="module")
def valid_blobs() -> list[bytes]:
    """Blobs of every shape: plain keys, a v01 certificate, a v00 one."""
    rsa_line = rsa.generate_private_key(65537, 1024).public_key().public_bytes(
        Encoding.OpenSSH, PublicFormat.OpenSSH
    ).decode()  # fmt: skip
    ec_line = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        Encoding.OpenSSH, PublicFormat.OpenSSH
    ).decode()  # fmt: skip
    v00 = v00_certificate(parse_public_key(rsa_line), rsa.generate_private_key(65537, 1024))
    return [blob_of(line) for line in (rsa_line, ec_line, ed25519_line(), _certificate(lambda b: None), v00)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_keys_raise_nothing_but_key_format_error(
    valid_blobs: list[bytes], data: st.DataObject
) -> None:
    blob = bytearray(data.draw(st.sampled_from(valid_blobs)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(blob)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and at < len(blob):
            blob[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del blob[at:]
        else:
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    result = outcome(parse_blob, bytes(blob))
    assert (
        isinstance(result, KeyFormatError) or result.fingerprint == hashlib.md5(result.plain_blob).hexdigest()
    )


def test_a_valid_blob_survives_the_round_trip(valid_blobs: list[bytes]) -> None:
    for blob in valid_blobs:
        key = parse_blob(blob)
        assert parse_public_key(key.openssh) == key
