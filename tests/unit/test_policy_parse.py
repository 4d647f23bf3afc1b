"""Policy documents: what parses (Alibaba's documented examples included) and, for everything that does
not, that the error is a ``PolicyError`` of the right kind whose message names the bad element."""

from __future__ import annotations

import json
from typing import Any

import pytest

from secplane.domain.policy import Condition, PolicyError, Principal, parse_policy


def doc(*statements: dict[str, Any], **top: Any) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements), **top})


def allow(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "ecs:DescribeInstances", "Resource": "*", **fields}


def error(text: str, **kwargs: Any) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, **kwargs)
    return caught.value


# ---------------------------------------------------------------- valid documents

# Alibaba's examples (RAM and ECS documentation): deny unless from the office network ...
ECS_SOURCE_IP = """{
  "Version": "1",
  "Statement": [
    {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
    {"Effect": "Deny", "Action": "ecs:*", "Resource": "*",
     "Condition": {"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}}
  ]
}"""
# ... an instance role's trust policy ...
ECS_TRUST = """{
  "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                 "Principal": {"Service": ["ecs.aliyuncs.com"]}}],
  "Version": "1"
}"""
# ... a role that the account's RAM identities may assume ...
ACCOUNT_TRUST = """{"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
  "Principal": {"RAM": ["acs:ram::1234567890123456:root"]}}], "Version": "1"}"""
# ... a SAML role ...
SAML_TRUST = """{"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
  "Principal": {"Federated": ["acs:ram::1234567890123456:saml-provider/IdP"]},
  "Condition": {"StringEquals": {"saml:recipient": "https://signin.aliyun.com/saml-role/sso"}}}],
  "Version": "1"}"""
# ... and read-only ECS with MFA, HTTPS and a time window.
READ_ONLY_CONDITIONS = """{"Version": "1", "Statement": [{
  "Effect": "Allow",
  "Action": ["ecs:Describe*", "ecs:List*", "vpc:DescribeVpcs"],
  "Resource": ["acs:ecs:*:*:instance/*", "acs:ecs:cn-hangzhou:*:securitygroup/sg-*"],
  "Condition": {
    "Bool": {"acs:MFAPresent": "true", "acs:SecureTransport": "true"},
    "DateLessThan": {"acs:CurrentTime": "2026-11-28T04:00:00Z"},
    "StringEquals": {"acs:ResourceTag/env": ["dev", "test"]}
  }}]}"""


def test_the_documented_ecs_source_ip_policy() -> None:
    policy = parse_policy(ECS_SOURCE_IP)
    assert policy.text == ECS_SOURCE_IP and policy.kind == "identity"
    allow_all, deny = policy.statements
    assert (allow_all.effect, allow_all.actions, allow_all.resources, allow_all.conditions) == (
        "Allow", ("ecs:*",), ("*",), ()
    )  # fmt: skip
    assert deny.effect == "Deny" and not deny.not_action
    assert deny.conditions == (Condition("NotIpAddress", "acs:SourceIp", ("10.0.0.0/8",)),)


def test_trust_policies() -> None:
    ecs = parse_policy(ECS_TRUST, kind="trust").statements[0]
    assert ecs.principal == Principal(service=("ecs.aliyuncs.com",))
    assert ecs.resources == ()
    account = parse_policy(ACCOUNT_TRUST, kind="trust").statements[0]
    assert account.principal == Principal(ram=("acs:ram::1234567890123456:root",))
    saml = parse_policy(SAML_TRUST, kind="trust").statements[0]
    assert saml.principal == Principal(federated=("acs:ram::1234567890123456:saml-provider/IdP",))
    forms = [
        "1234567890123456",
        "acs:ram::1234567890123456:user/alice",
        "acs:ram::1234567890123456:role/ops-*",
    ]
    mixed = doc(
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"RAM": forms, "Service": "x.aliyuncs.com"},
        }
    )
    assert parse_policy(mixed, kind="trust").statements[0].principal == Principal(
        ram=tuple(forms), service=("x.aliyuncs.com",)
    )


