"""VPC (``Vpc`` 2016-04-28): regions, VPCs and vSwitches.

VPCs and vSwitches are created ``Available`` at once (Alibaba's ``Pending`` phase has nothing to wait
for here). Each VPC gets its vRouter and system route table ids on creation; every vSwitch uses that
route table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from ipaddress import IPv4Network
from typing import Any

from sqlalchemy import Row

from secplane.domain import ids, network
from secplane.domain.regions import REGIONS_BY_ID
from secplane.operations.context import Context
from secplane.operations.ecs.regions import check_language, region_list
from secplane.operations.paging import page_fields, page_window
from secplane.operations.registry import VPC, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import accounts, compute
from secplane.store import vpc as store

MAX_VSWITCHES_PER_VPC = 24
MAX_IDS_PER_FILTER = 20
NAME_MAX = 128
DESCRIPTION_MAX = 256


class DescribeVpcRegionsRequest(Request):
    region_id: str = ""
    accept_language: str = "zh-CN"


@operation(VPC, "DescribeRegions", DescribeVpcRegionsRequest, region="optional")
def describe_regions(ctx: Context, req: DescribeVpcRegionsRequest) -> Body:
    check_language(req.accept_language)
    return region_list(req.accept_language, "vpc")


# ---------------------------------------------------------------- requests


class Tag(Request):
    key: str = ""
    value: str = ""


class CreateVpcRequest(Request):
    region_id: str
    cidr_block: str = ""
    vpc_name: str = ""
    description: str = ""
    resource_group_id: str = ""
    dry_run: bool = False
    tag: list[Tag] = []


class DeleteVpcRequest(Request):
    vpc_id: str
    region_id: str = ""
    force_delete: bool = False  # removes IPv4 gateways and HaVips, which do not exist here
    dry_run: bool = False


class DescribeVpcsRequest(Request):
    region_id: str
    vpc_id: str = ""
    vpc_name: str = ""
    is_default: bool | None = None
    resource_group_id: str = ""
    dhcp_options_set_id: str = ""
    enable_ipv6: bool | None = None
    vpc_owner_id: int | None = None
    tag: list[Tag] = []
    dry_run: bool = False
    page_number: int = 1
    page_size: int = 10


class DescribeVpcAttributeRequest(Request):
    region_id: str
    vpc_id: str
    dry_run: bool = False


class CreateVSwitchRequest(Request):
    vpc_id: str
    zone_id: str
    cidr_block: str = ""
    cidr_mask: int | None = None
    region_id: str = ""
    v_switch_name: str = ""
    description: str = ""
    dry_run: bool = False
    tag: list[Tag] = []


class DeleteVSwitchRequest(Request):
    v_switch_id: str
    region_id: str = ""
    dry_run: bool = False


class DescribeVSwitchesRequest(Request):
    region_id: str = ""
    vpc_id: str = ""
    v_switch_id: str = ""
    v_switch_name: str = ""
    zone_id: str = ""
    is_default: bool | None = None
    route_table_id: str = ""
    resource_group_id: str = ""
    v_switch_owner_id: int | None = None
    enable_ipv6: bool | None = None
    tag: list[Tag] = []
    dry_run: bool = False
    page_number: int = 1
    page_size: int = 10


class DescribeVSwitchAttributesRequest(Request):
    v_switch_id: str
    region_id: str = ""
    dry_run: bool = False


# ---------------------------------------------------------------- RAM resources


def _arn(kind: str, field: str | None = None) -> Callable[[Context, Any], list[str]]:
    """``acs:vpc:<region>:<account>:<kind>/<id>``; the region is ``*`` when the call names none."""

    def resources(ctx: Context, req: Any) -> list[str]:
        ident = getattr(req, field) if field else "*"
        return [ctx.arn(f"{kind}/{ident}", region=req.region_id or "*")]

    return resources


def _create_vswitch_arns(ctx: Context, req: CreateVSwitchRequest) -> list[str]:
    region = req.region_id or "*"
    return [ctx.arn("vswitch/*", region=region), ctx.arn(f"vpc/{req.vpc_id}", region=region)]


# ---------------------------------------------------------------- shared checks and shapes


def _dry_run() -> ApiError:
    return ApiError("DryRunOperation", "Request validation has been passed with DryRun flag set.")


def _check_text(value: str, code: str, what: str, max_len: int) -> None:
    """Names and descriptions: 1..max_len characters and not a URL; empty means not given."""
    if value and (len(value) > max_len or value.lower().startswith(("http://", "https://"))):
        raise ApiError(
            code,
            f"Specified {what} is not valid. It must be 1 to {max_len} characters long and must not "
            "start with http:// or https://.",
        )


def _required(value: str, name: str) -> str:
    if not value:
        raise missing_parameter(name)
    return value


def _id_list(text: str, name: str) -> list[str] | None:
    """A comma-separated id filter (None: no filter)."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    if len(items) > MAX_IDS_PER_FILTER:
        raise invalid_parameter(name, f"At most {MAX_IDS_PER_FILTER} ids can be given.")
    return items or None


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _vpc_not_found() -> ApiError:
    return not_found("InvalidVpcId.NotFound", "Specified VPC does not exist.")


