"""Elastic network interfaces (ENIs): create, attach, detach, modify, describe, delete.

Every ENI here holds exactly one private IPv4 address, taken from its vSwitch while the vSwitch row is
locked. Secondary private IPs, IPv6 and prefixes are not offered: asking for them is refused with
``UnsupportedParameter`` rather than silently ignored. An ENI created by a cloud service principal is
managed by that service (ServiceManaged, SG-12).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from ipaddress import IPv4Network
from typing import Any

from sqlalchemy import Row

from secplane.domain import addressing, ids
from secplane.domain.catalog import INSTANCE_TYPES_BY_ID
from secplane.operations.context import Context
from secplane.operations.ecs import membership
from secplane.operations.ecs.common import (
    TagParam,
    ensure_not_managed,
    iso_seconds,
    render_tags,
    resource_group,
    tag_filters,
    validate_tags,
)
from secplane.operations.paging import (
    clamp_max_results,
    decode_token,
    encode_token,
    page_fields,
    page_window,
)
from secplane.operations.registry import ECS, Body, any_of, operation
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import compute
from secplane.store import security_groups as sg_store
from secplane.store import tags as tag_store

ENI_STATUSES = ("Available", "Attaching", "InUse", "Detaching", "Deleting")
ENI_TYPES = ("Primary", "Secondary")
MAX_IDS_PER_FILTER = 100

# ---------------------------------------------------------------- shared checks


_NAME = re.compile(r"[^\W\d_][\w:.\-]{1,127}")


def check_name(value: str, code: str, param: str) -> None:
    """Names: 2..128 characters, a (Unicode) letter first, then letters, digits and ``: _ . -``."""
    if value and (not _NAME.fullmatch(value) or value.startswith(("http:", "https:"))):
        raise ApiError(
            code,
            f"The specified {param} {value!r} is not valid: 2 to 128 characters, starting with a letter, "
            "then letters, digits, colons, underscores, periods or hyphens.",
        )


def check_description(value: str) -> None:
    if value and (not 2 <= len(value) <= 256 or value.startswith(("http://", "https://"))):
        raise ApiError(
            "InvalidDescription.Malformed",
            "The specified Description is not valid: 2 to 256 characters, not starting with http:// or "
            "https://.",
        )


def managed_by(ctx: Context) -> tuple[bool, int]:
    """(ServiceManaged, ServiceID) for a resource the caller creates."""
    if ctx.principal.kind == "service" and ctx.principal.name.isdigit():
        return True, int(ctx.principal.name)
    return False, 0


def ensure_eni_operable(ctx: Context, eni: Row[Any]) -> None:
    """Attach, detach and delete of a service's ENI are the service's alone."""
    if eni.service_managed and not (
        ctx.principal.kind == "service" and ctx.principal.name == str(eni.service_id)
    ):
        raise ApiError(
            "InvalidOperation.EniServiceManaged",
            "The network interface is managed by a cloud service and cannot be operated by users.",
            403,
        )


def lock_vswitch(ctx: Context, vswitch_id: str, region_id: str, param: str = "VSwitchId") -> Row[Any]:
    """The caller's vSwitch in the region, locked for address allocation."""
    if not vswitch_id:
        raise missing_parameter(param)
    row = compute.lock_vswitch(ctx.db, ctx.conn, ctx.account_id, vswitch_id)
    if row is None or row.region_id != region_id:
        raise not_found("InvalidVSwitchId.NotFound", "Specified virtual switch does not exist.")
    if row.status != "Available":
        raise ApiError(
            "IncorrectVSwitchStatus",
            "The current status of the virtual switch does not support this operation.",
        )
    return row


def _address_refused(reason: addressing.Refusal, address: str, param: str, cidr: str) -> ApiError:
    if reason is addressing.Refusal.MALFORMED:
        return invalid_parameter(param, f"{address!r} is not an IPv4 address.")
    if reason is addressing.Refusal.IN_USE:
        return ApiError(
            "InvalidPrivateIpAddress.Duplicated", f"Specified private IP address {address} is duplicated."
        )
    return ApiError(
        "InvalidVSwitchId.IpInvalid",
        f"The specified IP address {address} is not a usable address of the vSwitch block {cidr} "
        "(its first and last three addresses are reserved).",
        403,
    )


