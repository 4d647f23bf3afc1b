"""Security groups through the official SDKs: create, describe, modify, policy, delete, references.

The helpers at the top are shared with ``test_sg_rules.py`` and ``test_sg_examples.py``. Tests share one
session server, so each one makes its own VPC and groups and never counts the whole region.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_vpc20160428 import models as vm
from alibabacloud_vpc20160428.client import Client as VpcClient
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkecs.request.v20140526 import (
    CreateSecurityGroupRequest,
    DeleteSecurityGroupRequest,
    DescribeSecurityGroupAttributeRequest,
    DescribeSecurityGroupReferencesRequest,
    DescribeSecurityGroupsRequest,
    ModifySecurityGroupAttributeRequest,
    ModifySecurityGroupPolicyRequest,
)
from sqlalchemy import Connection, event, insert, select
from Tea.exceptions import TeaException

from secplane.bootstrap import initialize, open_store
from secplane.config import Settings
from secplane.crypto import MasterKey
from secplane.operations.context import Context, Principal
from secplane.operations.registry import REGISTRY
from secplane.protocol.params import bind
from secplane.store import accounts, schema
from secplane.store.db import Database
from secplane.store.schema import network_interfaces, sg_members
from secplane.testing import RunningServer
from tests.conftest import legacy_call
from tests.conftest import server_db as database

# ---------------------------------------------------------------- shared helpers


def tea_error(call: Callable[[], Any]) -> tuple[int, str, str]:
    """(HTTP status, Code, Message) of a call that must fail."""
    with pytest.raises(TeaException) as info:
        call()
    err = info.value
    return err.status_code, err.code, err.data["Message"]  # type: ignore[attr-defined]


def legacy_error(running: RunningServer, request: Any) -> tuple[int, str]:
    with pytest.raises(ServerException) as info:
        legacy_call(running, request)
    return info.value.get_http_status(), info.value.get_error_code()


def legacy_json(running: RunningServer, request: Any) -> dict[str, Any]:
    return json.loads(legacy_call(running, request))


def new_vpc(running: RunningServer, region_id: str | None = None, config: Any = None) -> str:
    client = VpcClient(config or running.tea_config())
    request = vm.CreateVpcRequest(region_id=region_id or running.region_id, cidr_block="10.0.0.0/16")
    return client.create_vpc(request).body.vpc_id


def new_group(ecs: Client, region_id: str, vpc_id: str = "", **kwargs: Any) -> str:
    request = m.CreateSecurityGroupRequest(region_id=region_id, vpc_id=vpc_id or None, **kwargs)
    return ecs.create_security_group(request).body.security_group_id


def describe(ecs: Client, region_id: str, group_id: str, **kwargs: Any) -> dict[str, Any]:
    request = m.DescribeSecurityGroupAttributeRequest(
        region_id=region_id, security_group_id=group_id, **kwargs
    )
    return ecs.describe_security_group_attribute(request).body.to_map()


def permissions(ecs: Client, region_id: str, group_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    return describe(ecs, region_id, group_id, **kwargs)["Permissions"]["Permission"]


def list_groups(ecs: Client, region_id: str, **kwargs: Any) -> dict[str, Any]:
    request = m.DescribeSecurityGroupsRequest(region_id=region_id, **kwargs)
    return ecs.describe_security_groups(request).body.to_map()


def other_account(running: RunningServer) -> tuple[str, Any]:
    """A second account on the server: its id and a Tea config signed with its root key."""
    key_file = MasterKey.load_or_create(running.data_dir / "master.key")
    with database(running) as conn:
        account_id = accounts.create_account(conn)
        key = accounts.create_access_key(conn, key_file, account_id, None)
    return account_id, running.tea_config(access_key_id=key.id, access_key_secret=key.secret)


def service_client(running: RunningServer, service_id: int) -> Client:
    """A cloud service acting in the server's root account (the owner of managed groups, SG-12)."""
    key_file = MasterKey.load_or_create(running.data_dir / "master.key")
    with database(running) as conn:
        key = accounts.create_access_key(conn, key_file, running.account_id, f"service:{service_id}")
    return Client(running.tea_config(access_key_id=key.id, access_key_secret=key.secret))


def add_member(running: RunningServer, group_id: str, vpc_id: str) -> None:
    """Put an ENI into the group directly in the store (membership calls belong to another module)."""
    eni_id = f"eni-test{uuid.uuid4().hex[:16]}"
    with database(running) as conn:
        conn.execute(
            insert(network_interfaces).values(
                id=eni_id, account_id=running.account_id, region_id=running.region_id,
                zone_id=f"{running.region_id}-b", vpc_id=vpc_id, eni_type="Secondary", status="Available",
                private_ip="10.0.0.9", mac="00:16:3e:00:00:01", resource_group_id="", created_at=time.time(),
            )
        )  # fmt: skip
        conn.execute(
            insert(sg_members).values(
                security_group_id=group_id, network_interface_id=eni_id, created_at=time.time()
            )
        )


def ingress(ecs: Client, region_id: str, group_id: str, **kwargs: Any) -> None:
    request = m.AuthorizeSecurityGroupRequest(region_id=region_id, security_group_id=group_id, **kwargs)
    ecs.authorize_security_group(request)