def test_conditions_keep_every_operator_and_key() -> None:
    statement = parse_policy(READ_ONLY_CONDITIONS).statements[0]
    assert statement.actions == ("ecs:Describe*", "ecs:List*", "vpc:DescribeVpcs")
    assert [(c.operator, c.key, c.values) for c in statement.conditions] == [
        ("Bool", "acs:MFAPresent", ("true",)),
        ("Bool", "acs:SecureTransport", ("true",)),
        ("DateLessThan", "acs:CurrentTime", ("2026-11-28T04:00:00Z",)),
        ("StringEquals", "acs:ResourceTag/env", ("dev", "test")),
    ]


def test_single_values_lists_sid_not_action_and_json_scalars() -> None:
    policy = parse_policy(
        doc(
            {"Sid": "s1", "Effect": "Deny", "NotAction": ["ram:*", "sts:*"], "Resource": ["*"]},
            allow(Condition={"NumericLessThan": {"ecs:Count": 5}, "Bool": {"acs:MFAPresent": True}}),
            allow(Condition={"Bool": {"acs:SecureTransport": "TRUE"}}),
            allow(Condition={}),
        )
    )
    deny, numeric, upper, empty = policy.statements
    assert (deny.sid, deny.not_action, deny.actions, deny.resources) == (
        "s1",
        True,
        ("ram:*", "sts:*"),
        ("*",),
    )
    assert [c.values for c in numeric.conditions] == [("5",), ("true",)]
    assert upper.conditions[0].values == ("true",)  # Bool values are normalised to lower case
    assert empty.conditions == ()


@pytest.mark.parametrize(
    "value",
    [
        "10.0.0.0/8",
        "192.168.1.7",
        "2001:db8::/32",
        "::1",
        "10.1.2.3/8",
    ],  # host bits allowed, as typed by people
)
def test_ip_values(value: str) -> None:
    parse_policy(doc(allow(Condition={"IpAddress": {"acs:SourceIp": value}})))


@pytest.mark.parametrize(
    "value", ["2026-11-28T04:00:00Z", "2026-11-28", "2026-11-28T12:00:00+08:00", "2026-11-28T04:00:00.250Z"]
)
def test_date_values(value: str) -> None:
    parse_policy(doc(allow(Condition={"DateGreaterThan": {"acs:CurrentTime": value}})))


def test_action_and_resource_shapes() -> None:
    actions = ["*", "ecs:*", "ECS:describe?nstances", "ram:Get*", "*:Describe*", "log:Get_Index", "e-x:Do"]
    resources = ["*", "acs:ecs:*:*:instance/*", "acs:oss:*:*:bucket/a[1].txt", "acs:ram:*:123:user/*"]
    statement = parse_policy(doc(allow(Action=actions, Resource=resources))).statements[0]
    assert statement.actions == tuple(actions) and statement.resources == tuple(resources)


def test_session_policies_use_the_identity_grammar() -> None:
    assert parse_policy(ECS_SOURCE_IP, kind="session").kind == "session"
    assert "Principal" in error(ECS_TRUST, kind="session").message


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown policy kind"):
        parse_policy(ECS_SOURCE_IP, kind="bucket")  # type: ignore[arg-type]


# ---------------------------------------------------------------- size


def test_size_limit_counts_characters() -> None:
    padded = doc(allow(Sid="x" * 6100))
    assert len(padded) > 6144
    err = error(padded)
    assert err.kind == "size"
    assert err.message == f"Policy document is {len(padded)} characters long; the limit is 6144."
    assert parse_policy(padded, max_length=len(padded)).statements[0].sid == "x" * 6100
    short = doc(allow())
    assert error(short, max_length=len(short) - 1).kind == "size"
    multibyte = doc(allow(Sid="é" * 50))  # characters, not bytes
    parse_policy(multibyte, max_length=len(multibyte))


# ---------------------------------------------------------------- grammar errors, each naming its element

