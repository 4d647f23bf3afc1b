"""Instances through both official SDKs: the catalogue, RunInstances / CreateInstance, the state
machine, DescribeInstances / DescribeInstanceAttribute, ModifyInstanceAttribute, Delete.

Every test makes its own VPC, vSwitch and groups (the session server is shared), and never counts
anything outside them. The helpers at the top are shared with the ENI and membership tests.
"""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as vm
from alibabacloud_vpc20160428.client import Client as VpcClient
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkecs.request.v20140526.CreateInstanceRequest import CreateInstanceRequest as LegacyCreateInstance
from aliyunsdkecs.request.v20140526.DeleteInstanceRequest import DeleteInstanceRequest as LegacyDeleteInstance
from aliyunsdkecs.request.v20140526.DeleteInstancesRequest import (
    DeleteInstancesRequest as LegacyDeleteInstances,
)
from aliyunsdkecs.request.v20140526.DescribeImagesRequest import DescribeImagesRequest as LegacyDescribeImages
from aliyunsdkecs.request.v20140526.DescribeInstanceAttributeRequest import (
    DescribeInstanceAttributeRequest as LegacyDescribeAttribute,
)
from aliyunsdkecs.request.v20140526.DescribeInstancesRequest import DescribeInstancesRequest as LegacyDescribe
from aliyunsdkecs.request.v20140526.DescribeInstanceTypesRequest import (
    DescribeInstanceTypesRequest as LegacyDescribeTypes,
)
from aliyunsdkecs.request.v20140526.ModifyInstanceAttributeRequest import (
    ModifyInstanceAttributeRequest as LegacyModifyInstance,
)
from aliyunsdkecs.request.v20140526.RebootInstanceRequest import RebootInstanceRequest as LegacyReboot
from aliyunsdkecs.request.v20140526.RunInstancesRequest import RunInstancesRequest as LegacyRun
from aliyunsdkecs.request.v20140526.StartInstanceRequest import StartInstanceRequest as LegacyStart
from aliyunsdkecs.request.v20140526.StopInstanceRequest import StopInstanceRequest as LegacyStop
from sqlalchemy import select

from secplane.crypto import MasterKey
from secplane.store import accounts, compute
from secplane.store.db import Database
from secplane.store.schema import security_groups
from secplane.testing import RunningServer, server
from tests.conftest import legacy_call
from tests.conftest import server_db as store

REGION = "cn-hangzhou"
ZONE, OTHER_ZONE = "cn-hangzhou-h", "cn-hangzhou-i"
UBUNTU = "ubuntu_22_04_x64_20G_alibase_20230907.vhd"
WINDOWS = "win2022_21H2_x64_dtc_en-us_40G_alibase_20230915.vhd"
G7 = "ecs.g7.large"

# ---------------------------------------------------------------- helpers (shared with the ENI and SG tests)


@dataclass
class Net:
    vpc_id: str
    vswitch_id: str
    cidr: str


class World:
    """The official clients of one running server, and quick ways to make what a test needs."""

    def __init__(self, running: RunningServer, ecs: Client | None = None) -> None:
        self.running = running
        self.ecs = ecs or Client(running.tea_config())
        self.vpc = VpcClient(running.tea_config())

    def network(self, vswitch_cidr: str = "192.168.1.0/24", zone: str = ZONE, region: str = REGION) -> Net:
        vpc_id = self.vpc.create_vpc(
            vm.CreateVpcRequest(region_id=region, cidr_block="192.168.0.0/16")
        ).body.vpc_id
        return Net(vpc_id, self.vswitch(vpc_id, vswitch_cidr, zone, region), vswitch_cidr)

    def vswitch(self, vpc_id: str, cidr: str, zone: str = ZONE, region: str = REGION) -> str:
        request = vm.CreateVSwitchRequest(region_id=region, vpc_id=vpc_id, zone_id=zone, cidr_block=cidr)
        return self.vpc.create_vswitch(request).body.v_switch_id

    def group(
        self, vpc_id: str = "", kind: str = "normal", region: str = REGION, client: Client | None = None,
        managed: bool = False,
    ) -> str:  # fmt: skip
        request = m.CreateSecurityGroupRequest(
            region_id=region, vpc_id=vpc_id or None, security_group_type=kind, service_managed=managed or None
        )
        return (client or self.ecs).create_security_group(request).body.security_group_id

    def run(
        self, net: Net | None, groups: list[str] | None, amount: int = 1, region: str = REGION, **kw: Any
    ) -> list[str]:
        request = m.RunInstancesRequest(
            region_id=region,
            image_id=kw.pop("image_id", UBUNTU),
            instance_type=kw.pop("instance_type", G7),
            v_switch_id=net.vswitch_id if net else None,
            security_group_ids=groups,
            amount=amount,
            **kw,
        )
        return list(self.ecs.run_instances(request).body.instance_id_sets.instance_id_set)

    def instances(self, region: str = REGION, **filters: Any) -> list[Any]:
        request = m.DescribeInstancesRequest(region_id=region, page_size=100, **filters)
        return list(self.ecs.describe_instances(request).body.instances.instance)

    def attribute(self, instance_id: str) -> Any:
        return self.ecs.describe_instance_attribute(
            m.DescribeInstanceAttributeRequest(instance_id=instance_id)
        ).body

    def groups_of(self, instance_id: str) -> list[str]:
        return list(self.attribute(instance_id).security_group_ids.security_group_id)

    def enis(self, region: str = REGION, **filters: Any) -> list[Any]:
        request = m.DescribeNetworkInterfacesRequest(region_id=region, max_results=500, **filters)
        return list(
            self.ecs.describe_network_interfaces(request).body.network_interface_sets.network_interface_set
        )

    def service_client(self, service_id: int) -> Client:
        """A client signing as a cloud service (the owner of managed resources) in this account."""
        key = MasterKey.load_or_create(self.running.data_dir / "master.key")
        db = Database(self.running.database_url, pool_size=1)
        try:
            with db.write() as conn:
                ak = accounts.create_access_key(conn, key, self.running.account_id, f"service:{service_id}")
        finally:
            db.dispose()
        return Client(self.running.tea_config(access_key_id=ak.id, access_key_secret=ak.secret))


