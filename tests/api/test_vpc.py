"""VPC and vSwitch actions through both official SDK generations (Tea V3 and legacy V1).

The session server is shared with other tests, so every assertion filters by the ids created here.
"""

from __future__ import annotations

import calendar
import json
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models as m
from alibabacloud_vpc20160428.client import Client
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkvpc.request.v20160428.CreateVpcRequest import CreateVpcRequest as LegacyCreateVpc
from aliyunsdkvpc.request.v20160428.CreateVSwitchRequest import CreateVSwitchRequest as LegacyCreateVSwitch
from aliyunsdkvpc.request.v20160428.DeleteVpcRequest import DeleteVpcRequest as LegacyDeleteVpc
from aliyunsdkvpc.request.v20160428.DeleteVSwitchRequest import DeleteVSwitchRequest as LegacyDeleteVSwitch
from aliyunsdkvpc.request.v20160428.DescribeVpcsRequest import DescribeVpcsRequest as LegacyDescribeVpcs
from aliyunsdkvpc.request.v20160428.DescribeVSwitchesRequest import (
    DescribeVSwitchesRequest as LegacyDescribeVSwitches,
)

from secplane.testing import RunningServer
from tests.conftest import legacy_call

REGION = "cn-hangzhou"
ZONE = "cn-hangzhou-b"
OTHER_ZONE = "cn-hangzhou-c"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

VPC_FIELDS = {
    "VpcId", "VpcName", "Description", "CidrBlock", "Status", "RegionId", "CreationTime", "IsDefault",
    "VRouterId", "ResourceGroupId", "OwnerId", "Ipv6CidrBlock", "EnabledIpv6", "DnsHostnameStatus",
    "CenStatus", "DhcpOptionsSetId", "DhcpOptionsSetStatus", "VSwitchIds", "UserCidrs", "SecondaryCidrBlocks",
    "NatGatewayIds", "RouterTableIds", "Ipv6CidrBlocks", "Tags",
}  # fmt: skip
VSWITCH_FIELDS = {
    "VSwitchId", "VSwitchName", "Description", "VpcId", "ZoneId", "CidrBlock", "Ipv6CidrBlock", "Status",
    "CreationTime", "IsDefault", "AvailableIpAddressCount", "NetworkAclId", "ResourceGroupId", "OwnerId",
    "ShareType", "EnabledIpv6", "RouteTable", "Tags",
}  # fmt: skip
PAGE_FIELDS = {"RequestId", "TotalCount", "PageNumber", "PageSize"}


# ---------------------------------------------------------------- helpers


def new_vpc(client: Client, cidr: str | None = "10.0.0.0/16", **kw: Any) -> m.CreateVpcResponseBody:
    return client.create_vpc(m.CreateVpcRequest(region_id=REGION, cidr_block=cidr, **kw)).body


def new_vswitch(client: Client, vpc_id: str, cidr: str | None, zone: str = ZONE, **kw: Any) -> str:
    request = m.CreateVSwitchRequest(region_id=REGION, vpc_id=vpc_id, zone_id=zone, cidr_block=cidr, **kw)
    return client.create_vswitch(request).body.v_switch_id


def vpcs_by_id(client: Client, *vpc_ids: str, **kw: Any) -> m.DescribeVpcsResponseBody:
    return client.describe_vpcs(m.DescribeVpcsRequest(region_id=REGION, vpc_id=",".join(vpc_ids), **kw)).body


def vswitches(client: Client, **kw: Any) -> m.DescribeVSwitchesResponseBody:
    return client.describe_vswitches(m.DescribeVSwitchesRequest(**kw)).body


def expect_error(call: Callable[[], Any], code: str, status: int = 400) -> ClientException:
    with pytest.raises(ClientException) as err:
        call()
    assert (err.value.code, err.value.status_code) == (code, status), err.value.message
    return err.value


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def empty_vpc(vpc: Client) -> m.CreateVpcResponseBody:
    return new_vpc(vpc, "10.1.0.0/16", vpc_name=unique("errors"))


# ---------------------------------------------------------------- create / describe / delete


