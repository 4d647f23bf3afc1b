"""RAM users (RAM-1): CreateUser, GetUser, UpdateUser, DeleteUser, ListUsers.

A user is deleted only once nothing hangs off it (groups, access keys, login profile, MFA device,
policies): each is its own ``DeleteConflict.User.*``. A rename carries over to the user's access keys.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Row

from secplane.operations.context import Context
from secplane.operations.ram.common import (
    USER_NAME,
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
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import ApiError, missing_parameter
from secplane.protocol.params import Request
from secplane.store import ram_users as store
from secplane.store.ram_entities import find_user

MAX_USERS = 1000  # per account (reference §11: 100, then 1000 since 2021)

_MOBILE_PHONE = re.compile(r"^\d{1,6}-\d{4,20}$")  # <country code>-<number>
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

_CONFLICT_MESSAGES = {
    "Group": "The user still belongs to groups. Remove it from them first (RemoveUserFromGroup).",
    "AccessKey": "The user still has access keys. Delete them first (DeleteAccessKey).",
    "LoginProfile": "The user still has a login profile. Delete it first (DeleteLoginProfile).",
    "MFADevice": "The user still has an MFA device bound. Unbind it first (UnbindMFADevice).",
    "Policy": "The user still has policies attached. Detach them first (DetachPolicyFromUser).",
}


# ---------------------------------------------------------------- requests


class CreateUserRequest(Request):
    user_name: str
    display_name: str = ""
    mobile_phone: str = ""
    email: str = ""
    comments: str = ""


class UserNameRequest(Request):
    """GetUser and DeleteUser."""

    user_name: str


class UpdateUserRequest(Request):
    user_name: str
    new_user_name: str | None = None
    new_display_name: str | None = None
    new_mobile_phone: str | None = None
    new_email: str | None = None
    new_comments: str | None = None


# ---------------------------------------------------------------- shared with the other RAM modules


def own_user_name(ctx: Context, user_name: str) -> str:
    """The user a call names, else the calling RAM user; "" when the caller is the account itself."""
    if user_name:
        return user_name
    return ctx.principal.name if ctx.principal.kind == "user" else ""


def user_arn(ctx: Context, req: Any) -> list[str]:
    """``user/<UserName>`` (the caller's own user when the request names none; the account's ``*``
    for the account itself)."""
    name = own_user_name(ctx, req.user_name)
    return [ram_arn(ctx, f"user/{name}" if name else "*")]


def any_user_arn(ctx: Context, req: Any) -> list[str]:
    return [ram_arn(ctx, "user/*")]


def user_not_exist() -> ApiError:
    return not_exist("User", "The user does not exist.")


def require_user(ctx: Context, name: str) -> Row[Any]:
    """The named user of the caller's account, or ``EntityNotExist.User``."""
    if not name:
        raise missing_parameter("UserName")
    row = find_user(ctx.conn, ctx.account_id, name)
    if row is None:
        raise user_not_exist()
    return row


def lock_user(ctx: Context, name: str) -> Row[Any]:
    """``require_user`` with the user's row locked: what hangs off it cannot change meanwhile."""
    row = store.lock_user(ctx.db, ctx.conn, require_user(ctx, name).id)
    if row is None:  # deleted since it was read
        raise user_not_exist()
    ctx.touched.append(row.name)
    return row


# ---------------------------------------------------------------- checks and rendering


def _check_profile(prefix: str, display_name: str, mobile_phone: str, email: str, comments: str) -> None:
    """The optional profile fields; ``prefix`` is "" for CreateUser and "New" for UpdateUser."""
    if display_name:
        check_length(f"{prefix}DisplayName", display_name, 128)
    if mobile_phone and not _MOBILE_PHONE.match(mobile_phone):
        raise ApiError(
            f"InvalidParameter.{prefix}MobilePhone.Format",
            f'The parameter - "{prefix}MobilePhone" must be <country code>-<number>, such as 86-18600008888.',
        )
    if email and (len(email) > 128 or not _EMAIL.match(email)):
        raise ApiError(
            f"InvalidParameter.{prefix}Email.Format",
            f'The parameter - "{prefix}Email" must be an email address, such as alice@example.com.',
        )
    if comments:
        check_length(f"{prefix}Comments", comments, 128)


