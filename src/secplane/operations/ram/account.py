"""Account-wide RAM settings: the account alias, the security preference and the password policy.

Both settings documents are stored in their wire shape (``ram_settings``); an account that never set one
has Alibaba's defaults. SetPasswordPolicy replaces the whole policy (an omitted field takes its default,
as Alibaba documents); SetSecurityPreference changes only the fields it is given.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, fields, replace
from typing import Any, cast, get_type_hints

import msgspec
from sqlalchemy import Connection

from secplane.domain.passwords import RANGES, PasswordPolicy, wire_name
from secplane.operations.context import Context
from secplane.operations.ram.common import already_exists, ram_arn
from secplane.operations.registry import RAM, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter
from secplane.protocol.params import Request
from secplane.store import ram_credentials as store

PASSWORD_POLICY = "password_policy"
SECURITY_PREFERENCE = "security_preference"

_ALIAS = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")  # no leading, trailing or double hyphen
ALIAS_LENGTH = (3, 32)
MAX_NETWORK_MASKS, MAX_NETWORK_MASKS_LENGTH = 40, 512


def account_arn(ctx: Context, req: Any) -> list[str]:
    """The alias, password policy and security preference are the account's: ``acs:ram::<acct>:*``."""
    return [ram_arn(ctx, "*")]


class NoParamsRequest(Request):
    pass


# ---------------------------------------------------------------- alias


class SetAccountAliasRequest(Request):
    account_alias: str


@operation(RAM, "GetAccountAlias", NoParamsRequest, resources=account_arn, region="none")
def get_account_alias(ctx: Context, req: NoParamsRequest) -> Body:
    return {"AccountAlias": store.account_alias(ctx.conn, ctx.account_id)}


@operation(RAM, "SetAccountAlias", SetAccountAliasRequest, resources=account_arn, writes=True, region="none")
def set_account_alias(ctx: Context, req: SetAccountAliasRequest) -> Body:
    """A name for the account, unique among all accounts of the installation."""
    alias = req.account_alias
    low, high = ALIAS_LENGTH
    if not low <= len(alias) <= high:
        raise ApiError(
            "InvalidParameter.AccountAlias.Length",
            f'The parameter - "AccountAlias" must be {low} to {high} characters long.',
        )
    if not _ALIAS.match(alias):
        raise ApiError(
            "InvalidParameter.AccountAlias.Format",
            'The parameter - "AccountAlias" may hold lowercase letters, digits and single hyphens, '
            "and must not start or end with a hyphen.",
        )
    if not store.set_account_alias(ctx.db, ctx.conn, ctx.account_id, alias):
        raise already_exists("AccountAlias", "The account alias is already taken by another account.")
    return {}


@operation(RAM, "ClearAccountAlias", NoParamsRequest, resources=account_arn, writes=True, region="none")
def clear_account_alias(ctx: Context, req: NoParamsRequest) -> Body:
    store.set_account_alias(ctx.db, ctx.conn, ctx.account_id, "")
    return {}


# ---------------------------------------------------------------- password policy


# The request is the policy itself, field for field (an omitted one takes its default): built from the
# domain's dataclass so that the two cannot drift apart. Wire names include Alibaba's "MaxLoginAttemps".
_POLICY_TYPES = get_type_hints(PasswordPolicy)
SetPasswordPolicyRequest = cast(
    type[Request],
    msgspec.defstruct(
        "SetPasswordPolicyRequest",
        [(f.name, _POLICY_TYPES[f.name], f.default) for f in fields(PasswordPolicy)],
        bases=(Request,),
        module=__name__,
    ),
)


def password_policy(conn: Connection, account_id: str) -> PasswordPolicy:
    """The account's password policy (defaults until SetPasswordPolicy)."""
    return PasswordPolicy.from_document(store.setting(conn, account_id, PASSWORD_POLICY))


@operation(
    RAM, "SetPasswordPolicy", SetPasswordPolicyRequest, resources=account_arn, writes=True, region="none"
)
def set_password_policy(ctx: Context, req: Request) -> Body:
    policy = PasswordPolicy(**msgspec.structs.asdict(req))
    for field, (low, high) in RANGES.items():
        value = getattr(policy, field)
        if not low <= value <= high:
            name = wire_name(field)
            raise ApiError(
                f"InvalidParameter.{name}.Range",
                f'The parameter - "{name}" must be between {low} and {high}.',
            )
    document = policy.document()
    store.put_setting(ctx.db, ctx.conn, ctx.account_id, PASSWORD_POLICY, document)
    return {"PasswordPolicy": document}


@operation(RAM, "GetPasswordPolicy", NoParamsRequest, resources=account_arn, region="none")
def get_password_policy(ctx: Context, req: NoParamsRequest) -> Body:
    return {"PasswordPolicy": password_policy(ctx.conn, ctx.account_id).document()}


