"""What ECS actions share: tag parameters, resource groups, time formats, DryRun."""

from __future__ import annotations

import time

import msgspec
from sqlalchemy import select

from secplane.operations.context import Context
from secplane.protocol.errors import ApiError
from secplane.store import accounts
from secplane.store.schema import resource_groups

MAX_TAG_PARAMS = 20


class TagParam(msgspec.Struct, rename="pascal", kw_only=True, frozen=True):
    """``Tag.N.Key`` / ``Tag.N.Value``."""

    key: str = ""
    value: str | None = None


def validate_tags(params: list[TagParam] | None) -> dict[str, str]:
    """The tags of a request as a dict, checked as Alibaba checks them."""
    if not params:
        return {}
    if len(params) > MAX_TAG_PARAMS:
        raise ApiError(
            "NumberExceed.Tags", f"The Tags parameter's number is exceed , Valid : {MAX_TAG_PARAMS}"
        )
    out: dict[str, str] = {}
    for tag in params:
        key = tag.key
        if not key or len(key) > 128 or key.startswith(("aliyun", "acs:", "http://", "https://")):
            raise ApiError("InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid.")
        value = tag.value or ""
        if len(value) > 128 or value.startswith(("http://", "https://")):
            raise ApiError("InvalidTagValue.Malformed", "The specified Tag.n.Value is not valid.")
        if key in out:
            raise ApiError("Duplicate.TagKey", "The Tag.N.Key contain duplicate key.")
        out[key] = value
    return out


def tag_filters(params: list[TagParam] | None) -> list[tuple[str, str | None]]:
    """Tag filters of a Describe call: AND of exact key (and value, when given) matches."""
    if not params:
        return []
    if len(params) > MAX_TAG_PARAMS:
        raise ApiError("InvalidTagCount", f"At most {MAX_TAG_PARAMS} tags may be given.")
    filters: list[tuple[str, str | None]] = []
    for tag in params:
        if not tag.key:
            raise ApiError("InvalidTag.Mismatch", "The specified Tag.n.Key and Tag.n.Value are not match.")
        filters.append((tag.key, tag.value))
    return filters


def render_tags(pairs: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """ECS shape: ``{"Tag": [{"TagKey", "TagValue"}]}``."""
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in pairs]}


def resource_group(ctx: Context, resource_group_id: str) -> str:
    """The given resource group (which must exist) or the account's default one."""
    if not resource_group_id:
        return accounts.default_resource_group(ctx.conn, ctx.account_id)
    found = ctx.conn.execute(
        select(resource_groups.c.id).where(
            resource_groups.c.id == resource_group_id, resource_groups.c.account_id == ctx.account_id
        )
    ).scalar()
    if found is None:
        raise ApiError(
            "InvalidResourceGroup.NotFound", "The ResourceGroup provided does not exist in our records.", 404
        )
    return str(found)


def iso_seconds(ts: float) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` (security groups, rules, ENIs, VPCs)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_minutes(ts: float) -> str:
    """``YYYY-MM-DDThh:mmZ`` (instances, prefix lists)."""
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(ts))


def ensure_not_managed(ctx: Context, service_managed: bool, service_id: int) -> None:
    """SG-12: a resource a cloud service manages is read-only to users; its service may change it."""
    if not service_managed:
        return
    if ctx.principal.kind == "service" and ctx.principal.name == str(service_id):
        return
    raise ApiError(
        "InvalidOperation.ResourceManagedByCloudProduct",
        "The specified resource is managed by a cloud product and cannot be modified by users.",
        403,
    )


def dry_run_passed() -> ApiError:
    return ApiError("DryRunOperation", "Request validation has been passed with DryRun flag set.")
