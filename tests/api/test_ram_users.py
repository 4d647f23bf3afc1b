"""RAM users and account settings (RAM-1) through both official SDK generations.

The session server is shared: every test uses users of its own (unique names), and what is account-wide
(the user limit, paging over all users, the security preference) runs in a fresh account of its own.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyotp
import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkcore.client import AcsClient
from aliyunsdkram.request.v20150501.CreateUserRequest import CreateUserRequest as LegacyCreateUser
from aliyunsdkram.request.v20150501.GetUserRequest import GetUserRequest as LegacyGetUser
from aliyunsdkram.request.v20150501.ListUsersRequest import ListUsersRequest as LegacyListUsers
from sqlalchemy import insert, select

from secplane.domain import ids
from secplane.operations.context import Context, Principal
from secplane.operations.registry import REGISTRY
from secplane.protocol.params import bind
from secplane.store.schema import access_keys, ram_users
from secplane.testing import RunningServer
from tests.api.test_prefix_lists import expect_error, expect_legacy_error
from tests.api.test_security_groups import other_account
from tests.conftest import legacy_call
from tests.conftest import server_db as database

SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
RAM_VERSION = "2015-05-01"

# ---------------------------------------------------------------- helpers (shared with test_ram_credentials)


def unique(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def ram(api: RunningServer) -> Client:
    """Tea (V3-signing) RAM client on the SQLite server, as the account root."""
    return Client(api.tea_config())


@pytest.fixture(scope="session")
def any_ram(any_api: RunningServer) -> Client:
    """The same on SQLite and on PostgreSQL."""
    return Client(any_api.tea_config())


def new_user(client: Client, name: str | None = None, **kw: Any) -> Any:
    request = m.CreateUserRequest(user_name=name or unique(), **kw)
    return client.create_user(request).body.user


def fresh_account(running: RunningServer) -> tuple[str, Client]:
    """A new account on the server and a RAM client signed with its root key."""
    account_id, config = other_account(running)
    return account_id, Client(config)


def legacy_as(running: RunningServer, config: Any, request: Any) -> dict[str, Any]:
    """A legacy (V1-signing) call with the credentials of a Tea ``config`` (another account's root)."""
    legacy = AcsClient(config.access_key_id, config.access_key_secret, running.region_id)
    request.set_endpoint(running.endpoint)
    request.set_protocol_type("http")
    return dict(json.loads(legacy.do_action_with_exception(request)))


def totp_codes(seed: str, at: float | None = None) -> tuple[str, str]:
    """Two consecutive codes of the device: the previous step's and the current one's."""
    totp = pyotp.TOTP(seed)
    step = int((time.time() if at is None else at) // 30)
    return totp.generate_otp(step - 1), totp.generate_otp(step)


def bulk_users(running: RunningServer, account_id: str, count: int) -> None:
    """Put ``count`` users into the account directly (to reach the limit without a thousand calls)."""
    now = time.time()
    rows = [
        {"id": ids.ram_id(), "account_id": account_id, "name": f"bulk-{i:04d}", "created_at": now,
         "updated_at": now}
        for i in range(count)
    ]  # fmt: skip
    with database(running) as conn:
        conn.execute(insert(ram_users), rows)


# ---------------------------------------------------------------- create and get


def test_create_and_get_user(any_ram: Client) -> None:
    name = unique()
    created = new_user(
        any_ram, name, display_name="Alice Example", mobile_phone="86-18600008888",
        email="alice@example.com", comments="on-call engineer",
    )  # fmt: skip
    assert created.user_name == name
    assert re.fullmatch(r"\d{16}", created.user_id)
    assert (created.display_name, created.mobile_phone, created.email, created.comments) == (
        "Alice Example", "86-18600008888", "alice@example.com", "on-call engineer",
    )  # fmt: skip
    assert SECONDS.match(created.create_date)

    got = any_ram.get_user(m.GetUserRequest(user_name=name)).body.user
    assert got.user_id == created.user_id
    assert got.create_date == created.create_date
    assert SECONDS.match(got.update_date)
    assert got.last_login_date == ""
    assert got.email == "alice@example.com"


def test_create_user_legacy_json_shape(api: RunningServer) -> None:
    name = unique()
    request = LegacyCreateUser()
    request.set_UserName(name)
    request.set_DisplayName("Bob")
    body = json.loads(legacy_call(api, request))
    assert set(body) == {"RequestId", "User"}
    assert body["User"]["UserName"] == name
    assert set(body["User"]) == {
        "UserId", "UserName", "DisplayName", "MobilePhone", "Email", "Comments", "CreateDate",
    }  # fmt: skip

    get = LegacyGetUser()
    get.set_UserName(name)
    user = json.loads(legacy_call(api, get))["User"]
    assert {"UpdateDate", "LastLoginDate"} <= set(user)


def test_user_name_may_hold_dots_dashes_underscores_and_at(ram: Client) -> None:
    name = f"a.b-c_d@{uuid.uuid4().hex[:8]}"
    assert new_user(ram, name).user_name == name


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"user_name": "x" * 65}, "InvalidParameter.UserName.Length"),
        ({"user_name": "has space"}, "InvalidParameter.UserName.InvalidChars"),
        ({"user_name": "slash/name"}, "InvalidParameter.UserName.InvalidChars"),
        ({"display_name": "d" * 129}, "InvalidParameter.DisplayName.Length"),
        ({"mobile_phone": "18600008888"}, "InvalidParameter.MobilePhone.Format"),
        ({"email": "not-an-email"}, "InvalidParameter.Email.Format"),
        ({"comments": "c" * 129}, "InvalidParameter.Comments.Length"),
    ],
)
def test_create_user_refuses_bad_fields(ram: Client, fields: dict[str, str], code: str) -> None:
    request = m.CreateUserRequest(**{"user_name": unique(), **fields})
    err = expect_error(lambda: ram.create_user(request), code, 400)
    assert "parameter" in err.message


