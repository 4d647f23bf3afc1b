"""Authorization benchmark: secplane's compiled RAM policies against cedarpy on the same decisions.

A RAM user in 3 groups with 10 policies attached (1 to the user, 3 to each group) x 10 statements:
action wildcards, NotAction, resource ARN patterns, conditions on acs:SourceIp (IpAddress,
NotIpAddress), acs:MFAPresent and acs:SecureTransport (Bool), acs:ResourceTag/env (StringEquals,
StringLike), acs:CurrentTime (DateLessThan, DateGreaterThan), 20% Deny statements. Requests are a mix of
ECS, VPC and RAM actions on matching ARNs with varied contexts; the output gives the share of each
outcome.

  secplane   CompiledPolicies built once (what authz caches per principal), then per request:
             evaluate() with the request's context already built (p50 of single timed calls, and the
             mean over a loop), and the mean with RequestContext construction included (what a call pays)
  cedar      the same policies translated to Cedar (one PolicySet and one Entities handle, parsed once):
             is_authorized() per request (p50, mean) and is_authorized_batch() over all requests (mean)

The ratio is Cedar's cheapest per-decision mean (batch) over secplane's mean including the context, so
that it favours Cedar. Every decision is compared, three ways (Cedar's Deny is split into explicit and
implicit by whether a forbid policy is among its reasons); a disagreement exits 1.

What the Cedar translation cannot say the same way (and how it is done instead):
  - Cedar has no wildcard actions or ARN resources: action and resource travel in the context as strings
    and are matched with ``like``; actions are lower-cased on both sides (RAM compares them
    case-insensitively); the statements here use only ``*`` (Cedar's ``like`` has no ``?``).
  - dates are epoch seconds (``long``) in Cedar, ISO-8601 strings in RAM.
  - RAM's absent-key rules are spelled out with ``has`` (positive: ``has && ...``, negated:
    ``!has || !...``).
  - Cedar evaluates every policy; RAM's evaluator stops at the first matching Deny.

    .venv/bin/python bench/authz.py [--quick] [--requests N] [--seed S]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any

from secplane.domain.policy import CompiledPolicies, PolicyRef, RequestContext, parse_policy

try:
    import cedarpy
except ImportError:  # a bench extra, not a dependency: pip install -e '.[bench]'
    cedarpy = None  # type: ignore[assignment]

ACCOUNT = "1234567890123456"
GROUPS = ["dev", "ops", "audit"]
GOALS = {"mean us": 20.0, "ratio": 3.0}

ACTIONS = {  # action -> resource type
    "ecs:DescribeInstances": "instance", "ecs:StartInstance": "instance", "ecs:StopInstance": "instance",
    "ecs:RebootInstance": "instance", "ecs:DeleteInstance": "instance",
    "ecs:DescribeSecurityGroups": "securitygroup", "ecs:DescribeSecurityGroupAttribute": "securitygroup",
    "ecs:CreateSecurityGroup": "securitygroup", "ecs:AuthorizeSecurityGroup": "securitygroup",
    "ecs:RevokeSecurityGroup": "securitygroup", "ecs:DeleteSecurityGroup": "securitygroup",
    "ecs:DescribeKeyPairs": "keypair", "ecs:CreateKeyPair": "keypair", "ecs:DeleteKeyPairs": "keypair",
    "ecs:AttachKeyPair": "keypair", "vpc:DescribeVpcs": "vpc", "vpc:CreateVpc": "vpc", "vpc:DeleteVpc": "vpc",
    "vpc:DescribeVSwitches": "vswitch", "vpc:CreateVSwitch": "vswitch", "ram:GetUser": "user",
    "ram:ListUsers": "user", "ram:CreateUser": "user", "ram:DeleteUser": "user", "ram:ListPolicies": "policy",
    "ram:AttachPolicyToUser": "policy",
}  # fmt: skip
ACTION_PATTERNS = [
    "ecs:Describe*", "ecs:*SecurityGroup*", "vpc:*", "ram:Get*", "ram:List*", "ecs:*KeyPair*", "ecs:Delete*",
    "ecs:*Instance*", "vpc:Describe*", "*",
]  # fmt: skip
RESOURCE_PATTERNS = [
    "*", f"acs:ecs:*:{ACCOUNT}:securitygroup/*", f"acs:ecs:cn-hangzhou:{ACCOUNT}:instance/i-*",
    "acs:ecs:*:*:keypair/*", f"acs:vpc:*:{ACCOUNT}:vpc/*", f"acs:ram:*:{ACCOUNT}:user/*",
    f"acs:ecs:*:{ACCOUNT}:securitygroup/sg-prod*", "acs:ecs:*:*:instance/*", f"acs:vpc:*:{ACCOUNT}:*",
]  # fmt: skip
CONDITIONS: list[tuple[str, str, Any]] = [
    ("IpAddress", "acs:SourceIp", ["10.0.0.0/8", "192.168.0.0/16"]),
    ("NotIpAddress", "acs:SourceIp", "10.0.0.0/8"),
    ("Bool", "acs:MFAPresent", "true"),
    ("Bool", "acs:SecureTransport", "true"),
    ("StringEquals", "acs:ResourceTag/env", ["dev", "test"]),
    ("StringLike", "acs:ResourceTag/env", "prod*"),
    ("DateLessThan", "acs:CurrentTime", "2027-01-01T00:00:00Z"),
    ("DateGreaterThan", "acs:CurrentTime", "2026-06-01T00:00:00Z"),
]
CEDAR_KEYS = {"acs:sourceip": "sourceIp", "acs:mfapresent": "mfa", "acs:securetransport": "secure",
              "acs:resourcetag/env": "tag_env", "acs:currenttime": "now"}  # fmt: skip
TIMES = ["2026-11-28T04:00:00Z", "2027-03-01T00:00:00Z", "2026-02-01T00:00:00Z"]

# ---------------------------------------------------------------- the scenario


def build_policies(rng: random.Random) -> list[tuple[str, list[dict[str, Any]]]]:
    """10 policies of 10 statements: (principal scope, statements); scope "user" or a group name."""
    scopes = ["user"] + [g for g in GROUPS for _ in range(3)]
    policies = []
    for scope in scopes:
        statements = []
        for _ in range(10):
            deny = rng.random() < 0.2
            if deny:  # denies are narrow: a few exact actions or a Delete*
                actions = rng.sample(sorted(ACTIONS), 2) if rng.random() < 0.7 else ["ecs:Delete*"]
            elif rng.random() < 0.5:
                actions = rng.sample(ACTION_PATTERNS, rng.randint(1, 2))
            else:
                actions = rng.sample(sorted(ACTIONS), rng.randint(1, 3))
            statement: dict[str, Any] = {"Effect": "Deny" if deny else "Allow"}
            if not deny and rng.random() < 0.05:
                statement["NotAction"] = ["ram:*", "sts:*"]
            else:
                statement["Action"] = actions if len(actions) > 1 else actions[0]
            resources = rng.sample(RESOURCE_PATTERNS, rng.randint(1, 2))
            statement["Resource"] = resources if len(resources) > 1 else resources[0]
            block: dict[str, dict[str, Any]] = {}
            for operator, key, value in rng.sample(CONDITIONS, rng.choice([0, 0, 1, 1, 2])):
                block.setdefault(operator, {})[key] = value
            if block:
                statement["Condition"] = block
            statements.append(statement)
        policies.append((scope, statements))
    return policies


def build_requests(rng: random.Random, count: int) -> list[tuple[str, str, dict[str, Any]]]:
    requests = []
    for _ in range(count):
        action = rng.choice(sorted(ACTIONS))
        kind = ACTIONS[action]
        service = action.split(":")[0]
        region = "" if service == "ram" else rng.choice(["cn-hangzhou", "cn-beijing"])
        name = rng.choice(["prod1", "dev2", "test3", "x"])
        prefix = {"instance": "i-", "securitygroup": "sg-", "vpc": "vpc-", "vswitch": "vsw-"}.get(kind, "")
        resource = f"acs:{service}:{region}:{ACCOUNT}:{kind}/{prefix}{name}"
        context: dict[str, Any] = {
            "acs:SourceIp": rng.choice(["10.1.2.3", "192.168.7.9", "203.0.113.5", "2001:db8::7"]),
            "acs:MFAPresent": rng.choice(["true", "false"]),
            "acs:SecureTransport": rng.choice(["true", "true", "false"]),
            "acs:CurrentTime": rng.choice(TIMES),
        }
        if rng.random() < 0.7:
            context["acs:ResourceTag/env"] = rng.choice(["dev", "test", "prod-a", "staging"])
        requests.append((action, resource, context))
    return requests


# ---------------------------------------------------------------- the Cedar translation


def _cedar_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Cedar string literal for these values


def _cedar_like(subject: str, patterns: list[str]) -> str:
    parts = [f"{subject} {'like' if '*' in p else '=='} {_cedar_string(p)}" for p in patterns]
    return "(" + " || ".join(parts) + ")"


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _cedar_condition(operator: str, key: str, value: Any) -> str:
    name = CEDAR_KEYS[key.lower()]
    attr = f"context.{name}"
    values = value if isinstance(value, list) else [value]
    if operator in ("IpAddress", "NotIpAddress"):
        test = " || ".join(f'{attr}.isInRange(ip("{v}"))' for v in values)
    elif operator == "Bool":
        test = f"{attr} == {values[0]}"
    elif operator == "StringEquals":
        test = " || ".join(f"{attr} == {_cedar_string(v)}" for v in values)
    elif operator == "StringLike":
        test = " || ".join(f"{attr} like {_cedar_string(v)}" for v in values)
    elif operator == "DateLessThan":
        test = f"{attr} < {max(_epoch(v) for v in values)}"
    elif operator == "DateGreaterThan":
        test = f"{attr} > {min(_epoch(v) for v in values)}"
    else:
        raise ValueError(f"no Cedar translation for {operator}")
    if operator.startswith("Not"):
        return f"(!(context has {name}) || !({test}))"
    return f"(context has {name} && ({test}))"


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def to_cedar(policies: list[tuple[str, list[dict[str, Any]]]]) -> str:
    out = []
    for scope, statements in policies:
        principal = 'principal == User::"alice"' if scope == "user" else f'principal in Group::"{scope}"'
        for statement in statements:
            effect = "permit" if statement["Effect"] == "Allow" else "forbid"
            if "Action" in statement:
                actions = [a.lower() for a in _as_list(statement["Action"])]
                clauses = [] if "*" in actions else [_cedar_like("context.action", actions)]
            else:
                listed = statement["NotAction"]
                clauses = [f"!{_cedar_like('context.action', [a.lower() for a in listed])}"]
            resources = _as_list(statement["Resource"])
            if "*" not in resources:
                clauses.append(_cedar_like("context.resource", resources))
            for operator, keys in statement.get("Condition", {}).items():
                clauses.extend(_cedar_condition(operator, key, value) for key, value in keys.items())
            when = f" when {{ {' && '.join(clauses)} }}" if clauses else ""
            out.append(f'{effect}({principal}, action == Action::"call", resource){when};')
    return "\n".join(out)


def cedar_entities() -> str:
    groups = [{"type": "Group", "id": g} for g in GROUPS]
    entities = [{"uid": {"type": "User", "id": "alice"}, "attrs": {}, "parents": groups}]
    entities += [{"uid": g, "attrs": {}, "parents": []} for g in groups]
    return json.dumps(entities)


def cedar_request(action: str, resource: str, context: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"action": action.lower(), "resource": resource}
    for key, value in context.items():
        name = CEDAR_KEYS[key.lower()]
        if name == "sourceIp":
            values[name] = {"__extn": {"fn": "ip", "arg": value}}
        elif name in ("mfa", "secure"):
            values[name] = value == "true"
        elif name == "now":
            values[name] = _epoch(value)
        else:
            values[name] = value
    return {
        "principal": 'User::"alice"',
        "action": 'Action::"call"',
        "resource": 'Resource::"target"',
        "context": values,
    }


# ---------------------------------------------------------------- measuring


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _timer_ns(samples: int) -> float:
    clock = time.perf_counter_ns
    overhead = []
    for _ in range(samples):
        t0 = clock()
        overhead.append(clock() - t0)
    return statistics.median(overhead)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests and rounds (a few seconds)")
    parser.add_argument("--requests", type=int, default=None, help="distinct requests (5,000; 1,000 quick)")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    count = args.requests or (1000 if args.quick else 5000)
    rounds = 3 if args.quick else 10

    scenario = build_policies(rng)
    documents = [json.dumps({"Version": "1", "Statement": statements}) for _, statements in scenario]
    pairs = [(PolicyRef("Custom", f"policy{i}-{scope}", "v1"), parse_policy(d)) for i, ((scope, _), d) in
             enumerate(zip(scenario, documents, strict=True))]  # fmt: skip
    compile_ms = []
    for _ in range(3):  # cold (regexes compiled), then with the pattern cache warm (another principal)
        started = time.perf_counter()
        compiled = CompiledPolicies(pairs)
        compile_ms.append((time.perf_counter() - started) * 1000)
    requests = build_requests(rng, count)
    contexts = [RequestContext(c) for _, _, c in requests]
    work = [(a, r, ctx) for (a, r, _), ctx in zip(requests, contexts, strict=True)]

    ours = [compiled.evaluate(a, r, ctx) for a, r, ctx in work]  # warm: the action memo fills here
    outcomes = Counter(ours)
    timer_ns = _timer_ns(20_000)
    clock = time.perf_counter_ns
    evaluate = compiled.evaluate

    gc.disable()
    try:
        single = []
        for _ in range(rounds):
            for action, resource, ctx in work:
                t0 = clock()
                evaluate(action, resource, ctx)
                single.append(clock() - t0)
        loops, with_context = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            for action, resource, ctx in work:
                evaluate(action, resource, ctx)
            loops.append(time.perf_counter() - started)
            started = time.perf_counter()
            for action, resource, raw in requests:
                evaluate(action, resource, RequestContext(raw))
            with_context.append(time.perf_counter() - started)
    finally:
        gc.enable()
    ours_p50 = _percentile(sorted((ns - timer_ns) / 1000 for ns in single), 0.5)
    ours_p99 = _percentile(sorted((ns - timer_ns) / 1000 for ns in single), 0.99)
    ours_mean = statistics.median(loops) / count * 1e6
    ours_full = statistics.median(with_context) / count * 1e6

    statements = sum(len(s) for _, s in scenario)
    print(
        f"authz benchmark: 1 user in {len(GROUPS)} groups, {len(scenario)} policies x 10 statements "
        f"({statements} statements), {count:,} distinct requests x {rounds} rounds, "
        f"Python {sys.version.split()[0]}"
    )
    print(f"outcomes: {', '.join(f'{k} {v:,} ({v / count:.0%})' for k, v in sorted(outcomes.items()))}")
    print()
    print(
        f"secplane compile           cold {compile_ms[0]:5.2f} ms   again {min(compile_ms[1:]):5.2f} ms   "
        "(CompiledPolicies of the parsed policies; again = the pattern cache warm)"
    )
    print(
        f"secplane evaluate          p50 {ours_p50:6.2f} us   p99 {ours_p99:6.2f} us   "
        f"mean {ours_mean:6.2f} us   (context prebuilt; timer {timer_ns / 1000:.2f} us subtracted)"
    )
    print(f"secplane evaluate+context  mean {ours_full:6.2f} us   (RequestContext built per request)")

    if cedarpy is None:
        print("\ncedarpy is not installed (pip install -e '.[bench]'): no comparison")
        return 0
    cedar_text = to_cedar(scenario)
    policy_set = cedarpy.PolicySet.from_str(cedar_text)
    entities = cedarpy.Entities.from_json_str(cedar_entities())
    cedar_requests = [cedar_request(a, r, c) for a, r, c in requests]
    forbid_ids = {f"policy{i}" for i, line in enumerate(cedar_text.splitlines()) if line.startswith("forbid")}

    results = cedarpy.is_authorized_batch(cedar_requests, policy_set, entities)
    theirs = []
    for result in results:
        if result.diagnostics.errors:
            print(f"cedar evaluation errors: {result.diagnostics.errors[:3]}")
            return 1
        if result.allowed:
            theirs.append("Allow")
        else:
            theirs.append("ExplicitDeny" if forbid_ids & set(result.diagnostics.reasons) else "ImplicitDeny")
    disagreements = [(req, o, t) for req, o, t in zip(requests, ours, theirs, strict=True) if o != t]
    for request, o, t in disagreements[:3]:
        print(f"DISAGREEMENT on {request}: secplane {o}, cedar {t}")

    cedar_rounds = max(1, rounds // 3)
    is_authorized = cedarpy.is_authorized
    gc.disable()
    try:
        cedar_single = []
        for _ in range(cedar_rounds):
            for cedar_req in cedar_requests:
                t0 = clock()
                is_authorized(cedar_req, policy_set, entities)
                cedar_single.append(clock() - t0)
        cedar_batch = []
        for _ in range(cedar_rounds):
            started = time.perf_counter()
            cedarpy.is_authorized_batch(cedar_requests, policy_set, entities)
            cedar_batch.append(time.perf_counter() - started)
    finally:
        gc.enable()
    cedar_sorted = sorted((ns - timer_ns) / 1000 for ns in cedar_single)
    cedar_p50 = _percentile(cedar_sorted, 0.5)
    cedar_mean = statistics.mean(cedar_sorted)
    cedar_batch_mean = statistics.median(cedar_batch) / count * 1e6

    print(f"cedar is_authorized        p50 {cedar_p50:6.2f} us   mean {cedar_mean:6.2f} us   (per request)")
    print(f"cedar is_authorized_batch  mean {cedar_batch_mean:6.2f} us   per decision ({count:,} a batch)")
    print()
    ratio = cedar_batch_mean / ours_full
    print(f"cedar batch mean / secplane evaluate+context mean   {ratio:6.1f}x")
    print(f"cedar single p50 / secplane evaluate p50            {cedar_p50 / ours_p50:6.1f}x")
    print()
    checks = [
        ("evaluate mean <= 20 us", ours_full <= GOALS["mean us"], f"{ours_full:.2f} us (with context)"),
        (">= 3x faster than cedarpy", ratio >= GOALS["ratio"], f"{ratio:.1f}x (against its batch mean)"),
    ]
    for name, met, figure in checks:
        print(f"goal: {name:28} {'MET' if met else 'NOT MET':8} {figure}")
    print(f"agreement with cedar: {count - len(disagreements):,}/{count:,}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
