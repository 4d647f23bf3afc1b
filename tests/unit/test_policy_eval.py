"""Policy evaluation by example: wildcards, case rules, every condition operator (with the absent-key
and multi-value rules), IPv6, dates, deny-wins across policies, explain's account, trust policies.
Every identity-policy answer is also checked against the reference evaluator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from secplane.domain.policy import (
    CompiledPolicies,
    Decision,
    PolicyRef,
    RequestContext,
    StatementRef,
    TrustCaller,
    parse_policy,
    trust_allows,
)
from tests import policy_reference as reference

REF = PolicyRef("Custom", "test", "v1")
SG = "acs:ecs:cn-hangzhou:1234567890123456:securitygroup/sg-abc"


def statement(
    effect: str = "Allow", action: Any = "ecs:*", resource: Any = "*", **more: Any
) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **more}


def compiled_of(*policies: list[dict[str, Any]]) -> tuple[CompiledPolicies, list[Any]]:
    pairs = [
        (PolicyRef("Custom", f"p{i}", "v1"), parse_policy(json.dumps({"Version": "1", "Statement": s})))
        for i, s in enumerate(policies)
    ]
    return CompiledPolicies(pairs), pairs


def decide(
    statements: list[dict[str, Any]],
    action: str = "ecs:DescribeInstances",
    resource: str = SG,
    **context: Any,
) -> str:
    """evaluate(), after checking that explain() and the reference say the same."""
    values = {k.replace("__", ":").replace("_", "/"): v for k, v in context.items()}
    return decide_in([statements], action, resource, values)


def decide_in(
    policies: list[list[dict[str, Any]]], action: str, resource: str, values: dict[str, Any]
) -> str:
    compiled, pairs = compiled_of(*policies)
    ctx = RequestContext(values)
    effect = compiled.evaluate(action, resource, ctx)
    assert compiled.explain(action, resource, ctx).effect == effect
    assert reference.evaluate(pairs, action, resource, values).effect == effect
    return effect


def when(operator: str, key: str, value: Any, **context: Any) -> str:
    """The effect of one Allow statement with one condition, for a context."""
    return decide_in([[statement(Condition={operator: {key: value}})]], "ecs:DescribeInstances", SG, context)


# ---------------------------------------------------------------- actions and resources


def test_default_deny() -> None:
    assert decide([statement(action="vpc:*")]) == "ImplicitDeny"
    compiled, _ = compiled_of()
    assert compiled.evaluate("ecs:DescribeInstances", SG, RequestContext()) == "ImplicitDeny"
    assert len(compiled) == 0


@pytest.mark.parametrize(
    ("pattern", "action", "effect"),
    [
        ("*", "ecs:DescribeInstances", "Allow"),
        ("ecs:*", "ecs:DescribeInstances", "Allow"),
        ("ecs:Describe*", "ecs:DescribeInstances", "Allow"),
        ("ecs:Describe*", "ecs:Describe", "Allow"),  # * also matches the empty run
        ("ecs:Describe*", "ecs:CreateInstance", "ImplicitDeny"),
        ("ecs:Describe?nstances", "ecs:DescribeInstances", "Allow"),
        ("ecs:Describe?Instances", "ecs:DescribeInstances", "ImplicitDeny"),  # ? is exactly one character
        ("ecs:*Instances", "ecs:DescribeInstances", "Allow"),
        ("*:Describe*", "vpc:DescribeVpcs", "Allow"),
        ("ecs:describeinstances", "ECS:DescribeInstances", "Allow"),  # actions: case-insensitive
        ("ECS:DESCRIBE*", "ecs:describeinstances", "Allow"),
        ("ecs:DescribeInstances", "ecs:DescribeInstancesX", "ImplicitDeny"),  # whole-string match
        ("ecs:Describe", "vpc:Describe", "ImplicitDeny"),
    ],
)
def test_action_wildcards_and_case(pattern: str, action: str, effect: str) -> None:
    assert decide([statement(action=pattern)], action=action) == effect


def test_not_action_covers_everything_else() -> None:
    rules = [{"Effect": "Allow", "NotAction": ["ram:*", "sts:AssumeRole"], "Resource": "*"}]
    assert decide(rules, action="ecs:DeleteInstance") == "Allow"
    assert decide(rules, action="RAM:CreateUser") == "ImplicitDeny"
    assert decide(rules, action="sts:AssumeRole") == "ImplicitDeny"
    assert decide(rules, action="sts:GetCallerIdentity") == "Allow"
    assert decide([{"Effect": "Allow", "NotAction": "*", "Resource": "*"}]) == "ImplicitDeny"


@pytest.mark.parametrize(
    ("pattern", "resource", "effect"),
    [
        ("*", SG, "Allow"),
        ("acs:ecs:*:*:securitygroup/*", SG, "Allow"),
        ("acs:ecs:cn-hangzhou:1234567890123456:securitygroup/sg-abc", SG, "Allow"),
        ("acs:ecs:cn-hangzhou:*:securitygroup/sg-ab?", SG, "Allow"),
        ("acs:ecs:*:*:instance/*", SG, "ImplicitDeny"),
        ("acs:ecs:*:*:securitygroup/SG-*", SG, "ImplicitDeny"),  # resources: case-sensitive
        ("acs:ECS:*", SG, "ImplicitDeny"),
        ("acs:ecs:*:*:securitygroup/sg-abc/x", SG, "ImplicitDeny"),
        ("acs:oss:*:*:bucket/a[1].txt", "acs:oss:*:*:bucket/a[1].txt", "Allow"),  # [ ] . are literal
        ("acs:oss:*:*:bucket/a[1].txt", "acs:oss:*:*:bucket/a1.txt", "ImplicitDeny"),
        ("acs:oss:*:*:bucket/a.txt", "acs:oss:*:*:bucket/abtxt", "ImplicitDeny"),
        ("acs:oss:*:*:bucket/a\\*", "acs:oss:*:*:bucket/a\\zzz", "Allow"),  # a backslash is literal too
    ],
)
def test_resource_wildcards_and_case(pattern: str, resource: str, effect: str) -> None:
    assert decide([statement(resource=pattern)], resource=resource) == effect


def test_any_listed_action_or_resource() -> None:
    rules = [
        statement(
            action=["vpc:*", "ecs:Describe*"],
            resource=["acs:ecs:*:*:instance/*", "acs:ecs:*:*:securitygroup/*"],
        )
    ]
    assert decide(rules) == "Allow"
    assert decide(rules, action="ecs:DeleteSecurityGroup") == "ImplicitDeny"
    assert decide(rules, resource="acs:ecs:cn-hangzhou:1:keypair/k") == "ImplicitDeny"


def test_pathological_wildcards_stay_fast() -> None:
    """A policy is user input: a many-star pattern must not backtrack exponentially (this would take
    hours with a naive ``*`` → ``.*`` translation)."""
    pattern = "acs:" + "a*" * 30 + "b"
    assert decide([statement(resource=pattern)], resource="acs:" + "a" * 3000) == "ImplicitDeny"
    assert decide([statement(resource=pattern)], resource="acs:" + "a" * 3000 + "b") == "Allow"


# ---------------------------------------------------------------- deny wins


def test_explicit_deny_wins_within_and_across_policies() -> None:
    allow_all = [statement(action="*")]
    deny_delete = [statement("Deny", action="ecs:Delete*")]
    assert decide_in([allow_all, deny_delete], "ecs:DeleteInstance", SG, {}) == "ExplicitDeny"
    assert decide_in([deny_delete, allow_all], "ecs:DeleteInstance", SG, {}) == "ExplicitDeny"
    assert decide_in([allow_all, deny_delete], "ecs:DescribeInstances", SG, {}) == "Allow"
    assert decide_in([deny_delete], "ecs:DescribeInstances", SG, {}) == "ImplicitDeny"
    assert decide([*allow_all, *deny_delete], action="ecs:DeleteInstance") == "ExplicitDeny"


def test_the_documented_source_ip_policy() -> None:
    rules = [
        statement(),
        statement("Deny", Condition={"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}),
    ]
    assert decide(rules, acs__SourceIp="10.20.30.40") == "Allow"
    assert decide(rules, acs__SourceIp="203.0.113.9") == "ExplicitDeny"
    assert decide(rules) == "ExplicitDeny"  # no source address: the negated condition holds, deny bites


# ---------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("operator", "policy", "context", "effect"),
    [
        ("StringEquals", "dev", "dev", "Allow"),
        ("StringEquals", "dev", "Dev", "ImplicitDeny"),
        ("StringEquals", ["dev", "test"], "test", "Allow"),  # several values: OR
        ("StringEquals", "", "", "Allow"),
        ("StringNotEquals", "dev", "prod", "Allow"),
        ("StringNotEquals", ["dev", "test"], "test", "ImplicitDeny"),
        ("StringNotEquals", "dev", "Dev", "Allow"),
        ("StringEqualsIgnoreCase", "DEV", "dev", "Allow"),
        ("StringEqualsIgnoreCase", "dev", "prod", "ImplicitDeny"),
        ("StringNotEqualsIgnoreCase", "DEV", "dev", "ImplicitDeny"),
        ("StringNotEqualsIgnoreCase", "DEV", "prod", "Allow"),
        ("StringLike", "de*", "dev", "Allow"),
        ("StringLike", "d?v", "dev", "Allow"),
        ("StringLike", "D*", "dev", "ImplicitDeny"),  # case-sensitive
        ("StringLike", "a.c", "abc", "ImplicitDeny"),  # only * and ? are special
        ("StringNotLike", "de*", "dev", "ImplicitDeny"),
        ("StringNotLike", ["x*", "y*"], "dev", "Allow"),
    ],
)
def test_string_operators(operator: str, policy: Any, context: str, effect: str) -> None:
    assert when(operator, "acs:ResourceTag/env", policy, **{"acs:ResourceTag/env": context}) == effect


@pytest.mark.parametrize(
    ("operator", "policy", "context", "effect"),
    [
        ("NumericEquals", "10", "10", "Allow"),
        ("NumericEquals", "10", "10.0", "Allow"),  # numbers, not strings
        ("NumericEquals", "10", "11", "ImplicitDeny"),
        ("NumericEquals", ["1", "2"], "2", "Allow"),
        ("NumericNotEquals", "10", "11", "Allow"),
        ("NumericNotEquals", "10", "10.00", "ImplicitDeny"),
        ("NumericLessThan", "10", "9.5", "Allow"),
        ("NumericLessThan", "10", "10", "ImplicitDeny"),
        ("NumericLessThan", ["5", "10"], "7", "Allow"),  # less than any of them
        ("NumericLessThanEquals", "10", "10", "Allow"),
        ("NumericLessThanEquals", "10", "10.1", "ImplicitDeny"),
        ("NumericGreaterThan", "-1", "0", "Allow"),
        ("NumericGreaterThan", "10", "10", "ImplicitDeny"),
        ("NumericGreaterThanEquals", "10", "10", "Allow"),
        ("NumericGreaterThanEquals", 10, "9", "ImplicitDeny"),  # a JSON number in the policy
        ("NumericEquals", "10", "ten", "ImplicitDeny"),  # not a number: matches nothing
        ("NumericNotEquals", "10", "ten", "Allow"),
    ],
)
def test_numeric_operators(operator: str, policy: Any, context: str, effect: str) -> None:
    assert when(operator, "ecs:Count", policy, **{"ecs:Count": context}) == effect


@pytest.mark.parametrize(
    ("operator", "policy", "context", "effect"),
    [
        ("DateEquals", "2026-11-28T04:00:00Z", "2026-11-28T04:00:00Z", "Allow"),
        ("DateEquals", "2026-11-28T04:00:00Z", "2026-11-28T12:00:00+08:00", "Allow"),  # the same instant
        ("DateEquals", "2026-11-28", "2026-11-28T00:00:00Z", "Allow"),  # no zone: UTC
        ("DateEquals", "2026-11-28T04:00:00Z", "2026-11-28T04:00:01Z", "ImplicitDeny"),
        ("DateNotEquals", "2026-11-28T04:00:00Z", "2026-11-28T04:00:01Z", "Allow"),
        ("DateLessThan", "2026-11-28T04:00:00Z", "2026-11-28T03:59:59.999Z", "Allow"),
        ("DateLessThan", "2026-11-28T04:00:00Z", "2026-11-28T04:00:00Z", "ImplicitDeny"),
        ("DateLessThanEquals", "2026-11-28T04:00:00Z", "2026-11-28T04:00:00Z", "Allow"),
        ("DateGreaterThan", "2026-11-28T04:00:00Z", "2027-01-01T00:00:00Z", "Allow"),
        ("DateGreaterThan", "2026-11-28T04:00:00Z", "2026-01-01T00:00:00Z", "ImplicitDeny"),
        ("DateGreaterThanEquals", "2026-11-28T04:00:00Z", "2026-11-28T04:00:00Z", "Allow"),
        ("DateLessThan", "2026-11-28T04:00:00Z", "yesterday", "ImplicitDeny"),
    ],
)
def test_date_operators(operator: str, policy: str, context: str, effect: str) -> None:
    assert when(operator, "acs:CurrentTime", policy, **{"acs:CurrentTime": context}) == effect


@pytest.mark.parametrize(
    ("policy", "context", "effect"),
    [("true", "true", "Allow"), ("true", "false", "ImplicitDeny"), ("false", "false", "Allow"),
     ("TRUE", "True", "Allow"), (True, "true", "Allow"), ("true", "yes", "ImplicitDeny")],
)  # fmt: skip
def test_bool(policy: Any, context: str, effect: str) -> None:
    assert when("Bool", "acs:MFAPresent", policy, **{"acs:MFAPresent": context}) == effect


def test_bool_context_values_may_be_python_booleans() -> None:
    assert when("Bool", "acs:SecureTransport", "true", **{"acs:SecureTransport": True}) == "Allow"
    assert when("Bool", "acs:SecureTransport", "true", **{"acs:SecureTransport": False}) == "ImplicitDeny"


@pytest.mark.parametrize(
    ("operator", "policy", "address", "effect"),
    [
        ("IpAddress", "10.0.0.0/8", "10.255.0.1", "Allow"),
        ("IpAddress", "10.0.0.0/8", "11.0.0.1", "ImplicitDeny"),
        ("IpAddress", "192.168.1.7", "192.168.1.7", "Allow"),  # a single address
        ("IpAddress", "192.168.1.7/24", "192.168.1.200", "Allow"),  # host bits ignored
        ("IpAddress", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8:1::5", "Allow"),
        ("IpAddress", "2001:db8::/32", "2001:db9::1", "ImplicitDeny"),
        ("IpAddress", "::/0", "10.0.0.1", "ImplicitDeny"),  # IPv4 against an IPv6 network: no match
        ("IpAddress", "0.0.0.0/0", "::1", "ImplicitDeny"),  # and the other way round
        ("IpAddress", "10.0.0.0/8", "::ffff:10.1.2.3", "Allow"),  # IPv4-mapped counts as IPv4
        ("IpAddress", "10.0.0.0/8", "not-an-ip", "ImplicitDeny"),
        ("NotIpAddress", "10.0.0.0/8", "11.0.0.1", "Allow"),
        ("NotIpAddress", "10.0.0.0/8", "10.0.0.1", "ImplicitDeny"),
        ("NotIpAddress", "10.0.0.0/8", "2001:db8::1", "Allow"),
        ("NotIpAddress", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::1", "ImplicitDeny"),
    ],
)
def test_ip_operators(operator: str, policy: Any, address: str, effect: str) -> None:
    assert when(operator, "acs:SourceIp", policy, **{"acs:SourceIp": address}) == effect


NEGATED = [
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "NotIpAddress",
]
POSITIVE = [
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "NumericEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "IpAddress",
]
SAMPLE = {
    "String": "x",
    "Numeric": "1",
    "Date": "2026-01-01T00:00:00Z",
    "Bool": "true",
    "IpAddress": "10.0.0.0/8",
    "NotIpAddress": "10.0.0.0/8",
}


def _sample(operator: str) -> str:
    return next(v for prefix, v in SAMPLE.items() if operator.startswith(prefix) or operator == prefix)


@pytest.mark.parametrize("operator", POSITIVE)
def test_a_positive_operator_on_an_absent_key_is_false(operator: str) -> None:
    assert when(operator, "acs:Absent", _sample(operator), **{"acs:Other": "x"}) == "ImplicitDeny"


@pytest.mark.parametrize("operator", NEGATED)
def test_a_negated_operator_on_an_absent_key_is_true(operator: str) -> None:
    assert when(operator, "acs:Absent", _sample(operator), **{"acs:Other": "x"}) == "Allow"


def test_multi_valued_context_keys() -> None:
    tags = {"acs:ResourceTag/team": ["red", "blue"]}
    assert when("StringEquals", "acs:ResourceTag/team", "blue", **tags) == "Allow"  # any value matches
    assert when("StringEquals", "acs:ResourceTag/team", "green", **tags) == "ImplicitDeny"
    assert when("StringNotEquals", "acs:ResourceTag/team", "blue", **tags) == "ImplicitDeny"  # one matches
    assert when("StringNotEquals", "acs:ResourceTag/team", ["green", "pink"], **tags) == "Allow"
    assert when("StringLike", "acs:ResourceTag/team", "b*", **tags) == "Allow"
    assert when("StringNotLike", "acs:ResourceTag/team", "b*", **tags) == "ImplicitDeny"


def test_keys_are_case_insensitive_on_both_sides() -> None:
    assert when("StringEquals", "ACS:ResourceTag/Env", "dev", **{"acs:resourcetag/env": "dev"}) == "Allow"
    ctx = RequestContext({"acs:SourceIp": "10.0.0.1", "ACS:SOURCEIP": "10.0.0.2"})  # merged, not replaced
    assert ctx["acs:sourceip"] == ("10.0.0.1", "10.0.0.2") and "Acs:SourceIP" in ctx and len(ctx) == 1


def test_conditions_are_anded_across_keys_and_operators() -> None:
    rules = [statement(Condition={
        "Bool": {"acs:MFAPresent": "true", "acs:SecureTransport": "true"},
        "IpAddress": {"acs:SourceIp": "10.0.0.0/8"},
    })]  # fmt: skip
    good = {"acs__MFAPresent": "true", "acs__SecureTransport": "true", "acs__SourceIp": "10.1.1.1"}
    assert decide(rules, **good) == "Allow"
    for key in good:
        assert decide(rules, **{**good, key: "false" if "Ip" not in key else "11.1.1.1"}) == "ImplicitDeny"


def test_context_merged() -> None:
    base = RequestContext({"acs:SourceIp": "10.0.0.1", "a:b": "1"})
    merged = base.merged({"A:B": "2", "c:d": ["x", "y"]})
    assert dict(merged) == {"acs:sourceip": ("10.0.0.1",), "a:b": ("2",), "c:d": ("x", "y")}
    assert dict(base) == {"acs:sourceip": ("10.0.0.1",), "a:b": ("1",)}


# ---------------------------------------------------------------- explain


def test_explain_lists_matches_and_missing_keys() -> None:
    compiled, _ = compiled_of(
        [statement(), statement("Deny", action="ecs:Delete*")],
        [
            statement(
                Condition={"Bool": {"acs:MFAPresent": "true"}, "StringEquals": {"acs:ResourceTag/env": "dev"}}
            ),
            statement(action="vpc:*", Condition={"Bool": {"acs:Other": "true"}}),
        ],
    )
    p0, p1 = PolicyRef("Custom", "p0", "v1"), PolicyRef("Custom", "p1", "v1")
    got = compiled.explain("ecs:DescribeInstances", SG, RequestContext({"acs:mfapresent": "true"}))
    # the vpc statement does not cover the action: its key is not "missing"
    assert got == Decision("Allow", (StatementRef(p0, 0, "Allow"),), ("acs:ResourceTag/env",))
    got = compiled.explain(
        "ecs:DeleteInstance", SG, RequestContext({"acs:ResourceTag/env": "dev", "acs:MFAPresent": "true"})
    )
    assert got.effect == "ExplicitDeny" and got.missing_keys == ()
    assert got.matched == (
        StatementRef(p0, 0, "Allow"),
        StatementRef(p0, 1, "Deny"),
        StatementRef(p1, 0, "Allow"),
    )
    assert compiled.explain("ram:CreateUser", SG, RequestContext()) == Decision("ImplicitDeny", (), ())


def test_trust_policies_are_not_compiled_as_identity_policies() -> None:
    trust = parse_policy(
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
        '"Principal": {"Service": "ecs.aliyuncs.com"}}]}',
        kind="trust",
    )
    with pytest.raises(ValueError, match="trust_allows"):
        CompiledPolicies([(REF, trust)])


def test_the_action_memo_is_bounded_and_stays_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    from secplane.domain.policy import compiled as module

    monkeypatch.setattr(module, "MEMO_LIMIT", 3)
    compiled, _ = compiled_of([statement(action="ecs:Describe*")])
    for i in range(10):
        assert compiled.evaluate(f"ecs:Describe{i}", SG, RequestContext()) == "Allow"
        assert compiled.evaluate(f"ecs:Delete{i}", SG, RequestContext()) == "ImplicitDeny"
        assert len(compiled._memo) <= 3


# ---------------------------------------------------------------- trust policies

ACCOUNT, OTHER = "1234567890123456", "6543210987654321"


def trust(principal: dict[str, Any], effect: str = "Allow", **more: Any) -> Any:
    statements = [{"Effect": effect, "Action": "sts:AssumeRole", "Principal": principal, **more}]
    return parse_policy(json.dumps({"Version": "1", "Statement": statements}), kind="trust")


def user(name: str, account: str = ACCOUNT) -> TrustCaller:
    return TrustCaller(account, f"acs:ram::{account}:user/{name}")


def allows(policy: Any, caller: TrustCaller, **context: Any) -> bool:
    return trust_allows(policy, caller, RequestContext(context)).effect == "Allow"


def test_trusting_an_account_trusts_all_its_identities() -> None:
    for entry in (f"acs:ram::{ACCOUNT}:root", ACCOUNT):
        policy = trust({"RAM": [entry]})
        assert allows(policy, user("alice"))
        assert allows(policy, TrustCaller(ACCOUNT, f"acs:ram::{ACCOUNT}:role/ops"))
        assert allows(policy, TrustCaller(ACCOUNT, f"acs:ram::{ACCOUNT}:root"))
        assert not allows(policy, user("alice", OTHER))
        assert not allows(policy, TrustCaller(ACCOUNT, "", service="ecs.aliyuncs.com"))  # not a service


def test_trusting_users_and_roles_by_name() -> None:
    policy = trust({"RAM": [f"acs:ram::{ACCOUNT}:user/alice", f"acs:ram::{OTHER}:role/deploy-*"]})
    assert allows(policy, user("alice"))
    assert not allows(policy, user("bob"))
    assert not allows(policy, user("alice", OTHER))
    assert not allows(policy, TrustCaller(ACCOUNT, f"acs:ram::{ACCOUNT}:root"))  # the root is not alice
    assert allows(policy, TrustCaller(OTHER, f"acs:ram::{OTHER}:role/deploy-prod"))
    assert allows(policy, TrustCaller(OTHER, f"acs:ram::{OTHER}:role/deploy-prod/session-1"))  # a session
    assert not allows(policy, TrustCaller(OTHER, f"acs:ram::{OTHER}:role/ops"))
    assert not allows(policy, TrustCaller(OTHER, f"acs:ram::{OTHER}:user/deploy-prod"))


def test_trusting_a_service() -> None:
    policy = trust({"Service": ["ecs.aliyuncs.com"]})
    assert allows(policy, TrustCaller(ACCOUNT, "", service="ecs.aliyuncs.com"))
    assert allows(policy, TrustCaller("", "", service="ECS.Aliyuncs.com"))  # case-insensitive
    assert not allows(policy, TrustCaller(ACCOUNT, "", service="fc.aliyuncs.com"))
    assert not allows(policy, user("alice"))
    scoped = trust({"Service": [f"{ACCOUNT}@ecs.aliyuncs.com"]})
    assert allows(scoped, TrustCaller(ACCOUNT, "", service="ecs.aliyuncs.com"))
    assert not allows(scoped, TrustCaller(OTHER, "", service="ecs.aliyuncs.com"))


def test_trusting_an_identity_provider() -> None:
    idp = f"acs:ram::{ACCOUNT}:saml-provider/corp"
    policy = trust(
        {"Federated": [idp]},
        Condition={"StringEquals": {"saml:recipient": "https://signin.aliyun.com/saml-role/sso"}},
    )
    caller = TrustCaller(ACCOUNT, idp)
    assert allows(policy, caller, **{"saml:recipient": "https://signin.aliyun.com/saml-role/sso"})
    assert not allows(policy, caller)
    assert not allows(policy, TrustCaller(ACCOUNT, f"acs:ram::{ACCOUNT}:saml-provider/other"))
    assert not allows(trust({"RAM": [ACCOUNT]}), caller)  # a provider is not an identity of the account


def test_trust_conditions_and_missing_keys() -> None:
    policy = trust({"RAM": [ACCOUNT]}, Condition={"StringEquals": {"sts:ExternalId": "abc"}})
    got = trust_allows(policy, user("alice"), RequestContext())
    assert got.effect == "ImplicitDeny" and got.missing_keys == ("sts:ExternalId",)
    got = trust_allows(policy, user("alice"), RequestContext({"sts:externalid": "abc"}))
    assert got.effect == "Allow" and got.matched[0].policy.policy_type == "Trust"


def test_trust_deny_wins_and_action_must_cover_assume_role() -> None:
    statements = [
        {"Effect": "Allow", "Action": "sts:*", "Principal": {"RAM": ACCOUNT}},
        {
            "Effect": "Deny",
            "Action": "sts:AssumeRole",
            "Principal": {"RAM": f"acs:ram::{ACCOUNT}:user/mallory"},
        },
    ]
    policy = parse_policy(json.dumps({"Version": "1", "Statement": statements}), kind="trust")
    assert allows(policy, user("alice"))
    assert trust_allows(policy, user("mallory"), RequestContext()).effect == "ExplicitDeny"
    other_action = parse_policy(
        json.dumps(
            {
                "Version": "1",
                "Statement": [{"Effect": "Allow", "Action": "ecs:*", "Principal": {"RAM": ACCOUNT}}],
            }
        ),
        kind="trust",
    )
    assert not allows(other_action, user("alice"))


def test_trust_allows_needs_a_trust_policy() -> None:
    identity = parse_policy(json.dumps({"Version": "1", "Statement": [statement()]}))
    with pytest.raises(ValueError, match="trust policy"):
        trust_allows(identity, user("alice"), RequestContext())