def _vswitch_not_found() -> ApiError:
    return not_found("InvalidVSwitchId.NotFound", "VSwitch not exist.")


def _in_region(row: Row[Any] | store.LockedVpc | None, region_id: str) -> bool:
    """The row exists and, when the call names a region, lives there."""
    return row is not None and (not region_id or row.region_id == region_id)


def _empty_page(req: DescribeVpcsRequest | DescribeVSwitchesRequest) -> Body:
    return page_fields(0, req.page_number, req.page_size)


def _vpc_fields(row: Row[Any], vswitch_ids: list[str]) -> Body:
    """The fields DescribeVpcs and DescribeVpcAttribute share, every one present."""
    return {
        "VpcId": row.id,
        "VpcName": row.name,
        "Description": row.description,
        "CidrBlock": row.cidr_block,
        "Status": row.status,
        "RegionId": row.region_id,
        "CreationTime": _iso(row.created_at),
        "IsDefault": row.is_default,
        "VRouterId": row.vrouter_id,
        "ResourceGroupId": row.resource_group_id,
        "OwnerId": int(row.account_id),
        "Ipv6CidrBlock": "",
        "EnabledIpv6": False,
        "DnsHostnameStatus": "DISABLED",
        "DhcpOptionsSetId": "",
        "DhcpOptionsSetStatus": "",
        "VSwitchIds": {"VSwitchId": vswitch_ids},
        "UserCidrs": {"UserCidr": []},
        "SecondaryCidrBlocks": {"SecondaryCidrBlock": []},
        "Ipv6CidrBlocks": {"Ipv6CidrBlock": []},
        "Tags": {"Tag": []},
    }


def _vswitch_fields(row: Row[Any], used_ips: int) -> Body:
    """One vSwitch as DescribeVSwitches and DescribeVSwitchAttributes show it."""
    return {
        "VSwitchId": row.id,
        "VSwitchName": row.name,
        "Description": row.description,
        "VpcId": row.vpc_id,
        "ZoneId": row.zone_id,
        "CidrBlock": row.cidr_block,
        "Ipv6CidrBlock": "",
        "Status": row.status,
        "CreationTime": _iso(row.created_at),
        "IsDefault": False,
        "AvailableIpAddressCount": network.usable_addresses(IPv4Network(row.cidr_block)) - used_ips,
        "NetworkAclId": "",
        "ResourceGroupId": row.resource_group_id,
        "OwnerId": int(row.account_id),
        "ShareType": "",
        "EnabledIpv6": False,
        "RouteTable": {"RouteTableId": row.route_table_id, "RouteTableType": "System"},
        "Tags": {"Tag": []},
    }


# ---------------------------------------------------------------- VPCs


def _vpc_cidr(text: str) -> IPv4Network:
    try:
        return network.vpc_cidr(text)
    except network.CidrError as err:
        raise ApiError("InvalidParameter", f"Specified CIDR block is not valid. {err.detail}") from None


def _resource_group(ctx: Context, group_id: str) -> str:
    """The group named by the caller (it must be one of the account's), else the default group."""
    if not group_id:
        return accounts.default_resource_group(ctx.conn, ctx.account_id)
    if not store.resource_group_exists(ctx.conn, ctx.account_id, group_id):
        raise ApiError("InvalidResourceGroupId", "The specified ResourceGroupId does not exist.")
    return group_id


