"""The reference policy evaluator: the obvious reading of the rules, the oracle for domain.policy.

Written from SPEC RAM-5/RAM-6 and reference §8, §9 without the evaluator's helpers: wildcards by a
textbook dynamic-programming matcher (not regexes), numbers through ``Decimal``, dates as ``datetime``
objects, addresses through ``ipaddress`` membership, the context as the caller's plain dict looked up by
a case-insensitive scan — every statement of every policy, every condition, on every call. It shares
only the parsed input (``Policy``, ``PolicyRef``) and reports plain values, so a bug in the compiled
form cannot hide here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from secplane.domain.policy import Condition, Policy, PolicyRef, Statement

NEGATED = {
    "StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals", "DateNotEquals",
    "NotIpAddress",
}  # fmt: skip


@dataclass(frozen=True)
class Answer:
    effect: str
    matched: tuple[tuple[PolicyRef, int, str], ...]  # (policy, statement index, statement effect)
    missing_keys: tuple[str, ...]


def glob_match(pattern: str, text: str) -> bool:
    """``*`` any run (also empty), ``?`` exactly one character, everything else literal."""
    # can[i][j]: pattern[:i] matches text[:j]
    can = [[False] * (len(text) + 1) for _ in range(len(pattern) + 1)]
    can[0][0] = True
    for i in range(1, len(pattern) + 1):
        p = pattern[i - 1]
        for j in range(len(text) + 1):
            if p == "*":
                can[i][j] = can[i - 1][j] or (j > 0 and can[i][j - 1])
            elif j > 0 and (p == "?" or p == text[j - 1]):
                can[i][j] = can[i - 1][j - 1]
    return can[len(pattern)][len(text)]


def lookup(context: Mapping[str, str | Sequence[str]], key: str) -> list[str] | None:
    """All values under ``key``, whatever the case of either; None if there are none."""
    found: list[str] | None = None
    for name, value in context.items():
        if name.lower() == key.lower():
            if isinstance(value, bool):  # RequestContext's convenience: a Python bool is "true"/"false"
                value = "true" if value else "false"
            found = (found or []) + ([value] if isinstance(value, str) else list(value))
    return found


def as_number(text: str) -> Decimal | None:
    return Decimal(text) if re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text) else None


def as_date(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def value_matches(operator: str, actual: str, wanted: str) -> bool:
    """Does one context value match one policy value under the positive form of ``operator``?"""
    positive = operator.replace("Not", "", 1) if operator in NEGATED else operator
    if positive == "StringEquals":
        return actual == wanted
    if positive == "StringEqualsIgnoreCase":
        return actual.lower() == wanted.lower()
    if positive == "StringLike":
        return glob_match(wanted, actual)
    if positive == "Bool":
        return actual.lower() == wanted.lower()
    if positive == "IpAddress":
        address = as_address(actual)
        return address is not None and address in ipaddress.ip_network(wanted, strict=False)
    if positive.startswith("Numeric"):
        a, w = as_number(actual), as_number(wanted)
        comparison = positive[len("Numeric") :]
    else:
        a, w = as_date(actual), as_date(wanted)  # type: ignore[assignment]
        comparison = positive[len("Date") :]
    if a is None or w is None:
        return False
    return {
        "Equals": a == w,
        "LessThan": a < w,
        "LessThanEquals": a <= w,
        "GreaterThan": a > w,
        "GreaterThanEquals": a >= w,
    }[comparison]


def condition_holds(condition: Condition, context: Mapping[str, str | Sequence[str]]) -> bool:
    actual = lookup(context, condition.key)
    negated = condition.operator in NEGATED
    if actual is None:
        return negated  # absent key: negated operators hold, positive ones do not
    some = any(value_matches(condition.operator, a, w) for a in actual for w in condition.values)
    return not some if negated else some


def action_covered(statement: Statement, action: str) -> bool:
    listed = any(glob_match(p.lower(), action.lower()) for p in statement.actions)
    return not listed if statement.not_action else listed


def evaluate(
    policies: Sequence[tuple[PolicyRef, Policy]],
    action: str,
    resource: str,
    context: Mapping[str, str | Sequence[str]],
) -> Answer:
    matched = []
    missing: dict[str, str] = {}
    for ref, policy in policies:
        for index, statement in enumerate(policy.statements):
            if not action_covered(statement, action):
                continue
            if not any(glob_match(p, resource) for p in statement.resources):
                continue
            for condition in statement.conditions:
                if lookup(context, condition.key) is None:
                    missing.setdefault(condition.key.lower(), condition.key)
            if all(condition_holds(c, context) for c in statement.conditions):
                matched.append((ref, index, statement.effect))
    if any(effect == "Deny" for _, _, effect in matched):
        effect = "ExplicitDeny"
    elif matched:
        effect = "Allow"
    else:
        effect = "ImplicitDeny"
    return Answer(effect, tuple(matched), tuple(missing[k] for k in sorted(missing)))
