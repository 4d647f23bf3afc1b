# ruff: noqa: RUF001  (Chinese punctuation in the expected sentences)
"""Risk rules (domain.risk): a fixture account with known exposures gives exactly the expected findings;
generated groups are checked against the reference evaluator (tests/engine_reference.py) over every
flow of a small universe that holds a witness of every distinct case; and the port-reach summary behind
CheckCommonPorts."""

from __future__ import annotations

import re
from itertools import product
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from secplane.domain.engine import Flow, GroupInput, TargetInput, compile_target
from secplane.domain.risk import (
    HIGH_RISK_PORTS,
    INTERNET_SPACE,
    MAX_PROBES,
    PRIVATE_SPACE,
    SENSITIVE_PORTS,
    Code,
    Finding,
    GroupRules,
    analyze,
    prefix_length,
    reach,
    rule_box,
)
from secplane.domain.risk_text import reason, suggestion
from secplane.domain.sg_rules import Rule
from tests.engine_reference import Reference
from tests.unit.test_engine import rule

ANY4, ANY6 = "0.0.0.0/0", "::/0"


def group(*rules: Rule, group_id: str = "sg-1", **kw: Any) -> GroupRules:
    return GroupRules(group_id, [(f"r{i}", r) for i, r in enumerate(rules, 1)], **kw)


def found(
    g: GroupRules, lists: dict[str, list[str]] | None = None
) -> list[tuple[str, str, str, tuple[int, ...]]]:
    """(level, code, rule id, ports) of each finding, in the order given."""
    return [(f.level, str(f.code), f.rule_id, f.ports) for f in analyze(g, lists)]


def codes(g: GroupRules) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in analyze(g):
        out.setdefault(f.rule_id, set()).add(str(f.code))
    return out


WATCHED = ALL_WATCHED = tuple(sorted(SENSITIVE_PORTS.keys() | HIGH_RISK_PORTS.keys()))


# ---------------------------------------------------------------- the fixture account (acceptance)


def test_fixture_account_gives_exactly_the_expected_findings() -> None:
    web = group(
        rule(port_range="22/22", peer_cidr=ANY4),  # r1 SSH to the world
        rule(port_range="80/80", peer_cidr=ANY4),  # r2 fine
        rule(port_range="3306/3306", peer_cidr=ANY4, priority=10),  # r3 covered by r4: not a finding
        rule(port_range="3306/3306", peer_cidr=ANY4, priority=5, policy="Drop"),  # r4
        rule(port_range="20/21", peer_cidr=ANY6),  # r5 FTP over IPv6
    )
    assert found(web) == [
        ("serious", "SensitivePortsOpenToInternet", "r1", (22,)),
        ("warning", "HighRiskPortsOpenToInternet", "r5", (20, 21)),
        ("info", "ShadowedRule", "r3", ()),
    ]
    assert analyze(web)[-1].related == ("r4",)

    everything = group(
        rule(ip_protocol="ALL", port_range="-1/-1", peer_cidr=ANY4),
        rule(port_range="22/22", peer_cidr="10.0.0.0/8", priority=2),
    )
    assert found(everything) == [
        ("serious", "AllPortsOpenToInternet", "r1", ALL_WATCHED),
        ("info", "ShadowedRule", "r2", ()),
    ]

    internal_db = group(
        rule(port_range="5432/5432", peer_cidr="10.0.0.0/16"),
        rule(port_range="1/65535", peer_cidr="0.0.0.0/1"),
        internal=True,
    )
    assert found(internal_db) == [
        ("warning", "InternalEgressAllowAll", "", ()),
        ("warning", "WideSource", "r2", ()),
    ]

    assert found(group(rule(port_range="443/443", peer_cidr=ANY4))) == []
    redundant = group(
        rule(port_range="8080/8080", peer_cidr="192.168.0.0/16"),
        rule(port_range="8080/8080", peer_cidr="192.168.0.0/16", priority=2),
    )
    assert found(redundant) == [("info", "RedundantRule", "r2", ())]
    assert analyze(redundant)[0].related == ("r1",)

    busy = group(*(rule(port_range=f"{p}/{p}", peer_cidr="10.1.0.0/16") for p in range(10001, 10052)))
    (too_many,) = analyze(busy)
    assert (too_many.level, too_many.code, too_many.count) == ("warning", Code.TOO_MANY_RULES, 51)

    internal_out = group(rule("egress", ip_protocol="ALL", port_range="-1/-1", peer_cidr=ANY4), internal=True)
    assert found(internal_out) == [("warning", "InternalEgressAllowAll", "r1", ())]
    assert found(group(*internal_out.rules[0][1:])) == []  # not internal: a normal outbound rule


