"""ECS tag API: ``TagResources``, ``UntagResources`` and ``ListTagResources`` (SG-17).

A resource is tagged only when it exists in the caller's account and region. Tagging a managed security
group is allowed to users: SG-12 leaves tags out of the calls a cloud service reserves for itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, Table, and_, false, or_, select

from secplane.operations.context import Context
from secplane.operations.ecs.common import TagParam, validate_tags
from secplane.operations.paging import decode_token, encode_token
from secplane.operations.registry import ECS, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import tags as tag_store
from secplane.store.schema import (
    instances,
    key_pairs,
    network_interfaces,
    prefix_lists,
    security_groups,
    tags,
)

MAX_RESOURCE_IDS = 50
MAX_TAG_KEYS = 20
MAX_TAG_FILTERS = 5
MAX_FILTER_VALUES = 5
PAGE_SIZE = 50  # ListTagResources rows per page (Alibaba leaves the page size to the server)
RESOURCE_GROUP_KEY = "acs:rm:rgId"  # a Tag.N.Key that filters by resource group instead of by tag


@dataclass(frozen=True, slots=True)
class ResourceKind:
    table: Table | None  # None: no such resource exists here yet
    ram_name: str  # the resource part of the ARN: acs:ecs:<region>:<account>:<ram_name>/<id>
    key: str = "id"  # the column a ResourceId names
    live: ColumnElement[bool] | None = None  # which rows exist for the user (None: all)


# The taggable resource types. Key pairs are tagged by *name* (unique per account and region only);
# a key pair deleted while instances still use it is a tombstone, which cannot be tagged.
KINDS: dict[str, ResourceKind] = {
    "securitygroup": ResourceKind(security_groups, "securitygroup"),
    "instance": ResourceKind(instances, "instance"),
    "eni": ResourceKind(network_interfaces, "networkinterface"),
    "keypair": ResourceKind(key_pairs, "keypair", key="name", live=key_pairs.c.deleted.is_(False)),
    "prefixlist": ResourceKind(prefix_lists, "prefixlist"),
}


# ---------------------------------------------------------------- requests
# RegionId is required by the gateway (region="required"), which resolves ctx.region_id; the fields
# below only document it.


class TagFilterParam(msgspec.Struct, rename="pascal", kw_only=True, frozen=True):
    """``TagFilter.N.TagKey`` / ``TagFilter.N.TagValues.M``."""

    tag_key: str = ""
    tag_values: list[str] = []


class TagResourcesRequest(Request):
    region_id: str = ""
    resource_type: str = ""
    resource_id: list[str] = []
    tag: list[TagParam] = []


class UntagResourcesRequest(Request):
    region_id: str = ""
    resource_type: str = ""
    resource_id: list[str] = []
    tag_key: list[str] = []
    all: bool = False


class ListTagResourcesRequest(Request):
    region_id: str = ""
    resource_type: str = ""
    resource_id: list[str] = []
    tag: list[TagParam] = []
    tag_filter: list[TagFilterParam] = []
    next_token: str = ""


# ---------------------------------------------------------------- RAM resources


def _arns(ctx: Context, req: Any) -> list[str]:
    """One ARN per named resource (``<type>/*`` when none is named); an unknown type is refused later."""
    kind = KINDS.get(req.resource_type.lower())
    name = kind.ram_name if kind else "*"
    return [ctx.arn(f"{name}/{rid}") for rid in dict.fromkeys(req.resource_id)] or [ctx.arn(f"{name}/*")]


# ---------------------------------------------------------------- parameters


def _kind(resource_type: str) -> tuple[str, ResourceKind]:
    if not resource_type:
        raise not_found("MissingParameter.ResourceType", "The parameter ResourceType is mandatory.")
    kind = KINDS.get(resource_type.lower())
    if kind is None:
        raise not_found(
            "InvalidResourceType.NotFound",
            f"The ResourceType provided does not exist in our records: {resource_type!r}. Supported: "
            f"{', '.join(KINDS)}.",
        )
    return resource_type.lower(), kind


def _resource_ids(values: Sequence[str], required: bool) -> list[str]:
    """The ids without repeats, in the order given."""
    unique = list(dict.fromkeys(v for v in values if v))
    if required and not unique:
        raise missing_parameter("ResourceId.N")
    if len(unique) > MAX_RESOURCE_IDS:
        raise ApiError(
            "NumberExceed.ResourceIds",
            f"The ResourceIds parameter's number is exceed , Valid : {MAX_RESOURCE_IDS}",
        )
    return unique


def _tag_keys(keys: Sequence[str]) -> list[str]:
    if len(keys) > MAX_TAG_KEYS:
        raise ApiError("NumberExceed.Tags", f"The Tags parameter's number is exceed , Valid : {MAX_TAG_KEYS}")
    if any(not key or len(key) > 128 for key in keys):
        raise ApiError("InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid.")
    return list(dict.fromkeys(keys))


# ---------------------------------------------------------------- resources


def _scope(ctx: Context, table: Table) -> list[ColumnElement[bool]]:
    return [table.c.account_id == ctx.account_id, table.c.region_id == ctx.region_id]


def _owned(ctx: Context, kind: ResourceKind, table: Table) -> Select[Any]:
    """The ids (names, for key pairs) of the caller's resources of this kind in this region."""
    owned = select(table.c[kind.key]).where(*_scope(ctx, table))
    return owned if kind.live is None else owned.where(kind.live)


def _existing(ctx: Context, kind: ResourceKind, resource_ids: list[str]) -> None:
    """Every resource exists in the caller's account and region; the rows stay locked (PostgreSQL) so
    that the 20-tags limit holds against concurrent TagResources calls."""
    table = kind.table
    for rid in sorted(resource_ids):
        row = None
        if table is not None:
            stmt = _owned(ctx, kind, table).where(table.c[kind.key] == rid)
            row = ctx.conn.execute(stmt if ctx.db.is_sqlite else stmt.with_for_update()).first()
        if row is None:
            raise not_found(
                "InvalidResourceId.NotFound",
                f"The specified ResourceIds are not found in our records. Not found here: {rid}.",
            )


# ---------------------------------------------------------------- Tag / Untag


@operation(ECS, "TagResources", TagResourcesRequest, resources=_arns, writes=True)
def tag_resources(ctx: Context, req: TagResourcesRequest) -> Body:
    resource_type, kind = _kind(req.resource_type)
    resource_ids = _resource_ids(req.resource_id, required=True)
    if not req.tag:
        raise not_found("MissingParameter.Tags", "The parameter Tag.N is mandatory.")
    pairs = validate_tags(req.tag)
    _existing(ctx, kind, resource_ids)
    for rid in resource_ids:
        tag_store.set_tags(ctx.conn, ctx.account_id, ctx.region_id, resource_type, rid, pairs)
    ctx.touched.extend(resource_ids)
    return {}


@operation(ECS, "UntagResources", UntagResourcesRequest, resources=_arns, writes=True)
def untag_resources(ctx: Context, req: UntagResourcesRequest) -> Body:
    resource_type, kind = _kind(req.resource_type)
    resource_ids = _resource_ids(req.resource_id, required=True)
    keys = _tag_keys(req.tag_key)
    _existing(ctx, kind, resource_ids)
    ctx.touched.extend(resource_ids)
    if keys or req.all:  # All applies only when no TagKey.N is given; neither removes nothing
        tag_store.remove_tags(
            ctx.conn,
            resource_type,
            resource_ids,
            keys or None,
            account_id=ctx.account_id,
            region_id=ctx.region_id,
        )
    return {}


# ---------------------------------------------------------------- List


@dataclass(frozen=True, slots=True)
class _TagQuery:
    exact: list[tuple[str, str | None]]  # Tag.N: key and value (None: any value), all required
    resource_group_id: str | None  # Tag.N.Key acs:rm:rgId
    fuzzy: list[tuple[str, list[str]]]  # TagFilter.N: key and values (empty: any value)


def _tag_query(req: ListTagResourcesRequest) -> _TagQuery:
    if len(req.tag) > MAX_TAG_KEYS:
        raise ApiError("NumberExceed.Tags", f"The Tags parameter's number is exceed , Valid : {MAX_TAG_KEYS}")
    exact: list[tuple[str, str | None]] = []
    group: str | None = None
    for i, tag in enumerate(req.tag, 1):
        if not tag.key:
            raise ApiError("InvalidParameter.TagValue", f"Tag.{i}.Value is given without Tag.{i}.Key.")
        if tag.key == RESOURCE_GROUP_KEY:
            group = tag.value or ""
        else:
            exact.append((tag.key, tag.value))
    if len(req.tag_filter) > MAX_TAG_FILTERS:
        raise invalid_parameter("TagFilter.N", f"At most {MAX_TAG_FILTERS} tag filters may be given.")
    fuzzy: list[tuple[str, list[str]]] = []
    for i, item in enumerate(req.tag_filter, 1):
        if not item.tag_key:
            raise missing_parameter(f"TagFilter.{i}.TagKey")
        if len(item.tag_values) > MAX_FILTER_VALUES:
            raise invalid_parameter(
                f"TagFilter.{i}.TagValues", f"At most {MAX_FILTER_VALUES} values may be given."
            )
        fuzzy.append((item.tag_key, item.tag_values))
    return _TagQuery(exact, group, fuzzy)


def _value_matches(values: list[str]) -> ColumnElement[bool]:
    """Any of the values; ``abc*`` matches every value starting with ``abc``; no values: any value."""
    if not values:
        return tags.c.tag_value.is_not(None)
    return or_(
        *(
            tags.c.tag_value.startswith(v[:-1], autoescape=True) if v.endswith("*") else tags.c.tag_value == v
            for v in values
        )
    )


def _fuzzy_match(ctx: Context, resource_type: str, key: str, values: list[str]) -> Select[tuple[str]]:
    return select(tags.c.resource_id).where(
        tags.c.account_id == ctx.account_id,
        tags.c.resource_type == resource_type,
        and_(tags.c.tag_key == key, _value_matches(values)),
    )


def _list_conditions(
    ctx: Context, resource_type: str, kind: ResourceKind, resource_ids: list[str], query: _TagQuery
) -> list[ColumnElement[bool]]:
    """Which tag rows to list: of resources that exist here and meet every filter given."""
    table = kind.table
    if table is None:
        return [false()]
    owned = _owned(ctx, kind, table)
    if query.resource_group_id is not None:
        owned = owned.where(table.c.resource_group_id == query.resource_group_id)
    where = [
        tags.c.account_id == ctx.account_id,
        tags.c.region_id == ctx.region_id,
        tags.c.resource_type == resource_type,
        tags.c.resource_id.in_(owned),
    ]
    if resource_ids:
        where.append(tags.c.resource_id.in_(resource_ids))
    if query.exact:
        where.append(
            tags.c.resource_id.in_(tag_store.matching_ids(ctx.account_id, resource_type, query.exact))
        )
    where.extend(
        tags.c.resource_id.in_(_fuzzy_match(ctx, resource_type, key, values)) for key, values in query.fuzzy
    )
    return where


@operation(ECS, "ListTagResources", ListTagResourcesRequest, resources=_arns)
def list_tag_resources(ctx: Context, req: ListTagResourcesRequest) -> Body:
    resource_type, kind = _kind(req.resource_type)
    resource_ids = _resource_ids(req.resource_id, required=False)
    query = _tag_query(req)
    if not (resource_ids or req.tag or req.tag_filter):
        raise ApiError(
            "MissingParameter",
            'The input parameter "ResourceId.N", "Tag.N" or "TagFilter.N" that is mandatory for processing '
            "this request is not supplied: give at least one of them.",
        )
    offset = decode_token(req.next_token)
    rows = ctx.conn.execute(
        select(tags.c.resource_id, tags.c.tag_key, tags.c.tag_value)
        .where(*_list_conditions(ctx, resource_type, kind, resource_ids, query))
        .order_by(tags.c.resource_id, tags.c.tag_key)
        .offset(offset)
        .limit(PAGE_SIZE + 1)
    ).all()
    items = [
        {
            "ResourceId": r.resource_id,
            "ResourceType": resource_type,
            "TagKey": r.tag_key,
            "TagValue": r.tag_value,
        }
        for r in rows[:PAGE_SIZE]
    ]
    next_token = encode_token(offset + PAGE_SIZE) if len(rows) > PAGE_SIZE else ""
    return {"NextToken": next_token, "TagResources": {"TagResource": items}}
