"""Security-group membership (SG-9, SG-11): JoinSecurityGroup, LeaveSecurityGroup, and the checks every
call that sets an instance's or ENI's groups shares (RunInstances, CreateInstance,
ModifyInstanceAttribute, CreateNetworkInterface, ModifyNetworkInterfaceAttribute).

Membership is per ENI; an instance joins through its primary ENI. Limits are checked inside the write
transaction after locking the instance/ENI row and then the group rows (store.compute's lock order),
so concurrent joins in any number of server processes cannot exceed them. Each action reports a
broken limit with the error code Alibaba documents for that action (``Vocabulary``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row

from secplane.operations.context import Context
from secplane.operations.ecs.common import ensure_not_managed
from secplane.operations.registry import ECS, Body, operation
from secplane.protocol.errors import ApiError, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import compute
from secplane.store import security_groups as sg_store

MAX_GROUPS_PER_ENI = 5
# Private IPs (one per member ENI here) a group holds: SG-9.
GROUP_CAPACITY = {"normal": 2000, "enterprise": 65536}
SETTLED = ("Running", "Stopped")


@dataclass(frozen=True, slots=True)
class Fault:
    code: str
    status: int
    message: str

    def error(self, detail: str = "") -> ApiError:
        return ApiError(self.code, f"{self.message} {detail}".strip(), self.status)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """How one action names each broken rule."""

    not_found: Fault
    too_many: Fault
    classic_group: Fault  # a classic group for a VPC instance/ENI
    vpc_group: Fault  # a VPC group for a classic instance
    other_vpc: Fault  # a group of another VPC
    capacity: Fault
    repeated: Fault = Fault(
        "InvalidParameter.SecurityGroupIdRepeated", 404, "The specified security group ids has repeated."
    )


_NOT_FOUND = Fault("InvalidSecurityGroupId.NotFound", 404, "The SecurityGroupId provided does not exist.")
_TOO_MANY_FOR_INSTANCE = Fault(
    "InstanceSecurityGroupLimitExceeded",
    400,
    f"Exceeding the allowed amount of security groups that an instance can be in ({MAX_GROUPS_PER_ENI}).",
)
_CAPACITY = Fault(
    "SecurityGroupInstanceLimitExceed",
    403,
    "The private IP capacity of the security group is exhausted "
    f"(normal: {GROUP_CAPACITY['normal']}, enterprise: {GROUP_CAPACITY['enterprise']}).",
)

CREATE_INSTANCE = Vocabulary(
    not_found=_NOT_FOUND,
    too_many=_TOO_MANY_FOR_INSTANCE,
    classic_group=Fault(
        "InvalidParameter.Mismatch",
        400,
        "Specified security group and virtual switch are not in the same VPC.",
    ),
    vpc_group=Fault(
        "InvalidVSwitchId.Necessary", 400, "The VSwitchId is necessary: the security group belongs to a VPC."
    ),
    other_vpc=Fault(
        "InvalidParameter.Mismatch",
        400,
        "Specified security group and virtual switch are not in the same VPC.",
    ),
    capacity=_CAPACITY,
)
JOIN_INSTANCE = Vocabulary(
    not_found=Fault("InvalidSecurityGroupId.NotFound", 404, "The specified SecurityGroupId does not exist."),
    too_many=_TOO_MANY_FOR_INSTANCE,
    classic_group=Fault(
        "InvalidInstanceId.Mismatch", 400, "Specified instance and security group are not in the same VPC."
    ),
    vpc_group=Fault(
        "InvalidInstanceId.Mismatch",
        400,
        "Specified instance and security group are not in the same VPC (the instance is classic).",
    ),
    other_vpc=Fault(
        "InvalidInstanceId.Mismatch", 400, "Specified instance and security group are not in the same VPC."
    ),
    capacity=Fault(
        "SecurityGroupInstanceLimitExceeded",
        403,
        "The private IP capacity of the security group is exhausted.",
    ),
)
JOIN_ENI = Vocabulary(
    not_found=JOIN_INSTANCE.not_found,
    too_many=_TOO_MANY_FOR_INSTANCE,
    classic_group=Fault(
        "InvalidSecurityGroupId.NotVpc", 403, "The security group is in the classic network, not in a VPC."
    ),
    vpc_group=JOIN_INSTANCE.vpc_group,
    other_vpc=Fault(
        "InvalidOperation.VpcMismatch",
        403,
        "The network interface and the security group are in different VPCs.",
    ),
    capacity=JOIN_INSTANCE.capacity,
)
MODIFY_INSTANCE = Vocabulary(
    not_found=JOIN_INSTANCE.not_found,
    too_many=_TOO_MANY_FOR_INSTANCE,
    classic_group=Fault(
        "InvalidSecurityGroupType.NotSupportClassic",
        404,
        "A classic-network security group cannot be used by a VPC instance.",
    ),
    vpc_group=Fault(
        "InvalidSecurityGroupVpc.NotBelongToOneVpc",
        404,
        "The specified SecurityGroupIds are belong to different vpc: the instance is in the classic network.",
    ),
    other_vpc=Fault(
        "InvalidSecurityGroupVpc.NotBelongToOneVpc",
        404,
        "The specified SecurityGroupIds are belong to different vpc.",
    ),
    capacity=_CAPACITY,
)
ENI = Vocabulary(
    not_found=_NOT_FOUND,
    too_many=Fault(
        "JoinedGroupLimitExceed",
        400,
        f"A network interface can be in at most {MAX_GROUPS_PER_ENI} security groups.",
    ),
    classic_group=JOIN_ENI.classic_group,
    vpc_group=JOIN_ENI.classic_group,  # classic ENIs are never reachable as ENIs
    other_vpc=JOIN_ENI.other_vpc,
    capacity=_CAPACITY,
)


def mixed_types() -> ApiError:
    return ApiError(
        "EnterpriseGroupLimited.MutliGroupType",
        "The specified instance can not join multi SecurityGroup types (normal and enterprise).",
        403,
    )


# ---------------------------------------------------------------- lookups shared by the ECS actions


def instance_not_found() -> ApiError:
    return not_found("InvalidInstanceId.NotFound", "The specified InstanceId does not exist.")


def eni_not_found(eni_id: str) -> ApiError:
    return not_found("InvalidEniId.NotFound", f"The specified network interface {eni_id} does not exist.")


def lock_instance(ctx: Context, instance_id: str, region_id: str) -> Row[Any]:
    """The caller's instance, locked; ``region_id`` (when the call names one) must be its region."""
    if not instance_id:
        raise missing_parameter("InstanceId")
    row = compute.lock_instance(ctx.db, ctx.conn, ctx.account_id, instance_id)
    if row is None or (region_id and row.region_id != region_id):
        raise instance_not_found()
    return row


