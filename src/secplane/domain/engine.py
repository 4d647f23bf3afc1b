"""The decision engine: does an ENI's set of security groups let this flow through, and what decided it.

Semantics (SPEC SG-2, SG-3, SG-5, SG-6, SG-7), in the order a decision applies them:

1. The reply of an accepted connection passes (stateful, SG-6): ``EstablishedSession``.
2. On the private network (``intranet``), a peer that is a member of one of the ENI's *normal* groups
   whose ``InnerAccessPolicy`` is ``Accept`` passes regardless of rules (SG-3): ``IntraGroupAccept``.
3. Among the rules of all the ENI's groups that match the flow, the smallest priority number wins; at
   the best priority a ``Drop`` beats an ``Accept`` (SG-5): ``Rule``. Ties left after that go to the
   group joined first, then to the group's older rule, so the deciding rule is always one and the same.
4. Nothing matched (SG-2): inbound is denied, outbound allowed for normal groups and denied for
   enterprise ones. The reason names the more telling cause when there is one: the peer shares an
   enterprise group (``EnterpriseIsolation``) or, inbound, a normal group whose policy is ``Drop``
   (``IntraGroupDrop``); on the internet NIC, a group authorization (a rule naming a group, or the
   intra-group policy) would have applied on the private network (``GroupAuthorizationNotOnInternet``,
   SG-7).

A rule matches when direction, NIC type, protocol (``ALL`` matches every protocol; a flow of protocol
``ALL`` stands for one no rule names, e.g. SCTP, and so only matches ``ALL`` rules), destination port
(``-1/-1`` is every port), source port (five-tuple rules; an unknown source port only matches rules
that do not restrict it), the other side's address (``local_cidr``; an unknown local address only
matches rules without one) and the peer match. The peer is a CIDR of the flow's family, a prefix list
(any entry), or a security group: the peer is one of its members, by the addresses given in
``TargetInput.members`` or, when the flow names them, by the peer's own groups (``Flow.peer_groups``).
Group rules are always ``intranet`` (``sg_rules.normalize``), so they never match on the internet NIC.

Compiled form (``compile_target``, rebuilt only when a revision changes: ``store.engine_inputs``). The
rules are numbered in evaluation order and split into eight tables, one per (direction, NIC type,
address family). A table cuts each dimension into elementary intervals with the bit mask (a Python int)
of the rules matching there: the peer address (CIDRs, prefix-list entries and the members of referenced
groups, all in one cut), protocol and destination port together (one port cut per protocol), and the
source port and local address (only where some rule restricts them). "A few lookups, not a scan" means,
concretely: one set lookup (intra-group policy), at most four ``bisect`` calls (C code, O(log n)
comparisons each), at most four ANDs of machine-word-sized big ints, and the winner
``winners[m.bit_length()]`` (rule ``i`` of ``n`` is bit ``n - 1 - i``), whatever the number of rules.
bench/engine.py measures it against the reference linear scan of tests/engine_reference.py.
"""

from __future__ import annotations

import socket
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from secplane.domain.sg_rules import Rule

ACCEPT, DROP = "Accept", "Drop"
INGRESS, EGRESS = "ingress", "egress"
INTRANET, INTERNET = "intranet", "internet"
NORMAL, ENTERPRISE = "normal", "enterprise"
# Flow protocols; a rule's "ICMPv6" is "ICMPV6" here. Their index is a flow's ``proto``.
PROTOCOLS = ("TCP", "UDP", "ICMP", "ICMPV6", "GRE", "ALL")
PORTED = ("TCP", "UDP")
_PROTOCOL_INDEX = {p: i for i, p in enumerate(PROTOCOLS)}
_ALL = _PROTOCOL_INDEX["ALL"]
_PORT_TOP = 65535
_V4_TOP = (1 << 32) - 1
_V6_TOP = (1 << 128) - 1
MAX_GROUPS = 16  # SG-9's quota ceiling: 5 by default, raisable to 16