def test_create_user_needs_a_name(api: RunningServer) -> None:
    expect_legacy_error(api, LegacyCreateUser(), "MissingParameter", 400)


def test_create_user_twice_is_a_conflict(ram: Client) -> None:
    name = new_user(ram).user_name
    expect_error(lambda: new_user(ram, name), "EntityAlreadyExists.User", 409)


def test_get_unknown_user(ram: Client) -> None:
    err = expect_error(lambda: ram.get_user(m.GetUserRequest(user_name=unique())), "EntityNotExist.User", 404)
    assert "The user does not exist." in err.message


def test_users_are_per_account(api: RunningServer, ram: Client) -> None:
    name = new_user(ram).user_name
    _, other = fresh_account(api)
    expect_error(lambda: other.get_user(m.GetUserRequest(user_name=name)), "EntityNotExist.User", 404)
    assert new_user(other, name).user_name == name  # the name is free in another account


# ---------------------------------------------------------------- update


def test_update_user_fields(any_ram: Client) -> None:
    user = new_user(any_ram, display_name="Old", comments="old comment", email="old@example.com")
    updated = any_ram.update_user(
        m.UpdateUserRequest(
            user_name=user.user_name, new_display_name="New", new_mobile_phone="1-5550100",
            new_comments="new comment",
        )
    ).body.user  # fmt: skip
    assert (updated.display_name, updated.mobile_phone) == ("New", "1-5550100")
    assert updated.comments == "new comment"
    assert updated.email == "old@example.com"  # not given: kept
    assert updated.user_id == user.user_id
    assert SECONDS.match(updated.update_date)