GRAMMAR_ERRORS: list[tuple[str, str, str]] = [
    # (case, document, expected message or its start)
    (
        "not JSON",
        '{"Version": "1",, }',
        "Policy document is not valid JSON: Expecting property name enclosed "
        "in double quotes at line 1, column 17 (character 16).",
    ),
    ("empty", "  ", "Policy document is empty."),
    (
        "not an object",
        "[1]",
        'Policy document must be a JSON object {"Version": "1", "Statement": [...]}, got a list.',
    ),
    (
        "unknown top-level",
        doc(allow(), Id="x"),
        'Policy document: unknown element "Id" at the top level; allowed: Version, Statement.',
    ),
    ("no version", json.dumps({"Statement": [allow()]}), 'Version: required; the only valid value is "1".'),
    ("numeric version", doc(allow(), Version=1), 'Version: must be the string "1", got 1.'),
    ("AWS version", doc(allow(), Version="2012-10-17"), 'Version: must be the string "1", got "2012-10-17".'),
    (
        "no statement",
        json.dumps({"Version": "1"}),
        "Statement: required; give a list of one or more statements.",
    ),
    (
        "statement object",
        json.dumps({"Version": "1", "Statement": allow()}),
        "Statement: must be a list of statements; wrap the statement in [ ].",
    ),
    ("empty statement", doc(), "Statement: must contain at least one statement."),
    ("statement string", doc("x"), 'Statement[0]: must be an object, got "x".'),  # type: ignore[arg-type]
    (
        "effect case",
        doc(allow(), allow(), allow(Effect="allow")),
        'Statement[2].Effect: must be "Allow" or "Deny", got "allow".',
    ),
    (
        "effect missing",
        doc({"Action": "ecs:*", "Resource": "*"}),
        'Statement[0]: Effect is required: "Allow" or "Deny".',
    ),
    (
        "both actions",
        doc(allow(NotAction="ram:*")),
        "Statement[0]: give either Action or NotAction, not both.",
    ),
    (
        "no action",
        doc({"Effect": "Allow", "Resource": "*"}),
        "Statement[0]: Action (or NotAction) is required",
    ),
    ("empty action list", doc(allow(Action=[])), "Statement[0].Action: must not be an empty list."),
    ("action number", doc(allow(Action=["ecs:A", 3])), "Statement[0].Action[1]: must be a string, got 3."),
    (
        "action object",
        doc(allow(Action={"a": 1})),
        "Statement[0].Action: must be a string or a list of strings, got an object.",
    ),
    ("action empty", doc(allow(Action="")), "Statement[0].Action: must not be empty."),
    (
        "action shape",
        doc(allow(Action=["ecs:A", "ecs Describe*"])),
        'Statement[0].Action[1]: "ecs Describe*" is not an action; write <service>:<ActionName>',
    ),
    (
        "action no service",
        doc({"Effect": "Allow", "NotAction": "DescribeInstances", "Resource": "*"}),
        'Statement[0].NotAction: "DescribeInstances" is not an action',
    ),
    (
        "no resource",
        doc({"Effect": "Allow", "Action": "ecs:*"}),
        'Statement[0]: Resource is required, e.g. "Resource": "*"',
    ),
    (
        "resource shape",
        doc(allow(Resource=["*", "arn:aws:s3:::b"])),
        'Statement[0].Resource[1]: "arn:aws:s3:::b" is not a resource; write "*" or an ARN starting with '
        '"acs:"',
    ),
    (
        "not resource",
        doc({"Effect": "Allow", "Action": "ecs:*", "NotResource": "*"}),
        "Statement[0].NotResource: not supported by RAM; list the resources the statement covers in "
        '"Resource" instead.',
    ),
    (
        "unknown element",
        doc(allow(Actions="x")),
        'Statement[0]: unknown element "Actions" in a statement; allowed: '
        "Sid, Effect, Action, NotAction, Resource, Condition.",
    ),
    (
        "element case",
        doc(allow(effect="Allow")),
        "Statement[0]: unknown element \"effect\"; element names are case-sensitive: 'Effect'.",
    ),
    (
        "duplicate element",
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Effect": "Deny", "Action": "*", '
        '"Resource": "*"}]}',
        'Statement[0]: element "Effect" appears more than once.',
    ),
    (
        "principal in identity",
        doc(allow(Principal={"RAM": "1234567890123456"})),
        "Statement[0].Principal: only allowed in a trust policy",
    ),
    ("sid type", doc(allow(Sid=1)), "Statement[0].Sid: must be a string, got 1."),
    (
        "condition type",
        doc(allow(Condition=["x"])),
        'Statement[0].Condition: must be an object like {"Bool": {"acs:MFAPresent": "true"}}, got a list.',
    ),
    (
        "unknown operator",
        doc(allow(Condition={"StringMatches": {"a:b": "c"}})),
        'Statement[0].Condition: unknown operator "StringMatches"; RAM supports StringEquals, ',
    ),
    (
        "operator case",
        doc(allow(Condition={"stringequals": {"a:b": "c"}})),
        'Statement[0].Condition: unknown operator "stringequals"; operators are case-sensitive: '
        "'StringEquals'.",
    ),
    (
        "IfExists",
        doc(allow(Condition={"StringEqualsIfExists": {"a:b": "c"}})),
        'Statement[0].Condition: operator "StringEqualsIfExists" is not supported by RAM.',
    ),
    (
        "ForAnyValue",
        doc(allow(Condition={"ForAnyValue:StringEquals": {"a:b": "c"}})),
        'Statement[0].Condition: operator "ForAnyValue:StringEquals" is not supported by RAM.',
    ),
    (
        "Null",
        doc(allow(Condition={"Null": {"a:b": "true"}})),
        'Statement[0].Condition: operator "Null" is not supported by RAM.',
    ),
    (
        "operator value",
        doc(allow(Condition={"Bool": "true"})),
        "Statement[0].Condition.Bool: must be an object of "
        'condition keys like {"acs:SourceIp": "10.0.0.0/8"}, got "true".',
    ),
    (
        "operator empty",
        doc(allow(Condition={"Bool": {}})),
        "Statement[0].Condition.Bool: must name at least one condition key.",
    ),
    (
        "key shape",
        doc(allow(Condition={"StringEquals": {"SourceIp": "x"}})),
        'Statement[0].Condition.StringEquals["SourceIp"]: a condition key must be <service>:<key>',
    ),
    (
        "value null",
        doc(allow(Condition={"StringEquals": {"a:b": None}})),
        'Statement[0].Condition.StringEquals["a:b"]: must be a string, a number or a boolean, got null.',
    ),
    (
        "value list empty",
        doc(allow(Condition={"StringEquals": {"a:b": []}})),
        'Statement[0].Condition.StringEquals["a:b"]: must not be an empty list.',
    ),
    (
        "value nested",
        doc(allow(Condition={"StringEquals": {"a:b": ["x", ["y"]]}})),
        'Statement[0].Condition.StringEquals["a:b"][1]: must be a string, a number or a boolean, got a list.',
    ),
    (
        "bad CIDR",
        doc(allow(Condition={"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "10.0.0.0/33"]}})),
        'Statement[0].Condition.IpAddress["acs:SourceIp"][1]: "10.0.0.0/33" must be an IPv4 or IPv6 '
        "address or CIDR block such as 10.0.0.0/8.",
    ),
    (
        "bad IP",
        doc(allow(Condition={"NotIpAddress": {"acs:SourceIp": "office"}})),
        'Statement[0].Condition.NotIpAddress["acs:SourceIp"]: "office" must be an IPv4 or IPv6 address',
    ),
    (
        "bad number",
        doc(allow(Condition={"NumericLessThan": {"ecs:Count": "ten"}})),
        'Statement[0].Condition.NumericLessThan["ecs:Count"]: "ten" must be a decimal number such as 12 '
        "or 0.5.",
    ),
    (
        "number nan",
        doc(allow(Condition={"NumericEquals": {"ecs:Count": "nan"}})),
        'Statement[0].Condition.NumericEquals["ecs:Count"]: "nan" must be a decimal number',
    ),
    (
        "bad date",
        doc(allow(Condition={"DateLessThan": {"acs:CurrentTime": "tomorrow"}})),
        'Statement[0].Condition.DateLessThan["acs:CurrentTime"]: "tomorrow" must be an ISO-8601 date such as '
        "2026-11-28T04:00:00Z.",
    ),
    (
        "bad bool",
        doc(allow(Condition={"Bool": {"acs:MFAPresent": "yes"}})),
        'Statement[0].Condition.Bool["acs:MFAPresent"]: "yes" must be "true" or "false".',
    ),
    (
        "two bools",
        doc(allow(Condition={"Bool": {"acs:MFAPresent": ["true", "false"]}})),
        'Statement[0].Condition.Bool["acs:MFAPresent"]: Bool takes exactly one value, "true" or "false".',
    ),
    (
        "duplicate operator",
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", '
        '"Condition": {"Bool": {"a:b": "true"}, "Bool": {"a:c": "true"}}}]}',
        'Statement[0].Condition: operator "Bool" appears more than once.',
    ),
    (
        "duplicate key",
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", '
        '"Condition": {"Bool": {"a:b": "true", "a:b": "false"}}}]}',
        'Statement[0].Condition.Bool: key "a:b" appears more than once.',
    ),
]


@pytest.mark.parametrize(
    ("document", "expected"), [c[1:] for c in GRAMMAR_ERRORS], ids=[c[0] for c in GRAMMAR_ERRORS]
)
def test_grammar_errors_name_the_element(document: str, expected: str) -> None:
    err = error(document)
    assert err.kind == "grammar"
    assert err.message.startswith(expected), err.message
    assert str(err) == err.message and isinstance(err, ValueError)


TRUST_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    (
        "no principal",
        {"Effect": "Allow", "Action": "sts:AssumeRole"},
        "Statement[0]: Principal is required in a "
        'trust policy: {"RAM": [...]}, {"Service": [...]} or {"Federated": [...]}.',
    ),
    (
        "resource",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"RAM": "1234567890123456"},
            "Resource": "*",
        },
        "Statement[0].Resource: not allowed in a trust policy",
    ),
    (
        "principal string",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"},
        'Statement[0].Principal: must be an object like {"RAM": ["acs:ram::<account>:root"]}, got "*".',
    ),
    (
        "principal empty",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {}},
        "Statement[0].Principal: must name at least one principal.",
    ),
    (
        "principal kind",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "x"}},
        'Statement[0].Principal: unknown element "AWS" in Principal; allowed: RAM, Service, Federated.',
    ),
    (
        "not principal",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "NotPrincipal": {"RAM": "1"}},
        "Statement[0].NotPrincipal: not supported by RAM",
    ),
    (
        "bad RAM",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": ["1234567890123456", "alice"]}},
        'Statement[0].Principal.RAM[1]: "alice" is not a RAM principal; write an account id, ',
    ),
    (
        "RAM group",
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"RAM": "acs:ram::1234567890123456:group/dev"},
        },
        'Statement[0].Principal.RAM: "acs:ram::1234567890123456:group/dev" is not a RAM principal',
    ),
    (
        "bad service",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs aliyuncs"}},
        'Statement[0].Principal.Service: "ecs aliyuncs" is not a service',
    ),
    (
        "bad federated",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Federated": "idp"}},
        'Statement[0].Principal.Federated: "idp" is not an identity provider',
    ),
    (
        "empty RAM list",
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": []}},
        "Statement[0].Principal.RAM: must not be an empty list.",
    ),
]


@pytest.mark.parametrize(
    ("statement", "expected"), [c[1:] for c in TRUST_ERRORS], ids=[c[0] for c in TRUST_ERRORS]
)
def test_trust_policy_errors_name_the_element(statement: dict[str, Any], expected: str) -> None:
    err = error(doc(statement), kind="trust")
    assert err.kind == "grammar"
    assert err.message.startswith(expected), err.message


def test_long_values_are_cut_short_in_messages() -> None:
    err = error(doc(allow(Action="x" * 500)))
    assert len(err.message) < 300 and '..." is not an action' in err.message


def test_deep_nesting_is_a_grammar_error() -> None:
    err = error("[" * 100_000 + "]" * 100_000, max_length=1 << 20)
    assert err.kind == "grammar"