def lock_visible_eni(ctx: Context, eni_id: str, region_id: str) -> Row[Any]:
    """The caller's ENI in the region, locked. Classic primary ENIs are internal: not found."""
    if not eni_id:
        raise missing_parameter("NetworkInterfaceId")
    row = compute.lock_eni(ctx.db, ctx.conn, ctx.account_id, eni_id)
    if row is None or row.region_id != region_id or not row.vpc_id:
        raise eni_not_found(eni_id)
    return row


def lock_primary_eni(ctx: Context, instance: Row[Any]) -> Row[Any]:
    eni_id = compute.primary_eni_id(ctx.conn, instance.id)
    row = compute.lock_eni(ctx.db, ctx.conn, ctx.account_id, eni_id) if eni_id else None
    if row is None:  # every instance has one; a missing one is a broken store, not a client error
        raise RuntimeError(f"instance {instance.id} has no primary network interface")
    return row


def require_settled(instance: Row[Any]) -> None:
    if instance.status not in SETTLED:
        raise incorrect_status()


def incorrect_status() -> ApiError:
    return ApiError(
        "IncorrectInstanceStatus", "The current status of the resource does not support this operation.", 403
    )


# ---------------------------------------------------------------- the shared checks


def resolve_groups(
    ctx: Context,
    group_ids: Sequence[str],
    region_id: str,
    words: Vocabulary,
    also_lock: Sequence[str] = (),
) -> list[Row[Any]]:
    """Lock the named groups together with ``also_lock`` (all at once, in id order, so that writers
    never wait on each other in a cycle) and return the named ones in the order given."""
    rows = compute.lock_groups(ctx.db, ctx.conn, ctx.account_id, [*group_ids, *also_lock])
    return pick_groups(rows, group_ids, region_id, words)


def pick_groups(
    rows: dict[str, Row[Any]], group_ids: Sequence[str], region_id: str, words: Vocabulary
) -> list[Row[Any]]:
    """The named groups out of locked ``rows``: each the caller's, in ``region_id``, named once."""
    if len(set(group_ids)) != len(group_ids):
        raise words.repeated.error()
    out = []
    for group_id in group_ids:
        row = rows.get(group_id)
        if row is None or row.region_id != region_id:
            raise words.not_found.error(f"({group_id})")
        out.append(row)
    return out


def check_set(
    groups: Sequence[Row[Any]],
    vpc_id: str,
    words: Vocabulary,
    *,
    added: Sequence[Row[Any]],
    new_members: int,
    counts: dict[str, int],
) -> None:
    """SG-9 for the full group set of one ENI (or of ``new_members`` new ENIs sharing it): 1..5 groups,
    all of the ENI's network (its VPC, or classic), one group type, and room in each added group."""
    if len(groups) > MAX_GROUPS_PER_ENI:
        raise words.too_many.error()
    for group in groups:
        if vpc_id and not group.vpc_id:
            raise words.classic_group.error(f"({group.id})")
        if not vpc_id and group.vpc_id:
            raise words.vpc_group.error(f"({group.id})")
        if group.vpc_id != vpc_id:
            raise words.other_vpc.error(f"({group.id} is in {group.vpc_id}, not {vpc_id})")
    if len({group.group_type for group in groups}) > 1:
        raise mixed_types()
    for group in added:
        if counts.get(group.id, 0) + new_members > GROUP_CAPACITY.get(group.group_type, 0):
            raise words.capacity.error(f"({group.id})")