@pytest.fixture(scope="module")
def world(api: RunningServer, ecs: Client) -> World:
    return World(api, ecs)


def revision(running: RunningServer, group_id: str) -> int:
    with store(running) as conn:
        return int(
            conn.execute(
                select(security_groups.c.revision).where(security_groups.c.id == group_id)
            ).scalar_one()
        )


def expect_error(call: Callable[[], Any], code: str, status: int = 400) -> str:
    with pytest.raises(ClientException) as err:
        call()
    assert (err.value.code, err.value.status_code) == (code, status), err.value.message
    return str(err.value.message)


def expect_legacy_error(running: RunningServer, request: Any, code: str, status: int = 400) -> None:
    with pytest.raises(ServerException) as err:
        legacy_call(running, request)
    assert (err.value.get_error_code(), err.value.get_http_status()) == (code, status), err.value


def legacy_json(running: RunningServer, request: Any) -> dict[str, Any]:
    return dict(json.loads(legacy_call(running, request)))


# ---------------------------------------------------------------- catalogue


def test_describe_images_filters_and_pages(ecs: Client) -> None:
    windows = ecs.describe_images(
        m.DescribeImagesRequest(region_id=REGION, ostype="windows", page_size=50)
    ).body
    assert windows.total_count == len(windows.images.image) >= 2
    assert {i.ostype for i in windows.images.image} == {"windows"}
    assert WINDOWS in {i.image_id for i in windows.images.image}
    ids = f"{UBUNTU},centos_7_9_x64_20G_alibase_20230817.vhd"
    two = ecs.describe_images(m.DescribeImagesRequest(region_id=REGION, image_id=ids)).body.images.image
    assert sorted(i.image_id for i in two) == sorted(ids.split(","))
    ubuntu = two[[i.image_id for i in two].index(UBUNTU)]
    assert (ubuntu.platform, ubuntu.architecture, ubuntu.size, ubuntu.status) == (
        "Ubuntu",
        "x86_64",
        20,
        "Available",
    )
    assert ubuntu.osname_en == "Ubuntu  22.04 64 bit" and ubuntu.image_owner_alias == "system"
    named = ecs.describe_images(
        m.DescribeImagesRequest(region_id=REGION, image_name="debian")
    ).body.images.image
    assert [i.image_id for i in named] == ["debian_12_x64_20G_alibase_20230907.vhd"]
    first = ecs.describe_images(m.DescribeImagesRequest(region_id=REGION, page_size=2)).body
    second = ecs.describe_images(m.DescribeImagesRequest(region_id=REGION, page_size=2, page_number=2)).body
    assert first.total_count == second.total_count >= 6 and first.page_number == 1 and second.page_number == 2
    assert not {i.image_id for i in first.images.image} & {i.image_id for i in second.images.image}
    mine = ecs.describe_images(m.DescribeImagesRequest(region_id=REGION, image_owner_alias="self")).body
    assert mine.total_count == 0 and mine.images.image == []
    expect_error(
        lambda: ecs.describe_images(m.DescribeImagesRequest(region_id=REGION, ostype="beos")),
        "InvalidParameter",
    )


def test_legacy_describe_images(api: RunningServer) -> None:
    request = LegacyDescribeImages()
    request.set_ImageId(WINDOWS)
    body = legacy_json(api, request)
    (image,) = body["Images"]["Image"]
    assert (image["OSType"], image["Platform"], image["Size"]) == ("windows", "Windows Server 2022", 40)
    assert body["TotalCount"] == 1 and body["RegionId"] == REGION
    assert image["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Type"] == "system"


def test_describe_instance_types_without_region(ecs: Client) -> None:
    request = m.DescribeInstanceTypesRequest(instance_types=["ecs.g7.large", "ecs.t6-c1m1.large"])
    found = {
        t.instance_type_id: t for t in ecs.describe_instance_types(request).body.instance_types.instance_type
    }
    assert set(found) == {"ecs.g7.large", "ecs.t6-c1m1.large"}
    g7 = found["ecs.g7.large"]
    assert (g7.cpu_core_count, g7.memory_size, g7.instance_type_family, g7.eni_quantity) == (
        2,
        8.0,
        "ecs.g7",
        3,
    )
    assert g7.instance_bandwidth_rx == g7.instance_bandwidth_tx == 2_048_000
    assert found["ecs.t6-c1m1.large"].baseline_credit > 0
    family = ecs.describe_instance_types(m.DescribeInstanceTypesRequest(instance_type_family="ecs.c7")).body
    assert {t.instance_type_id for t in family.instance_types.instance_type} >= {
        "ecs.c7.large",
        "ecs.c7.xlarge",
    }
    assert {t.instance_type_family for t in family.instance_types.instance_type} == {"ecs.c7"}
    page = ecs.describe_instance_types(m.DescribeInstanceTypesRequest(max_results=3)).body
    rest = ecs.describe_instance_types(
        m.DescribeInstanceTypesRequest(max_results=1600, next_token=page.next_token)
    ).body
    assert len(page.instance_types.instance_type) == 3 and page.next_token and not rest.next_token
    assert not {t.instance_type_id for t in page.instance_types.instance_type} & {
        t.instance_type_id for t in rest.instance_types.instance_type
    }


def test_legacy_describe_instance_types(api: RunningServer) -> None:
    request = LegacyDescribeTypes()
    request.set_InstanceTypess(["ecs.r7.large"])
    (only,) = legacy_json(api, request)["InstanceTypes"]["InstanceType"]
    assert (only["InstanceTypeId"], only["MemorySize"], only["CpuCoreCount"]) == ("ecs.r7.large", 16.0, 2)


# ---------------------------------------------------------------- RunInstances


