# ruff: noqa: RUF001  (full-width colons and commas are the correct punctuation of Chinese sentences)
"""Short human explanations of the engine's verdicts, in English and Simplified Chinese (issue 4: the
console shows them as they are, and the API returns both as ``ReasonEn`` / ``ReasonZh``)."""

from __future__ import annotations

from secplane.domain.engine import ACCEPT, MatchedRule, Reason

_IMPLICIT: dict[Reason, tuple[str, str]] = {
    Reason.ESTABLISHED: (
        "Accepted: reply traffic of a connection that was accepted (security groups are stateful).",
        "放行：已放行连接的回包（安全组是有状态的）。",
    ),
    Reason.INTRA_GROUP_ACCEPT: (
        "Accepted: the peer is in the same security group, whose intra-group policy (InnerAccessPolicy) "
        "is Accept; this outranks the rules.",
        "放行：对端与本实例属于同一安全组，且组内互通策略（InnerAccessPolicy）为 Accept，优先于安全组规则。",
    ),
    Reason.INTRA_GROUP_DROP: (
        "Dropped: the peer is in the same security group, whose intra-group policy is Drop, and no rule "
        "allows this traffic.",
        "拒绝：对端与本实例属于同一安全组，组内互通策略为 Drop，且没有规则允许该流量。",
    ),
    Reason.ENTERPRISE_ISOLATION: (
        "Dropped: members of an advanced (enterprise) security group are isolated from each other, and no "
        "rule allows this traffic.",
        "拒绝：企业级安全组内的实例之间默认隔离，且没有规则允许该流量。",
    ),
    Reason.IMPLICIT_INBOUND_DENY: (
        "Dropped: no rule matches, and inbound traffic is denied by default.",
        "拒绝：没有匹配的规则，入方向流量默认拒绝。",
    ),
    Reason.IMPLICIT_OUTBOUND_ALLOW: (
        "Accepted: no rule matches, and outbound traffic of a basic (normal) security group is allowed by "
        "default.",
        "放行：没有匹配的规则，普通安全组出方向流量默认允许。",
    ),
    Reason.IMPLICIT_OUTBOUND_DENY: (
        "Dropped: no rule matches, and outbound traffic of an advanced (enterprise) security group is "
        "denied by default.",
        "拒绝：没有匹配的规则，企业级安全组出方向流量默认拒绝。",
    ),
}

_INTERNET = (
    "{en}: no rule of the internet NIC matches. Security-group authorization (rules that name a "
    "security group, and the intra-group policy) applies to private-network traffic only.",
    "{zh}：公网网卡没有匹配的规则。安全组授权（授权对象为安全组的规则，以及组内互通策略）仅对内网流量生效。",
)


def explain(verdict: str, reason: Reason, rule: MatchedRule | None) -> tuple[str, str]:
    """``(English, Chinese)`` sentence for a verdict and its reason."""
    accepted = verdict == ACCEPT
    if reason is Reason.RULE and rule is not None:
        note_en = f": {rule.description}" if rule.description else ""
        note_zh = f"：{rule.description}" if rule.description else ""
        return (
            f"{'Accepted' if accepted else 'Dropped'} by rule {rule.rule_id} of security group "
            f"{rule.group_id} (priority {rule.priority}, {rule.policy}){note_en}.",
            f"{'放行' if accepted else '拒绝'}：安全组 {rule.group_id} 的规则 {rule.rule_id}"
            f"（优先级 {rule.priority}，{'允许' if rule.policy == ACCEPT else '拒绝'}）{note_zh}。",
        )
    if reason is Reason.INTERNET_NIC:
        en = "Accepted by default" if accepted else "Dropped by default"
        zh = "默认放行" if accepted else "默认拒绝"
        return _INTERNET[0].format(en=en), _INTERNET[1].format(zh=zh)
    return _IMPLICIT[reason]
