# ruff: noqa: RUF001  (full-width colons and commas are the correct punctuation of Chinese sentences)
"""Short human sentences for risk findings, in English and Simplified Chinese: why it is a risk and what
to do (issue 4: the console shows them as they are; the API returns ``ReasonEn``/``ReasonZh`` and
``SuggestionEn``/``SuggestionZh``)."""

from __future__ import annotations

from secplane.domain.risk import HIGH_RISK_PORTS, INTERNAL_TAG, MAX_RULES, SENSITIVE_PORTS, Code, Finding
from secplane.domain.sg_rules import INGRESS, Rule

_NAMES = SENSITIVE_PORTS | HIGH_RISK_PORTS


def ports_text(ports: tuple[int, ...]) -> str:
    """``SSH 22, MySQL 3306``."""
    return ", ".join(f"{_NAMES.get(p, 'port')} {p}" for p in ports)


def _peer(rule: Rule) -> str:
    return rule.peer_cidr or rule.peer_group_id or rule.peer_prefix_list_id


def _rule_en(rule_id: str, rule: Rule) -> str:
    side = "from" if rule.direction == INGRESS else "to"
    return (
        f"rule {rule_id} ({rule.direction} {rule.ip_protocol} {rule.port_range} {side} {_peer(rule)}, "
        f"priority {rule.priority}, {rule.policy})"
    )


def _rule_zh(rule_id: str, rule: Rule) -> str:
    direction = "入方向" if rule.direction == INGRESS else "出方向"
    policy = "允许" if rule.policy == "Accept" else "拒绝"
    return (
        f"规则 {rule_id}（{direction} {rule.ip_protocol} {rule.port_range}，授权对象 {_peer(rule)}，"
        f"优先级 {rule.priority}，{policy}）"
    )


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def reason(f: Finding) -> tuple[str, str]:
    """``(English, Chinese)``: what is wrong."""
    ports = ports_text(f.ports)
    related = ", ".join(f.related)
    if f.code is Code.TOO_MANY_RULES:
        return (
            f"The security group has {f.count} rules (more than {MAX_RULES}): hard to review and easy to "
            "get wrong.",
            f"该安全组有 {f.count} 条规则（超过 {MAX_RULES} 条），难以审查，容易出错。",
        )
    if f.code is Code.INTERNAL_EGRESS and f.rule is None:
        return (
            f"The security group is marked internal (tag {INTERNAL_TAG}=true), but outbound traffic that no "
            "rule matches is allowed by default (basic security group): it can reach the internet.",
            f"该安全组标记为内部（标签 {INTERNAL_TAG}=true），但没有规则匹配的出方向流量默认放行"
            "（普通安全组），可以访问互联网。",
        )
    assert f.rule is not None, f"{f.code} is about a rule"
    en, zh = _rule_en(f.rule_id, f.rule), _rule_zh(f.rule_id, f.rule)
    if f.code is Code.ALL_OPEN:
        return (
            f"{_upper(en)} opens every port to the whole internet"
            + (f", including {ports}." if ports else "."),
            f"{zh}向整个互联网开放了全部端口" + (f"，包括 {ports}。" if ports else "。"),
        )
    if f.code is Code.SENSITIVE_OPEN:
        return (
            f"{_upper(en)} opens remote-administration or database ports to the whole internet: {ports}.",
            f"{zh}向整个互联网开放了远程管理或数据库端口：{ports}。",
        )
    if f.code is Code.HIGH_RISK_OPEN:
        return (
            f"{_upper(en)} opens high-risk ports to the whole internet: {ports}.",
            f"{zh}向整个互联网开放了高危端口：{ports}。",
        )
    if f.code is Code.WIDE_SOURCE:
        return (
            f"{_upper(en)} accepts a very wide source: a prefix shorter than /8 covers at least "
            "33 million addresses.",
            f"{zh}的授权对象范围过大：掩码短于 /8，覆盖至少 3355 万个地址。",
        )
    if f.code is Code.INTERNAL_EGRESS:
        return (
            f"The security group is marked internal (tag {INTERNAL_TAG}=true), but {en} lets all outbound "
            "traffic reach the internet.",
            f"该安全组标记为内部（标签 {INTERNAL_TAG}=true），但{zh}允许所有出方向流量访问互联网。",
        )
    if f.code is Code.REDUNDANT:
        return (
            f"{_upper(en)} is redundant: rule {related} matches the same traffic with the same policy "
            "and is evaluated first.",
            f"{zh}是冗余的：规则 {related} 匹配相同的流量、策略相同且先生效。",
        )
    return (
        f"{_upper(en)} can never decide anything: rules of the same group evaluated before it "
        f"({related}) cover all the traffic it matches.",
        f"{zh}永远不会生效：同一安全组中先生效的规则（{related}）覆盖了它匹配的全部流量。",
    )


_SUGGESTIONS: dict[Code, tuple[str, str]] = {
    Code.ALL_OPEN: (
        "Open only the ports the service needs, to the addresses that need them; remove or narrow this rule.",
        "仅向需要访问的地址开放业务所需的端口；删除或收紧此规则。",
    ),
    Code.SENSITIVE_OPEN: (
        "Allow these ports only from trusted addresses (office network, bastion host, VPN) or from "
        "security groups; reach databases over the private network.",
        "仅允许可信地址（办公网、堡垒机、VPN）或安全组访问这些端口；数据库请通过内网访问。",
    ),
    Code.HIGH_RISK_OPEN: (
        "Close these ports to the internet, or allow them only from trusted addresses.",
        "对互联网关闭这些端口，或仅允许可信地址访问。",
    ),
    Code.WIDE_SOURCE: (
        "Narrow the source to the networks that need access.",
        "将授权对象收紧为确实需要访问的网段。",
    ),
    Code.INTERNAL_EGRESS: (
        "Allow outbound traffic only to the destinations the workload needs, and add a lowest-priority "
        "rule that drops all protocols to 0.0.0.0/0 (and ::/0).",
        "仅允许访问业务所需的目的地址，并添加一条最低优先级、拒绝所有协议访问 0.0.0.0/0（及 ::/0）的规则。",
    ),
    Code.TOO_MANY_RULES: (
        "Split the group by role into several groups, or gather addresses in prefix lists.",
        "按角色拆分为多个安全组，或使用前缀列表归并地址。",
    ),
    Code.SHADOWED: (
        "Delete the rule, or change its priority if it was meant to take effect.",
        "删除该规则；如果它本应生效，请调整其优先级。",
    ),
    Code.REDUNDANT: ("Delete the redundant rule.", "删除冗余的规则。"),
}


def suggestion(f: Finding) -> tuple[str, str]:
    """``(English, Chinese)``: what to do about it."""
    return _SUGGESTIONS[f.code]
