"""Security groups and their rules in the store. Callers hold the write transaction.

Writers that check a limit lock the group row first (``Database.lock_row``); the rule counts below are
then exact for the rest of the transaction, in every server process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    or_,
    select,
    text,
    update,
)

from secplane.domain import ids
from secplane.domain.sg_rules import Rule
from secplane.store import db as sql
from secplane.store import tags as tag_store
from secplane.store.db import Database
from secplane.store.schema import (
    RULE_HAS_PEER,
    RULE_NAMES_GROUP,
    accounts,
    prefix_lists,
    security_groups,
    sg_members,
    sg_rules,
)


class Group(NamedTuple):
    """A ``security_groups`` row (the columns in table order)."""

    id: str
    account_id: str
    region_id: str
    vpc_id: str
    name: str
    description: str
    group_type: str
    inner_access_policy: str
    resource_group_id: str
    service_managed: bool
    service_id: int
    created_at: float
    revision: int

    @classmethod
    def of(cls, row: Sequence[Any]) -> Group:
        group = cls._make(row)
        if type(group.service_managed) is not bool:  # SQLite gives a BOOLEAN back as 0 or 1
            group = group._replace(service_managed=bool(group.service_managed))
        return group


class RuleRow(NamedTuple):
    """An ``sg_rules`` row (the columns in table order)."""

    id: str
    security_group_id: str
    direction: str
    policy: str
    priority: int
    ip_protocol: str
    port_range: str
    source_port_range: str
    nic_type: str
    peer_cidr: str
    peer_group_id: str
    peer_group_owner: str
    peer_prefix_list_id: str
    local_cidr: str
    description: str
    content_key: str
    created_at: float


# The hot queries below are plain SQL through ``store.db`` (see there why); these name the columns in
# the order of the tuples above.
_GROUP_COLUMNS = ", ".join(Group._fields)
_RULE_COLUMNS = ", ".join(RuleRow._fields)
assert Group._fields == tuple(security_groups.c.keys()) and RuleRow._fields == tuple(sg_rules.c.keys())

_INSERT_GROUP = (
    f"INSERT INTO security_groups ({_GROUP_COLUMNS}) VALUES ({sql.placeholders(len(Group._fields))})"
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
    inner_access_policy = "Accept" if group_type == "normal" else "Drop"
    # in the order of Group's fields
    values = (
        group_id, account_id, region_id, vpc_id, name, description, group_type, inner_access_policy,
        resource_group_id, service_managed, service_id, now, 0,
    )  # fmt: skip
    sql.execute(conn, _INSERT_GROUP, values)
    return group_id


_GROUP_IN_REGION = (
    f"SELECT {_GROUP_COLUMNS} FROM security_groups WHERE id = ? AND account_id = ? AND region_id = ?"
)


def group_in_region(conn: Connection, account_id: str, group_id: str, region_id: str) -> Group | None:
    """The account's group in the region, or None."""
    row = sql.fetchone(conn, _GROUP_IN_REGION, (group_id, account_id, region_id))
    return Group.of(row) if row is not None else None


_LOCK_GROUP = f"SELECT {_GROUP_COLUMNS} FROM security_groups WHERE id = ?"


def lock_group(db: Database, conn: Connection, group_id: str) -> Group | None:
    """``Database.lock_row`` for a group (any account): the row, locked for the rest of the transaction."""
    row = sql.fetchone(conn, _LOCK_GROUP if db.is_sqlite else _LOCK_GROUP + " FOR UPDATE", (group_id,))
    return Group.of(row) if row is not None else None


_CHANGE_GROUP = f"UPDATE security_groups SET revision = revision + 1 WHERE id = ? RETURNING {_GROUP_COLUMNS}"


def lock_group_to_change(conn: Connection, group_id: str) -> Group | None:
    """``lock_group`` for a writer that will change the group: its revision moves in the same
    statement (one statement instead of a lock and a ``bump_revision``; rolled back with the rest)."""
    row = sql.fetchone(conn, _CHANGE_GROUP, (group_id,))
    return Group.of(row) if row is not None else None


def bump_revision(conn: Connection, group_ids: Iterable[str]) -> None:
    """Mark the groups changed (rules, policy or members) for anything compiled from them."""
    wanted = list(group_ids)
    if wanted:
        statement = "UPDATE security_groups SET revision = revision + 1 WHERE id IN ({})"
        sql.execute(conn, statement.format(sql.placeholders(len(wanted))), wanted)


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


def existing_content_keys(conn: Connection, group_id: str, keys: Sequence[str]) -> set[str]:
    """Which of the rule ``keys`` (``Rule.content_key``) the group already has, in one query."""
    if not keys:
        return set()
    statement = "SELECT content_key FROM sg_rules WHERE security_group_id = ? AND content_key IN ({})"
    rows = sql.fetchall(conn, statement.format(sql.placeholders(len(keys))), [group_id, *keys])
    return {row[0] for row in rows}


