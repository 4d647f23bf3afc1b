"""TagResources / UntagResources / ListTagResources through both official SDK generations.

Resources of every taggable type are made here: prefix lists through the API, security groups, instances
and ENIs straight in the server's database (so that the tag API is tested whoever's create actions
exist). The session server is shared: every assertion is about resources made in the test.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkecs.request.v20140526.ListTagResourcesRequest import ListTagResourcesRequest as LegacyList
from aliyunsdkecs.request.v20140526.TagResourcesRequest import TagResourcesRequest as LegacyTag
from aliyunsdkecs.request.v20140526.UntagResourcesRequest import UntagResourcesRequest as LegacyUntag
from sqlalchemy import Connection, insert

from secplane.domain import ids
from secplane.store import accounts
from secplane.store.schema import instances, network_interfaces
from secplane.testing import RunningServer
from tests.api.test_prefix_lists import (
    REGION,
    create,
    expect_error,
    expect_legacy_error,
    insert_group,
    store,
)
from tests.conftest import legacy_call

# ---------------------------------------------------------------- helpers


def insert_instance(conn: Connection, account_id: str, region_id: str = REGION) -> str:
    instance_id = ids.resource_id("i", region_id)
    conn.execute(
        insert(instances).values(
            id=instance_id, account_id=account_id, region_id=region_id, zone_id=f"{region_id}-b",
            name="tagged", host_name="tagged", image_id="aliyun_3_x64_20G", instance_type="ecs.g7.large",
            status="Running", network_type="vpc", password_login=True, deletion_protection=False,
            resource_group_id=accounts.default_resource_group(conn, account_id), created_at=time.time(),
        )
    )  # fmt: skip
    return instance_id


def insert_eni(conn: Connection, account_id: str, region_id: str = REGION) -> str:
    eni_id = ids.resource_id("eni", region_id)
    conn.execute(
        insert(network_interfaces).values(
            id=eni_id, account_id=account_id, region_id=region_id, zone_id=f"{region_id}-b",
            eni_type="Secondary", status="Available", private_ip="10.0.0.9", mac="00:16:3e:00:00:09",
            resource_group_id=accounts.default_resource_group(conn, account_id), service_managed=False,
            delete_on_release=True, created_at=time.time(),
        )
    )  # fmt: skip
    return eni_id


def make(running: RunningServer, resource_type: str, client: Client | None = None, **kw: Any) -> str:
    """A new resource of ``resource_type`` owned by the server's root account."""
    if resource_type == "prefixlist":
        return create(client or Client(running.tea_config()))
    with store(running) as conn:
        maker = {"securitygroup": insert_group, "instance": insert_instance, "eni": insert_eni}[resource_type]
        return maker(conn, kw.get("account_id", running.account_id), kw.get("region_id", REGION))


def tag(
    client: Client, resource_type: str, resource_ids: list[str], pairs: dict[str, str], **kw: Any
) -> None:
    request = m.TagResourcesRequest(
        region_id=kw.pop("region_id", REGION),
        resource_type=resource_type,
        resource_id=resource_ids,
        tag=[m.TagResourcesRequestTag(key=k, value=v) for k, v in pairs.items()],
        **kw,
    )
    client.tag_resources(request)


def untag(client: Client, resource_type: str, resource_ids: list[str], **kw: Any) -> None:
    request = m.UntagResourcesRequest(
        region_id=REGION, resource_type=resource_type, resource_id=resource_ids, **kw
    )
    client.untag_resources(request)


def listed(client: Client, resource_type: str, **kw: Any) -> dict[str, Any]:
    request = m.ListTagResourcesRequest(
        region_id=kw.pop("region_id", REGION), resource_type=resource_type, **kw
    )
    return client.list_tag_resources(request).body.to_map()


def rows(client: Client, resource_type: str, **kw: Any) -> set[tuple[str, str, str]]:
    """All (ResourceId, TagKey, TagValue) rows, following NextToken."""
    out: set[tuple[str, str, str]] = set()
    token = None
    while True:
        body = listed(client, resource_type, next_token=token, **kw)
        for r in body["TagResources"]["TagResource"]:
            assert r["ResourceType"] == resource_type
            out.add((r["ResourceId"], r["TagKey"], r["TagValue"]))
        token = body["NextToken"]
        if not token:
            return out


