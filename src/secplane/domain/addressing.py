"""Private IPv4 addresses for instances and ENIs: which are usable, which are free, which to hand out.

Pure: the caller reads the addresses in use (under a lock on the vSwitch or the classic pool) and
passes them in. Allocation is deterministic, lowest address first, so a given state always yields the
same answer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from enum import Enum
from ipaddress import AddressValueError, IPv4Address, IPv4Network

# The classic network: one private ("inner") address pool per region.
CLASSIC_POOL = IPv4Network("10.0.0.0/8")
# Alibaba's OUI; every ENI MAC starts with it.
MAC_PREFIX = "00:16:3e"


class Refusal(Enum):
    """Why a requested address cannot be given out."""

    MALFORMED = "malformed"
    OUTSIDE = "outside"
    RESERVED = "reserved"
    IN_USE = "in_use"


def usable_span(cidr: IPv4Network) -> tuple[int, int]:
    """First and last usable address (as ints): the first address and the last three are reserved."""
    return int(cidr.network_address) + 1, int(cidr.broadcast_address) - 3


def usable_count(cidr: IPv4Network) -> int:
    low, high = usable_span(cidr)
    return max(0, high - low + 1)


def check_requested(cidr: IPv4Network, address: str, used: Collection[str]) -> Refusal | None:
    """None when ``address`` may be given out in ``cidr``, else why not."""
    try:
        value = int(IPv4Address(address))
    except AddressValueError:
        return Refusal.MALFORMED
    if not int(cidr.network_address) <= value <= int(cidr.broadcast_address):
        return Refusal.OUTSIDE
    low, high = usable_span(cidr)
    if not low <= value <= high:
        return Refusal.RESERVED
    if str(IPv4Address(value)) in used:
        return Refusal.IN_USE
    return None


def _free(cidr: IPv4Network, used: Collection[str], start: int | None = None) -> Iterator[int]:
    low, high = usable_span(cidr)
    taken = {int(IPv4Address(a)) for a in used}
    for value in range(max(low, start if start is not None else low), high + 1):
        if value not in taken:
            yield value


def allocate(cidr: IPv4Network, used: Collection[str], count: int = 1) -> list[str] | None:
    """The ``count`` lowest free usable addresses, or None when fewer are left."""
    out: list[str] = []
    if count <= 0:
        return out
    for value in _free(cidr, used):
        out.append(str(IPv4Address(value)))
        if len(out) == count:
            return out
    return None


def allocate_from(cidr: IPv4Network, used: Collection[str], first: str, count: int) -> list[str] | None:
    """``count`` consecutive addresses starting at ``first`` (RunInstances with PrivateIpAddress and
    Amount > 1), or None when one of them is reserved, outside or taken."""
    start = int(IPv4Address(first))
    wanted = [str(IPv4Address(start + i)) for i in range(count)] if start + count <= 2**32 else []
    if len(wanted) != count or any(check_requested(cidr, a, used) is not None for a in wanted):
        return None
    return wanted


def mac_address(suffix: bytes) -> str:
    """An ENI MAC address from three bytes of randomness, under Alibaba's OUI."""
    if len(suffix) != 3:
        raise ValueError("a MAC suffix is three bytes")
    return MAC_PREFIX + "".join(f":{b:02x}" for b in suffix)
