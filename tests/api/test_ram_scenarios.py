"""The ECS security guide's RAM scenarios, end to end through the official RAM and ECS SDKs: groups of
administrators and developers, a company-network deny, moving a user between groups, the default-VPC
deny. Every allowed call succeeds and every denied one is a 403 with Alibaba's AccessDeniedDetail."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_tea_openapi.exceptions import ClientException

from secplane.testing import RunningServer
from tests.api.test_instances import G7, REGION, UBUNTU, World
from tests.ram_helpers import (
    Creds,
    attach_to_group,
    custom_policy,
    ecs,
    make_group,
    make_user,
    ram,
    unique,
)

DEVELOPER_ACTIONS = {
    "Effect": "Allow",
    "Action": ["ecs:StartInstance", "ecs:StopInstance", "ecs:DescribeInstances"],
    "Resource": "*",
}


def denied(call: Any) -> dict[str, Any]:
    """Run ``call``; it must be refused by RAM. Returns the AccessDeniedDetail."""
    with pytest.raises(ClientException) as info:
        call()
    err = info.value
    assert err.status_code == 403, err  # type: ignore[attr-defined]
    assert err.code == "Forbidden.RAM", err  # type: ignore[attr-defined]
    detail: dict[str, Any] = err.data["AccessDeniedDetail"]  # type: ignore[attr-defined]
    return detail


def describe_instances(creds: Creds, api: RunningServer) -> list[str]:
    body = ecs(api, creds).describe_instances(m.DescribeInstancesRequest(region_id=REGION)).body
    return [i.instance_id for i in body.instances.instance]


def create_group_as(creds: Creds, api: RunningServer) -> str:
    request = m.CreateSecurityGroupRequest(region_id=REGION)
    return ecs(api, creds).create_security_group(request).body.security_group_id


@pytest.fixture(scope="module")
def world(api: RunningServer) -> World:
    return World(api)


def test_sysadmins_can_do_everything_developers_only_their_three_actions(
    api: RunningServer, world: World
) -> None:
    admin_name, dev_name = unique("admin"), unique("dev")
    admin, dev = make_user(api, admin_name), make_user(api, dev_name)
    sysadmins = unique("SysAdmins")
    make_group(api, sysadmins, admin_name)
    attach_to_group(api, sysadmins, "AdministratorAccess", "System")
    developers = make_group(api, unique("Developers"), dev_name)
    attach_to_group(api, developers, custom_policy(api, unique("dev-actions"), DEVELOPER_ACTIONS))

    net = world.network()
    instance_id = world.run(net, [world.group(net.vpc_id)])[0]

    assert create_group_as(admin, api).startswith("sg-")
    ram(api, admin).create_user(ram_models.CreateUserRequest(user_name=unique("made-by-admin")))

    assert instance_id in describe_instances(dev, api)
    client = ecs(api, dev)
    client.stop_instance(m.StopInstanceRequest(instance_id=instance_id))
    client.start_instance(m.StartInstanceRequest(instance_id=instance_id))
    detail = denied(lambda: create_group_as(dev, api))
    assert detail["AuthAction"] == "ecs:CreateSecurityGroup"
    assert detail["NoPermissionType"] == "ImplicitDeny"
    assert detail["AuthPrincipalType"] == "SubUser"
    assert detail["AuthPrincipalDisplayName"] == dev_name
    # Describe* without permission is a 403 too (Alibaba, since 2025-12-20).
    denied(lambda: client.describe_security_groups(m.DescribeSecurityGroupsRequest(region_id=REGION)))
    denied(lambda: client.delete_instance(m.DeleteInstanceRequest(instance_id=instance_id, force=True)))
    with pytest.raises(ClientException) as info:
        ram(api, dev).create_user(ram_models.CreateUserRequest(user_name=unique("nope")))
    assert (info.value.status_code, info.value.code) == (403, "NoPermission")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("company_cidr", "allowed"), [("10.0.0.0/8", False), ("127.0.0.0/8", True)])
def test_group_wide_deny_outside_the_company_network(
    api: RunningServer, company_cidr: str, allowed: bool
) -> None:
    name = unique("dev")
    creds = make_user(api, name)
    group = make_group(api, unique("Developers"), name)
    attach_to_group(api, group, custom_policy(api, unique("dev-actions"), DEVELOPER_ACTIONS))
    outside = custom_policy(
        api,
        unique("office-only"),
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"acs:SourceIp": [company_cidr, "fd00::/8"]}},
        },
    )
    attach_to_group(api, group, outside)
    if allowed:  # the tests call from 127.0.0.1
        describe_instances(creds, api)
    else:
        detail = denied(lambda: describe_instances(creds, api))
        assert detail["NoPermissionType"] == "ExplicitDeny"


def test_moving_a_user_between_groups_moves_its_rights_at_the_next_call(api: RunningServer) -> None:
    name = unique("mover")
    creds = make_user(api, name)
    admins = make_group(api, unique("SysAdmins"), name)
    attach_to_group(api, admins, "AdministratorAccess", "System")
    developers = make_group(api, unique("Developers"))
    attach_to_group(api, developers, custom_policy(api, unique("dev-actions"), DEVELOPER_ACTIONS))
    create_group_as(creds, api)

    client = ram(api)
    client.remove_user_from_group(ram_models.RemoveUserFromGroupRequest(group_name=admins, user_name=name))
    client.add_user_to_group(ram_models.AddUserToGroupRequest(group_name=developers, user_name=name))
    denied(lambda: create_group_as(creds, api))
    describe_instances(creds, api)

    client.remove_user_from_group(
        ram_models.RemoveUserFromGroupRequest(group_name=developers, user_name=name)
    )
    denied(lambda: describe_instances(creds, api))


def test_a_default_vpc_deny_stops_run_instances_without_a_vswitch(api: RunningServer, world: World) -> None:
    net = world.network()
    group_id = world.group(net.vpc_id)
    classic_group = world.group()
    name = unique("builder")
    everything = custom_policy(
        api, unique("ecs-all"), {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}
    )
    no_default_vpc = custom_policy(
        api,
        unique("no-default-vpc"),
        {
            "Effect": "Deny",
            "Action": ["ecs:RunInstances", "ecs:CreateInstance"],
            "Resource": "*",
            "Condition": {"Bool": {"vpc:CreateDefaultVpc": "true"}},
        },
    )
    creds = make_user(api, name, custom=(everything, no_default_vpc))
    client = ecs(api, creds)

    def run(vswitch_id: str | None, group: str) -> list[str]:
        request = m.RunInstancesRequest(
            region_id=REGION, image_id=UBUNTU, instance_type=G7, v_switch_id=vswitch_id,
            security_group_ids=[group],
        )  # fmt: skip
        return list(client.run_instances(request).body.instance_id_sets.instance_id_set)

    assert len(run(net.vswitch_id, group_id)) == 1
    detail = denied(lambda: run(None, classic_group))
    assert (detail["AuthAction"], detail["NoPermissionType"]) == ("ecs:RunInstances", "ExplicitDeny")


def test_denial_detail_decodes_to_the_action_and_resource(api: RunningServer) -> None:
    import base64

    creds = make_user(api, unique("nobody"))
    detail = denied(lambda: create_group_as(creds, api))
    decoded = json.loads(base64.b64decode(detail["EncodedDiagnosticMessage"]))
    assert decoded["AuthAction"] == "ecs:CreateSecurityGroup"
    assert decoded["AuthResource"] == f"acs:ecs:{REGION}:{api.account_id}:securitygroup/*"


def test_users_manage_their_own_credentials_as_the_security_preference_allows(api: RunningServer) -> None:
    """Without any policy: the password by default, access keys once the account allows it."""
    name = unique("selfserve")
    creds = make_user(api, name)
    root = ram(api)
    root.create_login_profile(ram_models.CreateLoginProfileRequest(user_name=name, password="Initial-Pass-1"))
    own = ram(api, creds)
    own.change_password(
        ram_models.ChangePasswordRequest(old_password="Initial-Pass-1", new_password="Second-Pass-2")
    )
    with pytest.raises(ClientException) as info:
        own.create_access_key(ram_models.CreateAccessKeyRequest())
    assert (info.value.status_code, info.value.code) == (403, "NoPermission")  # type: ignore[attr-defined]
    root.set_security_preference(
        ram_models.SetSecurityPreferenceRequest(allow_user_to_manage_access_keys=True)
    )
    try:
        key = own.create_access_key(ram_models.CreateAccessKeyRequest()).body.access_key
        assert key.access_key_id
        with pytest.raises(ClientException) as info:  # only its own keys
            own.list_access_keys(ram_models.ListAccessKeysRequest(user_name=unique("someone-else")))
        assert info.value.status_code == 403  # type: ignore[attr-defined]
    finally:
        root.set_security_preference(
            ram_models.SetSecurityPreferenceRequest(allow_user_to_manage_access_keys=False)
        )
