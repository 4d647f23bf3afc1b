"""ECS security groups: create, describe, modify, delete, references (SG-1, SG-3, SG-12, SG-13, SG-17).

Rules live in ``sg_rules.py``; both modules find groups through ``load_group`` here. Every modifying
call refuses a group a cloud service manages (SG-12) unless that service itself is calling.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from secplane.operations.context import Context
from secplane.operations.ecs import common
from secplane.operations.paging import clamp_max_results, page_window
from secplane.operations.registry import ECS, Body, any_of, operation
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import security_groups as store
from secplane.store import tags as tag_store
from secplane.store import vpc as vpc_store

GROUP_TYPES = ("normal", "enterprise")
MAX_IDS_FILTER = 100
MAX_REFERENCE_IDS = 10
MAX_REFERENCES = 100
# Private-network capacity of a group (SG-9): what AvailableInstanceAmount counts down from.
CAPACITY = {"normal": 2000, "enterprise": 65536}
TAG_RESOURCE_TYPE = "securitygroup"

# 2..128 characters, a (Unicode) letter first, then letters, digits, ':', '_', '.', '-'.
_NAME = re.compile(r"[^\W\d_][\w:.\-]{1,127}")


# ---------------------------------------------------------------- shared with sg_rules.py


def group_arn(ctx: Context, req: Any) -> list[str]:
    """The RAM resource of calls about one group."""
    return [ctx.arn(f"securitygroup/{req.security_group_id}")]


def group_not_found() -> ApiError:
    return not_found("InvalidSecurityGroupId.NotFound", "The specified SecurityGroupId does not exist.")


def load_group(ctx: Context, group_id: str) -> store.Group:
    """The caller's group in the call's region, or 404."""
    if not group_id:
        raise missing_parameter("SecurityGroupId")
    row = store.group_in_region(ctx.conn, ctx.account_id, group_id, ctx.region_id)
    if row is None:
        raise group_not_found()
    return row


def lock_group(ctx: Context, group_id: str, *, changing: bool = False) -> store.Group:
    """``load_group`` with the row locked for the rest of the transaction; ``changing``: the caller
    changes the group, and its revision moves now (``store.lock_group_to_change``)."""
    if not group_id:
        raise missing_parameter("SecurityGroupId")
    if changing:
        row = store.lock_group_to_change(ctx.conn, group_id)
    else:
        row = store.lock_group(ctx.db, ctx.conn, group_id)
    if row is None or row.account_id != ctx.account_id or row.region_id != ctx.region_id:
        raise group_not_found()
    return row


def ensure_writable(ctx: Context, row: store.Group) -> None:
    common.ensure_not_managed(ctx, row.service_managed, row.service_id)


# ---------------------------------------------------------------- validation


def _check_name(name: str) -> None:
    if name and not _NAME.fullmatch(name):
        raise ApiError(
            "InvalidSecurityGroupName.Malformed",
            "Specified security group name is not valid. It must be 2 to 128 characters long, start with a "
            "letter and contain only letters, digits, colons (:), underscores (_), periods (.) and hyphens "
            "(-).",
        )


def _check_description(description: str) -> None:
    if description and (
        not 2 <= len(description) <= 256
        or description.lower().startswith(("http://", "https://"))
        or "\x00" in description  # no database stores it
    ):
        raise ApiError(
            "InvalidSecurityGroupDiscription.Malformed",
            "Specified security group description is not valid. It must be 2 to 256 characters long and "
            "must not start with http:// or https://.",
        )


def _group_type(value: str) -> str:
    group_type = (value or "normal").strip().lower()
    if group_type not in GROUP_TYPES:
        raise ApiError("InvalidParams.GroupType", "The specified security group type is not valid.")
    return group_type


def _managing_service(ctx: Context, wanted: bool) -> int:
    """The ServiceID of a managed group being created (0: not managed). Only a service may create one."""
    if not wanted:
        return 0
    if ctx.principal.kind != "service" or not ctx.principal.name.isdigit():
        raise invalid_parameter("ServiceManaged", "Only a cloud service can create a managed security group.")
    return int(ctx.principal.name)


# ---------------------------------------------------------------- CreateSecurityGroup


class CreateSecurityGroupRequest(Request):
    region_id: str
    vpc_id: str = ""
    security_group_name: str = ""
    description: str = ""
    security_group_type: str = ""
    resource_group_id: str = ""
    service_managed: bool = False
    tag: list[common.TagParam] = []


@operation(
    ECS,
    "CreateSecurityGroup",
    CreateSecurityGroupRequest,
    resources=any_of("securitygroup"),
    writes=True,
    idempotent=True,
)
def create_security_group(ctx: Context, req: CreateSecurityGroupRequest) -> Body:
    _check_name(req.security_group_name)
    _check_description(req.description)
    group_type = _group_type(req.security_group_type)
    tags = common.validate_tags(req.tag)
    service_id = _managing_service(ctx, req.service_managed)
    if group_type == "enterprise" and not req.vpc_id:
        raise ApiError(
            "InvalidParams.VpcIdGroupType", "Only VPC instance supports enterprise level security group."
        )
    if req.vpc_id:
        _check_vpc(ctx, req.vpc_id)
    resource_group = common.resource_group(ctx, req.resource_group_id)
    group_id = store.insert_group(
        ctx.conn,
        account_id=ctx.account_id,
        region_id=ctx.region_id,
        vpc_id=req.vpc_id,
        name=req.security_group_name,
        description=req.description,
        group_type=group_type,
        resource_group_id=resource_group,
        now=ctx.now,
        service_managed=service_id != 0,
        service_id=service_id,
    )
    tag_store.set_tags(ctx.conn, ctx.account_id, ctx.region_id, TAG_RESOURCE_TYPE, group_id, tags)
    ctx.touched.append(group_id)
    return {"SecurityGroupId": group_id}


def _check_vpc(ctx: Context, vpc_id: str) -> None:
    """The VPC must be the caller's, in the call's region. It stays locked so that DeleteVpc, which locks
    it too, sees this group."""
    vpc = vpc_store.lock_vpc(ctx.db, ctx.conn, ctx.account_id, vpc_id)
    if vpc is None or vpc.region_id != ctx.region_id:
        raise not_found("InvalidVpcId.NotFound", "Specified VPC does not exist.")
    if vpc.status != "Available":
        raise ApiError("IncorrectVpcStatus", "Current VPC status does not support this operation.")


# ---------------------------------------------------------------- DescribeSecurityGroups


class DescribeSecurityGroupsRequest(Request):
    region_id: str
    vpc_id: str = ""
    security_group_id: str = ""
    security_group_ids: list[str] = []
    security_group_name: str = ""
    security_group_type: str = ""
    network_type: str = ""
    resource_group_id: str = ""
    service_managed: bool | None = None
    tag: list[common.TagParam] = []
    is_query_ecs_count: bool = False
    fuzzy_query: bool = False
    dry_run: bool = False
    max_results: int | None = None
    next_token: str = ""
    page_number: int | None = None
    page_size: int | None = None


def _describe_filter(req: DescribeSecurityGroupsRequest) -> store.GroupFilter:
    if len(req.security_group_ids) > MAX_IDS_FILTER:
        raise invalid_parameter("SecurityGroupIds", f"At most {MAX_IDS_FILTER} ids may be given.")
    ids: list[str] | None = None
    if req.security_group_ids:
        ids = list(req.security_group_ids)
    if req.security_group_id:
        ids = [i for i in (ids or [req.security_group_id]) if i == req.security_group_id]
    group_type = req.security_group_type.strip().lower()
    if group_type and group_type not in GROUP_TYPES:
        raise ApiError("InvalidParameter.SecurityGroupType", "The specified SecurityGroupType is not valid.")
    network = req.network_type.strip().lower()
    if network not in ("", "vpc", "classic"):
        raise invalid_parameter("NetworkType", "It must be vpc or classic.")
    return store.GroupFilter(
        ids=ids,
        vpc_id=req.vpc_id or None,
        name=req.security_group_name or None,
        group_type=group_type or None,
        classic=None if not network else network == "classic",
        service_managed=req.service_managed,
        resource_group_id=req.resource_group_id or None,
        tags=common.tag_filters(req.tag),
    )


def _token_mode(req: DescribeSecurityGroupsRequest) -> bool:
    token = req.max_results is not None or bool(req.next_token)
    if token and (req.page_number is not None or req.page_size is not None):
        raise ApiError(
            "NotSupported.PageNumberAndPageSize",
            "PageNumber and PageSize cannot be used together with MaxResults and NextToken.",
        )
    return token


def _encode_key_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(f"k:{last_id}".encode()).decode().rstrip("=")


def _decode_key_token(token: str) -> str | None:
    """The last id of the previous page; None for the first page."""
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("k:") or len(text) < 3:
        raise ApiError("InValidParameter.NextToken", "The parameter NextToken is invalid.")
    return text[2:]


@operation(ECS, "DescribeSecurityGroups", DescribeSecurityGroupsRequest, resources=any_of("securitygroup"))
def describe_security_groups(ctx: Context, req: DescribeSecurityGroupsRequest) -> Body:
    f = _describe_filter(req)
    token_mode = _token_mode(req)
    if token_mode:
        limit = clamp_max_results(req.max_results, 1, 100, 10)
        after = _decode_key_token(req.next_token)
    else:
        page_number = 1 if req.page_number is None else req.page_number
        page_size = 10 if req.page_size is None else req.page_size
        offset, limit = page_window(page_number, page_size)
    if req.dry_run:
        raise common.dry_run_passed()
    if token_mode:
        rows = store.list_groups(ctx.conn, ctx.account_id, ctx.region_id, f, limit=limit + 1, before_id=after)
        more = len(rows) > limit
        rows = rows[:limit]
        paging: Body = {"NextToken": _encode_key_token(rows[-1].id) if more else ""}
    else:
        total = store.count_groups(ctx.conn, ctx.account_id, ctx.region_id, f)
        rows = (
            store.list_groups(ctx.conn, ctx.account_id, ctx.region_id, f, limit=limit, offset=offset)
            if total > offset
            else []
        )
        paging = {"TotalCount": total, "PageNumber": page_number, "PageSize": page_size, "NextToken": ""}
    return {
        "RegionId": ctx.region_id,
        **paging,
        "SecurityGroups": {"SecurityGroup": _group_items(ctx, rows)},
    }


def _group_items(ctx: Context, rows: list[store.Group]) -> list[Body]:
    """The page's groups with their counts and tags: three bulk queries, whatever the page size."""
    ids = [row.id for row in rows]
    counts = store.rule_counts(ctx.conn, ids)
    members = store.member_counts(ctx.conn, ids)
    tags = tag_store.tags_of(ctx.conn, TAG_RESOURCE_TYPE, ids)
    items = []
    for row in rows:
        rule_count, group_rule_count = counts.get(row.id, (0, 0))
        instances, enis = members.get(row.id, (0, 0))
        items.append(
            {
                "SecurityGroupId": row.id,
                "SecurityGroupName": row.name,
                "Description": row.description,
                "SecurityGroupType": row.group_type,
                "VpcId": row.vpc_id,
                "CreationTime": common.iso_seconds(row.created_at),
                "ResourceGroupId": row.resource_group_id,
                "ServiceManaged": bool(row.service_managed),
                "ServiceID": int(row.service_id),
                "RuleCount": rule_count,
                "GroupToGroupRuleCount": group_rule_count,
                "EcsCount": instances,
                "AvailableInstanceAmount": max(CAPACITY[row.group_type] - enis, 0),
                "Tags": common.render_tags(tags.get(row.id, [])),
            }
        )
    return items


