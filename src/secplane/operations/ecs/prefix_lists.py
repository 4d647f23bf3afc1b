"""Prefix lists (SG-8): named sets of CIDR blocks that security-group rules reference.

A list's address family and MaxEntries never change: rules that reference it count MaxEntries against
their group's quota, so growing it later would break quotas already granted. Every change to a list
bumps its revision and the revision of each group whose rules use it, so compiled rules are rebuilt.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import Row

from secplane.domain import ids
from secplane.operations.context import Context
from secplane.operations.ecs.common import (
    TagParam,
    iso_minutes,
    render_tags,
    resource_group,
    tag_filters,
    validate_tags,
)
from secplane.operations.paging import decode_token, encode_token
from secplane.operations.registry import ECS, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import prefix_lists as store
from secplane.store import security_groups as sg_store
from secplane.store import tags as tag_store

MAX_ENTRIES = 200  # the largest MaxEntries, and the most entries one call may add or remove
MAX_IDS_PER_FILTER = 100
FAMILIES = {"ipv4": "IPv4", "ipv6": "IPv6"}

# 2-128 characters, a (Unicode) letter first, then letters, digits and ``: _ . -``.
_NAME = re.compile(r"[^\W\d_][\w:.\-]{1,127}")
_RESERVED_NAME_PREFIXES = ("http://", "https://", "com.aliyun", "com.alibabacloud")
_URL_PREFIXES = ("http://", "https://")


# ---------------------------------------------------------------- requests
# RegionId is required by the gateway (region="required"), which resolves ctx.region_id; the fields
# below only document it.


class EntryParam(msgspec.Struct, rename="pascal", kw_only=True, frozen=True):
    """``Entry.N`` / ``AddEntry.N``: a CIDR block and an optional description."""

    cidr: str
    description: str = ""


class RemoveEntryParam(msgspec.Struct, rename="pascal", kw_only=True, frozen=True):
    """``RemoveEntry.N.Cidr``."""

    cidr: str


class CreatePrefixListRequest(Request):
    prefix_list_name: str
    address_family: str
    max_entries: int
    region_id: str = ""
    description: str = ""
    entry: list[EntryParam] = []
    client_token: str = ""
    resource_group_id: str = ""
    tag: list[TagParam] = []


class ModifyPrefixListRequest(Request):
    prefix_list_id: str
    region_id: str = ""
    prefix_list_name: str = ""
    description: str = ""
    add_entry: list[EntryParam] = []
    remove_entry: list[RemoveEntryParam] = []


class DescribePrefixListsRequest(Request):
    region_id: str = ""
    prefix_list_id: list[str] = []
    prefix_list_name: str = ""
    address_family: str = ""
    resource_group_id: str = ""
    tag: list[TagParam] = []
    max_results: int | None = None
    next_token: str = ""


class PrefixListIdRequest(Request):
    """DescribePrefixListAttributes and DeletePrefixList: one list by id."""

    prefix_list_id: str
    region_id: str = ""


class DescribePrefixListAssociationsRequest(Request):
    prefix_list_id: str
    region_id: str = ""
    max_results: int | None = None
    next_token: str = ""


# ---------------------------------------------------------------- RAM resources


def _list_arn(ctx: Context, req: Any) -> list[str]:
    return [ctx.arn(f"prefixlist/{req.prefix_list_id}")]


def _any_list_arn(ctx: Context, req: Any) -> list[str]:
    return [ctx.arn("prefixlist/*")]


# ---------------------------------------------------------------- validation (pure)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.lower().startswith(_RESERVED_NAME_PREFIXES):
        raise ApiError(
            "InvalidParameter.PrefixListName",
            "The parameter PrefixListName is not valid. It must be 2 to 128 characters long, start with "
            "a letter, contain only letters, digits, ':', '_', '.' and '-', and must not start with "
            "http://, https://, com.aliyun or com.alibabacloud.",
        )
    return name


def check_description(text: str, name: str, low: int, high: int) -> str:
    """Descriptions: ``low``..``high`` characters, not a URL; "" means not given."""
    if text and (not low <= len(text) <= high or text.lower().startswith(_URL_PREFIXES)):
        raise ApiError(
            "InvalidDescription.Malformed",
            f"The specified Description is wrongly formed. {name} must be {low} to {high} characters "
            "long and must not start with http:// or https://.",
        )
    return text


def address_family(value: str, name: str = "AddressFamily") -> str:
    family = FAMILIES.get(value.lower())
    if family is None:
        raise ApiError(
            "InvalidParameter.AddressFamily", f"The parameter {name} should be IPv4 or IPv6 (got {value!r})."
        )
    return family


def max_entries(value: int) -> int:
    if not 1 <= value <= MAX_ENTRIES:
        raise invalid_parameter("MaxEntries", f"It must be between 1 and {MAX_ENTRIES}.")
    return value


def normalize_cidr(text: str, family: str, name: str) -> str:
    """A network address in canonical form: bare addresses become /32 or /128, IPv6 is compressed
    lower-case, host bits must be zero (10.0.0.1/8 is refused) and the family must be the list's."""
    value = text.strip()
    address, _, prefix = value.partition("/")
    try:
        if "%" in address or (prefix and not prefix.isdigit()):
            raise ValueError(value)
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ApiError(
            "InvalidParameter.CidrMalformed",
            f"The CIDR block {text!r} in {name} is not valid: give a network address such as 10.0.0.0/8 "
            "(not 10.0.0.1/8) or a single IP address.",
        ) from None
    if f"IPv{net.version}" != family:
        raise ApiError(
            "InvalidParameter.CidrMalformed",
            f"The CIDR block {text!r} in {name} is IPv{net.version}, but the prefix list's AddressFamily "
            f"is {family}.",
        )
    return str(net)


