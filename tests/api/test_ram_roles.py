"""RAM roles (RAM-1, RAM-8) and RAM tags on roles and policies, through both official SDK generations."""

from __future__ import annotations

import json
import re
import time
from functools import partial

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client
from aliyunsdkram.request.v20150501.CreateRoleRequest import CreateRoleRequest as LegacyCreateRole
from aliyunsdkram.request.v20150501.ListRolesRequest import ListRolesRequest as LegacyListRoles
from aliyunsdkram.request.v20150501.TagResourcesRequest import TagResourcesRequest as LegacyTag
from sqlalchemy import insert

from secplane.operations.ram.ram_tags import MAX_TAGS
from secplane.operations.ram.roles import MAX_ROLES
from secplane.store.schema import ram_roles
from secplane.testing import RunningServer
from tests.api.test_prefix_lists import expect_error, expect_legacy_error
from tests.api.test_ram_groups import SECONDS, new_policy, ram, unique
from tests.api.test_security_groups import other_account
from tests.conftest import legacy_call, server_db

__all__ = ["ram"]  # the module-scoped client fixture

TRUST = json.dumps(
    {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["ecs.aliyuncs.com"]}}
        ],
    }
)


def new_role(client: Client, **kw: object) -> str:
    name = unique("r")
    client.create_role(m.CreateRoleRequest(role_name=name, assume_role_policy_document=TRUST, **kw))
    return name


def tag(key: str, value: str) -> m.CreateRoleRequestTag:
    return m.CreateRoleRequestTag(key=key, value=value)


# ---------------------------------------------------------------- roles


def test_role_lifecycle(api: RunningServer, ram: Client) -> None:
    name = unique("r")
    created = ram.create_role(
        m.CreateRoleRequest(
            role_name=name, assume_role_policy_document=TRUST, description="ECS admin",
            max_session_duration=7200, tag=[tag("env", "prod")],
        )
    ).body.role  # fmt: skip
    assert (created.role_name, created.description, created.max_session_duration) == (name, "ECS admin", 7200)
    assert created.arn == f"acs:ram::{api.account_id}:role/{name}"
    assert created.assume_role_policy_document == TRUST
    assert created.role_id.isdigit() and re.match(SECONDS, created.create_date)

    got = ram.get_role(m.GetRoleRequest(role_name=name)).body.role
    assert (got.role_id, got.arn, got.is_service_linked_role) == (created.role_id, created.arn, False)
    assert got.role_principal_name == f"{name}@role.{api.account_id}.onaliyunservice.com"
    assert got.allow_console_login is True and got.update_date

    other_trust = TRUST.replace("ecs.aliyuncs.com", "fc.aliyuncs.com")
    updated = ram.update_role(
        m.UpdateRoleRequest(
            role_name=name, new_assume_role_policy_document=other_trust, new_description="changed",
            new_max_session_duration=43200, new_allow_console_login=False,
        )
    ).body.role  # fmt: skip
    assert (updated.assume_role_policy_document, updated.description) == (other_trust, "changed")
    assert (updated.max_session_duration, updated.allow_console_login) == (43200, False)
    ram.update_role(m.UpdateRoleRequest(role_name=name, new_description="only this"))
    got = ram.get_role(m.GetRoleRequest(role_name=name)).body.role
    assert (got.description, got.assume_role_policy_document, got.max_session_duration) == (
        "only this", other_trust, 43200,
    )  # fmt: skip

    listed = {r.role_name: r for r in ram.list_roles(m.ListRolesRequest()).body.roles.role}
    assert [(t.tag_key, t.tag_value) for t in listed[name].tags.tag] == [("env", "prod")]

    ram.delete_role(m.DeleteRoleRequest(role_name=name))
    expect_error(lambda: ram.get_role(m.GetRoleRequest(role_name=name)), "EntityNotExist.Role", 404)
    expect_error(lambda: ram.delete_role(m.DeleteRoleRequest(role_name=name)), "EntityNotExist.Role", 404)