def test_a_higher_priority_drop_removes_the_exposure() -> None:
    ssh = rule(port_range="22/22", peer_cidr=ANY4, priority=50)
    assert codes(group(ssh))["r1"] == {"SensitivePortsOpenToInternet"}
    covered = group(ssh, rule(port_range="22/22", peer_cidr=ANY4, priority=10, policy="Drop"))
    assert "SensitivePortsOpenToInternet" not in str(analyze(covered))
    # an accept and a drop on the same match and priority: the drop wins, the accept exposes nothing
    tie = group(
        rule(port_range="22/22", peer_cidr=ANY4), rule(port_range="22/22", peer_cidr=ANY4, policy="Drop")
    )
    assert found(tie) == [("info", "ShadowedRule", "r1", ())]
    # a drop of part of the internet leaves the rest exposed
    part = group(ssh, rule(port_range="22/22", peer_cidr="1.0.0.0/8", priority=10, policy="Drop"))
    assert codes(part)["r1"] == {"SensitivePortsOpenToInternet"}
    # drops of the two halves of the address space: covered, a dead rule
    halves = group(
        ssh,
        rule(port_range="1/65535", peer_cidr="0.0.0.0/1", priority=1, policy="Drop"),
        rule(ip_protocol="ALL", port_range="-1/-1", peer_cidr="128.0.0.0/1", priority=1, policy="Drop"),
    )
    assert codes(halves) == {"r1": {"ShadowedRule"}}
    # drops of everything but 10.0.0.0/8: the rule still decides, for private peers only: no exposure
    but_ten = ("0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2")
    private_only = group(
        ssh, *(rule(port_range="22/22", peer_cidr=c, policy="Drop") for c in (*but_ten, "128.0.0.0/1"))
    )
    assert "r1" not in codes(private_only)
    # a range rule keeps the ports the drops leave
    ranged = group(
        rule(port_range="20/25", peer_cidr=ANY4, priority=5),
        rule(port_range="22/23", peer_cidr=ANY4, priority=1, policy="Drop"),
    )
    assert found(ranged) == [("warning", "HighRiskPortsOpenToInternet", "r1", (20, 21, 25))]


def test_ipv6_and_all_protocols_count_as_everything() -> None:
    assert found(group(rule(ip_protocol="ALL", port_range="-1/-1", peer_cidr=ANY6))) == [
        ("serious", "AllPortsOpenToInternet", "r1", ALL_WATCHED)
    ]
    assert found(group(rule(ip_protocol="UDP", port_range="1/65535", peer_cidr=ANY6)))[0][:2] == (
        "serious",
        "AllPortsOpenToInternet",
    )
    assert found(group(rule(ip_protocol="ICMP", port_range="-1/-1", peer_cidr=ANY4))) == []  # ping
    # an ALL drop in the other family covers nothing of this one
    v6_drop = group(
        rule(port_range="3306/3306", peer_cidr=ANY4, priority=2),
        rule(ip_protocol="ALL", port_range="-1/-1", peer_cidr=ANY6, policy="Drop"),
    )
    assert codes(v6_drop)["r1"] == {"SensitivePortsOpenToInternet"}
    # only the ports the drop leaves: the finding lists those
    everything = rule(ip_protocol="ALL", port_range="-1/-1", peer_cidr=ANY4, priority=2)
    tcp_low = rule(port_range="1/1000", peer_cidr=ANY4, policy="Drop")
    (finding,) = analyze(group(everything, tcp_low))
    assert finding.code is Code.ALL_OPEN and {22, 3306} <= set(finding.ports)  # UDP 22 is still open
    udp_low = rule(ip_protocol="UDP", port_range="1/1000", peer_cidr=ANY4, policy="Drop")
    (finding,) = analyze(group(everything, tcp_low, udp_low))
    assert finding.code is Code.ALL_OPEN and 22 not in finding.ports and 3306 in finding.ports


