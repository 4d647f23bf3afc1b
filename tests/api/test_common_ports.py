"""``CheckCommonPorts`` (Secplane 2026-11-28) over HTTP with the official generic clients: for each common
service port of an instance or ENI, the verdict from the internet and from the private network, the
rule (or implicit behaviour) that decides it, and how much of each network gets in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aliyunsdkcore.request import CommonRequest

from secplane.domain.risk import COMMON_PORTS
from secplane.operations.registry import REGISTRY
from secplane.testing import RunningServer
from tests.api.test_check_network_access import egress, ingress, rules_of
from tests.api.test_instances import REGION, World
from tests.api.test_risk import VERSION, secplane_call, secplane_error
from tests.conftest import legacy_call

pytestmark = pytest.mark.skipif(
    (VERSION, "CheckCommonPorts") not in REGISTRY, reason="CheckCommonPorts is not in the registry yet"
)

Body = dict[str, Any]


def ports_of(body: Body) -> dict[tuple[str, int], Body]:
    return {(p["IpProtocol"], p["Port"]): p for p in body["CommonPorts"]["CommonPort"]}


def summary(side: Body) -> tuple[str, str, int | None, str, list[str]]:
    """(verdict, reason, deciding priority, exposure, what accepts: rule descriptions or reasons)."""
    accepting = [a.get("Description") or a["Reason"] for a in side["AcceptingRules"]["AcceptingRule"]]
    rule = side.get("DecidingRule") or {}
    return side["Verdict"], side["Reason"], rule.get("Priority"), side["Exposure"], accepting


@pytest.fixture(scope="module")
def world(api: RunningServer) -> World:
    return World(api)


def test_common_ports_of_a_vpc_instance(api: RunningServer, world: World) -> None:
    net = world.network()
    web, app = world.group(net.vpc_id), world.group(net.vpc_id)
    for port, source, description in (
        ("80/80", "0.0.0.0/0", "web"),
        ("22/22", "203.0.113.0/24", "office ssh"),
        ("3389/3389", "0.0.0.0/0", "rdp"),
    ):
        ingress(world, web, IpProtocol="TCP", PortRange=port, SourceCidrIp=source, Description=description)
    ingress(world, web, IpProtocol="TCP", PortRange="3389/3389", SourceCidrIp="0.0.0.0/0", Policy="drop")
    ingress(world, web, IpProtocol="TCP", PortRange="3306/3306", SourceGroupId=app, Description="app tier")
    ingress(world, web, IpProtocol="UDP", PortRange="53/53", SourceCidrIp="10.0.0.0/8", Description="dns")
    (instance,) = world.run(net, [web])
    world.run(net, [app])  # a member of the app group, whose address the 3306 rule lets in

    body = secplane_call(api, "CheckCommonPorts", InstanceId=instance)
    assert body["InstanceId"] == instance and body["NetworkInterfaceId"].startswith("eni-")
    ports = ports_of(body)
    assert [(p.protocol, p.port) for p in COMMON_PORTS] == [
        (p["IpProtocol"], p["Port"]) for p in body["CommonPorts"]["CommonPort"]
    ]
    assert ports[("TCP", 22)]["Service"] == "SSH"

    http = ports[("TCP", 80)]
    assert summary(http["Internet"]) == ("Accept", "Rule", 1, "Full", ["web"])
    # members of the instance's group get in by the intra-group policy before any rule
    assert summary(http["Intranet"]) == ("Accept", "Rule", 1, "Full", ["web", "IntraGroupAccept"])
    assert (
        http["Internet"]["ReasonEn"].startswith("Accepted by rule") and "放行" in http["Internet"]["ReasonZh"]
    )

    ssh = ports[("TCP", 22)]
    assert summary(ssh["Internet"]) == ("Drop", "ImplicitInboundDeny", None, "Partial", ["office ssh"])
    # on the private network only members of the instance's own group get in (intra-group policy)
    assert summary(ssh["Intranet"]) == ("Drop", "ImplicitInboundDeny", None, "Partial", ["IntraGroupAccept"])

    rdp = ports[("TCP", 3389)]  # an accept and a drop on the same match: the drop decides
    assert summary(rdp["Internet"]) == ("Drop", "Rule", 1, "None", [])
    assert rdp["Internet"]["DecidingRule"]["Policy"] == "Drop"

    mysql = ports[("TCP", 3306)]
    assert summary(mysql["Internet"]) == ("Drop", "ImplicitInboundDeny", None, "None", [])
    assert summary(mysql["Intranet"])[3:] == ("Partial", ["IntraGroupAccept", "app tier"])

    dns = ports[("UDP", 53)]  # 10.0.0.0/8 is most of the private space
    assert summary(dns["Intranet"]) == ("Accept", "Rule", 1, "Partial", ["dns", "IntraGroupAccept"])
    assert summary(ports[("TCP", 53)]["Intranet"])[:2] == ("Drop", "ImplicitInboundDeny")
    rule_ids = {r["SecurityGroupRuleId"] for r in rules_of(world, web)}
    assert dns["Intranet"]["DecidingRule"]["SecurityGroupRuleId"] in rule_ids


def test_a_network_interface_and_its_own_groups(api: RunningServer, world: World) -> None:
    from alibabacloud_ecs20140526 import models as m

    net = world.network()
    open_group = world.group(net.vpc_id)
    ingress(world, open_group, IpProtocol="ALL", PortRange="-1/-1", SourceCidrIp="0.0.0.0/0")
    egress(world, open_group, IpProtocol="ALL", PortRange="-1/-1", DestCidrIp="0.0.0.0/0", Policy="drop")
    eni = world.ecs.create_network_interface(
        m.CreateNetworkInterfaceRequest(
            region_id=REGION, v_switch_id=net.vswitch_id, security_group_id=open_group
        )
    ).body.network_interface_id
    body = secplane_call(api, "CheckCommonPorts", NetworkInterfaceId=eni)
    assert body["InstanceId"] == "" and body["NetworkInterfaceId"] == eni
    for entry in body["CommonPorts"]["CommonPort"]:
        assert summary(entry["Internet"])[::3] == ("Accept", "Full"), entry


def test_a_classic_instance_faces_the_internet_with_its_internet_nic_rules(
    api: RunningServer, world: World
) -> None:
    group = world.group()  # classic
    ingress(world, group, IpProtocol="TCP", PortRange="22/22", SourceCidrIp="0.0.0.0/0", NicType="internet")
    (instance,) = world.run(None, [group])
    ssh = ports_of(secplane_call(api, "CheckCommonPorts", InstanceId=instance))[("TCP", 22)]
    assert summary(ssh["Internet"])[::3] == ("Accept", "Full")
    assert summary(ssh["Intranet"])[:2] == ("Drop", "ImplicitInboundDeny")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (400, "MissingParameter")),
        ({"InstanceId": "i-doesnotexist"}, (404, "InvalidInstanceId.NotFound")),
        ({"NetworkInterfaceId": "eni-doesnotexist"}, (404, "InvalidEniId.NotFound")),
        ({"InstanceId": "i-x", "NetworkInterfaceId": "eni-x"}, (400, "InvalidParameter")),
    ],
)
def test_bad_requests_get_alibaba_style_errors(
    api: RunningServer, params: Body, expected: tuple[int, str]
) -> None:
    assert secplane_error(api, "CheckCommonPorts", **params) == expected


def test_legacy_common_request_and_xml(api: RunningServer, world: World) -> None:
    net = world.network()
    (instance,) = world.run(net, [world.group(net.vpc_id)])
    request = CommonRequest(domain=api.endpoint, version=VERSION, action_name="CheckCommonPorts")
    request.set_method("POST")
    request.add_query_param("RegionId", REGION)
    request.add_query_param("InstanceId", instance)
    body = json.loads(legacy_call(api, request))
    assert len(body["CommonPorts"]["CommonPort"]) == len(COMMON_PORTS) and body["RequestId"]
    raw = legacy_call(api, request, "XML")
    assert b"<CheckCommonPortsResponse>" in raw and b"<CommonPort>" in raw and b"<Exposure>" in raw