def test_create_vpc_then_describe_shows_every_field(vpc: Client, api: RunningServer) -> None:
    name = unique("web")
    created = new_vpc(vpc, "192.168.0.0/16", vpc_name=name, description="frontend tier")
    assert created.vpc_id.startswith("vpc-") and created.vrouter_id.startswith("vrt-")
    assert created.route_table_id.startswith("vtb-") and created.resource_group_id.startswith("rg-")
    assert created.request_id

    body = vpcs_by_id(vpc, created.vpc_id)
    raw = body.to_map()
    assert raw.keys() >= PAGE_FIELDS
    assert (body.total_count, body.page_number, body.page_size) == (1, 1, 10)
    item = raw["Vpcs"]["Vpc"][0]
    assert item.keys() >= VPC_FIELDS, VPC_FIELDS - item.keys()
    assert item["VpcId"] == created.vpc_id
    assert (item["VpcName"], item["Description"], item["CidrBlock"]) == (
        name,
        "frontend tier",
        "192.168.0.0/16",
    )
    assert (item["Status"], item["RegionId"], item["IsDefault"]) == ("Available", REGION, False)
    assert item["VRouterId"] == created.vrouter_id
    assert item["ResourceGroupId"] == created.resource_group_id
    assert item["OwnerId"] == int(api.account_id)
    assert TIME.match(item["CreationTime"])
    created_at = calendar.timegm(time.strptime(item["CreationTime"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(created_at - time.time()) < 120
    assert item["RouterTableIds"] == {"RouterTableIds": [created.route_table_id]}
    assert item["NatGatewayIds"] == {"NatGatewayIds": []}
    assert item["VSwitchIds"] == {"VSwitchId": []}
    assert item["Tags"] == {"Tag": []}
    assert item["UserCidrs"] == {"UserCidr": []}
    assert item["SecondaryCidrBlocks"] == {"SecondaryCidrBlock": []}
    assert item["Ipv6CidrBlocks"] == {"Ipv6CidrBlock": []}


def test_create_vpc_without_cidr_uses_172_16_0_0_12(vpc: Client) -> None:
    created = new_vpc(vpc, None)
    assert vpcs_by_id(vpc, created.vpc_id).vpcs.vpc[0].cidr_block == "172.16.0.0/12"


def test_vswitch_lifecycle(vpc: Client, api: RunningServer) -> None:
    created = new_vpc(vpc, "10.20.0.0/16")
    name = unique("app")
    vsw_id = new_vswitch(vpc, created.vpc_id, "10.20.1.0/24", v_switch_name=name, description="app subnet")
    assert vsw_id.startswith("vsw-")

    body = vswitches(vpc, region_id=REGION, vpc_id=created.vpc_id)
    raw = body.to_map()
    assert raw.keys() >= PAGE_FIELDS and body.total_count == 1
    item = raw["VSwitches"]["VSwitch"][0]
    assert item.keys() >= VSWITCH_FIELDS, VSWITCH_FIELDS - item.keys()
    assert (item["VSwitchId"], item["VpcId"], item["ZoneId"]) == (vsw_id, created.vpc_id, ZONE)
    assert (item["VSwitchName"], item["Description"], item["CidrBlock"]) == (
        name,
        "app subnet",
        "10.20.1.0/24",
    )
    assert (item["Status"], item["IsDefault"], item["EnabledIpv6"]) == ("Available", False, False)
    assert item["AvailableIpAddressCount"] == 252  # 256 minus .0, .253, .254, .255
    assert item["OwnerId"] == int(api.account_id)
    assert item["ResourceGroupId"] == created.resource_group_id
    assert item["RouteTable"] == {"RouteTableId": created.route_table_id, "RouteTableType": "System"}
    assert item["Tags"] == {"Tag": []}
    assert TIME.match(item["CreationTime"])

    attributes = vpc.describe_vswitch_attributes(m.DescribeVSwitchAttributesRequest(v_switch_id=vsw_id))
    attr_map = attributes.body.to_map()
    assert attr_map.keys() >= VSWITCH_FIELDS | {"RequestId"}
    assert attr_map["CidrBlock"] == "10.20.1.0/24" and attr_map["AvailableIpAddressCount"] == 252

    assert vpcs_by_id(vpc, created.vpc_id).vpcs.vpc[0].v_switch_ids.v_switch_id == [vsw_id]
    vpc_attr = vpc.describe_vpc_attribute(
        m.DescribeVpcAttributeRequest(region_id=REGION, vpc_id=created.vpc_id)
    )
    assert vpc_attr.body.v_switch_ids.v_switch_id == [vsw_id]
    assert vpc_attr.body.cloud_resources.to_map() == {
        "CloudResourceSetType": [{"ResourceCount": 1, "ResourceType": "VSwitch"}]
    }

    vpc.delete_vswitch(m.DeleteVSwitchRequest(region_id=REGION, v_switch_id=vsw_id))
    assert vswitches(vpc, vpc_id=created.vpc_id).total_count == 0
    vpc.delete_vpc(m.DeleteVpcRequest(region_id=REGION, vpc_id=created.vpc_id))
    assert vpcs_by_id(vpc, created.vpc_id).total_count == 0
    expect_error(
        lambda: vpc.describe_vpc_attribute(
            m.DescribeVpcAttributeRequest(region_id=REGION, vpc_id=created.vpc_id)
        ),
        "InvalidVpcId.NotFound",
        404,
    )


def test_describe_vpc_attribute_fields(vpc: Client) -> None:
    created = new_vpc(vpc, "10.30.0.0/16", vpc_name=unique("attr"))
    body = vpc.describe_vpc_attribute(
        m.DescribeVpcAttributeRequest(region_id=REGION, vpc_id=created.vpc_id)
    ).body
    raw = body.to_map()
    expected = VPC_FIELDS - {"CenStatus", "NatGatewayIds", "RouterTableIds"}
    assert raw.keys() >= expected | {"ClassicLinkEnabled", "CloudResources", "AssociatedCens", "RequestId"}
    assert (body.vpc_id, body.cidr_block, body.status) == (created.vpc_id, "10.30.0.0/16", "Available")
    assert raw["CloudResources"] == {"CloudResourceSetType": []}


def test_delete_vpc_with_a_vswitch_is_refused(vpc: Client) -> None:
    created = new_vpc(vpc, "10.40.0.0/16")
    vsw_id = new_vswitch(vpc, created.vpc_id, "10.40.0.0/24")
    err = expect_error(
        lambda: vpc.delete_vpc(m.DeleteVpcRequest(vpc_id=created.vpc_id)), "DependencyViolation.VSwitch"
    )
    assert "dependent resources" in err.message
    assert vpcs_by_id(vpc, created.vpc_id).total_count == 1
    vpc.delete_vswitch(m.DeleteVSwitchRequest(v_switch_id=vsw_id))  # RegionId is optional here
    vpc.delete_vpc(m.DeleteVpcRequest(vpc_id=created.vpc_id))
    assert vpcs_by_id(vpc, created.vpc_id).total_count == 0


def test_unknown_ids_are_not_found(vpc: Client) -> None:
    missing_vpc = "vpc-bp0000000000000000000"
    expect_error(lambda: vpc.delete_vpc(m.DeleteVpcRequest(vpc_id=missing_vpc)), "InvalidVpcId.NotFound", 404)
    expect_error(
        lambda: vpc.delete_vswitch(m.DeleteVSwitchRequest(v_switch_id="vsw-bp000000000000000000")),
        "InvalidVSwitchId.NotFound",
        404,
    )
    expect_error(
        lambda: vpc.describe_vswitch_attributes(m.DescribeVSwitchAttributesRequest(v_switch_id="vsw-nope")),
        "InvalidVSwitchId.NotFound",
        404,
    )


def test_a_vpc_is_not_found_under_another_region(vpc: Client) -> None:
    created = new_vpc(vpc, "10.41.0.0/16")
    expect_error(
        lambda: vpc.delete_vpc(m.DeleteVpcRequest(region_id="cn-shanghai", vpc_id=created.vpc_id)),
        "InvalidVpcId.NotFound",
        404,
    )
    shanghai = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id="cn-shanghai", vpc_id=created.vpc_id)).body
    assert shanghai.total_count == 0


# ---------------------------------------------------------------- paging and filters


def test_describe_vpcs_pages(vpc: Client) -> None:
    ids = [new_vpc(vpc, f"10.{50 + i}.0.0/16").vpc_id for i in range(3)]
    first = vpcs_by_id(vpc, *ids, page_size=2)
    second = vpcs_by_id(vpc, *ids, page_size=2, page_number=2)
    beyond = vpcs_by_id(vpc, *ids, page_size=2, page_number=3)
    assert (first.total_count, first.page_number, first.page_size) == (3, 1, 2)
    assert (second.total_count, second.page_number, second.page_size) == (3, 2, 2)
    assert len(first.vpcs.vpc) == 2 and len(second.vpcs.vpc) == 1
    assert sorted(v.vpc_id for v in first.vpcs.vpc + second.vpcs.vpc) == sorted(ids)
    assert beyond.total_count == 3 and beyond.vpcs.vpc == []
    assert [v.vpc_id for v in first.vpcs.vpc] == ids[::-1][:2]  # newest first


@pytest.mark.parametrize(("page_number", "page_size"), [(0, 10), (1, 0), (1, 51)])
def test_describe_vpcs_refuses_bad_paging(vpc: Client, page_number: int, page_size: int) -> None:
    err = expect_error(
        lambda: vpc.describe_vpcs(
            m.DescribeVpcsRequest(region_id=REGION, page_number=page_number, page_size=page_size)
        ),
        "InvalidParameter",
    )
    assert "PageNumber" in err.message or "PageSize" in err.message


def test_describe_vpcs_filters(vpc: Client, api: RunningServer) -> None:
    name = unique("filtered")
    target = new_vpc(vpc, "10.60.0.0/16", vpc_name=name)
    other = new_vpc(vpc, "10.61.0.0/16", vpc_name=unique("other"))
    both = (target.vpc_id, other.vpc_id)

    by_name = vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=REGION, vpc_name=name)).body
    assert [v.vpc_id for v in by_name.vpcs.vpc] == [target.vpc_id] and by_name.total_count == 1
    assert {v.vpc_id for v in vpcs_by_id(vpc, *both).vpcs.vpc} == set(both)
    assert vpcs_by_id(vpc, *both, is_default=False).total_count == 2
    assert vpcs_by_id(vpc, *both, is_default=True).total_count == 0
    assert vpcs_by_id(vpc, *both, resource_group_id=target.resource_group_id).total_count == 2
    assert vpcs_by_id(vpc, *both, resource_group_id="rg-acfmnotmine0000000").total_count == 0
    assert vpcs_by_id(vpc, *both, vpc_owner_id=int(api.account_id)).total_count == 2
    assert vpcs_by_id(vpc, *both, vpc_owner_id=1).total_count == 0
    assert vpcs_by_id(vpc, *both, tag=[m.DescribeVpcsRequestTag(key="env", value="prod")]).total_count == 0
    too_many = [f"vpc-x{i}" for i in range(21)]
    expect_error(lambda: vpcs_by_id(vpc, *too_many), "InvalidParameter")