def marker() -> str:
    return uuid.uuid4().hex[:12]


# ---------------------------------------------------------------- tag, list, untag per type


@pytest.mark.parametrize("resource_type", ["securitygroup", "instance", "eni", "prefixlist"])
def test_tag_list_untag_every_type(ecs: Client, api: RunningServer, resource_type: str) -> None:
    first, second = make(api, resource_type, ecs), make(api, resource_type, ecs)
    tag(ecs, resource_type, [first, second], {"env": "prod", "owner": "net"})
    tag(ecs, resource_type, [first], {"env": "dev"})  # an existing key gets the new value
    assert rows(ecs, resource_type, resource_id=[first, second]) == {
        (first, "env", "dev"), (first, "owner", "net"), (second, "env", "prod"), (second, "owner", "net"),
    }  # fmt: skip
    untag(ecs, resource_type, [first, second], tag_key=["owner"])
    assert rows(ecs, resource_type, resource_id=[first, second]) == {
        (first, "env", "dev"),
        (second, "env", "prod"),
    }
    untag(ecs, resource_type, [first], all=True)
    assert rows(ecs, resource_type, resource_id=[first, second]) == {(second, "env", "prod")}


def test_untag_without_keys_or_all_removes_nothing(ecs: Client, api: RunningServer) -> None:
    group = make(api, "securitygroup")
    tag(ecs, "securitygroup", [group], {"a": "1", "b": "2"})
    untag(ecs, "securitygroup", [group])
    untag(ecs, "securitygroup", [group], all=False)
    untag(ecs, "securitygroup", [group], tag_key=["a"], all=True)  # All counts only without TagKey.N
    assert rows(ecs, "securitygroup", resource_id=[group]) == {(group, "b", "2")}
    untag(ecs, "securitygroup", [group], tag_key=["not-there"])
    assert rows(ecs, "securitygroup", resource_id=[group]) == {(group, "b", "2")}


def test_tags_appear_in_describe_prefix_lists(ecs: Client, api: RunningServer) -> None:
    pl = make(api, "prefixlist", ecs)
    tag(ecs, "prefixlist", [pl], {"zone": "east"})
    body = ecs.describe_prefix_lists(m.DescribePrefixListsRequest(region_id=REGION, prefix_list_id=[pl])).body
    assert [(t.tag_key, t.tag_value) for t in body.prefix_lists.prefix_list[0].tags.tag] == [("zone", "east")]


# ---------------------------------------------------------------- ListTagResources filters


def test_list_by_exact_tags_is_an_and_of_key_and_value(ecs: Client, api: RunningServer) -> None:
    mark = marker()
    both, only_app, other_value = (make(api, "securitygroup") for _ in range(3))
    tag(ecs, "securitygroup", [both], {"app": mark, "tier": "web"})
    tag(ecs, "securitygroup", [only_app], {"app": mark})
    tag(ecs, "securitygroup", [other_value], {"app": mark, "tier": "db"})

    def found(*pairs: tuple[str, str | None], **kw: Any) -> set[str]:
        wanted = [m.ListTagResourcesRequestTag(key=k, value=v) for k, v in pairs]
        return {r[0] for r in rows(ecs, "securitygroup", tag=wanted, **kw)}

    assert found(("app", mark)) == {both, only_app, other_value}
    assert found(("app", mark), ("tier", "web")) == {both}
    assert found(("app", mark), ("tier", None)) == {both, other_value}
    assert found(("app", mark), resource_id=[only_app, both]) == {only_app, both}
    # one row per resource and tag: every tag of a matching resource is listed
    assert rows(ecs, "securitygroup", tag=[m.ListTagResourcesRequestTag(key="tier", value="web")]) >= {
        (both, "app", mark), (both, "tier", "web"),
    }  # fmt: skip


