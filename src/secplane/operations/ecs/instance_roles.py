"""Instance RAM roles (RAM-9) and metadata options: AttachInstanceRamRole, DetachInstanceRamRole,
DescribeInstanceRamRole, ModifyInstanceMetadataOptions, and the role check RunInstances/CreateInstance
share.

Rules: VPC instances only; one role per instance (attaching another is refused — replacing is detach
then attach, as Alibaba does); the role must exist and its trust policy must let ``ecs.aliyuncs.com``
assume it; whoever gives a role to an instance (or takes it away) needs ``ram:PassRole`` on the role
besides the ECS action.

What fails the whole call: missing or malformed parameters, an unknown role, a role ECS may not assume,
a missing PassRole, an instance that is not the caller's in the region, a classic instance — all
checked before anything changes. What fails one instance only (a result with ``Success: false``, HTTP
200, as AttachKeyPair does): an instance that already holds another role (attach), or that does not
hold the named role (detach). Those two per-instance codes are ours: Alibaba documents no code for
them; everything else follows reference §3.36 to §3.38.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from secplane.domain.policy import PolicyError, RequestContext, TrustCaller, parse_policy, trust_allows
from secplane.operations.context import Context
from secplane.operations.ecs.membership import Fault, instance_not_found
from secplane.operations.paging import page_window
from secplane.operations.registry import ECS, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import compute
from secplane.store import instance_roles as store
from secplane.store.ram_entities import find_role
from secplane.store.schema import ram_roles

ECS_SERVICE = "ecs.aliyuncs.com"
MAX_INSTANCES = 100
MAX_POLICY = 1024
MAX_PAGE_SIZE = 50
_SUCCESS_CODE = "200"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


# ---------------------------------------------------------------- the role check (shared with create)


@dataclass(frozen=True, slots=True)
class RoleFaults:
    """How one action names a bad role: RunInstances and AttachInstanceRamRole word it differently."""

    not_found: Fault
    not_ecs_role: Fault


ATTACH_FAULTS = RoleFaults(
    Fault("InvalidRamRole.NotFound", 404, "The specified RAMRoleName does not exist."),
    Fault(
        "InvalidRamRole.NotEcsRole",
        404,
        "The specified ram role is not authorized for ecs, please check your role policy.",
    ),
)
CREATE_FAULTS = RoleFaults(
    Fault("InvalidRamRole.NotFound", 404, 'The specified parameter "RAMRoleName" does not exist.'),
    Fault(
        "InvalidRamRole.NotEcsRole",
        401,
        "The specified ram role is not authorized for ecs, please check your role policy.",
    ),
)
_CLASSIC = Fault(
    "InvalidNetworkType.MismatchRamRole",
    403,
    "Ram role cannot be applied to instances of Classic network type.",
)


def classic_refused() -> ApiError:
    return _CLASSIC.error("Attach RAM roles to VPC instances only.")


def role_arn(account_id: str, role_name: str) -> str:
    return f"acs:ram::{account_id}:role/{role_name}"


def require_pass_role(ctx: Context, role_name: str) -> None:
    """``ram:PassRole`` on the role for this caller (the account root always has it)."""
    try:
        ctx.require("ram:PassRole", [role_arn(ctx.account_id, role_name)])
    except ApiError:
        raise ApiError(
            "InvalidUser.PassRoleForbidden",
            f"The RAM user does not have the privilege to pass a RAM role. Grant ram:PassRole on "
            f"{role_arn(ctx.account_id, role_name)}.",
            403,
        ) from None


def trusts_ecs(account_id: str, trust_policy: str) -> bool:
    """Does the role's trust policy let ECS assume it on the account's behalf?"""
    try:
        policy = parse_policy(trust_policy, kind="trust")
    except PolicyError:
        return False
    caller = TrustCaller(account_id=account_id, arn="", service=ECS_SERVICE)
    return trust_allows(policy, caller, RequestContext({})).effect == "Allow"


def ecs_role(ctx: Context, role_name: str, faults: RoleFaults) -> Row[Any]:
    """The caller's role ``role_name``, locked (DeleteRole waits), checked: the caller may pass it, it
    exists, and ECS may assume it."""
    require_pass_role(ctx, role_name)
    found = find_role(ctx.conn, ctx.account_id, role_name)
    role = ctx.db.lock_row(ctx.conn, ram_roles, found.id) if found is not None else None
    if role is None:
        raise faults.not_found.error()
    if not trusts_ecs(ctx.account_id, role.trust_policy):
        raise faults.not_ecs_role.error(f'Its trust policy must allow the service "{ECS_SERVICE}".')
    return role


# ---------------------------------------------------------------- parameters


def _missing(name: str) -> ApiError:
    return ApiError(
        f"MissingParameter.{name}",
        f"The input parameter {name} that is mandatory for processing this request is missing.",
    )


def _malformed() -> ApiError:
    return ApiError(
        "InvalidInstanceIds.Malformed",
        f"The specified instanceIds are not valid. Give a JSON array of 1 to {MAX_INSTANCES} instance ids, "
        'such as ["i-bp1…","i-bp2…"].',
    )


def _split_ids(raw: str) -> list[str] | None:
    """A JSON array of strings (or, leniently, a comma list) of id-shaped values, de-duplicated; None
    when malformed."""
    text = raw.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
            return None
        values = parsed
    else:
        values = text.split(",")
    ids = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    return ids if all(_ID.fullmatch(i) for i in ids) else None


def instance_ids(raw: str) -> list[str]:
    if not raw.strip():
        raise _missing("InstanceIds")
    ids = _split_ids(raw)
    if not ids or len(ids) > MAX_INSTANCES:
        raise _malformed()
    return ids


def _check_policy(policy: str) -> str | None:
    """AttachInstanceRamRole's extra policy: 1..1024 characters of valid policy grammar."""
    if not policy:
        return None
    try:
        parse_policy(policy, kind="session", max_length=MAX_POLICY)
    except PolicyError as exc:
        raise invalid_parameter("Policy", exc.message) from None
    return policy


