"""RAM tags on roles and custom policies: ``TagResources``, ``UntagResources``, ``ListTagResources``, and
the ``Tag`` parameter of CreateRole/CreatePolicy/ListRoles/ListPolicies.

``Tag``, ``ResourceNames`` and ``TagKeys`` travel as JSON arrays inside one query parameter
(``Tag=[{"Key":"k","Value":"v"}]``). A resource has at most 20 tags; keys are 1-128 characters and may
not start with ``acs:`` or ``aliyun``; values are at most 128 characters (the API documents 256, the
``ram_tags`` column holds 128, so longer values are refused rather than truncated).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from secplane.operations.context import Context
from secplane.operations.ram.common import limit_exceeded, not_exist, page, ram_arn
from secplane.operations.ram.lookup import existing
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter
from secplane.protocol.params import Request
from secplane.store import ram_policies as store
from secplane.store.ram_groups import all_in_account, find_named
from secplane.store.schema import ram_policies, ram_roles

MAX_TAGS = 20
MAX_RESOURCES = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 128
_RESERVED = ("acs:", "aliyun")

ResourceType = Literal["role", "policy"]


# ---------------------------------------------------------------- the Tag parameter


def _tag_list(text: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        items = None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid_parameter("Tag", 'It must be a JSON array such as [{"Key":"env","Value":"prod"}].')
    if len(items) > MAX_TAGS:
        raise invalid_parameter("Tag", f"Give at most {MAX_TAGS} tags.")
    return items


def _key(item: dict[str, Any]) -> str:
    key = item.get("Key")
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ApiError(
            "InvalidParameter.TagKey", f"A tag key must be a string of 1 to {MAX_KEY_LENGTH} characters."
        )
    if key.lower().startswith(_RESERVED):
        raise ApiError(
            "InvalidParameter.TagKey", f"The tag key {key!r} must not start with 'acs:' or 'aliyun'."
        )
    return key


def _value(item: dict[str, Any]) -> str | None:
    value = item.get("Value")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
        raise ApiError(
            "InvalidParameter.TagValue",
            f"A tag value must be a string of at most {MAX_VALUE_LENGTH} characters.",
        )
    return value


def parse_tags(text: str) -> dict[str, str]:
    """The tags to set (key -> value; a missing value is "")."""
    return {_key(item): _value(item) or "" for item in _tag_list(text)}


def tag_filter(ctx: Context, resource_type: ResourceType, text: str) -> set[str] | None:
    """Names of the resources carrying every tag of a ``Tag`` filter (a tag without ``Value`` matches any
    value of its key); None when there is no filter."""
    wanted = {_key(item): _value(item) for item in _tag_list(text)}
    if not wanted:
        return None
    return store.tagged_with(ctx.conn, ctx.account_id, resource_type, wanted)


def render_tags(pairs: dict[str, str]) -> Body:
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in pairs.items()]}


def add_tags(ctx: Context, resource_type: ResourceType, name: str, pairs: dict[str, str]) -> None:
    """Set tags on one resource, keeping it within ``MAX_TAGS`` (the resource row is locked by the caller)."""
    current = store.tags_of(ctx.conn, ctx.account_id, resource_type, [name]).get(name, {})
    if len(current | pairs) > MAX_TAGS:
        raise limit_exceeded(
            "Tag", f"A {resource_type} has at most {MAX_TAGS} tags; {name!r} would have more."
        )
    store.set_tags(ctx.conn, ctx.account_id, resource_type, name, pairs)


# ---------------------------------------------------------------- requests


class TagResourcesRequest(Request):
    resource_type: str
    resource_names: list[str]
    tag: str


class UntagResourcesRequest(Request):
    resource_type: str
    resource_names: list[str]
    tag_keys: list[str] = []
    all: bool = False


class ListTagResourcesRequest(Request):
    resource_type: str
    resource_names: list[str] = []
    tag: str = ""
    next_token: str = ""
    page_size: int | None = None


def _resource_type(value: str) -> ResourceType:
    if value == "role":
        return "role"
    if value == "policy":
        return "policy"
    raise ApiError("InvalidParameter.ResourceType", "The parameter ResourceType must be role or policy.")


def _names(values: list[str], required: bool = True) -> list[str]:
    names = list(dict.fromkeys(v for v in values if v))
    if (required and not names) or len(names) > MAX_RESOURCES:
        raise invalid_parameter(
            "ResourceNames", f'Give a JSON array of 1 to {MAX_RESOURCES} names, such as ["r1"].'
        )
    return names


def _tag_arns(ctx: Context, req: Any) -> list[str]:
    kind = "role" if req.resource_type == "role" else "policy"
    return [ram_arn(ctx, f"{kind}/{n}") for n in dict.fromkeys(req.resource_names)] or [
        ram_arn(ctx, f"{kind}/*")
    ]


def _lock_resources(ctx: Context, resource_type: ResourceType, names: list[str]) -> None:
    """Every named role or custom policy must exist; each is locked (in name order) until commit."""
    for name in sorted(names):
        if resource_type == "role":
            existing(ctx, "Role", name, lock=True)
        elif find_named(ctx.db, ctx.conn, ram_policies, ctx.account_id, name, lock=True) is None:
            raise not_exist("Policy", f"The policy does not exist: {name!r}.")


# ---------------------------------------------------------------- actions


@operation(RAM, "TagResources", TagResourcesRequest, resources=_tag_arns, writes=True, region="none")
def tag_resources(ctx: Context, req: TagResourcesRequest) -> Body:
    """Add or overwrite tags on up to 50 roles or custom policies at once: all or none."""
    resource_type, names = _resource_type(req.resource_type), _names(req.resource_names)
    pairs = parse_tags(req.tag)
    if not pairs:
        raise invalid_parameter("Tag", "Give 1 to 20 tags.")
    _lock_resources(ctx, resource_type, names)
    for name in names:
        add_tags(ctx, resource_type, name, pairs)
    ctx.touched.extend(names)
    return {}


@operation(RAM, "UntagResources", UntagResourcesRequest, resources=_tag_arns, writes=True, region="none")
def untag_resources(ctx: Context, req: UntagResourcesRequest) -> Body:
    """Remove the given tag keys, or with ``All`` every tag, from roles or custom policies."""
    resource_type, names = _resource_type(req.resource_type), _names(req.resource_names)
    keys = list(dict.fromkeys(k for k in req.tag_keys if k))
    if not req.all and not keys:
        raise invalid_parameter("TagKeys", "Give the tag keys to remove, or All=true.")
    if len(keys) > MAX_TAGS:
        raise invalid_parameter("TagKeys", f"Give at most {MAX_TAGS} tag keys.")
    _lock_resources(ctx, resource_type, names)
    store.remove_tags(ctx.conn, ctx.account_id, resource_type, names, None if req.all else keys)
    ctx.touched.extend(names)
    return {}


@operation(RAM, "ListTagResources", ListTagResourcesRequest, resources=_tag_arns, region="none")
def list_tag_resources(ctx: Context, req: ListTagResourcesRequest) -> Body:
    """One item per (resource, tag), ordered by resource name then key; NextToken paging (1-100)."""
    resource_type = _resource_type(req.resource_type)
    names = _names(req.resource_names, required=False) or _all_names(ctx, resource_type)
    matching = tag_filter(ctx, resource_type, req.tag)
    if matching is not None:
        names = [n for n in names if n in matching]
    tags = store.tags_of(ctx.conn, ctx.account_id, resource_type, names)
    items = [
        {"ResourceName": name, "ResourceType": resource_type, "TagKey": k, "TagValue": v}
        for name in sorted(tags)
        for k, v in tags[name].items()
    ]
    chunk, token = page(items, req.next_token, req.page_size, limit=100)
    return {"NextToken": token, "TagResources": chunk}


def _all_names(ctx: Context, resource_type: ResourceType) -> list[str]:
    table = ram_roles if resource_type == "role" else ram_policies
    return [row.name for row in all_in_account(ctx.conn, table, ctx.account_id)]
