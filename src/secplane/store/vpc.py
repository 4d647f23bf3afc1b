"""VPC and vSwitch rows: the queries behind the VPC actions, always scoped to one account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Row, Select, delete, func, insert, select

from secplane.store import db as sql
from secplane.store.db import Database
from secplane.store.schema import resource_groups, vpcs, vswitches


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    rows: Sequence[Row[Any]]


# ---------------------------------------------------------------- VPCs


def insert_vpc(conn: Connection, **values: Any) -> None:
    conn.execute(insert(vpcs).values(**values))


def get_vpc(conn: Connection, account_id: str, vpc_id: str) -> Row[Any] | None:
    return conn.execute(select(vpcs).where(vpcs.c.id == vpc_id, vpcs.c.account_id == account_id)).first()


class LockedVpc(NamedTuple):
    """What the writers that lock a VPC read of it."""

    id: str
    account_id: str
    region_id: str
    cidr_block: str
    status: str
    resource_group_id: str


# plain SQL: creating a security group locks its VPC, and the select machinery cost more than the query
_LOCK_VPC = (
    "SELECT id, account_id, region_id, cidr_block, status, resource_group_id FROM vpcs "
    "WHERE id = ? AND account_id = ?"
)


def lock_vpc(db: Database, conn: Connection, account_id: str, vpc_id: str) -> LockedVpc | None:
    """The account's VPC, locked until the transaction ends, so that limits on its children hold."""
    row = sql.fetchone(conn, _LOCK_VPC if db.is_sqlite else _LOCK_VPC + " FOR UPDATE", (vpc_id, account_id))
    return LockedVpc._make(row) if row is not None else None


def list_vpcs(
    conn: Connection,
    account_id: str,
    region_id: str,
    *,
    ids: Sequence[str] | None = None,
    name: str | None = None,
    is_default: bool | None = None,
    resource_group_id: str | None = None,
    offset: int = 0,
    limit: int = 10,
) -> Page:
    where: list[ColumnElement[bool]] = [vpcs.c.account_id == account_id, vpcs.c.region_id == region_id]
    if ids is not None:
        where.append(vpcs.c.id.in_(ids))
    if name is not None:
        where.append(vpcs.c.name == name)
    if is_default is not None:
        where.append(vpcs.c.is_default.is_(is_default))
    if resource_group_id is not None:
        where.append(vpcs.c.resource_group_id == resource_group_id)
    query = select(vpcs).where(*where)
    return _page(conn, query, [vpcs.c.created_at.desc(), vpcs.c.id.desc()], offset, limit)


def delete_vpc(conn: Connection, vpc_id: str) -> None:
    conn.execute(delete(vpcs).where(vpcs.c.id == vpc_id))


def resource_group_exists(conn: Connection, account_id: str, group_id: str) -> bool:
    found = conn.execute(
        select(resource_groups.c.id).where(
            resource_groups.c.id == group_id, resource_groups.c.account_id == account_id
        )
    ).first()
    return found is not None


# ---------------------------------------------------------------- vSwitches

# vSwitch columns plus the route table of its VPC (every vSwitch uses its VPC's system route table).
_VSWITCH_COLUMNS = (*vswitches.c, vpcs.c.route_table_id)
_VSWITCH_FROM = vswitches.join(vpcs, vswitches.c.vpc_id == vpcs.c.id)


def insert_vswitch(conn: Connection, **values: Any) -> None:
    conn.execute(insert(vswitches).values(**values))


def get_vswitch(conn: Connection, account_id: str, vswitch_id: str) -> Row[Any] | None:
    return conn.execute(
        select(*_VSWITCH_COLUMNS)
        .select_from(_VSWITCH_FROM)
        .where(vswitches.c.id == vswitch_id, vswitches.c.account_id == account_id)
    ).first()


def vswitch_cidrs(conn: Connection, vpc_id: str) -> list[str]:
    """CIDR blocks of the VPC's vSwitches (their count is the VPC's vSwitch count)."""
    return list(conn.execute(select(vswitches.c.cidr_block).where(vswitches.c.vpc_id == vpc_id)).scalars())


def vswitch_ids_by_vpc(conn: Connection, vpc_ids: Sequence[str]) -> dict[str, list[str]]:
    """vSwitch ids of each VPC, oldest first."""
    out: dict[str, list[str]] = {vpc_id: [] for vpc_id in vpc_ids}
    if not vpc_ids:
        return out
    rows = conn.execute(
        select(vswitches.c.vpc_id, vswitches.c.id)
        .where(vswitches.c.vpc_id.in_(vpc_ids))
        .order_by(vswitches.c.created_at, vswitches.c.id)
    )
    for vpc_id, vswitch_id in rows:
        out[vpc_id].append(vswitch_id)
    return out


def has_vswitches(conn: Connection, vpc_id: str) -> bool:
    return (
        conn.execute(select(vswitches.c.id).where(vswitches.c.vpc_id == vpc_id).limit(1)).first() is not None
    )


def list_vswitches(
    conn: Connection,
    account_id: str,
    *,
    region_id: str | None = None,
    vpc_id: str | None = None,
    ids: Sequence[str] | None = None,
    name: str | None = None,
    zone_id: str | None = None,
    route_table_id: str | None = None,
    resource_group_id: str | None = None,
    offset: int = 0,
    limit: int = 10,
) -> Page:
    where: list[ColumnElement[bool]] = [vswitches.c.account_id == account_id]
    if region_id is not None:
        where.append(vswitches.c.region_id == region_id)
    if vpc_id is not None:
        where.append(vswitches.c.vpc_id == vpc_id)
    if ids is not None:
        where.append(vswitches.c.id.in_(ids))
    if name is not None:
        where.append(vswitches.c.name == name)
    if zone_id is not None:
        where.append(vswitches.c.zone_id == zone_id)
    if route_table_id is not None:
        where.append(vpcs.c.route_table_id == route_table_id)
    if resource_group_id is not None:
        where.append(vswitches.c.resource_group_id == resource_group_id)
    query = select(*_VSWITCH_COLUMNS).select_from(_VSWITCH_FROM).where(*where)
    return _page(conn, query, [vswitches.c.created_at.desc(), vswitches.c.id.desc()], offset, limit)


def delete_vswitch(conn: Connection, vswitch_id: str) -> None:
    conn.execute(delete(vswitches).where(vswitches.c.id == vswitch_id))


# ---------------------------------------------------------------- paging


def _page(conn: Connection, query: Select[Any], order: list[Any], offset: int, limit: int) -> Page:
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(*order).offset(offset).limit(limit)).all() if total > offset else []
    return Page(total, rows)