def test_dead_rules_shadowed_and_redundant() -> None:
    g = group(
        rule(port_range="80/80", peer_cidr="10.0.0.0/8"),  # r1
        rule(port_range="80/80", peer_cidr="10.1.0.0/16", priority=2),  # r2 inside r1: shadowed
        rule(port_range="80/80", peer_cidr="10.1.0.0/16", priority=3),  # r3 equal to r2: redundant
        rule(port_range="80/81", peer_cidr="10.1.0.0/16", priority=4),  # r4: 81 is its own
        rule(port_range="80/80", peer_cidr="10.1.0.0/16", priority=5, policy="Drop"),  # r5 shadowed by r1
        rule(port_range="80/80", peer_cidr="11.0.0.0/8", priority=5, source_port_range="1024/65535"),  # r6
        rule(port_range="80/80", peer_cidr="11.0.0.0/8", priority=6),  # r7: low source ports are its own
    )
    assert {f.rule_id: (str(f.code), f.related) for f in analyze(g)} == {
        "r2": ("ShadowedRule", ("r1",)),
        "r3": ("RedundantRule", ("r2",)),
        "r5": ("ShadowedRule", ("r1",)),
    }
    # a union of earlier rules covers a later one, none of them alone
    union = group(
        rule(port_range="100/200", peer_cidr="10.0.0.0/8"),
        rule(port_range="150/300", peer_cidr="10.0.0.0/8"),
        rule(port_range="120/250", peer_cidr="10.2.0.0/16", priority=9),
    )
    (dead,) = analyze(union)
    assert (dead.code, dead.rule_id, set(dead.related)) == (Code.SHADOWED, "r3", {"r1", "r2"})
    # rules of another direction, NIC type or peer group never cover
    other = group(
        rule("egress", port_range="80/80", peer_cidr=ANY4),
        rule(port_range="80/80", peer_group_id="sg-app"),
        rule(port_range="80/80", peer_group_id="sg-web", priority=2),
        rule(port_range="80/80", peer_group_id="sg-app", priority=3),  # r4: same group as r2
        rule(port_range="80/80", peer_cidr="10.0.0.0/8", priority=4),
    )
    assert found(other) == [("info", "RedundantRule", "r4", ())]


def test_prefix_list_rules_are_judged_by_their_entries() -> None:
    g = group(
        rule(port_range="22/22", peer_cidr="198.51.100.0/24"),
        rule(port_range="22/22", peer_prefix_list_id="pl-office", priority=2),
        rule(port_range="22/22", peer_prefix_list_id="pl-empty", priority=3),  # matches nothing: no finding
    )
    assert found(g, {"pl-office": ["198.51.100.0/25", "198.51.100.128/25"]}) == [
        ("info", "ShadowedRule", "r2", ())
    ]
    assert found(g, {"pl-office": ["198.51.100.0/25", "203.0.113.0/24"]}) == []


def test_implicit_outbound_allow_of_an_internal_group() -> None:
    ingress_only = group(rule(port_range="5432/5432", peer_cidr="10.0.0.0/8"), internal=True)
    assert found(ingress_only) == [("warning", "InternalEgressAllowAll", "", ())]
    closed = group(
        rule(port_range="5432/5432", peer_cidr="10.0.0.0/8"),
        rule("egress", port_range="443/443", peer_cidr="100.100.0.0/16"),
        rule("egress", ip_protocol="ALL", port_range="-1/-1", peer_cidr=ANY4, priority=100, policy="Drop"),
        internal=True,
    )
    assert found(closed) == []
    partly = group(  # TCP and UDP dropped, but not ICMP, GRE or other protocols
        rule("egress", ip_protocol="TCP", port_range="1/65535", peer_cidr=ANY4, policy="Drop"),
        rule("egress", ip_protocol="UDP", port_range="1/65535", peer_cidr=ANY4, policy="Drop"),
        internal=True,
    )
    assert found(partly) == [("warning", "InternalEgressAllowAll", "", ())]
    v6_out = ("r9", rule("egress", port_range="443/443", peer_cidr="2001:db8::/32"))
    with_v6 = GroupRules("sg-1", [*closed.rules, v6_out], internal=True)
    assert found(with_v6) == [("warning", "InternalEgressAllowAll", "", ())]  # IPv6 in use, no IPv6 drop
    enterprise = GroupRules("sg-1", ingress_only.rules, "enterprise", internal=True)
    assert found(enterprise) == []  # outbound is denied by default there
    classic = GroupRules("sg-1", closed.rules, internal=True, classic=True)
    assert found(classic) == [("warning", "InternalEgressAllowAll", "", ())]  # the internet NIC lets all out