@operation(VPC, "CreateVpc", CreateVpcRequest, resources=_arn("vpc"), writes=True, idempotent=True)
def create_vpc(ctx: Context, req: CreateVpcRequest) -> Body:
    cidr = _vpc_cidr(req.cidr_block or network.DEFAULT_VPC_CIDR)
    _check_text(req.vpc_name, "InvalidVpcName.Malformed", "VPC name", NAME_MAX)
    _check_text(req.description, "InvalidVpcDiscription.Malformed", "VPC description", DESCRIPTION_MAX)
    group = _resource_group(ctx, req.resource_group_id)
    if req.dry_run:
        raise _dry_run()
    vpc_id = ids.resource_id("vpc", ctx.region_id)
    vrouter_id = ids.resource_id("vrt", ctx.region_id)
    route_table_id = ids.resource_id("vtb", ctx.region_id)
    store.insert_vpc(
        ctx.conn,
        id=vpc_id,
        account_id=ctx.account_id,
        region_id=ctx.region_id,
        cidr_block=str(cidr),
        name=req.vpc_name,
        description=req.description,
        status="Available",
        is_default=False,
        vrouter_id=vrouter_id,
        route_table_id=route_table_id,
        resource_group_id=group,
        created_at=ctx.now,
    )
    ctx.touched.append(vpc_id)
    return {
        "VpcId": vpc_id,
        "VRouterId": vrouter_id,
        "RouteTableId": route_table_id,
        "ResourceGroupId": group,
    }


@operation(
    VPC,
    "DeleteVpc",
    DeleteVpcRequest,
    resources=_arn("vpc", "vpc_id"),
    writes=True,
    idempotent=True,
    region="optional",
)
def delete_vpc(ctx: Context, req: DeleteVpcRequest) -> Body:
    vpc = store.lock_vpc(ctx.db, ctx.conn, ctx.account_id, _required(req.vpc_id, "VpcId"))
    if vpc is None or not _in_region(vpc, req.region_id):
        raise _vpc_not_found()
    if vpc.status != "Available":
        raise ApiError("IncorrectVpcStatus", "The current status of the VPC does not support this operation.")
    if store.has_vswitches(ctx.conn, vpc.id):
        raise ApiError(
            "DependencyViolation.VSwitch",
            "Specified object has dependent resources. Delete the vSwitches of the VPC first.",
        )
    if compute.vpc_has_instances(ctx.conn, vpc.id):  # (they need a vSwitch: belt and braces)
        raise ApiError("DependencyViolation.Instance", "Specified object has dependent resources Instance.")
    if compute.has_groups(ctx.conn, ctx.account_id, vpc.region_id, vpc.id):
        raise ApiError(
            "DependencyViolation.SecurityGroup", "Specified object has dependent resources SecurityGroup."
        )
    if req.dry_run:
        raise _dry_run()
    store.delete_vpc(ctx.conn, vpc.id)
    return {}


def _vpcs_match_nothing(ctx: Context, req: DescribeVpcsRequest) -> bool:
    """Filters on things no VPC here has: tags, IPv6, DHCP option sets, default VPCs, other owners."""
    return (
        any(t.key for t in req.tag)
        or req.enable_ipv6 is True
        or bool(req.dhcp_options_set_id)
        or (req.vpc_owner_id is not None and req.vpc_owner_id != int(ctx.account_id))
    )


@operation(VPC, "DescribeVpcs", DescribeVpcsRequest, resources=_arn("vpc"))
def describe_vpcs(ctx: Context, req: DescribeVpcsRequest) -> Body:
    offset, limit = page_window(req.page_number, req.page_size)
    vpc_ids = _id_list(req.vpc_id, "VpcId")
    if req.dry_run:
        raise _dry_run()
    if _vpcs_match_nothing(ctx, req):
        return {**_empty_page(req), "Vpcs": {"Vpc": []}}
    page = store.list_vpcs(
        ctx.conn,
        ctx.account_id,
        ctx.region_id,
        ids=vpc_ids,
        name=req.vpc_name or None,
        is_default=req.is_default,
        resource_group_id=req.resource_group_id or None,
        offset=offset,
        limit=limit,
    )
    switch_ids = store.vswitch_ids_by_vpc(ctx.conn, [row.id for row in page.rows])
    items = [
        {
            **_vpc_fields(row, switch_ids[row.id]),
            "CenStatus": "Detached",
            "NatGatewayIds": {"NatGatewayIds": []},
            "RouterTableIds": {"RouterTableIds": [row.route_table_id]},
        }
        for row in page.rows
    ]
    return {**page_fields(page.total, req.page_number, req.page_size), "Vpcs": {"Vpc": items}}


