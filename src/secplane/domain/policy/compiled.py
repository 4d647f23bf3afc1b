"""The policy evaluator: a principal's policies compiled once, then asked on every API call.

RAM's rule for a set of policies (reference §9): a matching Deny anywhere → ``ExplicitDeny``; else a
matching Allow → ``Allow``; else ``ImplicitDeny``. A statement matches a request when its Action
(or NotAction) covers the action — case-insensitively —, one of its Resource patterns covers the
resource — case-sensitively —, and every condition holds (``conditions`` module for the rules).

Why it is fast: the action set of a deployment is small (the operation registry), so the statements
that cover an action are worked out on the first call for that action and memoised (bounded);
what is left per call is, for those statements only, a resource test (a ``frozenset`` lookup or one
precompiled regex) and condition closures with the policy's values already parsed. Deny candidates
run first, so an explicit deny ends the call at its first match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from secplane.domain.policy.conditions import RequestContext, Test, all_of, compile_condition
from secplane.domain.policy.document import Policy, Statement
from secplane.domain.policy.patterns import matcher

Effect = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
MEMO_LIMIT = 4096  # distinct action names remembered per CompiledPolicies; the registry has far fewer


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """Which policy a statement came from: ``policy_type`` is System, Custom, Session or Trust."""

    policy_type: str
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class StatementRef:
    policy: PolicyRef
    index: int  # 0-based position in the policy's Statement list
    effect: str


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision with its grounds, for ``explain`` (audit, the console, error messages)."""

    effect: Effect
    matched: tuple[StatementRef, ...]  # statements that matched in full (action, resource, conditions)
    missing_keys: tuple[str, ...]  # condition keys of action+resource matches the request lacked


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    ref: StatementRef
    deny: bool
    covers: Callable[[str], bool]  # lower-case action -> does Action/NotAction cover it
    resource: Callable[[str], object] | None  # None: any resource
    conditions: Test | None  # None: no conditions
    keys: tuple[tuple[str, str], ...]  # (lower-case key, key as written) of its conditions


def _always(_: str) -> bool:
    return True


def _never(_: str) -> bool:
    return False


def compile_statement(ref: PolicyRef, index: int, statement: Statement) -> CompiledStatement:
    listed = matcher(a.lower() for a in statement.actions)
    if statement.not_action:
        covers = _never if listed is None else lambda action: not listed(action)
    else:
        covers = _always if listed is None else lambda action: bool(listed(action))
    resource = matcher(statement.resources) if statement.resources else None
    conditions = all_of([compile_condition(c) for c in statement.conditions])
    keys: dict[str, str] = {}
    for condition in statement.conditions:
        keys.setdefault(condition.key.lower(), condition.key)
    return CompiledStatement(
        StatementRef(ref, index, statement.effect),
        statement.effect == "Deny",
        covers,
        resource,
        conditions,
        tuple(keys.items()),
    )


def decide(matched: Sequence[StatementRef]) -> Effect:
    if any(ref.effect == "Deny" for ref in matched):
        return "ExplicitDeny"
    return "Allow" if matched else "ImplicitDeny"


def explain_statements(
    statements: Sequence[CompiledStatement], action: str, resource: str, context: RequestContext
) -> Decision:
    """Every statement checked (no short cut), for a full account of the decision."""
    lower = action.lower()
    present = context._values
    matched: list[StatementRef] = []
    missing: dict[str, str] = {}
    for statement in statements:
        if not statement.covers(lower):
            continue
        if statement.resource is not None and not statement.resource(resource):
            continue
        for key, written in statement.keys:
            if key not in present:
                missing.setdefault(key, written)
        if statement.conditions is None or statement.conditions(context):
            matched.append(statement.ref)
    return Decision(decide(matched), tuple(matched), tuple(missing[k] for k in sorted(missing)))


_Candidate = tuple[Callable[[str], object] | None, Test | None]


class CompiledPolicies:
    """A principal's effective policies (its own, its groups', or a role's), compiled once.

    Immutable after construction apart from the action memo, which is safe to share between threads
    (dict reads and writes are atomic; a lost write only costs a recomputation).
    """

    __slots__ = ("_memo", "_statements")

    def __init__(self, policies: Sequence[tuple[PolicyRef, Policy]]) -> None:
        compiled: list[CompiledStatement] = []
        for ref, policy in policies:
            if policy.kind == "trust":
                raise ValueError(f"{ref.name}: a trust policy is evaluated with trust_allows(), not here")
            compiled.extend(compile_statement(ref, i, s) for i, s in enumerate(policy.statements))
        self._statements = tuple(compiled)
        self._memo: dict[str, tuple[tuple[_Candidate, ...], tuple[_Candidate, ...]]] = {}

    def __len__(self) -> int:
        """Number of statements."""
        return len(self._statements)

    def _candidates(self, action: str) -> tuple[tuple[_Candidate, ...], tuple[_Candidate, ...]]:
        lower = action.lower()
        covering = [s for s in self._statements if s.covers(lower)]
        entry = (
            tuple((s.resource, s.conditions) for s in covering if s.deny),
            tuple((s.resource, s.conditions) for s in covering if not s.deny),
        )
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[action] = entry
        return entry

    def evaluate(self, action: str, resource: str, context: RequestContext) -> Effect:
        """The decision for one action on one resource (the hot path: no allocation beyond the first
        call per action). A call touching several resources asks once per resource; all must Allow."""
        entry = self._memo.get(action)
        if entry is None:
            entry = self._candidates(action)
        denies, allows = entry
        for matches, conditions in denies:
            if (matches is None or matches(resource)) and (conditions is None or conditions(context)):
                return "ExplicitDeny"
        for matches, conditions in allows:
            if (matches is None or matches(resource)) and (conditions is None or conditions(context)):
                return "Allow"
        return "ImplicitDeny"

    def explain(self, action: str, resource: str, context: RequestContext) -> Decision:
        """The same decision with every matching statement and the condition keys the request lacked."""
        return explain_statements(self._statements, action, resource, context)