@pytest.mark.parametrize(
    ("request_kw", "code"),
    [
        ({"role_name": "under_score"}, "InvalidParameter.RoleName.InvalidChars"),
        ({"role_name": "r" * 65}, "InvalidParameter.RoleName.Length"),
        ({"description": "d" * 1025}, "InvalidParameter.Description.Length"),
        ({"max_session_duration": 3599}, "InvalidParameter.MaxSessionDuration"),
        ({"max_session_duration": 43201}, "InvalidParameter.MaxSessionDuration"),
        ({"assume_role_policy_document": " " * 6145}, "InvalidParameter.AssumeRolePolicyDocument.Length"),
        ({"assume_role_policy_document": "{not json"}, "MalformedPolicyDocument"),
        ({"tag": [tag("acs:reserved", "x")]}, "InvalidParameter.TagKey"),
    ],
)
def test_create_role_refuses_bad_input(ram: Client, request_kw: dict[str, object], code: str) -> None:
    kw: dict[str, object] = {"role_name": unique("r"), "assume_role_policy_document": TRUST, **request_kw}
    expect_error(lambda: ram.create_role(m.CreateRoleRequest(**kw)), code)


def test_trust_policy_is_validated_as_a_trust_policy(ram: Client) -> None:
    """An identity policy (Resource, no Principal) is not a trust policy; the message names the element."""
    identity = json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    )
    err = expect_error(
        lambda: ram.create_role(
            m.CreateRoleRequest(role_name=unique("r"), assume_role_policy_document=identity)
        ),
        "MalformedPolicyDocument",
    )
    assert "Statement[0]" in err.message
    name = new_role(ram)
    expect_error(
        lambda: ram.update_role(
            m.UpdateRoleRequest(role_name=name, new_assume_role_policy_document=identity)
        ),
        "MalformedPolicyDocument",
    )
    expect_error(
        lambda: ram.update_role(
            m.UpdateRoleRequest(role_name=name, new_assume_role_policy_document="x" * 6145)
        ),
        "InvalidParameter.NewAssumeRolePolicyDocument.Length",
    )
    expect_error(
        lambda: ram.update_role(m.UpdateRoleRequest(role_name=name, new_max_session_duration=100)),
        "InvalidParameter.NewMaxSessionDuration",
    )
    assert ram.get_role(m.GetRoleRequest(role_name=name)).body.role.assume_role_policy_document == TRUST


def test_role_names_are_unique_and_roles_exist(ram: Client) -> None:
    name = new_role(ram)
    expect_error(lambda: new_role_named(ram, name), "EntityAlreadyExists.Role", 409)
    missing = unique("r")
    expect_error(
        lambda: ram.update_role(m.UpdateRoleRequest(role_name=missing, new_description="x")),
        "EntityNotExist.Role",
        404,
    )


def new_role_named(client: Client, name: str) -> None:
    client.create_role(m.CreateRoleRequest(role_name=name, assume_role_policy_document=TRUST))


def test_delete_role_with_policies_conflicts(ram: Client) -> None:
    name, policy = new_role(ram), new_policy(ram)
    attach = {"policy_type": "Custom", "policy_name": policy, "role_name": name}
    ram.attach_policy_to_role(m.AttachPolicyToRoleRequest(**attach))
    expect_error(
        lambda: ram.delete_role(m.DeleteRoleRequest(role_name=name)), "DeleteConflict.Role.Policy", 409
    )
    ram.detach_policy_from_role(m.DetachPolicyFromRoleRequest(**attach))
    ram.delete_role(m.DeleteRoleRequest(role_name=name))


def test_delete_role_used_by_an_instance_conflicts(api: RunningServer, ram: Client) -> None:
    """An ECS instance holding the role (RAM-9) keeps it from being deleted until it is detached."""
    from tests.api.test_instances import World

    world = World(api)
    net = world.network()
    name = new_role(ram)
    (instance_id,) = world.run(net, [world.group(net.vpc_id)], ram_role_name=name)
    expect_error(
        lambda: ram.delete_role(m.DeleteRoleRequest(role_name=name)), "DeleteConflict.Role.Instance", 409
    )
    world.ecs.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    ram.delete_role(m.DeleteRoleRequest(role_name=name))


