"""Authorization: the one step every operation passes before its handler runs.

The account root and cloud services acting in it are allowed everything (they still pass through here,
so the audit trail and the "every action is authorized" test see them). RAM users and role sessions are
allowed what their policies allow (RAM-6): explicit deny wins, then any allow, else the default deny; a
role session is further limited to its session policy. Compiled policies are cached per principal and
keyed on the account's RAM revision, which every RAM write bumps, so a change made through any server
process applies to the next call everywhere.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Sequence
from typing import Any, Literal

from secplane.domain.policy import (
    CompiledPolicies,
    Policy,
    PolicyError,
    PolicyRef,
    RequestContext,
    TrustCaller,
    parse_policy,
    trust_allows,
)
from secplane.operations.context import Context
from secplane.operations.registry import PRODUCTS, Operation, Product
from secplane.protocol.errors import ApiError
from secplane.store.db import Database

log = logging.getLogger("secplane.authz")

_PRODUCT_BY_SERVICE = {p.service: p for p in PRODUCTS}
_MAX_CACHED = 10_000

# What a RAM user may do to itself without a policy when the account's security preference allows it
# (SetSecurityPreference): action -> the preference's field.
SELF_SERVICE = {
    "ram:ChangePassword": "allow_user_to_change_password",
    "ram:GetLoginProfile": "allow_user_to_change_password",
    "ram:CreateAccessKey": "allow_user_to_manage_access_keys",
    "ram:ListAccessKeys": "allow_user_to_manage_access_keys",
    "ram:UpdateAccessKey": "allow_user_to_manage_access_keys",
    "ram:DeleteAccessKey": "allow_user_to_manage_access_keys",
    "ram:GetAccessKeyLastUsed": "allow_user_to_manage_access_keys",
    "ram:CreateVirtualMFADevice": "allow_user_to_manage_mfa_devices",
    "ram:BindMFADevice": "allow_user_to_manage_mfa_devices",
    "ram:UnbindMFADevice": "allow_user_to_manage_mfa_devices",
    "ram:GetUserMFAInfo": "allow_user_to_manage_mfa_devices",
}


class Authorizer:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._identity: dict[tuple[str, str, str], tuple[int, CompiledPolicies]] = {}
        self._session: dict[str, CompiledPolicies] = {}
        self._preferences: dict[str, tuple[int, Any]] = {}

    def authorize(self, ctx: Context, op: Operation[Any], request: Any) -> list[str]:
        """Return the resource ARNs the call touches, or raise the product's denial (HTTP 403)."""
        resources = op.resources(ctx, request)
        if ctx.principal.kind not in ("root", "service") and not op.always_allowed:
            keys = request_tags(request)
            if op.conditions is not None:
                keys = {**(keys or {}), **op.conditions(ctx, request)}
            self._check(ctx, op.product, op.ram_action, resources, keys)
        return resources

    def require(
        self, ctx: Context, action: str, resources: Sequence[str], extra: dict[str, str] | None = None
    ) -> None:
        """A dependent action a handler needs besides its own (``ram:PassRole``, ``vpc:CreateDefaultVpc``)."""
        if ctx.principal.kind not in ("root", "service"):
            self._check(ctx, _PRODUCT_BY_SERVICE.get(ctx.service, PRODUCTS[0]), action, resources, extra)

    def policies_for(self, account_id: str, kind: str, principal_id: str, revision: int) -> CompiledPolicies:
        """The principal's identity policies, compiled; rebuilt when the account's RAM revision moves."""
        key = (account_id, kind, principal_id)
        hit = self._identity.get(key)
        if hit is not None and hit[0] == revision:
            return hit[1]
        from secplane.store.ram_policies import principal_policies

        principal_kind: Literal["user", "role"] = "role" if kind == "role" else "user"
        with self._db.read() as conn:
            attached = principal_policies(conn, account_id, principal_kind, principal_id)
        pairs: list[tuple[PolicyRef, Policy]] = []
        for a in attached:
            if a.resource_group_id:  # resource-group scope: not evaluated yet (see the README)
                continue
            try:
                pairs.append((PolicyRef(a.policy_type, a.name, a.version), parse_policy(a.document)))
            except PolicyError as exc:  # validated when stored; never let one bad row open anything
                log.error("stored policy %s %s %s does not parse: %s", a.policy_type, a.name, a.version, exc)
        compiled = CompiledPolicies(pairs)
        if len(self._identity) >= _MAX_CACHED:
            self._identity.clear()
        self._identity[key] = (revision, compiled)
        return compiled

    def session_policy(self, text: str) -> CompiledPolicies:
        compiled = self._session.get(text)
        if compiled is None:
            policy = parse_policy(text, kind="session", max_length=1 << 20)
            compiled = CompiledPolicies([(PolicyRef("Session", "SessionPolicy", ""), policy)])
            if len(self._session) >= _MAX_CACHED:
                self._session.clear()
            self._session[text] = compiled
        return compiled

    def _check(
        self,
        ctx: Context,
        product: Product,
        action: str,
        resources: Sequence[str],
        extra: dict[str, str] | None,
    ) -> None:
        p = ctx.principal
        identity = self.policies_for(p.account_id, p.kind, p.id, ctx.ram_revision)
        session = self.session_policy(ctx.session_policy) if ctx.session_policy else None
        context = request_context(ctx, extra)
        for resource in resources:
            effect = identity.evaluate(action, resource, context)
            policy_type = "AccountLevelIdentityBasedPolicy"
            if effect == "Allow" and session is not None:
                effect = session.evaluate(action, resource, context)
                policy_type = "SessionPolicy"
            if effect == "ImplicitDeny" and self._self_service(ctx, action, resource):
                continue
            if effect != "Allow":
                raise denial(ctx, product, action, resource, effect, policy_type)

    def _self_service(self, ctx: Context, action: str, resource: str) -> bool:
        """A RAM user acting on itself (its user, or a new MFA device) where the preference allows."""
        p = ctx.principal
        field = SELF_SERVICE.get(action)
        if p.kind != "user" or field is None:
            return False
        own = f"acs:ram::{p.account_id}:user/{p.name}"
        if resource != own and not (action == "ram:CreateVirtualMFADevice" and resource.endswith(":mfa/*")):
            return False
        return bool(getattr(self._preference(p.account_id, ctx.ram_revision), field))

    def _preference(self, account_id: str, revision: int) -> Any:
        hit = self._preferences.get(account_id)
        if hit is not None and hit[0] == revision:
            return hit[1]
        from secplane.operations.ram.account import SECURITY_PREFERENCE, SecurityPreference
        from secplane.store.ram_credentials import setting

        with self._db.read() as conn:
            preference = SecurityPreference.from_document(setting(conn, account_id, SECURITY_PREFERENCE))
        if len(self._preferences) >= _MAX_CACHED:
            self._preferences.clear()
        self._preferences[account_id] = (revision, preference)
        return preference