def _limit_entries(count: int, name: str) -> None:
    if count > MAX_ENTRIES:
        raise ApiError(
            "LimitExceed.Entry",
            f"The number of entries added or removed exceeds the limit. {name} holds {count} entries; at "
            f"most {MAX_ENTRIES} are allowed in one call.",
        )


def _duplicate(cidr: str, where: str) -> ApiError:
    return ApiError(
        "InvalidParameter.CidrDuplicated", f"The CIDR block {cidr} is given more than once {where}."
    )


def parse_entries(params: Sequence[EntryParam], family: str, name: str) -> dict[str, str]:
    """``Entry.N``/``AddEntry.N`` as canonical CIDR -> description ("" when none was given)."""
    _limit_entries(len(params), f"{name}.N")
    out: dict[str, str] = {}
    for i, param in enumerate(params, 1):
        cidr = normalize_cidr(param.cidr, family, f"{name}.{i}.Cidr")
        if cidr in out:
            raise _duplicate(cidr, f"in {name}.N")
        out[cidr] = check_description(param.description, f"{name}.{i}.Description", 2, 32)
    return out


def parse_removals(params: Sequence[RemoveEntryParam], family: str) -> list[str]:
    _limit_entries(len(params), "RemoveEntry.N")
    out: list[str] = []
    for i, param in enumerate(params, 1):
        cidr = normalize_cidr(param.cidr, family, f"RemoveEntry.{i}.Cidr")
        if cidr in out:
            raise _duplicate(cidr, "in RemoveEntry.N")
        out.append(cidr)
    return out


def _check_capacity(count: int, limit: int) -> None:
    if count > limit:
        raise ApiError(
            "LimitExceed.MaxEntries",
            f"The number of entries exceeds the MaxEntries of the specified prefix list: the result would "
            f"hold {count} entries, MaxEntries is {limit}.",
        )


def _max_results(value: int | None) -> int:
    if value is None:
        return 10
    if not 1 <= value <= 100:
        raise invalid_parameter("MaxResults", "It must be between 1 and 100.")
    return value


def _not_found(prefix_list_id: str) -> ApiError:
    return not_found(
        "InvalidPrefixListId.NotFound", f"The specified prefix list was not found: {prefix_list_id}."
    )


# ---------------------------------------------------------------- actions