def test_deleted_role_leaves_no_tags(ram: Client) -> None:
    name = new_role(ram, tag=[tag("team", "a")])
    ram.delete_role(m.DeleteRoleRequest(role_name=name))
    new_role_named(ram, name)
    listed = ram.list_tag_resources(
        m.ListTagResourcesRequest(resource_type="role", resource_names=[name])
    ).body
    assert listed.tag_resources == []


def test_roles_per_account_limit(api: RunningServer) -> None:
    account_id, config = other_account(api)
    now = time.time()
    with server_db(api) as conn:
        conn.execute(
            insert(ram_roles),
            [
                {"id": f"9{account_id[:8]}{i:07d}", "account_id": account_id, "name": f"bulk-{i}",
                 "trust_policy": TRUST, "max_session_duration": 3600, "allow_console_login": True,
                 "created_at": now, "updated_at": now}
                for i in range(MAX_ROLES)
            ],
        )  # fmt: skip
    client = Client(config)
    expect_error(lambda: new_role(client), "LimitExceeded.Role", 409)
    page = client.list_roles(m.ListRolesRequest(max_items=1000)).body
    assert (len(page.roles.role), page.is_truncated) == (MAX_ROLES, False)


def test_list_roles_by_tag_and_page(api: RunningServer) -> None:
    _, config = other_account(api)
    client = Client(config)
    prod = sorted(new_role(client, tag=[tag("env", "prod"), tag("team", "a")]) for _ in range(2))
    new_role(client, tag=[tag("env", "dev")])
    by_tag = client.list_roles(m.ListRolesRequest(tag=[m.ListRolesRequestTag(key="env", value="prod")])).body
    assert [r.role_name for r in by_tag.roles.role] == prod
    by_key = client.list_roles(m.ListRolesRequest(tag=[m.ListRolesRequestTag(key="team")])).body
    assert [r.role_name for r in by_key.roles.role] == prod
    first = client.list_roles(m.ListRolesRequest(max_items=2)).body
    rest = client.list_roles(m.ListRolesRequest(max_items=2, marker=first.marker)).body
    assert (first.is_truncated, len(first.roles.role), rest.is_truncated, len(rest.roles.role)) == (
        True,
        2,
        False,
        1,
    )


# ---------------------------------------------------------------- RAM tags


def _tags(client: Client, resource_type: str, names: list[str], **kw: object) -> list[tuple[str, str, str]]:
    request = m.ListTagResourcesRequest(resource_type=resource_type, resource_names=names, **kw)
    return [
        (t.resource_name, t.tag_key, t.tag_value)
        for t in client.list_tag_resources(request).body.tag_resources
    ]


def test_tag_untag_and_list(ram: Client) -> None:
    first, second = new_role(ram), new_role(ram, tag=[tag("keep", "1")])
    policy = new_policy(ram)
    add = [m.TagResourcesRequestTag(key="env", value="prod"), m.TagResourcesRequestTag(key="cost", value="")]
    ram.tag_resources(m.TagResourcesRequest(resource_type="role", resource_names=[first, second], tag=add))
    ram.tag_resources(m.TagResourcesRequest(resource_type="policy", resource_names=[policy], tag=add[:1]))
    assert _tags(ram, "role", [first]) == [(first, "cost", ""), (first, "env", "prod")]
    assert _tags(ram, "policy", [policy]) == [(policy, "env", "prod")]
    filtered = _tags(ram, "role", [first, second], tag=[m.ListTagResourcesRequestTag(key="keep", value="1")])
    assert {r for r, _, _ in filtered} == {second}

    overwrite = [m.TagResourcesRequestTag(key="env", value="dev")]
    ram.tag_resources(m.TagResourcesRequest(resource_type="role", resource_names=[first], tag=overwrite))
    assert (first, "env", "dev") in _tags(ram, "role", [first])

    ram.untag_resources(
        m.UntagResourcesRequest(resource_type="role", resource_names=[first], tag_keys=["env"])
    )
    assert _tags(ram, "role", [first]) == [(first, "cost", "")]
    ram.untag_resources(
        m.UntagResourcesRequest(resource_type="role", resource_names=[first, second], all=True)
    )
    assert _tags(ram, "role", [first, second]) == []

    page = ram.list_tag_resources(m.ListTagResourcesRequest(resource_type="policy", page_size=1)).body
    assert len(page.tag_resources) <= 1