class Reason(StrEnum):
    """Why a verdict is what it is (the wire's ``Reason``)."""

    RULE = "Rule"
    ESTABLISHED = "EstablishedSession"
    INTRA_GROUP_ACCEPT = "IntraGroupAccept"
    INTRA_GROUP_DROP = "IntraGroupDrop"
    ENTERPRISE_ISOLATION = "EnterpriseIsolation"
    INTERNET_NIC = "GroupAuthorizationNotOnInternet"
    IMPLICIT_INBOUND_DENY = "ImplicitInboundDeny"
    IMPLICIT_OUTBOUND_ALLOW = "ImplicitOutboundAllow"
    IMPLICIT_OUTBOUND_DENY = "ImplicitOutboundDeny"


# ---------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class GroupInput:
    """One of the ENI's groups: its type, intra-group policy and rules (``(rule id, rule)``, oldest first)."""

    group_id: str
    group_type: str = NORMAL
    inner_access_policy: str = ACCEPT
    rules: Sequence[tuple[str, Rule]] = ()


@dataclass(frozen=True, slots=True)
class TargetInput:
    """What a decision about one ENI depends on.

    ``groups`` in the order the ENI joined them. ``prefix_lists``: entries (CIDRs) of every list a rule
    uses. ``members``: member addresses of every group a rule references *and* of the ENI's own groups
    (the intra-group policy needs those). A missing list or group simply has no entries or members.
    """

    groups: Sequence[GroupInput]
    prefix_lists: Mapping[str, Sequence[str]] = field(default_factory=dict)
    members: Mapping[str, Sequence[str]] = field(default_factory=dict)


def parse_address(text: str) -> tuple[int, bool]:
    """``(address as int, is IPv6)``; ValueError when ``text`` is not a plain IPv4 or IPv6 address."""
    try:
        if ":" in text:
            return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big"), True
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"), False
    except (OSError, UnicodeEncodeError):
        raise ValueError(f"not an IP address: {text!r}") from None


def parse_network(text: str) -> tuple[int, int, bool]:
    """``(first, last, is IPv6)`` of a CIDR or a bare address (host bits ignored, as rules store them)."""
    address, slash, length = text.partition("/")
    value, v6 = parse_address(address)
    bits = 128 if v6 else 32
    if slash and not (length.isascii() and length.isdigit() and int(length) <= bits):
        raise ValueError(f"not a CIDR block: {text!r}")
    prefix = int(length) if slash else bits
    host = (1 << (bits - prefix)) - 1
    return value & ~host, value | host, v6


@dataclass(frozen=True, slots=True)
class Flow:
    """One flow seen from the ENI: ``peer`` is the other end (the source of ingress traffic, the
    destination of egress traffic), ``local`` the ENI's own address ("" when unknown).

    ``port`` is the destination port, ``source_port`` the source port (0: unknown); both are 0 for the
    protocols without ports. ``peer_groups``, when given, are the peer's own security groups and replace
    the lookup of ``peer`` among ``TargetInput.members``. Constructing a Flow validates and pre-parses
    it, so that deciding costs no parsing.
    """

    direction: str
    protocol: str
    peer: str
    port: int = 0
    source_port: int = 0
    nic_type: str = INTRANET
    local: str = ""
    peer_groups: frozenset[str] | None = None
    reply_of_accepted: bool = False
    # derived: table index, protocol index, addresses as ints (-1: no local address)
    slot: int = field(init=False, repr=False, compare=False)
    proto: int = field(init=False, repr=False, compare=False)
    peer_int: int = field(init=False, repr=False, compare=False)
    local_int: int = field(init=False, repr=False, compare=False)
    v6: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.direction not in (INGRESS, EGRESS):
            raise ValueError(f"direction must be ingress or egress, not {self.direction!r}")
        if self.nic_type not in (INTRANET, INTERNET):
            raise ValueError(f"nic_type must be intranet or internet, not {self.nic_type!r}")
        protocol = self.protocol.upper()
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}")
        ported = protocol in PORTED
        if ported and not 1 <= self.port <= _PORT_TOP:
            raise ValueError(f"{protocol} needs a destination port 1..65535, not {self.port}")
        if not 0 <= self.source_port <= _PORT_TOP:
            raise ValueError(f"source port {self.source_port} is out of range")
        peer, v6 = parse_address(self.peer)
        local = -1
        if self.local:
            local, local_v6 = parse_address(self.local)
            if local_v6 != v6:
                raise ValueError("the local and the peer address must be of one family")
        slot = (self.direction == EGRESS) * 4 + (self.nic_type == INTERNET) * 2 + v6
        put = object.__setattr__
        put(self, "protocol", protocol)
        put(self, "port", self.port if ported else 0)
        put(self, "source_port", self.source_port if ported else 0)
        put(self, "slot", slot)
        put(self, "proto", PROTOCOLS.index(protocol))
        put(self, "peer_int", peer)
        put(self, "local_int", local)
        put(self, "v6", v6)