@pytest.fixture
def region(api: RunningServer) -> str:
    return api.region_id


@pytest.fixture
def vpc_id(api: RunningServer) -> str:
    return new_vpc(api)


# ---------------------------------------------------------------- CreateSecurityGroup


def test_create_vpc_group_and_read_it_back(ecs: Client, region: str, vpc_id: str) -> None:
    tag = m.CreateSecurityGroupRequestTag(key="team", value="web")
    group_id = new_group(
        ecs, region, vpc_id, security_group_name="web-servers", description="front tier", tag=[tag]
    )
    assert group_id.startswith("sg-")
    [item] = list_groups(ecs, region, security_group_id=group_id)["SecurityGroups"]["SecurityGroup"]
    assert item["SecurityGroupName"] == "web-servers"
    assert item["Description"] == "front tier"
    assert (item["SecurityGroupType"], item["VpcId"]) == ("normal", vpc_id)
    assert item["ResourceGroupId"].startswith("rg-")
    assert (item["ServiceManaged"], item["ServiceID"]) == (False, 0)
    assert (item["RuleCount"], item["GroupToGroupRuleCount"]) == (0, 0)
    assert item["Tags"]["Tag"] == [{"TagKey": "team", "TagValue": "web"}]
    assert time.strptime(item["CreationTime"], "%Y-%m-%dT%H:%M:%SZ")
    attribute = describe(ecs, region, group_id)
    assert attribute["InnerAccessPolicy"] == "Accept"
    assert attribute["Permissions"]["Permission"] == []


def test_enterprise_group_isolates_members_and_needs_a_vpc(ecs: Client, region: str, vpc_id: str) -> None:
    group_id = new_group(ecs, region, vpc_id, security_group_type="enterprise")
    assert describe(ecs, region, group_id)["InnerAccessPolicy"] == "Drop"
    status, code, message = tea_error(lambda: new_group(ecs, region, security_group_type="enterprise"))
    assert (status, code) == (400, "InvalidParams.VpcIdGroupType")
    assert message == "Only VPC instance supports enterprise level security group."


def test_classic_group_has_no_vpc(ecs: Client, region: str) -> None:
    group_id = new_group(ecs, region, security_group_name="classic")
    [item] = list_groups(ecs, region, security_group_id=group_id)["SecurityGroups"]["SecurityGroup"]
    assert item["VpcId"] == ""
    classic_ids = {g["SecurityGroupId"] for g in _all_groups(ecs, region, network_type="classic")}
    assert group_id in classic_ids


def test_create_refuses_unknown_vpc_and_vpc_of_another_region(
    api: RunningServer, ecs: Client, region: str
) -> None:
    assert tea_error(lambda: new_group(ecs, region, "vpc-doesnotexist"))[:2] == (404, "InvalidVpcId.NotFound")
    elsewhere = new_vpc(api, "cn-shanghai")
    assert tea_error(lambda: new_group(ecs, region, elsewhere))[:2] == (404, "InvalidVpcId.NotFound")


@pytest.mark.parametrize("name", ["1group", "g", "-group", "http://group", "web servers", "a" * 129])
def test_create_refuses_malformed_names(ecs: Client, region: str, vpc_id: str, name: str) -> None:
    status, code, _ = tea_error(lambda: new_group(ecs, region, vpc_id, security_group_name=name))
    assert (status, code) == (400, "InvalidSecurityGroupName.Malformed")


def test_create_accepts_unicode_letters_and_documented_punctuation(
    ecs: Client, region: str, vpc_id: str
) -> None:
    group_id = new_group(ecs, region, vpc_id, security_group_name="安全组:web_1.a-b")
    assert describe(ecs, region, group_id)["SecurityGroupName"] == "安全组:web_1.a-b"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"description": "x"}, "InvalidSecurityGroupDiscription.Malformed"),
        ({"description": "https://example.com"}, "InvalidSecurityGroupDiscription.Malformed"),
        ({"security_group_type": "premium"}, "InvalidParams.GroupType"),
        ({"tag": [m.CreateSecurityGroupRequestTag(key="aliyun:x", value="v")]}, "InvalidTagKey.Malformed"),
        (
            {
                "tag": [
                    m.CreateSecurityGroupRequestTag(key="k", value="1"),
                    m.CreateSecurityGroupRequestTag(key="k"),
                ]
            },
            "Duplicate.TagKey",
        ),
    ],
)
def test_create_validation_errors(
    ecs: Client, region: str, vpc_id: str, kwargs: dict[str, Any], code: str
) -> None:
    assert tea_error(lambda: new_group(ecs, region, vpc_id, **kwargs))[:2] == (400, code)


def test_create_refuses_unknown_resource_group(ecs: Client, region: str, vpc_id: str) -> None:
    status, code, _ = tea_error(lambda: new_group(ecs, region, vpc_id, resource_group_id="rg-nope"))
    assert (status, code) == (404, "InvalidResourceGroup.NotFound")