INSTANCE_FIELDS = {
    "InstanceId",
    "InstanceName",
    "HostName",
    "Description",
    "Status",
    "OSType",
    "OSName",
    "OSNameEn",
    "RegionId",
    "ZoneId",
    "ImageId",
    "InstanceType",
    "InstanceTypeFamily",
    "Cpu",
    "Memory",
    "CreationTime",
    "StartTime",
    "ExpiredTime",
    "AutoReleaseTime",
    "InstanceNetworkType",
    "InstanceChargeType",
    "InternetChargeType",
    "InternetMaxBandwidthIn",
    "InternetMaxBandwidthOut",
    "IoOptimized",
    "DeletionProtection",
    "ResourceGroupId",
    "KeyPairName",
    "SecurityGroupIds",
    "VpcAttributes",
    "NetworkInterfaces",
    "PublicIpAddress",
    "InnerIpAddress",
    "EipAddress",
    "OperationLocks",
    "Tags",
}


def test_run_instances_in_a_vpc(world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    tag = m.RunInstancesRequestTag(key="team", value=uuid.uuid4().hex)
    created = world.run(net, [group], amount=3, tag=[tag], description="batch of three")
    assert len(set(created)) == 3 and all(i.startswith("i-bp") for i in created)
    found = {i.instance_id: i for i in world.instances(vpc_id=net.vpc_id)}
    assert set(found) == set(created)
    addresses = sorted(IPv4Address(i.vpc_attributes.private_ip_address.ip_address[0]) for i in found.values())
    assert [str(a) for a in addresses] == ["192.168.1.1", "192.168.1.2", "192.168.1.3"]
    for instance_id, i in found.items():
        assert (i.status, i.instance_network_type, i.zone_id, i.region_id) == ("Running", "vpc", ZONE, REGION)
        assert i.instance_name == instance_id and i.host_name == f"iZ{instance_id[2:]}Z"
        assert (i.ostype, i.cpu, i.memory, i.instance_type_family) == ("linux", 2, 8192, "ecs.g7")
        assert i.security_group_ids.security_group_id == [group]
        assert i.vpc_attributes.vpc_id == net.vpc_id and i.vpc_attributes.v_switch_id == net.vswitch_id
        (eni,) = i.network_interfaces.network_interface
        assert eni.type == "Primary" and eni.mac_address.startswith("00:16:3e:")
        assert eni.primary_ip_address == i.vpc_attributes.private_ip_address.ip_address[0]
        assert [(t.tag_key, t.tag_value) for t in i.tags.tag] == [("team", tag.value)]
        assert i.description == "batch of three" and i.key_pair_name == "" and len(i.creation_time) == 17
    tagged = world.enis(
        vpc_id=net.vpc_id, tag=[m.DescribeNetworkInterfacesRequestTag(key="team", value=tag.value)]
    )
    assert {e.instance_id for e in tagged} == set(created) and {e.type for e in tagged} == {"Primary"}


def test_describe_instances_shows_every_field(world: World, api: RunningServer) -> None:
    net = world.network()
    (instance_id,) = world.run(net, [world.group(net.vpc_id)])
    request = LegacyDescribe()
    request.set_InstanceIds(json.dumps([instance_id]))
    (item,) = legacy_json(api, request)["Instances"]["Instance"]
    assert item.keys() >= INSTANCE_FIELDS
    assert item["EipAddress"]["IpAddress"] == "" and item["PublicIpAddress"] == {"IpAddress": []}
    assert item["InnerIpAddress"] == {"IpAddress": []} and item["OperationLocks"] == {"LockReason": []}
    assert item["Tags"] == {"Tag": []} and item["AutoReleaseTime"] == ""
    root = ET.fromstring(legacy_call(api, request, fmt="XML"))
    assert root.findtext("Instances/Instance/InstanceId") == instance_id
    assert (
        root.findtext("Instances/Instance/SecurityGroupIds/SecurityGroupId")
        == item["SecurityGroupIds"]["SecurityGroupId"][0]
    )


def test_run_instances_with_a_chosen_address_and_consecutive_batch(world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    created = world.run(net, [group], amount=2, private_ip_address="192.168.1.100")
    addresses = {
        i.vpc_attributes.private_ip_address.ip_address[0] for i in world.instances(vpc_id=net.vpc_id)
    }
    assert addresses == {"192.168.1.100", "192.168.1.101"} and len(created) == 2
    expect_error(
        lambda: world.run(net, [group], private_ip_address="192.168.1.101"),
        "InvalidPrivateIpAddress.Duplicated",
    )
    expect_error(
        lambda: world.run(net, [group], private_ip_address="192.168.1.254"), "InvalidVSwitchId.IpInvalid", 403
    )
    expect_error(
        lambda: world.run(net, [group], private_ip_address="10.1.1.1"), "InvalidVSwitchId.IpInvalid", 403
    )
    expect_error(lambda: world.run(net, [group], private_ip_address="192.168.1"), "InvalidParameter")
    (next_free,) = world.run(net, [group])
    assert world.attribute(next_free).vpc_attributes.private_ip_address.ip_address == ["192.168.1.1"]


def test_a_full_vswitch_refuses_more_instances(world: World) -> None:
    net = world.network(vswitch_cidr="192.168.7.0/29")  # 8 addresses, 4 usable
    group = world.group(net.vpc_id)
    expect_error(lambda: world.run(net, [group], amount=5), "InvalidVSwitchId.IpNotEnough", 403)
    assert world.instances(vpc_id=net.vpc_id) == []
    assert len(world.run(net, [group], amount=4)) == 4
    expect_error(lambda: world.run(net, [group]), "InvalidVSwitchId.IpNotEnough", 403)


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"password": "short1A"}, "InvalidPassword.Malformed", 400),
        ({"instance_name": "1-starts-with-a-digit"}, "InvalidInstanceName.Malformed", 400),
        ({"host_name": "bad..host"}, "InvalidHostName.Malformed", 400),
        ({"description": "http://x"}, "InvalidDescription.Malformed", 400),
        ({"tag": [m.RunInstancesRequestTag(key="acs:reserved", value="x")]}, "InvalidTagKey.Malformed", 400),
        ({"private_ip_address": "192.168.1.253"}, "InvalidVSwitchId.IpInvalid", 403),
        ({"zone_id": OTHER_ZONE}, "InvalidParameter", 400),
        ({"zone_id": "cn-hangzhou-z"}, "InvalidZoneId.NotFound", 404),
        ({"image_id": "m-doesnotexist"}, "InvalidImageId.NotFound", 404),
        ({"instance_type": "ecs.x99.huge"}, "InvalidInstanceType.ValueNotSupported", 400),
        ({"user_data": "not base64!"}, "InvalidUserData.Base64FormatInvalid", 400),
        ({"password": "Abcdefg123!", "password_inherit": True}, "InvalidPasswordParam.Mismatch", 400),
    ],
)
def test_run_instances_with_a_bad_parameter_creates_nothing(
    world: World, change: dict[str, Any], code: str, status: int
) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    expect_error(lambda: world.run(net, [group], amount=3, **change), code, status)
    assert world.instances(vpc_id=net.vpc_id) == []
    assert world.enis(vpc_id=net.vpc_id) == []