# ---------------------------------------------------------------- output


class MatchedRule(NamedTuple):
    """A rule as a decision reports it. (NamedTuples here: a compile builds one per rule, and a frozen
    dataclass costs four times as much to build.)"""

    group_id: str
    rule_id: str
    priority: int
    policy: str
    description: str
    rule: Rule


class Outcome(NamedTuple):
    """A verdict and why; ``rule`` is the deciding rule when ``reason`` is ``Rule``.

    Outcomes are built once per compiled ENI and shared: deciding allocates nothing.
    """

    verdict: str
    reason: Reason
    rule: MatchedRule | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """An outcome with every matching rule, in evaluation order (the first one decides, unless an
    implicit reason outranks rules)."""

    verdict: str
    reason: Reason
    rule: MatchedRule | None
    matched: tuple[MatchedRule, ...]


ESTABLISHED = Outcome(ACCEPT, Reason.ESTABLISHED)
INTRA_GROUP_ACCEPT = Outcome(ACCEPT, Reason.INTRA_GROUP_ACCEPT)
INTRA_GROUP_DROP = Outcome(DROP, Reason.INTRA_GROUP_DROP)
ENTERPRISE_ISOLATION = Outcome(DROP, Reason.ENTERPRISE_ISOLATION)
IMPLICIT_INBOUND_DENY = Outcome(DROP, Reason.IMPLICIT_INBOUND_DENY)
IMPLICIT_OUTBOUND_ALLOW = Outcome(ACCEPT, Reason.IMPLICIT_OUTBOUND_ALLOW)
IMPLICIT_OUTBOUND_DENY = Outcome(DROP, Reason.IMPLICIT_OUTBOUND_DENY)
_INTERNET = {verdict: Outcome(verdict, Reason.INTERNET_NIC) for verdict in (ACCEPT, DROP)}


# ---------------------------------------------------------------- compiling


class _Parsed(NamedTuple):
    """A rule with every field as numbers (a NamedTuple: a thousand of them are built per compile)."""

    matched: MatchedRule
    outcome: Outcome  # built once per rule, shared by the tables it is in
    slot: int  # direction and NIC bits of the table index; the family bit comes from the peer
    family: int  # 0 IPv4, 1 IPv6, -1 both (group and prefix-list peers)
    proto: int
    ports: tuple[int, int]
    source_ports: tuple[int, int] | None  # None: not restricted
    local: tuple[int, int, bool] | None  # None: not restricted
    cidr: tuple[int, int] | None
    group_id: str
    prefix_list_id: str