def test_rename_carries_the_access_keys(any_api: RunningServer, any_ram: Client) -> None:
    old, new = unique(), unique()
    user = new_user(any_ram, old)
    key = any_ram.create_access_key(m.CreateAccessKeyRequest(user_name=old)).body.access_key
    renamed = any_ram.update_user(m.UpdateUserRequest(user_name=old, new_user_name=new)).body.user
    assert (renamed.user_name, renamed.user_id) == (new, user.user_id)

    listed = any_ram.list_access_keys(m.ListAccessKeysRequest(user_name=new)).body.access_keys.access_key
    assert [k.access_key_id for k in listed] == [key.access_key_id]
    with database(any_api) as conn:
        owner = conn.execute(select(access_keys.c.user_name).where(access_keys.c.id == key.access_key_id))
        assert owner.scalar_one() == new
    expect_error(lambda: any_ram.get_user(m.GetUserRequest(user_name=old)), "EntityNotExist.User", 404)
    expect_error(
        lambda: any_ram.list_access_keys(m.ListAccessKeysRequest(user_name=old)), "EntityNotExist.User", 404
    )
    assert new_user(any_ram, old).user_name == old  # the old name is free again


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"new_user_name": "bad name"}, "InvalidParameter.NewUserName.InvalidChars"),
        ({"new_user_name": "n" * 65}, "InvalidParameter.NewUserName.Length"),
        ({"new_display_name": "d" * 129}, "InvalidParameter.NewDisplayName.Length"),
        ({"new_comments": "c" * 129}, "InvalidParameter.NewComments.Length"),
        ({"new_email": "nope"}, "InvalidParameter.NewEmail.Format"),
        ({"new_mobile_phone": "phone"}, "InvalidParameter.NewMobilePhone.Format"),
    ],
)
def test_update_user_refuses_bad_fields(ram: Client, fields: dict[str, str], code: str) -> None:
    name = new_user(ram, display_name="Kept").user_name
    expect_error(lambda: ram.update_user(m.UpdateUserRequest(user_name=name, **fields)), code, 400)
    assert ram.get_user(m.GetUserRequest(user_name=name)).body.user.display_name == "Kept"


def test_update_user_conflicts(ram: Client) -> None:
    first, second = new_user(ram).user_name, new_user(ram).user_name
    expect_error(
        lambda: ram.update_user(m.UpdateUserRequest(user_name=first, new_user_name=second)),
        "EntityAlreadyExists.User",
        409,
    )
    expect_error(
        lambda: ram.update_user(m.UpdateUserRequest(user_name=unique(), new_display_name="x")),
        "EntityNotExist.User",
        404,
    )


# ---------------------------------------------------------------- delete


def test_delete_user(any_ram: Client) -> None:
    name = new_user(any_ram).user_name
    any_ram.delete_user(m.DeleteUserRequest(user_name=name))
    expect_error(lambda: any_ram.get_user(m.GetUserRequest(user_name=name)), "EntityNotExist.User", 404)
    expect_error(lambda: any_ram.delete_user(m.DeleteUserRequest(user_name=name)), "EntityNotExist.User", 404)


def test_delete_user_refused_while_anything_hangs_off_it(any_ram: Client) -> None:
    """Each conflict in turn, removed one by one, then the deletion goes through."""
    name = new_user(any_ram).user_name
    group = unique("g")
    any_ram.create_group(m.CreateGroupRequest(group_name=group))
    any_ram.add_user_to_group(m.AddUserToGroupRequest(group_name=group, user_name=name))
    attachment = {"policy_type": "System", "policy_name": "ReadOnlyAccess", "user_name": name}
    any_ram.attach_policy_to_user(m.AttachPolicyToUserRequest(**attachment))
    key = any_ram.create_access_key(m.CreateAccessKeyRequest(user_name=name)).body.access_key
    any_ram.create_login_profile(m.CreateLoginProfileRequest(user_name=name, password="Initial-Pass-1"))
    device = any_ram.create_virtual_mfadevice(
        m.CreateVirtualMFADeviceRequest(virtual_mfadevice_name=unique("mfa"))
    ).body.virtual_mfadevice
    code1, code2 = totp_codes(device.base_32string_seed)
    any_ram.bind_mfadevice(
        m.BindMFADeviceRequest(
            serial_number=device.serial_number, user_name=name, authentication_code_1=code1,
            authentication_code_2=code2,
        )
    )  # fmt: skip

    def delete() -> Any:
        return any_ram.delete_user(m.DeleteUserRequest(user_name=name))

    expect_error(delete, "DeleteConflict.User.Group", 409)
    any_ram.remove_user_from_group(m.RemoveUserFromGroupRequest(group_name=group, user_name=name))
    expect_error(delete, "DeleteConflict.User.AccessKey", 409)
    any_ram.delete_access_key(m.DeleteAccessKeyRequest(user_name=name, user_access_key_id=key.access_key_id))
    expect_error(delete, "DeleteConflict.User.LoginProfile", 409)
    any_ram.delete_login_profile(m.DeleteLoginProfileRequest(user_name=name))
    err = expect_error(delete, "DeleteConflict.User.MFADevice", 409)
    assert "UnbindMFADevice" in err.message
    any_ram.unbind_mfadevice(m.UnbindMFADeviceRequest(user_name=name))
    expect_error(delete, "DeleteConflict.User.Policy", 409)
    any_ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(**attachment))
    delete()
    expect_error(lambda: any_ram.get_user(m.GetUserRequest(user_name=name)), "EntityNotExist.User", 404)