# ---------------------------------------------------------------- ModifySecurityGroupAttribute


class ModifySecurityGroupAttributeRequest(Request):
    region_id: str
    security_group_id: str
    security_group_name: str = ""
    description: str = ""


@operation(
    ECS,
    "ModifySecurityGroupAttribute",
    ModifySecurityGroupAttributeRequest,
    resources=group_arn,
    writes=True,
)
def modify_security_group_attribute(ctx: Context, req: ModifySecurityGroupAttributeRequest) -> Body:
    """Rename or re-describe; an absent (or empty) value leaves the attribute as it is."""
    _check_name(req.security_group_name)
    _check_description(req.description)
    row = load_group(ctx, req.security_group_id)
    ensure_writable(ctx, row)
    changes = {
        key: value
        for key, value in (("name", req.security_group_name), ("description", req.description))
        if value
    }
    if changes:
        store.update_group(ctx.conn, row.id, **changes)
    return {}


# ---------------------------------------------------------------- ModifySecurityGroupPolicy


class ModifySecurityGroupPolicyRequest(Request):
    region_id: str
    security_group_id: str
    inner_access_policy: str = ""


def _inner_policy(value: str) -> str:
    if not value:
        raise missing_parameter("InnerAccessPolicy")
    policy = value.strip().capitalize()
    if policy not in ("Accept", "Drop"):
        raise ApiError(
            "InvalidPolicy.Malformed",
            "The Policy is invalid. Only 'Accept' and 'Drop' are supported. Ignore case.",
        )
    return policy