def test_run_instances_refuses_bad_amounts_groups_and_vswitches(world: World) -> None:
    net = world.network()
    other = world.network()
    group = world.group(net.vpc_id)
    expect_error(lambda: world.run(net, [group], amount=0), "InvalidParam.Amount", 403)
    expect_error(lambda: world.run(net, [group], amount=101), "InvalidParam.Amount", 403)
    expect_error(lambda: world.run(net, [world.group(other.vpc_id)]), "InvalidParameter.Mismatch")
    expect_error(lambda: world.run(net, ["sg-bp1doesnotexist000000"]), "InvalidSecurityGroupId.NotFound", 404)
    expect_error(lambda: world.run(net, [group, group]), "InvalidParameter.SecurityGroupIdRepeated", 404)
    six = [world.group(net.vpc_id) for _ in range(6)]
    expect_error(lambda: world.run(net, six), "InstanceSecurityGroupLimitExceeded")
    mixed = [group, world.group(net.vpc_id, kind="enterprise")]
    expect_error(lambda: world.run(net, mixed), "EnterpriseGroupLimited.MutliGroupType", 403)
    expect_error(lambda: world.run(None, [group]), "InvalidVSwitchId.Necessary")
    both = m.RunInstancesRequest(
        region_id=REGION, image_id=UBUNTU, instance_type=G7, v_switch_id=net.vswitch_id,
        security_group_id=group, security_group_ids=[group],
    )  # fmt: skip
    expect_error(lambda: world.ecs.run_instances(both), "InvalidParameter.Conflict")
    ghost = Net(net.vpc_id, "vsw-bp1doesnotexist0000", "")
    expect_error(lambda: world.run(ghost, [group]), "InvalidVSwitchId.NotFound", 404)
    missing = m.RunInstancesRequest(region_id=REGION, instance_type=G7, v_switch_id=net.vswitch_id)
    expect_error(lambda: world.ecs.run_instances(missing), "MissingParameter")
    assert world.instances(vpc_id=net.vpc_id) == []


