"""The decision engine: the guide's examples, the implicit reasons, and the compiled form against the
reference linear scan (tests/engine_reference.py) on generated rule sets and flows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secplane.domain.engine import (
    Explanation,
    Flow,
    GroupInput,
    MatchedRule,
    Reason,
    TargetInput,
    compile_target,
    parse_address,
    parse_network,
)
from secplane.domain.engine_text import explain
from secplane.domain.sg_rules import Rule
from tests.engine_reference import Reference, Verdict


def rule(direction: str = "ingress", **fields: Any) -> Rule:
    values: dict[str, Any] = {
        "policy": "Accept", "priority": 1, "ip_protocol": "TCP", "port_range": "22/22",
        "source_port_range": "", "nic_type": "intranet",
    }  # fmt: skip
    values.update(fields)
    return Rule(direction=direction, **values)


def group(group_id: str, *rules: tuple[str, Rule], kind: str = "normal", inner: str = "Accept") -> GroupInput:
    return GroupInput(group_id, kind, inner if kind == "normal" else "Drop", rules)


def check(target: TargetInput, flow: Flow) -> Explanation:
    """The compiled answer, after asserting that the reference agrees with it in full."""
    compiled = compile_target(target)
    got = compiled.explain(flow)
    outcome = compiled.decide(flow)
    assert (outcome.verdict, outcome.reason, outcome.rule) == (got.verdict, got.reason, got.rule)
    assert _project(got) == Reference(target).decide(flow)
    return got


def _project(e: Explanation) -> Verdict:
    return Verdict(
        e.verdict,
        str(e.reason),
        (e.rule.group_id, e.rule.rule_id) if e.rule else None,
        tuple((m.group_id, m.rule_id) for m in e.matched),
    )


# ---------------------------------------------------------------- the guide's examples (issue 4 acceptance)


def test_outbound_only_to_two_sites() -> None:
    sites = ("47.100.1.10", "47.100.2.20")
    web = group(
        "sg-web",
        ("sgr-drop", rule("egress", policy="Drop", priority=2, ip_protocol="ALL", port_range="-1/-1",
                          peer_cidr="0.0.0.0/0", description="nothing else")),
        *(
            (f"sgr-{site}-{port}", rule("egress", port_range=f"{port}/{port}", peer_cidr=site))
            for site in sites for port in (80, 443)
        ),
    )  # fmt: skip
    target = TargetInput([web])
    to_first = check(target, Flow("egress", "TCP", sites[0], 80))
    assert (to_first.verdict, to_first.reason) == ("Accept", Reason.RULE)
    assert to_first.rule is not None and (to_first.rule.rule_id, to_first.rule.priority) == (
        f"sgr-{sites[0]}-80",
        1,
    )
    assert [m.rule_id for m in to_first.matched] == [f"sgr-{sites[0]}-80", "sgr-drop"]
    elsewhere = check(target, Flow("egress", "TCP", "8.8.8.8", 80))
    assert (elsewhere.verdict, elsewhere.reason) == ("Drop", Reason.RULE)
    assert elsewhere.rule is not None and (elsewhere.rule.rule_id, elsewhere.rule.priority) == ("sgr-drop", 2)
    assert elsewhere.rule.description == "nothing else"
    # the priority-2 drop covers every protocol and port, not the IPv6 internet
    assert check(target, Flow("egress", "UDP", sites[0], 53)).rule.rule_id == "sgr-drop"  # type: ignore[union-attr]
    v6 = check(target, Flow("egress", "TCP", "2001:db8::1", 80))
    assert (v6.verdict, v6.reason) == ("Accept", Reason.IMPLICIT_OUTBOUND_ALLOW)


def test_accept_and_drop_on_the_same_match_and_priority_drop_wins() -> None:
    for first, second in (("Accept", "Drop"), ("Drop", "Accept")):
        target = TargetInput(
            [
                group("sg-1", ("sgr-1", rule(policy=first, peer_cidr="10.0.0.0/8"))),
                group("sg-2", ("sgr-2", rule(policy=second, peer_cidr="10.0.0.0/8"))),
            ]
        )
        got = check(target, Flow("ingress", "TCP", "10.1.1.1", 22))
        assert (got.verdict, got.rule.policy) == ("Drop", "Drop")  # type: ignore[union-attr]
        assert len(got.matched) == 2 and got.matched[0].policy == "Drop"


def test_smaller_priority_number_wins_across_groups() -> None:
    target = TargetInput(
        [
            group("sg-1", ("sgr-drop", rule(policy="Drop", priority=5, peer_cidr="0.0.0.0/0"))),
            group("sg-2", ("sgr-accept", rule(priority=4, peer_cidr="10.0.0.0/8"))),
        ]
    )
    assert check(target, Flow("ingress", "TCP", "10.0.0.1", 22)).rule.rule_id == "sgr-accept"  # type: ignore[union-attr]
    assert check(target, Flow("ingress", "TCP", "11.0.0.1", 22)).rule.rule_id == "sgr-drop"  # type: ignore[union-attr]


def test_normal_group_without_rules_lets_members_talk_and_drops_inbound_from_outside() -> None:
    target = TargetInput([group("sg-1")], members={"sg-1": ["192.168.1.10", "192.168.1.11"]})
    for direction in ("ingress", "egress"):
        for protocol, port in (("TCP", 3306), ("UDP", 53), ("ICMP", 0), ("GRE", 0), ("ALL", 0)):
            got = check(target, Flow(direction, protocol, "192.168.1.11", port))
            assert (got.verdict, got.reason) == ("Accept", Reason.INTRA_GROUP_ACCEPT)
    outside = check(target, Flow("ingress", "TCP", "192.168.1.12", 22))
    assert (outside.verdict, outside.reason) == ("Drop", Reason.IMPLICIT_INBOUND_DENY)
    out = check(target, Flow("egress", "TCP", "192.168.1.12", 22))
    assert (out.verdict, out.reason) == ("Accept", Reason.IMPLICIT_OUTBOUND_ALLOW)


def test_intra_group_accept_outranks_a_drop_rule() -> None:
    drop_all = rule(policy="Drop", ip_protocol="ALL", port_range="-1/-1", peer_cidr="0.0.0.0/0")
    target = TargetInput([group("sg-1", ("sgr-1", drop_all))], members={"sg-1": ["10.0.0.2"]})
    member = check(target, Flow("ingress", "TCP", "10.0.0.2", 22))
    assert (member.verdict, member.reason) == ("Accept", Reason.INTRA_GROUP_ACCEPT)
    assert [m.rule_id for m in member.matched] == ["sgr-1"]  # still reported as matching
    assert check(target, Flow("ingress", "TCP", "10.0.0.3", 22)).verdict == "Drop"


def test_enterprise_group_isolates_members_and_denies_both_ways() -> None:
    target = TargetInput([group("sg-e", kind="enterprise")], members={"sg-e": ["10.0.0.2", "10.0.0.3"]})
    for direction in ("ingress", "egress"):
        got = check(target, Flow(direction, "TCP", "10.0.0.3", 22))
        assert (got.verdict, got.reason) == ("Drop", Reason.ENTERPRISE_ISOLATION)
    assert check(target, Flow("egress", "TCP", "1.1.1.1", 443)).reason == Reason.IMPLICIT_OUTBOUND_DENY
    assert check(target, Flow("ingress", "TCP", "1.1.1.1", 443)).reason == Reason.IMPLICIT_INBOUND_DENY
    allowed = TargetInput(
        [group("sg-e", ("sgr-1", rule(peer_cidr="10.0.0.0/24")), kind="enterprise")],
        members={"sg-e": ["10.0.0.2", "10.0.0.3"]},
    )
    assert check(allowed, Flow("ingress", "TCP", "10.0.0.3", 22)).verdict == "Accept"


def test_inner_access_policy_drop_then_needs_a_rule() -> None:
    members = {"sg-1": ["10.0.0.2", "10.0.0.3"]}
    isolated = TargetInput([group("sg-1", inner="Drop")], members=members)
    got = check(isolated, Flow("ingress", "TCP", "10.0.0.3", 22))
    assert (got.verdict, got.reason) == ("Drop", Reason.INTRA_GROUP_DROP)
    assert check(isolated, Flow("egress", "TCP", "10.0.0.3", 22)).reason == Reason.IMPLICIT_OUTBOUND_ALLOW
    by_rule = TargetInput(
        [group("sg-1", ("sgr-1", rule(peer_group_id="sg-1")), inner="Drop")], members=members
    )
    allowed = check(by_rule, Flow("ingress", "TCP", "10.0.0.3", 22))
    assert (allowed.verdict, allowed.reason, allowed.rule.rule_id) == ("Accept", Reason.RULE, "sgr-1")  # type: ignore[union-attr]
    assert check(by_rule, Flow("ingress", "TCP", "10.0.0.3", 23)).verdict == "Drop"


def test_group_authorization_does_not_apply_on_the_internet_nic_of_a_classic_instance() -> None:
    classic = TargetInput(
        [group("sg-c", ("sgr-1", rule(port_range="22/22", peer_group_id="sg-admin")))],
        members={"sg-admin": ["10.100.0.7"], "sg-c": ["10.100.0.8"]},
    )
    intranet = check(classic, Flow("ingress", "TCP", "10.100.0.7", 22))
    assert (intranet.verdict, intranet.reason) == ("Accept", Reason.RULE)
    internet = check(classic, Flow("ingress", "TCP", "10.100.0.7", 22, nic_type="internet"))
    assert (internet.verdict, internet.reason, internet.matched) == ("Drop", Reason.INTERNET_NIC, ())
    # the intra-group policy is private-network only too
    peer = check(classic, Flow("ingress", "TCP", "10.100.0.8", 22, nic_type="internet"))
    assert (peer.verdict, peer.reason) == ("Drop", Reason.INTERNET_NIC)
    named = Flow("egress", "TCP", "47.0.0.1", 80, nic_type="internet", peer_groups=frozenset({"sg-c"}))
    assert check(classic, named).reason == Reason.INTERNET_NIC
    internet_rule = TargetInput(
        [group("sg-c", ("sgr-2", rule(nic_type="internet", peer_cidr="0.0.0.0/0")))],
    )
    assert (
        check(internet_rule, Flow("ingress", "TCP", "47.0.0.1", 22, nic_type="internet")).verdict == "Accept"
    )
    assert check(internet_rule, Flow("ingress", "TCP", "47.0.0.1", 22)).verdict == "Drop"


def test_reply_of_an_accepted_connection_passes() -> None:
    target = TargetInput([group("sg-1", ("sgr-1", rule(policy="Drop", peer_cidr="0.0.0.0/0")))])
    got = check(target, Flow("ingress", "TCP", "1.2.3.4", 22, reply_of_accepted=True))
    assert (got.verdict, got.reason, [m.rule_id for m in got.matched]) == (
        "Accept",
        Reason.ESTABLISHED,
        ["sgr-1"],
    )


def test_five_tuple_rules_match_source_port_and_local_address() -> None:
    five = rule(
        port_range="80/80", source_port_range="1024/65535", peer_cidr="10.0.0.0/8", local_cidr="10.9.9.9"
    )
    target = TargetInput([group("sg-1", ("sgr-1", five))])
    hit = Flow("ingress", "TCP", "10.0.0.1", 80, source_port=40000, local="10.9.9.9")
    assert check(target, hit).verdict == "Accept"
    for miss in (
        Flow("ingress", "TCP", "10.0.0.1", 80, source_port=1023, local="10.9.9.9"),
        Flow("ingress", "TCP", "10.0.0.1", 80, local="10.9.9.9"),  # unknown source port
        Flow("ingress", "TCP", "10.0.0.1", 80, source_port=40000, local="10.9.9.8"),
        Flow("ingress", "TCP", "10.0.0.1", 80, source_port=40000),  # unknown local address
    ):
        assert check(target, miss).verdict == "Drop"


def test_protocols_match_themselves_or_all() -> None:
    rules = [
        ("sgr-icmp", rule(ip_protocol="ICMP", port_range="-1/-1", peer_cidr="0.0.0.0/0")),
        ("sgr-icmp6", rule(ip_protocol="ICMPv6", port_range="-1/-1", peer_cidr="::/0")),
        ("sgr-gre", rule(ip_protocol="GRE", port_range="-1/-1", peer_cidr="0.0.0.0/0")),
    ]
    target = TargetInput([group("sg-1", *rules)])
    assert check(target, Flow("ingress", "ICMP", "1.1.1.1")).rule.rule_id == "sgr-icmp"  # type: ignore[union-attr]
    assert check(target, Flow("ingress", "ICMPv6", "2001:db8::1")).rule.rule_id == "sgr-icmp6"  # type: ignore[union-attr]
    assert check(target, Flow("ingress", "GRE", "1.1.1.1")).rule.rule_id == "sgr-gre"  # type: ignore[union-attr]
    assert check(target, Flow("ingress", "TCP", "1.1.1.1", 22)).verdict == "Drop"
    assert check(target, Flow("ingress", "ALL", "1.1.1.1")).verdict == "Drop"  # e.g. SCTP: no rule names it
    everything = TargetInput(
        [group("sg-1", ("sgr-all", rule(ip_protocol="ALL", port_range="-1/-1", peer_cidr="0.0.0.0/0")))]
    )
    for protocol, port in (("TCP", 65535), ("UDP", 1), ("ICMP", 0), ("GRE", 0), ("ALL", 0)):
        assert check(everything, Flow("ingress", protocol, "1.1.1.1", port)).verdict == "Accept"


def test_prefix_list_applies_every_entry_of_the_flow_family() -> None:
    target = TargetInput(
        [
            group(
                "sg-1",
                ("sgr-1", rule(peer_prefix_list_id="pl-1")),
                ("sgr-2", rule(peer_prefix_list_id="pl-gone")),
            )
        ],
        prefix_lists={"pl-1": ["10.0.0.0/24", "10.0.0.0/16", "192.168.7.7/32", "2001:db8::/32"]},
    )
    for peer in ("10.0.3.3", "192.168.7.7", "2001:db8::9"):
        assert check(target, Flow("ingress", "TCP", peer, 22)).verdict == "Accept"
    for peer in ("10.1.0.0", "192.168.7.8", "2001:db9::"):
        assert check(target, Flow("ingress", "TCP", peer, 22)).verdict == "Drop"


def test_peer_groups_given_by_the_caller_replace_the_address_lookup() -> None:
    target = TargetInput(
        [group("sg-1", ("sgr-1", rule(peer_group_id="sg-web")), inner="Drop"), group("sg-2")],
        members={"sg-web": ["10.0.0.5"]},
    )
    named = Flow("ingress", "TCP", "10.0.0.99", 22, peer_groups=frozenset({"sg-web"}))
    assert check(target, named).verdict == "Accept"
    not_named = Flow("ingress", "TCP", "10.0.0.5", 22, peer_groups=frozenset({"sg-other"}))
    assert check(target, not_named).verdict == "Drop"
    same_group = Flow("ingress", "UDP", "10.0.0.99", 53, peer_groups=frozenset({"sg-2"}))
    assert check(target, same_group).reason == Reason.INTRA_GROUP_ACCEPT


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"direction": "inbound"}, "direction"),
        ({"protocol": "SCTP"}, "protocol"),
        ({"port": 0}, "destination port"),
        ({"port": 65536}, "destination port"),
        ({"source_port": 70000}, "source port"),
        ({"peer": "10.0.0.300"}, "not an IP address"),
        ({"peer": "fe80::1%eth0"}, "not an IP address"),
        ({"local": "2001:db8::1"}, "one family"),
        ({"nic_type": "public"}, "nic_type"),
    ],
)
def test_flow_refuses_what_is_not_a_flow(kwargs: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"direction": "ingress", "protocol": "TCP", "peer": "10.0.0.1", "port": 22}
    values.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Flow(**values)


def test_flow_of_an_unported_protocol_ignores_ports() -> None:
    flow = Flow("ingress", "icmp", "10.0.0.1", 22, source_port=5)
    assert (flow.protocol, flow.port, flow.source_port) == ("ICMP", 0, 0)


def test_compile_refuses_mixed_group_types_and_empty_sets() -> None:
    with pytest.raises(ValueError, match="mix"):
        compile_target(TargetInput([group("sg-1"), group("sg-2", kind="enterprise")]))
    with pytest.raises(ValueError, match=r"1\.\.16"):
        compile_target(TargetInput([]))


def test_address_and_network_parsing() -> None:
    assert parse_address("10.0.0.1") == (0x0A000001, False)
    assert parse_address("::1") == (1, True)
    assert parse_network("10.1.2.3/8") == (0x0A000000, 0x0AFFFFFF, False)
    assert parse_network("10.1.2.3") == (0x0A010203, 0x0A010203, False)
    assert parse_network("::/0") == (0, (1 << 128) - 1, True)
    for bad in ("10.0.0.0/33", "10.0.0.0/+8", "10.0.0.0/", "10.0.0", "::/129"):
        with pytest.raises(ValueError):
            parse_network(bad)


def test_every_reason_has_an_english_and_a_chinese_sentence() -> None:
    for reason in Reason:
        if reason is Reason.RULE:
            continue
        for verdict in ("Accept", "Drop"):
            en, zh = explain(verdict, reason, None)
            assert en.endswith(".") and zh.endswith("。") and en != zh
    matched = MatchedRule("sg-1", "sgr-9", 7, "Drop", "no telnet", rule(policy="Drop"))
    en, zh = explain("Drop", Reason.RULE, matched)
    assert en == "Dropped by rule sgr-9 of security group sg-1 (priority 7, Drop): no telnet."
    assert zh == "拒绝：安全组 sg-1 的规则 sgr-9（优先级 7，拒绝）：no telnet。"  # noqa: RUF001
    internet = explain("Accept", Reason.INTERNET_NIC, None)
    assert internet[0].startswith("Accepted by default") and internet[1].startswith("默认放行")


# ---------------------------------------------------------------- compiled form == reference (property)

V4_NETS = ["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3", "192.168.0.0/16",
           "192.168.1.128/25", "203.0.113.7", "128.0.0.0/1", "255.255.255.255",
           "255.255.255.254"]  # fmt: skip
V6_NETS = [
    "::/0",
    "2001:db8::/32",
    "2001:db8:1::/48",
    "2001:db8:1::5",
    "fd00::/8",
    "fd00::1",
    "::",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
]
V4_ADDRS = ["10.1.2.3", "10.1.2.4", "10.1.255.255", "10.2.0.0", "9.255.255.255", "192.168.1.127",
            "192.168.1.128", "192.168.1.255", "203.0.113.7", "0.0.0.0", "255.255.255.255", "127.255.255.255",
            "128.0.0.0"]  # fmt: skip
V6_ADDRS = ["2001:db8:1::5", "2001:db8:1::6", "2001:db9::1", "fd00::1", "fe80::1", "::", "ffff::1",
            "2001:db8:ffff::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]  # fmt: skip
GROUPS = ["sg-a", "sg-b", "sg-c", "sg-d", "sg-e", "sg-x", "sg-y"]
LISTS = ["pl-1", "pl-2", "pl-3"]  # pl-3 is never defined: a rule naming it matches nothing
PORT_RANGES = ["1/65535", "22/22", "80/80", "80/443", "443/443", "1/1024", "1024/65535", "8080/8090",
               "65535/65535", "1/1", "1/65534"]  # fmt: skip
SOURCE_RANGES = ["", "", "", "1/1023", "1024/65535", "1/65535", "53/53"]
PORTS = [1, 21, 22, 23, 79, 80, 81, 443, 444, 1023, 1024, 1025, 8080, 8090, 8091, 65535]
PROTOCOLS = ["TCP", "UDP", "ICMP", "ICMPv6", "GRE", "ALL"]


class Choices:
    """Decode one drawn integer into a sequence of choices: one hypothesis draw per rule or flow keeps
    5,000 examples fast, and shrinking the integer towards 0 still picks the first (simplest) options."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def pick(self, options: Sequence[T]) -> T:
        self.seed, index = divmod(self.seed, len(options))
        return options[index]