def _rule_values(rule_id: str, group_id: str, rule: Rule, key: str, created_at: float) -> RuleRow:
    return RuleRow(
        rule_id,
        group_id,
        rule.direction,
        rule.policy,
        rule.priority,
        rule.ip_protocol,
        rule.port_range,
        rule.source_port_range,
        rule.nic_type,
        rule.peer_cidr,
        rule.peer_group_id,
        rule.peer_group_owner,
        rule.peer_prefix_list_id,
        rule.local_cidr,
        rule.description,
        key,
        created_at,
    )


_INSERT_RULE = f"INSERT INTO sg_rules ({_RULE_COLUMNS}) VALUES ({sql.placeholders(len(RuleRow._fields))})"


def insert_rule(conn: Connection, group_id: str, region_id: str, rule: Rule, now: float) -> str | None:
    """Add ``rule``; None when the group already has an identical one (Alibaba: success, nothing added)."""
    if existing_content_keys(conn, group_id, [rule.content_key]):
        return None
    return insert_new_rules(conn, group_id, region_id, [rule], now, 0.0)[0]


def insert_new_rules(
    conn: Connection,
    group_id: str,
    region_id: str,
    rules: Sequence[Rule],
    now: float,
    step: float,
    keys: Sequence[str] | None = None,
) -> list[str]:
    """Add rules the caller knows are new, in one statement; created ``step`` seconds apart so that
    one request's rules keep their order when listed. ``keys``: their content keys, if the caller has
    them already (each one costs parsing the rule's addresses)."""
    if keys is None:
        keys = [rule.content_key for rule in rules]
    rule_ids = ids.resource_ids("sgr", region_id, len(rules))
    values = [
        _rule_values(rule_id, group_id, rule, key, now + i * step)
        for i, (rule_id, rule, key) in enumerate(zip(rule_ids, rules, keys, strict=True))
    ]
    if len(values) == 1:
        sql.execute(conn, _INSERT_RULE, values[0])
    elif values:
        sql.execute(conn, _INSERT_RULE, values, many=True)
    return [v.id for v in values]


# built once; "expanding": the IN list is rendered for the number of ids of each call
_RULES_OF = (
    select(sg_rules)
    .where(sg_rules.c.security_group_id.in_(bindparam("group_ids", expanding=True)))
    .order_by(sg_rules.c.created_at, sg_rules.c.id)
)


def rules_of(conn: Connection, group_ids: Sequence[str]) -> list[Row[Any]]:
    """Rules of the groups, oldest first (the order DescribeSecurityGroupAttribute shows)."""
    if not group_ids:
        return []
    return list(conn.execute(_RULES_OF, {"group_ids": list(group_ids)}))


_GROUP_RULES = f"SELECT {_RULE_COLUMNS} FROM sg_rules WHERE security_group_id = ? ORDER BY created_at, id"


def group_rules(conn: Connection, group_id: str) -> list[RuleRow]:
    """``rules_of`` one group as plain tuples, for the hot paths."""
    return [RuleRow._make(row) for row in sql.fetchall(conn, _GROUP_RULES, (group_id,))]


# All rules count through the group's unique index alone; only the few that name a group or a prefix
# list are read, through the partial index whose condition the WHERE repeats (RULE_HAS_PEER).
_QUOTA_USED = f"""
SELECT (SELECT COUNT(*) FROM sg_rules WHERE security_group_id = ?),
       COALESCE(SUM(CASE WHEN peer_prefix_list_id <> '' THEN COALESCE(p.max_entries, 0) - 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN peer_group_id <> '' THEN 1 ELSE 0 END), 0)
FROM sg_rules LEFT OUTER JOIN prefix_lists AS p ON p.id = peer_prefix_list_id
WHERE security_group_id = ? AND {RULE_HAS_PEER}
"""


def quota_used(conn: Connection, group_id: str) -> tuple[int, int]:
    """(rule entries counted against the 200 limit, rules that authorize a group), in one query.

    A rule that references a prefix list counts as many entries as the list's *maximum* (SG-8).
    """
    row = sql.fetchone(conn, _QUOTA_USED, (group_id, group_id))
    assert row is not None  # an aggregate without GROUP BY: always one row
    rules, extra_list_entries, group_rules = row
    return int(rules) + int(extra_list_entries), int(group_rules)


# ---------------------------------------------------------------- queries behind the SG actions


def lock_groups(db: Database, conn: Connection, group_ids: Iterable[str]) -> dict[str, Group]:
    """Lock the groups (sorted by id, so that two writers never wait on each other in a cycle).

    Lock order of the whole store: prefix lists first, then security groups, each sorted by id.
    """
    locked: dict[str, Group] = {}
    for group_id in sorted(set(group_ids)):
        group = lock_group(db, conn, group_id)
        if group is not None:
            locked[group_id] = group
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
    statement = "SELECT id, name FROM security_groups WHERE account_id = ? AND id IN ({})"
    rows = sql.fetchall(conn, statement.format(sql.placeholders(len(wanted))), [account_id, *wanted])
    return {group_id: name for group_id, name in rows}