@operation(
    ECS, "CreatePrefixList", CreatePrefixListRequest, resources=_any_list_arn, writes=True, idempotent=True
)
def create_prefix_list(ctx: Context, req: CreatePrefixListRequest) -> Body:
    name = check_name(req.prefix_list_name)
    description = check_description(req.description, "Description", 2, 256)
    family = address_family(req.address_family)
    limit = max_entries(req.max_entries)
    entries = parse_entries(req.entry, family, "Entry")
    _check_capacity(len(entries), limit)
    pairs = validate_tags(req.tag)
    group = resource_group(ctx, req.resource_group_id)
    prefix_list_id = ids.resource_id("pl", ctx.region_id)
    store.insert_prefix_list(
        ctx.conn,
        [store.Entry(cidr, text) for cidr, text in entries.items()],
        id=prefix_list_id,
        account_id=ctx.account_id,
        region_id=ctx.region_id,
        name=name,
        description=description,
        address_family=family,
        max_entries=limit,
        resource_group_id=group,
        created_at=ctx.now,
    )
    tag_store.set_tags(ctx.conn, ctx.account_id, ctx.region_id, store.RESOURCE_TYPE, prefix_list_id, pairs)
    ctx.touched.append(prefix_list_id)
    return {"PrefixListId": prefix_list_id}


