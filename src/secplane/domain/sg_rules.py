"""Security-group rules: from the wire's fields to one canonical, validated rule.

Both directions share one shape. The *peer* is the authorization object (the source of an ingress rule,
the destination of an egress rule); the *local* address is the other side of a five-tuple rule. Where a
request names several peers, Alibaba's precedence applies: CIDR (IPv4 or IPv6) > security group >
prefix list. Error codes name the direction's own fields (``InvalidSourceCidrIp.Malformed`` on ingress,
``InvalidDestCidrIp.Malformed`` on egress), as Alibaba's do.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import NamedTuple

from secplane.protocol.errors import ApiError, missing_parameter

PROTOCOLS = ("TCP", "UDP", "ICMP", "ICMPV6", "GRE", "ALL")
PORTED = ("TCP", "UDP")
WIRE_PROTOCOL = {"ICMPV6": "ICMPv6"}
INGRESS, EGRESS = "ingress", "egress"
MAX_DESCRIPTION = 512


class RuleFields(NamedTuple):
    """A rule as the request states it, direction-neutral (``peer_*`` = the authorization object)."""

    ip_protocol: str = ""
    port_range: str = ""
    policy: str = ""
    priority: str = ""
    nic_type: str = ""
    description: str = ""
    source_port_range: str = ""
    peer_cidr: str = ""
    peer_ipv6_cidr: str = ""
    peer_group_id: str = ""
    peer_group_owner_account: str = ""
    peer_group_owner_id: str = ""
    peer_prefix_list_id: str = ""
    local_cidr: str = ""
    local_ipv6_cidr: str = ""


class Rule(NamedTuple):
    """A validated rule in canonical form; ``content_key`` identifies it among a group's rules."""

    direction: str
    policy: str  # Accept | Drop
    priority: int
    ip_protocol: str  # TCP UDP ICMP ICMPv6 GRE ALL
    port_range: str  # "a/b"; "-1/-1" for unported protocols
    source_port_range: str  # "" unless a five-tuple rule gives one
    nic_type: str  # intranet | internet
    peer_cidr: str = ""
    peer_group_id: str = ""
    peer_group_owner: str = ""  # account id of a cross-account group, "" for the caller's own
    peer_prefix_list_id: str = ""
    local_cidr: str = ""
    description: str = ""

    @property
    def peer_kind(self) -> str:
        if self.peer_cidr:
            return "cidr"
        return "group" if self.peer_group_id else "prefix_list"

    @property
    def content_key(self) -> str:
        return "|".join(
            (
                self.direction, self.policy, str(self.priority), self.ip_protocol, self.port_range,
                self.source_port_range, self.nic_type, _canonical_net(self.peer_cidr), self.peer_group_id,
                self.peer_group_owner, self.peer_prefix_list_id, _canonical_net(self.local_cidr),
            )
        )  # fmt: skip

    def is_ipv6(self) -> bool:
        return ":" in self.peer_cidr or ":" in self.local_cidr


@functools.lru_cache(maxsize=4096)
def _canonical_net(value: str) -> str:
    """A stored (already valid) CIDR in one spelling. Cached: rule sets repeat the same few blocks."""
    return str(ipaddress.ip_network(value, strict=False)) if value else ""


class _Names:
    """The wire names of one direction's fields, for error codes and messages."""

    def __init__(self, direction: str) -> None:
        ingress = direction == INGRESS
        self.peer = "Source" if ingress else "Dest"
        self.local = "Dest" if ingress else "Source"


