"""Virtual MFA devices (RAM-3): CreateVirtualMFADevice, BindMFADevice, UnbindMFADevice, GetUserMFAInfo,
ListVirtualMFADevices, DeleteVirtualMFADevice.

A device is a TOTP seed (RFC 6238: SHA-1, 6 digits, 30-second steps), sealed with the master key and
shown once, as text and as a QR code. Binding proves the user holds it with two consecutive codes; the
last time step used is kept so that no code is accepted twice.
"""

from __future__ import annotations

import base64
import hmac
import io
import re
from typing import Any

import msgspec
import pyotp
import segno
from sqlalchemy import Row

from secplane.operations.context import Context
from secplane.operations.ram.account import NoParamsRequest
from secplane.operations.ram.common import (
    MFA_NAME,
    already_exists,
    check_name,
    delete_conflict,
    iso,
    limit_exceeded,
    not_exist,
    ram_arn,
)
from secplane.operations.ram.users import lock_user, require_user, user_arn
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import ApiError
from secplane.protocol.params import Request
from secplane.store import ram_credentials as store
from secplane.store import ram_users

MAX_DEVICES = 1000  # per account (reference §11: 100, then 1000)
ISSUER = "secplane"
STEP_SECONDS = 30
# Where the second code's time step may lie around the server's current one: a step behind (typed just
# as the step turned), current, or a step ahead (a device clock slightly fast).
SECOND_CODE_OFFSETS = (-1, 0, 1)
_CODE = re.compile(r"^[0-9]{6}$")
_DEVICE_TYPE = "VMFA"  # a virtual (TOTP) device, as GetUserMFAInfo calls it


class CreateVirtualMFADeviceRequest(Request):
    virtual_mfa_device_name: str = msgspec.field(name="VirtualMFADeviceName")


class BindMFADeviceRequest(Request):
    serial_number: str
    user_name: str
    authentication_code1: str
    authentication_code2: str


class UserMFARequest(Request):
    """UnbindMFADevice and GetUserMFAInfo."""

    user_name: str


class SerialNumberRequest(Request):
    serial_number: str


# ---------------------------------------------------------------- helpers


def serial_number(ctx: Context, name: str) -> str:
    """``acs:ram::<account>:mfa/<name>``."""
    return ram_arn(ctx, f"mfa/{name}")


def _device_name(ctx: Context, serial: str) -> str:
    """The device a serial number names in the caller's account ("" when it names none there)."""
    prefix = serial_number(ctx, "")
    return serial[len(prefix) :] if serial.startswith(prefix) else ""


def _any_device_arn(ctx: Context, req: Any) -> list[str]:
    return [ram_arn(ctx, "mfa/*")]


def _device_arn(ctx: Context, req: SerialNumberRequest) -> list[str]:
    return [serial_number(ctx, _device_name(ctx, req.serial_number) or "*")]


def _device_not_exist() -> ApiError:
    return not_exist("VirtualMFADevice", "The virtual MFA device does not exist.")


def _user_device_not_exist() -> ApiError:
    return not_exist("User.MFADevice", "The user has no MFA device bound.")


def _qr_code_png(uri: str) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=4, border=2)
    return base64.b64encode(buffer.getvalue()).decode()