def take_addresses(
    cidr: IPv4Network, used: set[str], count: int, requested: str = "", param: str = "PrivateIpAddress"
) -> list[str]:
    """``count`` free addresses of ``cidr`` (consecutive from ``requested`` when given); ``used`` is
    updated so that further allocations in the same transaction see them."""
    if requested:
        reason = addressing.check_requested(cidr, requested, used)
        if reason is not None:
            raise _address_refused(reason, requested, param, str(cidr))
        taken = addressing.allocate_from(cidr, used, requested, count)
        if taken is None:
            raise ApiError(
                "InvalidVSwitchId.IpNotEnough",
                f"{count} consecutive free addresses from {requested} are not available in {cidr}.",
                403,
            )
    else:
        taken = addressing.allocate(cidr, used, count)
        if taken is None:
            raise ApiError(
                "InvalidVSwitchId.IpNotEnough",
                f"The vSwitch block {cidr} has not enough free addresses.",
                403,
            )
    used.update(taken)
    return taken


def new_mac() -> str:
    return addressing.mac_address(secrets.token_bytes(3))


# ---------------------------------------------------------------- rendering


def eni_fields(row: Row[Any], groups: list[str], tags: list[tuple[str, str]]) -> Body:
    """One ENI as DescribeNetworkInterfaces shows it, every field present."""
    return {
        "NetworkInterfaceId": row.id,
        "NetworkInterfaceName": row.name,
        "Description": row.description,
        "Status": row.status,
        "Type": row.eni_type,
        "VpcId": row.vpc_id,
        "VSwitchId": row.vswitch_id,
        "ZoneId": row.zone_id,
        "InstanceId": row.instance_id,
        "PrivateIpAddress": row.private_ip,
        "MacAddress": row.mac,
        "CreationTime": iso_seconds(row.created_at),
        "ResourceGroupId": row.resource_group_id,
        "OwnerId": row.account_id,
        "ServiceID": row.service_id,
        "ServiceManaged": row.service_managed,
        "DeleteOnRelease": row.delete_on_release,
        "SourceDestCheck": False,
        "QueueNumber": 0,
        "QueuePairNumber": 0,
        "NetworkInterfaceTrafficMode": "Standard",
        "SecurityGroupIds": {"SecurityGroupId": groups},
        "PrivateIpSets": {
            "PrivateIpSet": [
                {
                    "PrivateIpAddress": row.private_ip,
                    "Primary": True,
                    "PrivateDnsName": "",
                    "AssociatedPublicIp": {"PublicIpAddress": "", "AllocationId": ""},
                }
            ]
        },
        "Ipv6Sets": {"Ipv6Set": []},
        "Ipv4PrefixSets": {"Ipv4PrefixSet": []},
        "Ipv6PrefixSets": {"Ipv6PrefixSet": []},
        "AssociatedPublicIp": {"PublicIpAddress": "", "AllocationId": ""},
        "Attachment": {
            "InstanceId": row.instance_id,
            "DeviceIndex": row.device_index,
            "NetworkCardIndex": 0,
            "TrunkNetworkInterfaceId": "",
        },
        "Tags": render_tags(tags),
    }


def _render(ctx: Context, rows: Sequence[Row[Any]]) -> list[Body]:
    row_ids = [row.id for row in rows]
    groups = compute.groups_of(ctx.conn, row_ids)
    tags = tag_store.tags_of(ctx.conn, "eni", row_ids)
    return [eni_fields(row, groups[row.id], tags.get(row.id, [])) for row in rows]


# ---------------------------------------------------------------- paging shared with DescribeInstances


def page_request(
    page_number: int, page_size: int, max_results: int | None, next_token: str, high: int
) -> tuple[int, int, bool]:
    """(offset, limit, token mode). MaxResults/NextToken wins over PageNumber/PageSize when given."""
    if max_results is not None or next_token:
        return decode_token(next_token), clamp_max_results(max_results, 10, high, 10), True
    offset, limit = page_window(page_number, page_size, max_size=100)
    return offset, limit, False


