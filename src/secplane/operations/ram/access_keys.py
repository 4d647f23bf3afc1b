"""Access keys (RAM-2): CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
GetAccessKeyLastUsed.

Without ``UserName`` a call is about the caller's own keys: a RAM user's, or the account's root keys.
The secret is in CreateAccessKey's answer only; the store keeps it sealed with the master key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from secplane.operations.context import Context
from secplane.operations.ram.common import iso, limit_exceeded, not_exist
from secplane.operations.ram.users import lock_user, own_user_name, require_user, user_arn
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import invalid_parameter, missing_parameter
from secplane.protocol.params import Request
from secplane.store import accounts, ram_users
from secplane.store import ram_credentials as store

MAX_KEYS_PER_USER = 2  # reference §11
# The account's own keys: not in the reference; Alibaba's console allows a handful [I].
MAX_ROOT_KEYS = 5
_STATUSES = ("Active", "Inactive")


class UserKeysRequest(Request):
    """CreateAccessKey and ListAccessKeys."""

    user_name: str = ""


class UpdateAccessKeyRequest(Request):
    user_access_key_id: str
    status: str
    user_name: str = ""


class AccessKeyRequest(Request):
    """DeleteAccessKey and GetAccessKeyLastUsed."""

    user_access_key_id: str
    user_name: str = ""


def _owner(ctx: Context, user_name: str, lock: bool) -> str | None:
    """Whose keys the call is about: a user name (checked, and locked when ``lock``), or None for the
    account's root keys. A role session or service must name the user."""
    name = own_user_name(ctx, user_name)
    if name:
        return str((lock_user(ctx, name) if lock else require_user(ctx, name)).name)
    if ctx.principal.kind != "root":
        raise missing_parameter("UserName")
    if lock:
        ram_users.lock_account(ctx.db, ctx.conn, ctx.account_id)
    return None


def _key(ctx: Context, owner: str | None, key_id: str) -> Row[Any]:
    row = store.key_of(ctx.conn, ctx.account_id, owner, key_id)
    if row is None:
        raise not_exist("User.AccessKey", "The access key does not exist.")
    ctx.touched.append(key_id)
    return row


@operation(RAM, "CreateAccessKey", UserKeysRequest, resources=user_arn, writes=True, region="none")
def create_access_key(ctx: Context, req: UserKeysRequest) -> Body:
    owner = _owner(ctx, req.user_name, lock=True)
    limit = MAX_ROOT_KEYS if owner is None else MAX_KEYS_PER_USER
    if len(store.keys_of(ctx.conn, ctx.account_id, owner)) >= limit:
        who = "account" if owner is None else "user"
        raise limit_exceeded(
            "User.AccessKey", f"The {who} already has {limit} access keys, the most it can have. Delete one."
        )
    key = accounts.create_access_key(ctx.conn, ctx.master_key, ctx.account_id, owner)
    row = _key(ctx, owner, key.id)
    return {
        "AccessKey": {
            "AccessKeyId": key.id,
            "AccessKeySecret": key.secret,
            "Status": row.status,
            "CreateDate": iso(row.created_at),
        }
    }


@operation(RAM, "ListAccessKeys", UserKeysRequest, resources=user_arn, region="none")
def list_access_keys(ctx: Context, req: UserKeysRequest) -> Body:
    owner = _owner(ctx, req.user_name, lock=False)
    rows = store.keys_of(ctx.conn, ctx.account_id, owner)
    items = [{"AccessKeyId": r.id, "Status": r.status, "CreateDate": iso(r.created_at)} for r in rows]
    return {"AccessKeys": {"AccessKey": items}}


@operation(RAM, "UpdateAccessKey", UpdateAccessKeyRequest, resources=user_arn, writes=True, region="none")
def update_access_key(ctx: Context, req: UpdateAccessKeyRequest) -> Body:
    """Enable or disable a key; a disabled key signs nothing (every server process sees the change within
    its key cache's lifetime)."""
    if req.status not in _STATUSES:
        raise invalid_parameter("Status", "It must be Active or Inactive.")
    owner = _owner(ctx, req.user_name, lock=True)
    _key(ctx, owner, req.user_access_key_id)
    store.set_key_status(ctx.conn, req.user_access_key_id, req.status)
    return {}


@operation(RAM, "DeleteAccessKey", AccessKeyRequest, resources=user_arn, writes=True, region="none")
def delete_access_key(ctx: Context, req: AccessKeyRequest) -> Body:
    owner = _owner(ctx, req.user_name, lock=True)
    _key(ctx, owner, req.user_access_key_id)
    store.delete_key(ctx.conn, req.user_access_key_id)
    return {}


@operation(RAM, "GetAccessKeyLastUsed", AccessKeyRequest, resources=user_arn, region="none")
def get_access_key_last_used(ctx: Context, req: AccessKeyRequest) -> Body:
    """The last successful call the key signed, from the audit trail ("" for never)."""
    owner = _owner(ctx, req.user_name, lock=False)
    row = _key(ctx, owner, req.user_access_key_id)
    return {"AccessKeyLastUsed": {"LastUsedDate": iso(store.last_used(ctx.conn, row.id))}}
