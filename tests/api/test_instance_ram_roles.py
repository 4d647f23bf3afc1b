"""Instance RAM roles (RAM-9) and metadata options through both official SDK generations:
Attach/Detach/DescribeInstanceRamRole, RamRoleName on RunInstances/CreateInstance, every documented
error, ram:PassRole for a RAM user, ModifyInstanceMetadataOptions and DescribeInstances' MetadataOptions.

Roles are made with the RAM API (unique names: the session server is shared); every assertion is about
instances the test made.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_ram20150501 import models as rm
from alibabacloud_ram20150501.client import Client as RamClient
from aliyunsdkecs.request.v20140526.AttachInstanceRamRoleRequest import (
    AttachInstanceRamRoleRequest as LegacyAttach,
)
from aliyunsdkecs.request.v20140526.DescribeInstanceRamRoleRequest import (
    DescribeInstanceRamRoleRequest as LegacyDescribe,
)
from aliyunsdkecs.request.v20140526.DetachInstanceRamRoleRequest import (
    DetachInstanceRamRoleRequest as LegacyDetach,
)
from aliyunsdkecs.request.v20140526.ModifyInstanceMetadataOptionsRequest import (
    ModifyInstanceMetadataOptionsRequest as LegacyModifyMetadata,
)
from aliyunsdkecs.request.v20140526.RunInstancesRequest import RunInstancesRequest as LegacyRun

from secplane.store import instance_roles as role_store
from secplane.store.ram_entities import find_role
from secplane.testing import RunningServer
from tests.api.test_instances import G7, UBUNTU, Net, World
from tests.api.test_prefix_lists import expect_error, expect_legacy_error
from tests.conftest import legacy_call, server_db

REGION = "cn-hangzhou"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


def assume(effect: str = "Allow", **principal: list[str]) -> dict[str, Any]:
    """A trust statement: ``assume(Service=["ecs.aliyuncs.com"])``."""
    return {"Action": "sts:AssumeRole", "Effect": effect, "Principal": principal}


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Action": action, "Effect": "Allow", "Resource": resource}


ECS_TRUST = document(assume(Service=["ecs.aliyuncs.com"]))


def unique(prefix: str = "role") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_role(running: RunningServer, trust: dict[str, Any] | None = None, name: str | None = None) -> str:
    """A role (ECS-trusted unless ``trust`` says otherwise), made through the RAM API."""
    name = name or unique()
    text = json.dumps(trust or ECS_TRUST)
    request = rm.CreateRoleRequest(role_name=name, assume_role_policy_document=text)
    RamClient(running.tea_config()).create_role(request)
    return name


def grant(ram: RamClient, user: str, *statements: dict[str, Any]) -> None:
    """A new custom policy of ``statements``, attached to the user."""
    name = unique("policy")
    text = json.dumps(document(*statements))
    ram.create_policy(rm.CreatePolicyRequest(policy_name=name, policy_document=text))
    ram.attach_policy_to_user(
        rm.AttachPolicyToUserRequest(policy_type="Custom", policy_name=name, user_name=user)
    )


def attach(ecs: Client, role: str, instance_ids: list[str] | str, **kw: Any) -> Any:
    ids = instance_ids if isinstance(instance_ids, str) else json.dumps(instance_ids)
    request = m.AttachInstanceRamRoleRequest(region_id=REGION, ram_role_name=role, instance_ids=ids, **kw)
    return ecs.attach_instance_ram_role(request).body


def detach(ecs: Client, instance_ids: list[str], role: str | None = None) -> Any:
    request = m.DetachInstanceRamRoleRequest(
        region_id=REGION, instance_ids=json.dumps(instance_ids), ram_role_name=role
    )
    return ecs.detach_instance_ram_role(request).body


def describe(ecs: Client, instance_ids: list[str] | None = None, role: str | None = None, **kw: Any) -> Any:
    request = m.DescribeInstanceRamRoleRequest(
        region_id=REGION,
        instance_ids=json.dumps(instance_ids) if instance_ids else None,
        ram_role_name=role,
        **kw,
    )
    return ecs.describe_instance_ram_role(request).body


def roles(ecs: Client, instance_ids: list[str]) -> dict[str, str]:
    body = describe(ecs, instance_ids, page_size=50)
    return {s.instance_id: s.ram_role_name for s in body.instance_ram_role_sets.instance_ram_role_set}


@pytest.fixture(scope="module")
def world(api: RunningServer) -> World:
    return World(api)


@pytest.fixture(scope="module")
def net(world: World) -> Net:
    return world.network()


@pytest.fixture(scope="module")
def group(world: World, net: Net) -> str:
    return world.group(net.vpc_id)


@pytest.fixture(scope="module")
def classic(world: World) -> str:
    """A classic-network instance (its own classic group: other tests may have made the default one)."""
    (instance_id,) = world.run(None, [world.group()])
    return instance_id


# ---------------------------------------------------------------- the three actions


def test_attach_describe_detach(world: World, net: Net, group: str) -> None:
    role = make_role(world.running)
    a, b = world.run(net, [group], amount=2)
    body = attach(world.ecs, role, [a, b])
    assert (body.ram_role_name, body.total_count, body.fail_count) == (role, 2, 0)
    results = body.attach_instance_ram_role_results.attach_instance_ram_role_result
    assert sorted((r.instance_id, r.success, r.code, r.message) for r in results) == sorted(
        [(a, True, "200", "success"), (b, True, "200", "success")]
    )
    assert roles(world.ecs, [a, b]) == {a: role, b: role}
    by_role = describe(world.ecs, role=role)
    assert by_role.region_id == REGION and by_role.total_count == 2
    assert attach(world.ecs, role, [a]).fail_count == 0  # the same role again: nothing to do

    body = detach(world.ecs, [a], role)
    (result,) = body.detach_instance_ram_role_results.detach_instance_ram_role_result
    assert (result.instance_id, result.success, result.code) == (a, True, "200")
    assert [
        (s.instance_id, s.ram_role_name) for s in result.instance_ram_role_sets.instance_ram_role_set
    ] == [(a, role)]
    assert roles(world.ecs, [a, b]) == {b: role}
    detach(world.ecs, [b])  # without RamRoleName: whatever role it holds
    assert roles(world.ecs, [a, b]) == {}
    assert describe(world.ecs, role=role).total_count == 0


def test_describe_pages_and_filters(world: World, net: Net, group: str) -> None:
    first, second = make_role(world.running), make_role(world.running)
    ids = world.run(net, [group], amount=3)
    attach(world.ecs, first, ids[:2])
    attach(world.ecs, second, ids[2:])
    page = describe(world.ecs, role=first, page_size=1, page_number=2)
    assert page.total_count == 2 and len(page.instance_ram_role_sets.instance_ram_role_set) == 1
    both = describe(world.ecs, ids, role=second)
    assert [(s.instance_id, s.ram_role_name) for s in both.instance_ram_role_sets.instance_ram_role_set] == [
        (ids[2], second)
    ]
    assert describe(world.ecs, role=first, page_number=9).instance_ram_role_sets.instance_ram_role_set == []


def test_one_role_per_instance_replace_is_detach_then_attach(world: World, net: Net, group: str) -> None:
    first, second = make_role(world.running), make_role(world.running)
    held, free = world.run(net, [group], amount=2)
    attach(world.ecs, first, [held])
    body = attach(world.ecs, second, [held, free])
    assert (body.total_count, body.fail_count) == (2, 1)
    outcome = {
        r.instance_id: r for r in body.attach_instance_ram_role_results.attach_instance_ram_role_result
    }
    assert outcome[held].success is False and outcome[held].code == "InvalidRamRole.AlreadyAttached"
    assert first in outcome[held].message
    assert outcome[free].success is True
    assert roles(world.ecs, [held, free]) == {held: first, free: second}
    # detaching a role the instance does not hold fails that instance only
    body = detach(world.ecs, [held], second)
    (result,) = body.detach_instance_ram_role_results.detach_instance_ram_role_result
    assert (result.success, result.code, body.fail_count) == (False, "InvalidRamRole.NotFound", 1)
    detach(world.ecs, [held], first)
    attach(world.ecs, second, [held])
    assert roles(world.ecs, [held, free]) == {held: second, free: second}
    body = detach(world.ecs, [held, held])  # a repeated id counts once
    assert body.total_count == 1 and body.fail_count == 0
    assert detach(world.ecs, [held]).fail_count == 1  # nothing left to detach


def test_legacy_sdk(world: World, net: Net, group: str) -> None:
    running = world.running
    role = make_role(running)
    (instance_id,) = world.run(net, [group])
    request = LegacyAttach()
    request.set_RamRoleName(role)
    request.set_InstanceIds(json.dumps([instance_id]))
    body = json.loads(legacy_call(running, request))
    assert body["TotalCount"] == 1 and body["FailCount"] == 0
    assert body["AttachInstanceRamRoleResults"]["AttachInstanceRamRoleResult"][0]["Success"] is True

    request = LegacyDescribe()
    request.set_InstanceIds(json.dumps([instance_id]))
    body = json.loads(legacy_call(running, request))
    assert body["InstanceRamRoleSets"]["InstanceRamRoleSet"] == [
        {"InstanceId": instance_id, "RamRoleName": role}
    ]
    xml = legacy_call(running, request, fmt="XML").decode()
    assert f"<RamRoleName>{role}</RamRoleName>" in xml

    request = LegacyDetach()
    request.set_InstanceIds(json.dumps([instance_id]))
    request.set_RamRoleName(role)
    body = json.loads(legacy_call(running, request))
    assert body["DetachInstanceRamRoleResults"]["DetachInstanceRamRoleResult"][0]["Success"] is True
    assert roles(world.ecs, [instance_id]) == {}

    request = LegacyAttach()
    request.set_RamRoleName(unique("missing"))
    request.set_InstanceIds(json.dumps([instance_id]))
    assert "RAMRoleName" in expect_legacy_error(running, request, "InvalidRamRole.NotFound", 404)


# ---------------------------------------------------------------- RamRoleName when creating


def test_run_and_create_instances_with_a_role(world: World, net: Net, group: str) -> None:
    role = make_role(world.running)
    ids = world.run(net, [group], amount=2, ram_role_name=role)
    created = world.ecs.create_instance(
        m.CreateInstanceRequest(
            region_id=REGION,
            image_id=UBUNTU,
            instance_type=G7,
            v_switch_id=net.vswitch_id,
            security_group_id=group,
            ram_role_name=role,
        )
    ).body.instance_id
    assert roles(world.ecs, [*ids, created]) == {ids[0]: role, ids[1]: role, created: role}

    request = LegacyRun()
    request.set_ImageId(UBUNTU)
    request.set_InstanceType(G7)
    request.set_VSwitchId(net.vswitch_id)
    request.set_SecurityGroupId(group)
    request.set_RamRoleName(role)
    legacy_id = json.loads(legacy_call(world.running, request))["InstanceIdSets"]["InstanceIdSet"][0]
    assert roles(world.ecs, [legacy_id]) == {legacy_id: role}


def test_create_errors(world: World, net: Net, group: str) -> None:
    untrusting = make_role(world.running, document(assume(RAM=[f"acs:ram::{world.running.account_id}:root"])))
    expect_error(
        lambda: world.run(net, [group], ram_role_name=unique("missing")), "InvalidRamRole.NotFound", 404
    )
    expect_error(lambda: world.run(net, [group], ram_role_name=untrusting), "InvalidRamRole.NotEcsRole", 401)
    ecs_role = make_role(world.running)
    expect_error(
        lambda: world.run(None, [world.group()], ram_role_name=ecs_role),
        "InvalidNetworkType.MismatchRamRole",
        403,
    )
    before = {i.instance_id for i in world.instances(v_switch_id=net.vswitch_id)}
    expect_error(
        lambda: world.run(net, [group], amount=2, ram_role_name=untrusting), "InvalidRamRole.NotEcsRole", 401
    )
    assert {i.instance_id for i in world.instances(v_switch_id=net.vswitch_id)} == before  # nothing made


# ---------------------------------------------------------------- errors of the three actions


def test_parameter_errors(world: World, net: Net, group: str, classic: str) -> None:
    ecs = world.ecs
    role = make_role(world.running)
    (instance_id,) = world.run(net, [group])
    expect_error(lambda: attach(ecs, "", [instance_id]), "MissingParameter.RamRoleName")
    expect_error(lambda: attach(ecs, role, ""), "MissingParameter.InstanceIds")
    for bad in ('["i-1"', '{"a": 1}', "[1, 2]", json.dumps([f"i-{n}" for n in range(101)])):
        expect_error(functools.partial(attach, ecs, role, bad), "InvalidInstanceIds.Malformed")
    expect_error(lambda: attach(ecs, role, [instance_id], policy="x" * 1025), "InvalidParameter")
    expect_error(lambda: attach(ecs, role, [instance_id], policy="{not json"), "InvalidParameter")
    expect_error(lambda: attach(ecs, unique("missing"), [instance_id]), "InvalidRamRole.NotFound", 404)
    untrusting = make_role(world.running, document(assume(Service=["fc.aliyuncs.com"])))
    expect_error(lambda: attach(ecs, untrusting, [instance_id]), "InvalidRamRole.NotEcsRole", 404)
    service = ["ecs.aliyuncs.com"]
    denying = make_role(world.running, document(assume(Service=service), assume("Deny", Service=service)))
    expect_error(lambda: attach(ecs, denying, [instance_id]), "InvalidRamRole.NotEcsRole", 404)
    # one unknown or classic instance fails the call, and nothing is attached to the others
    expect_error(
        lambda: attach(ecs, role, [instance_id, "i-doesnotexist"]), "InvalidInstanceId.NotFound", 404
    )
    expect_error(lambda: attach(ecs, role, [instance_id, classic]), "InvalidNetworkType.MismatchRamRole", 403)
    assert roles(ecs, [instance_id]) == {}
    expect_error(lambda: detach(ecs, [instance_id], unique("missing")), "InvalidRamRole.NotFound", 404)
    expect_error(lambda: detach(ecs, [classic]), "InvalidNetworkType.MismatchRamRole", 403)
    expect_error(lambda: detach(ecs, ["i-doesnotexist"]), "InvalidInstanceId.NotFound", 404)
    expect_error(lambda: describe(ecs), "InvalidParameter.AllEmpty", 403)
    expect_error(lambda: describe(ecs, role=unique("missing")), "InvalidRamRole.NotFound", 404)
    expect_error(lambda: describe(ecs, ["i-doesnotexist"]), "InvalidInstanceId.NotFound", 404)
    expect_error(lambda: describe(ecs, [classic]), "InvalidNetworkType.MismatchRamRole", 403)
    expect_error(lambda: describe(ecs, role=role, page_size=51), "InvalidParameter")
    other_region = m.DescribeInstanceRamRoleRequest(
        region_id="cn-shanghai", instance_ids=json.dumps([instance_id])
    )
    expect_error(lambda: ecs.describe_instance_ram_role(other_region), "InvalidInstanceId.NotFound", 404)


def test_extra_policy_is_kept_for_the_credentials(world: World, net: Net, group: str) -> None:
    role = make_role(world.running)
    (instance_id,) = world.run(net, [group])
    policy = json.dumps(document(allow("ecs:Describe*")))
    attach(world.ecs, role, [instance_id], policy=policy)
    with server_db(world.running) as conn:
        assert role_store.roles_of(conn, [instance_id])[instance_id].policy == policy


def test_role_in_use_and_deleted_instances(world: World, net: Net, group: str) -> None:
    role = make_role(world.running)
    (instance_id,) = world.run(net, [group], ram_role_name=role, http_tokens="required")
    with server_db(world.running) as conn:
        row = find_role(conn, world.running.account_id, role)
        assert row is not None
        role_id = row.id
        assert role_store.role_in_use(conn, world.running.account_id, role_id)
    world.ecs.delete_instance(m.DeleteInstanceRequest(instance_id=instance_id, force=True))
    with server_db(world.running) as conn:  # the attachment and the options went with the instance
        assert not role_store.role_in_use(conn, world.running.account_id, role_id)
        assert role_store.options_of(conn, [instance_id])[instance_id] == role_store.DEFAULT_OPTIONS


# ---------------------------------------------------------------- ram:PassRole for a RAM user


def test_a_ram_user_needs_pass_role(world: World, net: Net, group: str) -> None:
    running = world.running
    ram = RamClient(running.tea_config())
    role, user = make_role(running), unique("user")
    ram.create_user(rm.CreateUserRequest(user_name=user))
    key = ram.create_access_key(rm.CreateAccessKeyRequest(user_name=user)).body.access_key
    grant(ram, user, allow("ecs:*"))
    as_user = Client(
        running.tea_config(access_key_id=key.access_key_id, access_key_secret=key.access_key_secret)
    )
    (instance_id,) = world.run(net, [group])

    expect_error(lambda: attach(as_user, role, [instance_id]), "InvalidUser.PassRoleForbidden", 403)
    as_user_world = World(running, as_user)
    expect_error(
        lambda: as_user_world.run(net, [group], ram_role_name=role), "InvalidUser.PassRoleForbidden", 403
    )
    assert roles(as_user, [instance_id]) == {}

    grant(ram, user, allow("ram:PassRole", f"acs:ram:*:{running.account_id}:role/{role}"))
    assert attach(as_user, role, [instance_id]).fail_count == 0
    other = make_role(running)  # PassRole covers one role only
    (second,) = world.run(net, [group])
    expect_error(lambda: attach(as_user, other, [second]), "InvalidUser.PassRoleForbidden", 403)
    assert detach(as_user, [instance_id]).fail_count == 0


# ---------------------------------------------------------------- metadata options


def test_metadata_options(world: World, net: Net, group: str) -> None:
    ecs = world.ecs
    plain, hardened = world.run(net, [group], amount=2)
    (made_hardened,) = world.run(net, [group], http_tokens="required", http_put_response_hop_limit=3)

    def options(instance_id: str) -> dict[str, Any]:
        (instance,) = world.instances(instance_ids=json.dumps([instance_id]))
        return dict(instance.metadata_options.to_map())

    default = {
        "HttpEndpoint": "enabled",
        "HttpTokens": "optional",
        "HttpPutResponseHopLimit": 1,
        "InstanceMetadataTags": "disabled",
    }
    assert options(plain) == default
    assert options(made_hardened) == {**default, "HttpTokens": "required", "HttpPutResponseHopLimit": 3}
    ecs.modify_instance_metadata_options(
        m.ModifyInstanceMetadataOptionsRequest(region_id=REGION, instance_id=hardened, http_tokens="required")
    )
    assert options(hardened) == {**default, "HttpTokens": "required"}
    request = LegacyModifyMetadata()
    request.set_InstanceId(plain)
    request.set_HttpEndpoint("disabled")
    legacy_call(world.running, request)
    assert options(plain) == {**default, "HttpEndpoint": "disabled"}
    mine = {plain, hardened, made_hardened}
    required = {i.instance_id for i in world.instances(http_tokens="required")} & mine
    assert required == {hardened, made_hardened}
    assert {i.instance_id for i in world.instances(http_endpoint="disabled")} & mine == {plain}
    assert [
        i.instance_id for i in world.instances(http_tokens="optional", instance_ids=json.dumps([plain]))
    ] == [plain]

    def modify(**kw: Any) -> Any:
        request = m.ModifyInstanceMetadataOptionsRequest(region_id=REGION, **kw)
        return ecs.modify_instance_metadata_options(request)

    expect_error(lambda: modify(instance_id=plain, http_tokens="sometimes"), "InvalidParameter")
    expect_error(lambda: modify(instance_id=plain, http_endpoint="on"), "InvalidParameter")
    expect_error(lambda: modify(instance_id=plain, http_put_response_hop_limit=65), "InvalidParameter")
    expect_error(
        lambda: modify(instance_id="i-doesnotexist", http_tokens="required"),
        "InvalidInstanceId.NotFound",
        404,
    )
    expect_error(lambda: world.run(net, [group], http_tokens="always"), "InvalidParameter")
    expect_error(lambda: world.instances(http_tokens="always"), "InvalidParameter")


def test_on_sqlite_and_postgresql(any_api: RunningServer) -> None:
    """The store paths (locks, upserts, the DescribeInstances filter) on both databases."""
    world = World(any_api)
    net = world.network()
    group = world.group(net.vpc_id)
    role = make_role(any_api)
    ids = world.run(net, [group], amount=2, ram_role_name=role, http_endpoint="disabled")
    assert roles(world.ecs, ids) == dict.fromkeys(ids, role)
    assert detach(world.ecs, ids[:1]).fail_count == 0
    assert attach(world.ecs, role, ids).fail_count == 0
    for tokens in ("required", "optional", "required"):  # the upsert, repeated
        request = m.ModifyInstanceMetadataOptionsRequest(
            region_id=REGION, instance_id=ids[0], http_tokens=tokens
        )
        world.ecs.modify_instance_metadata_options(request)
    required = world.instances(http_tokens="required", instance_ids=json.dumps(ids))
    assert [(i.instance_id, i.metadata_options.http_endpoint) for i in required] == [(ids[0], "disabled")]
