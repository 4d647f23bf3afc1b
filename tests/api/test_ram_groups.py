"""RAM groups and their members (RAM-1) through both official SDK generations.

The session server is shared: every name is unique to its test, and limits per account are exercised in
fresh accounts of their own. The helpers at the top are shared with the roles and policies tests.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkram.request.v20150501.AddUserToGroupRequest import AddUserToGroupRequest as LegacyAddUser
from aliyunsdkram.request.v20150501.CreateGroupRequest import CreateGroupRequest as LegacyCreateGroup
from aliyunsdkram.request.v20150501.GetGroupRequest import GetGroupRequest as LegacyGetGroup
from aliyunsdkram.request.v20150501.ListGroupsForUserRequest import ListGroupsForUserRequest as LegacyForUser

from secplane.operations.ram.groups import MAX_GROUPS, MAX_GROUPS_PER_USER
from secplane.testing import RunningServer
from tests.api.test_prefix_lists import expect_error, expect_legacy_error
from tests.api.test_security_groups import other_account
from tests.conftest import legacy_call

SECONDS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
IDENTITY_DOCUMENT = json.dumps(
    {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}]}
)


# ---------------------------------------------------------------- helpers (also used by the other RAM files)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def ram(api: RunningServer) -> Client:
    """Tea (V3-signing) RAM client with the session account's root key."""
    return Client(api.tea_config())


def new_user(client: Client) -> str:
    name = unique("u")
    client.create_user(m.CreateUserRequest(user_name=name))
    return name


def new_group(client: Client, comments: str = "") -> str:
    name = unique("g")
    client.create_group(m.CreateGroupRequest(group_name=name, comments=comments))
    return name


def new_policy(client: Client, document: str = IDENTITY_DOCUMENT, **kw: Any) -> str:
    name = unique("p")
    client.create_policy(m.CreatePolicyRequest(policy_name=name, policy_document=document, **kw))
    return name


def group_names(items: list[Any]) -> list[str]:
    return [g.group_name for g in items]


# ---------------------------------------------------------------- groups


def test_group_lifecycle(ram: Client) -> None:
    name = unique("g")
    created = ram.create_group(m.CreateGroupRequest(group_name=name, comments="ops")).body.group
    assert (created.group_name, created.comments) == (name, "ops")
    assert created.group_id.isdigit() and len(created.group_id) == 16
    got = ram.get_group(m.GetGroupRequest(group_name=name)).body.group
    assert (got.group_id, got.create_date) == (created.group_id, created.create_date)
    assert got.update_date

    renamed = unique("g")
    updated = ram.update_group(
        m.UpdateGroupRequest(group_name=name, new_group_name=renamed, new_comments="sre")
    ).body.group
    assert (updated.group_id, updated.group_name, updated.comments) == (created.group_id, renamed, "sre")
    expect_error(lambda: ram.get_group(m.GetGroupRequest(group_name=name)), "EntityNotExist.Group", 404)
    ram.update_group(m.UpdateGroupRequest(group_name=renamed, new_comments=""))
    assert ram.get_group(m.GetGroupRequest(group_name=renamed)).body.group.comments == ""

    listed = ram.list_groups(m.ListGroupsRequest()).body
    assert renamed in group_names(listed.groups.group)
    ram.delete_group(m.DeleteGroupRequest(group_name=renamed))
    expect_error(lambda: ram.get_group(m.GetGroupRequest(group_name=renamed)), "EntityNotExist.Group", 404)
    expect_error(
        lambda: ram.delete_group(m.DeleteGroupRequest(group_name=renamed)), "EntityNotExist.Group", 404
    )


@pytest.mark.parametrize(
    ("request_kw", "code"),
    [
        ({"group_name": "bad name"}, "InvalidParameter.GroupName.InvalidChars"),
        ({"group_name": "g" * 65}, "InvalidParameter.GroupName.Length"),
        ({"group_name": "ok-name", "comments": "c" * 129}, "InvalidParameter.Comments.Length"),
    ],
)
def test_create_group_refuses_bad_input(ram: Client, request_kw: dict[str, str], code: str) -> None:
    expect_error(lambda: ram.create_group(m.CreateGroupRequest(**request_kw)), code)


