"""The compiled policy evaluator against the reference (tests/policy_reference.py) on generated policy
sets and requests: random wildcard actions and resources (with regex metacharacters that must stay
literal), every operator on keys of the right and the wrong type, multi-valued and missing keys, keys
in any case. 500 policy sets x 10 requests = 5,000 decisions a run, each asked of ``evaluate`` (twice:
the second answer comes from the action memo) and ``explain`` (effect, matched statements, missing
keys)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secplane.domain.policy import OPERATORS, CompiledPolicies, PolicyRef, RequestContext, parse_policy
from secplane.domain.policy.conditions import parse_ip
from secplane.domain.policy.patterns import compile_globs
from tests import policy_reference as reference

# ---------------------------------------------------------------- wildcards alone

GLOB_TEXT = st.text(alphabet="ab.[]\\/", max_size=8)
GLOB_PATTERN = st.text(alphabet="ab.[]\\/*?", max_size=8)


@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
@given(GLOB_PATTERN, GLOB_TEXT)
def test_wildcard_regex_matches_the_textbook_matcher(pattern: str, text: str) -> None:
    assert bool(compile_globs([pattern]).fullmatch(text)) == reference.glob_match(pattern, text)


@settings(max_examples=500)
@given(st.lists(GLOB_PATTERN, min_size=1, max_size=4), GLOB_TEXT)
def test_combined_wildcards_match_any_of_their_patterns(patterns: list[str], text: str) -> None:
    expected = any(reference.glob_match(p, text) for p in patterns)
    assert bool(compile_globs(patterns).fullmatch(text)) == expected


@settings(max_examples=1000)
@given(
    st.one_of(st.text(alphabet="0123456789.", max_size=16), st.ip_addresses().map(str), st.text(max_size=8))
)
def test_the_fast_address_parser_agrees_with_ipaddress(text: str) -> None:
    address = reference.as_address(text)
    assert parse_ip(text) == (None if address is None else (address.version, int(address)))


# ---------------------------------------------------------------- policies and requests

SERVICES = ["ecs", "vpc", "ECS", "e?s", "*", "v*"]
REQUEST_SERVICES = ["ecs", "vpc", "Ecs"]
ACTION_NAME = st.text(alphabet="aAbB", min_size=1, max_size=4)
ACTION_PATTERN = st.one_of(
    st.just("*"),
    st.builds(
        lambda s, n: f"{s}:{n}", st.sampled_from(SERVICES), st.text(alphabet="aAbB*?", min_size=1, max_size=4)
    ),
)
RESOURCE_TEXT = st.text(alphabet="ab.[/", max_size=5)
RESOURCE_PATTERN = st.one_of(
    st.just("*"), st.builds(lambda t: f"acs:x:{t}", st.text(alphabet="ab.[/*?", max_size=5))
)

KEY_TYPES = {"acs:SourceIp": "ip", "k:num": "numeric", "k:date": "date", "k:str": "string", "k:bool": "bool"}
KEYS = sorted(KEY_TYPES)
KEY_SPELLINGS = {"acs:SourceIp": ["acs:SourceIp", "ACS:sourceip"], "k:str": ["k:str", "K:Str"]}
VALUES = {
    "string": ["a", "A", "b", "ab", ""],
    "like": ["a*", "?", "*b", "a", "*", "A?"],
    "numeric": ["1", "2", "-1", "1.0", "10", "0.5"],
    "date": ["2026-01-01T00:00:00Z", "2026-01-01", "2026-01-01T08:00:00+08:00", "2026-06-01T00:00:00.5Z"],
    "bool": ["true", "false", "TRUE"],
    "ip": ["10.0.0.0/8", "10.1.2.3", "192.168.0.0/16", "::/0", "2001:db8::/32", "0.0.0.0/0", "10.0.0.1/8"],
}
CONTEXT_VALUES = {  # per key type, with values of the wrong type among them
    "ip": ["10.1.2.3", "10.0.0.1", "192.168.1.1", "11.0.0.1", "2001:db8::1", "::ffff:10.0.0.1", "::1", "x"],
    "numeric": ["1", "2", "-1", "1.00", "10", "0.5", "0", "abc", "1e3"],
    "date": [*VALUES["date"], "2025-12-31T23:59:59Z", "2026-01-01T00:00:00+00:00", "soon"],
    "string": ["a", "A", "b", "ab", "", "abc", "ba"],
    "bool": ["true", "false", "True", "yes"],
}
ANY_VALUE = sorted({v for values in CONTEXT_VALUES.values() for v in values})


def _kind(operator: str) -> str:
    kind = OPERATORS[operator].kind
    return "string" if kind == "string_ci" else kind


def _key_for(kind: str) -> str:
    return next(key for key, t in KEY_TYPES.items() if t == ("string" if kind == "like" else kind))


@st.composite
def condition_blocks(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    block: dict[str, dict[str, Any]] = {}
    for operator in draw(st.lists(st.sampled_from(sorted(OPERATORS)), max_size=3, unique=True)):
        pool = VALUES[_kind(operator)]
        typed = st.just(_key_for(_kind(operator)))  # mostly the key of the operator's type
        keys = draw(
            st.lists(
                st.one_of(typed, typed, typed, st.sampled_from(KEYS)), min_size=1, max_size=2, unique=True
            )
        )
        entry: dict[str, Any] = {}
        for key in keys:
            spelled = draw(st.sampled_from(KEY_SPELLINGS.get(key, [key])))
            if operator == "Bool":
                entry[spelled] = draw(st.sampled_from(pool))
            else:
                values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
                entry[spelled] = values[0] if len(values) == 1 and draw(st.booleans()) else values
        block[operator] = entry
    return block


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    actions = draw(st.lists(ACTION_PATTERN, min_size=1, max_size=3))
    resources = draw(st.lists(RESOURCE_PATTERN, min_size=1, max_size=3))
    statement: dict[str, Any] = {
        "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        "NotAction" if draw(st.integers(0, 5)) == 0 else "Action": actions[0]
        if len(actions) == 1
        else actions,
        "Resource": resources if len(resources) > 1 else resources[0],
    }
    conditions = draw(condition_blocks())
    if conditions:
        statement["Condition"] = conditions
    return statement


POLICY_SETS = st.lists(
    st.lists(statements(), min_size=1, max_size=5).map(
        lambda s: json.dumps({"Version": "1", "Statement": s})
    ),
    min_size=1,
    max_size=4,
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    action = f"{draw(st.sampled_from(REQUEST_SERVICES))}:{draw(ACTION_NAME)}"
    resource = f"acs:x:{draw(RESOURCE_TEXT)}"
    context: dict[str, Any] = {}
    for key in KEYS:
        if draw(st.integers(0, 4)) == 0:  # each key present four times in five
            continue
        spelled = draw(st.sampled_from([key, key.upper(), key.lower()]))
        pool = st.sampled_from(CONTEXT_VALUES[KEY_TYPES[key]])
        values = draw(
            st.lists(st.one_of(pool, pool, pool, st.sampled_from(ANY_VALUE)), min_size=1, max_size=2)
        )
        context[spelled] = values[0] if len(values) == 1 else values
    return action, resource, context


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(POLICY_SETS, st.lists(requests(), min_size=10, max_size=10))
def test_compiled_evaluator_agrees_with_the_reference(
    documents: list[str], asked: list[tuple[str, str, dict[str, Any]]]
) -> None:
    policies = [(PolicyRef("Custom", f"p{i}", "v1"), parse_policy(d)) for i, d in enumerate(documents)]
    compiled = CompiledPolicies(policies)
    for action, resource, values in asked:
        expected = reference.evaluate(policies, action, resource, values)
        context = RequestContext(values)
        assert compiled.evaluate(action, resource, context) == expected.effect, (action, resource, values)
        assert compiled.evaluate(action, resource, RequestContext(values)) == expected.effect  # memoised
        explained = compiled.explain(action, resource, context)
        assert explained.effect == expected.effect
        assert [(m.policy, m.index, m.effect) for m in explained.matched] == list(expected.matched)
        assert explained.missing_keys == expected.missing_keys
