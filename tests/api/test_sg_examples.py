"""The worked examples of Alibaba's security-group guide, each through the Tea SDK and the legacy SDK and
read back with DescribeSecurityGroupAttribute.

Rules are written with their wire names (``{"IpProtocol": "TCP", ...}``): the Tea SDK builds its
models from them (``from_map``), the legacy SDK sends them through ``set_Permissions``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from aliyunsdkecs.request.v20140526 import (
    AuthorizeSecurityGroupEgressRequest,
    AuthorizeSecurityGroupRequest,
    DescribeSecurityGroupAttributeRequest,
)

from secplane.testing import RunningServer
from tests.api.test_security_groups import new_group, new_vpc, other_account

Wire = dict[str, Any]


@dataclass
class Sdk:
    """Authorize and read back rules through one SDK generation, signed as one account."""

    name: str
    running: RunningServer
    config: Any

    @property
    def tea(self) -> Client:
        return Client(self.config)

    def authorize(self, group_id: str, *rules: Wire, egress: bool = False) -> None:
        if self.name == "tea":
            self._tea_authorize(group_id, list(rules), egress)
            return
        request = (
            AuthorizeSecurityGroupEgressRequest.AuthorizeSecurityGroupEgressRequest()
            if egress
            else AuthorizeSecurityGroupRequest.AuthorizeSecurityGroupRequest()
        )
        request.set_SecurityGroupId(group_id)
        request.set_Permissions(list(rules))
        self._legacy(request)

    def _tea_authorize(self, group_id: str, rules: list[Wire], egress: bool) -> None:
        region = self.running.region_id
        if egress:
            items = [m.AuthorizeSecurityGroupEgressRequestPermissions().from_map(r) for r in rules]
            request = m.AuthorizeSecurityGroupEgressRequest(
                region_id=region, security_group_id=group_id, permissions=items
            )
            self.tea.authorize_security_group_egress(request)
        else:
            ingress = [m.AuthorizeSecurityGroupRequestPermissions().from_map(r) for r in rules]
            self.tea.authorize_security_group(
                m.AuthorizeSecurityGroupRequest(
                    region_id=region, security_group_id=group_id, permissions=ingress
                )
            )

    def rules(self, group_id: str) -> list[Wire]:
        if self.name == "tea":
            request = m.DescribeSecurityGroupAttributeRequest(
                region_id=self.running.region_id, security_group_id=group_id
            )
            return self.tea.describe_security_group_attribute(request).body.to_map()["Permissions"][
                "Permission"
            ]
        legacy = DescribeSecurityGroupAttributeRequest.DescribeSecurityGroupAttributeRequest()
        legacy.set_SecurityGroupId(group_id)
        return json.loads(self._legacy(legacy))["Permissions"]["Permission"]

    def _legacy(self, request: Any) -> bytes:
        request.set_endpoint(self.running.endpoint)
        request.set_protocol_type("http")
        request.set_accept_format("JSON")
        from aliyunsdkcore.client import AcsClient

        client = AcsClient(self.config.access_key_id, self.config.access_key_secret, self.running.region_id)
        return client.do_action_with_exception(request)


@pytest.fixture(params=["tea", "legacy"])
def sdk(request: pytest.FixtureRequest, api: RunningServer) -> Sdk:
    return Sdk(request.param, api, api.tea_config())


@pytest.fixture
def vpc_id(api: RunningServer) -> str:
    return new_vpc(api)


def group_in(sdk: Sdk, vpc_id: str, name: str = "") -> str:
    return new_group(sdk.tea, sdk.running.region_id, vpc_id, security_group_name=name or None)


def shape(rule: Wire, *fields: str) -> tuple[Any, ...]:
    return tuple(rule[f] for f in fields)


BASIC = ("Direction", "Policy", "Priority", "IpProtocol", "PortRange")


def test_web_server_open_to_the_internet(sdk: Sdk, vpc_id: str) -> None:
    web = group_in(sdk, vpc_id, "web")
    sdk.authorize(
        web,
        {"IpProtocol": "TCP", "PortRange": "80/80", "SourceCidrIp": "0.0.0.0/0", "Description": "HTTP"},
        {"IpProtocol": "TCP", "PortRange": "443/443", "SourceCidrIp": "0.0.0.0/0", "Description": "HTTPS"},
    )
    assert [shape(r, *BASIC, "SourceCidrIp", "Description") for r in sdk.rules(web)] == [
        ("ingress", "Accept", 1, "TCP", "80/80", "0.0.0.0/0", "HTTP"),
        ("ingress", "Accept", 1, "TCP", "443/443", "0.0.0.0/0", "HTTPS"),
    ]


def test_remote_login_from_one_address(sdk: Sdk, vpc_id: str) -> None:
    admin = group_in(sdk, vpc_id)
    sdk.authorize(
        admin,
        {"IpProtocol": "TCP", "PortRange": "22/22", "SourceCidrIp": "203.0.113.10", "Description": "SSH"},
        {"IpProtocol": "TCP", "PortRange": "3389/3389", "SourceCidrIp": "203.0.113.10", "Description": "RDP"},
    )
    assert [shape(r, "PortRange", "SourceCidrIp", "Policy") for r in sdk.rules(admin)] == [
        ("22/22", "203.0.113.10", "Accept"),
        ("3389/3389", "203.0.113.10", "Accept"),
    ]


def test_group_a_reaches_group_b_ftp_in_the_same_account(sdk: Sdk, vpc_id: str) -> None:
    group_a = group_in(sdk, vpc_id, "clients")
    group_b = group_in(sdk, vpc_id, "ftp-servers")
    sdk.authorize(
        group_b, {"IpProtocol": "TCP", "PortRange": "21/21", "SourceGroupId": group_a, "NicType": "intranet"}
    )
    [rule] = sdk.rules(group_b)
    assert shape(rule, *BASIC, "SourceGroupId", "SourceGroupName", "SourceGroupOwnerAccount", "NicType") == (
        "ingress", "Accept", 1, "TCP", "21/21", group_a, "clients", "", "intranet",
    )  # fmt: skip


def test_group_a_reaches_group_b_ftp_across_accounts(sdk: Sdk, api: RunningServer) -> None:
    group_a = group_in(sdk, new_vpc(api), "clients")
    other_id, config = other_account(api)
    owner_b = Sdk(sdk.name, api, config)
    group_b = new_group(owner_b.tea, api.region_id, new_vpc(api, config=config))
    owner_b.authorize(
        group_b,
        {
            "IpProtocol": "TCP",
            "PortRange": "21/21",
            "SourceGroupId": group_a,
            "SourceGroupOwnerAccount": api.account_id,
        },
    )
    [rule] = owner_b.rules(group_b)
    assert shape(rule, "PortRange", "SourceGroupId", "SourceGroupOwnerAccount", "SourceCidrIp") == (
        "21/21",
        group_a,
        api.account_id,
        "",
    )
    refs = sdk.tea.describe_security_group_references(
        m.DescribeSecurityGroupReferencesRequest(region_id=api.region_id, security_group_id=[group_a])
    ).body.to_map()["SecurityGroupReferences"]["SecurityGroupReference"]
    assert refs[0]["ReferencingSecurityGroups"]["ReferencingSecurityGroup"] == [
        {"SecurityGroupId": group_b, "AliUid": other_id}
    ]


def test_database_port_from_an_address_a_network_a_group_and_another_account(
    sdk: Sdk, api: RunningServer, vpc_id: str
) -> None:
    database = group_in(sdk, vpc_id, "mysql")
    app_servers = group_in(sdk, vpc_id, "app")
    other_id, config = other_account(api)
    theirs = new_group(Client(config), api.region_id, new_vpc(api, config=config))
    mysql = {"IpProtocol": "TCP", "PortRange": "3306/3306"}
    sdk.authorize(
        database,
        {**mysql, "SourceCidrIp": "192.0.2.15"},
        {**mysql, "SourceCidrIp": "198.51.100.0/24"},
        {**mysql, "SourceGroupId": app_servers},
        {**mysql, "SourceGroupId": theirs, "SourceGroupOwnerId": other_id},
    )
    rules = sdk.rules(database)
    assert [
        shape(r, "PortRange", "SourceCidrIp", "SourceGroupId", "SourceGroupOwnerAccount") for r in rules
    ] == [
        ("3306/3306", "192.0.2.15", "", ""),
        ("3306/3306", "198.51.100.0/24", "", ""),
        ("3306/3306", "", app_servers, ""),
        ("3306/3306", "", theirs, other_id),
    ]
    assert rules[2]["SourceGroupName"] == "app"


def test_ping_over_ipv4_and_ipv6(sdk: Sdk, vpc_id: str) -> None:
    pingable = group_in(sdk, vpc_id)
    sdk.authorize(
        pingable,
        {"IpProtocol": "ICMP", "PortRange": "-1/-1", "SourceCidrIp": "0.0.0.0/0"},
        {"IpProtocol": "ICMPv6", "PortRange": "-1/-1", "Ipv6SourceCidrIp": "::/0"},
    )
    assert [
        shape(r, "IpProtocol", "PortRange", "SourceCidrIp", "Ipv6SourceCidrIp") for r in sdk.rules(pingable)
    ] == [
        ("ICMP", "-1/-1", "0.0.0.0/0", ""),
        ("ICMPv6", "-1/-1", "", "::/0"),
    ]


def test_outbound_only_to_two_sites(sdk: Sdk, vpc_id: str) -> None:
    locked_down = group_in(sdk, vpc_id)
    sdk.authorize(
        locked_down,
        {
            "IpProtocol": "ALL",
            "PortRange": "-1/-1",
            "DestCidrIp": "0.0.0.0/0",
            "Policy": "drop",
            "Priority": "2",
        },
        egress=True,
    )
    sites = [
        {"IpProtocol": "TCP", "PortRange": port, "DestCidrIp": site, "Policy": "accept", "Priority": "1"}
        for site in ("192.0.2.80", "198.51.100.80")
        for port in ("80/80", "443/443")
    ]
    sdk.authorize(locked_down, *sites, egress=True)
    rules = sdk.rules(locked_down)
    assert [shape(r, *BASIC, "DestCidrIp") for r in rules] == [
        ("egress", "Drop", 2, "ALL", "-1/-1", "0.0.0.0/0"),
        ("egress", "Accept", 1, "TCP", "80/80", "192.0.2.80"),
        ("egress", "Accept", 1, "TCP", "443/443", "192.0.2.80"),
        ("egress", "Accept", 1, "TCP", "80/80", "198.51.100.80"),
        ("egress", "Accept", 1, "TCP", "443/443", "198.51.100.80"),
    ]
    assert all(r["SourceCidrIp"] == "" for r in rules)