def test_too_many_cells_count_as_deciding() -> None:
    """Past MAX_PROBES cells a rule is not probed: no dead-rule finding (the safe side)."""
    many = [rule(port_range=f"{p}/{p}", peer_cidr=f"10.0.{p}.0/24") for p in range(1, 90)]
    many += [rule(port_range=f"{p}/{p}", peer_cidr=f"10.1.{p}.0/24") for p in range(1, 90)]
    wide = rule(port_range="1/200", peer_cidr="10.0.0.0/15", priority=2)
    cells = (2 * 89 + 1) * (2 * 89 * 2 + 1)
    assert cells > MAX_PROBES
    assert codes(group(*many, wide)).get(f"r{len(many) + 1}", set()) <= {"WideSource"}


def test_prefix_lengths_and_spaces() -> None:
    assert [
        prefix_length(rule_box("r", rule(peer_cidr=c)).cidr or (0, 0, False))
        for c in ("0.0.0.0/0", "10.0.0.0/7", "1.2.3.4", "::/0", "2001:db8::/32")
    ] == [0, 7, 32, 0, 32]
    assert INTERNET_SPACE[False][0] == (1 << 24, (10 << 24) - 1)  # 1.0.0.0 .. 9.255.255.255
    assert all(a <= b for a, b in PRIVATE_SPACE[False])


# ---------------------------------------------------------------- texts


def test_every_finding_has_a_reason_and_a_suggestion_in_both_languages() -> None:
    r = rule(port_range="22/22", peer_cidr=ANY4)
    samples = [
        Finding(Code.ALL_OPEN, "r1", r, (22, 3306)),
        Finding(Code.ALL_OPEN, "r1", r),
        Finding(Code.SENSITIVE_OPEN, "r1", r, (22,)),
        Finding(Code.HIGH_RISK_OPEN, "r1", r, (445,)),
        Finding(Code.WIDE_SOURCE, "r1", r),
        Finding(
            Code.INTERNAL_EGRESS, "r1", rule("egress", ip_protocol="ALL", port_range="-1/-1", peer_cidr=ANY4)
        ),
        Finding(Code.INTERNAL_EGRESS),
        Finding(Code.TOO_MANY_RULES, count=60),
        Finding(Code.SHADOWED, "r2", r, related=("r1",)),
        Finding(Code.REDUNDANT, "r2", r, related=("r1",)),
    ]
    assert {f.code for f in samples} == set(Code)
    han = re.compile(r"[\u4e00-\u9fff]")
    for f in samples:
        for en, zh in (reason(f), suggestion(f)):
            assert en[0].isupper() and en.endswith(".") and not han.search(en), en
            assert han.search(zh) and zh.endswith("。"), zh
    assert reason(samples[2]) == (
        "Rule r1 (ingress TCP 22/22 from 0.0.0.0/0, priority 1, Accept) opens remote-administration or "
        "database ports to the whole internet: SSH 22.",
        "规则 r1（入方向 TCP 22/22，授权对象 0.0.0.0/0，优先级 1，允许）"
        "向整个互联网开放了远程管理或数据库端口：SSH 22。",
    )
    assert "60" in reason(samples[7])[0] and "r1" in reason(samples[8])[1]


# ---------------------------------------------------------------- against the reference evaluator