@operation(
    ECS,
    "ModifySecurityGroupPolicy",
    ModifySecurityGroupPolicyRequest,
    resources=group_arn,
    writes=True,
    idempotent=True,
)
def modify_security_group_policy(ctx: Context, req: ModifySecurityGroupPolicyRequest) -> Body:
    """SG-3: normal groups only. The enterprise refusal is the code and message Alibaba returned to
    Terraform for exactly this call (terraform-provider-alicloud issue #2022)."""
    policy = _inner_policy(req.inner_access_policy)
    row = lock_group(ctx, req.security_group_id)
    ensure_writable(ctx, row)
    if row.group_type == "enterprise":
        raise ApiError(
            "InvalidParameter.InnerAccessPolicy",
            "The InnerAccessPolicy attribute of enterprise level security group can't be modified.",
        )
    if policy != row.inner_access_policy:
        store.update_group(ctx.conn, row.id, inner_access_policy=policy)
        store.bump_revision(ctx.conn, [row.id])
    return {}


# ---------------------------------------------------------------- DeleteSecurityGroup


class DeleteSecurityGroupRequest(Request):
    region_id: str
    security_group_id: str


@operation(ECS, "DeleteSecurityGroup", DeleteSecurityGroupRequest, resources=group_arn, writes=True)
def delete_security_group(ctx: Context, req: DeleteSecurityGroupRequest) -> Body:
    """SG-13. The group row is locked first: membership changes and rules that reference the group
    lock it as well, so neither can slip in between the checks and the delete."""
    row = lock_group(ctx, req.security_group_id)
    ensure_writable(ctx, row)
    if store.has_members(ctx.conn, row.id):
        raise ApiError(
            "DependencyViolation", "There is still instance(s) in the specified security group.", 403
        )
    if store.is_referenced(ctx.conn, row.id):
        raise ApiError(
            "DependencyViolation", "The specified security group has been authorized in another one.", 403
        )
    store.delete_group(ctx.conn, row.id)
    ctx.touched.append(row.id)
    return {}