def page_reply(total: int, offset: int, limit: int, token_mode: bool) -> Body:
    """TotalCount/PageNumber/PageSize always; NextToken only pointing past this page in token mode."""
    more = token_mode and offset + limit < total
    return {
        **page_fields(total, offset // limit + 1, limit),
        "NextToken": encode_token(offset + limit) if more else "",
    }


def id_list(values: Sequence[str], param: str) -> list[str] | None:
    if not values:
        return None
    if len(values) > MAX_IDS_PER_FILTER:
        raise invalid_parameter(param, f"At most {MAX_IDS_PER_FILTER} values can be given.")
    return list(values)


# ---------------------------------------------------------------- RAM resources


def _eni_arns(ctx: Context, req: Any) -> list[str]:
    return [ctx.arn(f"networkinterface/{req.network_interface_id}", region=req.region_id or "*")]


def _attach_arns(ctx: Context, req: Any) -> list[str]:
    return [*_eni_arns(ctx, req), ctx.arn(f"instance/{req.instance_id}", region=req.region_id or "*")]


def _create_arns(ctx: Context, req: CreateNetworkInterfaceRequest) -> list[str]:
    groups = [req.security_group_id] if req.security_group_id else list(req.security_group_ids)
    return [
        ctx.arn("networkinterface/*"),
        *(ctx.arn(f"securitygroup/{group_id}") for group_id in groups),
        ctx.arn(f"vswitch/{req.v_switch_id}", service="vpc"),
    ]


# ---------------------------------------------------------------- CreateNetworkInterface


class CreateNetworkInterfaceRequest(Request):
    region_id: str
    v_switch_id: str = ""
    security_group_id: str = ""
    security_group_ids: list[str] = []
    primary_ip_address: str = ""
    private_ip_address: list[str] = []
    secondary_private_ip_address_count: int | None = None
    ipv6_address: list[str] = []
    ipv6_address_count: int | None = None
    ipv4_prefix: list[str] = []
    ipv4_prefix_count: int | None = None
    ipv6_prefix: list[str] = []
    ipv6_prefix_count: int | None = None
    network_interface_name: str = ""
    description: str = ""
    instance_type: str = ""  # the ENI type: Secondary (Trunk ENIs are not offered)
    delete_on_release: bool = False
    resource_group_id: str = ""
    tag: list[TagParam] = []


def _refuse_extra_addresses(req: CreateNetworkInterfaceRequest) -> None:
    extras = {
        "PrivateIpAddress.N": bool(req.private_ip_address),
        "SecondaryPrivateIpAddressCount": bool(req.secondary_private_ip_address_count),
        "Ipv6Address.N": bool(req.ipv6_address),
        "Ipv6AddressCount": bool(req.ipv6_address_count),
        "Ipv4Prefix.N": bool(req.ipv4_prefix),
        "Ipv4PrefixCount": bool(req.ipv4_prefix_count),
        "Ipv6Prefix.N": bool(req.ipv6_prefix),
        "Ipv6PrefixCount": bool(req.ipv6_prefix_count),
    }
    for name, given in extras.items():
        if given:
            raise ApiError(
                "UnsupportedParameter",
                f"The parameter {name} is not supported here: an ENI has one private IPv4 address.",
            )


def wanted_groups(single: str, many: Sequence[str]) -> list[str]:
    """``SecurityGroupId`` or ``SecurityGroupIds.N``, not both."""
    if single and many:
        raise ApiError(
            "InvalidParameter.Conflict",
            "SecurityGroupId and SecurityGroupIds cannot be specified at the same time.",
        )
    return [single] if single else list(many)


@operation(
    ECS,
    "CreateNetworkInterface",
    CreateNetworkInterfaceRequest,
    resources=_create_arns,
    writes=True,
    idempotent=True,
)
def create_network_interface(ctx: Context, req: CreateNetworkInterfaceRequest) -> Body:
    _refuse_extra_addresses(req)
    if req.instance_type and req.instance_type != "Secondary":
        raise invalid_parameter("InstanceType", "Only Secondary network interfaces can be created.")
    check_name(req.network_interface_name, "InvalidParameter", "NetworkInterfaceName")
    check_description(req.description)
    tags = validate_tags(req.tag)
    group_ids = wanted_groups(req.security_group_id, req.security_group_ids)
    if not group_ids:
        raise missing_parameter("SecurityGroupId")
    rg = resource_group(ctx, req.resource_group_id)
    vswitch = lock_vswitch(ctx, req.v_switch_id, ctx.region_id)
    groups = membership.resolve_groups(ctx, group_ids, ctx.region_id, membership.ENI)
    membership.not_managed(ctx, groups)
    counts = compute.member_counts(ctx.conn, group_ids)
    membership.check_set(groups, vswitch.vpc_id, membership.ENI, added=groups, new_members=1, counts=counts)
    (address,) = take_addresses(
        IPv4Network(vswitch.cidr_block), compute.used_ips(ctx.conn, vswitch.id), 1,
        req.primary_ip_address, "PrimaryIpAddress",
    )  # fmt: skip
    eni_id = ids.resource_id("eni", ctx.region_id)
    managed, service_id = managed_by(ctx)
    compute.insert_eni(
        ctx.conn,
        id=eni_id, account_id=ctx.account_id, region_id=ctx.region_id, zone_id=vswitch.zone_id,
        vpc_id=vswitch.vpc_id, vswitch_id=vswitch.id, eni_type="Secondary", status="Available",
        instance_id="", device_index=0, private_ip=address, mac=new_mac(), name=req.network_interface_name,
        description=req.description, resource_group_id=rg, service_managed=managed, service_id=service_id,
        delete_on_release=req.delete_on_release, created_at=ctx.now,
    )  # fmt: skip
    compute.add_members(ctx.conn, eni_id, group_ids, ctx.now)
    sg_store.bump_revision(ctx.conn, sorted(group_ids))
    tag_store.set_tags(ctx.conn, ctx.account_id, ctx.region_id, "eni", eni_id, tags)
    ctx.touched.append(eni_id)
    row = compute.get_eni(ctx.conn, ctx.account_id, eni_id)
    assert row is not None
    full = eni_fields(row, group_ids, sorted(tags.items()))
    keep = (
        "NetworkInterfaceId", "Status", "Type", "VpcId", "VSwitchId", "ZoneId", "PrivateIpAddress",
        "MacAddress", "NetworkInterfaceName", "Description", "ResourceGroupId", "OwnerId", "ServiceID",
        "ServiceManaged", "SourceDestCheck", "SecurityGroupIds", "Ipv6Sets", "Ipv4PrefixSets",
        "Ipv6PrefixSets", "Tags",
    )  # fmt: skip
    out = {key: full[key] for key in keep}
    out["PrivateIpSets"] = {"PrivateIpSet": [{"PrivateIpAddress": address, "Primary": True}]}
    return out


# ---------------------------------------------------------------- Attach / Detach


class AttachNetworkInterfaceRequest(Request):
    region_id: str
    instance_id: str
    network_interface_id: str
    network_card_index: int | None = None
    trunk_network_instance_id: str = ""
    wait_for_network_configuration_ready: bool = False


def _ecs_not_found() -> ApiError:
    return not_found("InvalidEcsId.NotFound", "The specified instance does not exist.")


def _lock_instance_for_eni(ctx: Context, instance_id: str) -> Row[Any]:
    try:
        instance = membership.lock_instance(ctx, instance_id, ctx.region_id)
    except ApiError as err:
        if err.code == "InvalidInstanceId.NotFound":
            raise _ecs_not_found() from None
        raise
    if instance.status not in membership.SETTLED:
        raise ApiError(
            "InvalidOperation.InvalidEcsState", "The instance must be Running or Stopped for this operation."
        )
    return instance


@operation(ECS, "AttachNetworkInterface", AttachNetworkInterfaceRequest, resources=_attach_arns, writes=True)
def attach_network_interface(ctx: Context, req: AttachNetworkInterfaceRequest) -> Body:
    if req.trunk_network_instance_id:
        raise ApiError("UnsupportedParameter", "Trunk network interfaces are not supported here.")
    instance = _lock_instance_for_eni(ctx, req.instance_id)
    eni = membership.lock_visible_eni(ctx, req.network_interface_id, ctx.region_id)
    ensure_eni_operable(ctx, eni)
    if eni.status != "Available" or eni.eni_type != "Secondary":
        raise ApiError(
            "InvalidOperation.InvalidEniState",
            f"The network interface is {eni.status}; it must be Available.",
        )
    if instance.vpc_id != eni.vpc_id:
        raise ApiError(
            "InvalidOperation.VpcMismatch",
            "The network interface and the instance are in different VPCs.",
            403,
        )
    if instance.zone_id != eni.zone_id:
        raise ApiError(
            "InvalidOperation.AvailabilityZoneMismatch",
            f"The network interface is in {eni.zone_id} and the instance in {instance.zone_id}.",
            403,
        )
    attached = compute.enis_of(ctx.conn, [instance.id])[instance.id]
    limit = INSTANCE_TYPES_BY_ID[instance.instance_type].eni_quantity
    if len(attached) >= limit:
        raise ApiError(
            "EniPerInstanceLimitExceeded",
            f"An instance of type {instance.instance_type} can have at most {limit} network interfaces.",
            403,
        )
    device = max((e.device_index for e in attached), default=0) + 1
    compute.update_eni(ctx.conn, eni.id, status="InUse", instance_id=instance.id, device_index=device)
    _bump_groups_of(ctx, eni.id)
    ctx.touched.extend([eni.id, instance.id])
    return {}


def _bump_groups_of(ctx: Context, eni_id: str) -> None:
    """Where an ENI's groups apply changed (attach, detach): mark them for the dataplane."""
    group_ids = compute.groups_of(ctx.conn, [eni_id])[eni_id]
    compute.lock_groups(ctx.db, ctx.conn, ctx.account_id, group_ids)
    sg_store.bump_revision(ctx.conn, group_ids)


class DetachNetworkInterfaceRequest(Request):
    region_id: str
    instance_id: str
    network_interface_id: str
    trunk_network_instance_id: str = ""


@operation(ECS, "DetachNetworkInterface", DetachNetworkInterfaceRequest, resources=_attach_arns, writes=True)
def detach_network_interface(ctx: Context, req: DetachNetworkInterfaceRequest) -> Body:
    instance = _lock_instance_for_eni(ctx, req.instance_id)
    eni = membership.lock_visible_eni(ctx, req.network_interface_id, ctx.region_id)
    ensure_eni_operable(ctx, eni)
    if eni.eni_type == "Primary":
        raise ApiError(
            "InvalidOperation.DetachPrimaryEniNotAllowed", "The primary network interface cannot be detached."
        )
    if eni.status != "InUse" or eni.instance_id != instance.id:
        raise ApiError(
            "InvalidOperation.InvalidEniState", f"The network interface is not attached to {instance.id}."
        )
    compute.update_eni(ctx.conn, eni.id, status="Available", instance_id="", device_index=0)
    _bump_groups_of(ctx, eni.id)
    ctx.touched.extend([eni.id, instance.id])
    return {}


# ---------------------------------------------------------------- Modify / Delete


class ModifyNetworkInterfaceAttributeRequest(Request):
    region_id: str
    network_interface_id: str
    security_group_id: list[str] = []  # SecurityGroupId.N: the whole new set
    network_interface_name: str = ""
    description: str = ""
    delete_on_release: bool | None = None


@operation(
    ECS,
    "ModifyNetworkInterfaceAttribute",
    ModifyNetworkInterfaceAttributeRequest,
    resources=_eni_arns,
    writes=True,
)
def modify_network_interface_attribute(ctx: Context, req: ModifyNetworkInterfaceAttributeRequest) -> Body:
    check_name(req.network_interface_name, "InvalidParameter", "NetworkInterfaceName")
    check_description(req.description)
    eni = membership.lock_visible_eni(ctx, req.network_interface_id, ctx.region_id)
    ensure_not_managed(ctx, eni.service_managed, eni.service_id)
    if req.security_group_id:
        membership.set_groups(ctx, eni, req.security_group_id, membership.ENI)
    changes: dict[str, Any] = {}
    if req.network_interface_name:
        changes["name"] = req.network_interface_name
    if req.description:
        changes["description"] = req.description
    if req.delete_on_release is not None and eni.eni_type == "Secondary":
        changes["delete_on_release"] = req.delete_on_release
    if changes:
        compute.update_eni(ctx.conn, eni.id, **changes)
    ctx.touched.append(eni.id)
    return {}


class NetworkInterfaceIdRequest(Request):
    region_id: str
    network_interface_id: str


@operation(ECS, "DeleteNetworkInterface", NetworkInterfaceIdRequest, resources=_eni_arns, writes=True)
def delete_network_interface(ctx: Context, req: NetworkInterfaceIdRequest) -> Body:
    eni = membership.lock_visible_eni(ctx, req.network_interface_id, ctx.region_id)
    ensure_eni_operable(ctx, eni)
    if eni.status != "Available":
        raise ApiError(
            "InvalidOperation.InvalidEniState",
            f"The network interface is {eni.status}; detach it before deleting it.",
        )
    group_ids = compute.groups_of(ctx.conn, [eni.id])[eni.id]
    compute.lock_groups(ctx.db, ctx.conn, ctx.account_id, group_ids)
    compute.delete_eni(ctx.conn, eni.id)
    sg_store.bump_revision(ctx.conn, group_ids)
    ctx.touched.append(eni.id)
    return {}


# ---------------------------------------------------------------- Describe


class DescribeNetworkInterfacesRequest(Request):
    region_id: str
    network_interface_id: list[str] = []
    instance_id: str = ""
    vpc_id: str = ""
    v_switch_id: str = ""
    security_group_id: str = ""
    network_interface_name: str = ""
    primary_ip_address: str = ""
    private_ip_address: list[str] = []
    ipv6_address: list[str] = []
    resource_group_id: str = ""
    type: str = ""
    status: str = ""
    service_managed: bool | None = None
    tag: list[TagParam] = []
    max_results: int | None = None
    next_token: str = ""
    page_number: int = 1
    page_size: int = 10


def _eni_filter(req: DescribeNetworkInterfacesRequest) -> compute.EniFilter | None:
    """The store filter, or None when the request can match nothing (IPv6 addresses)."""
    if req.type and req.type not in ENI_TYPES:
        raise invalid_parameter("Type", "It must be Primary or Secondary.")
    if req.status and req.status not in ENI_STATUSES:
        raise invalid_parameter("Status", f"It must be one of {', '.join(ENI_STATUSES)}.")
    if req.ipv6_address:
        return None
    private_ips = id_list(req.private_ip_address, "PrivateIpAddress")
    if req.primary_ip_address:
        private_ips = [ip for ip in (private_ips or [req.primary_ip_address]) if ip == req.primary_ip_address]
    return compute.EniFilter(
        ids=id_list(req.network_interface_id, "NetworkInterfaceId"),
        instance_id=req.instance_id or None,
        vpc_id=req.vpc_id or None,
        vswitch_id=req.v_switch_id or None,
        security_group_id=req.security_group_id or None,
        name=req.network_interface_name or None,
        private_ips=private_ips,
        resource_group_id=req.resource_group_id or None,
        eni_type=req.type or None,
        status=req.status or None,
        service_managed=req.service_managed,
        tags=tag_filters(req.tag),
    )


@operation(
    ECS, "DescribeNetworkInterfaces", DescribeNetworkInterfacesRequest, resources=any_of("networkinterface")
)
def describe_network_interfaces(ctx: Context, req: DescribeNetworkInterfacesRequest) -> Body:
    offset, limit, token_mode = page_request(
        req.page_number, req.page_size, req.max_results, req.next_token, high=500
    )
    f = _eni_filter(req)
    if f is None:
        return {
            **page_reply(0, offset, limit, token_mode),
            "NetworkInterfaceSets": {"NetworkInterfaceSet": []},
        }
    page = compute.list_enis(ctx.conn, ctx.account_id, ctx.region_id, f, offset, limit)
    return {
        **page_reply(page.total, offset, limit, token_mode),
        "NetworkInterfaceSets": {"NetworkInterfaceSet": _render(ctx, page.rows)},
    }


class DescribeNetworkInterfaceAttributeRequest(Request):
    region_id: str
    network_interface_id: str
    attribute: str = ""


@operation(
    ECS, "DescribeNetworkInterfaceAttribute", DescribeNetworkInterfaceAttributeRequest, resources=_eni_arns
)
def describe_network_interface_attribute(ctx: Context, req: DescribeNetworkInterfaceAttributeRequest) -> Body:
    row = compute.get_eni(ctx.conn, ctx.account_id, req.network_interface_id)
    if row is None or row.region_id != ctx.region_id or not row.vpc_id:
        raise membership.eni_not_found(req.network_interface_id)
    (fields,) = _render(ctx, [row])
    fields["Attachment"]["MemberNetworkInterfaceIds"] = {"MemberNetworkInterfaceId": []}
    return {
        **fields,
        "NetworkInterfaceTrafficConfig": {
            "NetworkInterfaceTrafficMode": "Standard",
            "QueueNumber": 0,
            "QueuePairNumber": 0,
        },
        "ConnectionTrackingConfiguration": {
            "TcpEstablishedTimeout": 910,
            "TcpClosedAndTimeWaitTimeout": 3,
            "UdpTimeout": 30,
        },
        "EnhancedNetwork": {
            "EnableSriov": False,
            "EnableRss": False,
            "EnableExpress": False,
            "VirtualFunctionQuantity": 0,
            "VirtualFunctionTotalQueueNumber": 0,
        },
        "TcpOptionAddressEnabled": "",
        "QoSConfig": {"EnableQoS": False, "QoS": {}},
        "BondInterfaceSpecification": {
            "BondMode": "",
            "SlaveInterfaceSpecification": {"SlaveInterfaceSpecificationSet": []},
        },
        "SlaveInterfaceSpecification": {
            "BondNetworkInterfaceId": "",
            "SlaveNetworkInterfaceId": "",
            "WorkState": "",
        },
    }