def test_group_names_are_unique(ram: Client) -> None:
    first, second = new_group(ram), new_group(ram)
    expect_error(
        lambda: ram.create_group(m.CreateGroupRequest(group_name=first)), "EntityAlreadyExists.Group", 409
    )
    expect_error(
        lambda: ram.update_group(m.UpdateGroupRequest(group_name=second, new_group_name=first)),
        "EntityAlreadyExists.Group",
        409,
    )
    expect_error(
        lambda: ram.update_group(m.UpdateGroupRequest(group_name=second, new_group_name="a b")),
        "InvalidParameter.NewGroupName.InvalidChars",
    )
    expect_error(
        lambda: ram.update_group(m.UpdateGroupRequest(group_name=unique("g"), new_comments="x")),
        "EntityNotExist.Group",
        404,
    )


def test_list_groups_pages_with_marker(api: RunningServer) -> None:
    _, config = other_account(api)
    client = Client(config)
    names = sorted(new_group(client) for _ in range(3))
    first = client.list_groups(m.ListGroupsRequest(max_items=2)).body
    assert (first.is_truncated, group_names(first.groups.group)) == (True, names[:2])
    rest = client.list_groups(m.ListGroupsRequest(max_items=2, marker=first.marker)).body
    assert (rest.is_truncated, rest.marker, group_names(rest.groups.group)) == (False, "", names[2:])
    expect_error(lambda: client.list_groups(m.ListGroupsRequest(max_items=101)), "InvalidParameter.MaxItems")
    expect_error(lambda: client.list_groups(m.ListGroupsRequest(marker="junk!")), "InvalidParameter.Marker")


def test_groups_per_account_limit(api: RunningServer) -> None:
    _, config = other_account(api)
    client = Client(config)
    for _ in range(MAX_GROUPS):
        new_group(client)
    expect_error(lambda: new_group(client), "LimitExceeded.Group", 409)
    assert len(client.list_groups(m.ListGroupsRequest()).body.groups.group) == MAX_GROUPS


# ---------------------------------------------------------------- members


def test_membership(ram: Client) -> None:
    user, first, second = new_user(ram), new_group(ram, "one"), new_group(ram)
    for group in (first, second):
        ram.add_user_to_group(m.AddUserToGroupRequest(group_name=group, user_name=user))
    expect_error(
        lambda: ram.add_user_to_group(m.AddUserToGroupRequest(group_name=first, user_name=user)),
        "EntityAlreadyExists.User.Group",
        409,
    )
    groups = ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name=user)).body.groups.group
    assert group_names(groups) == [first, second]
    assert groups[0].comments == "one" and groups[0].group_id and groups[0].join_date

    other = new_user(ram)
    ram.add_user_to_group(m.AddUserToGroupRequest(group_name=first, user_name=other))
    page = ram.list_users_for_group(m.ListUsersForGroupRequest(group_name=first, max_items=1)).body
    assert (page.is_truncated, [u.user_name for u in page.users.user]) == (True, [user])
    rest = ram.list_users_for_group(m.ListUsersForGroupRequest(group_name=first, marker=page.marker)).body
    assert (rest.is_truncated, [u.user_name for u in rest.users.user]) == (False, [other])
    assert rest.users.user[0].join_date

    ram.remove_user_from_group(m.RemoveUserFromGroupRequest(group_name=first, user_name=user))
    expect_error(
        lambda: ram.remove_user_from_group(m.RemoveUserFromGroupRequest(group_name=first, user_name=user)),
        "EntityNotExist.User.Group",
        404,
    )
    groups = ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name=user)).body.groups.group
    assert group_names(groups) == [second]