def normalize(direction: str, f: RuleFields, *, vpc: bool) -> Rule:
    """Validate ``f`` for a rule of ``direction`` in a VPC (or classic) group; raise the Alibaba error."""
    names = _Names(direction)
    protocol = _protocol(f.ip_protocol)
    port_range = _port_range(protocol, f.port_range)
    source_port_range = _source_port_range(protocol, f.source_port_range)
    policy = _policy(f.policy)
    priority = _priority(f.priority)
    nic_type = _nic_type(f.nic_type, vpc)
    description = _description(f.description)

    peer_cidr = _side_cidr(f.peer_cidr, f.peer_ipv6_cidr, names.peer)
    local_cidr = _side_cidr(f.local_cidr, f.local_ipv6_cidr, names.local)
    group_id = group_owner = prefix_list_id = ""
    if not peer_cidr:
        if f.peer_group_id:
            group_id = f.peer_group_id
            group_owner = f.peer_group_owner_account or f.peer_group_owner_id
            if f.nic_type and f.nic_type.lower() == "internet":
                raise ApiError(
                    f"Invalid{names.peer}GroupId.Mismatch",
                    "NicType is required or NicType expects intranet.",
                    403,
                )
            nic_type = "intranet"
        elif f.peer_prefix_list_id:
            prefix_list_id = f.peer_prefix_list_id
        else:
            raise _missing_peer(direction)
    for cidr in (peer_cidr, local_cidr):
        _check_family(protocol, cidr)
    if peer_cidr and local_cidr:
        if _canonical_net(peer_cidr) == _canonical_net(local_cidr):
            raise ApiError(
                "InvalidParamter.Conflict",
                f"The specified {names.peer}CidrIp should be different from the {names.local}CidrIp.",
            )
        if (":" in peer_cidr) != (":" in local_cidr):
            raise ApiError(
                "InvalidParameter.Conflict", "IPv6 and IPv4 addresses cannot exist at the same time."
            )
    return Rule(
        direction=direction,
        policy=policy,
        priority=priority,
        ip_protocol=WIRE_PROTOCOL.get(protocol, protocol),
        port_range=port_range,
        source_port_range=source_port_range,
        nic_type=nic_type,
        peer_cidr=peer_cidr,
        peer_group_id=group_id,
        peer_group_owner=group_owner,
        peer_prefix_list_id=prefix_list_id,
        local_cidr=local_cidr,
        description=description,
    )


def with_changes(rule: Rule, f: RuleFields, *, vpc: bool) -> Rule:
    """``rule`` with the fields ``f`` gives replaced (ModifySecurityGroupRule by rule id)."""
    current = to_fields(rule)
    merged = RuleFields(
        ip_protocol=f.ip_protocol or current.ip_protocol,
        port_range=f.port_range or current.port_range,
        policy=f.policy or current.policy,
        priority=f.priority or current.priority,
        nic_type=current.nic_type,
        description=f.description if f.description else current.description,
        source_port_range=f.source_port_range or current.source_port_range,
        local_cidr=f.local_cidr or (current.local_cidr if not f.local_ipv6_cidr else ""),
        local_ipv6_cidr=f.local_ipv6_cidr or (current.local_ipv6_cidr if not f.local_cidr else ""),
    )
    if f.nic_type and _nic_type(f.nic_type, vpc) != rule.nic_type:
        raise ApiError("InvalidOperation.ModifyNicType", "NicType is not allowed to modify.")
    new_peer_kind = (
        "cidr" if (f.peer_cidr or f.peer_ipv6_cidr)
        else "group" if f.peer_group_id
        else "prefix_list" if f.peer_prefix_list_id
        else ""
    )  # fmt: skip
    if new_peer_kind and new_peer_kind != rule.peer_kind:
        raise ApiError(
            "InvalidOperation.ModifySgRuleEntityType",
            "The source or destination type of the rules cannot be modified.",
        )
    if new_peer_kind:
        merged = merged._replace(
            peer_cidr=f.peer_cidr,
            peer_ipv6_cidr=f.peer_ipv6_cidr,
            peer_group_id=f.peer_group_id,
            peer_group_owner_account=f.peer_group_owner_account,
            peer_group_owner_id=f.peer_group_owner_id,
            peer_prefix_list_id=f.peer_prefix_list_id,
        )
    else:
        merged = merged._replace(
            peer_cidr=current.peer_cidr,
            peer_ipv6_cidr=current.peer_ipv6_cidr,
            peer_group_id=current.peer_group_id,
            peer_group_owner_account=current.peer_group_owner_account,
            peer_prefix_list_id=current.peer_prefix_list_id,
        )
    return normalize(rule.direction, merged, vpc=vpc)