class _Parser:
    """Parses rule fields, each distinct text once per compile: port ranges and CIDRs repeat a lot."""

    def __init__(self) -> None:
        self._ports: dict[str, tuple[int, int]] = {}
        self._networks: dict[str, tuple[int, int, bool]] = {}

    def ports(self, text: str) -> tuple[int, int]:
        """``a/b`` as an interval of 0..65535; ``-1/-1`` is all of it."""
        found = self._ports.get(text)
        if found is None:
            low, _, high = text.partition("/")
            try:
                found = (int(low), int(high))
            except ValueError:
                raise ValueError(f"not a port range: {text!r}") from None
            if found == (-1, -1):
                found = (0, _PORT_TOP)
            elif not 0 <= found[0] <= found[1] <= _PORT_TOP:
                raise ValueError(f"not a port range: {text!r}")
            self._ports[text] = found
        return found

    def source_ports(self, text: str) -> tuple[int, int] | None:
        """None when the range does not restrict (absent, ``-1/-1`` or all of 1..65535)."""
        if not text:
            return None
        low, high = self.ports(text)
        return None if low <= 1 and high >= _PORT_TOP else (max(low, 1), high)  # 0 is "unknown"

    def network(self, text: str) -> tuple[int, int, bool]:
        found = self._networks.get(text)
        if found is None:
            found = self._networks[text] = parse_network(text)
        return found

    def rule(self, group_id: str, rule_id: str, rule: Rule) -> _Parsed:
        protocol = rule.ip_protocol.upper()
        if protocol not in _PROTOCOL_INDEX:
            raise ValueError(f"rule {rule_id}: unknown protocol {rule.ip_protocol!r}")
        cidr: tuple[int, int] | None = None
        family = -1
        if rule.peer_cidr:
            first, last, v6 = self.network(rule.peer_cidr)
            cidr, family = (first, last), int(v6)
        matched = MatchedRule(group_id, rule_id, rule.priority, rule.policy, rule.description, rule)
        return _Parsed(
            matched=matched,
            outcome=Outcome(rule.policy, Reason.RULE, matched),
            slot=(rule.direction == EGRESS) * 4 + (rule.nic_type == INTERNET) * 2,
            family=family,
            proto=_PROTOCOL_INDEX[protocol],
            ports=self.ports(rule.port_range),
            source_ports=self.source_ports(rule.source_port_range),
            local=self.network(rule.local_cidr) if rule.local_cidr else None,
            cidr=cidr,
            group_id="" if rule.peer_cidr else rule.peer_group_id,
            prefix_list_id="" if rule.peer_cidr or rule.peer_group_id else rule.peer_prefix_list_id,
        )