@operation(VPC, "DescribeVpcAttribute", DescribeVpcAttributeRequest, resources=_arn("vpc", "vpc_id"))
def describe_vpc_attribute(ctx: Context, req: DescribeVpcAttributeRequest) -> Body:
    vpc = store.get_vpc(ctx.conn, ctx.account_id, _required(req.vpc_id, "VpcId"))
    if vpc is None or not _in_region(vpc, ctx.region_id):
        raise _vpc_not_found()
    if req.dry_run:
        raise _dry_run()
    switch_ids = store.vswitch_ids_by_vpc(ctx.conn, [vpc.id])[vpc.id]
    resources = [{"ResourceType": "VSwitch", "ResourceCount": len(switch_ids)}] if switch_ids else []
    return {
        **_vpc_fields(vpc, switch_ids),
        "ClassicLinkEnabled": False,
        "Ipv4GatewayId": "",
        "SupportIpv4Gateway": False,
        "AssociatedCens": {"AssociatedCen": []},
        "AssociatedPropagationSources": {"AssociatedPropagationSources": []},
        "CloudResources": {"CloudResourceSetType": resources},
    }


# ---------------------------------------------------------------- vSwitches


def _vswitch_cidr(text: str) -> IPv4Network:
    try:
        return network.vswitch_cidr(text)
    except network.CidrError as err:
        if err.reason == "mask":
            raise _mask_error(err.detail) from None
        raise ApiError(
            "InvalidCidrBlock.Malformed", f"Specified CIDR block is not valid. {err.detail}"
        ) from None


def _mask_error(detail: str) -> ApiError:
    return ApiError(
        "InvalidCirdrBlock.MaskLength", f"Specified CIDR block mask length is not valid. {detail}"
    )


def _wanted_block(req: CreateVSwitchRequest) -> IPv4Network | int:
    """The vSwitch's CIDR block as given, or the mask of one to allocate (``CidrMask``)."""
    low, high = network.VSWITCH_MASKS
    if req.cidr_mask is not None and not low <= req.cidr_mask <= high:
        raise _mask_error(f"CidrMask must be between {low} and {high}.")
    if not req.cidr_block:
        if req.cidr_mask is None:
            raise missing_parameter("CidrBlock")
        return req.cidr_mask
    cidr = _vswitch_cidr(req.cidr_block)
    if req.cidr_mask is not None and req.cidr_mask != cidr.prefixlen:
        raise invalid_parameter("CidrMask", f"It does not match the mask of CidrBlock {cidr}.")
    return cidr


def _place(vpc_cidr: IPv4Network, wanted: IPv4Network | int, taken: list[IPv4Network]) -> IPv4Network:
    """The vSwitch block inside the VPC, clear of its other vSwitches."""
    if isinstance(wanted, int):
        found = network.first_free_block(vpc_cidr, wanted, taken)
        if found is None:
            raise ApiError(
                "InvalidCidrBlock.Overlapped",
                f"Specified CIDR block overlapped with other subnets. No free /{wanted} block is left in "
                f"the VPC's {vpc_cidr}.",
            )
        return found
    if not network.contains(vpc_cidr, wanted):
        raise ApiError(
            "InvalidParameter",
            f"Specified CIDR block is not valid in VPC. {wanted} is not inside the VPC's {vpc_cidr}.",
        )
    other = network.first_overlap(wanted, taken)
    if other is not None:
        raise ApiError(
            "InvalidCidrBlock.Overlapped",
            f"Specified CIDR block overlapped with other subnets. {wanted} overlaps vSwitch block {other}.",
        )
    return wanted


@operation(
    VPC,
    "CreateVSwitch",
    CreateVSwitchRequest,
    resources=_create_vswitch_arns,
    writes=True,
    idempotent=True,
    region="optional",
)
def create_vswitch(ctx: Context, req: CreateVSwitchRequest) -> Body:
    wanted = _wanted_block(req)
    _check_text(req.v_switch_name, "InvalidVSwitchName.Malformed", "VSwitch name", NAME_MAX)
    _check_text(
        req.description, "InvalidVSwitchDiscription.Malformed", "VSwitch description", DESCRIPTION_MAX
    )
    zone_id = _required(req.zone_id, "ZoneId")
    vpc = store.lock_vpc(ctx.db, ctx.conn, ctx.account_id, _required(req.vpc_id, "VpcId"))
    if vpc is None or not _in_region(vpc, req.region_id):
        raise _vpc_not_found()
    if zone_id not in REGIONS_BY_ID[vpc.region_id].zones:
        raise not_found("InvalidZoneId.NotFound", "Specified zone does not exist.")
    if vpc.status != "Available":
        raise ApiError("IncorrectVpcStatus", "The current status of the VPC does not support this operation.")
    taken = [IPv4Network(text) for text in store.vswitch_cidrs(ctx.conn, vpc.id)]
    if len(taken) >= MAX_VSWITCHES_PER_VPC:
        raise ApiError(
            "QuotaExceeded.VSwitch", f"VSwitch quota exceeded: a VPC has at most {MAX_VSWITCHES_PER_VPC}."
        )
    cidr = _place(IPv4Network(vpc.cidr_block), wanted, taken)
    if req.dry_run:
        raise _dry_run()
    vswitch_id = ids.resource_id("vsw", vpc.region_id)
    store.insert_vswitch(
        ctx.conn,
        id=vswitch_id,
        account_id=ctx.account_id,
        region_id=vpc.region_id,
        vpc_id=vpc.id,
        zone_id=zone_id,
        cidr_block=str(cidr),
        name=req.v_switch_name,
        description=req.description,
        status="Available",
        resource_group_id=vpc.resource_group_id,
        created_at=ctx.now,
    )
    ctx.touched.append(vswitch_id)
    return {"VSwitchId": vswitch_id}