def test_list_by_tag_filter_keys_and_value_prefixes(ecs: Client, api: RunningServer) -> None:
    mark = marker()
    dev, prod, other = (make(api, "instance") for _ in range(3))
    tag(ecs, "instance", [dev], {f"stage-{mark}": "dev-1"})
    tag(ecs, "instance", [prod], {f"stage-{mark}": "prod"})
    tag(ecs, "instance", [other], {f"owner-{mark}": "x"})

    def found(*filters: tuple[str, list[str]]) -> set[str]:
        wanted = [m.ListTagResourcesRequestTagFilter(tag_key=k, tag_values=v) for k, v in filters]
        return {r[0] for r in rows(ecs, "instance", tag_filter=wanted)}

    assert found((f"stage-{mark}", [])) == {dev, prod}
    assert found((f"stage-{mark}", ["dev*"])) == {dev}
    assert found((f"stage-{mark}", ["prod", "dev-1"])) == {dev, prod}
    assert found((f"stage-{mark}", ["dev"])) == set()
    assert found((f"stage-{mark}", []), (f"owner-{mark}", [])) == set()


def test_list_by_resource_group(ecs: Client, api: RunningServer) -> None:
    pl = make(api, "prefixlist", ecs)
    tag(ecs, "prefixlist", [pl], {"rg-test": "yes"})
    group = (
        ecs.describe_prefix_lists(m.DescribePrefixListsRequest(region_id=REGION, prefix_list_id=[pl]))
        .body.prefix_lists.prefix_list[0]
        .resource_group_id
    )
    in_group = [m.ListTagResourcesRequestTag(key="acs:rm:rgId", value=group)]
    assert (pl, "rg-test", "yes") in rows(ecs, "prefixlist", tag=in_group)
    elsewhere = [m.ListTagResourcesRequestTag(key="acs:rm:rgId", value="rg-acfmnowhere0000000")]
    assert rows(ecs, "prefixlist", tag=elsewhere, resource_id=[pl]) == set()


def test_list_pages_one_row_per_resource_and_tag(ecs: Client, api: RunningServer) -> None:
    groups = [make(api, "securitygroup") for _ in range(3)]
    tag(ecs, "securitygroup", groups, {f"k{i:02}": str(i) for i in range(20)})
    first = listed(ecs, "securitygroup", resource_id=groups)
    assert len(first["TagResources"]["TagResource"]) == 50 and first["NextToken"]
    second = listed(ecs, "securitygroup", resource_id=groups, next_token=first["NextToken"])
    assert len(second["TagResources"]["TagResource"]) == 10 and second["NextToken"] == ""
    assert len(rows(ecs, "securitygroup", resource_id=groups)) == 60
    expect_error(
        lambda: listed(ecs, "securitygroup", resource_id=groups, next_token="%%"),
        "InValidParameter.NextToken",
    )


def test_list_shows_only_this_region(ecs: Client, api: RunningServer) -> None:
    group = make(api, "securitygroup")
    tag(ecs, "securitygroup", [group], {"where": "hangzhou"})
    assert rows(ecs, "securitygroup", resource_id=[group], region_id="cn-shanghai") == set()


def test_unknown_key_pair_name_is_not_found(ecs: Client) -> None:
    expect_error(lambda: tag(ecs, "keypair", ["my-key"], {"a": "b"}), "InvalidResourceId.NotFound", 404)
    assert rows(ecs, "keypair", resource_id=["my-key"]) == set()


# ---------------------------------------------------------------- errors


def test_tag_errors(ecs: Client, api: RunningServer) -> None:
    group = make(api, "securitygroup")
    many = {f"k{i}": "v" for i in range(21)}
    expect_error(lambda: tag(ecs, "", [group], {"a": "b"}), "MissingParameter.ResourceType", 404)
    expect_error(lambda: tag(ecs, "disk", [group], {"a": "b"}), "InvalidResourceType.NotFound", 404)
    expect_error(lambda: tag(ecs, "securitygroup", [], {"a": "b"}), "MissingParameter")
    expect_error(
        lambda: tag(ecs, "securitygroup", [f"sg-{i}" for i in range(51)], {"a": "b"}),
        "NumberExceed.ResourceIds",
    )
    expect_error(lambda: tag(ecs, "securitygroup", [group], {}), "MissingParameter.Tags", 404)
    expect_error(lambda: tag(ecs, "securitygroup", [group], many), "NumberExceed.Tags")
    expect_error(lambda: tag(ecs, "securitygroup", [group], {"aliyun-x": "v"}), "InvalidTagKey.Malformed")
    expect_error(lambda: tag(ecs, "securitygroup", [group], {"acs:x": "v"}), "InvalidTagKey.Malformed")
    expect_error(lambda: tag(ecs, "securitygroup", [group], {"k" * 129: "v"}), "InvalidTagKey.Malformed")
    expect_error(lambda: tag(ecs, "securitygroup", [group], {"k": "http://x"}), "InvalidTagValue.Malformed")
    twice = [m.TagResourcesRequestTag(key="same", value="1"), m.TagResourcesRequestTag(key="same", value="2")]
    request = m.TagResourcesRequest(
        region_id=REGION, resource_type="securitygroup", resource_id=[group], tag=twice
    )
    expect_error(lambda: ecs.tag_resources(request), "Duplicate.TagKey")
    assert rows(ecs, "securitygroup", resource_id=[group]) == set()


