"""``CheckNetworkAccess`` (Secplane 2026-11-28) over HTTP with the official generic clients: the Tea
``call_api`` and the legacy ``CommonRequest``. The world (VPCs, groups, rules, instances) is built with
the ECS and VPC SDKs, so every answer is the engine's verdict on state the real API created."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_util import models as util_models
from aliyunsdkcore.request import CommonRequest
from sqlalchemy import event

from secplane.domain.engine import Flow
from secplane.operations.registry import REGISTRY
from secplane.store import engine_inputs
from secplane.store.db import Database
from secplane.testing import RunningServer
from tests.api.test_instances import REGION, World
from tests.conftest import legacy_call

VERSION = "2026-11-28"
ECS_ACTIONS = (
    "CreateSecurityGroup", "AuthorizeSecurityGroup", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroup",
    "ModifySecurityGroupPolicy", "RunInstances", "JoinSecurityGroup", "LeaveSecurityGroup",
    "CreateNetworkInterface", "CreatePrefixList", "ModifyPrefixList",
)  # fmt: skip
NEEDED = {("2014-05-26", a) for a in ECS_ACTIONS} | {
    ("2016-04-28", "CreateVpc"),
    ("2016-04-28", "CreateVSwitch"),
    (VERSION, "CheckNetworkAccess"),
}
pytestmark = pytest.mark.skipif(
    not REGISTRY.keys() >= NEEDED,
    reason=f"actions not in the registry yet: {sorted(a for _, a in NEEDED - REGISTRY.keys())}",
)

Body = dict[str, Any]


def check(api: RunningServer, **params: Any) -> Body:
    """Call CheckNetworkAccess with the Tea generic client, as the README shows."""
    query = {"RegionId": REGION, **{k: str(v) for k, v in params.items()}}
    client = OpenApiClient(api.tea_config())
    call = open_api_models.Params(
        action="CheckNetworkAccess", version=VERSION, protocol="HTTP", pathname="/", method="POST",
        auth_type="AK", style="RPC", body_type="json", req_body_type="json",
    )  # fmt: skip
    response = client.call_api(
        call, open_api_models.OpenApiRequest(query=query), util_models.RuntimeOptions()
    )
    assert response["statusCode"] == 200
    body: Body = response["body"]
    return body


def check_error(api: RunningServer, **params: Any) -> tuple[int, str]:
    with pytest.raises(ClientException) as info:
        check(api, **params)
    return info.value.status_code, info.value.code  # type: ignore[attr-defined]


def deciding(body: Body) -> tuple[str, str, int | None]:
    rule = body.get("DecidingRule") or {}
    return body["Verdict"], body["Reason"], rule.get("Priority")


@pytest.fixture(scope="module")
def world(api: RunningServer) -> World:
    return World(api)


def rules_of(world: World, group_id: str) -> list[Body]:
    request = m.DescribeSecurityGroupAttributeRequest(region_id=REGION, security_group_id=group_id)
    permissions: list[Body] = world.ecs.describe_security_group_attribute(request).body.to_map()[
        "Permissions"
    ]["Permission"]
    return permissions


def egress(world: World, group_id: str, **rule: Any) -> None:
    request = m.AuthorizeSecurityGroupEgressRequest(
        region_id=REGION,
        security_group_id=group_id,
        permissions=[m.AuthorizeSecurityGroupEgressRequestPermissions().from_map(rule)],
    )
    world.ecs.authorize_security_group_egress(request)


def ingress(world: World, group_id: str, **rule: Any) -> None:
    request = m.AuthorizeSecurityGroupRequest(
        region_id=REGION,
        security_group_id=group_id,
        permissions=[m.AuthorizeSecurityGroupRequestPermissions().from_map(rule)],
    )
    world.ecs.authorize_security_group(request)


def private_ip(world: World, instance_id: str) -> str:
    attribute = world.attribute(instance_id)
    addresses = (
        attribute.vpc_attributes.private_ip_address.ip_address or attribute.inner_ip_address.ip_address
    )
    return str(addresses[0])


# ---------------------------------------------------------------- the guide's examples (acceptance)


def test_outbound_only_to_two_sites(api: RunningServer, world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    egress(
        world, group, IpProtocol="ALL", PortRange="-1/-1", DestCidrIp="0.0.0.0/0", Policy="drop", Priority="2"
    )
    for site in ("47.100.1.10", "47.100.2.20"):
        for port in ("80/80", "443/443"):
            egress(
                world,
                group,
                IpProtocol="TCP",
                PortRange=port,
                DestCidrIp=site,
                Priority="1",
                Description=site,
            )
    (instance,) = world.run(net, [group])
    by_id = {r["SecurityGroupRuleId"]: r for r in rules_of(world, group)}

    first = check(
        api, InstanceId=instance, Direction="egress", IpProtocol="TCP", PeerAddress="47.100.1.10", Port=80
    )
    assert deciding(first) == ("Accept", "Rule", 1)
    decided = by_id[first["DecidingRule"]["SecurityGroupRuleId"]]
    assert (decided["DestCidrIp"], decided["PortRange"], first["DecidingRule"]["Description"]) == (
        "47.100.1.10",
        "80/80",
        "47.100.1.10",
    )
    assert first["DecidingRule"]["SecurityGroupId"] == group
    assert [r["Priority"] for r in first["MatchedRules"]["MatchedRule"]] == [1, 2]
    assert first["ReasonEn"].startswith("Accepted by rule") and first["ReasonZh"].startswith("放行")

    elsewhere = check(
        api, InstanceId=instance, Direction="egress", IpProtocol="TCP", PeerAddress="8.8.8.8", Port=80
    )
    assert deciding(elsewhere) == ("Drop", "Rule", 2)
    assert by_id[elsewhere["DecidingRule"]["SecurityGroupRuleId"]]["IpProtocol"] == "ALL"
    (hop,) = elsewhere["Hops"]["Hop"]
    assert (hop["InstanceId"], hop["Direction"], hop["NicType"], hop["PeerAddress"]) == (
        instance,
        "egress",
        "intranet",
        "8.8.8.8",
    )


def test_accept_and_drop_on_the_same_match_and_priority_drop_wins(api: RunningServer, world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    for policy in ("accept", "drop"):
        ingress(world, group, IpProtocol="TCP", PortRange="22/22", SourceCidrIp="10.0.0.0/8", Policy=policy)
    (instance,) = world.run(net, [group])
    body = check(
        api, InstanceId=instance, Direction="ingress", IpProtocol="TCP", PeerAddress="10.1.2.3", Port=22
    )
    assert deciding(body) == ("Drop", "Rule", 1)
    assert body["DecidingRule"]["Policy"] == "Drop"
    assert [r["Policy"] for r in body["MatchedRules"]["MatchedRule"]] == ["Drop", "Accept"]


def test_normal_group_without_rules_lets_members_reach_each_other(api: RunningServer, world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    a, b = world.run(net, [group], amount=2)
    path = check(api, InstanceId=a, Direction="ingress", IpProtocol="TCP", PeerInstanceId=b, Port=3306)
    assert (path["Verdict"], path["Reason"]) == ("Accept", "IntraGroupAccept")
    out, into = path["Hops"]["Hop"]
    assert (out["InstanceId"], out["Direction"], out["Reason"]) == (b, "egress", "IntraGroupAccept")
    assert (into["InstanceId"], into["Direction"], into["Reason"]) == (a, "ingress", "IntraGroupAccept")
    assert (out["PeerAddress"], into["PeerAddress"]) == (private_ip(world, a), private_ip(world, b))
    outside = check(
        api, InstanceId=a, Direction="ingress", IpProtocol="TCP", PeerAddress="203.0.113.9", Port=22
    )
    assert deciding(outside) == ("Drop", "ImplicitInboundDeny", None)
    out_of = check(
        api, InstanceId=a, Direction="egress", IpProtocol="UDP", PeerAddress="203.0.113.9", Port=53
    )
    assert deciding(out_of) == ("Accept", "ImplicitOutboundAllow", None)


def test_enterprise_group_isolates_its_members(api: RunningServer, world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id, kind="enterprise")
    a, b = world.run(net, [group], amount=2)
    path = check(api, InstanceId=a, Direction="egress", IpProtocol="TCP", PeerInstanceId=b, Port=22)
    assert (path["Verdict"], path["Reason"]) == ("Drop", "EnterpriseIsolation")
    assert [(h["InstanceId"], h["Verdict"]) for h in path["Hops"]["Hop"]] == [(a, "Drop"), (b, "Drop")]
    assert "isolated" in path["ReasonEn"] and "隔离" in path["ReasonZh"]


def test_inner_access_policy_drop_then_needs_a_rule(api: RunningServer, world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    a, b = world.run(net, [group], amount=2)
    ask = {"InstanceId": a, "Direction": "ingress", "IpProtocol": "TCP", "PeerInstanceId": b, "Port": 22}
    assert check(api, **ask)["Reason"] == "IntraGroupAccept"
    world.ecs.modify_security_group_policy(
        m.ModifySecurityGroupPolicyRequest(
            region_id=REGION, security_group_id=group, inner_access_policy="Drop"
        )
    )
    isolated = check(api, **ask)  # the cached compiled form is rebuilt: the group's revision changed
    assert (isolated["Verdict"], isolated["Reason"]) == ("Drop", "IntraGroupDrop")
    out, into = isolated["Hops"]["Hop"]
    assert (out["Verdict"], out["Reason"]) == ("Accept", "ImplicitOutboundAllow")
    assert (into["Verdict"], into["Reason"]) == ("Drop", "IntraGroupDrop")
    ingress(
        world, group, IpProtocol="TCP", PortRange="22/22", SourceCidrIp=private_ip(world, b), Priority="5"
    )
    allowed = check(api, **ask)
    assert deciding(allowed) == ("Accept", "Rule", 5)
    assert check(api, **{**ask, "Port": 23})["Reason"] == "IntraGroupDrop"


def test_group_authorization_does_not_apply_on_the_internet_nic_of_a_classic_instance(
    api: RunningServer, world: World
) -> None:
    admin, web = world.group(), world.group()  # classic groups
    ingress(world, web, IpProtocol="TCP", PortRange="22/22", SourceGroupId=admin)
    ingress(
        world, web, IpProtocol="TCP", PortRange="80/80", SourceCidrIp="0.0.0.0/0"
    )  # classic: internet NIC
    (bastion,) = world.run(None, [admin])
    (server,) = world.run(None, [web])
    ask = {"InstanceId": server, "Direction": "ingress", "IpProtocol": "TCP", "Port": 22}
    private = check(api, **ask, PeerInstanceId=bastion)
    assert (private["Verdict"], private["Reason"]) == ("Accept", "Rule")
    assert private["Hops"]["Hop"][1]["DecidingRule"]["SecurityGroupId"] == web
    public = check(api, **ask, PeerAddress=private_ip(world, bastion), NicType="internet")
    assert deciding(public) == ("Drop", "GroupAuthorizationNotOnInternet", None)
    assert "private-network" in public["ReasonEn"] and "内网" in public["ReasonZh"]
    web_port = check(api, **{**ask, "Port": 80}, PeerAddress="198.51.100.7", NicType="internet")
    assert deciding(web_port) == ("Accept", "Rule", 1)
    assert check(api, **{**ask, "Port": 80}, PeerAddress="198.51.100.7")["Verdict"] == "Drop"
    assert check_error(api, **ask, PeerInstanceId=bastion, NicType="internet") == (400, "InvalidParameter")


# ---------------------------------------------------------------- what a check depends on, kept fresh


def test_answers_follow_rule_membership_and_prefix_list_changes(api: RunningServer, world: World) -> None:
    net = world.network()
    db, app = world.group(net.vpc_id), world.group(net.vpc_id)
    ingress(world, db, IpProtocol="TCP", PortRange="3306/3306", SourceGroupId=app, Description="app tier")
    (database,) = world.run(net, [db])
    (worker,) = world.run(net, [world.group(net.vpc_id)])
    ask = {"InstanceId": database, "Direction": "ingress", "IpProtocol": "TCP", "Port": 3306}
    by_address = {**ask, "PeerAddress": private_ip(world, worker)}
    assert check(api, **by_address)["Verdict"] == "Drop"
    world.ecs.join_security_group(m.JoinSecurityGroupRequest(instance_id=worker, security_group_id=app))
    joined = check(api, **by_address)  # the referenced group's members changed: its revision too
    assert deciding(joined) == ("Accept", "Rule", 1) and joined["DecidingRule"]["Description"] == "app tier"
    assert check(api, **ask, PeerInstanceId=worker)["Verdict"] == "Accept"
    world.ecs.leave_security_group(m.LeaveSecurityGroupRequest(instance_id=worker, security_group_id=app))
    assert check(api, **by_address)["Verdict"] == "Drop"

    prefix_list = world.ecs.create_prefix_list(
        m.CreatePrefixListRequest(
            region_id=REGION,
            prefix_list_name="offices",
            address_family="IPv4",
            max_entries=5,
            entry=[m.CreatePrefixListRequestEntry(cidr="198.51.100.0/24")],
        )
    ).body.prefix_list_id
    ingress(world, db, IpProtocol="TCP", PortRange="22/22", SourcePrefixListId=prefix_list)
    ssh = {**ask, "Port": 22}
    assert check(api, **ssh, PeerAddress="198.51.100.20")["Verdict"] == "Accept"
    assert check(api, **ssh, PeerAddress="192.0.2.20")["Verdict"] == "Drop"
    world.ecs.modify_prefix_list(
        m.ModifyPrefixListRequest(
            region_id=REGION,
            prefix_list_id=prefix_list,
            add_entry=[m.ModifyPrefixListRequestAddEntry(cidr="192.0.2.0/24")],
        )
    )
    assert check(api, **ssh, PeerAddress="192.0.2.20")["Verdict"] == "Accept"

    rule_id = next(r["SecurityGroupRuleId"] for r in rules_of(world, db) if r["PortRange"] == "22/22")
    world.ecs.revoke_security_group(
        m.RevokeSecurityGroupRequest(region_id=REGION, security_group_id=db, security_group_rule_id=[rule_id])
    )
    assert deciding(check(api, **ssh, PeerAddress="198.51.100.20")) == ("Drop", "ImplicitInboundDeny", None)


def test_store_queries_on_sqlite_and_postgresql(any_api: RunningServer) -> None:
    """The loader's queries (the ENI with its groups, rules, revisions, members, prefix-list entries)
    on both databases: a group rule, a prefix-list rule, and a change that must be seen."""
    world = World(any_api)
    net = world.network()
    db, app = world.group(net.vpc_id), world.group(net.vpc_id)
    ingress(world, db, IpProtocol="TCP", PortRange="5432/5432", SourceGroupId=app, Priority="3")
    prefix_list = world.ecs.create_prefix_list(
        m.CreatePrefixListRequest(
            region_id=REGION,
            prefix_list_name="ops",
            address_family="IPv4",
            max_entries=3,
            entry=[m.CreatePrefixListRequestEntry(cidr="198.51.100.0/24")],
        )
    ).body.prefix_list_id
    ingress(world, db, IpProtocol="TCP", PortRange="22/22", SourcePrefixListId=prefix_list, Policy="drop")
    (database,) = world.run(net, [db])
    (worker,) = world.run(net, [app])
    ask = {"InstanceId": database, "Direction": "ingress", "IpProtocol": "TCP"}
    assert deciding(check(any_api, **ask, Port=5432, PeerInstanceId=worker)) == ("Accept", "Rule", 3)
    assert deciding(check(any_api, **ask, Port=22, PeerAddress="198.51.100.9")) == ("Drop", "Rule", 1)
    ingress(world, db, IpProtocol="TCP", PortRange="22/22", SourceCidrIp="198.51.100.9", Priority="1")
    decided = check(any_api, **ask, Port=22, PeerAddress="198.51.100.9")
    assert deciding(decided) == ("Drop", "Rule", 1)  # drop wins the tie at priority 1
    assert len(decided["MatchedRules"]["MatchedRule"]) == 2


def test_compiled_forms_are_reused_until_a_revision_changes(api: RunningServer, world: World) -> None:
    """In-process, on the server's database: a warm lookup costs 2 queries and returns the same compiled
    object; a cold one 4 (5 with prefix lists); a change to the rules or to the referenced groups'
    members is seen at the next lookup."""
    net = world.network()
    web, peers = world.group(net.vpc_id), world.group(net.vpc_id)
    ingress(world, web, IpProtocol="TCP", PortRange="443/443", SourceGroupId=peers)
    (instance,) = world.run(net, [web])
    cache = engine_inputs.EngineCache()
    db = Database(api.database_url, pool_size=1)
    statements: list[str] = []
    event.listen(db.read_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    queries = lambda: sum(s.lstrip().upper().startswith(("SELECT", "WITH")) for s in statements)  # noqa: E731

    def lookup() -> tuple[object, int]:
        statements.clear()
        with db.read() as conn:
            endpoint = engine_inputs.endpoint_of_instance(conn, api.account_id, REGION, instance)
            assert endpoint is not None
            return engine_inputs.compiled_for(conn, endpoint, cache), queries()

    try:
        first, cold = lookup()
        second, warm = lookup()
        assert (cold, warm, cache.compiles) == (4, 2, 1) and second is first  # cold: no prefix list here
        (member,) = world.run(net, [peers])  # the referenced group's members change
        third, _ = lookup()
        assert cache.compiles == 2 and third is not first
        flow = Flow("ingress", "TCP", private_ip(world, member), 443)
        assert third.decide(flow).verdict == "Accept"  # type: ignore[attr-defined]
        ingress(world, web, IpProtocol="TCP", PortRange="443/443", SourceCidrIp="0.0.0.0/0", Policy="drop")
        fourth, _ = lookup()
        assert cache.compiles == 3 and fourth.decide(flow).verdict == "Drop"  # type: ignore[attr-defined]
        assert lookup()[0] is fourth and cache.compiles == 3
    finally:
        db.dispose()


def test_a_network_interface_is_checked_with_its_own_groups(api: RunningServer, world: World) -> None:
    net = world.network()
    open_group, closed = world.group(net.vpc_id), world.group(net.vpc_id)
    ingress(world, open_group, IpProtocol="TCP", PortRange="443/443", SourceCidrIp="0.0.0.0/0")
    (instance,) = world.run(net, [closed])
    eni = world.ecs.create_network_interface(
        m.CreateNetworkInterfaceRequest(
            region_id=REGION, v_switch_id=net.vswitch_id, security_group_id=open_group
        )
    ).body.network_interface_id
    ask = {"Direction": "ingress", "IpProtocol": "TCP", "PeerAddress": "203.0.113.1", "Port": 443}
    assert check(api, NetworkInterfaceId=eni, **ask)["Verdict"] == "Accept"
    assert check(api, InstanceId=instance, **ask)["Verdict"] == "Drop"  # the primary ENI's groups


def test_reply_of_an_accepted_connection_and_ipv6_peers(api: RunningServer, world: World) -> None:
    net = world.network()
    group = world.group(net.vpc_id)
    ingress(world, group, IpProtocol="TCP", PortRange="443/443", Ipv6SourceCidrIp="2001:db8::/32")
    (instance,) = world.run(net, [group])
    ask = {"InstanceId": instance, "Direction": "ingress", "IpProtocol": "TCP", "Port": 443}
    assert check(api, **ask, PeerAddress="2001:db8::7")["Verdict"] == "Accept"
    assert check(api, **ask, PeerAddress="2001:db9::7")["Verdict"] == "Drop"
    reply = check(api, **ask, PeerAddress="2001:db9::7", ReplyOfAccepted="true")
    assert deciding(reply) == ("Accept", "EstablishedSession", None)
    assert (
        check(api, **{**ask, "IpProtocol": "ICMPv6", "Port": -1}, PeerAddress="2001:db8::7")["Verdict"]
        == "Drop"
    )


# ---------------------------------------------------------------- errors and other clients


@pytest.fixture(scope="module")
def one(world: World) -> tuple[str, str]:
    net = world.network()
    (instance,) = world.run(net, [world.group(net.vpc_id)])
    (other,) = world.run(world.network(), [])  # another VPC (its default group)
    return instance, other


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"InstanceId": None}, (400, "MissingParameter")),
        ({"InstanceId": "i-doesnotexist"}, (404, "InvalidInstanceId.NotFound")),
        ({"NetworkInterfaceId": "eni-doesnotexist", "InstanceId": None}, (404, "InvalidEniId.NotFound")),
        ({"NetworkInterfaceId": "eni-x"}, (400, "InvalidParameter")),
        ({"Direction": None}, (400, "MissingParameter")),
        ({"Direction": "inbound"}, (400, "InvalidParameter")),
        ({"IpProtocol": "SCTP"}, (400, "InvalidIpProtocol.ValueNotSupported")),
        ({"Port": None}, (400, "MissingParameter")),
        ({"Port": 70000}, (400, "InvalidParameter")),
        ({"Port": "ssh"}, (400, "InvalidParameter")),
        ({"SourcePort": 0}, (400, "InvalidParameter")),
        ({"IpProtocol": "ICMP", "Port": 22}, (400, "InvalidParameter")),
        ({"PeerAddress": None}, (400, "MissingParameter")),
        ({"PeerAddress": "10.0.0.0/8"}, (400, "InvalidParameter")),
        ({"PeerAddress": "10.0.0.1", "PeerInstanceId": "i-x"}, (400, "InvalidParameter")),
        (
            {"IpProtocol": "ICMP", "Port": None, "PeerAddress": "::1"},
            (400, "InvalidParam.Ipv4ProtocolConflictWithIpv6Address"),
        ),
        ({"IpProtocol": "ICMPv6", "Port": None}, (400, "InvalidParam.Ipv6ProtocolConflictWithIpv4Address")),
        ({"NicType": "public"}, (400, "InvalidNicType.ValueNotSupported")),
        ({"PeerAddress": None, "PeerInstanceId": "i-doesnotexist"}, (404, "InvalidPeerInstanceId.NotFound")),
        ({"PeerAddress": None, "PeerInstanceId": "self"}, (400, "InvalidParameter")),
        ({"PeerAddress": None, "PeerInstanceId": "other"}, (400, "InvalidPeerInstanceId.Mismatch")),
    ],
)
def test_bad_requests_get_alibaba_style_errors(
    api: RunningServer, one: tuple[str, str], params: Body, expected: tuple[int, str]
) -> None:
    instance, other = one
    names = {"self": instance, "other": other}
    base: Body = {
        "InstanceId": instance,
        "Direction": "ingress",
        "IpProtocol": "TCP",
        "PeerAddress": "10.0.0.1",
    }
    base["Port"] = 22
    base.update(params)
    sent = {k: names.get(v, v) for k, v in base.items() if v is not None}
    assert check_error(api, **sent) == expected


def test_vpc_instance_internet_nic_meets_the_intranet_rules(api: RunningServer, one: tuple[str, str]) -> None:
    instance, _ = one
    body = check(
        api,
        InstanceId=instance,
        Direction="egress",
        IpProtocol="TCP",
        PeerAddress="1.1.1.1",
        Port=443,
        NicType="internet",
    )
    assert (body["Verdict"], body["Hops"]["Hop"][0]["NicType"]) == ("Accept", "intranet")


def test_legacy_common_request_and_xml(api: RunningServer, one: tuple[str, str]) -> None:
    instance, _ = one
    request = CommonRequest(domain=api.endpoint, version=VERSION, action_name="CheckNetworkAccess")
    request.set_method("POST")
    for key, value in {
        "RegionId": REGION, "InstanceId": instance, "Direction": "ingress", "IpProtocol": "TCP",
        "PeerAddress": "203.0.113.5", "Port": "22",
    }.items():  # fmt: skip
        request.add_query_param(key, value)
    body = json.loads(legacy_call(api, request))
    assert (body["Verdict"], body["Reason"]) == ("Drop", "ImplicitInboundDeny")
    assert body["RequestId"]
    raw = legacy_call(api, request, "XML")
    assert raw.startswith(b"<?xml") and b"<CheckNetworkAccessResponse>" in raw
    assert b"<Verdict>Drop</Verdict>" in raw and b"<Hop>" in raw and "默认拒绝".encode() in raw


def test_generic_client_unknown_action_of_our_product(api: RunningServer) -> None:
    client = OpenApiClient(api.tea_config())
    call = open_api_models.Params(
        action="CheckEverything", version=VERSION, protocol="HTTP", pathname="/", method="POST",
        auth_type="AK", style="RPC", body_type="json", req_body_type="json",
    )  # fmt: skip
    request: Callable[[], Any] = lambda: client.call_api(  # noqa: E731
        call, open_api_models.OpenApiRequest(query={"RegionId": REGION}), util_models.RuntimeOptions()
    )
    with pytest.raises(ClientException) as info:
        request()
    assert (info.value.status_code, info.value.code) == (404, "InvalidAction.NotFound")  # type: ignore[attr-defined]