T = TypeVar("T")
SEED = st.integers(0, 2**64 - 1)


def decode_rule(seed: int) -> Rule:
    c = Choices(seed)
    protocol = c.pick(PROTOCOLS)
    ported = protocol in ("TCP", "UDP")
    v6 = protocol == "ICMPv6" or (protocol != "ICMP" and c.pick((False, True)))
    nets = V6_NETS if v6 else V4_NETS
    kind = c.pick(("cidr", "cidr", "group", "list"))
    peer = {
        "cidr": {"peer_cidr": c.pick(nets)},
        "group": {"peer_group_id": c.pick(GROUPS)},
        "list": {"peer_prefix_list_id": c.pick(LISTS)},
    }[kind]
    local = c.pick(["", "", "", *nets])
    return Rule(
        direction=c.pick(("ingress", "egress")),
        policy=c.pick(("Accept", "Drop")),
        priority=c.pick((1, 1, 2, 3, 50, 100)),
        ip_protocol=protocol,
        port_range=c.pick(PORT_RANGES) if ported else "-1/-1",
        source_port_range=c.pick(SOURCE_RANGES) if ported else "",
        nic_type="intranet" if kind == "group" else c.pick(("intranet", "internet")),
        local_cidr="" if local == peer.get("peer_cidr") else local,
        **peer,
    )