def _lock_vpc_instances(ctx: Context, ids: Sequence[str]) -> None:
    """Lock the caller's instances in id order; each must be a VPC instance of the region."""
    for instance_id in sorted(ids):
        row = compute.lock_instance(ctx.db, ctx.conn, ctx.account_id, instance_id)
        if row is None or row.region_id != ctx.region_id:
            raise not_found(
                "InvalidInstanceId.NotFound", f"The specified instanceId does not exist: {instance_id}."
            )
        if row.network_type != "vpc":
            raise classic_refused()


# ---------------------------------------------------------------- RAM resources


def _instance_arns(ctx: Context, raw: str) -> list[str]:
    ids = _split_ids(raw) or ["*"]
    return [ctx.arn(f"instance/{i}") for i in ids]


def _attach_arns(ctx: Context, req: AttachInstanceRamRoleRequest) -> list[str]:
    return [*_instance_arns(ctx, req.instance_ids), role_arn(ctx.account_id, req.ram_role_name or "*")]


def _detach_arns(ctx: Context, req: DetachInstanceRamRoleRequest) -> list[str]:
    return _instance_arns(ctx, req.instance_ids)


def _describe_arns(ctx: Context, req: DescribeInstanceRamRoleRequest) -> list[str]:
    return _instance_arns(ctx, req.instance_ids)


# ---------------------------------------------------------------- per-instance results


@dataclass(frozen=True, slots=True)
class _Outcome:
    instance_id: str
    code: str = _SUCCESS_CODE
    message: str = "success"
    detached: str = ""  # the role taken away (detach)

    @property
    def success(self) -> bool:
        return self.code == _SUCCESS_CODE


def _results(name: str, action: str, outcomes: list[_Outcome], render: Callable[[_Outcome], Body]) -> Body:
    return {
        "RamRoleName": name,
        "TotalCount": len(outcomes),
        "FailCount": sum(not o.success for o in outcomes),
        f"{action}Results": {
            f"{action}Result": [
                {"InstanceId": o.instance_id, "Success": o.success, "Code": o.code, "Message": o.message}
                | render(o)
                for o in outcomes
            ]
        },
    }


# ---------------------------------------------------------------- AttachInstanceRamRole


class AttachInstanceRamRoleRequest(Request):
    region_id: str = ""
    ram_role_name: str = ""
    instance_ids: str = ""
    policy: str = ""