def test_run_instances_dry_run(world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    expect_error(lambda: world.run(net, [group], amount=2, dry_run=True), "DryRunOperation")
    expect_error(
        lambda: world.run(net, [group], amount=2, dry_run=True, password="x"), "InvalidPassword.Malformed"
    )
    assert world.instances(vpc_id=net.vpc_id) == []


def test_batch_names_and_windows_host_names(world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    web = world.run(net, [group], amount=2, instance_name="web[7,3]", host_name="web-[7,3]")
    names = {(i.instance_name, i.host_name) for i in world.instances(instance_ids=json.dumps(web))}
    assert names == {("web007", "web-007"), ("web008", "web-008")}
    db = world.run(net, [group], amount=2, instance_name="db", unique_suffix=True)
    assert {i.instance_name for i in world.instances(instance_ids=json.dumps(db))} == {"db001", "db002"}
    (win,) = world.run(net, [group], image_id=WINDOWS, password="Secplane-2026!")
    attribute = world.attribute(win)
    assert len(attribute.host_name) <= 15 and attribute.host_name.startswith("iZ")
    expect_error(
        lambda: world.run(net, [group], image_id=WINDOWS, host_name="a" * 16), "InvalidHostName.Malformed"
    )
    expect_error(
        lambda: world.run(net, [group], image_id=WINDOWS, password="/Secplane-2026"),
        "InvalidPassword.Malformed",
    )
    assert world.instances(instance_ids=json.dumps([win]))[0].ostype == "windows"


def test_client_token_replays_the_first_result(world: World, api: RunningServer) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    token = uuid.uuid4().hex
    first = world.run(net, [group], amount=2, client_token=token)
    again = world.run(net, [group], amount=2, client_token=token)
    assert first == again and len(world.instances(vpc_id=net.vpc_id)) == 2
    expect_error(lambda: world.run(net, [group], amount=3, client_token=token), "IdempotentParameterMismatch")
    legacy = LegacyRun()
    for setter, value in (
        ("set_ImageId", UBUNTU), ("set_InstanceType", G7), ("set_VSwitchId", net.vswitch_id),
        ("set_SecurityGroupId", group), ("set_ClientToken", uuid.uuid4().hex),
    ):  # fmt: skip
        getattr(legacy, setter)(value)
    one = legacy_json(api, legacy)["InstanceIdSets"]["InstanceIdSet"]
    two = legacy_json(api, legacy)["InstanceIdSets"]["InstanceIdSet"]
    assert one == two and len(world.instances(vpc_id=net.vpc_id)) == 3


def test_legacy_run_instances_fills_its_own_client_token(api: RunningServer, world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    request = LegacyRun()
    request.set_ImageId(UBUNTU)
    request.set_InstanceType("ecs.c7.large")
    request.set_VSwitchId(net.vswitch_id)
    request.set_SecurityGroupIdss([group])
    request.set_Amount(2)
    request.set_Tags([{"Key": "env", "Value": "legacy"}])
    body = legacy_json(api, request)
    assert len(body["InstanceIdSets"]["InstanceIdSet"]) == 2 and body["TradePrice"] == 0.0
    found = world.instances(vpc_id=net.vpc_id, tag=[m.DescribeInstancesRequestTag(key="env", value="legacy")])
    assert {i.instance_id for i in found} == set(body["InstanceIdSets"]["InstanceIdSet"])


# ---------------------------------------------------------------- ENIs at creation


def test_run_instances_with_primary_and_secondary_network_interfaces(world: World) -> None:
    net = world.network()
    second_switch = world.vswitch(net.vpc_id, "192.168.2.0/24")
    web, db = world.group(net.vpc_id), world.group(net.vpc_id)
    spare = world.ecs.create_network_interface(
        m.CreateNetworkInterfaceRequest(region_id=REGION, v_switch_id=net.vswitch_id, security_group_id=db)
    ).body.network_interface_id
    interfaces = [
        m.RunInstancesRequestNetworkInterface(
            instance_type="Primary", v_switch_id=net.vswitch_id, security_group_ids=[web, db],
            primary_ip_address="192.168.1.50",
        ),
        m.RunInstancesRequestNetworkInterface(
            instance_type="Secondary", v_switch_id=second_switch, security_group_id=db,
            network_interface_name="data", delete_on_release=False,
        ),
        m.RunInstancesRequestNetworkInterface(network_interface_id=spare),
    ]  # fmt: skip
    (instance_id,) = world.run(None, None, network_interface=interfaces, instance_type="ecs.g7.xlarge")
    (instance,) = world.instances(instance_ids=json.dumps([instance_id]))
    assert instance.security_group_ids.security_group_id == [web, db]
    assert instance.vpc_attributes.private_ip_address.ip_address == ["192.168.1.50"]
    assert [e.type for e in instance.network_interfaces.network_interface] == [
        "Primary",
        "Secondary",
        "Secondary",
    ]
    enis = {e.network_interface_id: e for e in world.enis(instance_id=instance_id)}
    secondary = next(e for e in enis.values() if e.network_interface_name == "data")
    assert secondary.security_group_ids.security_group_id == [db] and secondary.v_switch_id == second_switch
    assert secondary.private_ip_address == "192.168.2.1" and secondary.delete_on_release is False
    assert enis[spare].status == "InUse" and enis[spare].attachment.device_index == 2
    primary_plus_top_level = m.RunInstancesRequest(
        region_id=REGION, image_id=UBUNTU, instance_type=G7, v_switch_id=net.vswitch_id,
        network_interface=[interfaces[0]],
    )  # fmt: skip
    expect_error(lambda: world.ecs.run_instances(primary_plus_top_level), "InvalidParam.NetworkInterface")
    too_many = [m.RunInstancesRequestNetworkInterface(security_group_id=db) for _ in range(3)]
    expect_error(
        lambda: world.run(net, [web], network_interface=too_many), "EniPerInstanceLimitExceeded", 403
    )
    busy = [m.RunInstancesRequestNetworkInterface(network_interface_id=spare)]
    expect_error(lambda: world.run(net, [web], network_interface=busy), "InvalidOperation.InvalidEniState")


# ---------------------------------------------------------------- the default group (SG-10)


def test_first_instance_of_a_vpc_without_a_group_gets_the_default_group(world: World) -> None:
    net = world.network()
    (first,) = world.run(net, None)
    (group_id,) = world.groups_of(first)
    groups = world.ecs.describe_security_groups(
        m.DescribeSecurityGroupsRequest(region_id=REGION, vpc_id=net.vpc_id)
    ).body.security_groups.security_group
    assert [(g.security_group_id, g.description, g.security_group_type) for g in groups] == [
        (group_id, "System created security group.", "normal")
    ]
    assert groups[0].security_group_name.startswith("sg-default-")
    rules = world.ecs.describe_security_group_attribute(
        m.DescribeSecurityGroupAttributeRequest(region_id=REGION, security_group_id=group_id)
    ).body.permissions.permission
    assert sorted(
        (r.ip_protocol, r.port_range, r.source_cidr_ip, int(r.priority), r.policy) for r in rules
    ) == [
        ("ICMP", "-1/-1", "0.0.0.0/0", 100, "Accept"),
        ("TCP", "22/22", "0.0.0.0/0", 100, "Accept"),
        ("TCP", "3389/3389", "0.0.0.0/0", 100, "Accept"),
    ]
    expect_error(lambda: world.run(net, None), "MissingParameter")
    dry = world.network()
    expect_error(lambda: world.run(dry, None, dry_run=True), "DryRunOperation")
    assert (
        world.ecs.describe_security_groups(
            m.DescribeSecurityGroupsRequest(region_id=REGION, vpc_id=dry.vpc_id)
        ).body.security_groups.security_group
        == []
    )


def test_classic_instances_and_the_classic_default_group() -> None:
    with server() as running:  # a fresh account: no classic group in the region yet
        world = World(running)
        (first,) = world.run(None, None, region="cn-beijing")
        (instance,) = world.instances(region="cn-beijing", instance_ids=json.dumps([first]))
        assert instance.instance_network_type == "classic" and instance.zone_id == "cn-beijing-a"
        (address,) = instance.inner_ip_address.ip_address
        assert IPv4Address(address) in IPv4Network("10.0.0.0/8")
        assert (
            instance.vpc_attributes.vpc_id == ""
            and instance.vpc_attributes.private_ip_address.ip_address == []
        )
        assert instance.network_interfaces.network_interface == []
        (default,) = world.groups_of(first)
        assert world.enis(region="cn-beijing") == []
        (second,) = world.run(None, [default], region="cn-beijing")
        assert world.attribute(second).inner_ip_address.ip_address != [address]
        expect_error(lambda: world.run(None, None, region="cn-beijing"), "MissingParameter")
        net = world.network(region="cn-beijing", zone="cn-beijing-a")
        expect_error(lambda: world.run(net, [default], region="cn-beijing"), "InvalidParameter.Mismatch")
        expect_error(
            lambda: world.run(None, [default], region="cn-beijing", private_ip_address="10.0.0.9"),
            "InvalidParameter",
        )


# ---------------------------------------------------------------- CreateInstance and the state machine


def test_create_instance_is_left_stopped(world: World, api: RunningServer) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    request = m.CreateInstanceRequest(
        region_id=REGION, image_id=UBUNTU, instance_type=G7, v_switch_id=net.vswitch_id,
        security_group_id=group, instance_name="solo", tag=[m.CreateInstanceRequestTag(key="k", value="v")],
    )  # fmt: skip
    body = world.ecs.create_instance(request).body
    attribute = world.attribute(body.instance_id)
    assert (attribute.status, attribute.instance_name, attribute.io_optimized) == (
        "Stopped",
        "solo",
        "optimized",
    )
    assert (body.trade_price, attribute.stopped_mode) == (0.0, "KeepCharging")
    (listed,) = world.instances(instance_ids=json.dumps([body.instance_id]))
    assert listed.start_time == "" and [(t.tag_key, t.tag_value) for t in listed.tags.tag] == [("k", "v")]
    legacy = LegacyCreateInstance()
    legacy.set_ImageId(UBUNTU)
    legacy.set_InstanceType(G7)
    legacy.set_VSwitchId(net.vswitch_id)
    legacy.set_SecurityGroupId(group)
    instance_id = legacy_json(api, legacy)["InstanceId"]
    assert world.attribute(instance_id).status == "Stopped"
    bad = m.CreateInstanceRequest(
        region_id=REGION,
        image_id=UBUNTU,
        instance_type=G7,
        v_switch_id=net.vswitch_id,
        security_group_id="sg-x",
    )
    expect_error(lambda: world.ecs.create_instance(bad), "InvalidSecurityGroupId.NotFound", 404)


def test_state_machine_through_the_tea_sdk_without_region(world: World) -> None:
    net = world.network(region="cn-shanghai", zone="cn-shanghai-b")
    group = world.group(net.vpc_id, region="cn-shanghai")
    (instance_id,) = world.run(net, [group], region="cn-shanghai")
    ecs = world.ecs
    status = lambda: world.attribute(instance_id).status  # noqa: E731
    assert status() == "Running" and world.attribute(instance_id).region_id == "cn-shanghai"
    expect_error(
        lambda: ecs.start_instance(m.StartInstanceRequest(instance_id=instance_id)),
        "IncorrectInstanceStatus",
        403,
    )
    expect_error(
        lambda: ecs.stop_instance(m.StopInstanceRequest(instance_id=instance_id, dry_run=True)),
        "DryRunOperation",
    )
    assert status() == "Running"
    ecs.stop_instance(m.StopInstanceRequest(instance_id=instance_id))
    assert status() == "Stopped"
    expect_error(
        lambda: ecs.stop_instance(m.StopInstanceRequest(instance_id=instance_id)),
        "IncorrectInstanceStatus",
        403,
    )
    expect_error(
        lambda: ecs.reboot_instance(m.RebootInstanceRequest(instance_id=instance_id)),
        "IncorrectInstanceStatus",
        403,
    )
    ecs.start_instance(m.StartInstanceRequest(instance_id=instance_id))
    assert status() == "Running"
    ecs.reboot_instance(m.RebootInstanceRequest(instance_id=instance_id))
    assert status() == "Running"
    expect_error(
        lambda: ecs.delete_instance(m.DeleteInstanceRequest(instance_id=instance_id)),
        "IncorrectInstanceStatus",
        403,
    )
    ecs.delete_instance(m.DeleteInstanceRequest(instance_id=instance_id, force=True))
    expect_error(lambda: world.attribute(instance_id), "InvalidInstanceId.NotFound", 404)
    expect_error(
        lambda: ecs.start_instance(m.StartInstanceRequest(instance_id="i-nothere")),
        "InvalidInstanceId.NotFound",
        404,
    )


def test_state_machine_through_the_legacy_sdk(world: World, api: RunningServer) -> None:
    net = world.network()
    (instance_id,) = world.run(net, [world.group(net.vpc_id)])

    def call(request_type: Any, **extra: Any) -> Any:
        request = request_type()
        request.set_InstanceId(instance_id)
        for name, value in extra.items():
            getattr(request, f"set_{name}")(value)
        return request

    legacy_call(api, call(LegacyStop))
    expect_legacy_error(api, call(LegacyStop), "IncorrectInstanceStatus", 403)
    legacy_call(api, call(LegacyStart))
    legacy_call(api, call(LegacyReboot, ForceStop=True))
    expect_legacy_error(api, call(LegacyDeleteInstance), "IncorrectInstanceStatus", 403)
    attribute = legacy_json(api, call(LegacyDescribeAttribute))
    assert attribute["Status"] == "Running" and attribute["InstanceId"] == instance_id
    assert attribute["VpcAttributes"]["VpcId"] == net.vpc_id and "KeyPairName" not in attribute
    legacy_call(api, call(LegacyStop))
    legacy_call(api, call(LegacyDeleteInstance))
    expect_legacy_error(api, call(LegacyDescribeAttribute), "InvalidInstanceId.NotFound", 404)


def test_deleting_releases_network_interfaces_and_memberships(world: World, api: RunningServer) -> None:
    net = world.network()
    group, other = world.group(net.vpc_id), world.group(net.vpc_id)
    keep = m.RunInstancesRequestNetworkInterface(security_group_id=other, delete_on_release=False)
    drop = m.RunInstancesRequestNetworkInterface(security_group_id=other)
    (instance_id,) = world.run(net, [group], network_interface=[keep, drop], instance_type="ecs.g7.xlarge")
    kept = next(
        e for e in world.enis(instance_id=instance_id) if e.type == "Secondary" and not e.delete_on_release
    )
    before = revision(api, group)
    world.ecs.delete_instance(m.DeleteInstanceRequest(instance_id=instance_id, force=True))
    left = world.enis(vpc_id=net.vpc_id)
    assert [(e.network_interface_id, e.status, e.instance_id) for e in left] == [
        (kept.network_interface_id, "Available", "")
    ]
    assert left[0].security_group_ids.security_group_id == [other]
    assert world.instances(security_group_id=group) == [] and revision(api, group) > before
    (reused,) = world.run(net, [group])
    assert world.attribute(reused).vpc_attributes.private_ip_address.ip_address == ["192.168.1.1"]


def test_deletion_protection_and_delete_instances(world: World, api: RunningServer) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    protected, running, stopped = world.run(net, [group], amount=3)
    world.ecs.modify_instance_attribute(
        m.ModifyInstanceAttributeRequest(instance_id=protected, deletion_protection=True)
    )
    world.ecs.stop_instance(m.StopInstanceRequest(instance_id=stopped))
    delete_many = lambda ids, **kw: world.ecs.delete_instances(  # noqa: E731
        m.DeleteInstancesRequest(region_id=REGION, instance_id=ids, **kw)
    )
    expect_error(
        lambda: delete_many([stopped, protected], force=True), "InvalidOperation.DeletionProtection", 403
    )
    expect_error(lambda: delete_many([stopped, running]), "IncorrectInstanceStatus", 403)
    expect_error(lambda: delete_many([stopped, "i-bp1missing"]), "InvalidInstanceId.NotFound", 404)
    expect_error(lambda: delete_many([stopped], dry_run=True), "DryRunOperation")
    assert len(world.instances(vpc_id=net.vpc_id)) == 3
    delete_many([stopped, running], force=True, client_token=uuid.uuid4().hex)
    assert [i.instance_id for i in world.instances(vpc_id=net.vpc_id)] == [protected]
    world.ecs.modify_instance_attribute(
        m.ModifyInstanceAttributeRequest(instance_id=protected, deletion_protection=False)
    )
    legacy = LegacyDeleteInstances()
    legacy.set_InstanceIds([protected])
    legacy.set_Force(True)
    legacy_call(api, legacy)
    assert world.instances(vpc_id=net.vpc_id) == [] and world.enis(vpc_id=net.vpc_id) == []


# ---------------------------------------------------------------- DescribeInstances


def test_describe_instances_filters(world: World) -> None:
    net = world.network()
    switch_b = world.vswitch(net.vpc_id, "192.168.9.0/24", zone=OTHER_ZONE)
    group, lonely = world.group(net.vpc_id), world.group(net.vpc_id)
    a1, a2 = world.run(net, [group], amount=2, instance_name="alpha[1,1]")
    (b1,) = world.run(
        Net(net.vpc_id, switch_b, ""),
        [lonely],
        instance_name="beta",
        tag=[m.RunInstancesRequestTag(key="tier", value="db")],
    )
    world.ecs.stop_instance(m.StopInstanceRequest(instance_id=a2))
    ids = lambda **f: sorted(i.instance_id for i in world.instances(vpc_id=net.vpc_id, **f))  # noqa: E731
    assert ids() == sorted([a1, a2, b1])
    assert ids(v_switch_id=switch_b) == [b1] and ids(zone_id=ZONE) == sorted([a1, a2])
    assert ids(security_group_id=group) == sorted([a1, a2]) and ids(security_group_id=lonely) == [b1]
    assert ids(instance_name="alpha*") == sorted([a1, a2]) and ids(instance_name="alpha1") == [a1]
    assert ids(instance_name="*et*") == [b1] and ids(instance_name="alph") == []
    assert ids(status="Stopped") == [a2] and ids(status="Running") == sorted([a1, b1])
    assert (
        ids(instance_network_type="vpc") == sorted([a1, a2, b1])
        and ids(instance_network_type="classic") == []
    )
    assert ids(instance_ids=json.dumps([a1, b1, "i-other"])) == sorted([a1, b1])
    address = world.attribute(b1).vpc_attributes.private_ip_address.ip_address[0]
    assert ids(private_ip_addresses=json.dumps([address])) == [b1]
    assert ids(tag=[m.DescribeInstancesRequestTag(key="tier", value="db")]) == [b1]
    assert ids(tag=[m.DescribeInstancesRequestTag(key="tier", value="web")]) == []
    assert (
        ids(instance_type_family="ecs.g7") == sorted([a1, a2, b1]) and ids(instance_type="ecs.c7.large") == []
    )
    assert ids(image_id=UBUNTU) == sorted([a1, a2, b1]) and ids(eip_addresses=json.dumps(["1.2.3.4"])) == []
    describe = lambda **kw: world.ecs.describe_instances(m.DescribeInstancesRequest(region_id=REGION, **kw))  # noqa: E731
    expect_error(lambda: describe(status="Sleeping"), "InvalidStatus.NotFound", 404)
    expect_error(lambda: describe(instance_network_type="mesh"), "InvalidNetworkType.NotFound", 404)
    expect_error(lambda: describe(next_token="garbage!"), "InValidParameter.NextToken")
    expect_error(lambda: describe(dry_run=True), "DryRunOperation")
    expect_error(
        lambda: describe(filter=[m.DescribeInstancesRequestFilter(key="Color", value="x")]),
        "InvalidFilterKey.NotFound",
        404,
    )


def test_describe_instances_pages_both_ways(world: World) -> None:
    net = world.network()
    created = set(world.run(net, [world.group(net.vpc_id)], amount=12))
    request = lambda **kw: m.DescribeInstancesRequest(region_id=REGION, vpc_id=net.vpc_id, **kw)  # noqa: E731
    pages = [world.ecs.describe_instances(request(page_size=5, page_number=n)).body for n in (1, 2, 3)]
    assert [p.total_count for p in pages] == [12, 12, 12] and [len(p.instances.instance) for p in pages] == [
        5,
        5,
        2,
    ]
    assert {i.instance_id for p in pages for i in p.instances.instance} == created
    first = world.ecs.describe_instances(request(max_results=10)).body
    second = world.ecs.describe_instances(request(max_results=10, next_token=first.next_token)).body
    assert len(first.instances.instance) == 10 and first.next_token and second.next_token == ""
    assert {i.instance_id for p in (first, second) for i in p.instances.instance} == created
    small = world.ecs.describe_instances(request(max_results=3)).body
    assert len(small.instances.instance) == 10  # MaxResults below 10 counts as 10
    newest_first = [i.creation_time for i in first.instances.instance]
    assert newest_first == sorted(newest_first, reverse=True)


# ---------------------------------------------------------------- ModifyInstanceAttribute


def test_modify_instance_attribute(world: World, api: RunningServer) -> None:
    net = world.network()
    (instance_id,) = world.run(net, [world.group(net.vpc_id)])
    user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    world.ecs.modify_instance_attribute(
        m.ModifyInstanceAttributeRequest(
            instance_id=instance_id, instance_name="renamed", description="new words",
            host_name="web-01.local", password="Secplane-2026!", user_data=user_data,
        )
    )  # fmt: skip
    attribute = world.attribute(instance_id)
    assert (attribute.instance_name, attribute.description, attribute.host_name) == (
        "renamed", "new words", "web-01.local"
    )  # fmt: skip
    modify = lambda **kw: world.ecs.modify_instance_attribute(  # noqa: E731
        m.ModifyInstanceAttributeRequest(instance_id=instance_id, **kw)
    )
    expect_error(lambda: modify(instance_name="-x"), "InvalidInstanceName.Malformed")
    expect_error(lambda: modify(description="x"), "InvalidDescription.Malformed")
    expect_error(lambda: modify(host_name="-bad"), "InvalidHostName.Malformed")
    expect_error(lambda: modify(password="alllowercase"), "InvalidPassword.Malformed")
    expect_error(
        lambda: modify(user_data=base64.b64encode(b"x" * 40000).decode()), "InvalidUserData.SizeExceeded"
    )
    expect_error(
        lambda: world.ecs.modify_instance_attribute(
            m.ModifyInstanceAttributeRequest(instance_id="i-bp1none")
        ),
        "InvalidInstanceId.NotFound",
        404,
    )
    legacy = LegacyModifyInstance()
    legacy.set_InstanceId(instance_id)
    legacy.set_InstanceName("legacy-name")
    legacy_call(api, legacy)
    assert world.attribute(instance_id).instance_name == "legacy-name"


def test_legacy_error_paths(world: World, api: RunningServer) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    run = LegacyRun()
    run.set_ImageId("m-nothere")
    run.set_InstanceType(G7)
    run.set_VSwitchId(net.vswitch_id)
    run.set_SecurityGroupId(group)
    expect_legacy_error(api, run, "InvalidImageId.NotFound", 404)
    run.set_ImageId(UBUNTU)
    run.set_Amount(3)
    run.set_Password("weak")
    expect_legacy_error(api, run, "InvalidPassword.Malformed")
    create = LegacyCreateInstance()
    create.set_ImageId(UBUNTU)
    create.set_InstanceType("ecs.nope")
    create.set_VSwitchId(net.vswitch_id)
    create.set_SecurityGroupId(group)
    expect_legacy_error(api, create, "InvalidInstanceType.ValueNotSupported")
    images = LegacyDescribeImages()
    images.set_ImageOwnerAlias("everyone")
    expect_legacy_error(api, images, "InvalidParameter")
    types = LegacyDescribeTypes()
    types.set_InstanceTypess([f"ecs.g7.{i}xlarge" for i in range(11)])
    expect_legacy_error(api, types, "InvalidParameter")
    describe = LegacyDescribe()
    describe.set_Status("Exploded")
    expect_legacy_error(api, describe, "InvalidStatus.NotFound", 404)
    many = LegacyDeleteInstances()
    many.set_InstanceIds(["i-bp1nothere"])
    expect_legacy_error(api, many, "InvalidInstanceId.NotFound", 404)
    modify = LegacyModifyInstance()
    modify.set_InstanceId("i-bp1nothere")
    expect_legacy_error(api, modify, "InvalidInstanceId.NotFound", 404)
    assert world.instances(vpc_id=net.vpc_id) == []


def test_store_queries_the_vpc_and_group_actions_rely_on(world: World, api: RunningServer) -> None:
    net = world.network()
    spare_switch = world.vswitch(net.vpc_id, "192.168.3.0/24")
    group = world.group(net.vpc_id)
    (instance_id,) = world.run(net, [group])
    eni = world.ecs.create_network_interface(
        m.CreateNetworkInterfaceRequest(region_id=REGION, v_switch_id=spare_switch, security_group_id=group)
    ).body.network_interface_id
    primary = world.enis(instance_id=instance_id)[0].network_interface_id
    with store(api) as conn:
        assert compute.members_of_group(conn, group) == sorted([primary, eni])
        assert compute.instances_of_group(conn, group) == [instance_id]
        assert compute.vswitch_in_use(conn, net.vswitch_id) and compute.vswitch_in_use(conn, spare_switch)
        assert compute.used_ip_counts(conn, [net.vswitch_id]).get(net.vswitch_id, 0) == 1
        assert compute.vpc_has_instances(conn, net.vpc_id) and compute.vpc_in_use(conn, net.vpc_id)
    world.ecs.delete_network_interface(
        m.DeleteNetworkInterfaceRequest(region_id=REGION, network_interface_id=eni)
    )
    world.ecs.delete_instance(m.DeleteInstanceRequest(instance_id=instance_id, force=True))
    with store(api) as conn:
        assert compute.members_of_group(conn, group) == [] and compute.instances_of_group(conn, group) == []
        assert (
            not compute.vswitch_in_use(conn, net.vswitch_id)
            and compute.used_ip_counts(conn, [net.vswitch_id]).get(net.vswitch_id, 0) == 0
        )
        assert not compute.vpc_has_instances(conn, net.vpc_id) and not compute.vpc_in_use(conn, net.vpc_id)


def test_a_key_pair_change_takes_effect_at_the_next_start(world: World, api: RunningServer) -> None:
    net = world.network()
    (instance_id,) = world.run(net, [world.group(net.vpc_id)])
    with store(api) as conn:  # what AttachKeyPair does to a running instance (the key-pair issue)
        compute.update_instance(conn, instance_id, pending_key_pair_name="deploy-key")
    assert world.instances(instance_ids=json.dumps([instance_id]))[0].key_pair_name == ""
    world.ecs.reboot_instance(m.RebootInstanceRequest(instance_id=instance_id))
    assert world.instances(instance_ids=json.dumps([instance_id]))[0].key_pair_name == "deploy-key"
    with store(api) as conn:  # DetachKeyPair: "" pending
        compute.update_instance(conn, instance_id, pending_key_pair_name="")
    world.ecs.stop_instance(m.StopInstanceRequest(instance_id=instance_id))
    world.ecs.start_instance(m.StartInstanceRequest(instance_id=instance_id))
    assert world.instances(instance_ids=json.dumps([instance_id]), key_pair_name="deploy-key") == []
    assert world.instances(instance_ids=json.dumps([instance_id]))[0].key_pair_name == ""
