"""Custom policies and their versions, policy attachments, RAM tags, and what the authorizer loads.

System policies are not rows (``domain.system_policies``); an attachment names its policy by type and
name, so both kinds attach the same way. Callers hold the transaction and take the locks
(``store.ram_groups.find_named``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Row, Table, and_, delete, func, insert, or_, select
from sqlalchemy.sql.elements import ColumnElement

from secplane.domain.system_policies import SYSTEM_POLICIES
from secplane.store.schema import (
    ram_attachments,
    ram_group_members,
    ram_groups,
    ram_policies,
    ram_policy_versions,
    ram_roles,
    ram_tags,
    ram_users,
)


def version_number(version_id: str) -> int:
    """``v12`` -> 12, the order of a policy's versions."""
    return int(version_id[1:])


# ---------------------------------------------------------------- versions


def versions(conn: Connection, policy_id: str) -> list[Row[Any]]:
    """The policy's versions, oldest first."""
    c = ram_policy_versions.c
    rows = list(conn.execute(select(ram_policy_versions).where(c.policy_id == policy_id)))
    return sorted(rows, key=lambda row: version_number(row.version_id))


def get_version(conn: Connection, policy_id: str, version_id: str) -> Row[Any] | None:
    c = ram_policy_versions.c
    return conn.execute(
        select(ram_policy_versions).where(c.policy_id == policy_id, c.version_id == version_id)
    ).first()


def insert_version(conn: Connection, policy_id: str, version_id: str, document: str, now: float) -> None:
    conn.execute(
        insert(ram_policy_versions).values(
            policy_id=policy_id, version_id=version_id, document=document, created_at=now
        )
    )


def delete_versions(conn: Connection, policy_id: str, version_ids: Iterable[str] | None = None) -> None:
    """Delete some of the policy's versions, or all of them."""
    c = ram_policy_versions.c
    stmt = delete(ram_policy_versions).where(c.policy_id == policy_id)
    if version_ids is not None:
        stmt = stmt.where(c.version_id.in_(list(version_ids)))
    conn.execute(stmt)


# ---------------------------------------------------------------- attachments


def _principal(account_id: str, principal_type: str, principal_id: str) -> ColumnElement[bool]:
    c = ram_attachments.c
    return and_(
        c.account_id == account_id, c.principal_type == principal_type, c.principal_id == principal_id
    )


def _policy(account_id: str, policy_type: str, policy_name: str) -> ColumnElement[bool]:
    c = ram_attachments.c
    return and_(c.account_id == account_id, c.policy_type == policy_type, c.policy_name == policy_name)


def attach(
    conn: Connection,
    account_id: str,
    principal: tuple[str, str],
    policy: tuple[str, str],
    group: str,
    now: float,
) -> None:
    """Attach ``policy`` (type, name) to ``principal`` (type, id) for resource group ``group`` ("" = the
    whole account)."""
    conn.execute(
        insert(ram_attachments).values(
            account_id=account_id, principal_type=principal[0], principal_id=principal[1],
            policy_type=policy[0], policy_name=policy[1], resource_group_id=group, attached_at=now,
        )
    )  # fmt: skip


def detach(
    conn: Connection, account_id: str, principal: tuple[str, str], policy: tuple[str, str], group: str
) -> bool:
    """True when the attachment existed."""
    where = and_(
        _principal(account_id, *principal),
        _policy(account_id, *policy),
        ram_attachments.c.resource_group_id == group,
    )
    return conn.execute(delete(ram_attachments).where(where)).rowcount > 0


def is_attached(
    conn: Connection, account_id: str, principal: tuple[str, str], policy: tuple[str, str], group: str
) -> bool:
    c = ram_attachments.c
    where = and_(
        _principal(account_id, *principal), _policy(account_id, *policy), c.resource_group_id == group
    )
    return conn.execute(select(c.attached_at).where(where)).first() is not None


def attachments_of(
    conn: Connection, account_id: str, principal_type: str, principal_id: str
) -> list[Row[Any]]:
    """The principal's attachments, in the order attached."""
    c = ram_attachments.c
    stmt = (
        select(ram_attachments)
        .where(_principal(account_id, principal_type, principal_id))
        .order_by(c.attached_at, c.policy_type, c.policy_name, c.resource_group_id)
    )
    return list(conn.execute(stmt))


def count_attached(conn: Connection, account_id: str, principal: tuple[str, str], policy_type: str) -> int:
    """How many policies of ``policy_type`` the principal has (every scope counts, reference §11)."""
    where = and_(_principal(account_id, *principal), ram_attachments.c.policy_type == policy_type)
    return int(conn.execute(select(func.count()).where(where)).scalar_one())


def attached_to(conn: Connection, account_id: str, policy_type: str, policy_name: str) -> list[Row[Any]]:
    """Every attachment of one policy, in the order attached."""
    c = ram_attachments.c
    stmt = (
        select(ram_attachments).where(_policy(account_id, policy_type, policy_name)).order_by(c.attached_at)
    )
    return list(conn.execute(stmt))


def attachment_counts(conn: Connection, account_id: str) -> dict[tuple[str, str], int]:
    """(policy type, policy name) -> number of attachments in the account (``AttachmentCount``)."""
    c = ram_attachments.c
    stmt = (
        select(c.policy_type, c.policy_name, func.count())
        .where(c.account_id == account_id)
        .group_by(c.policy_type, c.policy_name)
    )
    return {(t, n): int(k) for t, n, k in conn.execute(stmt)}