def test_client_token_makes_create_idempotent(ecs: Client, region: str, vpc_id: str) -> None:
    token = uuid.uuid4().hex
    first = new_group(ecs, region, vpc_id, client_token=token, security_group_name="once")
    assert new_group(ecs, region, vpc_id, client_token=token, security_group_name="once") == first
    found = list_groups(ecs, region, vpc_id=vpc_id, security_group_name="once")
    assert found["TotalCount"] == 1
    status, code, _ = tea_error(
        lambda: new_group(ecs, region, vpc_id, client_token=token, security_group_name="twice")
    )
    assert (status, code) == (400, "IdempotentParameterMismatch")


def test_only_a_service_creates_managed_groups(ecs: Client, region: str, vpc_id: str) -> None:
    status, code, _ = tea_error(lambda: new_group(ecs, region, vpc_id, service_managed=True))
    assert (status, code) == (400, "InvalidParameter")


# ---------------------------------------------------------------- managed groups (SG-12)


def test_managed_group_is_read_only_to_users(
    api: RunningServer, ecs: Client, region: str, vpc_id: str
) -> None:
    service = service_client(api, 1234567)
    group_id = new_group(service, region, vpc_id, service_managed=True)
    ingress(service, region, group_id, ip_protocol="TCP", port_range="22/22", source_cidr_ip="10.0.0.0/8")
    [item] = list_groups(ecs, region, security_group_id=group_id)["SecurityGroups"]["SecurityGroup"]
    assert (item["ServiceManaged"], item["ServiceID"]) == (True, 1234567)
    assert list_groups(ecs, region, vpc_id=vpc_id, service_managed=True)["TotalCount"] == 1
    assert list_groups(ecs, region, vpc_id=vpc_id, service_managed=False)["TotalCount"] == 0
    [rule] = permissions(ecs, region, group_id)  # users can read it
    refs = m.DescribeSecurityGroupReferencesRequest(region_id=region, security_group_id=[group_id])
    assert ecs.describe_security_group_references(refs).body.security_group_references
    rule_id = rule["SecurityGroupRuleId"]
    base = {"region_id": region, "security_group_id": group_id}
    tcp = {"ip_protocol": "TCP", "port_range": "80/80"}
    attempts: list[Callable[[], Any]] = [
        lambda: ecs.authorize_security_group(
            m.AuthorizeSecurityGroupRequest(**base, **tcp, source_cidr_ip="1.1.1.1")
        ),
        lambda: ecs.authorize_security_group_egress(
            m.AuthorizeSecurityGroupEgressRequest(**base, **tcp, dest_cidr_ip="1.1.1.1")
        ),
        lambda: ecs.revoke_security_group(
            m.RevokeSecurityGroupRequest(**base, security_group_rule_id=[rule_id])
        ),
        lambda: ecs.revoke_security_group_egress(
            m.RevokeSecurityGroupEgressRequest(**base, **tcp, dest_cidr_ip="1.1.1.1")
        ),
        lambda: ecs.modify_security_group_rule(
            m.ModifySecurityGroupRuleRequest(**base, security_group_rule_id=rule_id, description="mine now")
        ),
        lambda: ecs.modify_security_group_egress_rule(
            m.ModifySecurityGroupEgressRuleRequest(**base, security_group_rule_id=rule_id, description="x")
        ),
        lambda: ecs.modify_security_group_attribute(
            m.ModifySecurityGroupAttributeRequest(**base, description="xx")
        ),
        lambda: ecs.modify_security_group_policy(
            m.ModifySecurityGroupPolicyRequest(**base, inner_access_policy="Drop")
        ),
        lambda: ecs.delete_security_group(m.DeleteSecurityGroupRequest(**base)),
    ]
    for attempt in attempts:
        assert tea_error(attempt)[:2] == (403, "InvalidOperation.ResourceManagedByCloudProduct")
    assert [r["SecurityGroupRuleId"] for r in permissions(ecs, region, group_id)] == [rule_id]
    # the owning service can do what users cannot
    service.modify_security_group_policy(
        m.ModifySecurityGroupPolicyRequest(**base, inner_access_policy="Drop")
    )
    service.revoke_security_group(m.RevokeSecurityGroupRequest(**base, security_group_rule_id=[rule_id]))
    service.delete_security_group(m.DeleteSecurityGroupRequest(**base))
    assert tea_error(lambda: describe(ecs, region, group_id))[:2] == (404, "InvalidSecurityGroupId.NotFound")


def test_another_service_cannot_change_a_managed_group(api: RunningServer, region: str, vpc_id: str) -> None:
    owner = service_client(api, 42)
    group_id = new_group(owner, region, vpc_id, service_managed=True)
    intruder = service_client(api, 43)
    request = m.ModifySecurityGroupAttributeRequest(
        region_id=region, security_group_id=group_id, description="xx"
    )
    assert tea_error(lambda: intruder.modify_security_group_attribute(request))[:2] == (
        403,
        "InvalidOperation.ResourceManagedByCloudProduct",
    )


# ---------------------------------------------------------------- DescribeSecurityGroups