def test_describe_vswitches_filters_and_pages(vpc: Client) -> None:
    created = new_vpc(vpc, "10.70.0.0/16")
    name = unique("a")
    a = new_vswitch(vpc, created.vpc_id, "10.70.1.0/24", v_switch_name=name)
    b = new_vswitch(vpc, created.vpc_id, "10.70.2.0/24", zone=OTHER_ZONE)
    c = new_vswitch(vpc, created.vpc_id, "10.70.3.0/28")

    assert {v.v_switch_id for v in vswitches(vpc, vpc_id=created.vpc_id).v_switches.v_switch} == {a, b, c}
    assert [v.v_switch_id for v in vswitches(vpc, region_id=REGION, v_switch_id=b).v_switches.v_switch] == [b]
    in_zone = vswitches(vpc, vpc_id=created.vpc_id, zone_id=OTHER_ZONE)
    assert [v.v_switch_id for v in in_zone.v_switches.v_switch] == [b] and in_zone.total_count == 1
    assert [
        v.v_switch_id for v in vswitches(vpc, vpc_id=created.vpc_id, v_switch_name=name).v_switches.v_switch
    ] == [a]
    by_table = vswitches(vpc, vpc_id=created.vpc_id, route_table_id=created.route_table_id)
    assert by_table.total_count == 3
    assert vswitches(vpc, vpc_id=created.vpc_id, is_default=True).total_count == 0
    small = next(v for v in vswitches(vpc, vpc_id=created.vpc_id).v_switches.v_switch if v.v_switch_id == c)
    assert small.available_ip_address_count == 12  # a /28 minus the four reserved addresses

    page1 = vswitches(vpc, vpc_id=created.vpc_id, page_size=2)
    page2 = vswitches(vpc, vpc_id=created.vpc_id, page_size=2, page_number=2)
    assert (page1.total_count, len(page1.v_switches.v_switch), len(page2.v_switches.v_switch)) == (3, 2, 1)
    assert {v.v_switch_id for v in page1.v_switches.v_switch + page2.v_switches.v_switch} == {a, b, c}


