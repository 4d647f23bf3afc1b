"""Security groups and their rules in the store. Callers hold the write transaction.

Writers that check a limit lock the group row first (``Database.lock_row``); the rule counts below are
then exact for the rest of the transaction, in every server process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    case,
    delete,
    distinct,
    func,
    insert,
    or_,
    select,
    update,
)

from secplane.domain import ids
from secplane.domain.sg_rules import Rule
from secplane.store import tags as tag_store
from secplane.store.db import Database
from secplane.store.schema import (
    accounts,
    network_interfaces,
    prefix_lists,
    security_groups,
    sg_members,
    sg_rules,
)


def insert_group(
    conn: Connection,
    *,
    account_id: str,
    region_id: str,
    vpc_id: str,
    name: str,
    description: str,
    group_type: str,
    resource_group_id: str,
    now: float,
    service_managed: bool = False,
    service_id: int = 0,
) -> str:
    """A new group with no rules; normal groups let members talk (Accept), enterprise ones isolate them."""
    group_id = ids.resource_id("sg", region_id)
    conn.execute(
        insert(security_groups).values(
            id=group_id,
            account_id=account_id,
            region_id=region_id,
            vpc_id=vpc_id,
            name=name,
            description=description,
            group_type=group_type,
            inner_access_policy="Accept" if group_type == "normal" else "Drop",
            resource_group_id=resource_group_id,
            service_managed=service_managed,
            service_id=service_id,
            created_at=now,
            revision=0,
        )
    )
    return group_id


def get_group(
    conn: Connection, account_id: str, group_id: str, region_id: str | None = None
) -> Row[Any] | None:
    stmt = select(security_groups).where(
        security_groups.c.id == group_id, security_groups.c.account_id == account_id
    )
    if region_id is not None:
        stmt = stmt.where(security_groups.c.region_id == region_id)
    return conn.execute(stmt).first()


def bump_revision(conn: Connection, group_ids: Iterable[str]) -> None:
    """Mark the groups changed (rules, policy or members) for anything compiled from them."""
    wanted = list(group_ids)
    if wanted:
        conn.execute(
            update(security_groups)
            .where(security_groups.c.id.in_(wanted))
            .values(revision=security_groups.c.revision + 1)
        )


def rule_from_row(row: Any) -> Rule:
    return Rule(
        direction=row.direction,
        policy=row.policy,
        priority=row.priority,
        ip_protocol=row.ip_protocol,
        port_range=row.port_range,
        source_port_range=row.source_port_range,
        nic_type=row.nic_type,
        peer_cidr=row.peer_cidr,
        peer_group_id=row.peer_group_id,
        peer_group_owner=row.peer_group_owner,
        peer_prefix_list_id=row.peer_prefix_list_id,
        local_cidr=row.local_cidr,
        description=row.description,
    )


def find_rule_by_content(conn: Connection, group_id: str, rule: Rule) -> str | None:
    return conn.execute(
        select(sg_rules.c.id).where(
            sg_rules.c.security_group_id == group_id, sg_rules.c.content_key == rule.content_key
        )
    ).scalar()


def existing_content_keys(conn: Connection, group_id: str, rules: Sequence[Rule]) -> set[str]:
    """Which of ``rules`` the group already has (one query for a whole batch)."""
    keys = [r.content_key for r in rules]
    if not keys:
        return set()
    return set(
        conn.execute(
            select(sg_rules.c.content_key).where(
                sg_rules.c.security_group_id == group_id, sg_rules.c.content_key.in_(keys)
            )
        ).scalars()
    )


def _rule_values(group_id: str, region_id: str, rule: Rule, created_at: float) -> dict[str, Any]:
    return {
        "id": ids.resource_id("sgr", region_id),
        "security_group_id": group_id,
        "direction": rule.direction,
        "policy": rule.policy,
        "priority": rule.priority,
        "ip_protocol": rule.ip_protocol,
        "port_range": rule.port_range,
        "source_port_range": rule.source_port_range,
        "nic_type": rule.nic_type,
        "peer_cidr": rule.peer_cidr,
        "peer_group_id": rule.peer_group_id,
        "peer_group_owner": rule.peer_group_owner,
        "peer_prefix_list_id": rule.peer_prefix_list_id,
        "local_cidr": rule.local_cidr,
        "description": rule.description,
        "content_key": rule.content_key,
        "created_at": created_at,
    }


def insert_rule(conn: Connection, group_id: str, region_id: str, rule: Rule, now: float) -> str | None:
    """Add ``rule``; None when the group already has an identical one (Alibaba: success, nothing added)."""
    if existing_content_keys(conn, group_id, [rule]):
        return None
    return insert_new_rules(conn, group_id, region_id, [rule], now, 0.0)[0]


def insert_new_rules(
    conn: Connection, group_id: str, region_id: str, rules: Sequence[Rule], now: float, step: float
) -> list[str]:
    """Add rules the caller knows are new, in one statement; created ``step`` seconds apart so that
    one request's rules keep their order when listed."""
    values = [_rule_values(group_id, region_id, rule, now + i * step) for i, rule in enumerate(rules)]
    if values:
        conn.execute(insert(sg_rules), values)
    return [v["id"] for v in values]