def _all_groups(ecs: Client, region: str, **filters: Any) -> list[dict[str, Any]]:
    """Every group matching the filters, walking MaxResults/NextToken pages."""
    out: list[dict[str, Any]] = []
    token = None
    while True:
        body = list_groups(ecs, region, max_results=100, next_token=token, **filters)
        out += body["SecurityGroups"]["SecurityGroup"]
        token = body["NextToken"]
        if not token:
            return out


def test_describe_filters(api: RunningServer, ecs: Client, region: str, vpc_id: str) -> None:
    tag = m.CreateSecurityGroupRequestTag
    a = new_group(
        ecs, region, vpc_id, security_group_name="alpha", tag=[tag(key="env", value="prod"), tag(key="x")]
    )
    b = new_group(ecs, region, vpc_id, security_group_name="beta", tag=[tag(key="env", value="dev")])
    c = new_group(ecs, region, vpc_id, security_group_type="enterprise")
    other_vpc = new_group(ecs, region, new_vpc(api), security_group_name="alpha")

    def ids(**filters: Any) -> set[str]:
        return {
            g["SecurityGroupId"]
            for g in list_groups(ecs, region, page_size=50, **filters)["SecurityGroups"]["SecurityGroup"]
        }

    assert ids(vpc_id=vpc_id) == {a, b, c}
    assert ids(security_group_id=b) == {b}
    assert ids(security_group_ids=json.dumps([a, c, other_vpc])) == {a, c, other_vpc}
    assert ids(security_group_ids=json.dumps([a, c]), security_group_id=c) == {c}
    assert ids(vpc_id=vpc_id, security_group_name="alpha") == {a}
    assert ids(vpc_id=vpc_id, security_group_type="enterprise") == {c}
    assert ids(vpc_id=vpc_id, security_group_type="normal") == {a, b}
    assert ids(vpc_id=vpc_id, network_type="vpc") == {a, b, c}
    assert ids(vpc_id=vpc_id, network_type="classic") == set()
    tag_filter = m.DescribeSecurityGroupsRequestTag
    assert ids(vpc_id=vpc_id, tag=[tag_filter(key="env")]) == {a, b}
    assert ids(vpc_id=vpc_id, tag=[tag_filter(key="env", value="prod")]) == {a}
    assert ids(vpc_id=vpc_id, tag=[tag_filter(key="env", value="dev"), tag_filter(key="x")]) == set()
    assert ids(vpc_id=vpc_id, tag=[tag_filter(key="env", value="prod"), tag_filter(key="x")]) == {a}
    group = list_groups(ecs, region, security_group_id=a)["SecurityGroups"]["SecurityGroup"][0][
        "ResourceGroupId"
    ]
    assert ids(vpc_id=vpc_id, resource_group_id=group) == {a, b, c}
    assert ids(vpc_id=vpc_id, resource_group_id="rg-other") == set()


def test_describe_counts_rules_and_group_rules(ecs: Client, region: str, vpc_id: str) -> None:
    peer = new_group(ecs, region, vpc_id)
    group_id = new_group(ecs, region, vpc_id)
    ingress(ecs, region, group_id, ip_protocol="TCP", port_range="22/22", source_cidr_ip="10.0.0.0/8")
    ingress(ecs, region, group_id, ip_protocol="TCP", port_range="21/21", source_group_id=peer)
    egress = m.AuthorizeSecurityGroupEgressRequest(
        region_id=region,
        security_group_id=group_id,
        ip_protocol="ALL",
        port_range="-1/-1",
        dest_group_id=peer,
    )
    ecs.authorize_security_group_egress(egress)
    [item] = list_groups(ecs, region, security_group_id=group_id)["SecurityGroups"]["SecurityGroup"]
    assert (item["RuleCount"], item["GroupToGroupRuleCount"]) == (3, 2)


def test_describe_paging_both_styles(ecs: Client, region: str, vpc_id: str) -> None:
    made = [new_group(ecs, region, vpc_id) for _ in range(7)]
    expected = sorted(made, reverse=True)  # Alibaba lists by id, descending
    page1 = list_groups(ecs, region, vpc_id=vpc_id, page_number=1, page_size=3)
    page3 = list_groups(ecs, region, vpc_id=vpc_id, page_number=3, page_size=3)
    assert (page1["TotalCount"], page1["PageNumber"], page1["PageSize"]) == (7, 1, 3)
    assert [g["SecurityGroupId"] for g in page1["SecurityGroups"]["SecurityGroup"]] == expected[:3]
    assert [g["SecurityGroupId"] for g in page3["SecurityGroups"]["SecurityGroup"]] == expected[6:]
    beyond = list_groups(ecs, region, vpc_id=vpc_id, page_number=9, page_size=3)
    assert (beyond["TotalCount"], beyond["SecurityGroups"]["SecurityGroup"]) == (7, [])
    seen: list[str] = []
    token = None
    while True:
        body = list_groups(ecs, region, vpc_id=vpc_id, max_results=2, next_token=token)
        assert "TotalCount" not in body
        seen += [g["SecurityGroupId"] for g in body["SecurityGroups"]["SecurityGroup"]]
        token = body["NextToken"]
        if not token:
            break
    assert seen == expected