def test_tag_quota_of_twenty_per_resource(ecs: Client, api: RunningServer) -> None:
    group = make(api, "securitygroup")
    tag(ecs, "securitygroup", [group], {f"k{i}": "v" for i in range(20)})
    tag(ecs, "securitygroup", [group], {"k0": "changed"})  # overwriting stays within the quota
    expect_error(lambda: tag(ecs, "securitygroup", [group], {"one-more": "v"}), "QuotaExceed.Tags", 403)
    assert len(rows(ecs, "securitygroup", resource_id=[group])) == 20


def test_resources_must_exist_in_the_callers_account_and_region(ecs: Client, api: RunningServer) -> None:
    mine = make(api, "securitygroup")
    with store(api) as conn:
        stranger = accounts.create_account(conn)
        theirs = insert_group(conn, stranger)
    elsewhere = make(api, "securitygroup", region_id="cn-shanghai")
    for missing in (theirs, elsewhere, "sg-bpdoesnotexist0000", make(api, "instance")):
        err = expect_error(
            lambda r=missing: tag(ecs, "securitygroup", [mine, r], {"x": "y"}),
            "InvalidResourceId.NotFound",
            404,
        )
        assert "The specified ResourceIds are not found in our records." in err.message
        expect_error(
            lambda r=missing: untag(ecs, "securitygroup", [r], all=True), "InvalidResourceId.NotFound", 404
        )
    assert rows(ecs, "securitygroup", resource_id=[mine]) == set()  # nothing half-applied
    tag(ecs, "securitygroup", [elsewhere], {"x": "y"}, region_id="cn-shanghai")
    assert rows(ecs, "securitygroup", resource_id=[elsewhere], region_id="cn-shanghai") == {
        (elsewhere, "x", "y")
    }


def test_untag_and_list_errors(ecs: Client, api: RunningServer) -> None:
    group = make(api, "securitygroup")
    expect_error(
        lambda: untag(ecs, "securitygroup", [group], tag_key=[f"k{i}" for i in range(21)]),
        "NumberExceed.Tags",
    )
    expect_error(lambda: untag(ecs, "securitygroup", []), "MissingParameter")
    expect_error(lambda: untag(ecs, "nothing", [group]), "InvalidResourceType.NotFound", 404)
    expect_error(lambda: listed(ecs, "securitygroup"), "MissingParameter")
    expect_error(lambda: listed(ecs, ""), "MissingParameter.ResourceType", 404)
    expect_error(
        lambda: listed(ecs, "securitygroup", tag=[m.ListTagResourcesRequestTag(value="v")]),
        "InvalidParameter.TagValue",
    )
    expect_error(
        lambda: listed(
            ecs, "securitygroup", tag_filter=[m.ListTagResourcesRequestTagFilter(tag_values=["v"])]
        ),
        "MissingParameter",
    )
    expect_error(
        lambda: listed(ecs, "securitygroup", resource_id=[f"sg-{i}" for i in range(51)]),
        "NumberExceed.ResourceIds",
    )
    expect_error(
        lambda: listed(
            ecs, "securitygroup", tag=[m.ListTagResourcesRequestTag(key=f"k{i}") for i in range(21)]
        ),
        "NumberExceed.Tags",
    )


# ---------------------------------------------------------------- legacy SDK