# A small universe: every rule is drawn from these values, and the flows below hold a witness of every
# case they can make (each range's start and the value after its end), so that "decides some flow" over
# them is "decides some flow" over everything.
PORT_VALUES = (21, 22, 23, 80, 3306)
FLOW_PORTS = sorted({1, *PORT_VALUES, *(p + 1 for p in PORT_VALUES), 65535})
V4 = ("198.18.0.0/30", "198.18.0.0/31", "198.18.0.2/31", "198.18.0.1/32", "198.18.0.3/32", "10.0.0.0/8", ANY4)
V6 = ("2001:db8::/127", ANY6)
FLOW_PEERS = (
    "198.18.0.0", "198.18.0.1", "198.18.0.2", "198.18.0.3", "8.8.8.8", "10.0.0.1",
    "2001:db8::", "2001:db8::1", "2001:db9::1",
)  # fmt: skip
FLOW_LOCALS = {False: ("192.168.0.0", "192.168.0.1", "192.168.0.9"), True: ("fd00::1",)}
LISTS = {"pl-a": ["198.18.0.0/31"], "pl-b": ["198.18.0.1/32", "10.0.0.0/8"]}


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    protocol = draw(st.sampled_from(["TCP", "UDP", "ICMP", "ALL"]))
    peer_kind = draw(st.sampled_from(["v4", "v4", "v4", "v6", "group", "list"]))
    peer: dict[str, str] = {}
    if peer_kind == "v4":
        peer["peer_cidr"] = draw(st.sampled_from(V4))
    elif peer_kind == "v6":
        peer["peer_cidr"] = draw(st.sampled_from(V6))
        protocol = "ICMPv6" if protocol == "ICMP" else protocol
    elif peer_kind == "group":
        peer["peer_group_id"] = draw(st.sampled_from(["sg-a", "sg-b"]))
    else:
        peer["peer_prefix_list_id"] = draw(st.sampled_from(sorted(LISTS)))
    ports, sources = "-1/-1", ""
    if protocol in ("TCP", "UDP"):
        low = draw(st.sampled_from(PORT_VALUES))
        high = draw(st.sampled_from([p for p in PORT_VALUES if p >= low] + [65535]))
        ports = draw(st.sampled_from([f"{low}/{high}", "1/65535"]))
        sources = draw(st.sampled_from(["", "", "", "1/21", "22/65535"]))
    local = ""
    if peer.get("peer_cidr", "").count(".") and draw(st.booleans()) and draw(st.booleans()):
        local = draw(st.sampled_from(["192.168.0.0/31", "192.168.0.1"]))
    return Rule(
        direction=draw(st.sampled_from(["ingress", "ingress", "egress"])),
        policy=draw(st.sampled_from(["Accept", "Accept", "Drop"])),
        priority=draw(st.integers(1, 4)),
        ip_protocol=protocol,
        port_range=ports,
        source_port_range=sources,
        nic_type="intranet",
        local_cidr=local,
        **peer,
    )


def _universe(direction: str, families: tuple[bool, ...] = (False, True)) -> list[Flow]:
    flows = []
    for peer in FLOW_PEERS:
        v6 = ":" in peer
        if v6 not in families:
            continue
        for local, groups in product(
            FLOW_LOCALS[v6], (frozenset(), frozenset({"sg-a"}), frozenset({"sg-b"}))
        ):
            for protocol in ("TCP", "UDP", "ICMPV6" if v6 else "ICMP", "GRE", "ALL"):
                ported = protocol in ("TCP", "UDP")
                for port, source in product(FLOW_PORTS if ported else [0], (21, 22) if ported else [0]):
                    flows.append(Flow(direction, protocol, peer, port, source, "intranet", local, groups))
    return flows


UNIVERSE = {d: _universe(d) for d in ("ingress", "egress")}


def _internet(address: str) -> bool:
    value = int.from_bytes(bytes(map(int, address.split("."))), "big") if "." in address else -1
    return address.startswith("2001:") or any(a <= value <= b for a, b in INTERNET_SPACE[False])


@st.composite
def overlapping_rules(draw: st.DrawFn) -> Rule:
    """TCP ingress rules over a few ports and addresses: unions that cover a later rule, or just miss
    it, are common here, and the engine's probes decide them."""
    low = draw(st.sampled_from(PORT_VALUES))
    high = draw(st.sampled_from([p for p in PORT_VALUES if p >= low]))
    return Rule(
        direction="ingress",
        policy=draw(st.sampled_from(["Accept", "Drop"])),
        priority=draw(st.integers(1, 3)),
        ip_protocol="TCP",
        port_range=f"{low}/{high}",
        source_port_range=draw(st.sampled_from(["", "", "1/21", "22/65535"])),
        nic_type="intranet",
        peer_cidr=draw(st.sampled_from(V4)),
    )


@settings(max_examples=150)
@given(st.lists(rules(), min_size=1, max_size=7), st.booleans())
def test_findings_agree_with_the_reference(drawn: list[Rule], internal: bool) -> None:
    _agrees_with_the_reference(drawn, internal)


@settings(max_examples=150)
@given(st.lists(overlapping_rules(), min_size=2, max_size=8))
def test_dead_rules_of_overlapping_rules_agree_with_the_reference(drawn: list[Rule]) -> None:
    _agrees_with_the_reference(drawn, False)


