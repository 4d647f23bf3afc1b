"""``SimulatePrincipalPolicy`` (Secplane 2026-11-28): what would RAM decide for this user, group or role,
for these actions on these resources, in this context — and why? The IAM policy simulator's question,
answered by the same evaluator that authorizes every call (``domain.policy``), so the answer is the
decision a real call would get, with the statements that matched and the condition keys it lacked.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec

from secplane.domain.policy import (
    CompiledPolicies,
    Policy,
    PolicyError,
    PolicyRef,
    RequestContext,
    parse_policy,
)
from secplane.operations.context import Context
from secplane.operations.ram.common import ram_arn
from secplane.operations.registry import SECPLANE, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter
from secplane.protocol.params import Request
from secplane.store import ram_entities
from secplane.store.ram_policies import principal_policies

MAX_PAIRS = 1000
_DECISIONS = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}


class ContextEntry(msgspec.Struct, rename="pascal"):
    key: str = ""
    value: str = ""


class SimulatePrincipalPolicyRequest(Request):
    principal_type: str = ""
    principal_name: str = ""
    action_names: list[str] = []
    resource_arns: list[str] = []
    context_entries: list[ContextEntry] = []


def _resources(ctx: Context, req: SimulatePrincipalPolicyRequest) -> list[str]:
    kind = req.principal_type.lower()
    return [ram_arn(ctx, f"{kind}/{req.principal_name or '*'}")] if kind else [ram_arn(ctx, "*")]


@operation(
    SECPLANE, "SimulatePrincipalPolicy", SimulatePrincipalPolicyRequest, resources=_resources, region="none"
)
def simulate_principal_policy(ctx: Context, req: SimulatePrincipalPolicyRequest) -> Body:
    kind = _principal_kind(req.principal_type)
    if not req.principal_name:
        raise missing_parameter("PrincipalName")
    if not req.action_names:
        raise missing_parameter("ActionNames")
    resources = req.resource_arns or ["*"]
    if len(req.action_names) * len(resources) > MAX_PAIRS:
        raise invalid_parameter("ActionNames", f"At most {MAX_PAIRS} action and resource pairs per call.")
    compiled = CompiledPolicies(_policies(ctx, kind, req.principal_name))
    context = _context(ctx, req.context_entries)
    results = []
    for action in req.action_names:
        for resource in resources:
            decision = compiled.explain(action, resource, context)
            results.append(
                {
                    "EvalActionName": action,
                    "EvalResourceName": resource,
                    "EvalDecision": _DECISIONS[decision.effect],
                    "MatchedStatements": {
                        "Statement": [
                            {
                                "PolicyType": s.policy.policy_type,
                                "PolicyName": s.policy.name,
                                "VersionId": s.policy.version,
                                "StatementIndex": s.index,
                                "Effect": s.effect,
                            }
                            for s in decision.matched
                        ]
                    },
                    "MissingContextValues": {"ContextKey": list(decision.missing_keys)},
                }
            )
    return {"EvaluationResults": {"EvaluationResult": results}}


_KINDS: dict[str, Literal["user", "group", "role"]] = {"user": "user", "group": "group", "role": "role"}


def _principal_kind(value: str) -> Literal["user", "group", "role"]:
    if not value:
        raise missing_parameter("PrincipalType")
    kind = _KINDS.get(value.lower())
    if kind is None:
        raise invalid_parameter("PrincipalType", "It must be User, Group or Role.")
    return kind


def _policies(
    ctx: Context, kind: Literal["user", "group", "role"], name: str
) -> list[tuple[PolicyRef, Policy]]:
    finder = {
        "user": ram_entities.find_user,
        "group": ram_entities.find_group,
        "role": ram_entities.find_role,
    }
    row = finder[kind](ctx.conn, ctx.account_id, name)
    if row is None:
        raise ApiError(f"EntityNotExist.{kind.capitalize()}", f"The {kind} does not exist.", 404)
    pairs: list[tuple[PolicyRef, Policy]] = []
    for a in principal_policies(ctx.conn, ctx.account_id, kind, row.id):
        if a.resource_group_id:
            continue
        try:
            pairs.append((PolicyRef(a.policy_type, a.name, a.version), parse_policy(a.document)))
        except PolicyError:  # stored documents were validated; a bad one simply grants nothing
            continue
    return pairs


def _context(ctx: Context, entries: list[ContextEntry]) -> RequestContext:
    """The context the caller describes; only acs:CurrentTime is filled in (a simulation has no caller
    address or transport of its own — a key left out shows up among the missing ones)."""
    values: dict[str, Any] = {"acs:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctx.now))}
    for entry in entries:
        if not entry.key:
            raise missing_parameter("ContextEntries.N.Key")
        previous = values.get(entry.key)
        if previous is None or entry.key == "acs:CurrentTime":
            values[entry.key] = [entry.value]
        else:
            values[entry.key] = [*previous, entry.value]
    return RequestContext(values)
