"""Managed security groups (SG-12) made with ``secplane admin``, used through both official SDKs.

The CLI writes into the running test server's own data dir and database, as an operator would. A user of
the account can read a managed group (and tag it) but not change it; the owning service's key can.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_vpc20160428 import models as vpc_models
from aliyunsdkcore.client import AcsClient
from aliyunsdkecs.request.v20140526.DescribeSecurityGroupsRequest import (
    DescribeSecurityGroupsRequest as LegacyDescribeGroups,
)
from aliyunsdkecs.request.v20140526.ModifySecurityGroupAttributeRequest import (
    ModifySecurityGroupAttributeRequest as LegacyModifyGroup,
)

from secplane.testing import RunningServer
from tests.api.test_prefix_lists import REGION, expect_error, expect_legacy_error, require
from tests.conftest import legacy_call

MANAGED = ("InvalidOperation.ResourceManagedByCloudProduct", 403)


# ---------------------------------------------------------------- helpers


def admin(
    running: RunningServer, *args: str, data_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``secplane admin …`` against the running server's data dir and database."""
    store = ["--data-dir", str(data_dir or running.data_dir), "--database-url", running.database_url]
    return subprocess.run(
        [sys.executable, "-m", "secplane", "admin", *args, *store],
        capture_output=True,
        text=True,
        timeout=120,
    )


def service_id() -> int:
    return 1_000_000 + secrets.randbelow(10**9)


def service_key(running: RunningServer, sid: int) -> dict[str, Any]:
    done = admin(running, "create-service-key", "--service-id", str(sid))
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def managed_group(running: RunningServer, sid: int, *extra: str) -> str:
    done = admin(
        running, "create-managed-security-group", "--service-id", str(sid), "--region", REGION, *extra
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def client_for(running: RunningServer, key: dict[str, Any]) -> Client:
    return Client(
        running.tea_config(access_key_id=key["access_key_id"], access_key_secret=key["access_key_secret"])
    )


def new_vpc(running: RunningServer) -> str:
    from alibabacloud_vpc20160428.client import Client as VpcClient

    request = vpc_models.CreateVpcRequest(region_id=REGION, cidr_block="10.0.0.0/16")
    return VpcClient(running.tea_config()).create_vpc(request).body.vpc_id


def describe_group(client: Client, group_id: str) -> Any:
    request = m.DescribeSecurityGroupsRequest(region_id=REGION, security_group_id=group_id)
    return client.describe_security_groups(request).body.security_groups.security_group


def rename(client: Client, group_id: str, name: str) -> None:
    request = m.ModifySecurityGroupAttributeRequest(
        region_id=REGION, security_group_id=group_id, security_group_name=name
    )
    client.modify_security_group_attribute(request)


def authorize(client: Client, group_id: str) -> None:
    permission = m.AuthorizeSecurityGroupRequestPermissions(
        ip_protocol="TCP", port_range="443/443", source_cidr_ip="192.0.2.0/24"
    )
    request = m.AuthorizeSecurityGroupRequest(
        region_id=REGION, security_group_id=group_id, permissions=[permission]
    )
    client.authorize_security_group(request)


def delete(client: Client, group_id: str) -> None:
    client.delete_security_group(m.DeleteSecurityGroupRequest(region_id=REGION, security_group_id=group_id))


# ---------------------------------------------------------------- the admin commands


def test_service_key_authenticates_as_the_service(api: RunningServer) -> None:
    sid = service_id()
    key = service_key(api, sid)
    assert set(key) == {"access_key_id", "access_key_secret", "account_id", "service_id"}
    assert (key["account_id"], key["service_id"]) == (api.account_id, sid)
    assert key["access_key_id"].startswith("LTAI") and len(key["access_key_secret"]) == 30
    body = client_for(api, key).describe_prefix_lists(m.DescribePrefixListsRequest(region_id=REGION)).body
    assert body.request_id


def test_managed_group_is_created_in_the_root_account(api: RunningServer, ecs: Client) -> None:
    require("DescribeSecurityGroups", "DescribeSecurityGroupAttribute")
    sid = service_id()
    vpc_id = new_vpc(api)
    group = managed_group(
        api, sid, "--vpc-id", vpc_id, "--name", "managed-by-service", "--description", "ours"
    )
    assert group.startswith("sg-bp")
    [found] = describe_group(ecs, group)
    assert (found.service_managed, found.service_id, found.vpc_id) == (True, sid, vpc_id)
    assert (found.security_group_name, found.description) == ("managed-by-service", "ours")
    attrs = ecs.describe_security_group_attribute(
        m.DescribeSecurityGroupAttributeRequest(region_id=REGION, security_group_id=group)
    ).body
    assert (attrs.security_group_name, attrs.vpc_id) == ("managed-by-service", vpc_id)
    managed = m.DescribeSecurityGroupsRequest(region_id=REGION, service_managed=True, max_results=100)
    listed = ecs.describe_security_groups(managed).body.security_groups.security_group
    assert group in {g.security_group_id for g in listed}

    legacy = LegacyDescribeGroups()
    legacy.set_SecurityGroupId(group)
    [item] = json.loads(legacy_call(api, legacy))["SecurityGroups"]["SecurityGroup"]
    assert (item["ServiceManaged"], item["ServiceID"]) == (True, sid)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-service-key", "--service-id", "0"], "positive integer"),
        (["create-service-key", "--service-id", "7", "--account-id", "1234567890123456"], "does not exist"),
        (["create-managed-security-group", "--service-id", "7", "--region", "xx-nowhere"], "unknown region"),
        (
            [
                "create-managed-security-group",
                "--service-id",
                "7",
                "--region",
                REGION,
                "--vpc-id",
                "vpc-nope",
            ],
            "does not exist",
        ),
        (["create-managed-security-group", "--service-id", "7", "--region", REGION, "--name", "x"], "--name"),
    ],
)
def test_admin_refuses_bad_input(api: RunningServer, args: list[str], message: str) -> None:
    done = admin(api, *args)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert done.stdout == ""