def to_fields(rule: Rule) -> RuleFields:
    """The request fields that would produce ``rule`` again."""
    v6_peer = ":" in rule.peer_cidr
    v6_local = ":" in rule.local_cidr
    return RuleFields(
        ip_protocol=rule.ip_protocol,
        port_range=rule.port_range,
        policy=rule.policy,
        priority=str(rule.priority),
        nic_type=rule.nic_type,
        description=rule.description,
        source_port_range=rule.source_port_range,
        peer_cidr="" if v6_peer else rule.peer_cidr,
        peer_ipv6_cidr=rule.peer_cidr if v6_peer else "",
        peer_group_id=rule.peer_group_id,
        peer_group_owner_account=rule.peer_group_owner,
        peer_prefix_list_id=rule.peer_prefix_list_id,
        local_cidr="" if v6_local else rule.local_cidr,
        local_ipv6_cidr=rule.local_cidr if v6_local else "",
    )


# ---------------------------------------------------------------- field checks


def _protocol(value: str) -> str:
    if not value:
        raise missing_parameter("IpProtocol")
    protocol = value.strip().upper()
    if protocol not in PROTOCOLS:
        raise ApiError(
            "InvalidIpProtocol.ValueNotSupported",
            "The parameter IpProtocol must be specified with case insensitive "
            "TCP, UDP, ICMP, ICMPv6, GRE or All.",
        )
    return protocol


_INTEGER = re.compile(r"-?[0-9]{1,9}")


def _ascii_int(text: str) -> int | None:
    """A plain decimal integer; ``int()`` alone would also take ``5_0``, ``+5`` and non-ASCII digits."""
    text = text.strip()
    return int(text) if _INTEGER.fullmatch(text) else None


def parse_port_range(value: str) -> tuple[int, int] | None:
    """``"a/b"`` as two ints, or None when it is not of that shape."""
    start, sep, end = value.strip().partition("/")
    low, high = _ascii_int(start), _ascii_int(end)
    return (low, high) if sep and low is not None and high is not None else None


@functools.lru_cache(maxsize=4096)
def _port_range(protocol: str, value: str) -> str:
    """The canonical ``a/b``. Cached: rule sets repeat the same ports (a miss costs a few µs)."""
    if not value:
        raise ApiError("InvalidPortRange.Malformed", "The specified parameter PortRange must set.")
    parsed = parse_port_range(value)
    if protocol in PORTED:
        if parsed is None or not (1 <= parsed[0] <= parsed[1] <= 65535):
            raise ApiError(
                "InvalidParam.PortRange",
                f"The specified parameter PortRange {value!r} is not valid: for {protocol} it must be "
                "start/end with 1 <= start <= end <= 65535.",
            )
        return f"{parsed[0]}/{parsed[1]}"
    if parsed != (-1, -1):
        raise ApiError(
            "OperationDenied",
            "The specified IpProtocol does not exist or IpProtocol and PortRange do not match "
            f"({protocol} takes PortRange -1/-1).",
        )
    return "-1/-1"


def _source_port_range(protocol: str, value: str) -> str:
    if not value:
        return ""
    parsed = parse_port_range(value)
    if protocol in PORTED:
        if parsed is None or not (1 <= parsed[0] <= parsed[1] <= 65535):
            raise ApiError(
                "InvalidSourcePortRange.Malformed",
                f"The specified parameter SourcePortRange {value!r} is not valid.",
            )
        return f"{parsed[0]}/{parsed[1]}"
    if parsed != (-1, -1):
        raise ApiError(
            "InvalidSourcePortRange.Malformed",
            f"{protocol} takes SourcePortRange -1/-1 or none, not {value!r}.",
        )
    return ""


def _policy(value: str) -> str:
    policy = (value or "accept").strip().lower()
    if policy not in ("accept", "drop"):
        raise ApiError(
            "InvalidPolicy.Malformed", "The Policy is invalid. Only 'Accept' and 'Drop' are supported."
        )
    return policy.capitalize()