# ---------------------------------------------------------------- DescribeSecurityGroupReferences


class DescribeSecurityGroupReferencesRequest(Request):
    region_id: str
    security_group_id: list[str] = []


def _reference_arns(ctx: Context, req: DescribeSecurityGroupReferencesRequest) -> list[str]:
    return [ctx.arn(f"securitygroup/{group_id}") for group_id in req.security_group_id] or [ctx.arn("*")]


@operation(
    ECS, "DescribeSecurityGroupReferences", DescribeSecurityGroupReferencesRequest, resources=_reference_arns
)
def describe_security_group_references(ctx: Context, req: DescribeSecurityGroupReferencesRequest) -> Body:
    """Which groups (of any account) have rules that authorize each of the given groups."""
    wanted = list(dict.fromkeys(i for i in req.security_group_id if i))
    if not 1 <= len(wanted) <= MAX_REFERENCE_IDS:
        raise ApiError(
            "InvalidSecurityGroupId.Malformed",
            "The specified parameter SecurityGroupId is essential and size should less than 10",
        )
    found = store.groups_by_id(ctx.conn, wanted)
    for group_id in wanted:
        row = found.get(group_id)
        if row is None or row.account_id != ctx.account_id or row.region_id != ctx.region_id:
            raise not_found(
                "InvalidSecurityGroupId.NotFound",
                "The SecurityGroupId provided does not exist in our records.",
            )
    referencing: dict[str, list[Body]] = {group_id: [] for group_id in wanted}
    for target, group_id, account_id in store.referencing_groups(ctx.conn, wanted, MAX_REFERENCES):
        referencing[target].append({"SecurityGroupId": group_id, "AliUid": account_id})
    return {
        "SecurityGroupReferences": {
            "SecurityGroupReference": [
                {
                    "SecurityGroupId": group_id,
                    "ReferencingSecurityGroups": {"ReferencingSecurityGroup": referencing[group_id]},
                }
                for group_id in wanted
            ]
        }
    }
