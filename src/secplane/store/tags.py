"""ECS tags on resources: set, remove, read in bulk, and filter by."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, func, insert, or_, select, update

from secplane.protocol.errors import ApiError
from secplane.store import db
from secplane.store.schema import tags

MAX_TAGS_PER_RESOURCE = 20


def set_tags(
    conn: Connection,
    account_id: str,
    region_id: str,
    resource_type: str,
    resource_id: str,
    pairs: dict[str, str],
) -> None:
    """Add or overwrite tags on one resource, refusing to go beyond 20 tags."""
    if not pairs:
        return
    scope = and_(
        tags.c.account_id == account_id,
        tags.c.region_id == region_id,
        tags.c.resource_type == resource_type,
        tags.c.resource_id == resource_id,
    )
    existing = {row.tag_key for row in conn.execute(select(tags.c.tag_key).where(scope))}
    if len(existing | pairs.keys()) > MAX_TAGS_PER_RESOURCE:
        raise ApiError("QuotaExceed.Tags", "The quota of tags on resource is beyond permitted range.", 403)
    for key, value in pairs.items():
        where = and_(scope, tags.c.tag_key == key)
        if key in existing:
            conn.execute(update(tags).where(where).values(tag_value=value))
        else:
            conn.execute(
                insert(tags).values(
                    resource_type=resource_type, resource_id=resource_id, tag_key=key, tag_value=value,
                    account_id=account_id, region_id=region_id,
                )
            )  # fmt: skip


def remove_tags(
    conn: Connection,
    resource_type: str,
    resource_ids: Sequence[str],
    keys: Sequence[str] | None,
    *,
    account_id: str | None = None,
    region_id: str | None = None,
) -> None:
    """Remove the named keys (all tags when ``keys`` is None) from the resources; give the account and
    region for resources named by something not globally unique (key pairs)."""
    stmt = delete(tags).where(
        tags.c.resource_type == resource_type, tags.c.resource_id.in_(list(resource_ids))
    )
    if account_id is not None:
        stmt = stmt.where(tags.c.account_id == account_id)
    if region_id is not None:
        stmt = stmt.where(tags.c.region_id == region_id)
    if keys is not None:
        stmt = stmt.where(tags.c.tag_key.in_(list(keys)))
    conn.execute(stmt)


def tags_of(
    conn: Connection, resource_type: str, resource_ids: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """Tags per resource id, sorted by key; one query for the whole page."""
    ids = list(resource_ids)
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if not ids:
        return out
    # plain SQL (see store.db.fetchall): every listing page asks
    statement = (
        "SELECT resource_id, tag_key, tag_value FROM tags WHERE resource_type = ? AND resource_id IN ({}) "
        "ORDER BY resource_id, tag_key"
    )
    for resource_id, key, value in db.fetchall(
        conn, statement.format(db.placeholders(len(ids))), [resource_type, *ids]
    ):
        out[resource_id].append((key, value))
    return out


def matching_ids_sql(
    account_id: str, resource_type: str, wanted: Sequence[tuple[str, str | None]]
) -> tuple[str, list[Any]]:
    """``matching_ids`` as plain SQL (``?`` placeholders) and its parameters, for plain-SQL listings."""
    conditions: list[str] = []
    params: list[Any] = [account_id, resource_type]
    for key, value in wanted:
        if value is None:
            conditions.append("tag_key = ?")
            params.append(key)
        else:
            conditions.append("(tag_key = ? AND tag_value = ?)")
            params.extend((key, value))
    params.append(len(wanted))
    statement = (
        "SELECT resource_id FROM tags WHERE account_id = ? AND resource_type = ? "
        f"AND ({' OR '.join(conditions)}) GROUP BY resource_id HAVING COUNT(*) = ?"
    )
    return statement, params


def matching_ids(
    account_id: str, resource_type: str, wanted: Sequence[tuple[str, str | None]]
) -> Select[tuple[str]]:
    """A subquery of resource ids carrying every wanted tag (a value of None matches any value)."""
    conditions = [
        and_(tags.c.tag_key == key, tags.c.tag_value == value) if value is not None else tags.c.tag_key == key
        for key, value in wanted
    ]
    return (
        select(tags.c.resource_id)
        .where(tags.c.account_id == account_id, tags.c.resource_type == resource_type, or_(*conditions))
        .group_by(tags.c.resource_id)
        .having(func.count() == len(wanted))
    )