def _priority(value: str) -> int:
    if not value:
        return 1
    priority = _ascii_int(value)
    if priority is None:
        raise ApiError("InvalidPriority.Malformed", "The parameter Priority is invalid.")
    if not 1 <= priority <= 100:
        raise ApiError(
            "InvalidPriority.ValueNotSupported", "The parameter Priority must be between 1 and 100."
        )
    return priority


def _nic_type(value: str, vpc: bool) -> str:
    nic = value.strip().lower()
    if nic not in ("", "intranet", "internet"):
        raise ApiError("InvalidNicType.ValueNotSupported", "The specified NicType does not exist.")
    if vpc:
        return "intranet"  # VPC groups have intranet rules only; internet is coerced, as Alibaba does
    return nic or "internet"


def _description(value: str) -> str:
    if len(value) > MAX_DESCRIPTION or value.startswith(("http://", "https://")) or "\x00" in value:
        raise ApiError(
            "InvalidSecurityGroupDiscription.Malformed",
            "The Description must be 1 to 512 characters and must not start with http:// or https://.",
        )
    return value


def _address(value: str, code: str, name: str, want_v6: bool) -> str:
    """Normalise an address or CIDR: a bare address stays bare, a CIDR becomes its network."""
    text = value.strip()
    parsed = _parse_address(text) if len(text) <= 64 else None  # a valid one has at most 49 characters
    if parsed is None:
        raise ApiError(code, f"The specified {name} {value!r} is not a valid address or CIDR block.")
    result, version = parsed
    if (version == 6) != want_v6:
        raise ApiError(
            code, f"The specified {name} {value!r} is not an IPv{6 if want_v6 else 4} address or CIDR."
        )
    return result


@functools.lru_cache(maxsize=4096)
def _parse_address(text: str) -> tuple[str, int] | None:
    """(canonical form, IP version) of an address or CIDR, or None. Cached: rules repeat blocks."""
    if "%" in text:  # a scoped IPv6 address names an interface of one host, not a peer
        return None
    try:
        found = ipaddress.ip_network(text, strict=False) if "/" in text else ipaddress.ip_address(text)
    except ValueError:
        return None
    return str(found), found.version


def _side_cidr(v4: str, v6: str, side: str) -> str:
    """One side's address (``side`` is ``Source`` or ``Dest``): IPv4 or IPv6, never both."""
    if v4 and v6:
        raise ApiError(
            f"InvalidParam.{side}Ip",
            f"{side}CidrIp and Ipv6{side}CidrIp cannot be specified at the same time.",
        )
    if v4:
        return _address(v4, f"Invalid{side}CidrIp.Malformed", f"{side}CidrIp", False)
    if v6:
        return _address(v6, f"InvalidParam.Ipv6{side}CidrIp", f"Ipv6{side}CidrIp", True)
    return ""


def _check_family(protocol: str, cidr: str) -> None:
    if not cidr:
        return
    v6 = ":" in cidr
    if protocol == "ICMP" and v6:
        raise ApiError(
            "InvalidParam.Ipv4ProtocolConflictWithIpv6Address",
            "ICMP applies to IPv4; use ICMPv6 for IPv6 addresses.",
        )
    if protocol == "ICMPV6" and not v6:
        raise ApiError(
            "InvalidParam.Ipv6ProtocolConflictWithIpv4Address",
            "ICMPv6 applies to IPv6; use ICMP for IPv4 addresses.",
        )


def _missing_peer(direction: str) -> ApiError:
    if direction == INGRESS:
        return ApiError(
            "MissingParameter.Source",
            "One of the parameters SourceCidrIp, Ipv6SourceCidrIp, SourceGroupId or SourcePrefixListId "
            "must be specified.",
        )
    return ApiError(
        "MissingParameter.Dest",
        "One of the parameters DestCidrIp, Ipv6DestCidrIp, DestGroupId or DestPrefixListId "
        "must be specified.",
    )