def test_describe_vswitches_needs_a_region_or_a_vpc(vpc: Client) -> None:
    expect_error(lambda: vswitches(vpc), "MissingParameter")


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "cidr",
    ["10.0.0.1/16", "10.0.0.0", "not-a-cidr", "10.0.0.0/7", "10.0.0.0/29", "100.64.0.0/16", "127.0.0.0/8",
     "169.254.0.0/16", "224.0.0.0/8", "100.0.0.0/8"],
)  # fmt: skip
def test_create_vpc_refuses_bad_cidr(vpc: Client, cidr: str) -> None:
    err = expect_error(lambda: new_vpc(vpc, cidr), "InvalidParameter")
    assert "CIDR block is not valid" in err.message


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"vpc_name": "x" * 129}, "InvalidVpcName.Malformed"),
        ({"vpc_name": "http://example.com"}, "InvalidVpcName.Malformed"),
        ({"description": "d" * 257}, "InvalidVpcDiscription.Malformed"),
        ({"description": "https://example.com"}, "InvalidVpcDiscription.Malformed"),
        ({"resource_group_id": "rg-acfmnotmine0000000"}, "InvalidResourceGroupId"),
    ],
)
def test_create_vpc_refuses_bad_attributes(vpc: Client, kwargs: dict[str, str], code: str) -> None:
    expect_error(lambda: new_vpc(vpc, **kwargs), code)


