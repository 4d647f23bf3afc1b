"""Instances: RunInstances, CreateInstance, DescribeInstances, DescribeInstanceAttribute,
ModifyInstanceAttribute, Start/Stop/Reboot/DeleteInstance and DeleteInstances.

State machine: Pending → Running → Stopping → Stopped (→ Starting → Running). There is no hypervisor
to wait for, so every transition completes inside the call that starts it and the transient states
(Pending, Starting, Stopping) are never observed: RunInstances leaves Running instances, CreateInstance
Stopped ones, StopInstance a Stopped one. This keeps every answer deterministic; the state checks
(IncorrectInstanceStatus) apply to the settled states as Alibaba applies them.

Every instance has a primary ENI holding its private address and its security groups. A VPC instance
takes its address from its vSwitch, a classic one an "inner" address from the region's 10.0.0.0/8
pool; both are allocated under a lock inside the write transaction, so a batch of 100 is all or
nothing.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import dataclasses
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

from sqlalchemy import Row

from secplane.domain import ids
from secplane.domain.addressing import CLASSIC_POOL
from secplane.domain.catalog import (
    IMAGES_BY_ID,
    INSTANCE_TYPES,
    INSTANCE_TYPES_BY_ID,
    Image,
    InstanceType,
)
from secplane.domain.regions import REGIONS_BY_ID
from secplane.domain.sg_rules import INGRESS, RuleFields, normalize
from secplane.operations.context import Context
from secplane.operations.ecs import instance_roles, key_pairs, membership
from secplane.operations.ecs.common import (
    TagParam,
    dry_run_passed,
    iso_minutes,
    render_tags,
    resource_group,
    tag_filters,
    validate_tags,
)
from secplane.operations.ecs.network_interfaces import (
    check_description,
    check_name,
    ensure_eni_operable,
    id_list,
    lock_vswitch,
    managed_by,
    new_mac,
    page_reply,
    page_request,
    take_addresses,
    wanted_groups,
)
from secplane.operations.registry import ECS, Body, any_of, operation
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import compute
from secplane.store import instance_roles as instance_role_store
from secplane.store import key_pairs as key_pair_store
from secplane.store import security_groups as sg_store
from secplane.store import tags as tag_store

MAX_AMOUNT = 100
USER_DATA_MAX = 32 * 1024
STATUSES = ("Pending", "Running", "Starting", "Stopping", "Stopped")
PAY_AS_YOU_GO_EXPIRY = "2099-12-31T15:59Z"
DEFAULT_GROUP_DESCRIPTION = "System created security group."
# SG-10: what the system-created default group accepts from anywhere, at priority 100.
DEFAULT_GROUP_RULES = (("TCP", "22/22"), ("TCP", "3389/3389"), ("ICMP", "-1/-1"))

# ---------------------------------------------------------------- requests


class NetworkInterfaceSpec(Request):
    """``NetworkInterface.N`` of RunInstances."""

    instance_type: str = ""  # Primary | Secondary (default)
    v_switch_id: str = ""
    security_group_id: str = ""
    security_group_ids: list[str] = []
    network_interface_id: str = ""
    primary_ip_address: str = ""
    network_interface_name: str = ""
    description: str = ""
    delete_on_release: bool | None = None
    secondary_private_ip_address_count: int | None = None
    ipv6_address: list[str] = []
    ipv6_address_count: int | None = None


class CreateInstanceRequest(Request):
    region_id: str
    image_id: str = ""
    instance_type: str = ""
    security_group_id: str = ""
    v_switch_id: str = ""
    zone_id: str = ""
    private_ip_address: str = ""
    instance_name: str = ""
    host_name: str = ""
    password: str = ""
    password_inherit: bool = False
    description: str = ""
    key_pair_name: str = ""
    ram_role_name: str = ""
    http_endpoint: str = ""
    http_tokens: str = ""
    http_put_response_hop_limit: int | None = None
    user_data: str = ""
    deletion_protection: bool = False
    resource_group_id: str = ""
    dry_run: bool = False
    tag: list[TagParam] = []


class RunInstancesRequest(CreateInstanceRequest):
    security_group_ids: list[str] = []
    amount: int = 1
    min_amount: int | None = None
    unique_suffix: bool = False
    network_interface: list[NetworkInterfaceSpec] = []


# ---------------------------------------------------------------- field checks (§3.16, §3.39)


def _image(image_id: str) -> Image:
    if not image_id:
        raise missing_parameter("ImageId")
    image = IMAGES_BY_ID.get(image_id)
    if image is None:
        raise not_found("InvalidImageId.NotFound", "The specified ImageId does not exist.")
    return image


def _instance_type(type_id: str) -> InstanceType:
    if not type_id:
        raise missing_parameter("InstanceType")
    found = INSTANCE_TYPES_BY_ID.get(type_id)
    if found is None:
        raise ApiError(
            "InvalidInstanceType.ValueNotSupported", f"The specified InstanceType {type_id!r} does not exist."
        )
    return found


_SPECIALS = set("()`~!@#$%^&*-_+=|{}[]:;'\"<>,.?/")


def check_password(password: str, windows: bool) -> None:
    """8..30 characters from at least three classes (upper, lower, digit, special)."""
    if not password:
        return
    classes = (
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(c in _SPECIALS for c in password),
    )
    allowed = all(c.isascii() and (c.isalnum() or c in _SPECIALS) for c in password)
    if not (8 <= len(password) <= 30 and allowed and sum(classes) >= 3) or (windows and password[0] == "/"):
        raise ApiError(
            "InvalidPassword.Malformed",
            "The password must be 8 to 30 characters and contain at least three of: upper-case letters, "
            "lower-case letters, digits and special characters ()`~!@#$%^&*-_+=|{}[]:;'<>,.?/ (Windows: not "
            "starting with /).",
        )


_HOST_SEGMENT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_HOST_RULES = {
    False: "2 to 64 characters: dot-separated segments of letters, digits and inner hyphens",
    True: "2 to 15 characters: letters, digits and inner hyphens, not only digits",
}


def check_host_name(host_name: str, windows: bool) -> None:
    """Linux: 2..64, dot-separated segments of letters, digits and inner hyphens. Windows: 2..15, one
    such segment, not all digits."""
    if not host_name:
        return
    segments = [host_name] if windows else host_name.split(".")
    ok = (
        2 <= len(host_name) <= (15 if windows else 64)
        and all(_HOST_SEGMENT.fullmatch(s) for s in segments)
        and not (windows and host_name.isdigit())
    )
    if not ok:
        raise ApiError(
            "InvalidHostName.Malformed",
            f"The specified HostName {host_name!r} is not valid ({_HOST_RULES[windows]}).",
        )


def check_user_data(user_data: str) -> None:
    if not user_data:
        return
    try:
        raw = base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            "InvalidUserData.Base64FormatInvalid", "The UserData must be Base64 encoded."
        ) from None
    if len(raw) > USER_DATA_MAX:
        raise ApiError("InvalidUserData.SizeExceeded", f"The UserData must be at most {USER_DATA_MAX} bytes.")


_SEQUENCE = re.compile(r"\[(\d{1,6}),(\d)\]")


def expand_name(template: str, index: int, unique_suffix: bool) -> str:
    """Batch naming: ``web[1,3]`` gives web001, web002 …; UniqueSuffix appends 001, 002 …"""
    match = _SEQUENCE.search(template)
    if match:
        number = str(int(match.group(1)) + index).zfill(int(match.group(2)))
        return template[: match.start()] + number + template[match.end() :]
    return f"{template}{index + 1:03d}" if unique_suffix else template


def default_host_name(instance_id: str, windows: bool) -> str:
    """Alibaba's default: ``iZ<id suffix>Z`` (Windows: cut to 15 characters)."""
    name = f"iZ{instance_id.split('-', 1)[1]}"
    return f"{name[:14]}Z" if windows else f"{name}Z"