def test_admin_needs_an_initialized_data_dir(api: RunningServer, tmp_path: Path) -> None:
    done = admin(api, "create-service-key", "--service-id", "7", data_dir=tmp_path)
    assert done.returncode == 1 and "secplane init" in done.stderr
    assert not (tmp_path / "master.key").exists()


# ---------------------------------------------------------------- read-only to users, writable by the service


@pytest.fixture()
def managed(api: RunningServer) -> tuple[str, Client, Client]:
    """(group id, the owning service's client, another service's client)."""
    sid = service_id()
    group = managed_group(api, sid, "--vpc-id", new_vpc(api))
    return group, client_for(api, service_key(api, sid)), client_for(api, service_key(api, service_id()))


def test_users_cannot_rename_but_the_service_can(ecs: Client, managed: tuple[str, Client, Client]) -> None:
    require("ModifySecurityGroupAttribute", "DescribeSecurityGroups")
    group, owner, stranger = managed
    expect_error(lambda: rename(ecs, group, "by-user"), *MANAGED)
    expect_error(lambda: rename(stranger, group, "by-other-service"), *MANAGED)
    rename(owner, group, "by-service")
    assert describe_group(ecs, group)[0].security_group_name == "by-service"


def test_legacy_user_is_refused_too(api: RunningServer, managed: tuple[str, Client, Client]) -> None:
    require("ModifySecurityGroupAttribute")
    group, _owner, _stranger = managed
    request = LegacyModifyGroup()
    request.set_SecurityGroupId(group)
    request.set_SecurityGroupName("legacy-user")
    expect_legacy_error(api, request, *MANAGED)


def test_legacy_service_key_may_change_it(api: RunningServer) -> None:
    require("ModifySecurityGroupAttribute", "DescribeSecurityGroups")
    sid = service_id()
    group = managed_group(api, sid)
    key = service_key(api, sid)
    request = LegacyModifyGroup()
    request.set_SecurityGroupId(group)
    request.set_SecurityGroupName("legacy-service")
    request.set_endpoint(api.endpoint)
    request.set_protocol_type("http")
    AcsClient(key["access_key_id"], key["access_key_secret"], REGION).do_action_with_exception(request)
    assert describe_group(Client(api.tea_config()), group)[0].security_group_name == "legacy-service"


def test_users_cannot_add_rules_but_the_service_can(ecs: Client, managed: tuple[str, Client, Client]) -> None:
    require("AuthorizeSecurityGroup", "DescribeSecurityGroupAttribute")
    group, owner, stranger = managed
    expect_error(lambda: authorize(ecs, group), *MANAGED)
    expect_error(lambda: authorize(stranger, group), *MANAGED)
    authorize(owner, group)
    attrs = ecs.describe_security_group_attribute(
        m.DescribeSecurityGroupAttributeRequest(region_id=REGION, security_group_id=group)
    ).body
    assert [p.port_range for p in attrs.permissions.permission] == ["443/443"]


def test_users_cannot_delete_but_the_service_can(ecs: Client, managed: tuple[str, Client, Client]) -> None:
    require("DeleteSecurityGroup", "DescribeSecurityGroups")
    group, owner, _stranger = managed
    expect_error(lambda: delete(ecs, group), *MANAGED)
    delete(owner, group)
    assert describe_group(ecs, group) == []


def test_users_may_tag_a_managed_group(ecs: Client, managed: tuple[str, Client, Client]) -> None:
    group, _owner, _stranger = managed
    tags = [m.TagResourcesRequestTag(key="reviewed", value="yes")]
    ecs.tag_resources(
        m.TagResourcesRequest(region_id=REGION, resource_type="securitygroup", resource_id=[group], tag=tags)
    )
    listing = m.ListTagResourcesRequest(region_id=REGION, resource_type="securitygroup", resource_id=[group])
    [row] = ecs.list_tag_resources(listing).body.tag_resources.tag_resource
    assert (row.resource_id, row.tag_key, row.tag_value) == (group, "reviewed", "yes")


# ---------------------------------------------------------------- PostgreSQL and SQLite


def test_admin_on_both_databases(any_api: RunningServer) -> None:
    require("DescribeSecurityGroups", "ModifySecurityGroupAttribute")
    sid = service_id()
    group = managed_group(any_api, sid, "--name", "on-every-database")
    user = Client(any_api.tea_config())
    [found] = describe_group(user, group)
    assert (found.service_managed, found.service_id, found.security_group_name) == (
        True,
        sid,
        "on-every-database",
    )
    expect_error(lambda: rename(user, group, "user"), *MANAGED)
    rename(client_for(any_api, service_key(any_api, sid)), group, "service")
    assert describe_group(user, group)[0].security_group_name == "service"
