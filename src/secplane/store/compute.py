"""Instances, network interfaces (ENIs) and security-group membership in the store.

Callers hold the transaction. Writers that check a limit lock rows in one global order, so that
concurrent writers (in any server process) never wait on each other in a cycle:
vSwitch / classic pool → instance → ENI → security groups (sorted by id).

Membership is per ENI (``sg_members``); an instance's groups are those of its primary ENI. Every
instance, classic ones included, has a primary ENI row; classic ENIs (``vpc_id == ""``) are internal
and never listed as ENIs.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from secplane.store import tags as tag_store
from secplane.store.db import Database
from secplane.store.schema import (
    instances,
    network_interfaces,
    security_groups,
    sg_members,
    vpcs,
    vswitches,
)

PRIMARY, SECONDARY = "Primary", "Secondary"


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    rows: Sequence[Row[Any]]


def _page(conn: Connection, query: Select[Any], order: list[Any], offset: int, limit: int) -> Page:
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(*order).offset(offset).limit(limit)).all() if total > offset else []
    return Page(int(total), rows)


def _owned(row: Row[Any] | None, account_id: str) -> Row[Any] | None:
    return row if row is not None and row.account_id == account_id else None


# ---------------------------------------------------------------- instances


def insert_instance(conn: Connection, **values: Any) -> None:
    conn.execute(insert(instances).values(**values))


def get_instance(conn: Connection, account_id: str, instance_id: str) -> Row[Any] | None:
    return conn.execute(
        select(instances).where(instances.c.id == instance_id, instances.c.account_id == account_id)
    ).first()


def lock_instance(db: Database, conn: Connection, account_id: str, instance_id: str) -> Row[Any] | None:
    """The instance row, locked until the transaction ends (its ENI set and status stay as read)."""
    return _owned(db.lock_row(conn, instances, instance_id), account_id)


def update_instance(conn: Connection, instance_id: str, **values: Any) -> None:
    conn.execute(update(instances).where(instances.c.id == instance_id).values(**values))


def delete_instance(conn: Connection, instance_id: str) -> None:
    """The instance row and its tags (its ENIs are the caller's to release first)."""
    tag_store.remove_tags(conn, "instance", [instance_id], None)
    conn.execute(delete(instances).where(instances.c.id == instance_id))


@dataclass(frozen=True, slots=True)
class InstanceFilter:
    """DescribeInstances filters; None means "not filtered"."""

    ids: Sequence[str] | None = None
    vpc_id: str | None = None
    vswitch_id: str | None = None
    zone_id: str | None = None
    security_group_id: str | None = None
    name_like: str | None = None  # SQL LIKE pattern (escape character "\")
    status: str | None = None
    network_type: str | None = None
    image_id: str | None = None
    instance_types: Sequence[str] | None = None
    key_pair_name: str | None = None
    resource_group_id: str | None = None
    private_ips: Sequence[str] | None = None  # VPC primary addresses
    inner_ips: Sequence[str] | None = None  # classic addresses
    public_ips: Sequence[str] | None = None
    tags: Sequence[tuple[str, str | None]] = ()
    created_from: float | None = None
    created_to: float | None = None


def _primary_with_ip(ips: Sequence[str], classic: bool) -> Select[Any]:
    network = network_interfaces.c.vpc_id == "" if classic else network_interfaces.c.vpc_id != ""
    return select(network_interfaces.c.instance_id).where(
        network_interfaces.c.eni_type == PRIMARY, network_interfaces.c.private_ip.in_(list(ips)), network
    )


def _instance_conditions(account_id: str, region_id: str, f: InstanceFilter) -> list[ColumnElement[bool]]:
    c = instances.c
    where: list[ColumnElement[bool]] = [c.account_id == account_id, c.region_id == region_id]
    exact = (
        (c.vpc_id, f.vpc_id), (c.vswitch_id, f.vswitch_id), (c.zone_id, f.zone_id), (c.status, f.status),
        (c.network_type, f.network_type), (c.image_id, f.image_id), (c.key_pair_name, f.key_pair_name),
        (c.resource_group_id, f.resource_group_id),
    )  # fmt: skip
    where += [column == value for column, value in exact if value is not None]
    if f.ids is not None:
        where.append(c.id.in_(list(f.ids)))
    if f.instance_types is not None:
        where.append(c.instance_type.in_(list(f.instance_types)))
    if f.name_like is not None:
        where.append(c.name.like(f.name_like, escape="\\"))
    if f.security_group_id is not None:
        where.append(c.id.in_(_instances_in_group(f.security_group_id)))
    if f.private_ips is not None:
        where.append(c.id.in_(_primary_with_ip(f.private_ips, classic=False)))
    if f.inner_ips is not None:
        where.append(c.id.in_(_primary_with_ip(f.inner_ips, classic=True)))
    if f.public_ips is not None:
        where.append(c.public_ip.in_(list(f.public_ips)))
    if f.tags:
        where.append(c.id.in_(tag_store.matching_ids(account_id, "instance", f.tags)))
    if f.created_from is not None:
        where.append(c.created_at >= f.created_from)
    if f.created_to is not None:
        where.append(c.created_at <= f.created_to)
    return where


def list_instances(
    conn: Connection, account_id: str, region_id: str, f: InstanceFilter, offset: int, limit: int
) -> Page:
    """A page of instances, newest first."""
    query = select(instances).where(*_instance_conditions(account_id, region_id, f))
    return _page(conn, query, [instances.c.created_at.desc(), instances.c.id.desc()], offset, limit)


def _instances_in_group(group_id: str) -> Select[Any]:
    return (
        select(network_interfaces.c.instance_id)
        .join(sg_members, sg_members.c.network_interface_id == network_interfaces.c.id)
        .where(sg_members.c.security_group_id == group_id, network_interfaces.c.eni_type == PRIMARY)
    )


# ---------------------------------------------------------------- network interfaces


def insert_eni(conn: Connection, **values: Any) -> None:
    conn.execute(insert(network_interfaces).values(**values))


def get_eni(conn: Connection, account_id: str, eni_id: str) -> Row[Any] | None:
    return conn.execute(
        select(network_interfaces).where(
            network_interfaces.c.id == eni_id, network_interfaces.c.account_id == account_id
        )
    ).first()


def lock_eni(db: Database, conn: Connection, account_id: str, eni_id: str) -> Row[Any] | None:
    """The ENI row, locked until the transaction ends (its group set stays as read)."""
    return _owned(db.lock_row(conn, network_interfaces, eni_id), account_id)


def update_eni(conn: Connection, eni_id: str, **values: Any) -> None:
    conn.execute(update(network_interfaces).where(network_interfaces.c.id == eni_id).values(**values))


def delete_eni(conn: Connection, eni_id: str) -> list[str]:
    """Remove the ENI, its memberships and tags; returns the groups it left (to bump)."""
    left = groups_of(conn, [eni_id])[eni_id]
    conn.execute(delete(sg_members).where(sg_members.c.network_interface_id == eni_id))
    tag_store.remove_tags(conn, "eni", [eni_id], None)
    conn.execute(delete(network_interfaces).where(network_interfaces.c.id == eni_id))
    return left


def enis_of(conn: Connection, instance_ids: Sequence[str]) -> dict[str, list[Row[Any]]]:
    """The ENIs attached to each instance, primary first (by device index)."""
    out: dict[str, list[Row[Any]]] = {instance_id: [] for instance_id in instance_ids}
    if not instance_ids:
        return out
    rows = conn.execute(
        select(network_interfaces)
        .where(network_interfaces.c.instance_id.in_(list(instance_ids)))
        .order_by(network_interfaces.c.device_index, network_interfaces.c.id)
    )
    for row in rows:
        out[row.instance_id].append(row)
    return out


def primary_eni_id(conn: Connection, instance_id: str) -> str | None:
    return conn.execute(
        select(network_interfaces.c.id).where(
            network_interfaces.c.instance_id == instance_id, network_interfaces.c.eni_type == PRIMARY
        )
    ).scalar()


@dataclass(frozen=True, slots=True)
class EniFilter:
    """DescribeNetworkInterfaces filters; None means "not filtered"."""

    ids: Sequence[str] | None = None
    instance_id: str | None = None
    vpc_id: str | None = None
    vswitch_id: str | None = None
    security_group_id: str | None = None  # matches secondary ENIs only, as Alibaba does
    name: str | None = None
    private_ips: Sequence[str] | None = None
    resource_group_id: str | None = None
    eni_type: str | None = None
    status: str | None = None
    service_managed: bool | None = None
    tags: Sequence[tuple[str, str | None]] = ()


def _eni_conditions(account_id: str, region_id: str, f: EniFilter) -> list[ColumnElement[bool]]:
    c = network_interfaces.c
    where: list[ColumnElement[bool]] = [
        c.account_id == account_id,
        c.region_id == region_id,
        c.vpc_id != "",  # classic primary ENIs are internal
    ]
    exact = (
        (c.instance_id, f.instance_id), (c.vpc_id, f.vpc_id), (c.vswitch_id, f.vswitch_id), (c.name, f.name),
        (c.resource_group_id, f.resource_group_id), (c.eni_type, f.eni_type), (c.status, f.status),
    )  # fmt: skip
    where += [column == value for column, value in exact if value is not None]
    if f.ids is not None:
        where.append(c.id.in_(list(f.ids)))
    if f.private_ips is not None:
        where.append(c.private_ip.in_(list(f.private_ips)))
    if f.service_managed is not None:
        where.append(c.service_managed.is_(f.service_managed))
    if f.security_group_id is not None:
        members = select(sg_members.c.network_interface_id).where(
            sg_members.c.security_group_id == f.security_group_id
        )
        where += [c.eni_type == SECONDARY, c.id.in_(members)]
    if f.tags:
        where.append(c.id.in_(tag_store.matching_ids(account_id, "eni", f.tags)))
    return where


def list_enis(
    conn: Connection, account_id: str, region_id: str, f: EniFilter, offset: int, limit: int
) -> Page:
    """A page of (VPC) ENIs, newest first."""
    query = select(network_interfaces).where(*_eni_conditions(account_id, region_id, f))
    order = [network_interfaces.c.created_at.desc(), network_interfaces.c.id.desc()]
    return _page(conn, query, order, offset, limit)


# ---------------------------------------------------------------- membership


def groups_of(conn: Connection, eni_ids: Sequence[str]) -> dict[str, list[str]]:
    """The groups of each ENI, in the order they were joined."""
    out: dict[str, list[str]] = defaultdict(list)
    for eni_id in eni_ids:
        out[eni_id] = []
    if not eni_ids:
        return out
    rows = conn.execute(
        select(sg_members.c.network_interface_id, sg_members.c.security_group_id)
        .where(sg_members.c.network_interface_id.in_(list(eni_ids)))
        .order_by(sg_members.c.created_at, sg_members.c.security_group_id)
    )
    for eni_id, group_id in rows:
        out[eni_id].append(group_id)
    return out


def add_members(conn: Connection, eni_id: str, group_ids: Sequence[str], now: float) -> None:
    """Join the ENI to the groups; a microsecond apart each, so the given order is kept."""
    for i, group_id in enumerate(group_ids):
        conn.execute(
            insert(sg_members).values(
                security_group_id=group_id, network_interface_id=eni_id, created_at=now + i * 1e-6
            )
        )


def remove_members(conn: Connection, eni_id: str, group_ids: Sequence[str]) -> None:
    if group_ids:
        conn.execute(
            delete(sg_members).where(
                sg_members.c.network_interface_id == eni_id,
                sg_members.c.security_group_id.in_(list(group_ids)),
            )
        )


def member_counts(conn: Connection, group_ids: Sequence[str]) -> dict[str, int]:
    """Members (ENIs, each holding one private IP) of each group."""
    out = dict.fromkeys(group_ids, 0)
    if not group_ids:
        return out
    rows = conn.execute(
        select(sg_members.c.security_group_id, func.count())
        .where(sg_members.c.security_group_id.in_(list(group_ids)))
        .group_by(sg_members.c.security_group_id)
    )
    for group_id, count in rows:
        out[group_id] = int(count)
    return out


def members_of_group(conn: Connection, group_id: str) -> list[str]:
    """ENI ids (primary ENIs of instances included) that belong to the group: DeleteSecurityGroup must
    refuse while this is not empty."""
    return list(
        conn.execute(
            select(sg_members.c.network_interface_id)
            .where(sg_members.c.security_group_id == group_id)
            .order_by(sg_members.c.network_interface_id)
        ).scalars()
    )


def instances_of_group(conn: Connection, group_id: str) -> list[str]:
    """Instances whose primary ENI belongs to the group."""
    return sorted(conn.execute(_instances_in_group(group_id)).scalars())


def lock_groups(
    db: Database, conn: Connection, account_id: str, group_ids: Iterable[str]
) -> dict[str, Row[Any]]:
    """Lock the account's groups among ``group_ids`` in id order; missing or foreign ones are absent."""
    out: dict[str, Row[Any]] = {}
    for group_id in sorted(set(group_ids)):
        row = _owned(db.lock_row(conn, security_groups, group_id), account_id)
        if row is not None:
            out[group_id] = row
    return out


def get_groups(conn: Connection, group_ids: Sequence[str]) -> list[Row[Any]]:
    """Group rows without locking, in the order given (for reading type and VPC, which never change)."""
    if not group_ids:
        return []
    rows = {
        r.id: r
        for r in conn.execute(select(security_groups).where(security_groups.c.id.in_(list(group_ids))))
    }
    return [rows[g] for g in group_ids if g in rows]


def lock_vpc(db: Database, conn: Connection, vpc_id: str) -> None:
    """Lock the VPC row: one caller at a time makes the VPC's default security group."""
    db.lock_row(conn, vpcs, vpc_id)


def has_groups(conn: Connection, account_id: str, region_id: str, vpc_id: str) -> bool:
    """Whether the account has any group in the VPC (or, for ``vpc_id == ""``, any classic group of
    the region): SG-10 creates a default group only when there is none."""
    found = conn.execute(
        select(security_groups.c.id)
        .where(
            security_groups.c.account_id == account_id,
            security_groups.c.region_id == region_id,
            security_groups.c.vpc_id == vpc_id,
        )
        .limit(1)
    ).first()
    return found is not None


# ---------------------------------------------------------------- addresses


def lock_vswitch(db: Database, conn: Connection, account_id: str, vswitch_id: str) -> Row[Any] | None:
    """The vSwitch row, locked: addresses are allocated from it until the transaction ends."""
    return _owned(db.lock_row(conn, vswitches, vswitch_id), account_id)


def used_ips(conn: Connection, vswitch_id: str) -> set[str]:
    return set(
        conn.execute(
            select(network_interfaces.c.private_ip).where(network_interfaces.c.vswitch_id == vswitch_id)
        ).scalars()
    )


def lock_classic_pool(db: Database, conn: Connection, region_id: str) -> None:
    """Serialize classic address allocation in a region across processes (SQLite writers already are)."""
    if not db.is_sqlite:
        key = zlib.crc32(f"secplane-classic-pool:{region_id}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def used_classic_ips(conn: Connection, region_id: str) -> set[str]:
    """Classic addresses in use in the region, by every account (the classic network is shared)."""
    return set(
        conn.execute(
            select(network_interfaces.c.private_ip).where(
                network_interfaces.c.vswitch_id == "", network_interfaces.c.region_id == region_id
            )
        ).scalars()
    )


# ---------------------------------------------------------------- for the VPC and SG actions


def vswitch_in_use(conn: Connection, vswitch_id: str) -> bool:
    """Instances or ENIs in the vSwitch: DeleteVSwitch must refuse (DependencyViolation)."""
    found = conn.execute(
        select(network_interfaces.c.id).where(network_interfaces.c.vswitch_id == vswitch_id).limit(1)
    ).first()
    return found is not None


def vpc_has_instances(conn: Connection, vpc_id: str) -> bool:
    """DeleteVpc: DependencyViolation.Instance while this is true."""
    found = conn.execute(select(instances.c.id).where(instances.c.vpc_id == vpc_id).limit(1)).first()
    return found is not None


def vpc_in_use(conn: Connection, vpc_id: str) -> bool:
    """Instances or ENIs (attached or not) in the VPC."""
    found = conn.execute(
        select(network_interfaces.c.id).where(network_interfaces.c.vpc_id == vpc_id).limit(1)
    ).first()
    return found is not None


def used_ip_counts(conn: Connection, vswitch_ids: Sequence[str]) -> dict[str, int]:
    """Addresses taken per vSwitch, for a page at once (AvailableIpAddressCount subtracts these)."""
    if not vswitch_ids:
        return {}
    rows = conn.execute(
        select(network_interfaces.c.vswitch_id, func.count())
        .where(network_interfaces.c.vswitch_id.in_(list(vswitch_ids)))
        .group_by(network_interfaces.c.vswitch_id)
    )
    return {vswitch_id: int(count) for vswitch_id, count in rows}