# ---------------------------------------------------------------- the plan of a create call


@dataclass
class SecondarySpec:
    """One secondary ENI per instance of the batch (or one existing ENI when Amount is 1)."""

    vswitch: Row[Any]
    group_ids: list[str]  # empty: the instance's (primary) groups
    name: str = ""
    description: str = ""
    delete_on_release: bool = True
    requested_ip: str = ""
    existing: Row[Any] | None = None
    groups: list[Row[Any]] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """Everything a create call checked and locked, ready to write."""

    image: Image
    itype: InstanceType
    amount: int
    zone_id: str
    vswitch: Row[Any] | None  # None: classic network
    group_ids: list[str]
    requested_ip: str
    tags: dict[str, str]
    resource_group_id: str
    names: list[tuple[str, str]]  # (InstanceName, HostName) per instance; "" = the default
    groups: list[Row[Any]] = field(default_factory=list)
    secondaries: list[SecondarySpec] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    key_pair_name: str = ""
    role: Row[Any] | None = None  # the instance RAM role (RamRoleName), checked and locked
    metadata_options: instance_role_store.MetadataOptions = instance_role_store.DEFAULT_OPTIONS

    @property
    def vpc_id(self) -> str:
        return self.vswitch.vpc_id if self.vswitch is not None else ""


def _names(
    req: CreateInstanceRequest, amount: int, unique_suffix: bool, windows: bool
) -> list[tuple[str, str]]:
    """Batch names, each checked (§3.16)."""
    out = []
    for index in range(amount):
        name = expand_name(req.instance_name, index, unique_suffix)
        host = expand_name(req.host_name, index, unique_suffix)
        if index in (0, amount - 1):
            check_name(name, "InvalidInstanceName.Malformed", "InstanceName")
            check_host_name(host, windows)
        out.append((name, host))
    return out


def _check_fields(req: CreateInstanceRequest, image: Image) -> None:
    check_description(req.description)
    if req.password and req.password_inherit:
        raise ApiError(
            "InvalidPasswordParam.Mismatch", "The input password should be null when passwdInherit is true."
        )
    # The password is checked, not kept: there is no login path here that would read it.
    check_password(req.password, image.is_windows)
    check_user_data(req.user_data)


def _zone(region_id: str, zone_id: str, vswitch: Row[Any] | None) -> str:
    if zone_id and zone_id not in REGIONS_BY_ID[region_id].zones:
        raise not_found("InvalidZoneId.NotFound", "The specified ZoneId does not exist.")
    if vswitch is None:
        return zone_id or REGIONS_BY_ID[region_id].zones[0]
    if zone_id and zone_id != vswitch.zone_id:
        raise invalid_parameter(
            "ZoneId", f"The vSwitch {vswitch.id} is in {vswitch.zone_id}, not in {zone_id}."
        )
    return str(vswitch.zone_id)


def _bad_eni_spec(detail: str) -> ApiError:
    return ApiError(
        "InvalidParam.NetworkInterface", f"The NetworkInterface parameters are not valid. {detail}"
    )


def _split_specs(req: RunInstancesRequest) -> tuple[NetworkInterfaceSpec | None, list[NetworkInterfaceSpec]]:
    """The Primary ``NetworkInterface.N`` entry (if any) and the Secondary ones."""
    primary: NetworkInterfaceSpec | None = None
    secondaries: list[NetworkInterfaceSpec] = []
    for spec in req.network_interface:
        kind = spec.instance_type or "Secondary"
        if kind not in ("Primary", "Secondary"):
            raise _bad_eni_spec("NetworkInterface.N.InstanceType must be Primary or Secondary.")
        if spec.secondary_private_ip_address_count or spec.ipv6_address or spec.ipv6_address_count:
            raise ApiError("UnsupportedParameter", "An ENI here has one private IPv4 address (no extra IPs).")
        if kind == "Secondary":
            secondaries.append(spec)
        elif primary is not None:
            raise _bad_eni_spec("Only one NetworkInterface.N may be the Primary one.")
        else:
            primary = spec
    if primary is not None and (req.v_switch_id or req.security_group_id or req.security_group_ids):
        raise _bad_eni_spec(
            "With a Primary NetworkInterface.N, give VSwitchId and security groups in that entry."
        )
    return primary, secondaries


