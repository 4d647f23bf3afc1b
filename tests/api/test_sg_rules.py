"""Security-group rules through the official SDKs: authorize, revoke, modify, references, limits.

Limits are also exercised under concurrency: 16 clients racing to fill one group end with exactly 200
rules, on SQLite and PostgreSQL, with one server process and with two sharing the database.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from aliyunsdkecs.request.v20140526 import (
    AuthorizeSecurityGroupEgressRequest,
    AuthorizeSecurityGroupRequest,
    ModifySecurityGroupEgressRuleRequest,
    ModifySecurityGroupRuleRequest,
    RevokeSecurityGroupEgressRequest,
    RevokeSecurityGroupRequest,
)
from Tea.exceptions import TeaException

from secplane.testing import RunningServer
from tests.api.test_security_groups import (
    legacy_error,
    new_group,
    new_vpc,
    other_account,
    permissions,
    tea_error,
)
from tests.conftest import PG_ADMIN_URL, legacy_call, server_db
from tests.store.test_multiprocess import two_servers

In = m.AuthorizeSecurityGroupRequestPermissions
Out = m.AuthorizeSecurityGroupEgressRequestPermissions
LIMIT_MESSAGE = "The limit of authorization records in the security group reaches."


@pytest.fixture
def region(api: RunningServer) -> str:
    return api.region_id


@pytest.fixture
def vpc_id(api: RunningServer) -> str:
    return new_vpc(api)


@pytest.fixture
def group(ecs: Client, region: str, vpc_id: str) -> str:
    return new_group(ecs, region, vpc_id)


def authorize(ecs: Client, region: str, group_id: str, *rules: In, **legacy: Any) -> None:
    request = m.AuthorizeSecurityGroupRequest(
        region_id=region, security_group_id=group_id, permissions=list(rules) or None, **legacy
    )
    ecs.authorize_security_group(request)


def authorize_egress(ecs: Client, region: str, group_id: str, *rules: Out, **legacy: Any) -> None:
    request = m.AuthorizeSecurityGroupEgressRequest(
        region_id=region, security_group_id=group_id, permissions=list(rules) or None, **legacy
    )
    ecs.authorize_security_group_egress(request)


def tcp_in(port: int, source: str = "10.0.0.0/8", **kwargs: Any) -> In:
    return In(ip_protocol="TCP", port_range=f"{port}/{port}", source_cidr_ip=source, **kwargs)


def ports(ecs: Client, region: str, group_id: str, direction: str = "all") -> list[str]:
    return [p["PortRange"] for p in permissions(ecs, region, group_id, direction=direction)]


# ---------------------------------------------------------------- Authorize


def test_legacy_single_rule_form_and_permissions_form(ecs: Client, region: str, group: str) -> None:
    authorize(
        ecs, region, group, ip_protocol="tcp", port_range="22/22", source_cidr_ip="192.0.2.1", priority="5"
    )
    authorize(ecs, region, group, tcp_in(80), tcp_in(443, policy="drop", description="no tls here"))
    rules = permissions(ecs, region, group)
    assert [
        (r["IpProtocol"], r["PortRange"], r["SourceCidrIp"], r["Priority"], r["Policy"]) for r in rules
    ] == [
        ("TCP", "22/22", "192.0.2.1", 5, "Accept"),
        ("TCP", "80/80", "10.0.0.0/8", 1, "Accept"),
        ("TCP", "443/443", "10.0.0.0/8", 1, "Drop"),
    ]
    assert rules[2]["Description"] == "no tls here"
    assert all(r["Direction"] == "ingress" and r["NicType"] == "intranet" for r in rules)
    assert all(r["SecurityGroupRuleId"].startswith("sgr-") for r in rules)


def test_rule_object_has_every_field(ecs: Client, region: str, group: str) -> None:
    authorize(
        ecs, region, group, In(ip_protocol="UDP", port_range="53/53", source_port_range="1024/65535",
        source_cidr_ip="192.0.2.0/24", dest_cidr_ip="10.0.0.5", description="dns"),
    )  # fmt: skip
    authorize_egress(
        ecs, region, group, Out(ip_protocol="TCP", port_range="443/443", ipv_6dest_cidr_ip="2001:DB8::/32",
        ipv_6source_cidr_ip="2001:db8:1::1"),
    )  # fmt: skip
    inbound, outbound = permissions(ecs, region, group)
    expected_keys = {
        f"{side}{field}"
        for side in ("Source", "Dest")
        for field in ("CidrIp", "GroupId", "GroupName", "GroupOwnerAccount", "PrefixListId", "PrefixListName")
    } | {
        "SecurityGroupRuleId", "Direction", "Policy", "Priority", "IpProtocol", "PortRange",
        "SourcePortRange", "Ipv6SourceCidrIp", "Ipv6DestCidrIp", "PortRangeListId", "PortRangeListName",
        "NicType", "Description", "CreateTime",
    }  # fmt: skip
    assert set(inbound) == set(outbound) == expected_keys
    assert (inbound["SourceCidrIp"], inbound["DestCidrIp"], inbound["SourcePortRange"]) == (
        "192.0.2.0/24",
        "10.0.0.5",
        "1024/65535",
    )
    assert inbound["Ipv6SourceCidrIp"] == inbound["SourceGroupId"] == inbound["DestGroupId"] == ""
    assert (outbound["Direction"], outbound["Ipv6DestCidrIp"], outbound["Ipv6SourceCidrIp"]) == (
        "egress",
        "2001:db8::/32",
        "2001:db8:1::1",
    )
    assert outbound["DestCidrIp"] == outbound["SourceCidrIp"] == ""
    assert isinstance(inbound["Priority"], int)


def test_an_existing_rule_is_a_success_that_adds_nothing(ecs: Client, region: str, group: str) -> None:
    authorize(ecs, region, group, tcp_in(22, "192.0.2.7"))
    authorize(ecs, region, group, tcp_in(22, "192.0.2.7/32", description="same rule"))
    authorize(ecs, region, group, tcp_in(22, "192.0.2.7"), tcp_in(23, "192.0.2.7"))
    assert ports(ecs, region, group) == ["22/22", "23/23"]


def _revision(api: RunningServer, group_id: str) -> int:
    with server_db(api) as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT revision FROM security_groups WHERE id = ?", (group_id,)
            ).scalar_one()
        )


def test_authorize_moves_the_revision_only_when_it_commits(
    api: RunningServer, ecs: Client, region: str, group: str
) -> None:
    """What is compiled from a group (the lab's nftables) is rebuilt when its revision moves: the lock
    statement moves it, and a refused call rolls that back with the rest."""
    before = _revision(api, group)
    authorize(ecs, region, group, tcp_in(22))
    assert _revision(api, group) == before + 1
    assert tea_error(lambda: authorize(ecs, region, group, tcp_in(0)))[1] == "InvalidParam.PortRange"
    assert _revision(api, group) == before + 1
    authorize(ecs, region, group, *[tcp_in(port) for port in range(1000, 1100)])
    authorize(ecs, region, group, *[tcp_in(port) for port in range(1100, 1199)])  # 200 rules
    after_fill = _revision(api, group)
    assert tea_error(lambda: authorize(ecs, region, group, tcp_in(2001)))[1] == "AuthorizationLimitExceed"
    assert _revision(api, group) == after_fill


def test_permissions_cannot_mix_with_the_legacy_form(ecs: Client, region: str, group: str) -> None:
    status, code, message = tea_error(lambda: authorize(ecs, region, group, tcp_in(80), ip_protocol="TCP"))
    assert (status, code) == (400, "InvalidParam.Permissions")
    assert message == "The specified parameter Permissions cannot coexist with other parameters."
    assert (
        tea_error(lambda: authorize(ecs, region, group, tcp_in(80), description="x"))[1]
        == "InvalidParam.Permissions"
    )


def test_duplicate_permissions_are_refused(ecs: Client, region: str, group: str) -> None:
    status, code, _ = tea_error(
        lambda: authorize(ecs, region, group, tcp_in(80, "10.0.0.1"), tcp_in(80, "10.0.0.1/32"))
    )
    assert (status, code) == (400, "InvalidParam.DuplicatePermissions")
    assert ports(ecs, region, group) == []


def test_at_most_100_permissions_per_call(ecs: Client, region: str, group: str) -> None:
    rules = [tcp_in(port) for port in range(1, 102)]
    assert tea_error(lambda: authorize(ecs, region, group, *rules))[:2] == (400, "InvalidParameter")
    authorize(ecs, region, group, *rules[:100])
    assert len(ports(ecs, region, group)) == 100


TCP_FROM_NET = {"ip_protocol": "TCP", "port_range": "80/80", "source_cidr_ip": "10.0.0.0/8"}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"ip_protocol": "SCTP"}, "InvalidIpProtocol.ValueNotSupported"),
        ({"port_range": "0/80"}, "InvalidParam.PortRange"),
        ({"ip_protocol": "ICMP", "port_range": "8/8"}, "OperationDenied"),
        ({"source_cidr_ip": None}, "MissingParameter.Source"),
        ({"source_cidr_ip": "10.0.0.300"}, "InvalidSourceCidrIp.Malformed"),
        (
            {
                "ip_protocol": "ICMP",
                "port_range": "-1/-1",
                "source_cidr_ip": None,
                "ipv_6source_cidr_ip": "::/0",
            },
            "InvalidParam.Ipv4ProtocolConflictWithIpv6Address",
        ),
        ({"priority": "101"}, "InvalidPriority.ValueNotSupported"),
        ({"policy": "allow"}, "InvalidPolicy.Malformed"),
        ({"nic_type": "wifi"}, "InvalidNicType.ValueNotSupported"),
        ({"port_range": None, "port_range_list_id": "prl-x"}, "InvalidPortRangeListId.NotFound"),
    ],
)
def test_rule_validation_errors(
    ecs: Client, region: str, group: str, fields: dict[str, Any], code: str
) -> None:
    rule = In(**{**TCP_FROM_NET, **fields})
    assert tea_error(lambda: authorize(ecs, region, group, rule))[:2] == (400, code)


def test_egress_names_its_own_fields_in_errors(ecs: Client, region: str, group: str) -> None:
    assert tea_error(
        lambda: authorize_egress(ecs, region, group, Out(ip_protocol="TCP", port_range="80/80"))
    )[1] == ("MissingParameter.Dest")
    bad = Out(ip_protocol="TCP", port_range="80/80", dest_cidr_ip="nowhere")
    assert tea_error(lambda: authorize_egress(ecs, region, group, bad))[1] == "InvalidDestCidrIp.Malformed"


def test_a_batch_with_one_bad_entry_changes_nothing(ecs: Client, region: str, group: str) -> None:
    authorize(ecs, region, group, tcp_in(22))
    good = [tcp_in(port) for port in range(100, 110)]
    assert (
        tea_error(lambda: authorize(ecs, region, group, *good, tcp_in(70000)))[1] == "InvalidParam.PortRange"
    )
    unknown_group = In(ip_protocol="TCP", port_range="21/21", source_group_id="sg-doesnotexist")
    assert tea_error(lambda: authorize(ecs, region, group, *good, unknown_group))[:2] == (
        404,
        "InvalidSourceGroupId.NotFound",
    )
    assert ports(ecs, region, group) == ["22/22"]


def test_client_token_replays_authorize(ecs: Client, region: str, group: str) -> None:
    token = uuid.uuid4().hex
    authorize(ecs, region, group, tcp_in(80), client_token=token)
    revoke = m.RevokeSecurityGroupRequest(
        region_id=region,
        security_group_id=group,
        ip_protocol="TCP",
        port_range="80/80",
        source_cidr_ip="10.0.0.0/8",
    )
    ecs.revoke_security_group(revoke)
    authorize(ecs, region, group, tcp_in(80), client_token=token)  # replayed, not applied again
    assert ports(ecs, region, group) == []


# ---------------------------------------------------------------- references to groups (SG-7)


def test_group_references_in_the_same_vpc(ecs: Client, region: str, vpc_id: str) -> None:
    holder = new_group(ecs, region, vpc_id)
    peer = new_group(ecs, region, vpc_id, security_group_name="peer-group")
    authorize(ecs, region, holder, In(ip_protocol="TCP", port_range="21/21", source_group_id=peer))
    authorize_egress(ecs, region, holder, Out(ip_protocol="TCP", port_range="21/21", dest_group_id=peer))
    inbound, outbound = permissions(ecs, region, holder)
    assert (inbound["SourceGroupId"], inbound["SourceGroupName"], inbound["SourceGroupOwnerAccount"]) == (
        peer,
        "peer-group",
        "",
    )
    assert (outbound["DestGroupId"], outbound["DestGroupName"], outbound["SourceGroupId"]) == (
        peer,
        "peer-group",
        "",
    )


def test_group_reference_errors(api: RunningServer, ecs: Client, region: str, vpc_id: str) -> None:
    holder = new_group(ecs, region, vpc_id)
    elsewhere = new_group(ecs, region, new_vpc(api))
    classic = new_group(ecs, region)
    shanghai = new_group(ecs, "cn-shanghai", new_vpc(api, "cn-shanghai"))

    def ingress_from(group_id: str, **kwargs: Any) -> tuple[int, str, str]:
        rule = In(ip_protocol="TCP", port_range="21/21", source_group_id=group_id, **kwargs)
        return tea_error(lambda: authorize(ecs, region, holder, rule))

    def egress_to(group_id: str) -> tuple[int, str, str]:
        rule = Out(ip_protocol="TCP", port_range="21/21", dest_group_id=group_id)
        return tea_error(lambda: authorize_egress(ecs, region, holder, rule))

    assert ingress_from("sg-doesnotexist") == (
        404,
        "InvalidSourceGroupId.NotFound",
        "The SourceGroupId provided does not exist in our records.",
    )
    assert egress_to("sg-doesnotexist")[:2] == (404, "InvalidDestGroupId.NotFound")
    assert ingress_from(shanghai)[:2] == (404, "InvalidSourceGroupId.NotFound")
    assert ingress_from(elsewhere) == (
        400,
        "InvalidSourceGroupId.Mismatch",
        "Specified security group and source group are not in the same VPC.",
    )
    assert egress_to(elsewhere)[:2] == (400, "InvalidDestGroupId.Mismatch")
    assert ingress_from(classic)[:2] == (400, "InvalidSourceGroupId.Mismatch")
    assert ingress_from(holder) == (
        403,
        "InvalidParamter.Conflict",
        "The specified SecurityGroupId should be different from the SourceGroupId.",
    )
    assert egress_to(holder) == (
        403,
        "InvalidSecurityGroup.IsSame",
        "The authorized SecurityGroupId should be different from the DestGroupId.",
    )
    peer = new_group(ecs, region, vpc_id)
    assert ingress_from(peer, nic_type="internet")[:2] == (403, "InvalidSourceGroupId.Mismatch")
    assert permissions(ecs, region, holder) == []


def test_enterprise_groups_neither_authorize_nor_get_authorized(
    ecs: Client, region: str, vpc_id: str
) -> None:
    normal = new_group(ecs, region, vpc_id)
    enterprise = new_group(ecs, region, vpc_id, security_group_type="enterprise")
    other_enterprise = new_group(ecs, region, vpc_id, security_group_type="enterprise")
    from_normal = In(ip_protocol="TCP", port_range="21/21", source_group_id=normal)
    assert tea_error(lambda: authorize(ecs, region, enterprise, from_normal))[:2] == (
        400,
        "InvalidGroupParameter.OperationDenied",
    )
    from_enterprise = In(ip_protocol="TCP", port_range="21/21", source_group_id=other_enterprise)
    status, code, message = tea_error(lambda: authorize(ecs, region, normal, from_enterprise))
    assert (status, code, message) == (
        400,
        "InvalidGroupAuthParameter.OperationDenied",
        "The security group can not authorize to enterprise level security group.",
    )
    authorize(ecs, region, enterprise, tcp_in(443))  # address rules are fine
    assert ports(ecs, region, enterprise) == ["443/443"]


def test_cross_account_references(api: RunningServer, ecs: Client, region: str, vpc_id: str) -> None:
    other_id, config = other_account(api)
    other = Client(config)
    theirs = new_group(other, region, new_vpc(api, config=config), security_group_name="their-group")
    holder = new_group(ecs, region, vpc_id)
    authorize(ecs, region, holder, In(ip_protocol="TCP", port_range="21/21", source_group_id=theirs,
                                      source_group_owner_account=other_id))  # fmt: skip
    authorize_egress(ecs, region, holder, Out(ip_protocol="TCP", port_range="21/21", dest_group_id=theirs,
                                              dest_group_owner_id=int(other_id)))  # fmt: skip
    inbound, outbound = permissions(ecs, region, holder)
    assert (inbound["SourceGroupId"], inbound["SourceGroupOwnerAccount"], inbound["SourceGroupName"]) == (
        theirs,
        other_id,
        "",
    )
    assert (outbound["DestGroupId"], outbound["DestGroupOwnerAccount"]) == (theirs, other_id)
    # the group must exist in the named account
    mine = new_group(ecs, region, vpc_id)
    wrong_owner = In(
        ip_protocol="TCP", port_range="22/22", source_group_id=mine, source_group_owner_account=other_id
    )
    assert tea_error(lambda: authorize(ecs, region, holder, wrong_owner))[:2] == (
        404,
        "InvalidSourceGroupId.NotFound",
    )
    nobody = In(ip_protocol="TCP", port_range="22/22", source_group_id=theirs, source_group_owner_id=1)
    assert tea_error(lambda: authorize(ecs, region, holder, nobody))[:2] == (
        404,
        "InvalidSourceGroupId.NotFound",
    )


def test_own_account_as_owner_is_the_same_rule(
    api: RunningServer, ecs: Client, region: str, vpc_id: str
) -> None:
    holder = new_group(ecs, region, vpc_id)
    peer = new_group(ecs, region, vpc_id)
    authorize(ecs, region, holder, In(ip_protocol="TCP", port_range="21/21", source_group_id=peer))
    authorize(ecs, region, holder, In(ip_protocol="TCP", port_range="21/21", source_group_id=peer,
                                      source_group_owner_id=int(api.account_id)))  # fmt: skip
    [rule] = permissions(ecs, region, holder)
    assert rule["SourceGroupOwnerAccount"] == ""


# ---------------------------------------------------------------- prefix lists (SG-8)


def new_prefix_list(
    ecs: Client, region: str, family: str = "IPv4", max_entries: int = 5, name: str = ""
) -> str:
    cidr = "10.1.0.0/16" if family == "IPv4" else "2001:db8::/32"
    request = m.CreatePrefixListRequest(
        region_id=region,
        prefix_list_name=name or f"pl-{uuid.uuid4().hex[:8]}",
        address_family=family,
        max_entries=max_entries,
        entry=[m.CreatePrefixListRequestEntry(cidr=cidr)],
    )
    return ecs.create_prefix_list(request).body.prefix_list_id


def test_prefix_list_rules(ecs: Client, region: str, group: str) -> None:
    v4 = new_prefix_list(ecs, region, name="office-nets")
    v6 = new_prefix_list(ecs, region, "IPv6")
    authorize(ecs, region, group, In(ip_protocol="TCP", port_range="22/22", source_prefix_list_id=v4))
    authorize(ecs, region, group, In(ip_protocol="TCP", port_range="22/22", source_prefix_list_id=v6))
    authorize_egress(
        ecs, region, group, Out(ip_protocol="ICMPv6", port_range="-1/-1", dest_prefix_list_id=v6)
    )
    first, second, third = permissions(ecs, region, group)
    assert (first["SourcePrefixListId"], first["SourcePrefixListName"]) == (v4, "office-nets")
    assert second["SourcePrefixListId"] == v6
    assert (third["DestPrefixListId"], third["SourcePrefixListId"]) == (v6, "")


def test_prefix_list_errors(ecs: Client, region: str, vpc_id: str) -> None:
    group = new_group(ecs, region, vpc_id)
    classic = new_group(ecs, region)
    v4 = new_prefix_list(ecs, region)
    v6 = new_prefix_list(ecs, region, "IPv6")

    def error(group_id: str, **kwargs: Any) -> tuple[int, str]:
        rule = In(port_range="-1/-1", **{"ip_protocol": "ICMP", **kwargs})
        return tea_error(lambda: authorize(ecs, region, group_id, rule))[:2]

    assert error(group, source_prefix_list_id="pl-doesnotexist") == (404, "InvalidPrefixListId.NotFound")
    assert error(classic, source_prefix_list_id=v4) == (400, "NotSupported.ClassicNetworkPrefixList")
    assert error(group, source_prefix_list_id=v6) == (400, "InvalidParam.PrefixListAddressFamilyMismatch")
    assert error(group, source_prefix_list_id=v4, ip_protocol="ICMPv6") == (
        400,
        "InvalidParam.PrefixListAddressFamilyMismatch",
    )
    five_tuple = In(ip_protocol="TCP", port_range="80/80", source_prefix_list_id=v6, dest_cidr_ip="10.0.0.1")
    assert (
        tea_error(lambda: authorize(ecs, region, group, five_tuple))[1]
        == "InvalidParam.PrefixListAddressFamilyMismatch"
    )
    assert permissions(ecs, region, group) == []


def test_prefix_list_counts_its_maximum_against_the_limit(ecs: Client, region: str, group: str) -> None:
    big = new_prefix_list(ecs, region, max_entries=150)
    authorize(ecs, region, group, In(ip_protocol="TCP", port_range="22/22", source_prefix_list_id=big))
    authorize(ecs, region, group, *[tcp_in(port) for port in range(1000, 1049)])  # 150 + 49 = 199
    authorize(ecs, region, group, tcp_in(2000))  # 200
    assert tea_error(lambda: authorize(ecs, region, group, tcp_in(2001))) == (
        403,
        "AuthorizationLimitExceed",
        LIMIT_MESSAGE,
    )
    assert len(ports(ecs, region, group)) == 51


# ---------------------------------------------------------------- limits (SG-9)


def test_two_hundred_entries_ingress_and_egress_together(ecs: Client, region: str, group: str) -> None:
    authorize(ecs, region, group, *[tcp_in(port) for port in range(1, 101)])
    outbound = [
        Out(ip_protocol="TCP", port_range=f"{p}/{p}", dest_cidr_ip="10.0.0.0/8") for p in range(1, 100)
    ]
    authorize_egress(ecs, region, group, *outbound)
    assert tea_error(lambda: authorize(ecs, region, group, tcp_in(500), tcp_in(501)))[:2] == (
        403,
        "AuthorizationLimitExceed",
    )
    authorize(ecs, region, group, tcp_in(1))  # an existing rule still succeeds at the limit
    authorize(ecs, region, group, tcp_in(500))
    assert len(ports(ecs, region, group)) == 200


def test_twenty_group_rules_per_normal_group(ecs: Client, region: str, vpc_id: str) -> None:
    holder = new_group(ecs, region, vpc_id)
    peers = [new_group(ecs, region, vpc_id) for _ in range(11)]
    rules = [In(ip_protocol="TCP", port_range=f"{p}/{p}", source_group_id=g) for g in peers for p in (21, 22)]
    authorize(ecs, region, holder, *rules[:20])
    status, code, _ = tea_error(lambda: authorize(ecs, region, holder, rules[20]))
    assert (status, code) == (400, "AuthorizedGroupRule.LimitExceed")
    authorize(ecs, region, holder, tcp_in(80))  # address rules are not limited by it
    assert len(ports(ecs, region, holder)) == 21


def _fill_concurrently(running: RunningServer, servers: list[RunningServer], group_id: str) -> list[str]:
    """16 clients (each its own Tea client, spread over the servers) add 16 distinct rules each."""
    errors: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        client = Client(servers[index % len(servers)].tea_config())
        for port in range(index * 16 + 1, index * 16 + 17):
            request = m.AuthorizeSecurityGroupRequest(
                region_id=running.region_id, security_group_id=group_id, ip_protocol="TCP",
                port_range=f"{port}/{port}", source_cidr_ip="198.18.0.0/15",
            )  # fmt: skip
            try:
                client.authorize_security_group(request)
            except TeaException as exc:
                with lock:
                    errors.append(f"{exc.status_code} {exc.code}")  # type: ignore[attr-defined]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_clients_stop_at_exactly_200(any_api: RunningServer) -> None:
    ecs = Client(any_api.tea_config())
    group_id = new_group(ecs, any_api.region_id, new_vpc(any_api))
    errors = _fill_concurrently(any_api, [any_api], group_id)
    assert len(permissions(ecs, any_api.region_id, group_id)) == 200
    assert errors == ["403 AuthorizationLimitExceed"] * (256 - 200)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A database of its own for two server processes (None: SQLite, made by the first server)."""
    if request.param == "sqlite":
        yield None
        return
    import psycopg

    request.getfixturevalue("pg_database")  # skips when PostgreSQL does not answer
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"secplane_sg_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_server_processes_share_the_limit(shared_database: str | None) -> None:
    with two_servers(shared_database) as (first, second):
        ecs = Client(first.tea_config())
        group_id = new_group(ecs, first.region_id, new_vpc(first))
        errors = _fill_concurrently(first, [first, second], group_id)
        assert len(permissions(ecs, first.region_id, group_id)) == 200
        assert errors == ["403 AuthorizationLimitExceed"] * (256 - 200)


# ---------------------------------------------------------------- Revoke


def test_revoke_by_attributes_and_by_rule_id(ecs: Client, region: str, group: str) -> None:
    authorize(ecs, region, group, tcp_in(22), tcp_in(80), tcp_in(443), tcp_in(8080, priority="7"))
    base = {"region_id": region, "security_group_id": group}
    ecs.revoke_security_group(
        m.RevokeSecurityGroupRequest(
            **base, ip_protocol="tcp", port_range="22/22", source_cidr_ip="10.0.0.0/8"
        )
    )
    batch = [m.RevokeSecurityGroupRequestPermissions(ip_protocol="TCP", port_range="8080/8080",
                                                     source_cidr_ip="10.0.0.0/8", priority="7")]  # fmt: skip
    ecs.revoke_security_group(m.RevokeSecurityGroupRequest(**base, permissions=batch))
    assert ports(ecs, region, group) == ["80/80", "443/443"]
    ids = [p["SecurityGroupRuleId"] for p in permissions(ecs, region, group)]
    ecs.revoke_security_group(m.RevokeSecurityGroupRequest(**base, security_group_rule_id=ids))
    assert ports(ecs, region, group) == []


def test_revoke_errors(ecs: Client, region: str, group: str) -> None:
    authorize(ecs, region, group, tcp_in(22))
    authorize_egress(
        ecs, region, group, Out(ip_protocol="TCP", port_range="80/80", dest_cidr_ip="10.0.0.0/8")
    )
    inbound_id, outbound_id = (p["SecurityGroupRuleId"] for p in permissions(ecs, region, group))
    base = {"region_id": region, "security_group_id": group}
    revoke = m.RevokeSecurityGroupRequest

    def error(request: Any) -> tuple[int, str, str]:
        return tea_error(lambda: ecs.revoke_security_group(request))

    assert error(revoke(**base, ip_protocol="TCP", port_range="23/23", source_cidr_ip="10.0.0.0/8")) == (
        400,
        "InvalidSecurityGroupRule.RuleNotExist",
        "The specified rule does not exist.",
    )
    assert error(revoke(**base, security_group_rule_id=["sgr-doesnotexist"])) == (
        404,
        "InvalidSecurityGroupRuleId.NotFound",
        "The specified SecurityGroupRuleId is not exists.",
    )
    assert error(revoke(**base, security_group_rule_id=[outbound_id]))[:2] == (
        404,
        "InvalidSecurityGroupRuleId.NotFound",
    )
    assert error(revoke(**base, security_group_rule_id=[inbound_id, inbound_id]))[:2] == (
        400,
        "InvalidParam.SecurityGroupRuleIdRepeated",
    )
    assert error(revoke(**base, security_group_rule_id=[inbound_id], ip_protocol="TCP"))[:2] == (
        400,
        "InvalidParam.Permissions",
    )
    # one unknown id or rule in the batch: nothing is revoked
    assert error(revoke(**base, security_group_rule_id=[inbound_id, "sgr-doesnotexist"]))[0] == 404
    both = [
        m.RevokeSecurityGroupRequestPermissions(
            ip_protocol="TCP", port_range="22/22", source_cidr_ip="10.0.0.0/8"
        ),
        m.RevokeSecurityGroupRequestPermissions(
            ip_protocol="TCP", port_range="24/24", source_cidr_ip="10.0.0.0/8"
        ),
    ]
    assert error(revoke(**base, permissions=both))[1] == "InvalidSecurityGroupRule.RuleNotExist"
    assert error(
        m.RevokeSecurityGroupRequest(
            region_id=region, security_group_id="sg-nope", security_group_rule_id=[inbound_id]
        )
    )[:2] == (
        404,
        "InvalidSecurityGroupId.NotFound",
    )
    assert len(permissions(ecs, region, group)) == 2


def test_revoke_egress_by_attributes_and_id(ecs: Client, region: str, group: str) -> None:
    authorize_egress(
        ecs, region, group,
        Out(ip_protocol="UDP", port_range="53/53", dest_cidr_ip="8.8.8.8"),
        Out(ip_protocol="ALL", port_range="-1/-1", dest_cidr_ip="0.0.0.0/0", policy="drop", priority="100"),
    )  # fmt: skip
    base = {"region_id": region, "security_group_id": group}
    ecs.revoke_security_group_egress(
        m.RevokeSecurityGroupEgressRequest(
            **base, ip_protocol="UDP", port_range="53/53", dest_cidr_ip="8.8.8.8/32"
        )
    )
    [rule] = permissions(ecs, region, group)
    wrong_way = m.RevokeSecurityGroupRequest(**base, security_group_rule_id=[rule["SecurityGroupRuleId"]])
    assert tea_error(lambda: ecs.revoke_security_group(wrong_way))[0] == 404
    ecs.revoke_security_group_egress(
        m.RevokeSecurityGroupEgressRequest(**base, security_group_rule_id=[rule["SecurityGroupRuleId"]])
    )
    assert permissions(ecs, region, group) == []


# ---------------------------------------------------------------- Modify…Rule


def test_modify_rule_by_id_keeps_id_and_create_time(ecs: Client, region: str, group: str) -> None:
    authorize(ecs, region, group, tcp_in(22, description="ssh"))
    [before] = permissions(ecs, region, group)
    ecs.modify_security_group_rule(
        m.ModifySecurityGroupRuleRequest(
            region_id=region, security_group_id=group, security_group_rule_id=before["SecurityGroupRuleId"],
            port_range="2222/2222", source_cidr_ip="192.0.2.0/24", priority="10",
        )
    )  # fmt: skip
    [after] = permissions(ecs, region, group)
    assert (after["SecurityGroupRuleId"], after["CreateTime"]) == (
        before["SecurityGroupRuleId"],
        before["CreateTime"],
    )
    assert (after["PortRange"], after["SourceCidrIp"], after["Priority"], after["Description"]) == (
        "2222/2222",
        "192.0.2.0/24",
        10,
        "ssh",
    )


def test_modify_rule_errors(ecs: Client, region: str, vpc_id: str, group: str) -> None:
    authorize(ecs, region, group, tcp_in(22), tcp_in(23))
    first, _ = permissions(ecs, region, group)
    peer = new_group(ecs, region, vpc_id)
    modify = m.ModifySecurityGroupRuleRequest
    base = {
        "region_id": region,
        "security_group_id": group,
        "security_group_rule_id": first["SecurityGroupRuleId"],
    }

    def error(**kwargs: Any) -> tuple[int, str]:
        return tea_error(lambda: ecs.modify_security_group_rule(modify(**{**base, **kwargs})))[:2]

    assert error(port_range="23/23") == (400, "InvalidOperation.RuleDuplicate")
    assert error(source_group_id=peer) == (400, "InvalidOperation.ModifySgRuleEntityType")
    assert error(security_group_rule_id="sgr-doesnotexist", port_range="24/24") == (
        404,
        "InvalidSecurityGroupRuleId.NotFound",
    )
    assert error(port_range="99999/99999") == (400, "InvalidParam.PortRange")
    assert ports(ecs, region, group) == ["22/22", "23/23"]


def test_modify_rule_may_change_the_referenced_group(ecs: Client, region: str, vpc_id: str) -> None:
    holder = new_group(ecs, region, vpc_id)
    first, second = new_group(ecs, region, vpc_id), new_group(ecs, region, vpc_id)
    authorize(ecs, region, holder, In(ip_protocol="TCP", port_range="21/21", source_group_id=first))
    [rule] = permissions(ecs, region, holder)
    request = m.ModifySecurityGroupRuleRequest(
        region_id=region, security_group_id=holder, security_group_rule_id=rule["SecurityGroupRuleId"],
        source_group_id=second,
    )  # fmt: skip
    ecs.modify_security_group_rule(request)
    assert permissions(ecs, region, holder)[0]["SourceGroupId"] == second
    self_ref = m.ModifySecurityGroupRuleRequest(
        region_id=region, security_group_id=holder, security_group_rule_id=rule["SecurityGroupRuleId"],
        source_group_id=holder,
    )  # fmt: skip
    assert tea_error(lambda: ecs.modify_security_group_rule(self_ref))[:2] == (
        403,
        "InvalidParamter.Conflict",
    )


def test_modify_without_rule_id_changes_only_the_description(ecs: Client, region: str, group: str) -> None:
    authorize(ecs, region, group, tcp_in(22))
    request = m.ModifySecurityGroupRuleRequest(
        region_id=region, security_group_id=group, ip_protocol="TCP", port_range="22/22",
        source_cidr_ip="10.0.0.0/8", description="bastion access",
    )  # fmt: skip
    ecs.modify_security_group_rule(request)
    [rule] = permissions(ecs, region, group)
    assert (rule["PortRange"], rule["Description"]) == ("22/22", "bastion access")
    missing = m.ModifySecurityGroupRuleRequest(
        region_id=region, security_group_id=group, ip_protocol="TCP", port_range="23/23",
        source_cidr_ip="10.0.0.0/8", description="nothing",
    )  # fmt: skip
    assert tea_error(lambda: ecs.modify_security_group_rule(missing))[:2] == (
        404,
        "SecurityGroupRule.NotFound",
    )


def test_modify_egress_rule(ecs: Client, region: str, group: str) -> None:
    authorize_egress(
        ecs, region, group, Out(ip_protocol="TCP", port_range="443/443", dest_cidr_ip="192.0.2.1")
    )
    [rule] = permissions(ecs, region, group)
    ecs.modify_security_group_egress_rule(
        m.ModifySecurityGroupEgressRuleRequest(
            region_id=region, security_group_id=group, security_group_rule_id=rule["SecurityGroupRuleId"],
            dest_cidr_ip="192.0.2.2", policy="Drop",
        )
    )  # fmt: skip
    [after] = permissions(ecs, region, group)
    assert (after["DestCidrIp"], after["Policy"], after["Direction"]) == ("192.0.2.2", "Drop", "egress")
    wrong_way = m.ModifySecurityGroupRuleRequest(
        region_id=region,
        security_group_id=group,
        security_group_rule_id=rule["SecurityGroupRuleId"],
        priority="2",
    )
    assert tea_error(lambda: ecs.modify_security_group_rule(wrong_way))[:2] == (
        404,
        "InvalidSecurityGroupRuleId.NotFound",
    )


def test_modify_rule_respects_the_limit(ecs: Client, region: str, group: str) -> None:
    small = new_prefix_list(ecs, region, max_entries=1)
    big = new_prefix_list(ecs, region, max_entries=50)
    authorize(ecs, region, group, In(ip_protocol="TCP", port_range="22/22", source_prefix_list_id=small))
    authorize(ecs, region, group, *[tcp_in(port) for port in range(1000, 1100)])
    authorize(ecs, region, group, *[tcp_in(port) for port in range(2000, 2099)])  # 1 + 100 + 99 = 200
    rule_id = permissions(ecs, region, group)[0]["SecurityGroupRuleId"]
    grow = m.ModifySecurityGroupRuleRequest(
        region_id=region, security_group_id=group, security_group_rule_id=rule_id, source_prefix_list_id=big
    )
    assert tea_error(lambda: ecs.modify_security_group_rule(grow)) == (
        400,
        "AuthorizationLimitExceed",
        LIMIT_MESSAGE,
    )
    assert permissions(ecs, region, group)[0]["SourcePrefixListId"] == small


# ---------------------------------------------------------------- the legacy SDK


def test_legacy_rule_calls(api: RunningServer, ecs: Client, region: str, group: str) -> None:
    single = AuthorizeSecurityGroupRequest.AuthorizeSecurityGroupRequest()
    single.set_SecurityGroupId(group)
    single.set_IpProtocol("tcp")
    single.set_PortRange("22/22")
    single.set_SourceCidrIp("192.0.2.1")
    legacy_call(api, single)
    batch = AuthorizeSecurityGroupRequest.AuthorizeSecurityGroupRequest()
    batch.set_SecurityGroupId(group)
    batch.set_Permissions([
        {"IpProtocol": "TCP", "PortRange": "80/80", "SourceCidrIp": "0.0.0.0/0", "Description": "web"},
        {"IpProtocol": "ICMPv6", "PortRange": "-1/-1", "Ipv6SourceCidrIp": "::/0"},
    ])  # fmt: skip
    legacy_call(api, batch)
    egress = AuthorizeSecurityGroupEgressRequest.AuthorizeSecurityGroupEgressRequest()
    egress.set_SecurityGroupId(group)
    egress.set_Permissions(
        [{"IpProtocol": "UDP", "PortRange": "53/53", "DestCidrIp": "8.8.8.8", "Priority": "3"}]
    )
    legacy_call(api, egress)
    rules = {p["PortRange"] + p["Direction"]: p for p in permissions(ecs, region, group)}
    assert set(rules) == {"22/22ingress", "80/80ingress", "-1/-1ingress", "53/53egress"}
    assert rules["-1/-1ingress"]["Ipv6SourceCidrIp"] == "::/0"
    assert rules["53/53egress"]["Priority"] == 3

    modify = ModifySecurityGroupRuleRequest.ModifySecurityGroupRuleRequest()
    modify.set_SecurityGroupId(group)
    modify.set_SecurityGroupRuleId(rules["22/22ingress"]["SecurityGroupRuleId"])
    modify.set_PortRange("2222/2222")
    legacy_call(api, modify)
    modify_out = ModifySecurityGroupEgressRuleRequest.ModifySecurityGroupEgressRuleRequest()
    modify_out.set_SecurityGroupId(group)
    modify_out.set_SecurityGroupRuleId(rules["53/53egress"]["SecurityGroupRuleId"])
    modify_out.set_Description("resolver")
    legacy_call(api, modify_out)
    assert [p["Description"] for p in permissions(ecs, region, group, direction="egress")] == ["resolver"]

    revoke = RevokeSecurityGroupRequest.RevokeSecurityGroupRequest()
    revoke.set_SecurityGroupId(group)
    revoke.set_SecurityGroupRuleIds([rules["80/80ingress"]["SecurityGroupRuleId"]])
    legacy_call(api, revoke)
    revoke_out = RevokeSecurityGroupEgressRequest.RevokeSecurityGroupEgressRequest()
    revoke_out.set_SecurityGroupId(group)
    revoke_out.set_Permissions(
        [{"IpProtocol": "UDP", "PortRange": "53/53", "DestCidrIp": "8.8.8.8", "Priority": "3"}]
    )
    legacy_call(api, revoke_out)
    assert sorted(ports(ecs, region, group)) == ["-1/-1", "2222/2222"]
    assert legacy_error(api, revoke_out) == (400, "InvalidSecurityGroupRule.RuleNotExist")

    mixed = AuthorizeSecurityGroupRequest.AuthorizeSecurityGroupRequest()
    mixed.set_SecurityGroupId(group)
    mixed.set_IpProtocol("TCP")
    mixed.set_Permissions([{"IpProtocol": "TCP", "PortRange": "80/80", "SourceCidrIp": "0.0.0.0/0"}])
    assert legacy_error(api, mixed) == (400, "InvalidParam.Permissions")
    self_ref = AuthorizeSecurityGroupEgressRequest.AuthorizeSecurityGroupEgressRequest()
    self_ref.set_SecurityGroupId(group)
    self_ref.set_Permissions([{"IpProtocol": "TCP", "PortRange": "80/80", "DestGroupId": group}])
    assert legacy_error(api, self_ref) == (403, "InvalidSecurityGroup.IsSame")


def test_legacy_error_paths_of_every_rule_action(
    api: RunningServer, ecs: Client, region: str, group: str
) -> None:
    authorize(ecs, region, group, tcp_in(22), tcp_in(23))
    first, second = (p["SecurityGroupRuleId"] for p in permissions(ecs, region, group))

    def request(cls: Any, **params: Any) -> Any:
        built = cls()
        built.set_SecurityGroupId(group)
        for name, value in params.items():
            getattr(built, f"set_{name}")(value)
        return built

    authorize_in = AuthorizeSecurityGroupRequest.AuthorizeSecurityGroupRequest
    authorize_out = AuthorizeSecurityGroupEgressRequest.AuthorizeSecurityGroupEgressRequest
    revoke_in = RevokeSecurityGroupRequest.RevokeSecurityGroupRequest
    revoke_out = RevokeSecurityGroupEgressRequest.RevokeSecurityGroupEgressRequest
    modify_in = ModifySecurityGroupRuleRequest.ModifySecurityGroupRuleRequest
    modify_out = ModifySecurityGroupEgressRuleRequest.ModifySecurityGroupEgressRuleRequest
    rule_missing = (404, "InvalidSecurityGroupRuleId.NotFound")
    cases = [
        (request(authorize_in, IpProtocol="TCP", PortRange="80/80", SourceGroupId="sg-doesnotexist"),
         (404, "InvalidSourceGroupId.NotFound")),
        (request(authorize_out, IpProtocol="TCP", PortRange="80/80"), (400, "MissingParameter.Dest")),
        (request(revoke_in, SecurityGroupRuleIds=["sgr-doesnotexist"]), rule_missing),
        (request(revoke_out, SecurityGroupRuleIds=[first]), rule_missing),
        (request(modify_in, SecurityGroupRuleId=first, PortRange="23/23"),
         (400, "InvalidOperation.RuleDuplicate")),
        (request(modify_out, SecurityGroupRuleId=second, Priority="2"), rule_missing),
    ]  # fmt: skip
    for call, expected in cases:
        assert legacy_error(api, call) == expected
    assert ports(ecs, region, group) == ["22/22", "23/23"]
