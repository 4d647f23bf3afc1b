"""CIDR helpers against integer-interval oracles and brute force."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secplane.domain.network import (
    CidrError,
    contains,
    first_free_block,
    first_overlap,
    forbidden_overlap,
    overlaps,
    parse_cidr,
    usable_addresses,
    vpc_cidr,
    vswitch_cidr,
)

addresses = st.integers(0, 2**32 - 1)
prefixes = st.integers(0, 32)


@st.composite
def networks(draw: st.DrawFn, low: int = 0, high: int = 32) -> IPv4Network:
    prefix = draw(st.integers(low, high))
    return IPv4Network((draw(addresses) >> (32 - prefix) << (32 - prefix), prefix))


def interval(net: IPv4Network) -> range:
    start = int(net.network_address)
    return range(start, start + net.num_addresses)


# ---------------------------------------------------------------- parsing


@given(networks())
def test_canonical_text_round_trips(net: IPv4Network) -> None:
    assert parse_cidr(str(net)) == net
    assert str(parse_cidr(str(net))) == str(net)


@given(addresses, st.integers(0, 31))
def test_host_bits_are_refused_naming_the_network(address: int, prefix: int) -> None:
    host_bits = address & ((1 << (32 - prefix)) - 1)
    text = f"{IPv4Network((address, 32)).network_address}/{prefix}"
    if host_bits == 0:
        assert parse_cidr(text).prefixlen == prefix
        return
    with pytest.raises(CidrError) as err:
        parse_cidr(text)
    assert err.value.reason == "host_bits"
    assert str(IPv4Network((address, prefix), strict=False)) in err.value.detail


@given(st.text(max_size=24))
def test_any_text_parses_canonically_or_is_refused(text: str) -> None:
    try:
        net = parse_cidr(text)
    except CidrError as err:
        assert err.reason in ("malformed", "host_bits")
    else:
        assert str(net) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "10.0.0.0",
        "10.0.0.0/",
        "10.0.0/8",
        "010.0.0.0/8",
        "10.0.0.0/08",
        "10.0.0.0/33",
        "256.0.0.0/8",
        " 10.0.0.0/8",
        "10.0.0.0/8 ",
        "10.0.0.0/255.0.0.0",
        "fd00::/8",
        "10.0.0.0/8,",
    ],
)
def test_malformed_texts(text: str) -> None:
    with pytest.raises(CidrError) as err:
        parse_cidr(text)
    assert err.value.reason == "malformed"


# ---------------------------------------------------------------- VPC and vSwitch rules


@pytest.mark.parametrize(
    "text", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "192.168.1.0/28", "8.8.0.0/16"]
)
def test_vpc_cidr_accepts(text: str) -> None:
    assert str(vpc_cidr(text)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("10.0.0.0/7", "mask"),
        ("192.168.1.0/29", "mask"),
        ("100.64.0.0/10", "forbidden"),
        ("100.100.0.0/16", "forbidden"),
        ("100.0.0.0/8", "forbidden"),  # a supernet of 100.64.0.0/10 would swallow the metadata address
        ("127.0.0.0/8", "forbidden"),
        ("169.254.0.0/16", "forbidden"),
        ("224.0.0.0/8", "forbidden"),
        ("239.1.0.0/16", "forbidden"),
        ("10.0.0.1/8", "host_bits"),
    ],
)
def test_vpc_cidr_refuses(text: str, reason: str) -> None:
    with pytest.raises(CidrError) as err:
        vpc_cidr(text)
    assert err.value.reason == reason


def test_vswitch_masks() -> None:
    assert vswitch_cidr("10.0.0.0/16").prefixlen == 16
    assert vswitch_cidr("10.0.0.8/29").prefixlen == 29
    for text in ("10.0.0.0/15", "10.0.0.0/30"):
        with pytest.raises(CidrError) as err:
            vswitch_cidr(text)
        assert err.value.reason == "mask"


FORBIDDEN = [IPv4Network(t) for t in ("100.64.0.0/10", "224.0.0.0/4", "127.0.0.0/8", "169.254.0.0/16")]


@given(networks(8, 28))
def test_forbidden_overlap_matches_interval_oracle(net: IPv4Network) -> None:
    r = interval(net)
    touched = [b for b in FORBIDDEN if r.start < interval(b).stop and interval(b).start < r.stop]
    assert forbidden_overlap(net) == (touched[0] if touched else None)


# ---------------------------------------------------------------- containment, overlap, counting


@given(networks(), networks())
def test_contains_and_overlaps_match_intervals(a: IPv4Network, b: IPv4Network) -> None:
    ra, rb = interval(a), interval(b)
    assert contains(a, b) == (ra.start <= rb.start and rb.stop <= ra.stop)
    assert overlaps(a, b) == (ra.start < rb.stop and rb.start < ra.stop)
    assert overlaps(a, b) == overlaps(b, a)
    assert contains(a, b) == b.subnet_of(a)
    # Two CIDR blocks overlap exactly when one contains the other.
    assert overlaps(a, b) == (contains(a, b) or contains(b, a))


def test_first_overlap_names_the_culprit() -> None:
    others = [IPv4Network("10.0.0.0/24"), IPv4Network("10.0.1.0/24")]
    assert first_overlap(IPv4Network("10.0.1.128/25"), others) == others[1]
    assert first_overlap(IPv4Network("10.0.2.0/24"), others) is None


@given(prefixes)
def test_usable_addresses(prefix: int) -> None:
    net = IPv4Network((0, prefix))
    assert usable_addresses(net) == max(0, 2 ** (32 - prefix) - 4)


def test_usable_addresses_examples() -> None:
    assert usable_addresses(IPv4Network("192.168.1.0/24")) == 252
    assert usable_addresses(IPv4Network("10.0.0.0/29")) == 4
    assert usable_addresses(IPv4Network("10.0.0.0/16")) == 65532


# ---------------------------------------------------------------- allocation (CidrMask)


@st.composite
def allocation_cases(draw: st.DrawFn) -> tuple[IPv4Network, int, list[IPv4Network]]:
    """A small VPC block, a wanted mask and taken blocks placed inside or around it."""
    outer = draw(networks(20, 26))
    taken = []
    for _ in range(draw(st.integers(0, 6))):
        prefix = draw(st.integers(18, 30))
        address = int(outer.network_address) + draw(st.integers(0, outer.num_addresses - 1))
        taken.append(IPv4Network((address >> (32 - prefix) << (32 - prefix), prefix)))
    return outer, draw(st.integers(18, 30)), taken


@given(allocation_cases())
def test_first_free_block_is_the_lowest_free_candidate(
    case: tuple[IPv4Network, int, list[IPv4Network]],
) -> None:
    outer, prefix, taken = case
    found = first_free_block(outer, prefix, taken)
    brute = None
    if prefix >= outer.prefixlen:
        brute = next(
            (c for c in outer.subnets(new_prefix=prefix) if not any(overlaps(c, t) for t in taken)), None
        )
    assert found == brute
    if found is not None:
        assert contains(outer, found) and found.prefixlen == prefix


def test_first_free_block_skips_large_blockers() -> None:
    vpc = IPv4Network("10.0.0.0/8")
    taken = [IPv4Network("10.0.0.0/16"), IPv4Network("10.1.0.0/24")]
    assert first_free_block(vpc, 24, taken) == IPv4Network("10.1.1.0/24")
    assert first_free_block(vpc, 16, taken) == IPv4Network("10.2.0.0/16")
    assert first_free_block(IPv4Network("10.0.0.0/24"), 24, [IPv4Network("10.0.0.8/29")]) is None
