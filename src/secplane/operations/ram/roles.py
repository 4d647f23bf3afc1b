"""RAM roles (RAM-1, RAM-8): create, get, update, list, delete.

A role has no credentials of its own: its trust policy (``AssumeRolePolicyDocument``, validated as a
trust policy) says who may assume it, its attached policies what a session may do, for up to
``MaxSessionDuration`` seconds. At most ``MAX_ROLES`` per account. A role is deleted only once no policy
is attached (``DeleteConflict.Role.Policy``) and no ECS instance holds it (``DeleteConflict.Role.Instance``,
our name: Alibaba documents no code for it); its tags go with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from secplane.domain import ids
from secplane.operations.context import Context
from secplane.operations.ram.common import (
    ROLE_NAME,
    PageRequest,
    already_exists,
    check_length,
    check_name,
    delete_conflict,
    iso,
    limit_exceeded,
    page,
    page_fields,
    ram_arn,
)
from secplane.operations.ram.lookup import existing
from secplane.operations.ram.policies import MAX_DESCRIPTION, check_document
from secplane.operations.ram.ram_tags import add_tags, parse_tags, render_tags, tag_filter
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request
from secplane.store import instance_roles
from secplane.store import ram_groups as entities
from secplane.store import ram_policies as store
from secplane.store.ram_users import lock_account
from secplane.store.schema import ram_roles

MAX_ROLES = 1000  # per account (reference §11)
MIN_SESSION, MAX_SESSION, DEFAULT_SESSION = 3600, 43200, 3600


# ---------------------------------------------------------------- requests


class CreateRoleRequest(Request):
    role_name: str
    assume_role_policy_document: str
    description: str = ""
    max_session_duration: int | None = None
    allow_console_login: bool = True
    tag: str = ""


class RoleNameRequest(Request):
    """GetRole, DeleteRole."""

    role_name: str


class UpdateRoleRequest(Request):
    role_name: str
    new_assume_role_policy_document: str | None = None
    new_description: str | None = None
    new_max_session_duration: int | None = None
    new_allow_console_login: bool | None = None


class ListRolesRequest(PageRequest):
    tag: str = ""


# ---------------------------------------------------------------- helpers


def role_arn(ctx: Context, req: Any) -> list[str]:
    return [ram_arn(ctx, f"role/{req.role_name}")]


def _any_role_arn(ctx: Context, req: Any) -> list[str]:
    return [ram_arn(ctx, "role/*")]


def _session(param: str, value: int | None) -> int:
    if value is None:
        return DEFAULT_SESSION
    if not MIN_SESSION <= value <= MAX_SESSION:
        raise ApiError(
            f"InvalidParameter.{param}",
            f'The parameter - "{param}" must be between {MIN_SESSION} and {MAX_SESSION} seconds.',
        )
    return value


def _render(ctx: Context, row: Row[Any], *, document: bool = True, updated: bool = True) -> Body:
    role: Body = {
        "RoleId": row.id,
        "RoleName": row.name,
        "Arn": ram_arn(ctx, f"role/{row.name}"),
        "Description": row.description,
        "MaxSessionDuration": row.max_session_duration,
        "AllowConsoleLogin": bool(row.allow_console_login),
        "CreateDate": iso(row.created_at),
    }
    if document:
        role["AssumeRolePolicyDocument"] = row.trust_policy
    if updated:
        role["UpdateDate"] = iso(row.updated_at)
    return role


# ---------------------------------------------------------------- actions


@operation(RAM, "CreateRole", CreateRoleRequest, resources=_any_role_arn, writes=True, region="none")
def create_role(ctx: Context, req: CreateRoleRequest) -> Body:
    name = check_name("RoleName", req.role_name, ROLE_NAME)
    trust = check_document("AssumeRolePolicyDocument", req.assume_role_policy_document, "trust")
    description = check_length("Description", req.description, MAX_DESCRIPTION)
    duration = _session("MaxSessionDuration", req.max_session_duration)
    pairs = parse_tags(req.tag)
    lock_account(ctx.db, ctx.conn, ctx.account_id)
    if entities.find_named(ctx.db, ctx.conn, ram_roles, ctx.account_id, name, lock=True) is not None:
        raise already_exists("Role", "The role does already EXIST. Choose another RoleName.")
    if entities.count_in_account(ctx.conn, ram_roles, ctx.account_id) >= MAX_ROLES:
        raise limit_exceeded("Role", f"An account has at most {MAX_ROLES} roles. Delete unused ones first.")
    entities.insert_row(
        ctx.conn, ram_roles, id=ids.ram_id(), account_id=ctx.account_id, name=name, description=description,
        trust_policy=trust, max_session_duration=duration, allow_console_login=req.allow_console_login,
        created_at=ctx.now, updated_at=ctx.now,
    )  # fmt: skip
    add_tags(ctx, "role", name, pairs)
    ctx.touched.append(name)
    return {"Role": _render(ctx, existing(ctx, "Role", name), updated=False)}


@operation(RAM, "GetRole", RoleNameRequest, resources=role_arn, region="none")
def get_role(ctx: Context, req: RoleNameRequest) -> Body:
    row = existing(ctx, "Role", req.role_name)
    return {
        "Role": {
            **_render(ctx, row),
            "IsServiceLinkedRole": False,
            "RolePrincipalName": f"{row.name}@role.{ctx.account_id}.onaliyunservice.com",
        }
    }


@operation(RAM, "UpdateRole", UpdateRoleRequest, resources=role_arn, writes=True, region="none")
def update_role(ctx: Context, req: UpdateRoleRequest) -> Body:
    """Change the trust policy, description, session limit or console login; the name stays."""
    changes: dict[str, Any] = {}
    if req.new_assume_role_policy_document is not None:
        changes["trust_policy"] = check_document(
            "NewAssumeRolePolicyDocument", req.new_assume_role_policy_document, "trust"
        )
    if req.new_description is not None:
        changes["description"] = check_length("NewDescription", req.new_description, MAX_DESCRIPTION)
    if req.new_max_session_duration is not None:
        changes["max_session_duration"] = _session("NewMaxSessionDuration", req.new_max_session_duration)
    if req.new_allow_console_login is not None:
        changes["allow_console_login"] = req.new_allow_console_login
    row = existing(ctx, "Role", req.role_name, lock=True)
    entities.update_by_id(ctx.conn, ram_roles, row.id, {**changes, "updated_at": ctx.now})
    ctx.touched.append(row.name)
    return {"Role": _render(ctx, existing(ctx, "Role", row.name))}


@operation(RAM, "ListRoles", ListRolesRequest, resources=_any_role_arn, region="none")
def list_roles(ctx: Context, req: ListRolesRequest) -> Body:
    """Roles by name, without their trust policies; ``Tag`` keeps those carrying every given tag."""
    tagged = tag_filter(ctx, "role", req.tag)
    rows = [
        r
        for r in entities.all_in_account(ctx.conn, ram_roles, ctx.account_id)
        if tagged is None or r.name in tagged
    ]
    chunk, marker = page(rows, req.marker, req.max_items)
    tags = store.tags_of(ctx.conn, ctx.account_id, "role", [r.name for r in chunk])
    items = [{**_render(ctx, r, document=False), "Tags": render_tags(tags.get(r.name, {}))} for r in chunk]
    return {**page_fields(marker), "Roles": {"Role": items}}


@operation(RAM, "DeleteRole", RoleNameRequest, resources=role_arn, writes=True, region="none")
def delete_role(ctx: Context, req: RoleNameRequest) -> Body:
    row = existing(ctx, "Role", req.role_name, lock=True)
    if store.attachments_of(ctx.conn, ctx.account_id, "Role", row.id):
        raise delete_conflict(
            "Role.Policy", "The role still has policies attached. Detach them first (DetachPolicyFromRole)."
        )
    if instance_roles.role_in_use(ctx.conn, ctx.account_id, row.id):
        raise delete_conflict(
            "Role.Instance", "ECS instances still use the role. Detach it first (DetachInstanceRamRole)."
        )
    store.remove_tags(ctx.conn, ctx.account_id, "role", [row.name])
    entities.delete_by_id(ctx.conn, ram_roles, row.id)
    ctx.touched.append(row.name)
    return {}