def _plan_entries(
    current: dict[str, str], adds: dict[str, str], removes: list[str], prefix_list_id: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(entries to insert, existing entries to re-describe); refuses conflicting or unknown CIDRs."""
    for cidr in removes:
        if cidr in adds:
            raise _duplicate(cidr, "in both AddEntry.N and RemoveEntry.N")
        if cidr not in current:
            raise invalid_parameter(
                "RemoveEntry.N.Cidr", f"{cidr} is not an entry of prefix list {prefix_list_id}."
            )
    new = {cidr: text for cidr, text in adds.items() if cidr not in current}
    redescribed = {
        cidr: text for cidr, text in adds.items() if cidr in current and text and text != current[cidr]
    }
    return new, redescribed


def _list_changes(row: Row[Any], req: ModifyPrefixListRequest) -> dict[str, str]:
    changes: dict[str, str] = {}
    if req.prefix_list_name and check_name(req.prefix_list_name) != row.name:
        changes["name"] = req.prefix_list_name
    if req.description and check_description(req.description, "Description", 2, 256) != row.description:
        changes["description"] = req.description
    return changes


@operation(ECS, "ModifyPrefixList", ModifyPrefixListRequest, resources=_list_arn, writes=True)
def modify_prefix_list(ctx: Context, req: ModifyPrefixListRequest) -> Body:
    row = store.lock(ctx.db, ctx.conn, ctx.account_id, ctx.region_id, req.prefix_list_id)
    if row is None:
        raise _not_found(req.prefix_list_id)
    changes = _list_changes(row, req)
    adds = parse_entries(req.add_entry, row.address_family, "AddEntry")
    removes = parse_removals(req.remove_entry, row.address_family)
    current = {e.cidr: e.description for e in store.entries_of(ctx.conn, row.id)}
    new, redescribed = _plan_entries(current, adds, removes, row.id)
    _check_capacity(len(current) - len(removes) + len(new), row.max_entries)
    ctx.touched.append(row.id)
    if not (changes or new or redescribed or removes):
        return {}
    store.remove_entries(ctx.conn, row.id, removes)
    store.add_entries(ctx.conn, row.id, [store.Entry(cidr, text) for cidr, text in new.items()])
    store.describe_entries(ctx.conn, row.id, redescribed)
    store.update_list(ctx.conn, row.id, **changes)
    sg_store.bump_revision(ctx.conn, store.associated_groups(ctx.conn, row.id))
    return {}


def _describe_filters(ctx: Context, req: DescribePrefixListsRequest) -> store.Filters:
    if len(req.prefix_list_id) > MAX_IDS_PER_FILTER:
        raise ApiError(
            "LimitExceed.PrefixListId",
            f"The number of PrefixListId.N exceeds the limit: at most {MAX_IDS_PER_FILTER} may be given.",
        )
    wanted = tag_filters(req.tag)
    return store.Filters(
        ids=req.prefix_list_id or None,
        name=req.prefix_list_name or None,
        address_family=address_family(req.address_family) if req.address_family else None,
        resource_group_id=req.resource_group_id or None,
        tagged=tag_store.matching_ids(ctx.account_id, store.RESOURCE_TYPE, wanted) if wanted else None,
    )


def _page(
    rows: Sequence[Any], offset: int, limit: int, render: Callable[[list[Any]], list[Body]]
) -> tuple[list[Body], str]:
    """The page's items and the NextToken ("" on the last page) from ``limit + 1`` fetched rows."""
    more = len(rows) > limit
    return render(list(rows[:limit])), encode_token(offset + limit) if more else ""


@operation(ECS, "DescribePrefixLists", DescribePrefixListsRequest, resources=_any_list_arn)
def describe_prefix_lists(ctx: Context, req: DescribePrefixListsRequest) -> Body:
    limit = _max_results(req.max_results)
    offset = decode_token(req.next_token)
    filters = _describe_filters(ctx, req)
    rows = store.list_page(ctx.conn, ctx.account_id, ctx.region_id, filters, offset, limit)

    def render(page: list[Row[Any]]) -> list[Body]:
        list_ids = [row.id for row in page]
        counts = store.association_counts(ctx.conn, list_ids)
        tags = tag_store.tags_of(ctx.conn, store.RESOURCE_TYPE, list_ids)
        return [
            {
                "PrefixListId": row.id,
                "PrefixListName": row.name,
                "Description": row.description,
                "AddressFamily": row.address_family,
                "MaxEntries": row.max_entries,
                "AssociationCount": counts.get(row.id, 0),
                "CreationTime": iso_minutes(row.created_at),
                "ResourceGroupId": row.resource_group_id,
                "Tags": render_tags(tags.get(row.id, [])),
            }
            for row in page
        ]

    items, next_token = _page(rows, offset, limit, render)
    return {"NextToken": next_token, "PrefixLists": {"PrefixList": items}}


@operation(ECS, "DescribePrefixListAttributes", PrefixListIdRequest, resources=_list_arn)
def describe_prefix_list_attributes(ctx: Context, req: PrefixListIdRequest) -> Body:
    row = store.get(ctx.conn, ctx.account_id, ctx.region_id, req.prefix_list_id)
    if row is None:
        raise _not_found(req.prefix_list_id)
    entries = store.entries_of(ctx.conn, row.id)
    return {
        "PrefixListId": row.id,
        "PrefixListName": row.name,
        "Description": row.description,
        "AddressFamily": row.address_family,
        "MaxEntries": row.max_entries,
        "CreationTime": iso_minutes(row.created_at),
        "Entries": {"Entry": [{"Cidr": e.cidr, "Description": e.description} for e in entries]},
    }


@operation(ECS, "DeletePrefixList", PrefixListIdRequest, resources=_list_arn, writes=True)
def delete_prefix_list(ctx: Context, req: PrefixListIdRequest) -> Body:
    row = store.lock(ctx.db, ctx.conn, ctx.account_id, ctx.region_id, req.prefix_list_id)
    if row is None:
        raise _not_found(req.prefix_list_id)
    if store.is_referenced(ctx.conn, row.id):
        raise ApiError(
            "NotAllowed.AssociationExist",
            "The specified prefix list has associated resources. Remove the security group rules that "
            "reference it first (DescribePrefixListAssociations lists the groups).",
        )
    store.delete_list(ctx.conn, row.id)
    ctx.touched.append(row.id)
    return {}


@operation(ECS, "DescribePrefixListAssociations", DescribePrefixListAssociationsRequest, resources=_list_arn)
def describe_prefix_list_associations(ctx: Context, req: DescribePrefixListAssociationsRequest) -> Body:
    limit = _max_results(req.max_results)
    offset = decode_token(req.next_token)
    row = store.get(ctx.conn, ctx.account_id, ctx.region_id, req.prefix_list_id)
    if row is None:
        raise _not_found(req.prefix_list_id)
    group_ids = store.associated_groups(ctx.conn, row.id, offset, limit + 1)

    def render(page: list[str]) -> list[Body]:
        return [{"ResourceId": group_id, "ResourceType": "securitygroup"} for group_id in page]

    items, next_token = _page(group_ids, offset, limit, render)
    return {"NextToken": next_token, "PrefixListAssociations": {"PrefixListAssociation": items}}
