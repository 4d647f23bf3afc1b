"""Security-group membership (SG-9, SG-11, SG-12) through both official SDKs: Join/Leave for instances
and ENIs, ModifyInstanceAttribute's replacement set, the limits, managed groups, and the limits under
concurrent calls on SQLite and PostgreSQL, in one process and in two."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkecs.request.v20140526.JoinSecurityGroupRequest import JoinSecurityGroupRequest as LegacyJoin
from aliyunsdkecs.request.v20140526.LeaveSecurityGroupRequest import LeaveSecurityGroupRequest as LegacyLeave
from aliyunsdkecs.request.v20140526.ModifyInstanceAttributeRequest import (
    ModifyInstanceAttributeRequest as LegacyModifyInstance,
)
from sqlalchemy import insert

from secplane.store.schema import network_interfaces, sg_members
from secplane.testing import RunningServer
from tests.api.test_instances import REGION, World, expect_error, expect_legacy_error, revision, store
from tests.conftest import legacy_call
from tests.store.test_multiprocess import database_url, fresh_pg, two_servers  # noqa: F401  (fixtures)

MANAGED = ("InvalidOperation.ResourceManagedByCloudProduct", 403)


@pytest.fixture(scope="module")
def world(api: RunningServer, ecs: Client) -> World:
    return World(api, ecs)


def join(client: Client, group: str, instance: str | None = None, eni: str | None = None, **kw: Any) -> Any:
    request = m.JoinSecurityGroupRequest(
        security_group_id=group, instance_id=instance, network_interface_id=eni, **kw
    )
    return client.join_security_group(request)


def leave(client: Client, group: str, instance: str | None = None, eni: str | None = None, **kw: Any) -> Any:
    request = m.LeaveSecurityGroupRequest(
        security_group_id=group, instance_id=instance, network_interface_id=eni, **kw
    )
    return client.leave_security_group(request)


def replace(client: Client, instance_id: str, groups: list[str]) -> Any:
    request = m.ModifyInstanceAttributeRequest(instance_id=instance_id, security_group_ids=groups)
    return client.modify_instance_attribute(request)


# ---------------------------------------------------------------- instances


def test_join_and_leave_an_instance(world: World, api: RunningServer) -> None:
    net = world.network()
    first, second = world.group(net.vpc_id), world.group(net.vpc_id)
    (instance_id,) = world.run(net, [first])
    before = revision(api, second)
    join(world.ecs, second, instance_id)  # the Tea SDK: no RegionId needed with InstanceId
    assert world.groups_of(instance_id) == [first, second] and revision(api, second) > before
    assert [i.instance_id for i in world.instances(security_group_id=second)] == [instance_id]
    expect_error(lambda: join(world.ecs, second, instance_id), "InvalidInstanceId.AlreadyExists", 403)
    leave(world.ecs, first, instance_id, region_id=REGION)
    assert world.groups_of(instance_id) == [second] and world.instances(security_group_id=first) == []
    expect_error(lambda: leave(world.ecs, first, instance_id), "InstanceNotInSecurityGroup", 403)
    expect_error(lambda: leave(world.ecs, second, instance_id), "InstanceLastSecurityGroup", 403)
    expect_error(
        lambda: join(world.ecs, "sg-bp1nothere", instance_id), "InvalidSecurityGroupId.NotFound", 404
    )
    expect_error(lambda: join(world.ecs, first, "i-bp1nothere"), "InvalidInstanceId.NotFound", 404)
    expect_error(
        lambda: join(world.ecs, first, instance_id, region_id="cn-shanghai"),
        "InvalidInstanceId.NotFound",
        404,
    )
    expect_error(lambda: join(world.ecs, first), "MissingParameter")
    world.ecs.stop_instance(m.StopInstanceRequest(instance_id=instance_id))
    join(world.ecs, first, instance_id)  # Stopped instances change groups too
    assert world.groups_of(instance_id) == [second, first]


def test_legacy_join_and_leave(world: World, api: RunningServer) -> None:
    net = world.network()
    first, second = world.group(net.vpc_id), world.group(net.vpc_id)
    (instance_id,) = world.run(net, [first])
    request = LegacyJoin()
    request.set_InstanceId(instance_id)
    request.set_SecurityGroupId(second)
    legacy_call(api, request)
    expect_legacy_error(api, request, "InvalidInstanceId.AlreadyExists", 403)
    request = LegacyLeave()
    request.set_InstanceId(instance_id)
    request.set_SecurityGroupId(first)
    legacy_call(api, request)
    assert world.groups_of(instance_id) == [second]
    expect_legacy_error(api, request, "InstanceNotInSecurityGroup", 403)


def test_join_checks_network_limits_and_types(world: World) -> None:
    net = world.network()
    other = world.network()
    home = world.group(net.vpc_id)
    (instance_id,) = world.run(net, [home])
    expect_error(
        lambda: join(world.ecs, world.group(other.vpc_id), instance_id), "InvalidInstanceId.Mismatch"
    )
    expect_error(lambda: join(world.ecs, world.group(), instance_id), "InvalidInstanceId.Mismatch")
    expect_error(
        lambda: join(world.ecs, world.group(net.vpc_id, kind="enterprise"), instance_id),
        "EnterpriseGroupLimited.MutliGroupType",
        403,
    )
    for _ in range(4):
        join(world.ecs, world.group(net.vpc_id), instance_id)
    assert len(world.groups_of(instance_id)) == 5
    expect_error(
        lambda: join(world.ecs, world.group(net.vpc_id), instance_id), "InstanceSecurityGroupLimitExceeded"
    )


def test_classic_instances_join_classic_groups_only(world: World) -> None:
    classic = world.group(region="cn-qingdao")
    (instance_id,) = world.run(None, [classic], region="cn-qingdao")
    another = world.group(region="cn-qingdao")
    join(world.ecs, another, instance_id)
    assert world.groups_of(instance_id) == [classic, another]
    net = world.network(region="cn-qingdao", zone="cn-qingdao-b")
    in_vpc = world.group(net.vpc_id, region="cn-qingdao")
    expect_error(lambda: join(world.ecs, in_vpc, instance_id), "InvalidInstanceId.Mismatch")
    expect_error(
        lambda: replace(world.ecs, instance_id, [in_vpc]), "InvalidSecurityGroupVpc.NotBelongToOneVpc", 404
    )
    replace(world.ecs, instance_id, [another])
    assert world.groups_of(instance_id) == [another]


# ---------------------------------------------------------------- ENIs


def test_join_and_leave_an_eni_needs_the_region(world: World) -> None:
    net = world.network()
    first, second = world.group(net.vpc_id), world.group(net.vpc_id)
    eni = world.ecs.create_network_interface(
        m.CreateNetworkInterfaceRequest(region_id=REGION, v_switch_id=net.vswitch_id, security_group_id=first)
    ).body.network_interface_id
    expect_error(lambda: join(world.ecs, second, eni=eni), "MissingParameter.RegionId")
    join(world.ecs, second, eni=eni, region_id=REGION)
    assert world.enis(network_interface_id=[eni])[0].security_group_ids.security_group_id == [first, second]
    (instance_id,) = world.run(net, [first])
    expect_error(
        lambda: join(world.ecs, second, instance_id, eni, region_id=REGION),
        "InvalidParam.EniIdAndInstanceId.Conflict",
        403,
    )
    other = world.network()
    expect_error(
        lambda: join(world.ecs, world.group(other.vpc_id), eni=eni, region_id=REGION),
        "InvalidOperation.VpcMismatch",
        403,
    )
    leave(world.ecs, first, eni=eni, region_id=REGION)
    expect_error(
        lambda: leave(world.ecs, second, eni=eni, region_id=REGION), "InstanceLastSecurityGroup", 403
    )
    expect_error(
        lambda: join(world.ecs, first, eni="eni-bp1nothere", region_id=REGION), "InvalidEniId.NotFound", 404
    )
    assert world.enis(network_interface_id=[eni])[0].security_group_ids.security_group_id == [second]


# ---------------------------------------------------------------- ModifyInstanceAttribute


def test_modify_instance_attribute_replaces_the_whole_set(world: World, api: RunningServer) -> None:
    net = world.network()
    a, b, c = (world.group(net.vpc_id) for _ in range(3))
    (instance_id,) = world.run(net, [a, b])
    before = {g: revision(api, g) for g in (a, b, c)}
    replace(world.ecs, instance_id, [c, b])
    assert world.groups_of(instance_id) == [c, b]
    assert revision(api, a) > before[a] and revision(api, c) > before[c]
    expect_error(
        lambda: replace(world.ecs, instance_id, [a, a]), "InvalidParameter.SecurityGroupIdRepeated", 404
    )
    other = world.network()
    expect_error(
        lambda: replace(world.ecs, instance_id, [a, world.group(other.vpc_id)]),
        "InvalidSecurityGroupVpc.NotBelongToOneVpc",
        404,
    )
    expect_error(
        lambda: replace(world.ecs, instance_id, [world.group()]),
        "InvalidSecurityGroupType.NotSupportClassic",
        404,
    )
    six = [world.group(net.vpc_id) for _ in range(6)]
    expect_error(lambda: replace(world.ecs, instance_id, six), "InstanceSecurityGroupLimitExceeded")
    mixed = [a, world.group(net.vpc_id, kind="enterprise")]
    expect_error(lambda: replace(world.ecs, instance_id, mixed), "EnterpriseGroupLimited.MutliGroupType", 403)
    expect_error(
        lambda: replace(world.ecs, instance_id, ["sg-bp1nothere"]), "InvalidSecurityGroupId.NotFound", 404
    )
    assert world.groups_of(instance_id) == [c, b]
    legacy = LegacyModifyInstance()
    legacy.set_InstanceId(instance_id)
    legacy.set_SecurityGroupIdss([a])
    legacy_call(api, legacy)
    assert world.groups_of(instance_id) == [a]


# ---------------------------------------------------------------- capacity of a group


def _fill(running: RunningServer, group_id: str, members: int) -> None:
    """Put ``members`` placeholder ENIs into a group straight in the store (2,000 real instances would
    only slow the test down; the limit check counts member rows either way)."""
    now = time.time()
    base = {
        "account_id": running.account_id,
        "region_id": REGION,
        "zone_id": "cn-hangzhou-h",
        "vpc_id": "vpc-fill",
        "vswitch_id": "vsw-fill",
        "eni_type": "Secondary",
        "status": "Available",
        "instance_id": "",
        "device_index": 0,
        "mac": "00:16:3e:00:00:00",
        "resource_group_id": "rg-fill",
        "service_managed": False,
        "service_id": 0,
        "delete_on_release": False,
        "created_at": now,
    }
    rows = [
        {**base, "id": f"eni-fill{secrets.token_hex(8)}", "private_ip": f"10.0.{i // 256}.{i % 256}"}
        for i in range(members)
    ]
    with store(running) as conn:
        conn.execute(insert(network_interfaces), rows)
        conn.execute(
            insert(sg_members),
            [
                {"security_group_id": group_id, "network_interface_id": r["id"], "created_at": now}
                for r in rows
            ],
        )


def test_a_normal_group_holds_2000_private_addresses(world: World, api: RunningServer) -> None:
    net = world.network()
    home, full = world.group(net.vpc_id), world.group(net.vpc_id)
    _fill(api, full, 1999)
    (instance_id,) = world.run(net, [home])
    join(world.ecs, full, instance_id)
    (another,) = world.run(net, [home])
    expect_error(lambda: join(world.ecs, full, another), "SecurityGroupInstanceLimitExceeded", 403)
    expect_error(lambda: world.run(net, [full]), "SecurityGroupInstanceLimitExceed", 403)
    expect_error(lambda: replace(world.ecs, another, [full]), "SecurityGroupInstanceLimitExceed", 403)
    leave(world.ecs, full, instance_id)
    assert len(world.run(net, [full])) == 1
    almost = world.group(net.vpc_id)
    _fill(api, almost, 1998)
    expect_error(lambda: world.run(net, [almost], amount=3), "SecurityGroupInstanceLimitExceed", 403)
    assert len(world.run(net, [almost], amount=2)) == 2


# ---------------------------------------------------------------- managed groups (SG-12)


def test_managed_groups_are_read_only_to_users(world: World) -> None:
    service_id = 3_000_000 + secrets.randbelow(10**8)
    service = world.service_client(service_id)
    net = world.network()
    mine = world.group(net.vpc_id)
    managed = world.group(net.vpc_id, client=service, managed=True)
    (instance_id,) = world.run(net, [mine])
    expect_error(lambda: join(world.ecs, managed, instance_id), *MANAGED)
    expect_error(lambda: replace(world.ecs, instance_id, [managed]), *MANAGED)
    expect_error(lambda: world.run(net, [managed]), *MANAGED)
    create = m.CreateInstanceRequest(
        region_id=REGION, image_id="centos_7_9_x64_20G_alibase_20230817.vhd", instance_type="ecs.c7.large",
        v_switch_id=net.vswitch_id, security_group_id=managed,
    )  # fmt: skip
    expect_error(lambda: world.ecs.create_instance(create), *MANAGED)
    join(service, managed, instance_id)  # the owning service may
    assert world.groups_of(instance_id) == [mine, managed]
    expect_error(lambda: leave(world.ecs, managed, instance_id), *MANAGED)
    expect_error(lambda: replace(world.ecs, instance_id, [mine]), *MANAGED)
    leave(service, managed, instance_id)
    assert world.groups_of(instance_id) == [mine]
    other_service = world.service_client(service_id + 1)
    expect_error(lambda: join(other_service, managed, instance_id), *MANAGED)


# ---------------------------------------------------------------- concurrency


def _race_to_join(clients: list[Client], instance_id: str, groups: list[str]) -> tuple[int, list[str]]:
    """Join the instance to every group at once; (successes, error codes)."""

    def attempt(i: int) -> str:
        try:
            join(clients[i % len(clients)], groups[i], instance_id)
            return "ok"
        except ClientException as err:
            return f"{err.code}/{err.status_code}"

    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        results = list(pool.map(attempt, range(len(groups))))
    return results.count("ok"), [r for r in results if r != "ok"]


def test_sixteen_concurrent_joins_end_with_five_groups(any_api: RunningServer) -> None:
    world = World(any_api)
    net = world.network()
    (instance_id,) = world.run(net, [world.group(net.vpc_id)])
    groups = [world.group(net.vpc_id) for _ in range(16)]
    joined, errors = _race_to_join([Client(any_api.tea_config()) for _ in range(4)], instance_id, groups)
    assert joined == 4
    assert errors == ["InstanceSecurityGroupLimitExceeded/400"] * 12
    assert len(world.groups_of(instance_id)) == 5


def test_concurrent_joins_across_two_server_processes(fresh_pg: str | None) -> None:  # noqa: F811
    with two_servers(fresh_pg) as (first, second):
        world = World(first)
        net = world.network()
        (instance_id,) = world.run(net, [world.group(net.vpc_id)])
        groups = [world.group(net.vpc_id) for _ in range(16)]
        clients = [Client(first.tea_config()), Client(second.tea_config())]
        joined, errors = _race_to_join(clients, instance_id, groups)
        assert (joined, errors) == (4, ["InstanceSecurityGroupLimitExceeded/400"] * 12)
        assert len(World(second).groups_of(instance_id)) == 5


def test_legacy_membership_error_paths(world: World, api: RunningServer) -> None:
    net = world.network()
    home = world.group(net.vpc_id)
    (instance_id,) = world.run(net, [home])
    join_request = LegacyJoin()
    join_request.set_InstanceId(instance_id)
    join_request.set_SecurityGroupId(world.group(world.network().vpc_id))
    expect_legacy_error(api, join_request, "InvalidInstanceId.Mismatch")
    leave_request = LegacyLeave()
    leave_request.set_InstanceId(instance_id)
    leave_request.set_SecurityGroupId(home)
    expect_legacy_error(api, leave_request, "InstanceLastSecurityGroup", 403)
    modify = LegacyModifyInstance()
    modify.set_InstanceId(instance_id)
    modify.set_SecurityGroupIdss([home, world.group(net.vpc_id, kind="enterprise")])
    expect_legacy_error(api, modify, "EnterpriseGroupLimited.MutliGroupType", 403)
    assert world.groups_of(instance_id) == [home]
