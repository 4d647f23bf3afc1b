"""RAM user groups (RAM-1): create, get, update, list, delete, and their members.

At most ``MAX_GROUPS`` groups per account and ``MAX_GROUPS_PER_USER`` groups per user, checked under the
account row's and the user row's lock. A group is deleted only when it has no members and no policies
(``DeleteConflict.Group.User`` / ``.Group.Policy``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from secplane.domain import ids
from secplane.operations.context import Context
from secplane.operations.ram.common import (
    GROUP_NAME,
    PageRequest,
    already_exists,
    check_length,
    check_name,
    delete_conflict,
    iso,
    limit_exceeded,
    not_exist,
    page,
    page_fields,
    ram_arn,
)
from secplane.operations.ram.lookup import existing
from secplane.operations.ram.users import user_arn
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.params import Request
from secplane.store import ram_groups as store
from secplane.store.ram_policies import attachments_of
from secplane.store.ram_users import lock_account
from secplane.store.schema import ram_groups

MAX_GROUPS = 50  # per account (reference §11)
MAX_GROUPS_PER_USER = 5
MAX_COMMENTS = 128


# ---------------------------------------------------------------- requests


class CreateGroupRequest(Request):
    group_name: str
    comments: str = ""


class GroupNameRequest(Request):
    """GetGroup, DeleteGroup."""

    group_name: str


class UpdateGroupRequest(Request):
    group_name: str
    new_group_name: str | None = None
    new_comments: str | None = None


class MembershipRequest(Request):
    """AddUserToGroup, RemoveUserFromGroup."""

    group_name: str
    user_name: str


class ListGroupsForUserRequest(Request):
    user_name: str


class ListUsersForGroupRequest(Request):
    group_name: str
    marker: str = ""
    max_items: int | None = None


# ---------------------------------------------------------------- RAM resources


def group_arn(ctx: Context, req: Any) -> list[str]:
    return [ram_arn(ctx, f"group/{req.group_name}")]


def _any_group_arn(ctx: Context, req: Any) -> list[str]:
    return [ram_arn(ctx, "group/*")]


def _membership_arns(ctx: Context, req: MembershipRequest) -> list[str]:
    return [*user_arn(ctx, req), *group_arn(ctx, req)]


# ---------------------------------------------------------------- rendering


def _render(row: Row[Any], *, updated: bool = True) -> Body:
    group: Body = {
        "GroupId": row.id,
        "GroupName": row.name,
        "Comments": row.comments,
        "CreateDate": iso(row.created_at),
    }
    if updated:
        group["UpdateDate"] = iso(row.updated_at)
    return group


def _exists_already() -> Exception:
    return already_exists("Group", "The group does already EXIST. Choose another GroupName.")


# ---------------------------------------------------------------- groups


@operation(RAM, "CreateGroup", CreateGroupRequest, resources=_any_group_arn, writes=True, region="none")
def create_group(ctx: Context, req: CreateGroupRequest) -> Body:
    name = check_name("GroupName", req.group_name, GROUP_NAME)
    comments = check_length("Comments", req.comments, MAX_COMMENTS)
    lock_account(ctx.db, ctx.conn, ctx.account_id)
    if store.find_named(ctx.db, ctx.conn, ram_groups, ctx.account_id, name, lock=True) is not None:
        raise _exists_already()
    if store.count_in_account(ctx.conn, ram_groups, ctx.account_id) >= MAX_GROUPS:
        raise limit_exceeded(
            "Group", f"An account has at most {MAX_GROUPS} groups. Delete unused ones first."
        )
    group_id = ids.ram_id()
    store.insert_row(
        ctx.conn, ram_groups, id=group_id, account_id=ctx.account_id, name=name, comments=comments,
        created_at=ctx.now, updated_at=ctx.now,
    )  # fmt: skip
    ctx.touched.append(name)
    return {
        "Group": {"GroupId": group_id, "GroupName": name, "Comments": comments, "CreateDate": iso(ctx.now)}
    }


@operation(RAM, "GetGroup", GroupNameRequest, resources=group_arn, region="none")
def get_group(ctx: Context, req: GroupNameRequest) -> Body:
    return {"Group": _render(existing(ctx, "Group", req.group_name))}


@operation(RAM, "UpdateGroup", UpdateGroupRequest, resources=group_arn, writes=True, region="none")
def update_group(ctx: Context, req: UpdateGroupRequest) -> Body:
    """Rename and/or re-comment. Members and attachments follow the group (they hold its id)."""
    changes: dict[str, Any] = {}
    if req.new_group_name:
        changes["name"] = check_name("NewGroupName", req.new_group_name, GROUP_NAME)
    if req.new_comments is not None:
        changes["comments"] = check_length("NewComments", req.new_comments, MAX_COMMENTS)
    if "name" in changes:
        lock_account(ctx.db, ctx.conn, ctx.account_id)  # renames are serialized with creators
    group = existing(ctx, "Group", req.group_name, lock=True)
    new_name = changes.get("name", group.name)
    if new_name != group.name and store.find_named(
        ctx.db, ctx.conn, ram_groups, ctx.account_id, new_name, lock=True
    ):
        raise _exists_already()
    store.update_by_id(ctx.conn, ram_groups, group.id, {**changes, "updated_at": ctx.now})
    ctx.touched.append(group.name)
    return {"Group": _render(existing(ctx, "Group", changes.get("name", group.name)))}


@operation(RAM, "ListGroups", PageRequest, resources=_any_group_arn, region="none")
def list_groups(ctx: Context, req: PageRequest) -> Body:
    rows = store.all_in_account(ctx.conn, ram_groups, ctx.account_id)
    chunk, marker = page(rows, req.marker, req.max_items, limit=100)
    return {**page_fields(marker), "Groups": {"Group": [_render(row) for row in chunk]}}


@operation(RAM, "DeleteGroup", GroupNameRequest, resources=group_arn, writes=True, region="none")
def delete_group(ctx: Context, req: GroupNameRequest) -> Body:
    group = existing(ctx, "Group", req.group_name, lock=True)
    if store.has_members(ctx.conn, group.id):
        raise delete_conflict(
            "Group.User", "The group still has members. Remove them first (RemoveUserFromGroup)."
        )
    if attachments_of(ctx.conn, ctx.account_id, "Group", group.id):
        raise delete_conflict(
            "Group.Policy",
            "The group still has policies attached. Detach them first (DetachPolicyFromGroup).",
        )
    store.delete_by_id(ctx.conn, ram_groups, group.id)
    ctx.touched.append(group.name)
    return {}


# ---------------------------------------------------------------- members


@operation(RAM, "AddUserToGroup", MembershipRequest, resources=_membership_arns, writes=True, region="none")
def add_user_to_group(ctx: Context, req: MembershipRequest) -> Body:
    user = existing(ctx, "User", req.user_name, lock=True)
    group = existing(ctx, "Group", req.group_name, lock=True)
    if store.is_member(ctx.conn, group.id, user.id):
        raise already_exists("User.Group", "The user is already a member of the group.")
    if store.count_groups_of_user(ctx.conn, user.id) >= MAX_GROUPS_PER_USER:
        raise limit_exceeded(
            "User.Group", f"A user belongs to at most {MAX_GROUPS_PER_USER} groups. Remove it from one first."
        )
    store.add_member(ctx.conn, group.id, user.id, ctx.now)
    ctx.touched.append(group.name)
    return {}


@operation(
    RAM, "RemoveUserFromGroup", MembershipRequest, resources=_membership_arns, writes=True, region="none"
)
def remove_user_from_group(ctx: Context, req: MembershipRequest) -> Body:
    user = existing(ctx, "User", req.user_name, lock=True)
    group = existing(ctx, "Group", req.group_name, lock=True)
    if not store.remove_member(ctx.conn, group.id, user.id):
        raise not_exist("User.Group", "The user is not a member of the group.")
    ctx.touched.append(group.name)
    return {}


@operation(RAM, "ListGroupsForUser", ListGroupsForUserRequest, resources=user_arn, region="none")
def list_groups_for_user(ctx: Context, req: ListGroupsForUserRequest) -> Body:
    user = existing(ctx, "User", req.user_name)
    items = [
        {"GroupId": row.id, "GroupName": row.name, "Comments": row.comments, "JoinDate": iso(row.joined_at)}
        for row in store.groups_of_user(ctx.conn, user.id)
    ]
    return {"Groups": {"Group": items}}


@operation(RAM, "ListUsersForGroup", ListUsersForGroupRequest, resources=group_arn, region="none")
def list_users_for_group(ctx: Context, req: ListUsersForGroupRequest) -> Body:
    group = existing(ctx, "Group", req.group_name)
    chunk, marker = page(store.users_of_group(ctx.conn, group.id), req.marker, req.max_items)
    items = [{"UserName": r.name, "DisplayName": r.display_name, "JoinDate": iso(r.joined_at)} for r in chunk]
    return {**page_fields(marker), "Users": {"User": items}}