# ---------------------------------------------------------------- list, paging, limit


def test_list_users_pages_with_marker(api: RunningServer) -> None:
    _, client = fresh_account(api)
    names = sorted(new_user(client).user_name for _ in range(5))
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        body = client.list_users(m.ListUsersRequest(max_items=2, marker=marker)).body
        pages += 1
        seen += [u.user_name for u in body.users.user]
        if not body.is_truncated:
            assert body.marker == ""
            break
        assert body.is_truncated is True and body.marker
        marker = body.marker
    assert (seen, pages) == (names, 3)
    everything = client.list_users(m.ListUsersRequest()).body
    assert everything.is_truncated is False
    assert [u.user_name for u in everything.users.user] == names
    assert all(SECONDS.match(u.update_date) for u in everything.users.user)


def test_list_users_legacy_json_shape(api: RunningServer) -> None:
    """The double wrapper ``Users.User[]`` and a real JSON boolean for IsTruncated."""
    name = unique()
    request = LegacyCreateUser()
    request.set_UserName(name)
    legacy_call(api, request)
    listing = LegacyListUsers()
    listing.set_MaxItems(1000)
    body = json.loads(legacy_call(api, listing))
    assert isinstance(body["IsTruncated"], bool)
    assert isinstance(body["Users"]["User"], list)
    mine = [u for u in body["Users"]["User"] if u["UserName"] == name]
    assert len(mine) == 1
    assert set(mine[0]) == {
        "UserId", "UserName", "DisplayName", "MobilePhone", "Email", "Comments", "CreateDate", "UpdateDate",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"max_items": 0}, "InvalidParameter.MaxItems"),
        ({"max_items": 1001}, "InvalidParameter.MaxItems"),
        ({"marker": "not-a-marker"}, "InvalidParameter.Marker"),
    ],
)
def test_list_users_refuses_bad_paging(ram: Client, fields: dict[str, Any], code: str) -> None:
    expect_error(lambda: ram.list_users(m.ListUsersRequest(**fields)), code, 400)


def test_user_limit(api: RunningServer) -> None:
    account_id, client = fresh_account(api)
    bulk_users(api, account_id, 1000)
    err = expect_error(lambda: new_user(client), "LimitExceeded.User", 409)
    assert "1000" in err.message


def test_user_limit_holds_under_concurrent_creates(any_api: RunningServer) -> None:
    """Two places left, eight creators at once: exactly two get in, on SQLite and on PostgreSQL."""
    account_id, client = fresh_account(any_api)
    bulk_users(any_api, account_id, 998)

    def attempt(_: int) -> str:
        try:
            new_user(client)
            return "created"
        except ClientException as exc:
            return str(exc.code)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert sorted(outcomes) == ["LimitExceeded.User"] * 6 + ["created"] * 2
    with database(any_api) as conn:
        count = conn.execute(select(ram_users.c.id).where(ram_users.c.account_id == account_id)).all()
    assert len(count) == 1000