def test_create_vpc_accepts_the_longest_name_and_description(vpc: Client) -> None:
    name, description = "n" * 128, "描" * 256
    created = new_vpc(vpc, vpc_name=name, description=description)
    item = vpcs_by_id(vpc, created.vpc_id).vpcs.vpc[0]
    assert (item.vpc_name, item.description) == (name, description)


@pytest.mark.parametrize(
    ("cidr", "code", "status"),
    [
        ("10.1.0.0/25", "InvalidCidrBlock.Overlapped", 400),  # inside the existing 10.1.0.0/24
        ("10.1.0.0/23", "InvalidCidrBlock.Overlapped", 400),  # contains it
        ("10.2.0.0/24", "InvalidParameter", 400),  # outside the VPC's 10.1.0.0/16
        ("10.1.0.0/30", "InvalidCirdrBlock.MaskLength", 400),
        ("10.0.0.0/15", "InvalidCirdrBlock.MaskLength", 400),
        ("10.1.5.1/24", "InvalidCidrBlock.Malformed", 400),
        ("10.1.5.0", "InvalidCidrBlock.Malformed", 400),
    ],
)
def test_create_vswitch_refuses_bad_cidr(
    vpc: Client, empty_vpc: m.CreateVpcResponseBody, cidr: str, code: str, status: int
) -> None:
    new_vswitch(vpc, empty_vpc.vpc_id, "10.1.0.0/24")
    expect_error(lambda: new_vswitch(vpc, empty_vpc.vpc_id, cidr), code, status)
    assert vswitches(vpc, vpc_id=empty_vpc.vpc_id).total_count == 1


def test_create_vswitch_refuses_unknown_vpc_zone_and_region(
    vpc: Client, empty_vpc: m.CreateVpcResponseBody
) -> None:
    expect_error(
        lambda: new_vswitch(vpc, "vpc-bp0000000000000000000", "10.1.0.0/24"), "InvalidVpcId.NotFound", 404
    )
    expect_error(
        lambda: new_vswitch(vpc, empty_vpc.vpc_id, "10.1.0.0/24", zone="cn-hangzhou-z"),
        "InvalidZoneId.NotFound",
        404,
    )
    expect_error(
        lambda: new_vswitch(vpc, empty_vpc.vpc_id, "10.1.0.0/24", zone="cn-shanghai-b"),
        "InvalidZoneId.NotFound",
        404,
    )
    other_region = m.CreateVSwitchRequest(
        region_id="cn-shanghai", vpc_id=empty_vpc.vpc_id, zone_id="cn-shanghai-b", cidr_block="10.1.0.0/24"
    )
    expect_error(lambda: vpc.create_vswitch(other_region), "InvalidVpcId.NotFound", 404)
    expect_error(lambda: new_vswitch(vpc, empty_vpc.vpc_id, None), "MissingParameter")
    expect_error(
        lambda: new_vswitch(vpc, empty_vpc.vpc_id, "10.1.0.0/24", v_switch_name="x" * 129),
        "InvalidVSwitchName.Malformed",
    )
    expect_error(
        lambda: new_vswitch(vpc, empty_vpc.vpc_id, "10.1.0.0/24", description="http://x"),
        "InvalidVSwitchDiscription.Malformed",
    )
    assert vswitches(vpc, vpc_id=empty_vpc.vpc_id).total_count == 0


