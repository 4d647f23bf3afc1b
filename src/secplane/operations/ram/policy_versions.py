"""Versions of custom policies: create (optionally as the default, optionally rotating out the oldest),
get, list, set the default, delete. System policies show their one version and take no changes.

Version ids are ``v1``, ``v2`` ... and never reused (the policy row's ``next_version``). A policy has at
most ``MAX_VERSIONS``; the default cannot be deleted, only replaced as the default first.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Row

from secplane.domain.system_policies import SYSTEM_POLICIES
from secplane.operations.context import Context
from secplane.operations.ram.common import delete_conflict, iso, limit_exceeded, not_exist
from secplane.operations.ram.policies import (
    PolicyView,
    check_document,
    custom_policy,
    find_policy,
    named_policy_arn,
)
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request
from secplane.store import ram_policies as store
from secplane.store.ram_groups import update_by_id
from secplane.store.schema import ram_policies

MAX_VERSIONS = 5  # per custom policy (reference §5.4)
ROTATE = "DeleteOldestNonDefaultVersionWhenLimitExceeded"
_VERSION_ID = re.compile(r"^v[1-9][0-9]{0,8}$")


# ---------------------------------------------------------------- requests


class CreatePolicyVersionRequest(Request):
    policy_name: str
    policy_document: str
    set_as_default: bool = False
    rotate_strategy: str = "None"


class PolicyVersionRequest(Request):
    """SetDefaultPolicyVersion, DeletePolicyVersion (custom policies only)."""

    policy_name: str
    version_id: str


class GetPolicyVersionRequest(PolicyVersionRequest):
    policy_type: str


class ListPolicyVersionsRequest(Request):
    policy_name: str
    policy_type: str


# ---------------------------------------------------------------- helpers


def _render(version_id: str, document: str, created: str, is_default: bool) -> Body:
    return {
        "VersionId": version_id,
        "IsDefaultVersion": is_default,
        "PolicyDocument": document,
        "CreateDate": created,
    }


def _render_row(row: Row[Any], default_version: str) -> Body:
    return _render(row.version_id, row.document, iso(row.created_at), row.version_id == default_version)


def _check_version_id(value: str) -> str:
    if not _VERSION_ID.match(value):
        raise ApiError(
            "InvalidParameter.VersionId.Format",
            f'The parameter - "VersionId" must look like v1, v2 ...: {value!r}.',
        )
    return value


def _version_not_exist() -> ApiError:
    return not_exist("Policy.Version", "The policy version does not exist.")


def _existing_version(ctx: Context, policy: Row[Any], version_id: str) -> Row[Any]:
    row = store.get_version(ctx.conn, policy.id, version_id)
    if row is None:
        raise _version_not_exist()
    return row


def _system_version(view: PolicyView) -> Body:
    return _render(view.default_version, SYSTEM_POLICIES[view.name].document, view.created, True)


# ---------------------------------------------------------------- actions


@operation(
    RAM,
    "CreatePolicyVersion",
    CreatePolicyVersionRequest,
    resources=named_policy_arn,
    writes=True,
    region="none",
)
def create_policy_version(ctx: Context, req: CreatePolicyVersionRequest) -> Body:
    """A new version of a custom policy. At the limit, ``RotateStrategy`` =
    ``DeleteOldestNonDefaultVersionWhenLimitExceeded`` deletes the oldest non-default version to make
    room; otherwise ``LimitExceeded.Policy.Version``."""
    if req.rotate_strategy not in ("None", ROTATE):
        raise ApiError(
            "InvalidParameter.RotateStrategy", f'The parameter - "RotateStrategy" must be None or {ROTATE}.'
        )
    document = check_document("PolicyDocument", req.policy_document)
    policy = custom_policy(ctx, req.policy_name)
    existing = store.versions(ctx.conn, policy.id)
    if len(existing) >= MAX_VERSIONS:
        if req.rotate_strategy != ROTATE:
            raise limit_exceeded(
                "Policy.Version",
                f"A policy has at most {MAX_VERSIONS} versions. Delete one first (DeletePolicyVersion), or "
                f"set RotateStrategy={ROTATE}.",
            )
        oldest = next(v for v in existing if v.version_id != policy.default_version)
        store.delete_versions(ctx.conn, policy.id, [oldest.version_id])
    version_id = f"v{policy.next_version}"
    store.insert_version(ctx.conn, policy.id, version_id, document, ctx.now)
    changes: dict[str, Any] = {"next_version": policy.next_version + 1, "updated_at": ctx.now}
    if req.set_as_default:
        changes["default_version"] = version_id
    update_by_id(ctx.conn, ram_policies, policy.id, changes)
    return {"PolicyVersion": _render(version_id, document, iso(ctx.now), req.set_as_default)}


@operation(RAM, "GetPolicyVersion", GetPolicyVersionRequest, resources=named_policy_arn, region="none")
def get_policy_version(ctx: Context, req: GetPolicyVersionRequest) -> Body:
    version_id = _check_version_id(req.version_id)
    view = find_policy(ctx, req.policy_type, req.policy_name)
    if view.row is None:
        if version_id != view.default_version:
            raise _version_not_exist()
        return {"PolicyVersion": _system_version(view)}
    return {"PolicyVersion": _render_row(_existing_version(ctx, view.row, version_id), view.default_version)}


@operation(RAM, "ListPolicyVersions", ListPolicyVersionsRequest, resources=named_policy_arn, region="none")
def list_policy_versions(ctx: Context, req: ListPolicyVersionsRequest) -> Body:
    """Every version, oldest first."""
    view = find_policy(ctx, req.policy_type, req.policy_name)
    if view.row is None:
        items = [_system_version(view)]
    else:
        items = [_render_row(row, view.default_version) for row in store.versions(ctx.conn, view.row.id)]
    return {"PolicyVersions": {"PolicyVersion": items}}


@operation(
    RAM,
    "SetDefaultPolicyVersion",
    PolicyVersionRequest,
    resources=named_policy_arn,
    writes=True,
    region="none",
)
def set_default_policy_version(ctx: Context, req: PolicyVersionRequest) -> Body:
    """Make an existing version the one that applies (to every principal the policy is attached to)."""
    version_id = _check_version_id(req.version_id)
    policy = custom_policy(ctx, req.policy_name)
    _existing_version(ctx, policy, version_id)
    update_by_id(ctx.conn, ram_policies, policy.id, {"default_version": version_id, "updated_at": ctx.now})
    return {}


@operation(
    RAM, "DeletePolicyVersion", PolicyVersionRequest, resources=named_policy_arn, writes=True, region="none"
)
def delete_policy_version(ctx: Context, req: PolicyVersionRequest) -> Body:
    version_id = _check_version_id(req.version_id)
    policy = custom_policy(ctx, req.policy_name)
    _existing_version(ctx, policy, version_id)
    if version_id == policy.default_version:
        raise delete_conflict(
            "Policy.Version.Default",
            "The default version of a policy cannot be deleted. Make another version the default first.",
        )
    store.delete_versions(ctx.conn, policy.id, [version_id])
    return {}