def _plan(
    ctx: Context,
    req: CreateInstanceRequest,
    *,
    amount: int = 1,
    unique_suffix: bool = False,
    vswitch_id: str,
    group_ids: list[str],
    requested_ip: str,
    other_vswitch_ids: Sequence[str] = (),
) -> tuple[Plan, dict[str, Row[Any]]]:
    """Check the call's own fields and lock, in id order, the vSwitches (or the classic pool) it
    allocates from; returns the plan and the locked vSwitches."""
    image = _image(req.image_id)
    itype = _instance_type(req.instance_type)
    names = _names(req, amount, unique_suffix, image.is_windows)
    _check_fields(req, image)
    tags = validate_tags(req.tag)
    rg = resource_group(ctx, req.resource_group_id)
    switches: dict[str, Row[Any]] = {}
    if vswitch_id:
        for switch_id in sorted({vswitch_id, *other_vswitch_ids}):
            param = "VSwitchId" if switch_id == vswitch_id else "NetworkInterface.N.VSwitchId"
            switches[switch_id] = lock_vswitch(ctx, switch_id, ctx.region_id, param)
    vswitch = switches.get(vswitch_id)
    zone_id = _zone(ctx.region_id, req.zone_id, vswitch)
    if vswitch is None:
        if requested_ip:
            raise invalid_parameter("PrivateIpAddress", "Classic-network addresses are assigned, not chosen.")
        compute.lock_classic_pool(ctx.db, ctx.conn, ctx.region_id)
    return Plan(image, itype, amount, zone_id, vswitch, group_ids, requested_ip, tags, rg, names), switches


def _same_place(plan: Plan, vpc_id: str, zone_id: str) -> None:
    if vpc_id != plan.vpc_id:
        raise ApiError(
            "InvalidOperation.VpcMismatch", "The network interfaces must be in the instance's VPC.", 403
        )
    if zone_id != plan.zone_id:
        raise ApiError(
            "InvalidOperation.AvailabilityZoneMismatch",
            "The network interfaces must be in the instance's zone.",
            403,
        )


def _secondary(
    plan: Plan,
    spec: NetworkInterfaceSpec,
    switches: dict[str, Row[Any]],
    existing: dict[str, Row[Any]],
    current_groups: dict[str, list[str]],
) -> SecondarySpec:
    """A checked secondary ENI entry (its vSwitch or existing ENI already locked)."""
    assert plan.vswitch is not None
    if spec.network_interface_id:
        eni = existing[spec.network_interface_id]
        if eni.status != "Available" or eni.eni_type != "Secondary":
            raise ApiError(
                "InvalidOperation.InvalidEniState", f"The network interface {eni.id} is not Available."
            )
        _same_place(plan, eni.vpc_id, eni.zone_id)
        return SecondarySpec(plan.vswitch, current_groups[eni.id], existing=eni)
    vswitch = switches[spec.v_switch_id or plan.vswitch.id]
    _same_place(plan, vswitch.vpc_id, vswitch.zone_id)
    check_name(spec.network_interface_name, "InvalidParameter", "NetworkInterface.N.NetworkInterfaceName")
    check_description(spec.description)
    return SecondarySpec(
        vswitch,
        wanted_groups(spec.security_group_id, spec.security_group_ids),
        spec.network_interface_name,
        spec.description,
        True if spec.delete_on_release is None else spec.delete_on_release,
        spec.primary_ip_address,
    )


def _plan_secondaries(
    ctx: Context, plan: Plan, specs: Sequence[NetworkInterfaceSpec], switches: dict[str, Row[Any]]
) -> None:
    if specs and plan.vswitch is None:
        raise _bad_eni_spec("Classic-network instances have no secondary network interfaces.")
    if 1 + len(specs) > plan.itype.eni_quantity:
        raise ApiError(
            "EniPerInstanceLimitExceeded",
            f"An instance of type {plan.itype.type_id} can have at most {plan.itype.eni_quantity} network "
            "interfaces.",
            403,
        )
    wanted = sorted({s.network_interface_id for s in specs if s.network_interface_id})
    if wanted and plan.amount != 1:
        raise _bad_eni_spec("An existing network interface can be attached only when Amount is 1.")
    if len(wanted) != sum(1 for s in specs if s.network_interface_id):
        raise _bad_eni_spec("A network interface can be named once.")
    existing = {eni_id: membership.lock_visible_eni(ctx, eni_id, ctx.region_id) for eni_id in wanted}
    for eni in existing.values():
        ensure_eni_operable(ctx, eni)
    current = compute.groups_of(ctx.conn, wanted)
    plan.secondaries = [_secondary(plan, spec, switches, existing, current) for spec in specs]


def _default_group_needed(ctx: Context, plan: Plan) -> bool:
    """SG-10: no group named and none in the VPC (classic: no classic one in the region) → make one;
    groups exist but none was named → Alibaba requires SecurityGroupId."""
    if plan.group_ids:
        return False
    if plan.vswitch is not None:
        compute.lock_vpc(ctx.db, ctx.conn, plan.vpc_id)  # one default group per VPC, however many callers
    if compute.has_groups(ctx.conn, ctx.account_id, ctx.region_id, plan.vpc_id):
        raise missing_parameter("SecurityGroupId")
    return True


def create_default_group(ctx: Context, region_id: str, vpc_id: str, resource_group_id: str) -> str:
    """A normal group accepting SSH, RDP and ICMP from anywhere at priority 100 (SG-10)."""
    suffix = vpc_id.removeprefix("vpc-") if vpc_id else "classic"
    group_id = sg_store.insert_group(
        ctx.conn,
        account_id=ctx.account_id, region_id=region_id, vpc_id=vpc_id, name=f"sg-default-{suffix}",
        description=DEFAULT_GROUP_DESCRIPTION, group_type="normal", resource_group_id=resource_group_id,
        now=ctx.now,
    )  # fmt: skip
    for protocol, ports in DEFAULT_GROUP_RULES:
        fields = RuleFields(
            ip_protocol=protocol, port_range=ports, policy="accept", priority="100", peer_cidr="0.0.0.0/0"
        )
        sg_store.insert_rule(
            ctx.conn, group_id, region_id, normalize(INGRESS, fields, vpc=bool(vpc_id)), ctx.now
        )
    ctx.touched.append(group_id)
    return group_id


def _check_groups(ctx: Context, plan: Plan) -> None:
    """Lock every group of the batch at once and check SG-9 for each new ENI set (capacity counts the
    whole batch: ``amount`` new members per set, accumulated over the sets)."""
    words = membership.CREATE_INSTANCE
    wanted = [*plan.group_ids, *(g for s in plan.secondaries for g in s.group_ids)]
    rows = compute.lock_groups(ctx.db, ctx.conn, ctx.account_id, wanted)
    plan.groups = membership.pick_groups(rows, plan.group_ids, ctx.region_id, words)
    for spec in plan.secondaries:
        spec.groups = membership.pick_groups(rows, spec.group_ids, ctx.region_id, words)
    new_sets = [(plan.groups, plan.vpc_id)]
    new_sets += [(s.groups, s.vswitch.vpc_id) for s in plan.secondaries if s.existing is None]
    membership.not_managed(ctx, [g for groups, _ in new_sets for g in groups])
    counts = compute.member_counts(ctx.conn, sorted(rows))
    for groups, vpc_id in new_sets:
        membership.check_set(groups, vpc_id, words, added=groups, new_members=plan.amount, counts=counts)
        for group in groups:
            counts[group.id] = counts.get(group.id, 0) + plan.amount