def test_create_vswitch_with_cidr_mask_takes_the_first_free_block(
    vpc: Client, empty_vpc: m.CreateVpcResponseBody
) -> None:
    new_vswitch(vpc, empty_vpc.vpc_id, "10.1.0.0/24")
    allocated = new_vswitch(vpc, empty_vpc.vpc_id, None, cidr_mask=24)
    cidr = vpc.describe_vswitch_attributes(
        m.DescribeVSwitchAttributesRequest(v_switch_id=allocated)
    ).body.cidr_block
    assert cidr == "10.1.1.0/24"
    expect_error(
        lambda: new_vswitch(vpc, empty_vpc.vpc_id, None, cidr_mask=30), "InvalidCirdrBlock.MaskLength"
    )
    expect_error(lambda: new_vswitch(vpc, empty_vpc.vpc_id, "10.1.8.0/24", cidr_mask=25), "InvalidParameter")


def test_vswitch_quota_per_vpc(vpc: Client) -> None:
    created = new_vpc(vpc, "10.80.0.0/16")
    for i in range(24):
        new_vswitch(vpc, created.vpc_id, f"10.80.{i}.0/24")
    err = expect_error(lambda: new_vswitch(vpc, created.vpc_id, "10.80.100.0/24"), "QuotaExceeded.VSwitch")
    assert "24" in err.message
    assert vswitches(vpc, vpc_id=created.vpc_id).total_count == 24


# ---------------------------------------------------------------- DryRun and ClientToken


def test_dry_run_validates_without_acting(vpc: Client) -> None:
    name = unique("dry")
    expect_error(lambda: new_vpc(vpc, "10.90.0.0/16", vpc_name=name, dry_run=True), "DryRunOperation")
    assert vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=REGION, vpc_name=name)).body.total_count == 0
    expect_error(lambda: new_vpc(vpc, "10.90.0.1/16", dry_run=True), "InvalidParameter")  # errors win

    created = new_vpc(vpc, "10.90.0.0/16")
    expect_error(
        lambda: vpc.delete_vpc(m.DeleteVpcRequest(vpc_id=created.vpc_id, dry_run=True)), "DryRunOperation"
    )
    assert vpcs_by_id(vpc, created.vpc_id).total_count == 1
    expect_error(lambda: vpcs_by_id(vpc, created.vpc_id, dry_run=True), "DryRunOperation")
    expect_error(lambda: vswitches(vpc, vpc_id=created.vpc_id, dry_run=True), "DryRunOperation")

    vsw_id = new_vswitch(vpc, created.vpc_id, "10.90.1.0/24")
    expect_error(
        lambda: vpc.delete_vswitch(m.DeleteVSwitchRequest(v_switch_id=vsw_id, dry_run=True)),
        "DryRunOperation",
    )
    assert vswitches(vpc, vpc_id=created.vpc_id).total_count == 1


def test_client_token_replays_create_vpc(vpc: Client) -> None:
    token, name = uuid.uuid4().hex, unique("token")
    first = new_vpc(vpc, "10.100.0.0/16", vpc_name=name, client_token=token)
    again = new_vpc(vpc, "10.100.0.0/16", vpc_name=name, client_token=token)
    assert (again.vpc_id, again.route_table_id) == (first.vpc_id, first.route_table_id)
    assert again.request_id != first.request_id
    assert vpc.describe_vpcs(m.DescribeVpcsRequest(region_id=REGION, vpc_name=name)).body.total_count == 1
    expect_error(
        lambda: new_vpc(vpc, "10.101.0.0/16", vpc_name=name, client_token=token),
        "IdempotentParameterMismatch",
    )


def test_client_token_replays_create_vswitch(vpc: Client) -> None:
    created = new_vpc(vpc, "10.102.0.0/16")
    token = uuid.uuid4().hex
    first = new_vswitch(vpc, created.vpc_id, "10.102.1.0/24", client_token=token)
    # Without the token the same block would overlap; with it the first result comes back.
    assert new_vswitch(vpc, created.vpc_id, "10.102.1.0/24", client_token=token) == first
    assert vswitches(vpc, vpc_id=created.vpc_id).total_count == 1
    expect_error(
        lambda: new_vswitch(vpc, created.vpc_id, "10.102.2.0/24", client_token=token),
        "IdempotentParameterMismatch",
    )