def _merged(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or adjacent intervals joined: a prefix list's entries as disjoint intervals."""
    out: list[tuple[int, int]] = []
    for first, last in sorted(intervals):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def _spans(by_interval: Mapping[tuple[int, int], int]) -> list[tuple[int, int, int]]:
    return [(a, b, m) for (a, b), m in by_interval.items()]


def _restrict(cut: tuple[list[int], list[int]], keep: int) -> tuple[list[int], list[int]]:
    """``cut`` with every mask ANDed with ``keep``, neighbours that became equal merged."""
    bounds: list[int] = []
    masks: list[int] = []
    for point, mask in zip(*cut, strict=True):
        mask &= keep
        if not masks or masks[-1] != mask:
            bounds.append(point)
            masks.append(mask)
    return bounds, masks


def _cut(base: int, items: Iterable[tuple[int, int, int]], top: int) -> tuple[list[int], list[int]]:
    """Cut ``[0, top]`` into elementary intervals: ``base`` is the mask of rules covering all of it,
    ``items`` are ``(first, last, mask)``, the intervals of any one rule disjoint.

    Returns the start of each interval and the mask of rules covering it, neighbours with equal masks
    merged. A sweep over the interval ends, where each rule's bit toggles on entry and on exit.
    """
    deltas = {0: base}
    for first, last, bits in items:
        deltas[first] = deltas.get(first, 0) ^ bits
        if last < top:
            deltas[last + 1] = deltas.get(last + 1, 0) ^ bits
    bounds: list[int] = []
    masks: list[int] = []
    mask = 0
    for point in sorted(deltas):
        mask ^= deltas[point]
        if not masks or masks[-1] != mask:
            bounds.append(point)
            masks.append(mask)
    return bounds, masks


class _Table:
    """The rules of one (direction, NIC type, family), as masks per dimension (see the module doc).

    Rule ``i`` of ``n`` in evaluation order is bit ``n - 1 - i``: the winner of a mask is its highest
    bit, ``winners[m.bit_length()]``, one C call that allocates nothing.
    """

    __slots__ = (
        "accept_groups",
        "accept_members",
        "addr_bounds",
        "addr_masks",
        "fallback",
        "group_masks",
        "group_rules",
        "isolating_groups",
        "isolating_members",
        "local_bounds",
        "local_free",
        "local_masks",
        "ports",
        "sport_bounds",
        "sport_masks",
        "winners",
    )

    def __init__(
        self, rules: Sequence[_Parsed], v6: bool, lists: Mapping[str, Sequence[tuple[int, int]]],
        members: Mapping[str, Collection[int]],
    ) -> None:  # fmt: skip
        n = len(rules)
        self.winners: tuple[Outcome | None, ...] = (None, *(r.outcome for r in reversed(rules)))
        top = _V6_TOP if v6 else _V4_TOP
        proto = [0] * len(PROTOCOLS)
        # interval -> mask of the rules with exactly that interval: rules share ports and networks a
        # lot, and the sweep's cost is per distinct interval
        addr: dict[tuple[int, int], int] = {}
        dport: dict[tuple[int, int], int] = {}
        sport: dict[tuple[int, int], int] = {}
        local: dict[tuple[int, int], int] = {}
        by_list: dict[str, int] = {}
        group_masks: dict[str, int] = {}
        everything = (1 << n) - 1
        dport_free = sport_free = local_free = 0
        for i, r in enumerate(rules):
            bit = 1 << (n - 1 - i)
            if r.proto == _ALL:
                for p in range(len(PROTOCOLS)):
                    proto[p] |= bit
            else:
                proto[r.proto] |= bit
            if r.ports == (0, _PORT_TOP):
                dport_free |= bit
            else:
                dport[r.ports] = dport.get(r.ports, 0) | bit
            if r.source_ports is None:
                sport_free |= bit
            else:
                sport[r.source_ports] = sport.get(r.source_ports, 0) | bit
            if r.local is None:
                local_free |= bit
            elif r.local[2] == v6:
                key = (r.local[0], r.local[1])
                local[key] = local.get(key, 0) | bit
            if r.cidr is not None:
                addr[r.cidr] = addr.get(r.cidr, 0) | bit
            elif r.group_id:
                group_masks[r.group_id] = group_masks.get(r.group_id, 0) | bit
            else:
                by_list[r.prefix_list_id] = by_list.get(r.prefix_list_id, 0) | bit
        # the peer address: CIDRs, prefix-list entries (disjoint within a list) and the members of
        # referenced groups as single addresses, so that one lookup finds every peer match
        spans = _spans(addr)
        for list_id, mask in by_list.items():
            spans.extend((a, b, mask) for a, b in lists.get(list_id, ()))
        for group_id, mask in group_masks.items():
            spans.extend((a, a, mask) for a in members.get(group_id, ()))
        self.addr_bounds, self.addr_masks = _cut(0, spans, top)
        self.group_masks = group_masks
        self.group_rules = 0
        for mask in group_masks.values():
            self.group_rules |= mask
        # protocol and destination port in one lookup: a port cut per protocol, masks ANDed with the
        # protocol's rules (a flow without ports asks at port 0, where only port-less rules are)
        port_cut = _cut(dport_free, _spans(dport), _PORT_TOP)
        self.ports = tuple(_restrict(port_cut, mask) for mask in proto)
        # dimensions no rule restricts need no lookup (bounds None)
        self.sport_bounds: list[int] | None = None
        self.sport_masks = [everything]
        if sport_free != everything:
            self.sport_bounds, self.sport_masks = _cut(sport_free, _spans(sport), _PORT_TOP)
        self.local_bounds: list[int] | None = None
        self.local_masks = [everything]
        self.local_free = local_free
        if local_free != everything:
            self.local_bounds, self.local_masks = _cut(local_free, _spans(local), top)
        # set by CompiledTarget: the intra-group policy and the implicit verdict of this table
        self.accept_groups: frozenset[str] = frozenset()
        self.accept_members: frozenset[int] = frozenset()
        self.isolating_groups: frozenset[str] = frozenset()
        self.isolating_members: frozenset[int] = frozenset()
        self.fallback = IMPLICIT_INBOUND_DENY

    def mask(self, flow: Flow, peer: int) -> int:
        """The rules of this table that match ``flow``, given the mask of those its peer matches."""
        bounds, masks = self.ports[flow.proto]
        m = masks[bisect_right(bounds, flow.port) - 1] & peer
        if m and self.sport_bounds is not None:
            m &= self.sport_masks[bisect_right(self.sport_bounds, flow.source_port) - 1]
        if m and self.local_bounds is not None:
            m &= (
                self.local_masks[bisect_right(self.local_bounds, flow.local_int) - 1]
                if flow.local_int >= 0
                else self.local_free
            )
        return m

    def peer_mask(self, flow: Flow) -> int:
        """The rules whose peer matches: CIDRs and prefix lists by address; groups by the address's
        membership, or by the peer's own groups when the flow names them."""
        m = self.addr_masks[bisect_right(self.addr_bounds, flow.peer_int) - 1]
        if flow.peer_groups is None:
            return m
        m &= ~self.group_rules
        for group_id in flow.peer_groups:
            m |= self.group_masks.get(group_id, 0)
        return m

    def shares(self, flow: Flow, groups: frozenset[str], members: frozenset[int]) -> bool:
        """Whether the peer is a member of one of ``groups`` (whose member addresses are ``members``)."""
        if flow.peer_groups is None:
            return flow.peer_int in members
        return not flow.peer_groups.isdisjoint(groups)

    def matching(self, m: int) -> Iterator[MatchedRule]:
        """The rules of mask ``m``, in evaluation order."""
        while m:
            top = m.bit_length()
            outcome = self.winners[top]
            assert outcome is not None and outcome.rule is not None
            yield outcome.rule
            m ^= 1 << (top - 1)


class CompiledTarget:
    """An ENI's groups compiled for fast decisions. Immutable; safe to share between threads."""

    __slots__ = ("_tables", "enterprise", "group_ids")

    def __init__(self, target: TargetInput) -> None:
        groups = list(target.groups)
        if not 1 <= len(groups) <= MAX_GROUPS:
            raise ValueError(f"an ENI belongs to 1..{MAX_GROUPS} security groups, not {len(groups)}")
        types = {g.group_type for g in groups}
        if len(types) != 1 or not types <= {NORMAL, ENTERPRISE}:
            raise ValueError(f"an ENI cannot mix security group types: {sorted(types)}")
        self.enterprise = ENTERPRISE in types
        self.group_ids = tuple(g.group_id for g in groups)
        parser = _Parser()
        ordered = sorted(
            (
                (rule.priority, rule.policy != DROP, gi, ri, g.group_id, rule_id, rule)
                for gi, g in enumerate(groups)
                for ri, (rule_id, rule) in enumerate(g.rules)
            ),
            key=lambda t: t[:4],
        )
        buckets: list[list[_Parsed]] = [[] for _ in range(8)]
        for t in ordered:
            r = parser.rule(t[4], t[5], t[6])
            if r.family != 1:
                buckets[r.slot].append(r)
            if r.family != 0:
                buckets[r.slot | 1].append(r)
        # per family: prefix lists as disjoint intervals, members as distinct ints
        lists: tuple[dict[str, list[tuple[int, int]]], ...] = ({}, {})
        for list_id, cidrs in target.prefix_lists.items():
            networks = [parser.network(c) for c in cidrs]
            for v6 in (0, 1):
                lists[v6][list_id] = _merged((a, b) for a, b, fam in networks if fam == v6)
        members: tuple[dict[str, frozenset[int]], ...] = ({}, {})
        for group_id, addresses in target.members.items():
            parsed = [parse_address(a) for a in addresses]
            for v6 in (0, 1):
                members[v6][group_id] = frozenset(a for a, fam in parsed if fam == v6)
        accept = frozenset(
            g.group_id for g in groups if g.group_type == NORMAL and g.inner_access_policy == ACCEPT
        )
        isolating = frozenset(g.group_id for g in groups) - accept
        tables = []
        for slot in range(8):
            v6 = slot & 1
            table = _Table(buckets[slot], bool(v6), lists[v6], members[v6])
            if not slot & 2:  # intra-group policy: private network only
                table.accept_groups = accept
                table.accept_members = _addresses(members[v6], accept)
                table.isolating_groups = isolating
                table.isolating_members = _addresses(members[v6], isolating)
            if slot & 4:
                table.fallback = IMPLICIT_OUTBOUND_DENY if self.enterprise else IMPLICIT_OUTBOUND_ALLOW
            tables.append(table)
        self._tables = tuple(tables)

    def decide(self, flow: Flow) -> Outcome:
        """The verdict on ``flow`` and its reason (the hot path: a few lookups, no allocation).

        ``decide_many`` repeats this body inline; the property test holds the two equal.
        """
        if flow.reply_of_accepted:
            return ESTABLISHED
        t = self._tables[flow.slot]
        a = flow.peer_int
        if flow.peer_groups is None:
            if a in t.accept_members:
                return INTRA_GROUP_ACCEPT
            peer = t.addr_masks[bisect_right(t.addr_bounds, a) - 1]
        elif flow.peer_groups.isdisjoint(t.accept_groups):
            peer = t.peer_mask(flow)
        else:
            return INTRA_GROUP_ACCEPT
        bounds, masks = t.ports[flow.proto]
        m = masks[bisect_right(bounds, flow.port) - 1] & peer
        if m and t.sport_bounds is not None:
            m &= t.sport_masks[bisect_right(t.sport_bounds, flow.source_port) - 1]
        if m and t.local_bounds is not None:
            m &= (
                t.local_masks[bisect_right(t.local_bounds, flow.local_int) - 1]
                if flow.local_int >= 0
                else t.local_free
            )
        return t.winners[m.bit_length()] or self._nothing_matched(t, flow)

    def decide_many(self, flows: Iterable[Flow]) -> list[Outcome]:
        """``decide`` over a batch (the dataplane's and the checker's bulk path): the same steps inline,
        which saves a call per flow."""
        out: list[Outcome] = []
        append = out.append
        tables = self._tables
        nothing_matched = self._nothing_matched
        for flow in flows:
            if flow.reply_of_accepted:
                append(ESTABLISHED)
                continue
            t = tables[flow.slot]
            a = flow.peer_int
            if flow.peer_groups is None:
                if a in t.accept_members:
                    append(INTRA_GROUP_ACCEPT)
                    continue
                peer = t.addr_masks[bisect_right(t.addr_bounds, a) - 1]
            elif flow.peer_groups.isdisjoint(t.accept_groups):
                peer = t.peer_mask(flow)
            else:
                append(INTRA_GROUP_ACCEPT)
                continue
            bounds, masks = t.ports[flow.proto]
            m = masks[bisect_right(bounds, flow.port) - 1] & peer
            if m and t.sport_bounds is not None:
                m &= t.sport_masks[bisect_right(t.sport_bounds, flow.source_port) - 1]
            if m and t.local_bounds is not None:
                m &= (
                    t.local_masks[bisect_right(t.local_bounds, flow.local_int) - 1]
                    if flow.local_int >= 0
                    else t.local_free
                )
            append(t.winners[m.bit_length()] or nothing_matched(t, flow))
        return out

    def explain(self, flow: Flow) -> Explanation:
        """``decide`` plus every matching rule in evaluation order (for the checker and the console)."""
        outcome = self.decide(flow)
        t = self._tables[flow.slot]
        matched = tuple(t.matching(t.mask(flow, t.peer_mask(flow))))
        return Explanation(outcome.verdict, outcome.reason, outcome.rule, matched)

    def _nothing_matched(self, t: _Table, flow: Flow) -> Outcome:
        """SG-2's implicit behaviour, with the most telling reason."""
        if flow.slot & 2:
            return _INTERNET[t.fallback.verdict] if self._group_auth_on_intranet(flow) else t.fallback
        if t.isolating_groups and t.shares(flow, t.isolating_groups, t.isolating_members):
            if self.enterprise:
                return ENTERPRISE_ISOLATION
            if not flow.slot & 4:
                return INTRA_GROUP_DROP
        return t.fallback

    def _group_auth_on_intranet(self, flow: Flow) -> bool:
        """Whether the intra-group policy or a group rule would have applied on the private network."""
        intranet = self._tables[flow.slot & ~2]
        if intranet.shares(flow, intranet.accept_groups, intranet.accept_members):
            return True
        peer = intranet.peer_mask(flow) & intranet.group_rules
        return peer != 0 and intranet.mask(flow, peer) != 0


def _addresses(members: Mapping[str, Collection[int]], groups: frozenset[str]) -> frozenset[int]:
    return frozenset(a for g in groups for a in members.get(g, ()))


def compile_target(target: TargetInput) -> CompiledTarget:
    """Compile ``target`` once; reuse the result until its revisions change (store.engine_inputs)."""
    return CompiledTarget(target)