def test_tag_errors(ram: Client) -> None:
    role = new_role(ram)
    one = [m.TagResourcesRequestTag(key="k", value="v")]

    def request(resource_type: str, name: str, tags: list[m.TagResourcesRequestTag]) -> m.TagResourcesRequest:
        return m.TagResourcesRequest(resource_type=resource_type, resource_names=[name], tag=tags)

    cases = [
        (request("user", role, one), "InvalidParameter.ResourceType", 400),
        (request("role", unique("r"), one), "EntityNotExist.Role", 404),
        (request("policy", "AdministratorAccess", one), "EntityNotExist.Policy", 404),
        (
            request("role", role, [m.TagResourcesRequestTag(key="aliyun-x", value="v")]),
            "InvalidParameter.TagKey",
            400,
        ),
        (
            request("role", role, [m.TagResourcesRequestTag(key="k", value="v" * 129)]),
            "InvalidParameter.TagValue",
            400,
        ),
    ]
    for call, code, status in cases:
        expect_error(partial(ram.tag_resources, call), code, status)
    many = [m.TagResourcesRequestTag(key=f"k{i}", value="v") for i in range(MAX_TAGS)]
    ram.tag_resources(m.TagResourcesRequest(resource_type="role", resource_names=[role], tag=many))
    expect_error(
        lambda: ram.tag_resources(
            m.TagResourcesRequest(
                resource_type="role", resource_names=[role], tag=[m.TagResourcesRequestTag(key="x")]
            )
        ),
        "LimitExceeded.Tag",
        409,
    )
    expect_error(
        lambda: ram.untag_resources(m.UntagResourcesRequest(resource_type="role", resource_names=[role])),
        "InvalidParameter",
    )
    assert len(_tags(ram, "role", [role])) == MAX_TAGS


# ---------------------------------------------------------------- legacy SDK (V1 signatures)


def test_legacy_sdk(api: RunningServer, ram: Client) -> None:
    name = unique("r")
    create = LegacyCreateRole()
    create.set_RoleName(name)
    create.set_AssumeRolePolicyDocument(TRUST)
    create.set_MaxSessionDuration(3600)
    create.set_Tag([{"Key": "via", "Value": "legacy"}])
    role = json.loads(legacy_call(api, create))["Role"]
    assert (role["RoleName"], role["MaxSessionDuration"], role["AllowConsoleLogin"]) == (name, 3600, True)

    listed = json.loads(legacy_call(api, LegacyListRoles()))["Roles"]["Role"]
    mine = next(r for r in listed if r["RoleName"] == name)
    assert "AssumeRolePolicyDocument" not in mine  # lists leave the trust policy out
    assert mine["Tags"]["Tag"] == [{"TagKey": "via", "TagValue": "legacy"}]

    tag_request = LegacyTag()
    tag_request.set_ResourceType("role")
    tag_request.set_ResourceNames([name])
    tag_request.set_Tag([{"Key": "more", "Value": "x"}])
    legacy_call(api, tag_request)
    assert ("more", "x") in [(k, v) for _, k, v in _tags(ram, "role", [name])]

    duplicate = LegacyCreateRole()
    duplicate.set_RoleName(name)
    duplicate.set_AssumeRolePolicyDocument(TRUST)
    expect_legacy_error(api, duplicate, "EntityAlreadyExists.Role", 409)
    bad = LegacyCreateRole()
    bad.set_RoleName(unique("r"))
    bad.set_AssumeRolePolicyDocument('{"Version": "2"}')
    assert "Version" in expect_legacy_error(api, bad, "MalformedPolicyDocument", 400)