# ---------------------------------------------------------------- the legacy SDK (V1 signatures)


def test_legacy_sdk_create_describe_delete(api: RunningServer) -> None:
    assert api.region_id == REGION  # the legacy client sends its own region
    create = LegacyCreateVpc()
    create.set_CidrBlock("172.20.0.0/16")
    create.set_VpcName(name := unique("legacy"))
    created = json.loads(legacy_call(api, create))
    assert created["VpcId"].startswith("vpc-") and created["RouteTableId"].startswith("vtb-")

    add = LegacyCreateVSwitch()
    add.set_VpcId(created["VpcId"])
    add.set_ZoneId(ZONE)
    add.set_CidrBlock("172.20.8.0/21")
    vsw_id = json.loads(legacy_call(api, add))["VSwitchId"]

    describe = LegacyDescribeVpcs()
    describe.set_VpcId(created["VpcId"])
    body = json.loads(legacy_call(api, describe))
    assert body["TotalCount"] == 1 and body["PageNumber"] == 1 and body["PageSize"] == 10
    item = body["Vpcs"]["Vpc"][0]
    assert item.keys() >= VPC_FIELDS
    assert (item["VpcName"], item["CidrBlock"]) == (name, "172.20.0.0/16")
    assert item["VSwitchIds"] == {"VSwitchId": [vsw_id]}
    assert item["RouterTableIds"] == {"RouterTableIds": [created["RouteTableId"]]}
    assert isinstance(item["OwnerId"], int) and item["IsDefault"] is False

    listed = LegacyDescribeVSwitches()
    listed.set_VpcId(created["VpcId"])
    switches = json.loads(legacy_call(api, listed))["VSwitches"]["VSwitch"]
    assert [s["VSwitchId"] for s in switches] == [vsw_id]
    assert switches[0].keys() >= VSWITCH_FIELDS and switches[0]["AvailableIpAddressCount"] == 2044

    root = ET.fromstring(legacy_call(api, describe, fmt="XML"))
    assert root.tag == "DescribeVpcsResponse"
    assert [e.text for e in root.iterfind("Vpcs/Vpc/VSwitchIds/VSwitchId")] == [vsw_id]
    assert root.findtext("Vpcs/Vpc/RouterTableIds/RouterTableIds") == created["RouteTableId"]

    delete_vpc = LegacyDeleteVpc()
    delete_vpc.set_VpcId(created["VpcId"])
    with pytest.raises(ServerException) as err:
        legacy_call(api, delete_vpc)
    assert (err.value.get_error_code(), err.value.get_http_status()) == ("DependencyViolation.VSwitch", 400)

    delete_vsw = LegacyDeleteVSwitch()
    delete_vsw.set_VSwitchId(vsw_id)
    legacy_call(api, delete_vsw)
    legacy_call(api, delete_vpc)
    assert json.loads(legacy_call(api, describe))["TotalCount"] == 0
    with pytest.raises(ServerException) as err:
        legacy_call(api, delete_vpc)
    assert (err.value.get_error_code(), err.value.get_http_status()) == ("InvalidVpcId.NotFound", 404)


def test_legacy_sdk_refuses_overlap(api: RunningServer) -> None:
    create = LegacyCreateVpc()
    create.set_CidrBlock("172.21.0.0/16")
    vpc_id = json.loads(legacy_call(api, create))["VpcId"]
    for expected in (None, "InvalidCidrBlock.Overlapped"):
        add = LegacyCreateVSwitch()
        add.set_VpcId(vpc_id)
        add.set_ZoneId(ZONE)
        add.set_CidrBlock("172.21.0.0/24")
        if expected is None:
            legacy_call(api, add)
            continue
        with pytest.raises(ServerException) as err:
            legacy_call(api, add)
        assert (err.value.get_error_code(), err.value.get_http_status()) == (expected, 400)


# ---------------------------------------------------------------- SQLite and PostgreSQL


