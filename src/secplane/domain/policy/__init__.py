"""The RAM policy language (SPEC RAM-5, RAM-6, RAM-8): parse, validate, evaluate. Pure: no I/O.

policy = parse_policy(text)                                   # PolicyError(kind, message) if bad
compiled = CompiledPolicies([(PolicyRef("Custom", "dev", "v1"), policy), ...])   # once per principal
compiled.evaluate("ecs:DescribeInstances", arn, RequestContext({"acs:SourceIp": ip}))  # every call
compiled.explain(...)                                         # the same, with the matching statements
trust_allows(trust_policy, TrustCaller(account, arn), context)  # AssumeRole's trust check
"""

from secplane.domain.policy.compiled import CompiledPolicies, Decision, Effect, PolicyRef, StatementRef
from secplane.domain.policy.conditions import OPERATORS, Condition, RequestContext
from secplane.domain.policy.document import (
    DEFAULT_MAX_LENGTH,
    Policy,
    PolicyError,
    PolicyKind,
    Principal,
    Statement,
    parse_policy,
)
from secplane.domain.policy.trust import TrustCaller, trust_allows

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "OPERATORS",
    "CompiledPolicies",
    "Condition",
    "Decision",
    "Effect",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicyRef",
    "Principal",
    "RequestContext",
    "Statement",
    "StatementRef",
    "TrustCaller",
    "parse_policy",
    "trust_allows",
]