def matching_step(seed: str, code1: str, code2: str, now: float, last_step: int | None) -> int | None:
    """The time step of ``code2`` when the two codes are those of two consecutive steps near ``now``,
    both later than ``last_step`` (the last one accepted); None otherwise."""
    totp = pyotp.TOTP(seed)
    current = int(now // STEP_SECONDS)
    for offset in SECOND_CODE_OFFSETS:
        second = current + offset
        if last_step is not None and second - 1 <= last_step:
            continue
        first_ok = hmac.compare_digest(totp.generate_otp(second - 1), code1)
        if first_ok and hmac.compare_digest(totp.generate_otp(second), code2):
            return second
    return None


# ---------------------------------------------------------------- actions


@operation(
    RAM, "CreateVirtualMFADevice", CreateVirtualMFADeviceRequest,
    resources=_any_device_arn, writes=True, region="none",
)  # fmt: skip
def create_virtual_mfa_device(ctx: Context, req: CreateVirtualMFADeviceRequest) -> Body:
    """A new device; its seed is in this answer only."""
    name = check_name("VirtualMFADeviceName", req.virtual_mfa_device_name, MFA_NAME)
    seed = pyotp.random_base32()
    ram_users.lock_account(ctx.db, ctx.conn, ctx.account_id)
    if store.mfa_device(ctx.db, ctx.conn, ctx.account_id, name) is not None:
        raise already_exists("VirtualMFADevice", "The virtual MFA device does already EXIST.")
    if store.count_mfa_devices(ctx.conn, ctx.account_id) >= MAX_DEVICES:
        raise limit_exceeded(
            "VirtualMFADevice",
            f"The account already has {MAX_DEVICES} virtual MFA devices, the most it can have.",
        )
    store.insert_mfa_device(ctx.conn, ctx.account_id, name, ctx.master_key.seal(seed), ctx.now)
    ctx.touched.append(name)
    uri = pyotp.TOTP(seed).provisioning_uri(name=f"{name}@{ctx.account_id}", issuer_name=ISSUER)
    return {
        "VirtualMFADevice": {
            "SerialNumber": serial_number(ctx, name),
            "Base32StringSeed": seed,
            "QRCodePNG": _qr_code_png(uri),
        }
    }


@operation(RAM, "BindMFADevice", BindMFADeviceRequest, resources=user_arn, writes=True, region="none")
def bind_mfa_device(ctx: Context, req: BindMFADeviceRequest) -> Body:
    if not (_CODE.match(req.authentication_code1) and _CODE.match(req.authentication_code2)):
        raise ApiError(
            "InvalidParameter.AuthenticationCode.Format",
            "The parameters AuthenticationCode1 and AuthenticationCode2 must be 6 digits each.",
        )
    user = lock_user(ctx, req.user_name)
    name = _device_name(ctx, req.serial_number)
    device = store.mfa_device(ctx.db, ctx.conn, ctx.account_id, name, lock=True) if name else None
    if device is None:
        raise _device_not_exist()
    if store.mfa_device_of_user(ctx.conn, user.id) is not None:
        raise already_exists("User.MFADevice", "The user already has an MFA device bound.")
    if device.user_id is not None:
        raise already_exists("VirtualMFADevice.User", "The virtual MFA device is bound to another user.")
    seed = ctx.master_key.unseal(device.seed_sealed)
    step = matching_step(
        seed, req.authentication_code1, req.authentication_code2, ctx.now, device.last_code_step
    )
    if step is None:
        raise ApiError(
            "CheckAuthenticationCodeFail",
            "The authentication codes are not two consecutive current codes of the device.",
            403,
        )
    store.bind_mfa_device(ctx.conn, ctx.account_id, name, user.id, step, ctx.now)
    ctx.touched.append(name)
    return {}


@operation(RAM, "UnbindMFADevice", UserMFARequest, resources=user_arn, writes=True, region="none")
def unbind_mfa_device(ctx: Context, req: UserMFARequest) -> Body:
    user = lock_user(ctx, req.user_name)
    device = store.mfa_device_of_user(ctx.conn, user.id)
    if device is None:
        raise _user_device_not_exist()
    store.unbind_mfa_device(ctx.conn, ctx.account_id, device.name)
    ctx.touched.append(device.name)
    return {"MFADevice": {"SerialNumber": serial_number(ctx, device.name)}}


@operation(RAM, "GetUserMFAInfo", UserMFARequest, resources=user_arn, region="none")
def get_user_mfa_info(ctx: Context, req: UserMFARequest) -> Body:
    device = store.mfa_device_of_user(ctx.conn, require_user(ctx, req.user_name).id)
    if device is None:
        raise _user_device_not_exist()
    return {"MFADevice": {"SerialNumber": serial_number(ctx, device.name), "Type": _DEVICE_TYPE}}


def _render(ctx: Context, row: Row[Any]) -> Body:
    item: Body = {"SerialNumber": serial_number(ctx, row.name)}
    if row.user_id is not None:
        item["ActivateDate"] = iso(row.activated_at)
        item["User"] = {"UserId": row.user_id, "UserName": row.user_name, "DisplayName": row.display_name}
    return item


@operation(RAM, "ListVirtualMFADevices", NoParamsRequest, resources=_any_device_arn, region="none")
def list_virtual_mfa_devices(ctx: Context, req: NoParamsRequest) -> Body:
    """Every device of the account; a bound one with its activation date and user."""
    rows = store.list_mfa_devices(ctx.conn, ctx.account_id)
    return {"VirtualMFADevices": {"VirtualMFADevice": [_render(ctx, row) for row in rows]}}


@operation(
    RAM, "DeleteVirtualMFADevice", SerialNumberRequest, resources=_device_arn, writes=True, region="none"
)
def delete_virtual_mfa_device(ctx: Context, req: SerialNumberRequest) -> Body:
    name = _device_name(ctx, req.serial_number)
    device = store.mfa_device(ctx.db, ctx.conn, ctx.account_id, name, lock=True) if name else None
    if device is None:
        raise _device_not_exist()
    if device.user_id is not None:
        raise delete_conflict(
            "VirtualMFADevice.User",
            "The virtual MFA device is bound to a user. Unbind it first (UnbindMFADevice).",
        )
    store.delete_mfa_device(ctx.conn, ctx.account_id, name)
    ctx.touched.append(name)
    return {}
