"""Security groups and their rules in the store. Callers hold the write transaction.

Writers that check a limit lock the group row first (``Database.lock_row``); the rule counts below are
then exact for the rest of the transaction, in every server process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from secplane.domain import ids
from secplane.domain.sg_rules import Rule
from secplane.store.schema import prefix_lists, security_groups, sg_rules


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


def insert_rule(conn: Connection, group_id: str, region_id: str, rule: Rule, now: float) -> str | None:
    """Add ``rule``; None when the group already has an identical one (Alibaba: success, nothing added)."""
    if find_rule_by_content(conn, group_id, rule) is not None:
        return None
    rule_id = ids.resource_id("sgr", region_id)
    conn.execute(
        insert(sg_rules).values(
            id=rule_id,
            security_group_id=group_id,
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
            created_at=now,
        )
    )
    return rule_id


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
    """(rule entries counted against the 200 limit, rules that authorize a group).

    A rule that references a prefix list counts as many entries as the list's *maximum* (SG-8).
    """
    plain = conn.execute(
        select(func.count()).where(
            sg_rules.c.security_group_id == group_id, sg_rules.c.peer_prefix_list_id == ""
        )
    ).scalar_one()
    by_lists = conn.execute(
        select(func.coalesce(func.sum(prefix_lists.c.max_entries), 0))
        .select_from(sg_rules.join(prefix_lists, prefix_lists.c.id == sg_rules.c.peer_prefix_list_id))
        .where(sg_rules.c.security_group_id == group_id)
    ).scalar_one()
    group_rules = conn.execute(
        select(func.count()).where(sg_rules.c.security_group_id == group_id, sg_rules.c.peer_group_id != "")
    ).scalar_one()
    return int(plain) + int(by_lists), int(group_rules)