def test_legacy_tag_list_untag(api: RunningServer) -> None:
    eni = make(api, "eni")
    request = LegacyTag()
    request.set_ResourceType("eni")
    request.set_ResourceIds([eni])
    request.set_Tags([{"Key": "legacy", "Value": "yes"}, {"Key": "empty", "Value": ""}])
    legacy_call(api, request)

    listing = LegacyList()
    listing.set_ResourceType("eni")
    listing.set_ResourceIds([eni])
    body = json.loads(legacy_call(api, listing))
    assert body["TagResources"]["TagResource"] == [
        {"ResourceId": eni, "ResourceType": "eni", "TagKey": "empty", "TagValue": ""},
        {"ResourceId": eni, "ResourceType": "eni", "TagKey": "legacy", "TagValue": "yes"},
    ]
    assert body["NextToken"] == ""

    by_filter = LegacyList()
    by_filter.set_ResourceType("eni")
    by_filter.set_TagFilters([{"TagKey": "legacy", "TagValues": ["y*"]}])
    assert eni in {
        r["ResourceId"] for r in json.loads(legacy_call(api, by_filter))["TagResources"]["TagResource"]
    }

    removal = LegacyUntag()
    removal.set_ResourceType("eni")
    removal.set_ResourceIds([eni])
    removal.set_TagKeys(["legacy"])
    legacy_call(api, removal)
    all_of_them = LegacyUntag()
    all_of_them.set_ResourceType("eni")
    all_of_them.set_ResourceIds([eni])
    all_of_them.set_All(True)
    legacy_call(api, all_of_them)
    assert json.loads(legacy_call(api, listing))["TagResources"]["TagResource"] == []


def test_legacy_errors(api: RunningServer) -> None:
    request = LegacyTag()
    request.set_ResourceType("securitygroup")
    request.set_ResourceIds(["sg-bpnotthere000000000"])
    request.set_Tags([{"Key": "a", "Value": "b"}])
    expect_legacy_error(api, request, "InvalidResourceId.NotFound", 404)
    request.set_ResourceType("volume")
    expect_legacy_error(api, request, "InvalidResourceType.NotFound", 404)
    listing = LegacyList()
    listing.set_ResourceType("securitygroup")
    listing.set_Tags([{"Value": "only a value"}])
    expect_legacy_error(api, listing, "InvalidParameter.TagValue")


# ---------------------------------------------------------------- PostgreSQL and SQLite


def test_tag_flow_on_both_databases(any_api: RunningServer) -> None:
    client = Client(any_api.tea_config())
    pl = make(any_api, "prefixlist", client)
    group = make(any_api, "securitygroup")
    mark = marker()
    tag(client, "prefixlist", [pl], {"db": mark, "keep": "1"})
    tag(client, "securitygroup", [group], {"db": mark})
    assert rows(client, "prefixlist", tag=[m.ListTagResourcesRequestTag(key="db", value=mark)]) == {
        (pl, "db", mark), (pl, "keep", "1"),
    }  # fmt: skip
    assert rows(client, "securitygroup", tag=[m.ListTagResourcesRequestTag(key="db", value=mark)]) == {
        (group, "db", mark)
    }
    tag(client, "prefixlist", [pl], {f"k{i}": "v" for i in range(18)})
    expect_error(lambda: tag(client, "prefixlist", [pl], {"over": "quota"}), "QuotaExceed.Tags", 403)
    untag(client, "prefixlist", [pl], all=True)
    assert rows(client, "prefixlist", resource_id=[pl]) == set()


def test_tag_quota_holds_under_concurrent_calls(any_api: RunningServer) -> None:
    pl = make(any_api, "prefixlist", Client(any_api.tea_config()))
    tag(Client(any_api.tea_config()), "prefixlist", [pl], {f"base{i}": "v" for i in range(15)})

    def add_one(i: int) -> str:
        try:
            tag(Client(any_api.tea_config()), "prefixlist", [pl], {f"extra{i}": "v"})
            return "ok"
        except ClientException as err:
            return str(err.code)

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(add_one, range(12)))
    assert outcomes.count("ok") == 5 and set(outcomes) == {"ok", "QuotaExceed.Tags"}
    assert len(rows(Client(any_api.tea_config()), "prefixlist", resource_id=[pl])) == 20