def rules_of(conn: Connection, group_ids: Sequence[str]) -> list[Row[Any]]:
    """Rules of the groups, oldest first (the order DescribeSecurityGroupAttribute shows)."""
    if not group_ids:
        return []
    return list(
        conn.execute(
            select(sg_rules)
            .where(sg_rules.c.security_group_id.in_(list(group_ids)))
            .order_by(sg_rules.c.created_at, sg_rules.c.id)
        )
    )


def quota_used(conn: Connection, group_id: str) -> tuple[int, int]:
    """(rule entries counted against the 200 limit, rules that authorize a group), in one query.

    A rule that references a prefix list counts as many entries as the list's *maximum* (SG-8).
    """
    entries = case(
        (sg_rules.c.peer_prefix_list_id == "", 1), else_=func.coalesce(prefix_lists.c.max_entries, 0)
    )
    group_rule = case((sg_rules.c.peer_group_id != "", 1), else_=0)
    row = conn.execute(
        select(func.coalesce(func.sum(entries), 0), func.coalesce(func.sum(group_rule), 0))
        .select_from(sg_rules.outerjoin(prefix_lists, prefix_lists.c.id == sg_rules.c.peer_prefix_list_id))
        .where(sg_rules.c.security_group_id == group_id)
    ).one()
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------- queries behind the SG actions


def lock_groups(db: Database, conn: Connection, group_ids: Iterable[str]) -> dict[str, Row[Any]]:
    """Lock the groups (sorted by id, so that two writers never wait on each other in a cycle).

    Lock order of the whole store: prefix lists first, then security groups, each sorted by id.
    """
    locked: dict[str, Row[Any]] = {}
    for group_id in sorted(set(group_ids)):
        row = db.lock_row(conn, security_groups, group_id)
        if row is not None:
            locked[group_id] = row
    return locked


def lock_prefix_lists(db: Database, conn: Connection, list_ids: Iterable[str]) -> dict[str, Row[Any]]:
    """Lock prefix lists (sorted by id) so that none is deleted or resized under a rule being written."""
    locked: dict[str, Row[Any]] = {}
    for list_id in sorted(set(list_ids)):
        row = db.lock_row(conn, prefix_lists, list_id)
        if row is not None:
            locked[list_id] = row
    return locked


def groups_by_id(conn: Connection, group_ids: Iterable[str]) -> dict[str, Row[Any]]:
    """Groups of any account by id (callers check account and region themselves)."""
    wanted = list(set(group_ids))
    if not wanted:
        return {}
    rows = conn.execute(select(security_groups).where(security_groups.c.id.in_(wanted)))
    return {row.id: row for row in rows}