def test_describe_paging_errors(ecs: Client, region: str) -> None:
    assert tea_error(lambda: list_groups(ecs, region, next_token="garbage!"))[:2] == (
        400,
        "InValidParameter.NextToken",
    )
    assert tea_error(lambda: list_groups(ecs, region, max_results=5, page_number=2))[:2] == (
        400,
        "NotSupported.PageNumberAndPageSize",
    )
    assert tea_error(lambda: list_groups(ecs, region, page_size=51))[:2] == (400, "InvalidParameter")


def test_describe_validation_and_dry_run(ecs: Client, region: str) -> None:
    assert tea_error(lambda: list_groups(ecs, region, security_group_type="premium"))[:2] == (
        400,
        "InvalidParameter.SecurityGroupType",
    )
    too_many = json.dumps([f"sg-{i}" for i in range(101)])
    assert tea_error(lambda: list_groups(ecs, region, security_group_ids=too_many))[:2] == (
        400,
        "InvalidParameter",
    )
    status, code, message = tea_error(lambda: list_groups(ecs, region, dry_run=True))
    assert (status, code) == (400, "DryRunOperation")
    assert message == "Request validation has been passed with DryRun flag set."


# ---------------------------------------------------------------- DescribeSecurityGroupAttribute


def test_attribute_of_unknown_or_foreign_group_is_not_found(
    api: RunningServer, ecs: Client, region: str
) -> None:
    status, code, message = tea_error(lambda: describe(ecs, region, "sg-doesnotexist"))
    assert (status, code, message) == (
        404,
        "InvalidSecurityGroupId.NotFound",
        "The specified SecurityGroupId does not exist.",
    )
    group_id = new_group(ecs, region, new_vpc(api))
    assert tea_error(lambda: describe(ecs, "cn-shanghai", group_id))[:2] == (
        404,
        "InvalidSecurityGroupId.NotFound",
    )
    stranger = Client(other_account(api)[1])
    assert tea_error(lambda: describe(stranger, region, group_id))[:2] == (
        404,
        "InvalidSecurityGroupId.NotFound",
    )


def test_attribute_filters_and_pages_rules(ecs: Client, region: str, vpc_id: str) -> None:
    group_id = new_group(ecs, region, vpc_id)
    rules = [
        m.AuthorizeSecurityGroupRequestPermissions(
            ip_protocol="TCP", port_range=f"{p}/{p}", source_cidr_ip="10.0.0.1"
        )
        for p in range(1000, 1025)
    ]
    ingress(ecs, region, group_id, permissions=rules)
    out = m.AuthorizeSecurityGroupEgressRequest(
        region_id=region,
        security_group_id=group_id,
        ip_protocol="UDP",
        port_range="53/53",
        dest_cidr_ip="8.8.8.8",
    )
    ecs.authorize_security_group_egress(out)
    assert len(permissions(ecs, region, group_id)) == 26
    assert [p["Direction"] for p in permissions(ecs, region, group_id, direction="egress")] == ["egress"]
    assert len(permissions(ecs, region, group_id, direction="ingress", nic_type="intranet")) == 25
    ports: list[str] = []
    token = None
    while True:
        body = describe(ecs, region, group_id, direction="ingress", max_results=10, next_token=token)
        ports += [p["PortRange"] for p in body["Permissions"]["Permission"]]
        token = body["NextToken"]
        if not token:
            break
    assert ports == [f"{p}/{p}" for p in range(1000, 1025)]
    assert tea_error(lambda: describe(ecs, region, group_id, nic_type="wifi"))[:2] == (
        400,
        "InvalidNicType.ValueNotSupported",
    )
    assert tea_error(lambda: describe(ecs, region, group_id, direction="sideways"))[:2] == (
        400,
        "InvalidParameter",
    )
    assert tea_error(lambda: describe(ecs, region, group_id, attribute="owner"))[:2] == (
        400,
        "InvalidParameter.AttributeNotSupported",
    )
    assert describe(ecs, region, group_id, attribute="snapshotPolicyIds")["SnapshotPolicyIds"] == {
        "SnapshotPolicyId": []
    }


# ---------------------------------------------------------------- ModifySecurityGroupAttribute / Policy


def test_modify_attribute(ecs: Client, region: str, vpc_id: str) -> None:
    group_id = new_group(ecs, region, vpc_id, security_group_name="before", description="first")
    request = m.ModifySecurityGroupAttributeRequest
    ecs.modify_security_group_attribute(
        request(region_id=region, security_group_id=group_id, security_group_name="after")
    )
    body = describe(ecs, region, group_id)
    assert (body["SecurityGroupName"], body["Description"]) == ("after", "first")
    ecs.modify_security_group_attribute(
        request(region_id=region, security_group_id=group_id, description="second")
    )
    body = describe(ecs, region, group_id)
    assert (body["SecurityGroupName"], body["Description"]) == ("after", "second")
    bad = request(region_id=region, security_group_id=group_id, security_group_name="9lives")
    assert tea_error(lambda: ecs.modify_security_group_attribute(bad))[:2] == (
        400,
        "InvalidSecurityGroupName.Malformed",
    )
    gone = request(region_id=region, security_group_id="sg-doesnotexist", description="whatever")
    assert tea_error(lambda: ecs.modify_security_group_attribute(gone))[:2] == (
        404,
        "InvalidSecurityGroupId.NotFound",
    )


