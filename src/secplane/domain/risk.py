"""Risk findings of one security group (SPEC SG-18, issue 4), and how a port is reached from an address
space (SG-19's common-port check). Pure; priority-aware through the decision engine.

Levels and what raises them (``Code``):

  serious  AllPortsOpenToInternet        an ingress Accept from 0.0.0.0/0 or ::/0 of every protocol (ALL)
                                         or of every TCP/UDP port (1/65535)
           SensitivePortsOpenToInternet  one that opens remote administration or a database or cache
                                         (``SENSITIVE_PORTS``)
  warning  HighRiskPortsOpenToInternet   one that opens another high-risk port (``HIGH_RISK_PORTS``)
           WideSource                    an ingress Accept from a CIDR shorter than /8 (and not /0)
           InternalEgressAllowAll        a group marked internal (tag ``secplane:internal`` = ``true``)
                                         lets everything out to the internet: an egress Accept of every
                                         protocol or port to 0.0.0.0/0 or ::/0, or, in a basic group,
                                         the implicit outbound allow (IPv6 only when the group has IPv6
                                         rules: no ENI here has an IPv6 address)
           TooManyRules                  more than 50 rules in the group
  info     ShadowedRule                  a rule that can never decide anything: rules evaluated before it
                                         in the same group match all it matches
           RedundantRule                 an equal rule (same match, same policy) is evaluated first

Priority-aware: a finding about a rule holds only where that rule *decides*, with the engine's semantics
(smallest priority number first, Drop wins a tie, then the older rule). "Open to the internet on port
P" means some flow from an internet address (``INTERNET_SPACE``: everything but private, loopback,
link-local, multicast and reserved ranges) to P is decided by the rule: a rule exposed only in name,
covered by a higher-priority Drop, raises nothing.

"Decides somewhere" is asked of the engine, not of a third rule matcher: the space a rule matches is
cut at every boundary (addresses, ports) of the earlier rules that touch it, and the engine decides one
probe flow per cell (``compile_target`` of the group alone, intra-group policy off: rules only). In a
cell every earlier rule matches all of it or none of it, so the probes answer exactly. A rule no
earlier rule touches needs neither probe nor compile: the common case, and what keeps a snapshot of a
million rules fast. A space that would take more than ``MAX_PROBES`` probes is not probed: the rule
counts as deciding — no dead-rule finding, exposure reported — the safe side both ways.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from secplane.domain.engine import (
    ACCEPT,
    DROP,
    EGRESS,
    INGRESS,
    INTERNET,
    INTRANET,
    NORMAL,
    CompiledTarget,
    Flow,
    GroupInput,
    Outcome,
    TargetInput,
    compile_target,
    parse_address,
    parse_network,
)
from secplane.domain.sg_rules import Rule, parse_port_range

SERIOUS, WARNING, INFO = "serious", "warning", "info"
RANK = {SERIOUS: 3, WARNING: 2, INFO: 1}
LEVELS = (SERIOUS, WARNING, INFO)  # the worst first
MAX_RULES = 50
WIDE_PREFIX = 8  # a source prefix shorter than this is "very wide"
MAX_PROBES = 4096
INTERNAL_TAG = "secplane:internal"  # with the value "true" (any case), the group is internal

# Remote administration, databases and caches: serious when open to the internet.
SENSITIVE_PORTS: dict[int, str] = {
    22: "SSH", 23: "Telnet", 3389: "RDP", 5900: "VNC",
    3306: "MySQL", 1433: "SQL Server", 1434: "SQL Server", 1521: "Oracle", 5432: "PostgreSQL",
    27017: "MongoDB", 27018: "MongoDB", 6379: "Redis", 11211: "Memcached", 9200: "Elasticsearch",
    9300: "Elasticsearch", 50000: "DB2",
}  # fmt: skip
# Other services that should not face the internet: a warning.
HIGH_RISK_PORTS: dict[int, str] = {
    20: "FTP", 21: "FTP", 25: "SMTP", 110: "POP3", 143: "IMAP", 135: "MS RPC", 136: "NetBIOS",
    137: "NetBIOS", 138: "NetBIOS", 139: "NetBIOS", 445: "SMB", 2049: "NFS", 873: "rsync", 2375: "Docker",
    2379: "etcd", 2181: "ZooKeeper", 389: "LDAP", 1099: "Java RMI", 5601: "Kibana", 9092: "Kafka",
}  # fmt: skip
_WATCHED = tuple(sorted(SENSITIVE_PORTS.keys() | HIGH_RISK_PORTS.keys()))


class CommonPort(NamedTuple):
    service: str
    protocol: str
    port: int


# The common service ports CheckCommonPorts answers for (issue 4), with the protocol each one speaks.
COMMON_PORTS: tuple[CommonPort, ...] = tuple(
    CommonPort(*p)
    for p in (
        ("SSH", "TCP", 22), ("RDP", "TCP", 3389), ("HTTP", "TCP", 80), ("HTTPS", "TCP", 443),
        ("FTP", "TCP", 20), ("FTP", "TCP", 21), ("Telnet", "TCP", 23), ("SMTP", "TCP", 25),
        ("DNS", "UDP", 53), ("DNS", "TCP", 53), ("POP3", "TCP", 110), ("IMAP", "TCP", 143),
        ("SQL Server", "TCP", 1433), ("SQL Server", "UDP", 1434), ("Oracle", "TCP", 1521),
        ("MySQL", "TCP", 3306), ("PostgreSQL", "TCP", 5432), ("Redis", "TCP", 6379),
        ("HTTP alternate", "TCP", 8080), ("NetBIOS", "UDP", 137), ("NetBIOS", "UDP", 138),
        ("NetBIOS", "TCP", 139), ("SMB", "TCP", 445),
    )
)  # fmt: skip

Interval = tuple[int, int]
_PORTED = ("TCP", "UDP")
_PORT_TOP = 65535
_TOP = {False: (1 << 32) - 1, True: (1 << 128) - 1}
# Every flow protocol of a family; "ALL" stands for the protocols no rule names (the engine's meaning).
_PROTOCOLS = {False: ("TCP", "UDP", "ICMP", "GRE", "ALL"), True: ("TCP", "UDP", "ICMPV6", "GRE", "ALL")}


# ---------------------------------------------------------------- address spaces


def _union(spans: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(last, out[-1][1]))
        else:
            out.append((first, last))
    return out


def _cidrs(*texts: str) -> list[Interval]:
    return _union(parse_network(t)[:2] for t in texts)


def _intersect(spans: Sequence[Interval], space: Sequence[Interval]) -> list[Interval]:
    return [(max(a, c), min(b, d)) for a, b in spans for c, d in space if max(a, c) <= min(b, d)]


def _complement(holes: Sequence[Interval], top: int) -> list[Interval]:
    out, start = [], 0
    for first, last in holes:
        if first > start:
            out.append((start, first - 1))
        start = last + 1
    return out + ([(start, top)] if start <= top else [])


PRIVATE_SPACE: dict[bool, list[Interval]] = {
    False: _cidrs("10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16"),
    True: _cidrs("fc00::/7"),
}
INTERNET_V4_EXCLUDED = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
)  # fmt: skip
INTERNET_SPACE: dict[bool, list[Interval]] = {
    False: _complement(_cidrs(*INTERNET_V4_EXCLUDED), _TOP[False]),
    True: _cidrs("2000::/3"),
}


def address_text(value: int, v6: bool) -> str:
    family, size = (socket.AF_INET6, 16) if v6 else (socket.AF_INET, 4)
    return socket.inet_ntop(family, value.to_bytes(size, "big"))


# ---------------------------------------------------------------- rules as intervals


@lru_cache(maxsize=1 << 16)
def _network(text: str) -> tuple[int, int, bool]:
    return parse_network(text)


@lru_cache(maxsize=1 << 12)
def _ports(text: str) -> Interval:
    parsed = parse_port_range(text)
    if parsed is None:
        raise ValueError(f"not a port range: {text!r}")
    return (0, _PORT_TOP) if parsed == (-1, -1) else parsed


class RuleBox(NamedTuple):
    """A rule as the intervals it matches, with the engine's meaning of the fields: ``-1/-1`` is every
    port, ``ALL`` every protocol, a source-port range of all of 1..65535 no restriction."""

    rule_id: str
    rule: Rule
    order: int  # position in the group's evaluation order
    direction: str
    nic_type: str
    protocol: str  # TCP UDP ICMP ICMPV6 GRE ALL
    ports: Interval  # (0, 65535) for -1/-1
    source_ports: Interval | None  # None: not restricted
    local: tuple[int, int, bool] | None
    cidr: tuple[int, int, bool] | None
    group_id: str  # the peer group ("" unless the peer is a group)
    prefix_list_id: str  # the peer prefix list ("" unless the peer is one)

    @property
    def match(self) -> tuple[object, ...]:
        """What the rule matches, in canonical form: two rules with equal ``match`` match the same flows."""
        return (
            self.direction, self.nic_type, self.protocol, self.ports, self.source_ports, self.local,
            self.cidr, self.group_id, self.prefix_list_id,
        )  # fmt: skip


def rule_box(rule_id: str, rule: Rule, order: int = 0) -> RuleBox:
    source_ports = None
    if rule.source_port_range:
        low, high = _ports(rule.source_port_range)
        if low > 1 or high < _PORT_TOP:
            source_ports = (max(low, 1), high)
    cidr = _network(rule.peer_cidr) if rule.peer_cidr else None
    return RuleBox(
        rule_id, rule, order, rule.direction, rule.nic_type, rule.ip_protocol.upper(),
        _ports(rule.port_range), source_ports, _network(rule.local_cidr) if rule.local_cidr else None,
        cidr, "" if cidr else rule.peer_group_id,
        "" if cidr or rule.peer_group_id else rule.peer_prefix_list_id,
    )  # fmt: skip


def prefix_length(cidr: tuple[int, int, bool]) -> int:
    """The prefix length of a parsed CIDR (``(first, last, is IPv6)``)."""
    return (128 if cidr[2] else 32) + 1 - (cidr[1] - cidr[0] + 1).bit_length()


# ---------------------------------------------------------------- probing a space


class Space(NamedTuple):
    """Flows of one direction, NIC type and family; the other dimensions as intervals."""

    direction: str
    nic_type: str
    v6: bool
    protocols: tuple[str, ...]
    peers: tuple[Interval, ...]
    ports: Interval = (1, _PORT_TOP)  # destination ports of TCP and UDP
    source_ports: Interval = (1, _PORT_TOP)
    locals: tuple[Interval, ...] | None = None  # None: every address of the family
    # the peer's own groups, as ``Flow.peer_groups``; None: by address, members cut the peer space
    peer_groups: frozenset[str] | None = frozenset()


Spans = Callable[[str, bool], Sequence[Interval]]  # a prefix list's entries of one family


def _overlaps(span: Interval, spans: Iterable[Interval]) -> bool:
    return any(span[0] <= b and a <= span[1] for a, b in spans)


def touches(b: RuleBox, s: Space, entries: Spans) -> bool:
    """Whether rule ``b`` may match some flow of ``s`` (a group peer is assumed to, by membership)."""
    if b.direction != s.direction or b.nic_type != s.nic_type:
        return False
    if b.protocol != "ALL" and b.protocol not in s.protocols:
        return False
    if b.protocol in _PORTED:
        if not (b.ports[0] <= s.ports[1] and s.ports[0] <= b.ports[1]):
            return False
        if b.source_ports is not None and not _overlaps(b.source_ports, (s.source_ports,)):
            return False
    if b.local is not None and (
        b.local[2] != s.v6 or (s.locals is not None and not _overlaps(b.local[:2], s.locals))
    ):
        return False
    if b.cidr is not None:
        return b.cidr[2] == s.v6 and _overlaps(b.cidr[:2], s.peers)
    if b.group_id:
        return s.peer_groups is None or b.group_id in s.peer_groups
    return any(_overlaps(e, s.peers) for e in entries(b.prefix_list_id, s.v6))


def _covers(spans: Iterable[Interval], wanted: Iterable[Interval]) -> bool:
    """Whether the union of ``spans`` includes every interval of ``wanted``."""
    union = _union(spans)
    return all(any(a <= low and high <= b for a, b in union) for low, high in wanted)


def escapes(s: Space, touching: Sequence[RuleBox], entries: Spans) -> bool:
    """Whether some flow of ``s`` is matched by none of ``touching``, seen one dimension at a time: a
    protocol, a peer or local address, a port that no rule's range includes is such a flow. (False means
    "not shown this way", and the probes decide.)"""
    protocols = {b.protocol for b in touching}
    if "ALL" not in protocols and not protocols.issuperset(s.protocols):
        return True
    peers: list[Interval] = []
    for b in touching:
        if b.cidr is not None:
            peers.append(b.cidr[:2])
        elif b.prefix_list_id:
            peers.extend(entries(b.prefix_list_id, s.v6))
        else:
            break  # a group peer: any address may be a member
    else:
        if not _covers(peers, s.peers):
            return True
    locals_ = [b.local[:2] for b in touching if b.local is not None]
    if len(locals_) == len(touching) and not _covers(locals_, s.locals or ((0, _TOP[s.v6]),)):
        return True
    if len(s.protocols) == 1 and s.protocols[0] in _PORTED and "ALL" not in protocols:
        if not _covers((b.ports for b in touching), (s.ports,)):
            return True
        sources = [b.source_ports for b in touching if b.source_ports is not None]
        if len(sources) == len(touching) and not _covers(sources, (s.source_ports,)):
            return True
    return False


def _may_overlap(e: RuleBox, b: RuleBox) -> bool:
    """A quick first sieve of the rules of one direction and NIC type that may match a flow ``b``
    matches: protocol, destination ports and CIDR peers (``touches`` then looks at each space)."""
    if e.protocol != b.protocol and e.protocol != "ALL" and b.protocol != "ALL":
        return False
    if e.ports[1] < b.ports[0] or b.ports[1] < e.ports[0]:
        return False
    if e.cidr is not None and b.cidr is not None:
        return e.cidr[2] == b.cidr[2] and e.cidr[0] <= b.cidr[1] and b.cidr[0] <= e.cidr[1]
    return True


def _pieces(bases: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """``bases`` split at every start and end of ``cuts``."""
    points = set()
    for first, last in cuts:
        points.add(first)
        points.add(last + 1)
    out: list[Interval] = []
    for low, high in bases:
        start = low
        for point in sorted(p for p in points if low < p <= high):
            out.append((start, point - 1))
            start = point
        out.append((start, high))
    return out


def probes(
    s: Space, boxes: Sequence[RuleBox], entries: Spans, members: Iterable[int] = (), limit: int = MAX_PROBES
) -> Iterator[tuple[Flow, int]] | None:
    """One flow per cell of ``s`` cut at the boundaries of ``boxes`` (and at the ``members``' addresses),
    with the cell's size; None when there would be more than ``limit``."""
    peer_cuts: list[Interval] = [(m, m) for m in members]
    for b in boxes:
        if b.cidr is not None:
            if b.cidr[2] == s.v6:
                peer_cuts.append(b.cidr[:2])
        elif b.prefix_list_id:
            peer_cuts.extend(entries(b.prefix_list_id, s.v6))
    peers = _pieces(s.peers, peer_cuts)
    local_cuts = [b.local[:2] for b in boxes if b.local is not None and b.local[2] == s.v6]
    locals_ = _pieces(s.locals if s.locals is not None else ((0, _TOP[s.v6]),), local_cuts)
    per_protocol = []
    total = 0
    for protocol in s.protocols:
        if protocol in _PORTED:
            same = [b for b in boxes if b.protocol == protocol]
            ports = _pieces((s.ports,), [b.ports for b in same])
            sources = _pieces((s.source_ports,), [b.source_ports for b in same if b.source_ports])
        else:
            ports = sources = [(0, 0)]
        per_protocol.append((protocol, ports, sources))
        total += len(ports) * len(sources)
    if total * len(locals_) * len(peers) > limit:
        return None
    return _flows(s, per_protocol, locals_, peers)


def _flows(
    s: Space, per_protocol: list[tuple[str, list[Interval], list[Interval]]], locals_: list[Interval],
    peers: list[Interval],
) -> Iterator[tuple[Flow, int]]:  # fmt: skip
    local_texts = [(address_text(a, s.v6), b - a + 1) for a, b in locals_]
    peer_texts = [(address_text(a, s.v6), b - a + 1) for a, b in peers]
    for protocol, ports, sources in per_protocol:
        for port, port_to in ports:
            for source, source_to in sources:
                size = (port_to - port + 1) * (source_to - source + 1)
                for local, local_size in local_texts:
                    for peer, peer_size in peer_texts:
                        flow = Flow(
                            s.direction, protocol, peer, port, source, s.nic_type, local, s.peer_groups
                        )
                        yield flow, size * local_size * peer_size


# ---------------------------------------------------------------- findings


class Code(StrEnum):
    ALL_OPEN = "AllPortsOpenToInternet"
    SENSITIVE_OPEN = "SensitivePortsOpenToInternet"
    HIGH_RISK_OPEN = "HighRiskPortsOpenToInternet"
    WIDE_SOURCE = "WideSource"
    INTERNAL_EGRESS = "InternalEgressAllowAll"
    TOO_MANY_RULES = "TooManyRules"
    SHADOWED = "ShadowedRule"
    REDUNDANT = "RedundantRule"


LEVEL_OF: dict[Code, str] = {
    Code.ALL_OPEN: SERIOUS,
    Code.SENSITIVE_OPEN: SERIOUS,
    Code.HIGH_RISK_OPEN: WARNING,
    Code.WIDE_SOURCE: WARNING,
    Code.INTERNAL_EGRESS: WARNING,
    Code.TOO_MANY_RULES: WARNING,
    Code.SHADOWED: INFO,
    Code.REDUNDANT: INFO,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One risk: about a rule (``rule_id``, ``rule``) or about the whole group (``rule_id`` "")."""

    code: Code
    rule_id: str = ""
    rule: Rule | None = None
    ports: tuple[int, ...] = ()  # the watched ports the rule opens to the internet
    related: tuple[str, ...] = ()  # the rules that shadow it, or the equal rule evaluated first
    count: int = 0  # TooManyRules: how many rules

    @property
    def level(self) -> str:
        return LEVEL_OF[self.code]


@dataclass(frozen=True, slots=True)
class GroupRules:
    """What the risk rules look at in one group: its rules (``(rule id, rule)``, oldest first)."""

    group_id: str
    rules: Sequence[tuple[str, Rule]]
    group_type: str = NORMAL
    internal: bool = False  # tagged secplane:internal=true
    classic: bool = False  # classic network: rules of both NIC types


def is_internal(tag_value: str) -> bool:
    return tag_value.strip().lower() == "true"


def analyze(group: GroupRules, prefix_lists: MappingABC[str, Sequence[str]] | None = None) -> list[Finding]:
    """The group's findings, the worst level first, then in the group's evaluation order.

    ``prefix_lists``: the entries (CIDRs) of the lists the rules use; a missing list has none.
    """
    return _Analysis(group, prefix_lists or {}).run()


class _Analysis:
    def __init__(self, group: GroupRules, prefix_lists: MappingABC[str, Sequence[str]]) -> None:
        self.group = group
        self.prefix_lists = prefix_lists
        self._entries: dict[tuple[str, bool], list[Interval]] = {}
        self._compiled: CompiledTarget | None = None
        rules = group.rules
        order = sorted(range(len(rules)), key=lambda i: (rules[i][1].priority, rules[i][1].policy != DROP, i))
        self.slots: dict[tuple[str, str], list[RuleBox]] = {}
        for position, i in enumerate(order):
            b = rule_box(rules[i][0], rules[i][1], position)
            self.slots.setdefault((b.direction, b.nic_type), []).append(b)

    def entries(self, list_id: str, v6: bool) -> list[Interval]:
        found = self._entries.get((list_id, v6))
        if found is None:
            networks = [_network(c) for c in self.prefix_lists.get(list_id, ())]
            found = self._entries[(list_id, v6)] = _union(n[:2] for n in networks if n[2] == v6)
        return found

    def decide(self, flow: Flow) -> Outcome:
        if self._compiled is None:
            used = {b.prefix_list_id for boxes in self.slots.values() for b in boxes if b.prefix_list_id}
            only_rules = GroupInput(self.group.group_id, NORMAL, DROP, self.group.rules)
            lists = {i: self.prefix_lists.get(i, ()) for i in used}
            self._compiled = compile_target(TargetInput([only_rules], lists))
        return self._compiled.decide(flow)

    def run(self) -> list[Finding]:
        found: list[tuple[int, int, Finding]] = []
        if len(self.group.rules) > MAX_RULES:
            found.append((-1, -1, Finding(Code.TOO_MANY_RULES, count=len(self.group.rules))))
        for boxes in self.slots.values():
            seen: dict[tuple[object, ...], RuleBox] = {}
            for i, b in enumerate(boxes):
                twin = seen.setdefault((b.match, b.rule.policy), b)
                earlier = [e for e in boxes[:i] if _may_overlap(e, b)]
                if twin is not b:
                    finding = Finding(Code.REDUNDANT, b.rule_id, b.rule, related=(twin.rule_id,))
                    found.append((0, b.order, finding))
                    continue
                decided, winners = self.decides(b.rule_id, self.spaces(b), earlier) if earlier else (True, ())
                if decided is False:
                    found.append((0, b.order, Finding(Code.SHADOWED, b.rule_id, b.rule, related=winners)))
                elif decided:
                    found.extend((0, b.order, f) for f in self.exposure(b, earlier))
        if self.group.internal and self.group.group_type == NORMAL and self.implicit_egress():
            found.append((-1, -1, Finding(Code.INTERNAL_EGRESS)))
        found.sort(key=lambda t: (-RANK[t[2].level], t[0], t[1]))
        return [f for _, _, f in found]

    def decides(
        self, rule_id: str | None, spaces: Sequence[Space], candidates: Sequence[RuleBox]
    ) -> tuple[bool | None, tuple[str, ...]]:
        """Whether ``rule_id`` (None: no rule, an implicit verdict) decides some flow of ``spaces`` when
        ``candidates`` are the rules evaluated before it: True; False with the rules that decide there
        instead; None when the spaces hold no flow."""
        empty = True
        winners: dict[str, None] = {}
        for s in spaces:
            if not s.peers:
                continue
            empty = False
            touching = [c for c in candidates if touches(c, s, self.entries)]
            if not touching or escapes(s, touching, self.entries):
                return True, ()
            # one earlier rule including all of the space decides all of it (for one rule, "no
            # dimension escapes" is exact: a rule is a box)
            cover = next((c for c in touching if not escapes(s, (c,), self.entries)), None)
            if cover is not None and s.peer_groups is not None:
                winners[cover.rule_id] = None
                continue
            cells = probes(s, touching, self.entries)
            if cells is None:
                return True, ()  # too many cells to probe: the safe side
            for flow, _ in cells:
                rule = self.decide(flow).rule
                decided = rule.rule_id if rule is not None else None
                if decided == rule_id:
                    return True, ()
                if decided is not None:
                    winners[decided] = None
        return (None if empty else False), tuple(winners)

    def spaces(self, b: RuleBox, protocol: str = "", port: int = 0, internet: bool = False) -> list[Space]:
        """The flows ``b`` matches (narrowed to one protocol and port, or to internet peers), per family."""
        if b.cidr is not None:
            families: tuple[bool, ...] = (b.cidr[2],)
        elif b.local is not None:
            families = (b.local[2],)
        else:
            families = (False, True)
        out = []
        for v6 in families:
            if b.protocol == ("ICMP" if v6 else "ICMPV6"):
                continue  # ICMP of the other family: no such flow
            if b.cidr is not None:
                peers: list[Interval] = [b.cidr[:2]]
            elif b.group_id:
                peers = [(0, _TOP[v6])]
            else:
                peers = self.entries(b.prefix_list_id, v6)
            if internet:
                peers = _intersect(peers, INTERNET_SPACE[v6])
            protocols = (protocol,) if protocol else _PROTOCOLS[v6] if b.protocol == "ALL" else (b.protocol,)
            out.append(
                Space(
                    b.direction, b.nic_type, v6, protocols, tuple(peers),
                    (port, port) if port else (max(1, b.ports[0]), b.ports[1]),
                    b.source_ports or (1, _PORT_TOP), (b.local[:2],) if b.local is not None else None,
                    frozenset((b.group_id,)) if b.group_id else frozenset(),
                )
            )  # fmt: skip
        return out

    def exposure(self, b: RuleBox, earlier: Sequence[RuleBox]) -> list[Finding]:
        """Findings of a rule that decides something: what an Accept from a wide CIDR opens."""
        if b.rule.policy != ACCEPT or b.cidr is None:
            return []
        prefix = prefix_length(b.cidr)
        everything = b.protocol == "ALL" or (b.protocol in _PORTED and b.ports == (1, _PORT_TOP))
        if b.direction == INGRESS:
            if prefix == 0:
                return self.internet_exposure(b, earlier, everything)
            return [Finding(Code.WIDE_SOURCE, b.rule_id, b.rule)] if prefix < WIDE_PREFIX else []
        internal = self.group.internal and prefix == 0 and everything
        if internal and self.decides(b.rule_id, self.spaces(b, internet=True), earlier)[0]:
            return [Finding(Code.INTERNAL_EGRESS, b.rule_id, b.rule)]
        return []

    def internet_exposure(self, b: RuleBox, earlier: Sequence[RuleBox], everything: bool) -> list[Finding]:
        protocols = _PORTED if b.protocol == "ALL" else (b.protocol,) if b.protocol in _PORTED else ()
        watched = [p for p in _WATCHED if b.ports[0] <= p <= b.ports[1]] if protocols else []
        if earlier:
            watched = [
                p for p in watched
                if any(self.decides(b.rule_id, self.spaces(b, t, p, True), earlier)[0] for t in protocols)
            ]  # fmt: skip
        exposed = tuple(watched)
        if everything:
            if exposed or self.decides(b.rule_id, self.spaces(b, internet=True), earlier)[0]:
                return [Finding(Code.ALL_OPEN, b.rule_id, b.rule, exposed)]
            return []
        out = []
        serious = tuple(p for p in exposed if p in SENSITIVE_PORTS)
        if serious:
            out.append(Finding(Code.SENSITIVE_OPEN, b.rule_id, b.rule, serious))
        high_risk = tuple(p for p in exposed if p in HIGH_RISK_PORTS)
        if high_risk:
            out.append(Finding(Code.HIGH_RISK_OPEN, b.rule_id, b.rule, high_risk))
        return out

    def implicit_egress(self) -> bool:
        """Whether some outbound flow to the internet is decided by no rule (the implicit allow)."""
        families = (False, True) if self._has_ipv6() else (False,)
        for nic in (INTRANET, INTERNET) if self.group.classic else (INTRANET,):
            spaces = [Space(EGRESS, nic, v6, _PROTOCOLS[v6], tuple(INTERNET_SPACE[v6])) for v6 in families]
            if self.decides(None, spaces, self.slots.get((EGRESS, nic), []))[0]:
                return True
        return False

    def _has_ipv6(self) -> bool:
        return any(
            (b.cidr is not None and b.cidr[2]) or (b.local is not None and b.local[2])
            for boxes in self.slots.values()
            for b in boxes
        )


# ---------------------------------------------------------------- reach of a port (CheckCommonPorts)

FULL, PARTIAL, NONE = "Full", "Partial", "None"


class Reach(NamedTuple):
    """How flows from an address space to one port fare on an ENI.

    ``typical`` is the outcome over the largest part of the space (what an arbitrary peer gets);
    ``exposure`` says whether all of the space is accepted, part of it or none (``Unknown`` when the
    space would take too many probes: then only ``typical`` was decided); ``accepting`` are the distinct
    outcomes that accept some of it, the largest share first.
    """

    typical: Outcome
    exposure: str
    accepting: tuple[Outcome, ...]


def reach(
    compiled: CompiledTarget, target: TargetInput, nic_type: str, protocol: str, port: int,
    peers: Sequence[Interval], local: str, limit: int = 1 << 16,
) -> Reach:  # fmt: skip
    """Ingress from IPv4 ``peers`` to ``protocol``/``port`` of the ENI at ``local`` (engine semantics in
    full: its groups, intra-group policy, members of referenced groups, prefix lists)."""
    boxes = [rule_box(rule_id, rule) for g in target.groups for rule_id, rule in g.rules]
    networks: dict[str, list[Interval]] = {}
    for list_id, cidrs in target.prefix_lists.items():
        networks[list_id] = _union(n[:2] for n in map(_network, cidrs) if not n[2])

    def entries(list_id: str, v6: bool) -> list[Interval]:
        return [] if v6 else networks.get(list_id, [])

    members = set()
    for addresses in target.members.values():
        for text in addresses:
            value, v6 = parse_address(text)
            if not v6:
                members.add(value)
    at = parse_address(local)[0] if local else -1
    locals_ = ((at, at),) if local else None
    s = Space(
        INGRESS, nic_type, False, (protocol,), tuple(peers), (port, port), locals=locals_, peer_groups=None
    )
    touching = [b for b in boxes if touches(b, s, entries)]
    cells = probes(s, touching, entries, sorted(members), limit)
    if cells is None:
        widest = max(peers, key=lambda span: span[1] - span[0])
        flow = Flow(INGRESS, protocol, address_text(widest[0], False), port, 0, nic_type, local)
        return Reach(compiled.decide(flow), "Unknown", ())
    weights: dict[Outcome, int] = {}
    for flow, size in cells:
        outcome = compiled.decide(flow)
        weights[outcome] = weights.get(outcome, 0) + size
    ranked = sorted(weights.items(), key=lambda kv: -kv[1])
    accepting = tuple(o for o, _ in ranked if o.verdict == ACCEPT)
    total = sum(weights.values())
    accepted = sum(w for o, w in ranked if o.verdict == ACCEPT)
    exposure = FULL if accepted == total else PARTIAL if accepted else NONE
    return Reach(ranked[0][0], exposure, accepting)