def entity_rows(conn: Connection, table: Table, ids: Iterable[str]) -> dict[str, Row[Any]]:
    """Users, groups or roles by id (for ListEntitiesForPolicy)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    return {row.id: row for row in conn.execute(select(table).where(table.c.id.in_(wanted)))}


PRINCIPAL_TABLES = {"User": ram_users, "Group": ram_groups, "Role": ram_roles}


# ---------------------------------------------------------------- what the authorizer loads


@dataclass(frozen=True, slots=True)
class AttachedPolicy:
    """A policy that applies to a principal. ``via``: "" when attached to the principal itself, else
    ``group/<GroupName>`` (a user's group). ``resource_group_id``: "" for the whole account."""

    policy_type: str
    name: str
    version: str
    document: str
    resource_group_id: str
    via: str


def principal_policies(
    conn: Connection, account_id: str, kind: Literal["user", "group", "role"], principal_id: str
) -> list[AttachedPolicy]:
    """Every policy that applies to a user (its own and its groups'), a role, or a group alone (for the
    simulator), with the document of its default version, in one query."""
    a, g, p, v = ram_attachments.c, ram_groups.c, ram_policies.c, ram_policy_versions.c
    own = and_(a.principal_type == kind.capitalize(), a.principal_id == principal_id)
    if kind == "user":
        groups = select(ram_group_members.c.group_id).where(ram_group_members.c.user_id == principal_id)
        own = or_(own, and_(a.principal_type == "Group", a.principal_id.in_(groups)))
    stmt = (
        select(a.policy_type, a.policy_name, a.resource_group_id, g.name, p.default_version, v.document)
        .select_from(ram_attachments)
        .outerjoin(ram_groups, and_(a.principal_type == "Group", g.id == a.principal_id))
        .outerjoin(
            ram_policies,
            and_(a.policy_type == "Custom", p.account_id == a.account_id, p.name == a.policy_name),
        )
        .outerjoin(ram_policy_versions, and_(v.policy_id == p.id, v.version_id == p.default_version))
        .where(a.account_id == account_id, own)
    )
    out: list[AttachedPolicy] = []
    for policy_type, name, group_id, group_name, version, document in conn.execute(stmt):
        via = f"group/{group_name}" if kind == "user" and group_name is not None else ""
        if policy_type == "System":
            system = SYSTEM_POLICIES.get(name)
            if system is None:
                continue  # withdrawn from the code: nothing to grant
            version, document = system.version, system.document
        elif document is None:
            continue  # cannot happen while deletes check attachments; grant nothing rather than fail
        out.append(AttachedPolicy(policy_type, name, version, document, group_id, via))
    out.sort(key=lambda ap: (ap.via, ap.policy_type, ap.name, ap.resource_group_id))
    return out


# ---------------------------------------------------------------- RAM tags (roles and policies)


def _tags_where(account_id: str, resource_type: str, names: Iterable[str]) -> ColumnElement[bool]:
    c = ram_tags.c
    return and_(
        c.account_id == account_id, c.resource_type == resource_type, c.resource_name.in_(list(names))
    )


def tags_of(
    conn: Connection, account_id: str, resource_type: str, names: Iterable[str]
) -> dict[str, dict[str, str]]:
    """Resource name -> its tags (key -> value)."""
    c = ram_tags.c
    out: dict[str, dict[str, str]] = defaultdict(dict)
    stmt = select(c.resource_name, c.tag_key, c.tag_value).where(
        _tags_where(account_id, resource_type, names)
    )
    for name, key, value in conn.execute(stmt.order_by(c.resource_name, c.tag_key)):
        out[name][key] = value
    return out


def set_tags(conn: Connection, account_id: str, resource_type: str, name: str, pairs: dict[str, str]) -> None:
    """Add or overwrite tags of one resource."""
    if not pairs:
        return
    conn.execute(
        delete(ram_tags).where(
            _tags_where(account_id, resource_type, [name]), ram_tags.c.tag_key.in_(list(pairs))
        )
    )
    conn.execute(
        insert(ram_tags),
        [
            {"account_id": account_id, "resource_type": resource_type, "resource_name": name,
             "tag_key": k, "tag_value": v}
            for k, v in pairs.items()
        ],
    )  # fmt: skip


def remove_tags(
    conn: Connection,
    account_id: str,
    resource_type: str,
    names: Iterable[str],
    keys: Iterable[str] | None = None,
) -> None:
    """Remove the given tag keys (or every tag) of the resources."""
    stmt = delete(ram_tags).where(_tags_where(account_id, resource_type, names))
    if keys is not None:
        stmt = stmt.where(ram_tags.c.tag_key.in_(list(keys)))
    conn.execute(stmt)


def tagged_with(
    conn: Connection, account_id: str, resource_type: str, wanted: dict[str, str | None]
) -> set[str]:
    """Names of the resources that carry every wanted tag (a None value: any value of that key)."""
    c = ram_tags.c
    matches: set[str] | None = None
    for key, value in wanted.items():
        stmt = select(c.resource_name).where(
            c.account_id == account_id, c.resource_type == resource_type, c.tag_key == key
        )
        if value is not None:
            stmt = stmt.where(c.tag_value == value)
        found = {row[0] for row in conn.execute(stmt)}
        matches = found if matches is None else matches & found
    return matches or set()
