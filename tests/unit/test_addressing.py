"""Private address allocation against a brute-force oracle over small vSwitch blocks."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secplane.domain.addressing import (
    CLASSIC_POOL,
    Refusal,
    allocate,
    allocate_from,
    check_requested,
    mac_address,
    usable_count,
    usable_span,
)

NET = IPv4Network("192.168.1.0/24")


def _oracle_usable(cidr: IPv4Network) -> list[str]:
    """Every address but the first and the last three, by enumeration."""
    hosts = [str(a) for a in cidr]
    return hosts[1:-3]


@st.composite
def small_blocks(draw: st.DrawFn) -> tuple[IPv4Network, set[str]]:
    prefix = draw(st.integers(24, 29))
    base = draw(st.integers(0, 255)) << 24 | draw(st.integers(0, 255)) << 16
    cidr = IPv4Network((base, prefix), strict=False)
    addresses = [str(a) for a in cidr]
    used = draw(st.sets(st.sampled_from(addresses), max_size=len(addresses)))
    return cidr, used


def test_reserved_addresses_are_the_first_and_the_last_three() -> None:
    assert usable_span(NET) == (int(IPv4Address("192.168.1.1")), int(IPv4Address("192.168.1.252")))
    assert usable_count(NET) == 252
    assert usable_count(IPv4Network("10.0.0.0/29")) == 4


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("192.168.1.0", Refusal.RESERVED),
        ("192.168.1.253", Refusal.RESERVED),
        ("192.168.1.255", Refusal.RESERVED),
        ("192.168.2.1", Refusal.OUTSIDE),
        ("192.168.1.300", Refusal.MALFORMED),
        ("192.168.001.5", Refusal.MALFORMED),
        ("10.0.0.7", Refusal.OUTSIDE),
        ("192.168.1.7", Refusal.IN_USE),
        ("192.168.1.8", None),
    ],
)
def test_check_requested(address: str, reason: Refusal | None) -> None:
    assert check_requested(NET, address, {"192.168.1.7"}) is reason


@given(small_blocks(), st.integers(0, 8))
def test_allocate_takes_the_lowest_free_usable_addresses(
    block: tuple[IPv4Network, set[str]], count: int
) -> None:
    cidr, used = block
    free = [a for a in _oracle_usable(cidr) if a not in used]
    got = allocate(cidr, used, count)
    if count > len(free):
        assert got is None
    else:
        assert got == free[:count]


@given(small_blocks(), st.integers(1, 6), st.data())
def test_allocate_from_is_consecutive_and_free(
    block: tuple[IPv4Network, set[str]], count: int, data: st.DataObject
) -> None:
    cidr, used = block
    first = data.draw(st.sampled_from([str(a) for a in cidr]))
    start = int(IPv4Address(first))
    wanted = [str(IPv4Address(start + i)) for i in range(count) if start + i < 2**32]
    usable = set(_oracle_usable(cidr))
    ok = len(wanted) == count and all(a in usable and a not in used for a in wanted)
    assert allocate_from(cidr, used, first, count) == (wanted if ok else None)


def test_allocation_in_the_classic_pool_skips_used_addresses_quickly() -> None:
    used = {str(IPv4Address(int(CLASSIC_POOL.network_address) + i)) for i in range(1, 5001)}
    assert allocate(CLASSIC_POOL, used, 2) == ["10.0.19.137", "10.0.19.138"]


def test_mac_addresses_use_alibabas_prefix() -> None:
    assert mac_address(bytes([0, 0xAB, 0x10])) == "00:16:3e:00:ab:10"
    with pytest.raises(ValueError):
        mac_address(b"\x01\x02")