def _find_vswitch(ctx: Context, vswitch_id: str, region_id: str) -> Row[Any]:
    row = store.get_vswitch(ctx.conn, ctx.account_id, _required(vswitch_id, "VSwitchId"))
    if row is None or not _in_region(row, region_id):
        raise _vswitch_not_found()
    return row


@operation(
    VPC,
    "DeleteVSwitch",
    DeleteVSwitchRequest,
    resources=_arn("vswitch", "v_switch_id"),
    writes=True,
    region="optional",
)
def delete_vswitch(ctx: Context, req: DeleteVSwitchRequest) -> Body:
    row = _find_vswitch(ctx, req.v_switch_id, req.region_id)
    if row.status != "Available":
        raise ApiError(
            "IncorrectVSwitchStatus", "The current status of the vSwitch does not support this operation."
        )
    # locked first: instance and ENI writers allocate addresses under the same lock
    compute.lock_vswitch(ctx.db, ctx.conn, ctx.account_id, row.id)
    if compute.vswitch_in_use(ctx.conn, row.id):
        raise ApiError("DependencyViolation", "Specified object has dependent resources.")
    if req.dry_run:
        raise _dry_run()
    store.delete_vswitch(ctx.conn, row.id)
    return {}


def _vswitches_match_nothing(ctx: Context, req: DescribeVSwitchesRequest) -> bool:
    """Filters on things no vSwitch here has: tags, IPv6, default vSwitches, other owners."""
    return (
        any(t.key for t in req.tag)
        or req.enable_ipv6 is True
        or req.is_default is True
        or (req.v_switch_owner_id is not None and req.v_switch_owner_id != int(ctx.account_id))
    )


@operation(VPC, "DescribeVSwitches", DescribeVSwitchesRequest, resources=_arn("vswitch"), region="optional")
def describe_vswitches(ctx: Context, req: DescribeVSwitchesRequest) -> Body:
    if not req.region_id and not req.vpc_id:
        raise missing_parameter("RegionId")
    offset, limit = page_window(req.page_number, req.page_size)
    vswitch_ids = _id_list(req.v_switch_id, "VSwitchId")
    if req.dry_run:
        raise _dry_run()
    if _vswitches_match_nothing(ctx, req):
        return {**_empty_page(req), "VSwitches": {"VSwitch": []}}
    page = store.list_vswitches(
        ctx.conn,
        ctx.account_id,
        region_id=req.region_id or None,
        vpc_id=req.vpc_id or None,
        ids=vswitch_ids,
        name=req.v_switch_name or None,
        zone_id=req.zone_id or None,
        route_table_id=req.route_table_id or None,
        resource_group_id=req.resource_group_id or None,
        offset=offset,
        limit=limit,
    )
    used = compute.used_ip_counts(ctx.conn, [row.id for row in page.rows])
    items = [_vswitch_fields(row, used.get(row.id, 0)) for row in page.rows]
    return {**page_fields(page.total, req.page_number, req.page_size), "VSwitches": {"VSwitch": items}}


@operation(
    VPC,
    "DescribeVSwitchAttributes",
    DescribeVSwitchAttributesRequest,
    resources=_arn("vswitch", "v_switch_id"),
    region="optional",
)
def describe_vswitch_attributes(ctx: Context, req: DescribeVSwitchAttributesRequest) -> Body:
    row = _find_vswitch(ctx, req.v_switch_id, req.region_id)
    if req.dry_run:
        raise _dry_run()
    return _vswitch_fields(row, compute.used_ip_counts(ctx.conn, [row.id]).get(row.id, 0))
