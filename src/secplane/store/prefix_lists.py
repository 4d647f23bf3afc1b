"""Prefix lists, their entries and the security groups whose rules use them. Callers hold the transaction.

Writers lock the list row first (``Database.lock_row``): the entry count checked against MaxEntries, and
the "no rule references it" check of a delete, are then exact for the rest of the transaction.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
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

from secplane.store.db import Database
from secplane.store.schema import RULE_NAMES_LIST, prefix_list_entries, prefix_lists, sg_rules, tags

RESOURCE_TYPE = "prefixlist"  # the ``tags.resource_type`` of a prefix list


@dataclass(frozen=True, slots=True)
class Entry:
    cidr: str
    description: str


@dataclass(frozen=True, slots=True)
class Filters:
    """DescribePrefixLists filters; None means "not filtered"."""

    ids: Sequence[str] | None = None
    name: str | None = None
    address_family: str | None = None
    resource_group_id: str | None = None
    tagged: Select[tuple[str]] | None = None  # subquery of matching ids (store.tags.matching_ids)


def insert_prefix_list(conn: Connection, entries: Sequence[Entry], **values: Any) -> None:
    conn.execute(insert(prefix_lists).values(revision=0, **values))
    add_entries(conn, values["id"], entries)


def get(conn: Connection, account_id: str, region_id: str, prefix_list_id: str) -> Row[Any] | None:
    return conn.execute(
        select(prefix_lists).where(
            prefix_lists.c.id == prefix_list_id,
            prefix_lists.c.account_id == account_id,
            prefix_lists.c.region_id == region_id,
        )
    ).first()


def lock(
    db: Database, conn: Connection, account_id: str, region_id: str, prefix_list_id: str
) -> Row[Any] | None:
    """The list row, locked until the transaction ends; None unless it is the caller's, in the region."""
    row = db.lock_row(conn, prefix_lists, prefix_list_id)
    if row is None or row.account_id != account_id or row.region_id != region_id:
        return None
    return row


def entries_of(conn: Connection, prefix_list_id: str) -> list[Entry]:
    """The entries in address order (10.0.0.0/8 before 192.168.0.0/16 before 192.168.0.0/24)."""
    rows = conn.execute(
        select(prefix_list_entries.c.cidr, prefix_list_entries.c.description).where(
            prefix_list_entries.c.prefix_list_id == prefix_list_id
        )
    )
    entries = [Entry(row.cidr, row.description) for row in rows]
    return sorted(entries, key=lambda e: _address_order(e.cidr))


def _address_order(cidr: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(cidr)
    return net.version, int(net.network_address), net.prefixlen


def add_entries(conn: Connection, prefix_list_id: str, entries: Iterable[Entry]) -> None:
    rows = [{"prefix_list_id": prefix_list_id, "cidr": e.cidr, "description": e.description} for e in entries]
    if rows:
        conn.execute(insert(prefix_list_entries), rows)


def describe_entries(conn: Connection, prefix_list_id: str, descriptions: Mapping[str, str]) -> None:
    """Give existing entries (by CIDR) new descriptions."""
    for cidr, description in descriptions.items():
        conn.execute(
            update(prefix_list_entries)
            .where(prefix_list_entries.c.prefix_list_id == prefix_list_id, prefix_list_entries.c.cidr == cidr)
            .values(description=description)
        )


def remove_entries(conn: Connection, prefix_list_id: str, cidrs: Sequence[str]) -> None:
    if cidrs:
        conn.execute(
            delete(prefix_list_entries).where(
                prefix_list_entries.c.prefix_list_id == prefix_list_id,
                prefix_list_entries.c.cidr.in_(list(cidrs)),
            )
        )


def update_list(conn: Connection, prefix_list_id: str, **values: Any) -> None:
    """Change name/description and bump the revision (what compiled rules key on)."""
    conn.execute(
        update(prefix_lists)
        .where(prefix_lists.c.id == prefix_list_id)
        .values(revision=prefix_lists.c.revision + 1, **values)
    )


def delete_list(conn: Connection, prefix_list_id: str) -> None:
    """The list, its entries and its tags."""
    conn.execute(delete(prefix_list_entries).where(prefix_list_entries.c.prefix_list_id == prefix_list_id))
    conn.execute(
        delete(tags).where(tags.c.resource_type == RESOURCE_TYPE, tags.c.resource_id == prefix_list_id)
    )
    conn.execute(delete(prefix_lists).where(prefix_lists.c.id == prefix_list_id))


def list_page(
    conn: Connection, account_id: str, region_id: str, filters: Filters, offset: int, limit: int
) -> list[Row[Any]]:
    """One page, newest first; ``limit + 1`` rows are read so the caller knows whether more follow."""
    where: list[ColumnElement[bool]] = [
        prefix_lists.c.account_id == account_id,
        prefix_lists.c.region_id == region_id,
    ]
    if filters.ids is not None:
        where.append(prefix_lists.c.id.in_(list(filters.ids)))
    if filters.name is not None:
        where.append(prefix_lists.c.name == filters.name)
    if filters.address_family is not None:
        where.append(prefix_lists.c.address_family == filters.address_family)
    if filters.resource_group_id is not None:
        where.append(prefix_lists.c.resource_group_id == filters.resource_group_id)
    if filters.tagged is not None:
        where.append(prefix_lists.c.id.in_(filters.tagged))
    stmt = (
        select(prefix_lists)
        .where(*where)
        .order_by(prefix_lists.c.created_at.desc(), prefix_lists.c.id.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    return list(conn.execute(stmt))


_NAMES_LIST = text(RULE_NAMES_LIST)  # the partial index's condition, which lets the query use it


def association_counts(conn: Connection, prefix_list_ids: Sequence[str]) -> dict[str, int]:
    """Per list: how many security groups have at least one rule that references it."""
    if not prefix_list_ids:
        return {}
    rows = conn.execute(
        select(sg_rules.c.peer_prefix_list_id, func.count(sg_rules.c.security_group_id.distinct()))
        .where(sg_rules.c.peer_prefix_list_id.in_(list(prefix_list_ids)), _NAMES_LIST)
        .group_by(sg_rules.c.peer_prefix_list_id)
    )
    return {row[0]: int(row[1]) for row in rows}


def associated_groups(
    conn: Connection, prefix_list_id: str, offset: int = 0, limit: int | None = None
) -> list[str]:
    """Ids of the security groups whose rules reference the list, in id order."""
    stmt = (
        select(sg_rules.c.security_group_id)
        .where(sg_rules.c.peer_prefix_list_id == prefix_list_id, _NAMES_LIST)
        .group_by(sg_rules.c.security_group_id)
        .order_by(sg_rules.c.security_group_id)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [row[0] for row in conn.execute(stmt)]


def is_referenced(conn: Connection, prefix_list_id: str) -> bool:
    found = conn.execute(
        select(sg_rules.c.id).where(sg_rules.c.peer_prefix_list_id == prefix_list_id, _NAMES_LIST).limit(1)
    ).first()
    return found is not None
