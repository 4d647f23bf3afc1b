"""Console passwords (RAM-1): CreateLoginProfile, GetLoginProfile, UpdateLoginProfile,
DeleteLoginProfile, and ChangePassword for a RAM user's own password.

Passwords are checked against the account's password policy and kept as scrypt hashes; the policy's
PasswordReusePrevention keeps as many earlier hashes as it needs to refuse a recent password again.
Hashing is slow by design, so it happens before the write transaction begins (and holds its locks):
what it needs is read in a short read transaction of its own.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Row

from secplane.domain import passwords
from secplane.domain.passwords import PasswordPolicy
from secplane.operations.context import Context
from secplane.operations.ram.account import password_policy
from secplane.operations.ram.common import already_exists, check_length, iso, not_exist, ram_arn
from secplane.operations.ram.users import lock_user, require_user, user_arn
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request
from secplane.store import ram_credentials as store
from secplane.store import ram_users


class CreateLoginProfileRequest(Request):
    user_name: str
    password: str
    password_reset_required: bool = False
    mfa_bind_required: bool = msgspec.field(default=False, name="MFABindRequired")


class UpdateLoginProfileRequest(Request):
    user_name: str
    password: str | None = None
    password_reset_required: bool | None = None
    mfa_bind_required: bool | None = msgspec.field(default=None, name="MFABindRequired")


class LoginProfileRequest(Request):
    """GetLoginProfile and DeleteLoginProfile."""

    user_name: str


class ChangePasswordRequest(Request):
    old_password: str
    new_password: str


def _profile_not_exist() -> ApiError:
    return not_exist("User.LoginProfile", "The login profile of the user does not exist.")


def _snapshot(ctx: Context, user_id: str = "") -> tuple[PasswordPolicy, Row[Any] | None]:
    """The account's password policy and the user's login profile, read before the write begins."""
    with ctx.db.read() as conn:
        policy = password_policy(conn, ctx.account_id)
        profile = store.login_profile(conn, user_id) if user_id else None
    return policy, profile


def _strong_hash(param: str, password: str, policy: PasswordPolicy) -> str:
    """The hash of ``password`` once it meets ``policy`` (``InvalidParameter.<param>.TooWeak`` saying
    what it lacks otherwise)."""
    check_length(param, password, passwords.MAX_PASSWORD_LENGTH)
    missing = passwords.weaknesses(password, policy)
    if missing:
        raise ApiError(
            f"InvalidParameter.{param}.TooWeak",
            f"The password does not meet the password policy: it needs {_words(missing)}.",
        )
    return passwords.hash_password(password)


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _new_password(policy: PasswordPolicy, profile: Row[Any], new_hash: str) -> dict[str, Any]:
    """The columns that replace the password: the new hash, and the old one remembered as long as the
    policy's PasswordReusePrevention needs it."""
    history = [profile.password_hash, *store.previous_hashes(profile)][: passwords.reuse_window(policy)]
    return {"password_hash": new_hash, "previous_hashes": history}


def _render(user: Row[Any], profile: Row[Any]) -> Body:
    return {
        "LoginProfile": {
            "UserName": user.name,
            "PasswordResetRequired": bool(profile.password_reset_required),
            "MFABindRequired": bool(profile.mfa_bind_required),
            "CreateDate": iso(profile.created_at),
        }
    }


@operation(
    RAM, "CreateLoginProfile", CreateLoginProfileRequest, resources=user_arn, writes=True, region="none"
)
def create_login_profile(ctx: Context, req: CreateLoginProfileRequest) -> Body:
    policy, _ = _snapshot(ctx)
    password_hash = _strong_hash("Password", req.password, policy)
    user = lock_user(ctx, req.user_name)
    if store.login_profile(ctx.conn, user.id) is not None:
        raise already_exists("User.LoginProfile", "The login profile of the user does already EXIST.")
    store.insert_login_profile(
        ctx.conn, user.id, password_hash, req.password_reset_required, req.mfa_bind_required, ctx.now
    )
    profile = store.login_profile(ctx.conn, user.id)
    assert profile is not None
    return _render(user, profile)