# ---------------------------------------------------------------- account alias


def test_account_alias(any_api: RunningServer) -> None:
    _, client = fresh_account(any_api)
    assert client.get_account_alias().body.account_alias == ""
    alias = f"corp-{uuid.uuid4().hex[:10]}"
    client.set_account_alias(m.SetAccountAliasRequest(account_alias=alias))
    assert client.get_account_alias().body.account_alias == alias

    _, other = fresh_account(any_api)
    expect_error(
        lambda: other.set_account_alias(m.SetAccountAliasRequest(account_alias=alias)),
        "EntityAlreadyExists.AccountAlias",
        409,
    )
    client.clear_account_alias()
    assert client.get_account_alias().body.account_alias == ""
    other.set_account_alias(m.SetAccountAliasRequest(account_alias=alias))  # free once cleared
    assert other.get_account_alias().body.account_alias == alias
    other.clear_account_alias()


@pytest.mark.parametrize(
    ("alias", "code"),
    [
        ("ab", "InvalidParameter.AccountAlias.Length"),
        ("a" * 33, "InvalidParameter.AccountAlias.Length"),
        ("Upper-case", "InvalidParameter.AccountAlias.Format"),
        ("-leading", "InvalidParameter.AccountAlias.Format"),
        ("trailing-", "InvalidParameter.AccountAlias.Format"),
        ("double--hyphen", "InvalidParameter.AccountAlias.Format"),
        ("under_score", "InvalidParameter.AccountAlias.Format"),
    ],
)
def test_account_alias_format(ram: Client, alias: str, code: str) -> None:
    expect_error(lambda: ram.set_account_alias(m.SetAccountAliasRequest(account_alias=alias)), code, 400)


# ---------------------------------------------------------------- security preference

DEFAULT_PREFERENCE = {
    "LoginProfilePreference": {
        "EnableSaveMFATicket": False,
        "AllowUserToChangePassword": True,
        "LoginSessionDuration": 6,
        "LoginNetworkMasks": "",
    },
    "AccessKeyPreference": {"AllowUserToManageAccessKeys": False},
    "MFAPreference": {"AllowUserToManageMFADevices": True},
    "PublicKeyPreference": {"AllowUserToManagePublicKeys": False},
}


def test_security_preference_defaults_and_partial_updates(api: RunningServer) -> None:
    _, client = fresh_account(api)
    assert client.get_security_preference().body.to_map()["SecurityPreference"] == DEFAULT_PREFERENCE

    answer = client.set_security_preference(
        m.SetSecurityPreferenceRequest(
            enable_save_mfaticket=True, allow_user_to_manage_access_keys=True, login_session_duration=12,
            login_network_masks="10.0.0.0/8; 192.168.0.0/16",
        )
    ).body.to_map()["SecurityPreference"]  # fmt: skip
    expected = json.loads(json.dumps(DEFAULT_PREFERENCE))
    expected["LoginProfilePreference"].update(
        EnableSaveMFATicket=True, LoginSessionDuration=12, LoginNetworkMasks="10.0.0.0/8;192.168.0.0/16"
    )
    expected["AccessKeyPreference"]["AllowUserToManageAccessKeys"] = True
    assert answer == expected

    # a later call with one field changes that field only
    client.set_security_preference(m.SetSecurityPreferenceRequest(allow_user_to_manage_mfadevices=False))
    expected["MFAPreference"]["AllowUserToManageMFADevices"] = False
    assert client.get_security_preference().body.to_map()["SecurityPreference"] == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"login_session_duration": 0},
        {"login_session_duration": 25},
        {"login_network_masks": "10.0.0.0/8;not-a-cidr"},
        {"login_network_masks": ";".join(f"10.0.{i}.0/24" for i in range(41))},
    ],
)
def test_security_preference_refuses_bad_values(ram: Client, fields: dict[str, Any]) -> None:
    before = ram.get_security_preference().body.to_map()
    err = expect_error(
        lambda: ram.set_security_preference(m.SetSecurityPreferenceRequest(**fields)), "InvalidParameter", 400
    )
    assert "Login" in err.message
    assert ram.get_security_preference().body.to_map()["SecurityPreference"] == before["SecurityPreference"]