def test_lifecycle_on_each_database(any_api: RunningServer) -> None:
    client = Client(any_api.tea_config())
    created = new_vpc(client, "10.110.0.0/16", vpc_name=unique("db"))
    vsw_id = new_vswitch(client, created.vpc_id, "10.110.0.0/24")
    expect_error(
        lambda: new_vswitch(client, created.vpc_id, "10.110.0.128/25"), "InvalidCidrBlock.Overlapped"
    )
    assert vpcs_by_id(client, created.vpc_id).vpcs.vpc[0].v_switch_ids.v_switch_id == [vsw_id]
    expect_error(
        lambda: client.delete_vpc(m.DeleteVpcRequest(vpc_id=created.vpc_id)), "DependencyViolation.VSwitch"
    )
    client.delete_vswitch(m.DeleteVSwitchRequest(v_switch_id=vsw_id))
    client.delete_vpc(m.DeleteVpcRequest(vpc_id=created.vpc_id))
    assert vpcs_by_id(client, created.vpc_id).total_count == 0


def _race(running: RunningServer, vpc_id: str, cidrs: list[str]) -> list[str]:
    """Create vSwitches at once, one client per thread; the outcome code of each call."""

    def attempt(cidr: str) -> str:
        client = Client(running.tea_config())
        try:
            new_vswitch(client, vpc_id, cidr)
            return "ok"
        except ClientException as err:
            return str(err.code)

    with ThreadPoolExecutor(len(cidrs)) as pool:
        return list(pool.map(attempt, cidrs))


def test_concurrent_creates_keep_the_quota_and_overlap_rules(any_api: RunningServer) -> None:
    client = Client(any_api.tea_config())
    created = new_vpc(client, "10.120.0.0/16")
    for i in range(22):
        new_vswitch(client, created.vpc_id, f"10.120.{i}.0/24")
    outcomes = _race(any_api, created.vpc_id, [f"10.120.{100 + i}.0/24" for i in range(6)])
    assert sorted(outcomes) == ["QuotaExceeded.VSwitch"] * 4 + ["ok"] * 2
    assert vswitches(client, vpc_id=created.vpc_id).total_count == 24

    other = new_vpc(client, "10.121.0.0/16")
    outcomes = _race(any_api, other.vpc_id, ["10.121.0.0/24"] * 5)
    assert sorted(outcomes) == ["InvalidCidrBlock.Overlapped"] * 4 + ["ok"]


def test_vpc_and_vswitch_deletes_wait_for_instances_and_groups(vpc, ecs) -> None:
    """DeleteVSwitch refuses while an instance uses it, DeleteVpc while a group lives in it, and the
    vSwitch's free addresses count the instance's address."""
    from alibabacloud_ecs20140526 import models as ecs_models

    vpc_id = vpc.create_vpc(m.CreateVpcRequest(region_id=REGION, cidr_block="10.60.0.0/16")).body.vpc_id
    vsw_id = vpc.create_vswitch(
        m.CreateVSwitchRequest(vpc_id=vpc_id, zone_id=ZONE, cidr_block="10.60.1.0/24")
    ).body.v_switch_id
    group_id = ecs.create_security_group(
        ecs_models.CreateSecurityGroupRequest(region_id=REGION, vpc_id=vpc_id)
    ).body.security_group_id
    instance_id = ecs.run_instances(
        ecs_models.RunInstancesRequest(
            region_id=REGION,
            image_id="ubuntu_22_04_x64_20G_alibase_20230907.vhd",
            instance_type="ecs.g7.large",
            security_group_id=group_id,
            v_switch_id=vsw_id,
        )
    ).body.instance_id_sets.instance_id_set[0]
    switch = vpc.describe_vswitches(m.DescribeVSwitchesRequest(region_id=REGION, v_switch_id=vsw_id))
    assert switch.body.v_switches.v_switch[0].available_ip_address_count == 256 - 4 - 1
    with pytest.raises(ClientException) as err:
        vpc.delete_vswitch(m.DeleteVSwitchRequest(region_id=REGION, v_switch_id=vsw_id))
    assert err.value.code == "DependencyViolation"
    ecs.delete_instance(ecs_models.DeleteInstanceRequest(instance_id=instance_id, force=True))
    vpc.delete_vswitch(m.DeleteVSwitchRequest(region_id=REGION, v_switch_id=vsw_id))
    with pytest.raises(ClientException) as err:
        vpc.delete_vpc(m.DeleteVpcRequest(region_id=REGION, vpc_id=vpc_id))
    assert err.value.code == "DependencyViolation.SecurityGroup"
