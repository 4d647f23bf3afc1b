"""Trust policies: may this caller assume the role? (SPEC RAM-8, reference §8, §9.)

A trust statement matches when its Action covers ``sts:AssumeRole``, its Principal names the caller
and its conditions hold (``sts:ExternalId``, ``saml:recipient`` ... — the same operators as identity
policies). Deny wins, as everywhere. Principal forms:

* ``RAM``: ``acs:ram::<acct>:root`` or a bare account id — any identity of that account (user, role
  session, the root itself); ``acs:ram::<acct>:user/<name>`` and ``...:role/<name>`` — that user or
  sessions of that role (``*``/``?`` allowed, case-sensitive). A caller's assumed-role ARN with a
  session part (``role/<role>/<session>``) is matched as the role. Service and federated callers never
  match RAM entries.
* ``Service``: ``ecs.aliyuncs.com`` — that cloud service acting (``caller.service``), compared
  case-insensitively; ``<acct>@ecs.aliyuncs.com`` additionally requires the service to act for
  that account.
* ``Federated``: an identity provider ARN; the caller is the provider (``caller.arn`` is
  ``acs:ram::<acct>:saml-provider/<name>`` or ``oidc-provider/<name>``) for AssumeRoleWithSAML/OIDC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from secplane.domain.policy.compiled import Decision, PolicyRef, compile_statement, decide
from secplane.domain.policy.conditions import RequestContext
from secplane.domain.policy.document import TRUST_ACTION, Policy, Principal
from secplane.domain.policy.patterns import compile_globs

_FEDERATED_CALLER = re.compile(r"acs:ram::[0-9]+:(?:saml-provider|oidc-provider)/.+")
_ROLE_SESSION = re.compile(r"(acs:ram::[0-9]+:role/[^/]+)/.*", re.DOTALL)
_ACCOUNT_ENTRY = re.compile(r"(?:acs:ram::)?([0-9]+)(?::root)?")


@dataclass(frozen=True, slots=True)
class TrustCaller:
    """Who asks to assume the role: ``arn`` is ``acs:ram::<acct>:user/<name>``, ``...:role/<role>``
    (a role session), ``...:root``, or an identity provider's ARN; ``service`` is set when a cloud
    service (``ecs.aliyuncs.com``) assumes the role on the account's behalf."""

    account_id: str
    arn: str
    service: str = ""


def _glob(pattern: str, flags: int = 0) -> Callable[[str], object]:
    return re.compile(compile_globs([pattern]).pattern, re.DOTALL | flags).fullmatch


def _principal_matches(principal: Principal, caller: TrustCaller) -> bool:
    if caller.service:
        for entry in principal.service:
            account, _, service = entry.rpartition("@")
            if account and account != caller.account_id:
                continue
            if _glob(service, re.IGNORECASE)(caller.service):
                return True
        return False
    if _FEDERATED_CALLER.fullmatch(caller.arn):
        return any(_glob(entry)(caller.arn) for entry in principal.federated)
    session = _ROLE_SESSION.fullmatch(caller.arn)
    arn = session.group(1) if session else caller.arn
    for entry in principal.ram:
        whole_account = _ACCOUNT_ENTRY.fullmatch(entry)
        if whole_account:
            if whole_account.group(1) == caller.account_id:
                return True
        elif _glob(entry)(arn):
            return True
    return False


def trust_allows(
    policy: Policy,
    caller: TrustCaller,
    context: RequestContext,
    *,
    action: str = TRUST_ACTION,
    ref: PolicyRef | None = None,
) -> Decision:
    """Does the role's trust policy let ``caller`` assume it? ``Allow`` only on a matching Allow
    statement and no matching Deny. AssumeRole still needs the caller's own ``sts:AssumeRole``
    permission as well (reference §9): that is the caller's policies' business, not this function's."""
    if policy.kind != "trust":
        raise ValueError("trust_allows() takes a trust policy (parse_policy(..., kind='trust'))")
    ref = ref or PolicyRef("Trust", "AssumeRolePolicyDocument", "v1")
    lower = action.lower()
    present = context._values
    matched = []
    missing: dict[str, str] = {}
    for index, statement in enumerate(policy.statements):
        compiled = compile_statement(ref, index, statement)
        if not compiled.covers(lower):
            continue
        if statement.principal is None or not _principal_matches(statement.principal, caller):
            continue
        for key, written in compiled.keys:
            if key not in present:
                missing.setdefault(key, written)
        if compiled.conditions is None or compiled.conditions(context):
            matched.append(compiled.ref)
    return Decision(decide(matched), tuple(matched), tuple(missing[k] for k in sorted(missing)))
