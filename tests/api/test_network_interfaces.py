"""Elastic network interfaces through both official SDKs: create, attach, detach, modify, describe,
delete, and ENIs managed by a cloud service."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest
from alibabacloud_ecs20140526 import models as m
from aliyunsdkecs.request.v20140526.AttachNetworkInterfaceRequest import (
    AttachNetworkInterfaceRequest as LegacyAttach,
)
from aliyunsdkecs.request.v20140526.CreateNetworkInterfaceRequest import (
    CreateNetworkInterfaceRequest as LegacyCreate,
)
from aliyunsdkecs.request.v20140526.DeleteNetworkInterfaceRequest import (
    DeleteNetworkInterfaceRequest as LegacyDelete,
)
from aliyunsdkecs.request.v20140526.DescribeNetworkInterfaceAttributeRequest import (
    DescribeNetworkInterfaceAttributeRequest as LegacyDescribeAttribute,
)
from aliyunsdkecs.request.v20140526.DescribeNetworkInterfacesRequest import (
    DescribeNetworkInterfacesRequest as LegacyDescribe,
)
from aliyunsdkecs.request.v20140526.DetachNetworkInterfaceRequest import (
    DetachNetworkInterfaceRequest as LegacyDetach,
)
from aliyunsdkecs.request.v20140526.ModifyNetworkInterfaceAttributeRequest import (
    ModifyNetworkInterfaceAttributeRequest as LegacyModify,
)

from secplane.testing import RunningServer
from tests.api.test_instances import (
    OTHER_ZONE,
    REGION,
    Net,
    World,
    expect_error,
    expect_legacy_error,
    legacy_json,
    revision,
)
from tests.conftest import legacy_call

ENI_FIELDS = {
    "NetworkInterfaceId",
    "NetworkInterfaceName",
    "Description",
    "Status",
    "Type",
    "VpcId",
    "VSwitchId",
    "ZoneId",
    "InstanceId",
    "PrivateIpAddress",
    "MacAddress",
    "CreationTime",
    "ResourceGroupId",
    "OwnerId",
    "ServiceID",
    "ServiceManaged",
    "DeleteOnRelease",
    "SourceDestCheck",
    "QueueNumber",
    "QueuePairNumber",
    "NetworkInterfaceTrafficMode",
    "SecurityGroupIds",
    "PrivateIpSets",
    "Ipv6Sets",
    "Ipv4PrefixSets",
    "Ipv6PrefixSets",
    "AssociatedPublicIp",
    "Attachment",
    "Tags",
}


@pytest.fixture(scope="module")
def world(api: RunningServer, ecs) -> World:  # type: ignore[no-untyped-def]
    return World(api, ecs)


def create(world: World, net: Net, groups: list[str], **kw: object) -> str:
    request = m.CreateNetworkInterfaceRequest(
        region_id=REGION, v_switch_id=net.vswitch_id, security_group_ids=groups, **kw
    )
    return world.ecs.create_network_interface(request).body.network_interface_id


def test_create_network_interface(world: World, api: RunningServer) -> None:
    net = world.network()
    web, db = world.group(net.vpc_id), world.group(net.vpc_id)
    before = revision(api, web)
    body = world.ecs.create_network_interface(
        m.CreateNetworkInterfaceRequest(
            region_id=REGION, v_switch_id=net.vswitch_id, security_group_ids=[web, db],
            network_interface_name="data", description="the data plane", client_token=uuid.uuid4().hex,
            tag=[m.CreateNetworkInterfaceRequestTag(key="role", value="data")],
        )
    ).body  # fmt: skip
    assert (body.status, body.type, body.vpc_id, body.zone_id) == (
        "Available",
        "Secondary",
        net.vpc_id,
        "cn-hangzhou-h",
    )
    assert body.private_ip_address == "192.168.1.1" and body.security_group_ids.security_group_id == [web, db]
    assert body.private_ip_sets.private_ip_set[0].primary is True and body.owner_id == api.account_id
    assert body.service_managed is False and [(t.tag_key, t.tag_value) for t in body.tags.tag] == [
        ("role", "data")
    ]
    assert revision(api, web) > before
    legacy = LegacyCreate()
    legacy.set_VSwitchId(net.vswitch_id)
    legacy.set_SecurityGroupId(db)
    legacy.set_PrimaryIpAddress("192.168.1.77")
    made = legacy_json(api, legacy)
    assert made["PrivateIpAddress"] == "192.168.1.77" and made["SecurityGroupIds"]["SecurityGroupId"] == [db]
    describe = LegacyDescribe()
    describe.set_NetworkInterfaceIds([body.network_interface_id, made["NetworkInterfaceId"]])
    items = legacy_json(api, describe)["NetworkInterfaceSets"]["NetworkInterfaceSet"]
    assert len(items) == 2 and all(item.keys() >= ENI_FIELDS for item in items)
    data = next(i for i in items if i["NetworkInterfaceName"] == "data")
    assert data["Description"] == "the data plane" and data["Attachment"]["InstanceId"] == ""
    assert len(data["CreationTime"]) == 20 and data["DeleteOnRelease"] is False


def test_create_network_interface_refusals(world: World) -> None:
    net = world.network()
    other = world.network()
    group = world.group(net.vpc_id)
    expect_error(lambda: create(world, net, []), "MissingParameter")
    expect_error(lambda: create(world, net, [group], security_group_id=group), "InvalidParameter.Conflict")
    expect_error(lambda: create(world, net, [world.group(other.vpc_id)]), "InvalidOperation.VpcMismatch", 403)
    expect_error(lambda: create(world, net, [world.group()]), "InvalidSecurityGroupId.NotVpc", 403)
    expect_error(
        lambda: create(world, net, [world.group(net.vpc_id) for _ in range(6)]), "JoinedGroupLimitExceed"
    )
    mixed = [group, world.group(net.vpc_id, kind="enterprise")]
    expect_error(lambda: create(world, net, mixed), "EnterpriseGroupLimited.MutliGroupType", 403)
    expect_error(lambda: create(world, net, ["sg-bp1nothere"]), "InvalidSecurityGroupId.NotFound", 404)
    expect_error(
        lambda: create(world, Net(net.vpc_id, "vsw-bp1nothere", ""), [group]),
        "InvalidVSwitchId.NotFound",
        404,
    )
    expect_error(
        lambda: create(world, net, [group], secondary_private_ip_address_count=2), "UnsupportedParameter"
    )
    expect_error(
        lambda: create(world, net, [group], primary_ip_address="192.168.1.255"),
        "InvalidVSwitchId.IpInvalid",
        403,
    )
    expect_error(lambda: create(world, net, [group], network_interface_name="-x"), "InvalidParameter")
    expect_error(lambda: create(world, net, [group], instance_type="Trunk"), "InvalidParameter")
    create(world, net, [group], primary_ip_address="192.168.1.9")
    expect_error(
        lambda: create(world, net, [group], primary_ip_address="192.168.1.9"),
        "InvalidPrivateIpAddress.Duplicated",
    )
    assert len(world.enis(vpc_id=net.vpc_id)) == 1


def test_attach_and_detach(world: World, api: RunningServer) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    (instance_id,) = world.run(net, [group], instance_type="ecs.g6.large")  # two ENIs at most
    first, second = create(world, net, [group]), create(world, net, [group])
    attach = lambda eni, iid=instance_id: world.ecs.attach_network_interface(  # noqa: E731
        m.AttachNetworkInterfaceRequest(region_id=REGION, instance_id=iid, network_interface_id=eni)
    )
    detach = lambda eni, iid=instance_id: world.ecs.detach_network_interface(  # noqa: E731
        m.DetachNetworkInterfaceRequest(region_id=REGION, instance_id=iid, network_interface_id=eni)
    )
    attach(first)
    (eni,) = world.enis(network_interface_id=[first])
    assert (eni.status, eni.instance_id, eni.attachment.device_index) == ("InUse", instance_id, 1)
    (listed,) = world.instances(instance_ids=json.dumps([instance_id]))
    assert [e.network_interface_id for e in listed.network_interfaces.network_interface][1:] == [first]
    expect_error(lambda: attach(second), "EniPerInstanceLimitExceeded", 403)
    expect_error(lambda: attach(first), "InvalidOperation.InvalidEniState")
    primary = next(e.network_interface_id for e in world.enis(instance_id=instance_id) if e.type == "Primary")
    expect_error(lambda: detach(primary), "InvalidOperation.DetachPrimaryEniNotAllowed")
    expect_error(lambda: detach(second), "InvalidOperation.InvalidEniState")
    expect_error(lambda: attach(second, "i-bp1missing"), "InvalidEcsId.NotFound", 404)
    expect_error(lambda: attach("eni-bp1missing"), "InvalidEniId.NotFound", 404)
    detach(first)
    assert world.enis(network_interface_id=[first])[0].status == "Available"
    world.ecs.stop_instance(m.StopInstanceRequest(instance_id=instance_id))  # Stopped instances take ENIs too
    legacy = LegacyAttach()
    legacy.set_InstanceId(instance_id)
    legacy.set_NetworkInterfaceId(second)
    legacy_call(api, legacy)
    assert world.enis(network_interface_id=[second])[0].instance_id == instance_id
    legacy = LegacyDetach()
    legacy.set_InstanceId(instance_id)
    legacy.set_NetworkInterfaceId(second)
    legacy_call(api, legacy)
    assert world.enis(network_interface_id=[second])[0].status == "Available"


def test_attach_checks_vpc_and_zone(world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    (instance_id,) = world.run(net, [group])
    other = world.network()
    foreign = create(world, other, [world.group(other.vpc_id)])
    elsewhere = Net(net.vpc_id, world.vswitch(net.vpc_id, "192.168.5.0/24", zone=OTHER_ZONE), "")
    far = create(world, elsewhere, [group])
    attach = lambda eni: world.ecs.attach_network_interface(  # noqa: E731
        m.AttachNetworkInterfaceRequest(region_id=REGION, instance_id=instance_id, network_interface_id=eni)
    )
    expect_error(lambda: attach(foreign), "InvalidOperation.VpcMismatch", 403)
    expect_error(lambda: attach(far), "InvalidOperation.AvailabilityZoneMismatch", 403)


def test_modify_network_interface_attribute(world: World, api: RunningServer) -> None:
    net = world.network()
    a, b, c = (world.group(net.vpc_id) for _ in range(3))
    eni = create(world, net, [a])
    before = revision(api, a), revision(api, b)
    world.ecs.modify_network_interface_attribute(
        m.ModifyNetworkInterfaceAttributeRequest(
            region_id=REGION, network_interface_id=eni, security_group_id=[b, c],
            network_interface_name="renamed", description="two groups now", delete_on_release=True,
        )
    )  # fmt: skip
    (found,) = world.enis(network_interface_id=[eni])
    assert found.security_group_ids.security_group_id == [b, c]
    assert (found.network_interface_name, found.description, found.delete_on_release) == (
        "renamed", "two groups now", True
    )  # fmt: skip
    assert revision(api, a) > before[0] and revision(api, b) > before[1]
    modify = lambda **kw: world.ecs.modify_network_interface_attribute(  # noqa: E731
        m.ModifyNetworkInterfaceAttributeRequest(region_id=REGION, network_interface_id=eni, **kw)
    )
    expect_error(lambda: modify(security_group_id=[b, b]), "InvalidParameter.SecurityGroupIdRepeated", 404)
    expect_error(
        lambda: modify(security_group_id=[world.group(world.network().vpc_id)]),
        "InvalidOperation.VpcMismatch",
        403,
    )
    expect_error(
        lambda: modify(security_group_id=[world.group(net.vpc_id) for _ in range(6)]),
        "JoinedGroupLimitExceed",
    )
    expect_error(lambda: modify(description="x"), "InvalidDescription.Malformed")
    legacy = LegacyModify()
    legacy.set_NetworkInterfaceId(eni)
    legacy.set_SecurityGroupIds([a])
    legacy_call(api, legacy)
    assert world.enis(network_interface_id=[eni])[0].security_group_ids.security_group_id == [a]
    (instance_id,) = world.run(net, [a])
    primary = world.enis(instance_id=instance_id)[0].network_interface_id
    modify_primary = m.ModifyNetworkInterfaceAttributeRequest(
        region_id=REGION, network_interface_id=primary, security_group_id=[c, a]
    )
    world.ecs.modify_network_interface_attribute(modify_primary)
    assert world.groups_of(instance_id) == [c, a]


def test_describe_network_interfaces_filters_and_pages(world: World, api: RunningServer) -> None:
    net = world.network()
    group, side = world.group(net.vpc_id), world.group(net.vpc_id)
    (instance_id,) = world.run(net, [group])
    enis = [create(world, net, [side], network_interface_name=f"n{i}") for i in range(11)]
    tagged = create(world, net, [group], tag=[m.CreateNetworkInterfaceRequestTag(key="k", value="v")])
    ids = lambda **f: sorted(e.network_interface_id for e in world.enis(vpc_id=net.vpc_id, **f))  # noqa: E731
    assert len(ids()) == 13
    primary = ids(type="Primary")
    assert len(primary) == 1 and ids(instance_id=instance_id) == primary
    assert ids(security_group_id=side) == sorted(enis)
    assert ids(security_group_id=group) == [tagged]  # secondary ENIs only, as Alibaba does
    assert ids(status="InUse") == primary and len(ids(status="Available")) == 12
    assert ids(network_interface_name="n3") == [enis[3]]
    address = world.enis(network_interface_id=[enis[0]])[0].private_ip_address
    assert ids(private_ip_address=[address]) == [enis[0]] and ids(primary_ip_address=address) == [enis[0]]
    assert ids(tag=[m.DescribeNetworkInterfacesRequestTag(key="k", value="v")]) == [tagged]
    assert ids(v_switch_id=net.vswitch_id) == ids() and ids(ipv_6address=["2001:db8::1"]) == []
    request = lambda **kw: m.DescribeNetworkInterfacesRequest(region_id=REGION, vpc_id=net.vpc_id, **kw)  # noqa: E731
    first = world.ecs.describe_network_interfaces(request(max_results=10)).body
    rest = world.ecs.describe_network_interfaces(request(max_results=10, next_token=first.next_token)).body
    assert len(first.network_interface_sets.network_interface_set) == 10 and first.next_token
    assert len(rest.network_interface_sets.network_interface_set) == 3 and rest.next_token == ""
    page = world.ecs.describe_network_interfaces(request(page_number=3, page_size=6)).body
    assert (page.total_count, page.page_number, len(page.network_interface_sets.network_interface_set)) == (
        13,
        3,
        1,
    )
    expect_error(lambda: world.ecs.describe_network_interfaces(request(type="Tertiary")), "InvalidParameter")
    expect_error(
        lambda: world.ecs.describe_network_interfaces(request(next_token="%%")), "InValidParameter.NextToken"
    )


def test_describe_and_delete_one_network_interface(world: World, api: RunningServer) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    (instance_id,) = world.run(net, [group])
    eni = create(world, net, [group])
    body = world.ecs.describe_network_interface_attribute(
        m.DescribeNetworkInterfaceAttributeRequest(region_id=REGION, network_interface_id=eni)
    ).body
    assert (body.network_interface_id, body.status, body.type) == (eni, "Available", "Secondary")
    assert body.connection_tracking_configuration.tcp_established_timeout == 910
    assert body.security_group_ids.security_group_id == [group]
    legacy = LegacyDescribeAttribute()
    legacy.set_NetworkInterfaceId(eni)
    assert legacy_json(api, legacy).keys() >= ENI_FIELDS
    world.ecs.attach_network_interface(
        m.AttachNetworkInterfaceRequest(region_id=REGION, instance_id=instance_id, network_interface_id=eni)
    )
    delete = lambda eni_id: world.ecs.delete_network_interface(  # noqa: E731
        m.DeleteNetworkInterfaceRequest(region_id=REGION, network_interface_id=eni_id)
    )
    expect_error(lambda: delete(eni), "InvalidOperation.InvalidEniState")
    world.ecs.detach_network_interface(
        m.DetachNetworkInterfaceRequest(region_id=REGION, instance_id=instance_id, network_interface_id=eni)
    )
    before = revision(api, group)
    delete(eni)
    assert revision(api, group) > before
    expect_error(lambda: delete(eni), "InvalidEniId.NotFound", 404)
    legacy_delete = LegacyDelete()
    legacy_delete.set_NetworkInterfaceId(eni)
    expect_legacy_error(api, legacy_delete, "InvalidEniId.NotFound", 404)
    in_shanghai = m.DescribeNetworkInterfaceAttributeRequest(
        region_id="cn-shanghai", network_interface_id=eni
    )
    expect_error(
        lambda: world.ecs.describe_network_interface_attribute(in_shanghai), "InvalidEniId.NotFound", 404
    )
    assert [e.private_ip_address for e in world.enis(vpc_id=net.vpc_id)] == ["192.168.1.1"]


def test_network_interfaces_of_a_cloud_service(world: World) -> None:
    service_id = 2_000_000 + secrets.randbelow(10**8)
    service = world.service_client(service_id)
    net = world.network()
    group = world.group(net.vpc_id)
    managed_group = world.group(net.vpc_id, client=service, managed=True)
    (instance_id,) = world.run(net, [group])
    eni = service.create_network_interface(
        m.CreateNetworkInterfaceRequest(region_id=REGION, v_switch_id=net.vswitch_id, security_group_id=group)
    ).body
    assert (eni.service_managed, eni.service_id) == (True, service_id)
    eni_id = eni.network_interface_id
    code = "InvalidOperation.ResourceManagedByCloudProduct"
    modify = m.ModifyNetworkInterfaceAttributeRequest(
        region_id=REGION, network_interface_id=eni_id, description="mine"
    )
    expect_error(lambda: world.ecs.modify_network_interface_attribute(modify), code, 403)
    attach = m.AttachNetworkInterfaceRequest(
        region_id=REGION, instance_id=instance_id, network_interface_id=eni_id
    )
    expect_error(
        lambda: world.ecs.attach_network_interface(attach), "InvalidOperation.EniServiceManaged", 403
    )
    delete = m.DeleteNetworkInterfaceRequest(region_id=REGION, network_interface_id=eni_id)
    expect_error(
        lambda: world.ecs.delete_network_interface(delete), "InvalidOperation.EniServiceManaged", 403
    )
    expect_error(lambda: create(world, net, [managed_group]), code, 403)
    assert world.enis(service_managed=True, vpc_id=net.vpc_id)[0].network_interface_id == eni_id
    service.modify_network_interface_attribute(modify)
    service.attach_network_interface(attach)
    service.create_network_interface(
        m.CreateNetworkInterfaceRequest(
            region_id=REGION, v_switch_id=net.vswitch_id, security_group_id=managed_group
        )
    )
    assert len(world.enis(vpc_id=net.vpc_id, service_managed=True)) == 2


def test_legacy_error_paths_and_delete(world: World, api: RunningServer) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    (instance_id,) = world.run(net, [group])
    create_request = LegacyCreate()
    create_request.set_VSwitchId(net.vswitch_id)
    create_request.set_SecurityGroupIdss([world.group(world.network().vpc_id)])
    expect_legacy_error(api, create_request, "InvalidOperation.VpcMismatch", 403)
    attach = LegacyAttach()
    attach.set_InstanceId(instance_id)
    attach.set_NetworkInterfaceId("eni-bp1nothere")
    expect_legacy_error(api, attach, "InvalidEniId.NotFound", 404)
    primary = world.enis(instance_id=instance_id)[0].network_interface_id
    detach = LegacyDetach()
    detach.set_InstanceId(instance_id)
    detach.set_NetworkInterfaceId(primary)
    expect_legacy_error(api, detach, "InvalidOperation.DetachPrimaryEniNotAllowed")
    modify = LegacyModify()
    modify.set_NetworkInterfaceId(primary)
    modify.set_SecurityGroupIds([world.group(net.vpc_id) for _ in range(6)])
    expect_legacy_error(api, modify, "JoinedGroupLimitExceed")
    describe = LegacyDescribe()
    describe.set_Type("Tertiary")
    expect_legacy_error(api, describe, "InvalidParameter")
    eni = create(world, net, [group])
    delete = LegacyDelete()
    delete.set_NetworkInterfaceId(primary)
    expect_legacy_error(api, delete, "InvalidOperation.InvalidEniState")
    delete.set_NetworkInterfaceId(eni)
    legacy_call(api, delete)
    assert [e.network_interface_id for e in world.enis(vpc_id=net.vpc_id)] == [primary]
