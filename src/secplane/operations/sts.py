"""STS (``Sts`` 2015-04-01): temporary credentials for roles (RAM-8), and who am I."""

from __future__ import annotations

import re

from secplane.authz import request_context, trust_caller
from secplane.domain.policy import PolicyError, parse_policy, trust_allows
from secplane.operations.context import Context
from secplane.operations.ram.common import iso
from secplane.operations.registry import STS, Body, operation
from secplane.protocol.errors import ApiError, missing_parameter
from secplane.protocol.params import Request
from secplane.store import ram_entities, sts

_ROLE_ARN = re.compile(r"^acs:ram::(\d{16}):role/([A-Za-z0-9.\-]{1,64})$", re.IGNORECASE)
_SESSION_NAME = re.compile(r"^[A-Za-z0-9.@\-_]{2,64}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/\-]{2,1224}$")
MIN_DURATION = 900
DEFAULT_DURATION = 3600
SESSION_POLICY_MAX = 2048
NO_PERMISSION = "You are not authorized to do this action. You should be authorized by RAM."


class AssumeRoleRequest(Request):
    role_arn: str = ""
    role_session_name: str = ""
    duration_seconds: int | None = None
    policy: str = ""
    external_id: str = ""
    source_identity: str = ""


def _role_arn(req: AssumeRoleRequest) -> tuple[str, str]:
    if not req.role_arn:
        raise missing_parameter("RoleArn")
    match = _ROLE_ARN.match(req.role_arn)
    if match is None:
        raise ApiError("InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
    return match.group(1), match.group(2)


def _assume_role_resources(ctx: Context, req: AssumeRoleRequest) -> list[str]:
    """The role; a malformed RoleArn is authorized as given (and then refused by the handler)."""
    match = _ROLE_ARN.match(req.role_arn)
    return [f"acs:ram::{match.group(1)}:role/{match.group(2)}" if match else req.role_arn or "*"]


@operation(STS, "AssumeRole", AssumeRoleRequest, resources=_assume_role_resources, writes=True, region="none")
def assume_role(ctx: Context, req: AssumeRoleRequest) -> Body:
    account_id, name = _role_arn(req)
    p = ctx.principal
    if p.kind == "root":
        raise ApiError("NoPermission", "Roles may not be assumed by root accounts.", 403)
    if not req.role_session_name:
        raise missing_parameter("RoleSessionName")
    if not _SESSION_NAME.match(req.role_session_name):
        raise ApiError(
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName must be 2 to 64 characters of letters, digits, and . @ - _",
        )
    if req.external_id and not _EXTERNAL_ID.match(req.external_id):
        raise ApiError("InvalidParameter.ExternalId", "The parameter ExternalId is wrongly formed.")
    if req.policy:
        _check_session_policy(req.policy)
    role = ram_entities.find_role(ctx.conn, account_id, name)
    if role is None:
        raise ApiError("EntityNotExist.Role", "The role does not exist.", 404)
    duration = DEFAULT_DURATION if req.duration_seconds is None else req.duration_seconds
    if not MIN_DURATION <= duration <= role.max_session_duration:
        raise ApiError(
            "InvalidParameter.DurationSeconds",
            f"The parameter DurationSeconds must be between {MIN_DURATION} and the role's "
            f"MaxSessionDuration ({role.max_session_duration}).",
        )
    caller = p.arn if p.kind == "user" else f"acs:ram::{p.account_id}:role/{p.name}"
    extra = {"sts:ExternalId": req.external_id} if req.external_id else None
    trust = parse_policy(role.trust_policy, kind="trust", max_length=1 << 20)
    if trust_allows(trust, trust_caller(caller), request_context(ctx, extra)).effect != "Allow":
        raise ApiError("NoPermission", NO_PERMISSION, 403)
    creds = sts.issue_session(
        ctx.conn,
        ctx.master_key,
        account_id=account_id,
        role_id=role.id,
        session_name=req.role_session_name,
        duration=duration,
        caller=caller,
        now=ctx.now,
        session_policy=req.policy or None,
        source_identity=req.source_identity,
    )
    ctx.touched.append(f"acs:ram::{account_id}:role/{role.name}")
    body: Body = {
        "Credentials": {
            "AccessKeyId": creds.access_key_id,
            "AccessKeySecret": creds.access_key_secret,
            "SecurityToken": creds.security_token,
            "Expiration": iso(creds.expiration),
        },
        "AssumedRoleUser": {
            "Arn": f"acs:ram::{account_id}:role/{role.name}/{req.role_session_name}",
            "AssumedRoleId": f"{role.id}:{req.role_session_name}",
        },
    }
    if req.source_identity:
        body["SourceIdentity"] = req.source_identity
    return body


def _check_session_policy(text: str) -> None:
    """Validate the session policy now; the session keeps its text (compiled when first used)."""
    try:
        parse_policy(text, kind="session", max_length=SESSION_POLICY_MAX)
    except PolicyError as exc:
        if exc.kind == "size":
            raise ApiError(
                "InvalidParameter.PolicySize", f"The policy must be at most {SESSION_POLICY_MAX} characters."
            ) from None
        raise ApiError("InvalidParameter.PolicyGrammar", exc.message) from None


class GetCallerIdentityRequest(Request):
    pass


@operation(STS, "GetCallerIdentity", GetCallerIdentityRequest, region="none", always_allowed=True)
def get_caller_identity(ctx: Context, req: GetCallerIdentityRequest) -> Body:
    p = ctx.principal
    if p.kind == "user":
        return {
            "IdentityType": "RAMUser",
            "AccountId": p.account_id,
            "UserId": p.id,
            "PrincipalId": p.id,
            "Arn": p.arn,
        }
    if p.kind == "role":
        return {
            "IdentityType": "AssumedRoleUser",
            "AccountId": p.account_id,
            "RoleId": p.id,
            "PrincipalId": f"{p.id}:{p.session}",
            "Arn": f"acs:ram::{p.account_id}:assumed-role/{p.name}/{p.session}",
        }
    return {
        "IdentityType": "Account",
        "AccountId": p.account_id,
        "UserId": p.account_id,
        "PrincipalId": p.account_id,
        "Arn": p.arn,
    }