@operation(ECS, "AttachInstanceRamRole", AttachInstanceRamRoleRequest, resources=_attach_arns, writes=True)
def attach_instance_ram_role(ctx: Context, req: AttachInstanceRamRoleRequest) -> Body:
    if not req.ram_role_name:
        raise _missing("RamRoleName")
    ids = instance_ids(req.instance_ids)
    policy = _check_policy(req.policy)
    role = ecs_role(ctx, req.ram_role_name, ATTACH_FAULTS)
    _lock_vpc_instances(ctx, ids)
    current = store.roles_of(ctx.conn, ids)
    outcomes: list[_Outcome] = []
    for instance_id in ids:
        held = current.get(instance_id)
        if held is None:
            store.attach(
                ctx.conn, instance_id=instance_id, account_id=ctx.account_id, role_id=role.id,
                role_name=role.name, policy=policy, now=ctx.now,
            )  # fmt: skip
            ctx.touched.append(instance_id)
            outcomes.append(_Outcome(instance_id))
        elif held.role_id == role.id:
            outcomes.append(_Outcome(instance_id))  # already there: nothing to do
        else:
            outcomes.append(
                _Outcome(
                    instance_id,
                    "InvalidRamRole.AlreadyAttached",
                    f"The instance already has the RAM role {held.role_name!r}; an instance holds one role. "
                    "Detach it first (DetachInstanceRamRole).",
                )
            )
    return _results(role.name, "AttachInstanceRamRole", outcomes, lambda o: {})


# ---------------------------------------------------------------- DetachInstanceRamRole


class DetachInstanceRamRoleRequest(Request):
    region_id: str = ""
    instance_ids: str = ""
    ram_role_name: str = ""


def _detach_one(
    ctx: Context, instance_id: str, held: Row[Any] | None, wanted: str, passed: set[str]
) -> _Outcome:
    if held is None:
        return _Outcome(instance_id, "InvalidRamRole.NotFound", "The instance has no RAM role attached.")
    if wanted and held.role_name != wanted:
        return _Outcome(
            instance_id,
            "InvalidRamRole.NotFound",
            f"The instance holds the RAM role {held.role_name!r}, not {wanted!r}.",
        )
    if held.role_name not in passed:
        require_pass_role(ctx, held.role_name)
        passed.add(held.role_name)
    store.detach(ctx.conn, instance_id)
    ctx.touched.append(instance_id)
    return _Outcome(instance_id, message="success", detached=held.role_name)


@operation(ECS, "DetachInstanceRamRole", DetachInstanceRamRoleRequest, resources=_detach_arns, writes=True)
def detach_instance_ram_role(ctx: Context, req: DetachInstanceRamRoleRequest) -> Body:
    """Take the role away from instances (all of them, or those holding ``RamRoleName``). Credentials
    already handed out stay valid until they expire; the metadata service stops serving them at once."""
    ids = instance_ids(req.instance_ids)
    if req.ram_role_name:
        require_pass_role(ctx, req.ram_role_name)
        if find_role(ctx.conn, ctx.account_id, req.ram_role_name) is None:
            raise ATTACH_FAULTS.not_found.error()
    _lock_vpc_instances(ctx, ids)
    current = store.roles_of(ctx.conn, ids)
    passed = {req.ram_role_name} if req.ram_role_name else set()
    outcomes = [_detach_one(ctx, i, current.get(i), req.ram_role_name, passed) for i in ids]

    def role_sets(o: _Outcome) -> Body:
        sets = [{"InstanceId": o.instance_id, "RamRoleName": o.detached}] if o.detached else []
        return {"InstanceRamRoleSets": {"InstanceRamRoleSet": sets}}

    return _results(req.ram_role_name, "DetachInstanceRamRole", outcomes, role_sets)


# ---------------------------------------------------------------- DescribeInstanceRamRole


class DescribeInstanceRamRoleRequest(Request):
    region_id: str = ""
    instance_ids: str = ""
    ram_role_name: str = ""
    page_number: int = 1
    page_size: int = 10


