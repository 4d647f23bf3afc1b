"""The reference evaluator: the obvious linear scan over every rule, the oracle for domain.engine.

Written from SPEC SG-2/3/5/6/7 without the engine's helpers: addresses through ``ipaddress``, ports by
splitting the text, every rule checked on every call. It shares only the input types (``TargetInput``,
``Flow``, ``Rule``) and reports plain values, so a bug in the engine's compiled form cannot hide here.
It lives beside the tests (DESIGN: the slow oracle belongs to the tests); bench/engine.py imports this
same module so that it times the very oracle the property test trusts.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from secplane.domain.engine import Flow, TargetInput
from secplane.domain.sg_rules import Rule

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Verdict:
    """What the reference decides: deciding and matched rules as ``(group id, rule id)``."""

    verdict: str
    reason: str
    rule: tuple[str, str] | None
    matched: tuple[tuple[str, str], ...]


class Reference:
    """Networks parsed once (fair to the oracle's speed); everything else per call, rule by rule."""

    def __init__(self, target: TargetInput) -> None:
        self.target = target
        self.networks: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}
        for group in target.groups:
            for _, rule in group.rules:
                for text in (rule.peer_cidr, rule.local_cidr):
                    if text:
                        self.networks[text] = ipaddress.ip_network(text, strict=False)
        for cidrs in target.prefix_lists.values():
            for text in cidrs:
                self.networks[text] = ipaddress.ip_network(text, strict=False)

    def decide(self, flow: Flow) -> Verdict:
        target = self.target
        peer = ipaddress.ip_address(flow.peer)
        local = ipaddress.ip_address(flow.local) if flow.local else None
        enterprise = target.groups[0].group_type == "enterprise"

        def is_member(group_id: str) -> bool:
            if flow.peer_groups is not None:
                return group_id in flow.peer_groups
            return any(ipaddress.ip_address(a) == peer for a in target.members.get(group_id, ()))

        def in_network(address: Address | None, text: str) -> bool:
            net = self.networks[text]
            return address is not None and address.version == net.version and address in net

        def peer_matches(rule: Rule) -> bool:
            if rule.peer_cidr:
                return in_network(peer, rule.peer_cidr)
            if rule.peer_group_id:
                return is_member(rule.peer_group_id)
            return any(in_network(peer, c) for c in target.prefix_lists.get(rule.peer_prefix_list_id, ()))

        def port_in(text: str, port: int) -> bool:
            low, high = (int(x) for x in text.split("/"))
            return (low, high) == (-1, -1) or low <= port <= high

        def source_port_ok(rule: Rule) -> bool:
            if not rule.source_port_range:
                return True
            low, high = (int(x) for x in rule.source_port_range.split("/"))
            if (low, high) == (-1, -1) or (low <= 1 and high >= 65535):
                return True
            return flow.source_port != 0 and low <= flow.source_port <= high

        def matches(rule: Rule, nic_type: str) -> bool:
            protocol = rule.ip_protocol.upper()
            return (
                rule.direction == flow.direction
                and rule.nic_type == nic_type
                and (protocol == "ALL" or protocol == flow.protocol)
                and (flow.protocol not in ("TCP", "UDP") or port_in(rule.port_range, flow.port))
                and source_port_ok(rule)
                and (not rule.local_cidr or in_network(local, rule.local_cidr))
                and peer_matches(rule)
            )

        found = []
        for gi, group in enumerate(target.groups):
            for ri, (rule_id, rule) in enumerate(group.rules):
                if matches(rule, flow.nic_type):
                    order = (rule.priority, 0 if rule.policy == "Drop" else 1, gi, ri)
                    found.append((order, (group.group_id, rule_id), rule.policy))
        found.sort()
        matched = tuple(ids for _, ids, _ in found)

        def result(verdict: str, reason: str) -> Verdict:
            return Verdict(verdict, reason, None, matched)

        if flow.reply_of_accepted:
            return result("Accept", "EstablishedSession")
        accepting = [
            g.group_id
            for g in target.groups
            if g.group_type == "normal" and g.inner_access_policy == "Accept"
        ]
        shares_accepting = any(is_member(g) for g in accepting)
        if flow.nic_type == "intranet" and shares_accepting:
            return result("Accept", "IntraGroupAccept")
        if found:
            _, ids, policy = found[0]
            return Verdict(policy, "Rule", ids, matched)

        if flow.direction == "ingress":
            verdict, reason = "Drop", "ImplicitInboundDeny"
        elif enterprise:
            verdict, reason = "Drop", "ImplicitOutboundDeny"
        else:
            verdict, reason = "Accept", "ImplicitOutboundAllow"
        if flow.nic_type == "internet":
            group_rule_would_match = any(
                rule.peer_group_id and not rule.peer_cidr and matches(rule, "intranet")
                for group in target.groups
                for _, rule in group.rules
            )
            if shares_accepting or group_rule_would_match:
                return result(verdict, "GroupAuthorizationNotOnInternet")
            return result(verdict, reason)
        isolating = [g.group_id for g in target.groups if g.group_id not in accepting]
        if any(is_member(g) for g in isolating):
            if enterprise:
                return result("Drop", "EnterpriseIsolation")
            if flow.direction == "ingress":
                return result("Drop", "IntraGroupDrop")
        return result(verdict, reason)
