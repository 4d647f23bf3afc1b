"""Instance RAM roles and metadata options in the store, and what the metadata service reads.

Callers hold the transaction. Writers lock the role row (``ram_roles``) before the instance rows, so
that DeleteRole — which locks the role row and then asks ``role_in_use`` — and an attach of the same
role are serialized in every server process. One role per instance is the primary key of
``instance_ram_roles``; rows of both tables go with their instance (ON DELETE CASCADE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from secplane.store import key_pairs
from secplane.store.schema import (
    instance_metadata_options,
    instance_ram_roles,
    instances,
    network_interfaces,
    vpcs,
    vswitches,
)

# ---------------------------------------------------------------- roles


def role_in_use(conn: Connection, account_id: str, role_id: str) -> bool:
    """An instance of the account holds the role: DeleteRole must refuse (lock the role row first)."""
    c = instance_ram_roles.c
    found = conn.execute(
        select(c.instance_id).where(c.account_id == account_id, c.role_id == role_id).limit(1)
    ).first()
    return found is not None


def roles_of(conn: Connection, instance_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """The attachment row (role_id, role_name, policy ...) of each instance that has one."""
    if not instance_ids:
        return {}
    rows = conn.execute(
        select(instance_ram_roles).where(instance_ram_roles.c.instance_id.in_(list(instance_ids)))
    )
    return {row.instance_id: row for row in rows}


def attach(
    conn: Connection,
    *,
    instance_id: str,
    account_id: str,
    role_id: str,
    role_name: str,
    policy: str | None,
    now: float,
) -> None:
    conn.execute(
        insert(instance_ram_roles).values(
            instance_id=instance_id,
            account_id=account_id,
            role_id=role_id,
            role_name=role_name,
            policy=policy,
            attached_at=now,
        )
    )


def detach(conn: Connection, instance_id: str) -> None:
    conn.execute(delete(instance_ram_roles).where(instance_ram_roles.c.instance_id == instance_id))


@dataclass(frozen=True, slots=True)
class AttachmentPage:
    total: int
    rows: Sequence[Row[Any]]  # instance_id, role_name


def list_attachments(
    conn: Connection,
    account_id: str,
    region_id: str,
    instance_ids: Sequence[str] | None,
    role_id: str | None,
    offset: int,
    limit: int,
) -> AttachmentPage:
    """DescribeInstanceRamRole: the account's instances in the region that hold a role, filtered by
    instance ids and/or role, by instance id."""
    r, i = instance_ram_roles.c, instances.c
    query: Select[Any] = (
        select(r.instance_id, r.role_name)
        .join(instances, i.id == r.instance_id)
        .where(r.account_id == account_id, i.region_id == region_id)
    )
    if instance_ids is not None:
        query = query.where(r.instance_id.in_(list(instance_ids)))
    if role_id is not None:
        query = query.where(r.role_id == role_id)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = (
        conn.execute(query.order_by(r.instance_id).offset(offset).limit(limit)).all()
        if total > offset
        else []
    )
    return AttachmentPage(int(total), rows)


# ---------------------------------------------------------------- metadata options


@dataclass(frozen=True, slots=True)
class MetadataOptions:
    http_endpoint: str = "enabled"  # enabled | disabled
    http_tokens: str = "optional"  # optional | required
    hop_limit: int = 1


DEFAULT_OPTIONS = MetadataOptions()


def options_of(conn: Connection, instance_ids: Sequence[str]) -> dict[str, MetadataOptions]:
    """Each instance's options; instances without a row have ``DEFAULT_OPTIONS``."""
    out = dict.fromkeys(instance_ids, DEFAULT_OPTIONS)
    if instance_ids:
        c = instance_metadata_options.c
        for row in conn.execute(
            select(instance_metadata_options).where(c.instance_id.in_(list(instance_ids)))
        ):
            out[row.instance_id] = MetadataOptions(row.http_endpoint, row.http_tokens, row.hop_limit)
    return out


def set_options(conn: Connection, instance_id: str, options: MetadataOptions) -> None:
    """Store the options (one upsert)."""
    values = {"http_endpoint": options.http_endpoint, "http_tokens": options.http_tokens,
              "hop_limit": options.hop_limit}  # fmt: skip
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = dialect_insert(instance_metadata_options).values(instance_id=instance_id, **values)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[instance_metadata_options.c.instance_id], set_=values)
    )


def instances_with_options(
    conn: Connection,
    account_id: str,
    region_id: str,
    http_endpoint: str | None,
    http_tokens: str | None,
    hop_limit: int | None,
) -> list[str]:
    """Ids of the account's instances in the region whose options match (DescribeInstances filters)."""
    o, i = instance_metadata_options.c, instances.c
    query = (
        select(i.id)
        .select_from(instances.outerjoin(instance_metadata_options, o.instance_id == i.id))
        .where(i.account_id == account_id, i.region_id == region_id)
    )
    for column, value, default in (
        (o.http_endpoint, http_endpoint, DEFAULT_OPTIONS.http_endpoint),
        (o.http_tokens, http_tokens, DEFAULT_OPTIONS.http_tokens),
        (o.hop_limit, hop_limit, DEFAULT_OPTIONS.hop_limit),
    ):
        if value is not None:
            query = query.where(func.coalesce(column, default) == value)
    return list(conn.execute(query).scalars())


# ---------------------------------------------------------------- what the metadata service reads


def running_instance_at(conn: Connection, vpc_id: str, address: str) -> str | None:
    """The running instance that holds ``address`` on an attached network interface in the VPC (never a
    classic instance: their addresses are not unique to a network)."""
    if not vpc_id:
        return None
    e, i = network_interfaces.c, instances.c
    return conn.execute(
        select(i.id)
        .join(network_interfaces, e.instance_id == i.id)
        .where(e.vpc_id == vpc_id, e.private_ip == address, i.status == "Running")
        .limit(1)
    ).scalar()


@dataclass(frozen=True, slots=True)
class InstanceView:
    """Everything the metadata service tells an instance about itself (role and options excepted:
    those are read on every request, as they change under a running instance)."""

    instance: Row[Any]
    mac: str
    private_ip: str
    vpc_cidr: str
    vswitch_cidr: str
    public_keys: list[str]


def instance_view(conn: Connection, instance_id: str) -> InstanceView | None:
    instance = conn.execute(select(instances).where(instances.c.id == instance_id)).first()
    if instance is None:
        return None
    e = network_interfaces.c
    primary = conn.execute(
        select(e.mac, e.private_ip).where(e.instance_id == instance_id, e.eni_type == "Primary")
    ).first()
    vpc_cidr = conn.execute(select(vpcs.c.cidr_block).where(vpcs.c.id == instance.vpc_id)).scalar()
    vswitch_cidr = conn.execute(
        select(vswitches.c.cidr_block).where(vswitches.c.id == instance.vswitch_id)
    ).scalar()
    return InstanceView(
        instance,
        primary.mac if primary is not None else "",
        primary.private_ip if primary is not None else "",
        vpc_cidr or "",
        vswitch_cidr or "",
        key_pairs.authorized_keys(conn, instance_id),
    )