def test_modify_policy_on_normal_group_only(ecs: Client, region: str, vpc_id: str) -> None:
    group_id = new_group(ecs, region, vpc_id)
    request = m.ModifySecurityGroupPolicyRequest
    ecs.modify_security_group_policy(
        request(region_id=region, security_group_id=group_id, inner_access_policy="drop")
    )
    assert describe(ecs, region, group_id)["InnerAccessPolicy"] == "Drop"
    ecs.modify_security_group_policy(
        request(region_id=region, security_group_id=group_id, inner_access_policy="Accept")
    )
    assert describe(ecs, region, group_id)["InnerAccessPolicy"] == "Accept"
    bad = request(region_id=region, security_group_id=group_id, inner_access_policy="Maybe")
    assert tea_error(lambda: ecs.modify_security_group_policy(bad))[:2] == (400, "InvalidPolicy.Malformed")
    enterprise = new_group(ecs, region, vpc_id, security_group_type="enterprise")
    refused = request(region_id=region, security_group_id=enterprise, inner_access_policy="Accept")
    status, code, _ = tea_error(lambda: ecs.modify_security_group_policy(refused))
    assert (status, code) == (400, "InvalidParameter.InnerAccessPolicy")
    assert describe(ecs, region, enterprise)["InnerAccessPolicy"] == "Drop"


# ---------------------------------------------------------------- DeleteSecurityGroup


def test_delete_removes_group_rules_and_tags(ecs: Client, region: str, vpc_id: str) -> None:
    tag = m.CreateSecurityGroupRequestTag(key="doomed", value=uuid.uuid4().hex)
    group_id = new_group(ecs, region, vpc_id, tag=[tag])
    ingress(ecs, region, group_id, ip_protocol="TCP", port_range="22/22", source_cidr_ip="10.0.0.0/8")
    ecs.delete_security_group(m.DeleteSecurityGroupRequest(region_id=region, security_group_id=group_id))
    assert tea_error(lambda: describe(ecs, region, group_id))[:2] == (404, "InvalidSecurityGroupId.NotFound")
    tagged = m.DescribeSecurityGroupsRequestTag(key="doomed", value=tag.value)
    assert list_groups(ecs, region, tag=[tagged])["TotalCount"] == 0
    again = m.DeleteSecurityGroupRequest(region_id=region, security_group_id=group_id)
    assert tea_error(lambda: ecs.delete_security_group(again))[:2] == (404, "InvalidSecurityGroupId.NotFound")


def test_delete_refused_while_referenced(ecs: Client, region: str, vpc_id: str) -> None:
    target = new_group(ecs, region, vpc_id)
    holder = new_group(ecs, region, vpc_id)
    ingress(ecs, region, holder, ip_protocol="TCP", port_range="21/21", source_group_id=target)
    request = m.DeleteSecurityGroupRequest(region_id=region, security_group_id=target)
    assert tea_error(lambda: ecs.delete_security_group(request)) == (
        403,
        "DependencyViolation",
        "The specified security group has been authorized in another one.",
    )
    ecs.revoke_security_group(
        m.RevokeSecurityGroupRequest(
            region_id=region,
            security_group_id=holder,
            ip_protocol="TCP",
            port_range="21/21",
            source_group_id=target,
        )
    )
    ecs.delete_security_group(request)
    assert tea_error(lambda: describe(ecs, region, target))[:2] == (404, "InvalidSecurityGroupId.NotFound")


def test_delete_refused_while_it_has_members(
    api: RunningServer, ecs: Client, region: str, vpc_id: str
) -> None:
    group_id = new_group(ecs, region, vpc_id)
    add_member(api, group_id, vpc_id)
    request = m.DeleteSecurityGroupRequest(region_id=region, security_group_id=group_id)
    assert tea_error(lambda: ecs.delete_security_group(request)) == (
        403,
        "DependencyViolation",
        "There is still instance(s) in the specified security group.",
    )
    [item] = list_groups(ecs, region, security_group_id=group_id)["SecurityGroups"]["SecurityGroup"]
    assert item["AvailableInstanceAmount"] == 1999


def test_a_group_referenced_by_another_account_cannot_be_deleted(
    api: RunningServer, ecs: Client, region: str
) -> None:
    target = new_group(ecs, region, new_vpc(api))
    other_id, config = other_account(api)
    other = Client(config)
    holder = new_group(other, region, new_vpc(api, config=config))
    ingress(
        other, region, holder, ip_protocol="TCP", port_range="443/443",
        source_group_id=target, source_group_owner_id=int(api.account_id),
    )  # fmt: skip
    refs = ecs.describe_security_group_references(
        m.DescribeSecurityGroupReferencesRequest(region_id=region, security_group_id=[target])
    ).body.to_map()
    [reference] = refs["SecurityGroupReferences"]["SecurityGroupReference"]
    referencing = reference["ReferencingSecurityGroups"]["ReferencingSecurityGroup"]
    assert referencing == [{"SecurityGroupId": holder, "AliUid": other_id}]
    request = m.DeleteSecurityGroupRequest(region_id=region, security_group_id=target)
    assert tea_error(lambda: ecs.delete_security_group(request))[:2] == (403, "DependencyViolation")