def prefix_list_names(conn: Connection, account_id: str, list_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(set(list_ids))
    if not wanted:
        return {}
    statement = "SELECT id, name FROM prefix_lists WHERE account_id = ? AND id IN ({})"
    rows = sql.fetchall(conn, statement.format(sql.placeholders(len(wanted))), [account_id, *wanted])
    return {list_id: name for list_id, name in rows}


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


def _group_conditions(account_id: str, region_id: str, f: GroupFilter) -> tuple[list[str], list[Any]]:
    """The WHERE conditions of a listing (plain SQL: the page is a hot path) and their parameters."""
    where = ["account_id = ?", "region_id = ?"]
    params: list[Any] = [account_id, region_id]

    def equal(column: str, value: Any) -> None:
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)

    if f.ids is not None:
        where.append(f"id IN ({sql.placeholders(len(f.ids))})" if f.ids else "1 <> 1")
        params.extend(f.ids)
    equal("vpc_id", f.vpc_id)
    equal("name", f.name)
    equal("group_type", f.group_type)
    if f.classic is not None:
        where.append("vpc_id = ''" if f.classic else "vpc_id <> ''")
    equal("service_managed", f.service_managed)
    equal("resource_group_id", f.resource_group_id)
    if f.tags:
        tagged, tag_params = tag_store.matching_ids_sql(account_id, "securitygroup", f.tags)
        where.append(f"id IN ({tagged})")
        params.extend(tag_params)
    return where, params


def count_groups(conn: Connection, account_id: str, region_id: str, f: GroupFilter) -> int:
    where, params = _group_conditions(account_id, region_id, f)
    row = sql.fetchone(conn, f"SELECT COUNT(*) FROM security_groups WHERE {' AND '.join(where)}", params)
    assert row is not None  # an aggregate without GROUP BY: always one row
    return int(row[0])


def list_groups(
    conn: Connection,
    account_id: str,
    region_id: str,
    f: GroupFilter,
    *,
    limit: int,
    offset: int = 0,
    before_id: str | None = None,
) -> list[Group]:
    """One page of the account's groups in the region, by id descending (Alibaba's order).

    ``before_id`` continues a token-paged listing after the last id of the previous page (keyset paging:
    the cost of a page does not grow with its position).
    """
    where, params = _group_conditions(account_id, region_id, f)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    statement = (
        f"SELECT {_GROUP_COLUMNS} FROM security_groups WHERE {' AND '.join(where)} "
        "ORDER BY id DESC LIMIT ? OFFSET ?"
    )
    return [Group.of(row) for row in sql.fetchall(conn, statement, [*params, limit, offset])]


_RULE_COUNTS = """
SELECT security_group_id, COUNT(*), COALESCE(SUM(CASE WHEN peer_group_id <> '' THEN 1 ELSE 0 END), 0)
FROM sg_rules WHERE security_group_id IN ({}) GROUP BY security_group_id
"""


def rule_counts(conn: Connection, group_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(rules, rules that authorize a group) per group, in one query."""
    if not group_ids:
        return {}
    rows = sql.fetchall(conn, _RULE_COUNTS.format(sql.placeholders(len(group_ids))), list(group_ids))
    return {gid: (int(total), int(groups)) for gid, total, groups in rows}


_MEMBER_COUNTS = """
SELECT m.security_group_id,
       COUNT(DISTINCT CASE WHEN e.instance_id <> '' THEN e.instance_id ELSE NULL END), COUNT(*)
FROM sg_members AS m JOIN network_interfaces AS e ON e.id = m.network_interface_id
WHERE m.security_group_id IN ({}) GROUP BY m.security_group_id
"""


def member_counts(conn: Connection, group_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(instances, network interfaces) that are members of each group, in one query."""
    if not group_ids:
        return {}
    rows = sql.fetchall(conn, _MEMBER_COUNTS.format(sql.placeholders(len(group_ids))), list(group_ids))
    return {gid: (int(instances), int(enis)) for gid, instances, enis in rows}


def has_members(conn: Connection, group_id: str) -> bool:
    stmt = select(sg_members.c.network_interface_id).where(sg_members.c.security_group_id == group_id)
    return conn.execute(stmt.limit(1)).first() is not None


_NAMES_GROUP = text(RULE_NAMES_GROUP)  # the partial index's condition, which lets the query use it


def is_referenced(conn: Connection, group_id: str) -> bool:
    """Whether another group's rule authorizes this group."""
    stmt = select(sg_rules.c.id).where(
        sg_rules.c.peer_group_id == group_id,
        _NAMES_GROUP,
        sg_rules.c.security_group_id != group_id,
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
            _NAMES_GROUP,
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