def group_names(conn: Connection, account_id: str, group_ids: Iterable[str]) -> dict[str, str]:
    """Names of the account's groups among ``group_ids`` (for SourceGroupName / DestGroupName)."""
    wanted = list(set(group_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(security_groups.c.id, security_groups.c.name).where(
            security_groups.c.id.in_(wanted), security_groups.c.account_id == account_id
        )
    )
    return {row.id: row.name for row in rows}


def prefix_list_names(conn: Connection, account_id: str, list_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(set(list_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(prefix_lists.c.id, prefix_lists.c.name).where(
            prefix_lists.c.id.in_(wanted), prefix_lists.c.account_id == account_id
        )
    )
    return {row.id: row.name for row in rows}


def resolve_account(conn: Connection, text: str) -> str | None:
    """The id of the account named by its id or its (non-empty) alias; None when there is none."""
    if not text:
        return None
    found = conn.execute(
        select(accounts.c.id).where(or_(accounts.c.id == text, accounts.c.alias == text))
    ).scalar()
    return str(found) if found is not None else None


@dataclass(frozen=True, slots=True)
class GroupFilter:
    """DescribeSecurityGroups filters; None means "not filtered"."""

    ids: Sequence[str] | None = None
    vpc_id: str | None = None
    name: str | None = None
    group_type: str | None = None
    classic: bool | None = None  # True: classic network only; False: VPC only
    service_managed: bool | None = None
    resource_group_id: str | None = None
    tags: Sequence[tuple[str, str | None]] = ()


def _group_conditions(account_id: str, region_id: str, f: GroupFilter) -> list[ColumnElement[bool]]:
    sg = security_groups.c
    where: list[ColumnElement[bool]] = [sg.account_id == account_id, sg.region_id == region_id]
    if f.ids is not None:
        where.append(sg.id.in_(list(f.ids)))
    if f.vpc_id is not None:
        where.append(sg.vpc_id == f.vpc_id)
    if f.name is not None:
        where.append(sg.name == f.name)
    if f.group_type is not None:
        where.append(sg.group_type == f.group_type)
    if f.classic is not None:
        where.append(sg.vpc_id == "" if f.classic else sg.vpc_id != "")
    if f.service_managed is not None:
        where.append(sg.service_managed.is_(f.service_managed))
    if f.resource_group_id is not None:
        where.append(sg.resource_group_id == f.resource_group_id)
    if f.tags:
        where.append(sg.id.in_(tag_store.matching_ids(account_id, "securitygroup", f.tags)))
    return where


def count_groups(conn: Connection, account_id: str, region_id: str, f: GroupFilter) -> int:
    stmt = (
        select(func.count()).select_from(security_groups).where(*_group_conditions(account_id, region_id, f))
    )
    return int(conn.execute(stmt).scalar_one())


def list_groups(
    conn: Connection,
    account_id: str,
    region_id: str,
    f: GroupFilter,
    *,
    limit: int,
    offset: int = 0,
    before_id: str | None = None,
) -> list[Row[Any]]:
    """One page of the account's groups in the region, by id descending (Alibaba's order).

    ``before_id`` continues a token-paged listing after the last id of the previous page (keyset paging:
    the cost of a page does not grow with its position).
    """
    where = _group_conditions(account_id, region_id, f)
    if before_id is not None:
        where.append(security_groups.c.id < before_id)
    stmt = select(security_groups).where(*where).order_by(security_groups.c.id.desc()).limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return list(conn.execute(stmt))


def rule_counts(conn: Connection, group_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(rules, rules that authorize a group) per group, in one query."""
    if not group_ids:
        return {}
    by_group = case((sg_rules.c.peer_group_id != "", 1), else_=0)
    rows = conn.execute(
        select(sg_rules.c.security_group_id, func.count(), func.coalesce(func.sum(by_group), 0))
        .where(sg_rules.c.security_group_id.in_(list(group_ids)))
        .group_by(sg_rules.c.security_group_id)
    )
    return {gid: (int(total), int(groups)) for gid, total, groups in rows}


def member_counts(conn: Connection, group_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(instances, network interfaces) that are members of each group, in one query."""
    if not group_ids:
        return {}
    eni = network_interfaces.c
    instance = case((eni.instance_id != "", eni.instance_id), else_=None)
    rows = conn.execute(
        select(sg_members.c.security_group_id, func.count(distinct(instance)), func.count())
        .select_from(sg_members.join(network_interfaces, eni.id == sg_members.c.network_interface_id))
        .where(sg_members.c.security_group_id.in_(list(group_ids)))
        .group_by(sg_members.c.security_group_id)
    )
    return {gid: (int(instances), int(enis)) for gid, instances, enis in rows}


def has_members(conn: Connection, group_id: str) -> bool:
    stmt = select(sg_members.c.network_interface_id).where(sg_members.c.security_group_id == group_id)
    return conn.execute(stmt.limit(1)).first() is not None


def is_referenced(conn: Connection, group_id: str) -> bool:
    """Whether another group's rule authorizes this group."""
    stmt = select(sg_rules.c.id).where(
        sg_rules.c.peer_group_id == group_id, sg_rules.c.security_group_id != group_id
    )
    return conn.execute(stmt.limit(1)).first() is not None


def referencing_groups(conn: Connection, group_ids: Sequence[str], limit: int) -> list[tuple[str, str, str]]:
    """(referenced group, referencing group, its account) for up to ``limit`` references."""
    if not group_ids:
        return []
    stmt = (
        select(sg_rules.c.peer_group_id, security_groups.c.id, security_groups.c.account_id)
        .select_from(sg_rules.join(security_groups, security_groups.c.id == sg_rules.c.security_group_id))
        .where(
            sg_rules.c.peer_group_id.in_(list(group_ids)),
            sg_rules.c.security_group_id != sg_rules.c.peer_group_id,
        )
        .distinct()
        .order_by(sg_rules.c.peer_group_id, security_groups.c.id)
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in conn.execute(stmt)]


def update_group(conn: Connection, group_id: str, **values: Any) -> None:
    conn.execute(update(security_groups).where(security_groups.c.id == group_id).values(**values))


def delete_group(conn: Connection, group_id: str) -> None:
    """The group, its rules and its tags (callers have checked members and references)."""
    conn.execute(delete(sg_rules).where(sg_rules.c.security_group_id == group_id))
    tag_store.remove_tags(conn, "securitygroup", [group_id], None)
    conn.execute(delete(security_groups).where(security_groups.c.id == group_id))


def rules_by_id(conn: Connection, group_id: str, rule_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """The group's rules among ``rule_ids``."""
    if not rule_ids:
        return {}
    rows = conn.execute(
        select(sg_rules).where(sg_rules.c.security_group_id == group_id, sg_rules.c.id.in_(list(rule_ids)))
    )
    return {row.id: row for row in rows}


def delete_rules(conn: Connection, rule_ids: Sequence[str]) -> None:
    if rule_ids:
        conn.execute(delete(sg_rules).where(sg_rules.c.id.in_(list(rule_ids))))


def replace_rule(conn: Connection, rule_id: str, rule: Rule) -> None:
    """Overwrite a rule's content in place (its id and create time stay)."""
    conn.execute(
        update(sg_rules)
        .where(sg_rules.c.id == rule_id)
        .values(
            direction=rule.direction,
            policy=rule.policy,
            priority=rule.priority,
            ip_protocol=rule.ip_protocol,
            port_range=rule.port_range,
            source_port_range=rule.source_port_range,
            nic_type=rule.nic_type,
            peer_cidr=rule.peer_cidr,
            peer_group_id=rule.peer_group_id,
            peer_group_owner=rule.peer_group_owner,
            peer_prefix_list_id=rule.peer_prefix_list_id,
            local_cidr=rule.local_cidr,
            description=rule.description,
            content_key=rule.content_key,
        )
    )