def _allocate(ctx: Context, plan: Plan) -> None:
    """Addresses for every new ENI of the batch, lowest free first (consecutive from a given one)."""
    if plan.vswitch is None:
        plan.addresses = take_addresses(
            CLASSIC_POOL, compute.used_classic_ips(ctx.conn, ctx.region_id), plan.amount
        )
        return
    used: dict[str, set[str]] = {}
    for vswitch, spec in [
        (plan.vswitch, None),
        *((s.vswitch, s) for s in plan.secondaries if s.existing is None),
    ]:
        taken = used.setdefault(vswitch.id, compute.used_ips(ctx.conn, vswitch.id))
        cidr = IPv4Network(vswitch.cidr_block)
        if spec is None:
            plan.addresses = take_addresses(cidr, taken, plan.amount, plan.requested_ip)
        else:
            spec.addresses = take_addresses(
                cidr, taken, plan.amount, spec.requested_ip, "NetworkInterface.N.PrimaryIpAddress"
            )


def _prepare(
    ctx: Context,
    req: CreateInstanceRequest,
    plan: Plan,
    specs: Sequence[NetworkInterfaceSpec],
    switches: dict[str, Row[Any]],
) -> None:
    """Everything that can fail, before the instances are written. DryRun ends the call here; its
    rollback also undoes a default group made on the way."""
    plan.key_pair_name = key_pairs.key_pair_for_new_instance(ctx, req.key_pair_name, plan.image.is_windows)
    _plan_role_and_metadata(ctx, req, plan)
    _plan_secondaries(ctx, plan, specs, switches)
    if _default_group_needed(ctx, plan):
        plan.group_ids = [create_default_group(ctx, ctx.region_id, plan.vpc_id, plan.resource_group_id)]
    for spec in plan.secondaries:
        if spec.existing is None and not spec.group_ids:
            spec.group_ids = list(plan.group_ids)
    _check_groups(ctx, plan)
    _allocate(ctx, plan)
    if req.dry_run:
        raise dry_run_passed()


def _plan_role_and_metadata(ctx: Context, req: CreateInstanceRequest, plan: Plan) -> None:
    """RamRoleName (VPC only, trusted by ECS, ram:PassRole) and the metadata options of the batch."""
    plan.metadata_options = instance_roles.metadata_options(
        instance_role_store.DEFAULT_OPTIONS,
        req.http_endpoint,
        req.http_tokens,
        req.http_put_response_hop_limit,
    )
    if not req.ram_role_name:
        return
    if plan.vswitch is None:
        raise instance_roles.classic_refused()
    plan.role = instance_roles.ecs_role(ctx, req.ram_role_name, instance_roles.CREATE_FAULTS)


def _write_role_and_metadata(ctx: Context, plan: Plan, instance_id: str) -> None:
    if plan.role is not None:
        instance_role_store.attach(
            ctx.conn, instance_id=instance_id, account_id=ctx.account_id, role_id=plan.role.id,
            role_name=plan.role.name, policy=None, now=ctx.now,
        )  # fmt: skip
    if plan.metadata_options != instance_role_store.DEFAULT_OPTIONS:
        instance_role_store.set_options(ctx.conn, instance_id, plan.metadata_options)


# ---------------------------------------------------------------- writing


def _write(ctx: Context, req: CreateInstanceRequest, plan: Plan, status: str) -> list[str]:
    created: list[str] = []
    for index, (name, host) in enumerate(plan.names):
        instance_id = ids.resource_id("i", ctx.region_id)
        compute.insert_instance(
            ctx.conn,
            id=instance_id, account_id=ctx.account_id, region_id=ctx.region_id, zone_id=plan.zone_id,
            name=name or instance_id, description=req.description, image_id=plan.image.image_id,
            host_name=host or default_host_name(instance_id, plan.image.is_windows),
            instance_type=plan.itype.type_id, status=status,
            network_type="classic" if plan.vswitch is None else "vpc", vpc_id=plan.vpc_id,
            vswitch_id=plan.vswitch.id if plan.vswitch is not None else "", public_ip="",
            key_pair_name=plan.key_pair_name, password_login=not plan.key_pair_name,
            deletion_protection=req.deletion_protection, user_data=req.user_data,
            resource_group_id=plan.resource_group_id, created_at=ctx.now,
            started_at=ctx.now if status == "Running" else None,
        )  # fmt: skip
        _write_role_and_metadata(ctx, plan, instance_id)
        primary = _insert_eni(ctx, plan, plan.vswitch, instance_id, 0, plan.addresses[index])
        compute.add_members(ctx.conn, primary, plan.group_ids, ctx.now)
        tag_store.set_tags(ctx.conn, ctx.account_id, ctx.region_id, "instance", instance_id, plan.tags)
        tag_store.set_tags(ctx.conn, ctx.account_id, ctx.region_id, "eni", primary, plan.tags)
        for device, spec in enumerate(plan.secondaries, start=1):
            _write_secondary(ctx, plan, spec, instance_id, device, index)
        created.append(instance_id)
    involved = {*plan.group_ids, *(g for s in plan.secondaries for g in s.group_ids)}
    sg_store.bump_revision(ctx.conn, sorted(involved))
    ctx.touched.extend(created)
    return created


def _write_secondary(
    ctx: Context, plan: Plan, spec: SecondarySpec, instance_id: str, device: int, index: int
) -> None:
    if spec.existing is not None:
        compute.update_eni(
            ctx.conn, spec.existing.id, status="InUse", instance_id=instance_id, device_index=device
        )
        return
    eni_id = _insert_eni(ctx, plan, spec.vswitch, instance_id, device, spec.addresses[index], spec)
    compute.add_members(ctx.conn, eni_id, spec.group_ids, ctx.now)