# ---------------------------------------------------------------- DescribeSecurityGroupReferences


def test_references_list_every_requested_group(
    api: RunningServer, ecs: Client, region: str, vpc_id: str
) -> None:
    target = new_group(ecs, region, vpc_id)
    lonely = new_group(ecs, region, vpc_id)
    holders = sorted(new_group(ecs, region, vpc_id) for _ in range(2))
    for holder in holders:
        ingress(ecs, region, holder, ip_protocol="TCP", port_range="21/21", source_group_id=target)
    request = m.DescribeSecurityGroupReferencesRequest(region_id=region, security_group_id=[target, lonely])
    body = ecs.describe_security_group_references(request).body.to_map()
    by_id = {
        r["SecurityGroupId"]: r["ReferencingSecurityGroups"]["ReferencingSecurityGroup"]
        for r in body["SecurityGroupReferences"]["SecurityGroupReference"]
    }
    assert by_id[lonely] == []
    assert by_id[target] == [{"SecurityGroupId": h, "AliUid": api.account_id} for h in holders]


def test_references_errors(ecs: Client, region: str, vpc_id: str) -> None:
    group_id = new_group(ecs, region, vpc_id)
    request = m.DescribeSecurityGroupReferencesRequest
    none = request(region_id=region, security_group_id=[])
    assert tea_error(lambda: ecs.describe_security_group_references(none))[:2] == (
        400,
        "InvalidSecurityGroupId.Malformed",
    )
    eleven = request(region_id=region, security_group_id=[group_id] + [f"sg-{i}" for i in range(10)])
    assert tea_error(lambda: ecs.describe_security_group_references(eleven))[:2] == (
        400,
        "InvalidSecurityGroupId.Malformed",
    )
    unknown = request(region_id=region, security_group_id=[group_id, "sg-doesnotexist"])
    assert tea_error(lambda: ecs.describe_security_group_references(unknown)) == (
        404,
        "InvalidSecurityGroupId.NotFound",
        "The SecurityGroupId provided does not exist in our records.",
    )


# ---------------------------------------------------------------- the legacy SDK


def test_legacy_group_lifecycle(api: RunningServer, vpc_id: str) -> None:
    create = CreateSecurityGroupRequest.CreateSecurityGroupRequest()
    create.set_VpcId(vpc_id)
    create.set_SecurityGroupName("legacy-group")
    create.set_Tags([{"Key": "sdk", "Value": "legacy"}])
    group_id = legacy_json(api, create)["SecurityGroupId"]

    listing = DescribeSecurityGroupsRequest.DescribeSecurityGroupsRequest()
    listing.set_SecurityGroupIds(json.dumps([group_id]))
    [item] = legacy_json(api, listing)["SecurityGroups"]["SecurityGroup"]
    assert (item["SecurityGroupName"], item["Tags"]["Tag"]) == (
        "legacy-group",
        [{"TagKey": "sdk", "TagValue": "legacy"}],
    )

    rename = ModifySecurityGroupAttributeRequest.ModifySecurityGroupAttributeRequest()
    rename.set_SecurityGroupId(group_id)
    rename.set_Description("renamed by the legacy SDK")
    legacy_call(api, rename)
    policy = ModifySecurityGroupPolicyRequest.ModifySecurityGroupPolicyRequest()
    policy.set_SecurityGroupId(group_id)
    policy.set_InnerAccessPolicy("Drop")
    legacy_call(api, policy)
    attribute = DescribeSecurityGroupAttributeRequest.DescribeSecurityGroupAttributeRequest()
    attribute.set_SecurityGroupId(group_id)
    body = legacy_json(api, attribute)
    assert (body["Description"], body["InnerAccessPolicy"]) == ("renamed by the legacy SDK", "Drop")

    refs = DescribeSecurityGroupReferencesRequest.DescribeSecurityGroupReferencesRequest()
    refs.set_SecurityGroupIds([group_id])
    [reference] = legacy_json(api, refs)["SecurityGroupReferences"]["SecurityGroupReference"]
    assert reference == {
        "SecurityGroupId": group_id,
        "ReferencingSecurityGroups": {"ReferencingSecurityGroup": []},
    }

    delete = DeleteSecurityGroupRequest.DeleteSecurityGroupRequest()
    delete.set_SecurityGroupId(group_id)
    legacy_call(api, delete)
    assert legacy_error(api, delete) == (404, "InvalidSecurityGroupId.NotFound")