_contexts: dict[tuple[str, bool, bool, str, str, int], RequestContext] = {}


def request_context(ctx: Context, extra: dict[str, str] | None = None) -> RequestContext:
    """The global condition keys of a call (reference §8), plus the action's own keys. The same caller
    within the same second shares one context (its parsed values are reused)."""
    p = ctx.principal
    second = int(ctx.now)
    key = (ctx.source_ip, ctx.secure_transport, p.mfa, ctx.access_key_id, p.arn, second)
    base = _contexts.get(key)
    if base is None:
        base = RequestContext(
            {
                "acs:SourceIp": ctx.source_ip,
                "acs:SecureTransport": "true" if ctx.secure_transport else "false",
                "acs:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)),
                "acs:MFAPresent": "true" if p.mfa else "false",
                "acs:AccessId": ctx.access_key_id,
                "acs:PrincipalARN": p.arn,
            }
        )
        if len(_contexts) >= _MAX_CACHED:
            _contexts.clear()
        _contexts[key] = base
    return base.merged(extra) if extra else base


def request_tags(request: Any) -> dict[str, str] | None:
    """``Tag.N`` of a creating call as ``acs:RequestTag/<key>`` and ``<service>:tag/<key>`` keys."""
    tags = getattr(request, "tag", None)
    if not tags:
        return None
    keys: dict[str, str] = {}
    for tag in tags:
        key = getattr(tag, "key", None)
        if key:
            value = getattr(tag, "value", "") or ""
            keys[f"acs:RequestTag/{key}"] = value
            keys[f"ecs:tag/{key}"] = value
    return keys


def denial(
    ctx: Context, product: Product, action: str, resource: str, effect: str, policy_type: str
) -> ApiError:
    """The product's 403 with Alibaba's ``AccessDeniedDetail``."""
    p = ctx.principal
    display = p.name if p.kind == "user" else f"{p.name}:{p.session}"
    diagnostic = {
        "AuthAction": action,
        "AuthResource": resource,
        "AuthPrincipalType": "SubUser" if p.kind == "user" else "AssumedRoleUser",
        "AuthPrincipalOwnerId": p.account_id,
        "AuthPrincipalDisplayName": display,
        "ExplicitDeny": effect == "ExplicitDeny",
        "NoPermissionPolicyType": policy_type,
    }
    detail = {
        "PolicyType": policy_type,
        "AuthPrincipalOwnerId": p.account_id,
        "AuthPrincipalType": diagnostic["AuthPrincipalType"],
        "AuthPrincipalDisplayName": display,
        "NoPermissionType": effect,
        "AuthAction": action,
        "EncodedDiagnosticMessage": base64.b64encode(json.dumps(diagnostic).encode()).decode(),
    }
    return ApiError(product.denied_code, product.denied_message, 403, {"AccessDeniedDetail": detail})


def trust_caller(caller: str, account_id: str = "") -> TrustCaller:
    """Who assumed a role, as stored with its session: an ARN, or the name of a cloud service acting in
    ``account_id`` (the role's account)."""
    if caller.startswith("acs:"):
        return TrustCaller(account_id=caller.split(":")[3], arn=caller, service="")
    return TrustCaller(account_id=account_id, arn="", service=caller)


def trusts(trust: Policy, caller: str, account_id: str, context: dict[str, str]) -> bool:
    allowed = trust_allows(trust, trust_caller(caller, account_id), RequestContext(dict(context)))
    return allowed.effect == "Allow"