@operation(ECS, "DescribeInstanceRamRole", DescribeInstanceRamRoleRequest, resources=_describe_arns)
def describe_instance_ram_role(ctx: Context, req: DescribeInstanceRamRoleRequest) -> Body:
    """Instances of the region holding a role, by instance ids and/or role name."""
    if not req.instance_ids.strip() and not req.ram_role_name:
        raise ApiError("InvalidParameter.AllEmpty", "Either InstanceIds or RamRoleName must be given.", 403)
    offset, limit = page_window(req.page_number, req.page_size, MAX_PAGE_SIZE)
    ids = instance_ids(req.instance_ids) if req.instance_ids.strip() else None
    role_id = None
    if req.ram_role_name:
        role = find_role(ctx.conn, ctx.account_id, req.ram_role_name)
        if role is None:
            raise ATTACH_FAULTS.not_found.error()
        role_id = role.id
    for instance_id in ids or []:
        row = compute.get_instance(ctx.conn, ctx.account_id, instance_id)
        if row is None or row.region_id != ctx.region_id:
            raise instance_not_found()
        if row.network_type != "vpc":
            raise classic_refused()
    page = store.list_attachments(ctx.conn, ctx.account_id, ctx.region_id, ids, role_id, offset, limit)
    return {
        "RegionId": ctx.region_id,
        "TotalCount": page.total,
        "InstanceRamRoleSets": {
            "InstanceRamRoleSet": [
                {"InstanceId": r.instance_id, "RamRoleName": r.role_name} for r in page.rows
            ]
        },
    }


# ---------------------------------------------------------------- metadata options


HTTP_ENDPOINT = ("enabled", "disabled")
HTTP_TOKENS = ("optional", "required")
MAX_HOP_LIMIT = 64


def metadata_options(
    current: store.MetadataOptions, http_endpoint: str, http_tokens: str, hop_limit: int | None
) -> store.MetadataOptions:
    """``current`` with the given values, each checked (shared with RunInstances/CreateInstance)."""
    if http_endpoint and http_endpoint not in HTTP_ENDPOINT:
        raise invalid_parameter("HttpEndpoint", "It must be enabled or disabled.")
    if http_tokens and http_tokens not in HTTP_TOKENS:
        raise invalid_parameter("HttpTokens", "It must be optional or required.")
    if hop_limit is not None and not 1 <= hop_limit <= MAX_HOP_LIMIT:
        raise invalid_parameter("HttpPutResponseHopLimit", f"It must be between 1 and {MAX_HOP_LIMIT}.")
    return store.MetadataOptions(
        http_endpoint or current.http_endpoint,
        http_tokens or current.http_tokens,
        hop_limit if hop_limit is not None else current.hop_limit,
    )


def render_options(options: store.MetadataOptions) -> Body:
    """DescribeInstances' ``MetadataOptions``."""
    return {
        "HttpEndpoint": options.http_endpoint,
        "HttpTokens": options.http_tokens,
        "HttpPutResponseHopLimit": options.hop_limit,
        "InstanceMetadataTags": "disabled",
    }


class ModifyInstanceMetadataOptionsRequest(Request):
    instance_id: str = ""
    region_id: str = ""
    http_endpoint: str = ""
    http_tokens: str = ""
    http_put_response_hop_limit: int | None = None
    instance_metadata_tags: str = ""


def _one_instance_arn(ctx: Context, req: ModifyInstanceMetadataOptionsRequest) -> list[str]:
    return [ctx.arn(f"instance/{req.instance_id or '*'}")]


@operation(
    ECS,
    "ModifyInstanceMetadataOptions",
    ModifyInstanceMetadataOptionsRequest,
    resources=_one_instance_arn,
    writes=True,
)
def modify_instance_metadata_options(ctx: Context, req: ModifyInstanceMetadataOptionsRequest) -> Body:
    """Turn the metadata service on or off for the instance, or require hardened mode (a token); it
    applies at once. The hop limit is kept and shown; the service answers the instance's own address
    only, so there are no hops to count."""
    if not req.instance_id:
        raise _missing("InstanceId")
    if req.instance_metadata_tags not in ("", "disabled"):
        raise invalid_parameter("InstanceMetadataTags", "Instance tags are not served in metadata here.")
    row = compute.lock_instance(ctx.db, ctx.conn, ctx.account_id, req.instance_id)
    if row is None or row.region_id != ctx.region_id:
        raise instance_not_found()
    current = store.options_of(ctx.conn, [row.id])[row.id]
    options = metadata_options(current, req.http_endpoint, req.http_tokens, req.http_put_response_hop_limit)
    store.set_options(ctx.conn, row.id, options)
    ctx.touched.append(row.id)
    return {}