# ---------------------------------------------------------------- security preference


@dataclass(frozen=True, slots=True)
class SecurityPreference:
    """What RAM users may do for themselves, and how their console sessions go (Alibaba's defaults)."""

    enable_save_mfa_ticket: bool = False
    allow_user_to_change_password: bool = True
    allow_user_to_manage_access_keys: bool = False
    allow_user_to_manage_mfa_devices: bool = True
    allow_user_to_manage_public_keys: bool = False
    login_session_duration: int = 6  # hours
    login_network_masks: str = ""

    def document(self) -> Body:
        """The wire (and stored) shape: four groups of settings."""
        return {
            "LoginProfilePreference": {
                "EnableSaveMFATicket": self.enable_save_mfa_ticket,
                "AllowUserToChangePassword": self.allow_user_to_change_password,
                "LoginSessionDuration": self.login_session_duration,
                "LoginNetworkMasks": self.login_network_masks,
            },
            "AccessKeyPreference": {"AllowUserToManageAccessKeys": self.allow_user_to_manage_access_keys},
            "MFAPreference": {"AllowUserToManageMFADevices": self.allow_user_to_manage_mfa_devices},
            "PublicKeyPreference": {"AllowUserToManagePublicKeys": self.allow_user_to_manage_public_keys},
        }

    @classmethod
    def from_document(cls, doc: Body | None) -> SecurityPreference:
        if not doc:
            return cls()
        login = doc["LoginProfilePreference"]
        return cls(
            enable_save_mfa_ticket=login["EnableSaveMFATicket"],
            allow_user_to_change_password=login["AllowUserToChangePassword"],
            allow_user_to_manage_access_keys=doc["AccessKeyPreference"]["AllowUserToManageAccessKeys"],
            allow_user_to_manage_mfa_devices=doc["MFAPreference"]["AllowUserToManageMFADevices"],
            allow_user_to_manage_public_keys=doc["PublicKeyPreference"]["AllowUserToManagePublicKeys"],
            login_session_duration=login["LoginSessionDuration"],
            login_network_masks=login["LoginNetworkMasks"],
        )


class SetSecurityPreferenceRequest(Request):
    """Every field optional: the ones given change, the others keep their value."""

    enable_save_mfa_ticket: bool | None = msgspec.field(default=None, name="EnableSaveMFATicket")
    allow_user_to_change_password: bool | None = None
    allow_user_to_manage_access_keys: bool | None = None
    allow_user_to_manage_mfa_devices: bool | None = msgspec.field(
        default=None, name="AllowUserToManageMFADevices"
    )
    allow_user_to_manage_public_keys: bool | None = None
    login_session_duration: int | None = None
    login_network_masks: str | None = None


def security_preference(ctx: Context) -> SecurityPreference:
    return SecurityPreference.from_document(store.setting(ctx.conn, ctx.account_id, SECURITY_PREFERENCE))


def _check_network_masks(value: str) -> str:
    masks = [m.strip() for m in value.split(";") if m.strip()]
    if len(masks) > MAX_NETWORK_MASKS or len(value) > MAX_NETWORK_MASKS_LENGTH:
        raise invalid_parameter(
            "LoginNetworkMasks",
            f"Give at most {MAX_NETWORK_MASKS} CIDR blocks separated by ';', "
            f"{MAX_NETWORK_MASKS_LENGTH} characters in all.",
        )
    for mask in masks:
        try:
            ipaddress.ip_network(mask, strict=False)
        except ValueError:
            raise invalid_parameter("LoginNetworkMasks", f"{mask!r} is not a CIDR block.") from None
    return ";".join(masks)


@operation(
    RAM,
    "SetSecurityPreference",
    SetSecurityPreferenceRequest,
    resources=account_arn,
    writes=True,
    region="none",
)
def set_security_preference(ctx: Context, req: SetSecurityPreferenceRequest) -> Body:
    given = {f: getattr(req, f) for f in req.__struct_fields__ if getattr(req, f) is not None}
    if "login_session_duration" in given and not 1 <= given["login_session_duration"] <= 24:
        raise invalid_parameter("LoginSessionDuration", "It must be between 1 and 24 (hours).")
    if "login_network_masks" in given:
        given["login_network_masks"] = _check_network_masks(given["login_network_masks"])
    preference = replace(security_preference(ctx), **given)
    document = preference.document()
    store.put_setting(ctx.db, ctx.conn, ctx.account_id, SECURITY_PREFERENCE, document)
    return {"SecurityPreference": document}


@operation(RAM, "GetSecurityPreference", NoParamsRequest, resources=account_arn, region="none")
def get_security_preference(ctx: Context, req: NoParamsRequest) -> Body:
    return {"SecurityPreference": security_preference(ctx).document()}