def test_membership_needs_existing_user_and_group(ram: Client) -> None:
    user, group = new_user(ram), new_group(ram)
    missing = unique("x")
    for kw, code in (
        ({"group_name": group, "user_name": missing}, "EntityNotExist.User"),
        ({"group_name": missing, "user_name": user}, "EntityNotExist.Group"),
    ):
        expect_error(partial(ram.add_user_to_group, m.AddUserToGroupRequest(**kw)), code, 404)
        expect_error(partial(ram.remove_user_from_group, m.RemoveUserFromGroupRequest(**kw)), code, 404)
    expect_error(
        lambda: ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name=missing)),
        "EntityNotExist.User",
        404,
    )
    expect_error(
        lambda: ram.list_users_for_group(m.ListUsersForGroupRequest(group_name=missing)),
        "EntityNotExist.Group",
        404,
    )


def test_groups_per_user_limit(ram: Client) -> None:
    user = new_user(ram)
    for _ in range(MAX_GROUPS_PER_USER):
        ram.add_user_to_group(m.AddUserToGroupRequest(group_name=new_group(ram), user_name=user))
    extra = new_group(ram)
    expect_error(
        lambda: ram.add_user_to_group(m.AddUserToGroupRequest(group_name=extra, user_name=user)),
        "LimitExceeded.User.Group",
        409,
    )


def test_groups_per_user_limit_holds_under_concurrent_calls(any_api: RunningServer) -> None:
    client = Client(any_api.tea_config())
    user = new_user(client)
    groups = [new_group(client) for _ in range(MAX_GROUPS_PER_USER + 4)]

    def add(group: str) -> str:
        try:
            client.add_user_to_group(m.AddUserToGroupRequest(group_name=group, user_name=user))
        except ClientException as exc:
            return str(exc.code)
        return "ok"

    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        outcomes = list(pool.map(add, groups))
    assert sorted(outcomes) == ["LimitExceeded.User.Group"] * 4 + ["ok"] * MAX_GROUPS_PER_USER
    listed = client.list_groups_for_user(m.ListGroupsForUserRequest(user_name=user)).body.groups.group
    assert len(listed) == MAX_GROUPS_PER_USER


def test_delete_group_conflicts(ram: Client) -> None:
    user, group, policy = new_user(ram), new_group(ram), new_policy(ram)
    ram.add_user_to_group(m.AddUserToGroupRequest(group_name=group, user_name=user))
    delete = m.DeleteGroupRequest(group_name=group)
    expect_error(lambda: ram.delete_group(delete), "DeleteConflict.Group.User", 409)
    ram.remove_user_from_group(m.RemoveUserFromGroupRequest(group_name=group, user_name=user))
    attach = {"policy_type": "Custom", "policy_name": policy, "group_name": group}
    ram.attach_policy_to_group(m.AttachPolicyToGroupRequest(**attach))
    expect_error(lambda: ram.delete_group(delete), "DeleteConflict.Group.Policy", 409)
    ram.detach_policy_from_group(m.DetachPolicyFromGroupRequest(**attach))
    ram.delete_group(delete)
    expect_error(lambda: ram.get_group(m.GetGroupRequest(group_name=group)), "EntityNotExist.Group", 404)


# ---------------------------------------------------------------- legacy SDK (V1 signatures)


def test_legacy_sdk(api: RunningServer, ram: Client) -> None:
    name, user = unique("g"), new_user(ram)
    create = LegacyCreateGroup()
    create.set_GroupName(name)
    create.set_Comments("legacy")
    body = json.loads(legacy_call(api, create))
    assert (body["Group"]["GroupName"], body["Group"]["Comments"]) == (name, "legacy")

    add = LegacyAddUser()
    add.set_GroupName(name)
    add.set_UserName(user)
    legacy_call(api, add)
    for_user = LegacyForUser()
    for_user.set_UserName(user)
    groups = json.loads(legacy_call(api, for_user))["Groups"]["Group"]
    assert [g["GroupName"] for g in groups] == [name]

    get = LegacyGetGroup()
    get.set_GroupName(unique("g"))
    assert "does not exist" in expect_legacy_error(api, get, "EntityNotExist.Group", 404)
    duplicate = LegacyCreateGroup()
    duplicate.set_GroupName(name)
    expect_legacy_error(api, duplicate, "EntityAlreadyExists.Group", 409)