# ---------------------------------------------------------------- RAM authorization resources (reference §10)


def _resources(action: str, principal: Principal, params: dict[str, str]) -> list[str]:
    op = REGISTRY[(RAM_VERSION, action)]
    assert op.region == "none"
    ctx = Context(
        request_id="t", principal=principal, access_key_id="", source_ip="", service="ram", region_id="",
        now=time.time(), db=None, master_key=None,  # type: ignore[arg-type]
    )  # fmt: skip
    return op.resources(ctx, bind(params, op.request))


ROOT = Principal.root("1234567890123456")
USER = Principal.user("1234567890123456", "2000000000000001", "dev")


@pytest.mark.parametrize(
    ("action", "params", "as_root", "as_user"),
    [
        ("CreateUser", {"UserName": "x"}, "user/*", "user/*"),
        ("ListUsers", {}, "user/*", "user/*"),
        ("GetUser", {"UserName": "x"}, "user/x", "user/x"),
        ("UpdateUser", {"UserName": "x"}, "user/x", "user/x"),
        ("DeleteUser", {"UserName": "x"}, "user/x", "user/x"),
        ("CreateAccessKey", {}, "*", "user/dev"),
        ("CreateAccessKey", {"UserName": "x"}, "user/x", "user/x"),
        ("ListAccessKeys", {}, "*", "user/dev"),
        ("UpdateAccessKey", {"UserAccessKeyId": "k", "Status": "Active"}, "*", "user/dev"),
        ("DeleteAccessKey", {"UserAccessKeyId": "k", "UserName": "x"}, "user/x", "user/x"),
        ("GetAccessKeyLastUsed", {"UserAccessKeyId": "k"}, "*", "user/dev"),
        ("CreateLoginProfile", {"UserName": "x", "Password": "p"}, "user/x", "user/x"),
        ("GetLoginProfile", {"UserName": "x"}, "user/x", "user/x"),
        ("UpdateLoginProfile", {"UserName": "x"}, "user/x", "user/x"),
        ("DeleteLoginProfile", {"UserName": "x"}, "user/x", "user/x"),
        ("ChangePassword", {"OldPassword": "a", "NewPassword": "b"}, "*", "user/dev"),
        ("CreateVirtualMFADevice", {"VirtualMFADeviceName": "d"}, "mfa/*", "mfa/*"),
        ("ListVirtualMFADevices", {}, "mfa/*", "mfa/*"),
        ("DeleteVirtualMFADevice", {"SerialNumber": "acs:ram::1234567890123456:mfa/d"}, "mfa/d", "mfa/d"),
        ("BindMFADevice", {"SerialNumber": "s", "UserName": "x", "AuthenticationCode1": "1",
                           "AuthenticationCode2": "2"}, "user/x", "user/x"),
        ("UnbindMFADevice", {"UserName": "x"}, "user/x", "user/x"),
        ("GetUserMFAInfo", {"UserName": "x"}, "user/x", "user/x"),
        ("GetAccountAlias", {}, "*", "*"),
        ("SetAccountAlias", {"AccountAlias": "abc"}, "*", "*"),
        ("ClearAccountAlias", {}, "*", "*"),
        ("GetPasswordPolicy", {}, "*", "*"),
        ("SetPasswordPolicy", {}, "*", "*"),
        ("GetSecurityPreference", {}, "*", "*"),
        ("SetSecurityPreference", {}, "*", "*"),
    ],
)  # fmt: skip
def test_resources_per_reference(action: str, params: dict[str, str], as_root: str, as_user: str) -> None:
    prefix = "acs:ram::1234567890123456:"
    assert _resources(action, ROOT, params) == [prefix + as_root]
    assert _resources(action, USER, params) == [prefix + as_user]