def _agrees_with_the_reference(drawn: list[Rule], internal: bool) -> None:
    """Every finding about dead rules, exposed ports and the implicit outbound allow, and no other,
    against the reference's decision on every flow of the universe."""
    unique = list({r.content_key: r for r in drawn}.values())  # a group never holds two equal rules
    g = GroupRules("sg-x", [(f"r{i}", r) for i, r in enumerate(unique)], internal=internal)
    reference = Reference(TargetInput([GroupInput("sg-x", "normal", "Drop", g.rules)], LISTS))
    decided: dict[str, list[Flow]] = {}
    implicit_out: list[Flow] = []
    for flows in UNIVERSE.values():
        for flow in flows:
            verdict = reference.decide(flow)
            if verdict.rule is not None:
                decided.setdefault(verdict.rule[1], []).append(flow)
            elif flow.direction == "egress":
                implicit_out.append(flow)
    findings = analyze(g, LISTS)
    by_rule: dict[str, set[Code]] = {}
    for f in findings:
        by_rule.setdefault(f.rule_id, set()).add(f.code)

    for rule_id, r in g.rules:
        got = by_rule.get(rule_id, set())
        dead = {Code.SHADOWED, Code.REDUNDANT} & got
        assert bool(dead) == (rule_id not in decided), (rule_id, r, got)
        if r.policy != "Accept" or r.direction != "ingress" or r.peer_cidr not in (ANY4, ANY6) or dead:
            continue
        protocols = {"ALL": ("TCP", "UDP")}.get(r.ip_protocol, (r.ip_protocol,))
        open_at = {f.port for f in decided.get(rule_id, []) if f.protocol in protocols and _internet(f.peer)}
        # a watched port fares as the flow port at or below it (nothing cuts the ports in between)
        exposed = tuple(w for w in WATCHED if max(p for p in FLOW_PORTS if p <= w) in open_at)
        ports = {f.code: f.ports for f in findings if f.rule_id == rule_id}
        if r.ip_protocol == "ALL" or r.port_range == "1/65535":
            assert ports == {Code.ALL_OPEN: exposed}, (r, ports, exposed)
        else:
            expected = {
                Code.SENSITIVE_OPEN: tuple(p for p in exposed if p in SENSITIVE_PORTS),
                Code.HIGH_RISK_OPEN: tuple(p for p in exposed if p in HIGH_RISK_PORTS),
            }
            assert ports == {k: v for k, v in expected.items() if v}, (r, ports, exposed)

    v6_rules = any(":" in r.peer_cidr for _, r in g.rules)
    leaks = [f for f in implicit_out if _internet(f.peer) and (v6_rules or ":" not in f.peer)]
    group_level = any(f.code is Code.INTERNAL_EGRESS and not f.rule_id for f in findings)
    assert group_level == (internal and bool(leaks))


# ---------------------------------------------------------------- reach of a port (CheckCommonPorts)


def test_reach_summarises_a_space() -> None:
    ssh_office = rule(port_range="22/22", peer_cidr="203.0.113.0/24")
    web = rule(port_range="80/80", peer_cidr=ANY4)
    block = rule(port_range="80/80", peer_cidr="198.51.100.0/24", policy="Drop")
    db = rule(port_range="3306/3306", peer_group_id="sg-app")
    target = TargetInput(
        [
            GroupInput(
                "sg-1", "normal", "Accept", [("ssh", ssh_office), ("web", web), ("block", block), ("db", db)]
            )
        ],
        members={"sg-1": ["192.168.0.5"], "sg-app": ["192.168.0.7"]},
    )
    compiled = compile_target(target)
    internet, private = INTERNET_SPACE[False], PRIVATE_SPACE[False]

    def at(port: int, space: list[tuple[int, int]]) -> tuple[str, str, str | None, str, list[str]]:
        r = reach(compiled, target, "intranet", "TCP", port, space, "192.168.0.5")
        accepting = [o.rule.rule_id if o.rule else str(o.reason) for o in r.accepting]
        return (
            r.typical.verdict,
            str(r.typical.reason),
            r.typical.rule and r.typical.rule.rule_id,
            r.exposure,
            accepting,
        )

    assert at(22, internet) == ("Drop", "ImplicitInboundDeny", None, "Partial", ["ssh"])
    assert at(80, internet) == ("Accept", "Rule", "web", "Partial", ["web"])
    assert at(443, internet) == ("Drop", "ImplicitInboundDeny", None, "None", [])
    assert at(3306, private) == ("Drop", "ImplicitInboundDeny", None, "Partial", ["IntraGroupAccept", "db"])
    everyone = TargetInput([GroupInput("sg-1", "normal", "Accept", [("web", web)])])
    full = reach(compile_target(everyone), everyone, "intranet", "TCP", 80, internet, "")
    assert (full.exposure, full.typical.verdict) == ("Full", "Accept")
    capped = reach(compiled, target, "intranet", "TCP", 3306, private, "192.168.0.5", limit=1)
    assert (capped.exposure, capped.typical.verdict) == ("Unknown", "Drop")