def test_legacy_errors_and_xml(api: RunningServer) -> None:
    create = CreateSecurityGroupRequest.CreateSecurityGroupRequest()
    create.set_SecurityGroupType("enterprise")
    assert legacy_error(api, create) == (400, "InvalidParams.VpcIdGroupType")
    attribute = DescribeSecurityGroupAttributeRequest.DescribeSecurityGroupAttributeRequest()
    attribute.set_SecurityGroupId("sg-doesnotexist")
    assert legacy_error(api, attribute) == (404, "InvalidSecurityGroupId.NotFound")
    group_id = legacy_json(api, CreateSecurityGroupRequest.CreateSecurityGroupRequest())["SecurityGroupId"]
    rename = ModifySecurityGroupAttributeRequest.ModifySecurityGroupAttributeRequest()
    rename.set_SecurityGroupId(group_id)
    rename.set_SecurityGroupName("http://example.com")
    assert legacy_error(api, rename) == (400, "InvalidSecurityGroupName.Malformed")
    policy = ModifySecurityGroupPolicyRequest.ModifySecurityGroupPolicyRequest()
    policy.set_SecurityGroupId(group_id)
    policy.set_InnerAccessPolicy("Sometimes")
    assert legacy_error(api, policy) == (400, "InvalidPolicy.Malformed")
    refs = DescribeSecurityGroupReferencesRequest.DescribeSecurityGroupReferencesRequest()
    refs.set_SecurityGroupIds([group_id, "sg-doesnotexist"])
    assert legacy_error(api, refs) == (404, "InvalidSecurityGroupId.NotFound")
    dry = DescribeSecurityGroupsRequest.DescribeSecurityGroupsRequest()
    dry.set_DryRun(True)
    assert legacy_error(api, dry) == (400, "DryRunOperation")
    listing = DescribeSecurityGroupsRequest.DescribeSecurityGroupsRequest()
    listing.set_SecurityGroupId(group_id)
    root = ElementTree.fromstring(legacy_call(api, listing, fmt="XML"))
    assert root.tag == "DescribeSecurityGroupsResponse"
    assert [e.text for e in root.iterfind("SecurityGroups/SecurityGroup/SecurityGroupId")] == [group_id]
    assert root.findtext("SecurityGroups/SecurityGroup/Tags") == ""


# ---------------------------------------------------------------- cost of DescribeSecurityGroups


def test_describe_costs_a_fixed_number_of_indexed_queries(tmp_path: Path) -> None:
    """However many groups the region holds and whatever the page size: one query for the page, one for
    the total (page mode only) and one bulk query each for rule counts, member counts and tags. The page
    query searches an index for the account and region instead of scanning the table."""
    settings = Settings.from_env(data_dir=tmp_path, database_url="")
    initialize(settings)
    db, master_key = open_store(settings)
    try:
        with db.write() as conn:
            account_id = conn.execute(select(schema.accounts.c.id)).scalar_one()
            _bulk_groups(conn, account_id, "cn-beijing", 3)
            _bulk_groups(conn, account_id, "cn-hangzhou", 3000)
        statements: list[tuple[str, Any]] = []
        event.listen(
            db.read_engine,
            "before_cursor_execute",
            lambda _c, _k, sql, params, *_: statements.append((sql, params)),
        )
        counts = {}
        for region, params in [
            ("cn-beijing", {}),
            ("cn-hangzhou", {}),
            ("cn-hangzhou", {"PageSize": "50", "PageNumber": "3"}),
            ("cn-hangzhou", {"MaxResults": "100"}),
        ]:
            statements.clear()
            body = _describe_in_process(db, master_key, account_id, region, params)
            assert body["SecurityGroups"]["SecurityGroup"]
            queries = [sql for sql, _ in statements if sql.lstrip().upper().startswith("SELECT")]
            counts[(region, tuple(params))] = len(queries)
            page_sql, page_params = next(
                (sql, p) for sql, p in statements if "FROM security_groups" in sql and "ORDER BY" in sql
            )
        assert counts == {  # count (page mode only), page, rule counts, member counts, tags
            ("cn-beijing", ()): 5,
            ("cn-hangzhou", ()): 5,
            ("cn-hangzhou", ("PageSize", "PageNumber")): 5,
            ("cn-hangzhou", ("MaxResults",)): 4,
        }
        with db.read() as conn:
            plan = " ".join(
                row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + page_sql, page_params)
            )
        assert "SEARCH security_groups USING" in plan, plan
    finally:
        db.dispose()


def _bulk_groups(conn: Connection, account_id: str, region_id: str, count: int) -> None:
    common = {
        "account_id": account_id, "region_id": region_id, "vpc_id": "vpc-bulk", "name": "", "description": "",
        "group_type": "normal", "inner_access_policy": "Accept", "resource_group_id": "rg-bulk",
        "service_managed": False, "service_id": 0, "created_at": time.time(), "revision": 0,
    }  # fmt: skip
    rows = [{**common, "id": f"sg-{region_id[:2]}{uuid.uuid4().hex[:18]}"} for _ in range(count)]
    conn.execute(insert(schema.security_groups), rows)


def _describe_in_process(
    db: Database, master_key: MasterKey, account_id: str, region_id: str, params: dict[str, str]
) -> dict[str, Any]:
    op = REGISTRY[("2014-05-26", "DescribeSecurityGroups")]
    request = bind({"RegionId": region_id, **params}, op.request)
    with db.read() as conn:
        ctx = Context(
            request_id="test", principal=Principal.root(account_id), access_key_id="", source_ip="",
            service="ecs", region_id=region_id, now=time.time(), db=db, master_key=master_key,
            begin=lambda: conn,
        )  # fmt: skip
        return op.handler(ctx, request)