def decode_flow(seed: int) -> Flow:
    c = Choices(seed)
    pool = c.pick((V4_ADDRS, V6_ADDRS))
    named = c.pick(
        (None, None, frozenset(), frozenset({"sg-a"}), frozenset({"sg-b", "sg-x"}), frozenset(GROUPS))
    )
    return Flow(
        direction=c.pick(("ingress", "egress")),
        protocol=c.pick(PROTOCOLS),
        peer=c.pick(pool),
        port=c.pick(PORTS),
        source_port=c.pick((0, 0, 53, 1023, 1024, 40000)),
        nic_type=c.pick(("intranet", "intranet", "internet")),
        local=c.pick(["", *pool]),
        peer_groups=named,
        reply_of_accepted=c.pick(range(20)) == 0,
    )


def decode_target(seeds: list[list[int]], seed: int) -> TargetInput:
    """Groups from ``seeds`` (one list of rule seeds per group); type, policies, members and prefix
    lists from ``seed``."""
    c = Choices(seed)
    kind = c.pick(("normal", "normal", "enterprise"))
    groups = []
    for n, (group_id, rule_seeds) in enumerate(zip(GROUPS[:5], seeds, strict=False)):
        inner = c.pick(("Accept", "Drop")) if kind == "normal" else "Drop"
        items = [(f"sgr-{n}-{i}", decode_rule(s)) for i, s in enumerate(rule_seeds)]
        groups.append(GroupInput(group_id, kind, inner, items))
    addresses = V4_ADDRS + V6_ADDRS
    members = {g: [c.pick(addresses) for _ in range(c.pick(range(5)))] for g in GROUPS if c.pick((0, 1))}
    lists = {
        "pl-1": [c.pick(V4_NETS) for _ in range(c.pick(range(5)))],
        "pl-2": [c.pick(V6_NETS + V4_NETS) for _ in range(c.pick(range(5)))],
    }
    return TargetInput(groups, lists, members)


GENERATED = settings(
    max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@GENERATED
@given(
    st.lists(st.lists(SEED, max_size=8), min_size=1, max_size=5),
    SEED,
    st.lists(SEED, min_size=1, max_size=8),
)
def test_compiled_form_agrees_with_the_reference(
    rule_seeds: list[list[int]], seed: int, flow_seeds: list[int]
) -> None:
    target = decode_target(rule_seeds, seed)
    cases = [decode_flow(s) for s in flow_seeds]
    compiled = compile_target(target)
    reference = Reference(target)
    batch = compiled.decide_many(cases)
    for flow, outcome in zip(cases, batch, strict=True):
        explained = compiled.explain(flow)
        assert (outcome.verdict, outcome.reason, outcome.rule) == (
            explained.verdict,
            explained.reason,
            explained.rule,
        )
        assert _project(explained) == reference.decide(flow), flow
