"""IPv4 CIDR arithmetic for VPCs and vSwitches: parse, validate, contain, overlap, allocate. Pure.

Parsing is strict on purpose: only the canonical ``a.b.c.d/n`` text with the host bits zero is a CIDR
block, so what is stored and echoed back is always exactly what the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Network
from typing import Literal

DEFAULT_VPC_CIDR = "172.16.0.0/12"
VPC_MASKS = (8, 28)
VSWITCH_MASKS = (16, 29)
# Addresses of every vSwitch the platform keeps: the first and the last three.
RESERVED_PER_VSWITCH = 4
# Ranges a VPC may not use (loopback, link-local with the metadata service, carrier-grade NAT with
# 100.100.100.200, multicast).
FORBIDDEN_BLOCKS: tuple[IPv4Network, ...] = tuple(
    IPv4Network(text) for text in ("100.64.0.0/10", "224.0.0.0/4", "127.0.0.0/8", "169.254.0.0/16")
)

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CIDR = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/(?:3[0-2]|[12]?[0-9])")

Reason = Literal["malformed", "host_bits", "mask", "forbidden"]


class CidrError(ValueError):
    """Why a CIDR block was refused; ``reason`` lets the caller pick the API's error code."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail


def parse_cidr(text: str) -> IPv4Network:
    """``a.b.c.d/n`` (no leading zeros, host bits zero) as a network, else ``CidrError``."""
    if not _CIDR.fullmatch(text):
        raise CidrError("malformed", f"{text!r} is not an IPv4 CIDR block such as 192.168.0.0/16.")
    try:
        return IPv4Network(text, strict=True)
    except ValueError:
        net = IPv4Network(text, strict=False)
        raise CidrError(
            "host_bits", f"{text} has host bits set; the network address is {net.with_prefixlen}."
        ) from None


def check_mask(net: IPv4Network, low: int, high: int) -> None:
    """Refuse a prefix length outside ``low..high``."""
    if not low <= net.prefixlen <= high:
        raise CidrError("mask", f"The mask of {net} must be between /{low} and /{high}.")


def forbidden_overlap(net: IPv4Network) -> IPv4Network | None:
    """The first forbidden range ``net`` touches, if any."""
    return next((block for block in FORBIDDEN_BLOCKS if overlaps(net, block)), None)


def vpc_cidr(text: str) -> IPv4Network:
    """A VPC's CIDR block: well formed, /8../28, clear of the forbidden ranges."""
    net = parse_cidr(text)
    check_mask(net, *VPC_MASKS)
    block = forbidden_overlap(net)
    if block is not None:
        raise CidrError("forbidden", f"{net} overlaps {block}, which a VPC cannot use.")
    return net


def vswitch_cidr(text: str) -> IPv4Network:
    """A vSwitch's CIDR block, on its own: well formed, /16../29 (placement is checked separately)."""
    net = parse_cidr(text)
    check_mask(net, *VSWITCH_MASKS)
    return net


def _span(net: IPv4Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def contains(outer: IPv4Network, inner: IPv4Network) -> bool:
    """Every address of ``inner`` is in ``outer``."""
    (o_lo, o_hi), (i_lo, i_hi) = _span(outer), _span(inner)
    return o_lo <= i_lo and i_hi <= o_hi


def overlaps(a: IPv4Network, b: IPv4Network) -> bool:
    """``a`` and ``b`` share at least one address."""
    (a_lo, a_hi), (b_lo, b_hi) = _span(a), _span(b)
    return a_lo <= b_hi and b_lo <= a_hi


def first_overlap(net: IPv4Network, others: Iterable[IPv4Network]) -> IPv4Network | None:
    return next((other for other in others if overlaps(net, other)), None)


def usable_addresses(net: IPv4Network) -> int:
    """Addresses left for instances once the platform's four are set aside."""
    return max(0, net.num_addresses - RESERVED_PER_VSWITCH)


def first_free_block(outer: IPv4Network, prefix: int, taken: Iterable[IPv4Network]) -> IPv4Network | None:
    """The lowest ``/prefix`` block inside ``outer`` that overlaps nothing in ``taken`` (``CidrMask``).

    Jumps past each blocking range instead of walking every candidate, so a /8 VPC costs no more than
    a /24 one.
    """
    if not outer.prefixlen <= prefix <= 32:
        return None
    size = 1 << (32 - prefix)
    start, end = _span(outer)
    spans = sorted(_span(t) for t in taken)
    candidate = start
    while candidate + size - 1 <= end:
        last = candidate + size - 1
        blocker = next((hi for lo, hi in spans if lo <= last and hi >= candidate), None)
        if blocker is None:
            return IPv4Network((candidate, prefix))
        candidate = (blocker + size) // size * size  # the next aligned start after the blocker
    return None