def _insert_eni(
    ctx: Context,
    plan: Plan,
    vswitch: Row[Any] | None,
    instance_id: str,
    device: int,
    address: str,
    secondary: SecondarySpec | None = None,
) -> str:
    """A new ENI attached to the instance: its primary one, or a secondary one per ``secondary``."""
    eni_id = ids.resource_id("eni", ctx.region_id)
    managed, service_id = managed_by(ctx) if secondary is not None else (False, 0)
    compute.insert_eni(
        ctx.conn,
        id=eni_id, account_id=ctx.account_id, region_id=ctx.region_id, zone_id=plan.zone_id,
        vpc_id=vswitch.vpc_id if vswitch is not None else "",
        vswitch_id=vswitch.id if vswitch is not None else "",
        eni_type="Primary" if secondary is None else "Secondary", status="InUse", instance_id=instance_id,
        device_index=device, private_ip=address, mac=new_mac(),
        name=secondary.name if secondary else "", description=secondary.description if secondary else "",
        resource_group_id=plan.resource_group_id, service_managed=managed, service_id=service_id,
        delete_on_release=secondary.delete_on_release if secondary else True, created_at=ctx.now,
    )  # fmt: skip
    return eni_id


# ---------------------------------------------------------------- RunInstances / CreateInstance


def _create_arns(ctx: Context, req: CreateInstanceRequest) -> list[str]:
    groups = [req.security_group_id] if req.security_group_id else []
    groups += list(getattr(req, "security_group_ids", []))
    for spec in getattr(req, "network_interface", []):
        groups += [spec.security_group_id] if spec.security_group_id else list(spec.security_group_ids)
    arns = [ctx.arn("instance/*"), *(ctx.arn(f"securitygroup/{g}") for g in dict.fromkeys(groups))]
    if req.v_switch_id:
        arns.append(ctx.arn(f"vswitch/{req.v_switch_id}", service="vpc"))
    return arns


def _create_conditions(ctx: Context, req: CreateInstanceRequest) -> dict[str, str]:
    """``vpc:CreateDefaultVpc``: true when the call names no vSwitch — on Alibaba such a call lands in
    the default VPC (made for it if need be); here it makes a classic-network instance. Either way a
    policy can refuse instances outside a network the caller chose."""
    specs = getattr(req, "network_interface", [])
    named = bool(req.v_switch_id) or any(spec.v_switch_id for spec in specs)
    return {"vpc:CreateDefaultVpc": "false" if named else "true"}


@operation(
    ECS,
    "RunInstances",
    RunInstancesRequest,
    resources=_create_arns,
    writes=True,
    idempotent=True,
    conditions=_create_conditions,
)
def run_instances(ctx: Context, req: RunInstancesRequest) -> Body:
    if not 1 <= req.amount <= MAX_AMOUNT:
        raise ApiError("InvalidParam.Amount", f"Amount must be between 1 and {MAX_AMOUNT}.", 403)
    if req.min_amount is not None and not 1 <= req.min_amount <= req.amount:
        raise ApiError("InvalidParam.Amount", "MinAmount must be between 1 and Amount.", 403)
    primary, secondaries = _split_specs(req)
    if primary is not None and not primary.v_switch_id:
        raise missing_parameter("NetworkInterface.N.VSwitchId")
    plan, switches = _plan(
        ctx,
        req,
        amount=req.amount,
        unique_suffix=req.unique_suffix,
        vswitch_id=primary.v_switch_id if primary else req.v_switch_id,
        group_ids=(
            wanted_groups(primary.security_group_id, primary.security_group_ids)
            if primary
            else wanted_groups(req.security_group_id, req.security_group_ids)
        ),
        requested_ip=primary.primary_ip_address if primary else req.private_ip_address,
        other_vswitch_ids=[
            s.v_switch_id for s in secondaries if s.v_switch_id and not s.network_interface_id
        ],
    )
    _prepare(ctx, req, plan, secondaries, switches)
    created = _write(ctx, req, plan, "Running")
    return {"InstanceIdSets": {"InstanceIdSet": created}, "OrderId": "", "TradePrice": 0.0}


@operation(
    ECS,
    "CreateInstance",
    CreateInstanceRequest,
    resources=_create_arns,
    writes=True,
    idempotent=True,
    conditions=_create_conditions,
)
def create_instance(ctx: Context, req: CreateInstanceRequest) -> Body:
    group_ids = [req.security_group_id] if req.security_group_id else []
    plan, switches = _plan(
        ctx, req, vswitch_id=req.v_switch_id, group_ids=group_ids, requested_ip=req.private_ip_address
    )
    _prepare(ctx, req, plan, [], switches)
    (instance_id,) = _write(ctx, req, plan, "Stopped")
    return {"InstanceId": instance_id, "OrderId": "", "TradePrice": 0.0}


# ---------------------------------------------------------------- rendering


def _network_interface(eni: Row[Any]) -> Body:
    return {
        "NetworkInterfaceId": eni.id,
        "Type": eni.eni_type,
        "MacAddress": eni.mac,
        "PrimaryIpAddress": eni.private_ip,
        "PrivateIpSets": {
            "PrivateIpSet": [{"PrivateIpAddress": eni.private_ip, "Primary": True, "PrivateDnsName": ""}]
        },
        "Ipv6Sets": {"Ipv6Set": []},
        "Ipv4PrefixSets": {"Ipv4PrefixSet": []},
        "Ipv6PrefixSets": {"Ipv6PrefixSet": []},
    }


def _common_fields(row: Row[Any], enis: list[Row[Any]], groups: list[str]) -> Body:
    """Fields DescribeInstances and DescribeInstanceAttribute share."""
    itype = INSTANCE_TYPES_BY_ID[row.instance_type]
    primary = next((e for e in enis if e.eni_type == "Primary"), None)
    address = [primary.private_ip] if primary is not None else []
    vpc = row.network_type == "vpc"
    return {
        "InstanceId": row.id,
        "InstanceName": row.name,
        "HostName": row.host_name,
        "Description": row.description,
        "Status": row.status,
        "RegionId": row.region_id,
        "ZoneId": row.zone_id,
        "ImageId": row.image_id,
        "InstanceType": row.instance_type,
        "Cpu": itype.cpu,
        "Memory": itype.memory_mib,
        "CreationTime": iso_minutes(row.created_at),
        "ExpiredTime": PAY_AS_YOU_GO_EXPIRY,
        "InstanceNetworkType": row.network_type,
        "InstanceChargeType": "PostPaid",
        "InternetChargeType": "PayByTraffic",
        "InternetMaxBandwidthIn": -1,
        "InternetMaxBandwidthOut": 0,
        "SecurityGroupIds": {"SecurityGroupId": groups},
        "VpcAttributes": {
            "VpcId": row.vpc_id,
            "VSwitchId": row.vswitch_id,
            "NatIpAddress": "",
            "PrivateIpAddress": {"IpAddress": address if vpc else []},
        },
        "InnerIpAddress": {"IpAddress": [] if vpc else address},
        "PublicIpAddress": {"IpAddress": [row.public_ip] if row.public_ip else []},
        "OperationLocks": {"LockReason": []},
        "SerialNumber": str(uuid.uuid5(uuid.NAMESPACE_URL, f"secplane:instance:{row.id}")),
        "StoppedMode": "KeepCharging" if row.status == "Stopped" else "Not-applicable",
        "CreditSpecification": "Standard" if itype.burstable else "",
        "VlanId": "",
        "ClusterId": "",
    }


