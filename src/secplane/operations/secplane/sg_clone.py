"""``CloneSecurityGroup`` (Secplane 2026-11-28; SPEC SG-14): a new group from an existing one, in the
same region or another, optionally on another network type.

The clone gets the source's name (as given), description, type, intra-group policy, resource group and
tags; never its members. Rules of priority 1..100 are copied; with ``IncludeAllRules=true`` also those
above 100 (old system rules), which get priority 100. A rule that cannot exist in the clone is not
dropped silently: the answer lists it with the reason — a security group or prefix list of another
region, a security group of another VPC, an internet-NIC rule going to a VPC, a prefix list going to
the classic network.

Network of the clone: ``VpcId`` (a VPC of the destination region) makes it a VPC group; without it a
classic group stays classic and a VPC group keeps its VPC when it stays in its region.
``NetworkType=classic`` clones into the classic network (not an enterprise group: those are VPC only).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from secplane.domain.regions import REGIONS_BY_ID
from secplane.domain.sg_rules import normalize, to_fields
from secplane.operations.context import Context
from secplane.operations.ecs.security_groups import TAG_RESOURCE_TYPE, _check_name, load_group
from secplane.operations.registry import SECPLANE, Body, operation
from secplane.operations.secplane import sg_tools
from secplane.operations.secplane.sg_tools import Candidate
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import security_groups as store
from secplane.store import tags as tag_store
from secplane.store import vpc as vpc_store


class CloneSecurityGroupRequest(Request):
    region_id: str
    security_group_id: str
    security_group_name: str = ""
    destination_region_id: str = ""  # "" = the source's region
    vpc_id: str = ""
    network_type: str = ""  # vpc | classic; "" = from VpcId and the source
    include_all_rules: bool = False


def _arns(ctx: Context, req: CloneSecurityGroupRequest) -> list[str]:
    """The source group, and the group to be created in the destination region."""
    return [
        *sg_tools.group_arns(ctx, req.security_group_id),
        *sg_tools.group_arns(ctx, "", region=req.destination_region_id or ctx.region_id),
    ]


def _destination_region(value: str) -> str:
    if value not in REGIONS_BY_ID:
        raise not_found(
            "InvalidDestinationRegionId.NotFound", f"The DestinationRegionId {value!r} does not exist."
        )
    return value


def _destination_vpc(ctx: Context, source: store.Group, region: str, req: CloneSecurityGroupRequest) -> str:
    """The clone's VPC ("" for the classic network), locked like CreateSecurityGroup locks it."""
    network = req.network_type.strip().lower()
    if network not in ("", "vpc", "classic"):
        raise invalid_parameter("NetworkType", "It must be vpc or classic.")
    if network == "classic":
        if req.vpc_id:
            raise invalid_parameter("VpcId", "A classic network security group has no VPC.")
        if source.group_type == "enterprise":
            raise ApiError(
                "InvalidParams.VpcIdGroupType", "Only VPC instance supports enterprise level security group."
            )
        return ""
    vpc_id = req.vpc_id
    if not vpc_id:
        if network == "" and not source.vpc_id:
            return ""
        if not source.vpc_id or region != source.region_id:
            raise ApiError(
                "MissingParameter",
                'The input parameter "VpcId" that is mandatory for processing this request is not supplied: '
                f"a VPC security group in {region} needs a VPC of that region.",
            )
        vpc_id = source.vpc_id
    vpc = vpc_store.lock_vpc(ctx.db, ctx.conn, ctx.account_id, vpc_id)
    if vpc is None or vpc.region_id != region:
        raise not_found("InvalidVpcId.NotFound", f"Specified VPC does not exist in region {region}.")
    if vpc.status != "Available":
        raise ApiError("IncorrectVpcStatus", "Current VPC status does not support this operation.")
    return vpc_id


def _candidate(row: Row[Any], view: Body, vpc_id: str, include_all: bool) -> Candidate:
    """A source rule as the clone would hold it, or why it cannot."""
    c = Candidate(view)
    rule = store.rule_from_row(row)
    try:
        if rule.priority > 100:
            if not include_all:
                raise ApiError(
                    "InvalidPriority.ValueNotSupported",
                    f"The rule has priority {rule.priority}: rules above 100 are copied (with priority 100) "
                    "only with IncludeAllRules=true.",
                )
            rule = rule._replace(priority=100)
        if vpc_id and rule.nic_type == "internet":
            raise sg_tools.internet_rule_in_vpc(vpc_id)
        c.rule = normalize(rule.direction, to_fields(rule), vpc=bool(vpc_id))
    except ApiError as err:
        c.problem = err
    return c


@operation(
    SECPLANE, "CloneSecurityGroup", CloneSecurityGroupRequest, resources=_arns, writes=True, idempotent=True
)
def clone_security_group(ctx: Context, req: CloneSecurityGroupRequest) -> Body:
    if not req.security_group_name:
        raise missing_parameter("SecurityGroupName")
    _check_name(req.security_group_name)
    source = load_group(ctx, req.security_group_id)
    region = _destination_region(req.destination_region_id or ctx.region_id)
    vpc_id = _destination_vpc(ctx, source, region, req)
    clone_id = store.insert_group(
        ctx.conn, account_id=ctx.account_id, region_id=region, vpc_id=vpc_id, name=req.security_group_name,
        description=source.description, group_type=source.group_type,
        resource_group_id=source.resource_group_id, now=ctx.now,
    )  # fmt: skip
    store.update_group(ctx.conn, clone_id, inner_access_policy=source.inner_access_policy)
    tags = tag_store.tags_of(ctx.conn, TAG_RESOURCE_TYPE, [source.id]).get(source.id, [])
    tag_store.set_tags(ctx.conn, ctx.account_id, region, TAG_RESOURCE_TYPE, clone_id, dict(tags))
    rows = store.rules_of(ctx.conn, [source.id])
    candidates = [
        _candidate(row, view, vpc_id, req.include_all_rules)
        for row, view in zip(rows, sg_tools.row_views(ctx, rows), strict=True)
    ]
    holder, lists = sg_tools.lock_and_check(ctx, clone_id, candidates)
    sg_tools.mark_duplicates(candidates, {})
    sg_tools.fit_quota(ctx, holder, candidates, lists)
    copied = sg_tools.admitted(candidates)
    sg_tools.write(ctx, holder, copied, [], lists)
    ctx.touched.append(source.id)
    skipped = [{**c.view, **c.report()} for c in candidates if not c.ok]
    return {
        "SecurityGroupId": clone_id,
        "RegionId": region,
        "VpcId": vpc_id,
        "CopiedRuleCount": len(copied),
        "SkippedRuleCount": len(skipped),
        "SkippedRules": {"SkippedRule": skipped},
    }
