"""Console password hashing and the password policy (domain.passwords)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secplane.domain.passwords import (
    PasswordPolicy,
    hash_password,
    matches_any,
    reuse_window,
    verify_password,
    weaknesses,
    wire_name,
)

STRICT = PasswordPolicy(
    minimum_password_length=12,
    require_lowercase_characters=True,
    require_uppercase_characters=True,
    require_numbers=True,
    require_symbols=True,
)


def test_hash_is_self_describing_salted_scrypt() -> None:
    encoded = hash_password("Correct horse 1!")
    kind, n, r, p, salt, digest = encoded.split("$")
    assert (kind, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(salt) >= 20 and len(digest) >= 40
    assert "Correct horse" not in encoded
    assert hash_password("Correct horse 1!") != encoded  # a fresh salt each time


def test_verify_accepts_the_password_and_nothing_else() -> None:
    encoded = hash_password("s3cret-Pass")
    assert verify_password("s3cret-Pass", encoded)
    assert not verify_password("s3cret-pass", encoded)
    assert not verify_password("", encoded)


def test_verify_reads_the_parameters_stored_with_each_hash() -> None:
    """A hash made with other (cheaper, older) parameters still verifies: the format carries them."""
    import base64

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"old-password", salt=salt, n=2**10, r=4, p=2, dklen=24)
    b64 = lambda data: base64.b64encode(data).decode().rstrip("=")  # noqa: E731
    encoded = f"scrypt${2**10}$4$2${b64(salt)}${b64(digest)}"
    assert verify_password("old-password", encoded)
    assert not verify_password("new-password", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plaintext",
        "bcrypt$10$8$1$abc$def",
        "scrypt$16384$8$1$abc",
        "scrypt$x$8$1$abc$def",
        "scrypt$1000$8$1$c2FsdA$ZGlnZXN0",  # n not a power of two
        f"scrypt${2**30}$8$1$c2FsdA$ZGlnZXN0",  # asks for far too much memory
        "scrypt$16384$8$1$!!!$ZGlnZXN0",
        "scrypt$16384$8$1$c2FsdA$",
    ],
)
def test_malformed_hashes_never_verify(encoded: str) -> None:
    assert not verify_password("anything", encoded)


def test_matches_any() -> None:
    hashes = [hash_password("one-Pass-1"), hash_password("two-Pass-2")]
    assert matches_any("two-Pass-2", hashes)
    assert not matches_any("three-Pass-3", hashes)
    assert not matches_any("one-Pass-1", [])


def test_default_policy_asks_only_for_eight_characters() -> None:
    policy = PasswordPolicy()
    assert weaknesses("abcdefgh", policy) == []
    assert weaknesses("abcdefg", policy) == ["at least 8 characters"]


def test_strict_policy_names_everything_missing() -> None:
    assert weaknesses("short", STRICT) == [
        "at least 12 characters",
        "an uppercase letter",
        "a digit",
        "a symbol such as !@#$%",
    ]
    assert weaknesses("ALLUPPERCASE1!", STRICT) == ["a lowercase letter"]
    assert weaknesses("Long-enough-Pass1", STRICT) == []
    assert weaknesses("Long enough Pass1", STRICT) == []  # a space is a symbol too


@given(st.text(max_size=40))
def test_weaknesses_agree_with_a_plain_reading_of_the_policy(password: str) -> None:
    missing = set(weaknesses(password, STRICT))
    assert ("at least 12 characters" in missing) == (len(password) < 12)
    assert ("a lowercase letter" in missing) == (not any("a" <= c <= "z" for c in password))
    assert ("an uppercase letter" in missing) == (not any("A" <= c <= "Z" for c in password))
    assert ("a digit" in missing) == (not any("0" <= c <= "9" for c in password))
    symbols = [c for c in password if not (c.isascii() and c.isalnum())]
    assert ("a symbol such as !@#$%" in missing) == (not symbols)


# Alibaba's defaults, in the wire shape (the API tests check the server answers exactly this).
DEFAULT_POLICY = {
    "MinimumPasswordLength": 8,
    "RequireLowercaseCharacters": False,
    "RequireUppercaseCharacters": False,
    "RequireNumbers": False,
    "RequireSymbols": False,
    "HardExpiry": False,
    "MaxPasswordAge": 0,
    "PasswordReusePrevention": 0,
    "MaxLoginAttemps": 0,
}


def test_policy_document_uses_the_wire_names_typo_included() -> None:
    assert PasswordPolicy().document() == DEFAULT_POLICY
    assert wire_name("max_login_attemps") == "MaxLoginAttemps"
    assert PasswordPolicy.from_document(STRICT.document()) == STRICT
    assert PasswordPolicy.from_document(None) == PasswordPolicy()
    assert PasswordPolicy.from_document({"MinimumPasswordLength": 10}).minimum_password_length == 10


@pytest.mark.parametrize(("prevention", "kept"), [(0, 0), (1, 0), (2, 1), (24, 23)])
def test_reuse_window_keeps_only_the_hashes_the_policy_needs(prevention: int, kept: int) -> None:
    assert reuse_window(PasswordPolicy(password_reuse_prevention=prevention)) == kept