def instance_fields(
    row: Row[Any],
    enis: list[Row[Any]],
    groups: list[str],
    tags: list[tuple[str, str]],
    metadata: instance_role_store.MetadataOptions,
) -> Body:
    """One instance as DescribeInstances shows it, every field of the §3.41 subset present."""
    image = IMAGES_BY_ID.get(row.image_id)
    itype = INSTANCE_TYPES_BY_ID[row.instance_type]
    vpc_enis = [e for e in enis if e.vpc_id]
    return {
        **_common_fields(row, enis, groups),
        "OSType": image.os_type if image else "",
        "OSName": image.os_name if image else "",
        "OSNameEn": image.os_name_en if image else "",
        "InstanceTypeFamily": itype.family,
        "GPUAmount": 0,
        "GPUSpec": "",
        "StartTime": iso_minutes(row.started_at) if row.started_at is not None else "",
        "AutoReleaseTime": "",
        "IoOptimized": True,
        "DeletionProtection": row.deletion_protection,
        "ResourceGroupId": row.resource_group_id,
        "KeyPairName": row.key_pair_name,
        "DeviceAvailable": True,
        "Recyclable": False,
        "SpotStrategy": "NoSpot",
        "SpotPriceLimit": 0.0,
        "SpotDuration": 0,
        "SpotInterruptionBehavior": "Terminate",
        "SaleCycle": "",
        "LocalStorageAmount": 0,
        "LocalStorageCapacity": 0,
        "HpcClusterId": "",
        "DeploymentSetId": "",
        "ISP": "",
        "EipAddress": {
            "IpAddress": "",
            "AllocationId": "",
            "Bandwidth": 0,
            "InternetChargeType": "",
            "IsSupportUnassociate": False,
        },
        "NetworkInterfaces": {"NetworkInterface": [_network_interface(e) for e in vpc_enis]},
        "RdmaIpAddress": {"IpAddress": []},
        "Tags": render_tags(tags),
        "MetadataOptions": instance_roles.render_options(metadata),
        "CpuOptions": {
            "CoreCount": max(1, itype.cpu // 2),
            "ThreadsPerCore": 2 if itype.cpu > 1 else 1,
            "Numa": "",
            "TopologyType": "",
        },
        "PrivateDnsNameOptions": {
            "HostnameType": "Custom",
            "EnableInstanceIdDnsARecord": False,
            "EnableInstanceIdDnsAAAARecord": False,
            "EnableIpDnsARecord": False,
            "EnableIpDnsPtrRecord": False,
        },
        "HibernationOptions": {"Configured": False},
    }


def _render(ctx: Context, rows: Sequence[Row[Any]]) -> list[Body]:
    instance_ids = [row.id for row in rows]
    enis = compute.enis_of(ctx.conn, instance_ids)
    primaries = {iid: next((e.id for e in enis[iid] if e.eni_type == "Primary"), "") for iid in instance_ids}
    groups = compute.groups_of(ctx.conn, [eni for eni in primaries.values() if eni])
    tags = tag_store.tags_of(ctx.conn, "instance", instance_ids)
    options = instance_role_store.options_of(ctx.conn, instance_ids)
    return [
        instance_fields(
            row, enis[row.id], groups.get(primaries[row.id], []), tags.get(row.id, []), options[row.id]
        )
        for row in rows
    ]


# ---------------------------------------------------------------- DescribeInstances


class FilterParam(Request):
    key: str = ""
    value: str = ""


class DescribeInstancesRequest(Request):
    region_id: str
    instance_ids: list[str] = []
    vpc_id: str = ""
    v_switch_id: str = ""
    zone_id: str = ""
    security_group_id: str = ""
    instance_name: str = ""
    status: str = ""
    instance_network_type: str = ""
    image_id: str = ""
    instance_type: str = ""
    instance_type_family: str = ""
    key_pair_name: str = ""
    resource_group_id: str = ""
    private_ip_addresses: list[str] = []
    inner_ip_addresses: list[str] = []
    public_ip_addresses: list[str] = []
    eip_addresses: list[str] = []
    instance_charge_type: str = ""
    lock_reason: str = ""
    http_endpoint: str = ""
    http_tokens: str = ""
    http_put_response_hop_limit: int | None = None
    tag: list[TagParam] = []
    filter: list[FilterParam] = []
    dry_run: bool = False
    max_results: int | None = None
    next_token: str = ""
    page_number: int = 1
    page_size: int = 10


def name_pattern(name: str) -> str:
    """InstanceName with ``*`` wildcards as a LIKE pattern (``\\`` escapes)."""
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _minutes(value: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%MZ")))
    except ValueError:
        raise invalid_parameter("Filter.N.Value", "Times are given as yyyy-MM-ddTHH:mmZ.") from None


def _created_window(filters: Sequence[FilterParam]) -> tuple[float | None, float | None]:
    start = end = None
    for f in filters:
        if f.key == "CreationStartTime":
            start = _minutes(f.value)
        elif f.key == "CreationEndTime":
            end = _minutes(f.value)
        elif f.key:
            raise not_found("InvalidFilterKey.NotFound", f"The filter key {f.key!r} is not supported.")
    return start, end


def _instance_filter(req: DescribeInstancesRequest) -> compute.InstanceFilter | None:
    """The store filter, or None when the request can match nothing here (EIPs, locks, PrePaid)."""
    if req.status and req.status not in STATUSES:
        raise not_found("InvalidStatus.NotFound", f"The specified Status {req.status!r} is not valid.")
    if req.instance_network_type and req.instance_network_type not in ("vpc", "classic"):
        raise not_found("InvalidNetworkType.NotFound", "The InstanceNetworkType must be vpc or classic.")
    if req.instance_charge_type and req.instance_charge_type not in ("PostPaid", "PrePaid"):
        raise not_found(
            "InvalidInstanceChargeType.NotFound", "The InstanceChargeType must be PostPaid or PrePaid."
        )
    created_from, created_to = _created_window(req.filter)
    tags = tag_filters(req.tag)
    if req.eip_addresses or req.lock_reason or req.instance_charge_type == "PrePaid":
        return None
    types: list[str] | None = None
    if req.instance_type_family:
        types = [t.type_id for t in INSTANCE_TYPES if t.family == req.instance_type_family]
    if req.instance_type:
        types = [t for t in (types if types is not None else [req.instance_type]) if t == req.instance_type]
    return compute.InstanceFilter(
        ids=id_list(req.instance_ids, "InstanceIds"),
        vpc_id=req.vpc_id or None,
        vswitch_id=req.v_switch_id or None,
        zone_id=req.zone_id or None,
        security_group_id=req.security_group_id or None,
        name_like=name_pattern(req.instance_name) if req.instance_name else None,
        status=req.status or None,
        network_type=req.instance_network_type or None,
        image_id=req.image_id or None,
        instance_types=types,
        key_pair_name=req.key_pair_name or None,
        resource_group_id=req.resource_group_id or None,
        private_ips=id_list(req.private_ip_addresses, "PrivateIpAddresses"),
        inner_ips=id_list(req.inner_ip_addresses, "InnerIpAddresses"),
        public_ips=id_list(req.public_ip_addresses, "PublicIpAddresses"),
        tags=tags,
        created_from=created_from,
        created_to=created_to,
    )


def _metadata_filter(
    ctx: Context, req: DescribeInstancesRequest, f: compute.InstanceFilter
) -> compute.InstanceFilter:
    """HttpEndpoint / HttpTokens / HttpPutResponseHopLimit narrow the instance ids."""
    if not (req.http_endpoint or req.http_tokens or req.http_put_response_hop_limit is not None):
        return f
    instance_roles.metadata_options(
        instance_role_store.DEFAULT_OPTIONS,
        req.http_endpoint,
        req.http_tokens,
        req.http_put_response_hop_limit,
    )  # the same checks as for setting them
    matching = instance_role_store.instances_with_options(
        ctx.conn, ctx.account_id, ctx.region_id, req.http_endpoint or None, req.http_tokens or None,
        req.http_put_response_hop_limit,
    )  # fmt: skip
    wanted = set(matching)
    ids = matching if f.ids is None else [i for i in f.ids if i in wanted]
    return dataclasses.replace(f, ids=ids)


@operation(ECS, "DescribeInstances", DescribeInstancesRequest, resources=any_of("instance"))
def describe_instances(ctx: Context, req: DescribeInstancesRequest) -> Body:
    offset, limit, token_mode = page_request(
        req.page_number, req.page_size, req.max_results, req.next_token, high=100
    )
    f = _instance_filter(req)
    if req.dry_run:
        raise dry_run_passed()
    if f is not None:
        f = _metadata_filter(ctx, req, f)
    if f is None:
        return {**page_reply(0, offset, limit, token_mode), "Instances": {"Instance": []}}
    page = compute.list_instances(ctx.conn, ctx.account_id, ctx.region_id, f, offset, limit)
    return {
        **page_reply(page.total, offset, limit, token_mode),
        "Instances": {"Instance": _render(ctx, page.rows)},
    }


# ---------------------------------------------------------------- one instance, found by id


def _instance_arns(ctx: Context, req: Any) -> list[str]:
    return [ctx.arn(f"instance/{req.instance_id}", region=req.region_id or "*")]


class InstanceIdRequest(Request):
    instance_id: str
    region_id: str = ""


def _find(ctx: Context, req: InstanceIdRequest) -> Row[Any]:
    """The caller's instance, in any region unless the call names one (the Tea SDK sends none)."""
    row = compute.get_instance(ctx.conn, ctx.account_id, req.instance_id)
    if row is None or (req.region_id and row.region_id != req.region_id):
        raise membership.instance_not_found()
    return row


@operation(ECS, "DescribeInstanceAttribute", InstanceIdRequest, resources=_instance_arns, region="optional")
def describe_instance_attribute(ctx: Context, req: InstanceIdRequest) -> Body:
    row = _find(ctx, req)
    enis = compute.enis_of(ctx.conn, [row.id])[row.id]
    primary = next(e.id for e in enis if e.eni_type == "Primary")
    return {
        **_common_fields(row, enis, compute.groups_of(ctx.conn, [primary])[primary]),
        "IoOptimized": "optimized",
        "EipAddress": {"IpAddress": "", "AllocationId": "", "Bandwidth": 0, "InternetChargeType": ""},
        "DedicatedHostAttribute": {"DedicatedHostId": "", "DedicatedHostName": ""},
        "EnableJumboFrame": False,
        "EnableNetworkEncryption": False,
        "NetworkOptions": {
            "EnableJumboFrame": False,
            "EnableNetworkEncryption": False,
            "BandwidthWeighting": "",
        },
        "SecurityOptions": {"EnableSecureBoot": False},
    }


# ---------------------------------------------------------------- ModifyInstanceAttribute


class ModifyInstanceAttributeRequest(Request):
    instance_id: str
    region_id: str = ""
    security_group_ids: list[str] = []
    instance_name: str = ""
    description: str = ""
    host_name: str = ""
    password: str = ""
    user_data: str = ""
    deletion_protection: bool | None = None


@operation(
    ECS,
    "ModifyInstanceAttribute",
    ModifyInstanceAttributeRequest,
    resources=_instance_arns,
    writes=True,
    region="optional",
)
def modify_instance_attribute(ctx: Context, req: ModifyInstanceAttributeRequest) -> Body:
    instance = membership.lock_instance(ctx, req.instance_id, req.region_id)
    image = IMAGES_BY_ID.get(instance.image_id)
    windows = image is not None and image.is_windows
    check_name(req.instance_name, "InvalidInstanceName.Malformed", "InstanceName")
    check_description(req.description)
    check_host_name(req.host_name, windows)
    check_password(req.password, windows)  # applied at the next start; no login path reads it here
    if req.password:
        key_pair_store.password_reset(ctx.conn, instance.id)
    check_user_data(req.user_data)
    if req.security_group_ids:
        eni = membership.lock_primary_eni(ctx, instance)
        membership.set_groups(ctx, eni, req.security_group_ids, membership.MODIFY_INSTANCE)
    changes: dict[str, Any] = {}
    for column, value in (
        ("name", req.instance_name), ("description", req.description), ("host_name", req.host_name),
        ("user_data", req.user_data),
    ):  # fmt: skip
        if value:
            changes[column] = value
    if req.deletion_protection is not None:
        changes["deletion_protection"] = req.deletion_protection
    if changes:
        compute.update_instance(ctx.conn, instance.id, **changes)
    ctx.touched.append(instance.id)
    return {}


# ---------------------------------------------------------------- Start / Stop / Reboot


class StateRequest(Request):
    instance_id: str
    region_id: str = ""
    dry_run: bool = False
    force_stop: bool = False
    init_local_disk: bool = False
    stopped_mode: str = ""
    confirm_stop: bool = False
    hibernate: bool = False


def _transition(ctx: Context, req: StateRequest, allowed: str) -> Row[Any]:
    instance = membership.lock_instance(ctx, req.instance_id, req.region_id)
    if instance.status != allowed:
        raise membership.incorrect_status()
    if req.dry_run:
        raise dry_run_passed()
    ctx.touched.append(instance.id)
    return instance


def _boot(ctx: Context, instance: Row[Any]) -> None:
    """(Re)start: Running from now on; a key pair bound or unbound while it ran takes effect now."""
    compute.update_instance(ctx.conn, instance.id, status="Running", started_at=ctx.now)
    key_pair_store.apply_pending_key_pair(ctx.conn, instance.id)


@operation(ECS, "StartInstance", StateRequest, resources=_instance_arns, writes=True, region="optional")
def start_instance(ctx: Context, req: StateRequest) -> Body:
    _boot(ctx, _transition(ctx, req, "Stopped"))
    return {}


@operation(ECS, "StopInstance", StateRequest, resources=_instance_arns, writes=True, region="optional")
def stop_instance(ctx: Context, req: StateRequest) -> Body:
    if req.stopped_mode and req.stopped_mode not in ("StopCharging", "KeepCharging"):
        raise invalid_parameter("StoppedMode", "It must be StopCharging or KeepCharging.")
    instance = _transition(ctx, req, "Running")
    compute.update_instance(ctx.conn, instance.id, status="Stopped")
    return {}


@operation(ECS, "RebootInstance", StateRequest, resources=_instance_arns, writes=True, region="optional")
def reboot_instance(ctx: Context, req: StateRequest) -> Body:
    _boot(ctx, _transition(ctx, req, "Running"))
    return {}


# ---------------------------------------------------------------- DeleteInstance(s)


class DeleteInstanceRequest(Request):
    instance_id: str
    region_id: str = ""
    force: bool = False
    force_stop: bool = True
    terminate_subscription: bool = False
    dry_run: bool = False


class DeleteInstancesRequest(Request):
    region_id: str
    instance_id: list[str] = []
    force: bool = False
    force_stop: bool = True
    terminate_subscription: bool = False
    dry_run: bool = False


def _check_deletable(instance: Row[Any], force: bool) -> None:
    if instance.deletion_protection:
        raise ApiError(
            "InvalidOperation.DeletionProtection",
            f"The instance {instance.id} has deletion protection; turn it off with ModifyInstanceAttribute.",
            403,
        )
    if instance.status not in membership.SETTLED or (instance.status != "Stopped" and not force):
        raise membership.incorrect_status()


def release(ctx: Context, doomed: Sequence[Row[Any]]) -> None:
    """Delete the (locked) instances: their primary ENIs and DeleteOnRelease secondaries go with them
    (and their memberships); other secondary ENIs are detached and keep their groups. All ENIs are
    locked before any group, as everywhere."""
    attached = compute.enis_of(ctx.conn, [i.id for i in doomed])
    enis = [
        membership.lock_visible_eni(ctx, e.id, e.region_id) if e.vpc_id else e
        for instance in doomed
        for e in attached[instance.id]
    ]
    groups_by_eni = compute.groups_of(ctx.conn, [e.id for e in enis])
    touched_groups = sorted({g for e in enis for g in groups_by_eni[e.id]})
    compute.lock_groups(ctx.db, ctx.conn, ctx.account_id, touched_groups)
    for eni in enis:
        if eni.eni_type == "Primary" or eni.delete_on_release:
            compute.delete_eni(ctx.conn, eni.id)
        else:
            compute.update_eni(ctx.conn, eni.id, status="Available", instance_id="", device_index=0)
    sg_store.bump_revision(ctx.conn, touched_groups)
    for instance in doomed:
        compute.delete_instance(ctx.conn, instance.id)
        ctx.touched.append(instance.id)


@operation(
    ECS, "DeleteInstance", DeleteInstanceRequest, resources=_instance_arns, writes=True, region="optional"
)
def delete_instance(ctx: Context, req: DeleteInstanceRequest) -> Body:
    instance = membership.lock_instance(ctx, req.instance_id, req.region_id)
    _check_deletable(instance, req.force)
    if req.dry_run:
        raise dry_run_passed()
    release(ctx, [instance])
    return {}


def _delete_many_arns(ctx: Context, req: DeleteInstancesRequest) -> list[str]:
    return [ctx.arn(f"instance/{i}") for i in req.instance_id] or [ctx.arn("instance/*")]


@operation(
    ECS, "DeleteInstances", DeleteInstancesRequest, resources=_delete_many_arns, writes=True, idempotent=True
)
def delete_instances(ctx: Context, req: DeleteInstancesRequest) -> Body:
    if not req.instance_id:
        raise missing_parameter("InstanceId.1")
    if len(req.instance_id) > MAX_AMOUNT or len(set(req.instance_id)) != len(req.instance_id):
        raise invalid_parameter("InstanceId.N", f"Give 1 to {MAX_AMOUNT} distinct instance ids.")
    locked = {i: membership.lock_instance(ctx, i, ctx.region_id) for i in sorted(req.instance_id)}
    for instance_id in req.instance_id:
        _check_deletable(locked[instance_id], req.force)
    if req.dry_run:
        raise dry_run_passed()
    release(ctx, [locked[i] for i in sorted(req.instance_id)])
    return {}