def not_managed(ctx: Context, groups: Sequence[Row[Any]]) -> None:
    """SG-12: a user may not put anything into or take anything out of a managed group."""
    for group in groups:
        ensure_not_managed(ctx, group.service_managed, group.service_id)


def set_groups(ctx: Context, eni: Row[Any], wanted_ids: Sequence[str], words: Vocabulary) -> bool:
    """Make ``wanted_ids`` the (locked) ENI's whole group set; True when it changed. Bumps the
    revision of every group that gained or lost the ENI."""
    if not wanted_ids:
        raise missing_parameter("SecurityGroupId")
    current = compute.groups_of(ctx.conn, [eni.id])[eni.id]
    wanted = resolve_groups(ctx, wanted_ids, eni.region_id, words, also_lock=current)
    added = [g for g in wanted if g.id not in current]
    removed = [gid for gid in current if gid not in wanted_ids]
    not_managed(ctx, [*added, *compute.get_groups(ctx.conn, removed)])
    counts = compute.member_counts(ctx.conn, [g.id for g in added])
    check_set(wanted, eni.vpc_id, words, added=added, new_members=1, counts=counts)
    if not added and not removed:
        return False
    compute.remove_members(ctx.conn, eni.id, current)  # re-joined in the order given, which Describe shows
    compute.add_members(ctx.conn, eni.id, wanted_ids, ctx.now)
    sg_store.bump_revision(ctx.conn, sorted({*removed, *(g.id for g in added)}))
    return True


# ---------------------------------------------------------------- Join / Leave


class MembershipRequest(Request):
    security_group_id: str
    instance_id: str = ""
    network_interface_id: str = ""
    region_id: str = ""


def _arns(ctx: Context, req: MembershipRequest) -> list[str]:
    region = req.region_id or "*"
    target = (
        f"networkinterface/{req.network_interface_id}"
        if req.network_interface_id
        else f"instance/{req.instance_id or '*'}"
    )
    return [ctx.arn(target, region=region), ctx.arn(f"securitygroup/{req.security_group_id}", region=region)]


def _member(ctx: Context, req: MembershipRequest) -> tuple[Row[Any], Vocabulary]:
    """The ENI whose membership changes (locked) and the action's error vocabulary."""
    if req.instance_id and req.network_interface_id:
        raise ApiError(
            "InvalidParam.EniIdAndInstanceId.Conflict",
            "InstanceId and NetworkInterfaceId cannot be specified at the same time.",
            403,
        )
    if req.network_interface_id:
        if not req.region_id:
            raise ApiError("MissingParameter.RegionId", "The specified RegionId should not be null.")
        return lock_visible_eni(ctx, req.network_interface_id, req.region_id), JOIN_ENI
    instance = lock_instance(ctx, req.instance_id, req.region_id)
    require_settled(instance)
    return lock_primary_eni(ctx, instance), JOIN_INSTANCE


@operation(ECS, "JoinSecurityGroup", MembershipRequest, resources=_arns, writes=True, region="optional")
def join_security_group(ctx: Context, req: MembershipRequest) -> Body:
    eni, words = _member(ctx, req)
    ensure_not_managed(ctx, eni.service_managed, eni.service_id)
    current = compute.groups_of(ctx.conn, [eni.id])[eni.id]
    (group,) = resolve_groups(ctx, [req.security_group_id], eni.region_id, words)
    ensure_not_managed(ctx, group.service_managed, group.service_id)
    if group.id in current:
        raise ApiError(
            "InvalidInstanceId.AlreadyExists",
            "The specified instance already exists in the specified security group.",
            403,
        )
    others = compute.get_groups(ctx.conn, current)  # members stay: DeleteSecurityGroup cannot take them
    counts = compute.member_counts(ctx.conn, [group.id])
    check_set([*others, group], eni.vpc_id, words, added=[group], new_members=1, counts=counts)
    compute.add_members(ctx.conn, eni.id, [group.id], ctx.now)
    sg_store.bump_revision(ctx.conn, [group.id])
    ctx.touched.extend([eni.instance_id or eni.id, group.id])
    return {}


@operation(ECS, "LeaveSecurityGroup", MembershipRequest, resources=_arns, writes=True, region="optional")
def leave_security_group(ctx: Context, req: MembershipRequest) -> Body:
    eni, words = _member(ctx, req)
    ensure_not_managed(ctx, eni.service_managed, eni.service_id)
    (group,) = resolve_groups(ctx, [req.security_group_id], eni.region_id, words)
    ensure_not_managed(ctx, group.service_managed, group.service_id)
    current = compute.groups_of(ctx.conn, [eni.id])[eni.id]
    if group.id not in current:
        raise ApiError("InstanceNotInSecurityGroup", "The instance not in the group.", 403)
    if len(current) == 1:
        raise ApiError(
            "InstanceLastSecurityGroup",
            "The specified security group is the last security group for the instance.",
            403,
        )
    compute.remove_members(ctx.conn, eni.id, [group.id])
    sg_store.bump_revision(ctx.conn, [group.id])
    ctx.touched.extend([eni.instance_id or eni.id, group.id])
    return {}