def _render(row: Row[Any], updated: bool = True) -> Body:
    user: Body = {
        "UserId": row.id,
        "UserName": row.name,
        "DisplayName": row.display_name,
        "MobilePhone": row.mobile_phone,
        "Email": row.email,
        "Comments": row.comments,
        "CreateDate": iso(row.created_at),
    }
    if updated:
        user["UpdateDate"] = iso(row.updated_at)
    return user


# ---------------------------------------------------------------- actions


@operation(RAM, "CreateUser", CreateUserRequest, resources=any_user_arn, writes=True, region="none")
def create_user(ctx: Context, req: CreateUserRequest) -> Body:
    name = check_name("UserName", req.user_name, USER_NAME)
    _check_profile("", req.display_name, req.mobile_phone, req.email, req.comments)
    store.lock_account(ctx.db, ctx.conn, ctx.account_id)
    if find_user(ctx.conn, ctx.account_id, name) is not None:
        raise already_exists("User", "The user does already EXIST.")
    if store.count_users(ctx.conn, ctx.account_id) >= MAX_USERS:
        raise limit_exceeded("User", f"The account already has {MAX_USERS} users, the most it can have.")
    row = store.insert_user(
        ctx.conn, ctx.account_id, ctx.now, name=name, display_name=req.display_name,
        mobile_phone=req.mobile_phone, email=req.email, comments=req.comments,
    )  # fmt: skip
    ctx.touched.append(name)
    return {"User": _render(row, updated=False)}


@operation(RAM, "GetUser", UserNameRequest, resources=user_arn, region="none")
def get_user(ctx: Context, req: UserNameRequest) -> Body:
    row = require_user(ctx, req.user_name)
    return {"User": {**_render(row), "LastLoginDate": iso(row.last_login_at)}}


@operation(RAM, "UpdateUser", UpdateUserRequest, resources=user_arn, writes=True, region="none")
def update_user(ctx: Context, req: UpdateUserRequest) -> Body:
    changes: dict[str, str] = {}
    if req.new_user_name is not None:
        changes["name"] = check_name("NewUserName", req.new_user_name, USER_NAME)
    profile = {
        "display_name": req.new_display_name,
        "mobile_phone": req.new_mobile_phone,
        "email": req.new_email,
        "comments": req.new_comments,
    }
    changes.update({column: value for column, value in profile.items() if value is not None})
    _check_profile("New", **{column: value or "" for column, value in profile.items()})
    renaming = changes.get("name", req.user_name) != req.user_name
    if renaming:  # serialized with creators and other renames: the new name stays free until written
        store.lock_account(ctx.db, ctx.conn, ctx.account_id)
    row = lock_user(ctx, req.user_name)
    if renaming and find_user(ctx.conn, ctx.account_id, changes["name"]) is not None:
        raise already_exists("User", "The user does already EXIST.")
    row = store.update_user(ctx.conn, row, ctx.now, **changes)
    ctx.touched.append(row.name)
    return {"User": _render(row)}


@operation(RAM, "DeleteUser", UserNameRequest, resources=user_arn, writes=True, region="none")
def delete_user(ctx: Context, req: UserNameRequest) -> Body:
    row = lock_user(ctx, req.user_name)
    conflict = store.delete_conflict(ctx.conn, row)
    if conflict is not None:
        raise delete_conflict(f"User.{conflict}", _CONFLICT_MESSAGES[conflict])
    store.delete_user(ctx.conn, row.id)
    return {}


@operation(RAM, "ListUsers", PageRequest, resources=any_user_arn, region="none")
def list_users(ctx: Context, req: PageRequest) -> Body:
    rows, marker = page(store.list_users(ctx.conn, ctx.account_id), req.marker, req.max_items)
    return {**page_fields(marker), "Users": {"User": [_render(row) for row in rows]}}