@operation(RAM, "GetLoginProfile", LoginProfileRequest, resources=user_arn, region="none")
def get_login_profile(ctx: Context, req: LoginProfileRequest) -> Body:
    user = require_user(ctx, req.user_name)
    profile = store.login_profile(ctx.conn, user.id)
    if profile is None:
        raise _profile_not_exist()
    return _render(user, profile)


@operation(
    RAM, "UpdateLoginProfile", UpdateLoginProfileRequest, resources=user_arn, writes=True, region="none"
)
def update_login_profile(ctx: Context, req: UpdateLoginProfileRequest) -> Body:
    """An administrator's change: a new password (within the policy) and/or the two flags."""
    policy, _ = _snapshot(ctx)
    new_hash = _strong_hash("Password", req.password, policy) if req.password is not None else None
    user = lock_user(ctx, req.user_name)
    profile = store.login_profile(ctx.conn, user.id)
    if profile is None:
        raise _profile_not_exist()
    changes: dict[str, Any] = _new_password(policy, profile, new_hash) if new_hash is not None else {}
    if req.password_reset_required is not None:
        changes["password_reset_required"] = req.password_reset_required
    if req.mfa_bind_required is not None:
        changes["mfa_bind_required"] = req.mfa_bind_required
    store.update_login_profile(ctx.conn, user.id, ctx.now, **changes)
    return {}


@operation(RAM, "DeleteLoginProfile", LoginProfileRequest, resources=user_arn, writes=True, region="none")
def delete_login_profile(ctx: Context, req: LoginProfileRequest) -> Body:
    user = lock_user(ctx, req.user_name)
    if store.login_profile(ctx.conn, user.id) is None:
        raise _profile_not_exist()
    store.delete_login_profile(ctx.conn, user.id)
    return {}


def _caller_arn(ctx: Context, req: ChangePasswordRequest) -> list[str]:
    """ChangePassword is about the caller's own user (the account root has no RAM password)."""
    return [ram_arn(ctx, f"user/{ctx.principal.name}" if ctx.principal.kind == "user" else "*")]


@operation(RAM, "ChangePassword", ChangePasswordRequest, resources=_caller_arn, writes=True, region="none")
def change_password(ctx: Context, req: ChangePasswordRequest) -> Body:
    """A RAM user replaces its own password: the old one must match, the new one meet the policy and not
    be one of the last PasswordReusePrevention passwords. The reset-required flag is then cleared."""
    if ctx.principal.kind != "user":
        raise ApiError("NotSupport.Account", "Only a RAM user can change its password with ChangePassword.")
    policy, before = _snapshot(ctx, ctx.principal.id)
    if before is None:
        raise _profile_not_exist()
    if not passwords.verify_password(req.old_password, before.password_hash):
        raise _old_password_incorrect()
    new_hash = _strong_hash("NewPassword", req.new_password, policy)
    recent = [before.password_hash, *store.previous_hashes(before)][: policy.password_reuse_prevention]
    if passwords.matches_any(req.new_password, recent):
        raise ApiError(
            "InvalidParameter.NewPassword.ReusePrevention",
            f"The new password must differ from the last {policy.password_reuse_prevention} passwords.",
        )
    user = ram_users.lock_user(ctx.db, ctx.conn, ctx.principal.id)
    profile = store.login_profile(ctx.conn, ctx.principal.id) if user is not None else None
    if user is None or profile is None:
        raise _profile_not_exist()
    if profile.password_hash != before.password_hash:  # replaced meanwhile: the old one is no longer current
        raise _old_password_incorrect()
    store.update_login_profile(
        ctx.conn, user.id, ctx.now, password_reset_required=False, **_new_password(policy, profile, new_hash)
    )
    ctx.touched.append(user.name)
    return {}


def _old_password_incorrect() -> ApiError:
    return ApiError("InvalidParameter.OldPassword.Incorrect", "The old password is incorrect.")
