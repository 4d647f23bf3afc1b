"""Prefix lists (SG-8) through both official SDK generations (Tea V3 and legacy V1).

The session server is shared with other tests: every assertion filters by the ids created here. Rules
that reference a list are written straight into the server's database (``reference_list``) so that the
association, delete and revision behaviour is tested whoever's rule actions exist; the end-to-end quota
test uses the real AuthorizeSecurityGroup once it is registered.
"""

from __future__ import annotations

import json
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkecs.request.v20140526.CreatePrefixListRequest import CreatePrefixListRequest as LegacyCreate
from aliyunsdkecs.request.v20140526.DeletePrefixListRequest import DeletePrefixListRequest as LegacyDelete
from aliyunsdkecs.request.v20140526.DescribePrefixListAssociationsRequest import (
    DescribePrefixListAssociationsRequest as LegacyAssociations,
)
from aliyunsdkecs.request.v20140526.DescribePrefixListAttributesRequest import (
    DescribePrefixListAttributesRequest as LegacyAttributes,
)
from aliyunsdkecs.request.v20140526.DescribePrefixListsRequest import (
    DescribePrefixListsRequest as LegacyDescribe,
)
from aliyunsdkecs.request.v20140526.ModifyPrefixListRequest import ModifyPrefixListRequest as LegacyModify
from sqlalchemy import Connection, select

import secplane.operations  # noqa: F401  (fills the registry the skips below consult)
from secplane.domain.sg_rules import Rule
from secplane.operations.registry import REGISTRY
from secplane.store import accounts
from secplane.store import security_groups as sg_store
from secplane.store.schema import prefix_lists, security_groups, tags
from secplane.testing import RunningServer
from tests.conftest import legacy_call
from tests.conftest import server_db as store

REGION = "cn-hangzhou"
MINUTES = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\dZ$")
LIST_FIELDS = {
    "PrefixListId", "PrefixListName", "Description", "AddressFamily", "MaxEntries", "AssociationCount",
    "CreationTime", "ResourceGroupId", "Tags",
}  # fmt: skip


# ---------------------------------------------------------------- helpers (also used by the other files)


def unique(prefix: str = "pl") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def require(*actions: str) -> None:
    """Skip unless another engineer's actions are registered already."""
    missing = [a for a in actions if ("2014-05-26", a) not in REGISTRY]
    if missing:
        pytest.skip(f"{', '.join(missing)} not registered in secplane.operations.registry.REGISTRY yet")


def expect_error(call: Callable[[], Any], code: str, status: int = 400) -> ClientException:
    with pytest.raises(ClientException) as err:
        call()
    assert (err.value.code, err.value.status_code) == (code, status), err.value.message
    return err.value


def expect_legacy_error(running: RunningServer, request: Any, code: str, status: int = 400) -> str:
    with pytest.raises(ServerException) as err:
        legacy_call(running, request)
    assert (err.value.get_error_code(), err.value.get_http_status()) == (code, status), err.value
    return str(err.value.get_error_msg())


def insert_group(conn: Connection, account_id: str, region_id: str = REGION, **kw: Any) -> str:
    values: dict[str, Any] = {
        "vpc_id": "", "name": "", "description": "", "group_type": "normal",
        "resource_group_id": accounts.default_resource_group(conn, account_id), "now": time.time(),
    }  # fmt: skip
    values.update(kw)
    return sg_store.insert_group(conn, account_id=account_id, region_id=region_id, **values)


def reference_list(running: RunningServer, prefix_list_id: str, groups: int = 1, rules: int = 1) -> list[str]:
    """New groups, each with ``rules`` ingress rules whose source is the prefix list."""
    group_ids = []
    with store(running) as conn:
        for _ in range(groups):
            group_id = insert_group(conn, running.account_id)
            for port in range(22, 22 + rules):
                rule = Rule(
                    direction="ingress", policy="Accept", priority=1, ip_protocol="TCP",
                    port_range=f"{port}/{port}", source_port_range="", nic_type="intranet",
                    peer_prefix_list_id=prefix_list_id,
                )  # fmt: skip
                sg_store.insert_rule(conn, group_id, REGION, rule, time.time())
            group_ids.append(group_id)
    return group_ids


def revisions(
    running: RunningServer, prefix_list_id: str, group_ids: list[str]
) -> tuple[int, dict[str, int]]:
    with store(running) as conn:
        own = conn.execute(
            select(prefix_lists.c.revision).where(prefix_lists.c.id == prefix_list_id)
        ).scalar()
        rows = conn.execute(
            select(security_groups.c.id, security_groups.c.revision).where(
                security_groups.c.id.in_(group_ids)
            )
        )
        return int(own or 0), {row.id: int(row.revision) for row in rows}


def entry(cidr: str, description: str | None = None) -> m.CreatePrefixListRequestEntry:
    return m.CreatePrefixListRequestEntry(cidr=cidr, description=description)


def create(client: Client, family: str = "IPv4", max_entries: int = 10, **kw: Any) -> str:
    kw.setdefault("prefix_list_name", unique())
    request = m.CreatePrefixListRequest(
        region_id=REGION, address_family=family, max_entries=max_entries, **kw
    )
    return client.create_prefix_list(request).body.prefix_list_id


def attributes(client: Client, prefix_list_id: str, region: str = REGION) -> dict[str, Any]:
    request = m.DescribePrefixListAttributesRequest(region_id=region, prefix_list_id=prefix_list_id)
    return client.describe_prefix_list_attributes(request).body.to_map()


def entries(client: Client, prefix_list_id: str) -> dict[str, str]:
    return {e["Cidr"]: e["Description"] for e in attributes(client, prefix_list_id)["Entries"]["Entry"]}


def described(client: Client, **kw: Any) -> dict[str, Any]:
    return client.describe_prefix_lists(m.DescribePrefixListsRequest(region_id=REGION, **kw)).body.to_map()


def modify(client: Client, prefix_list_id: str, **kw: Any) -> None:
    client.modify_prefix_list(
        m.ModifyPrefixListRequest(region_id=REGION, prefix_list_id=prefix_list_id, **kw)
    )


def add(cidr: str, description: str | None = None) -> m.ModifyPrefixListRequestAddEntry:
    return m.ModifyPrefixListRequestAddEntry(cidr=cidr, description=description)


def remove(cidr: str) -> m.ModifyPrefixListRequestRemoveEntry:
    return m.ModifyPrefixListRequestRemoveEntry(cidr=cidr)


def associations(client: Client, prefix_list_id: str, **kw: Any) -> dict[str, Any]:
    request = m.DescribePrefixListAssociationsRequest(region_id=REGION, prefix_list_id=prefix_list_id, **kw)
    return client.describe_prefix_list_associations(request).body.to_map()


# ---------------------------------------------------------------- create / describe


def test_create_normalises_entries_and_describes_every_field(ecs: Client) -> None:
    name = unique("Web")
    pl = create(
        ecs,
        max_entries=5,
        prefix_list_name=name,
        description="office networks",
        entry=[entry("192.168.1.7", "one host"), entry("10.0.0.0/8", "ten")],
        tag=[m.CreatePrefixListRequestTag(key="team", value="net")],
    )
    assert pl.startswith("pl-bp") and len(pl) == 23
    body = attributes(ecs, pl)
    assert body["PrefixListName"] == name and body["Description"] == "office networks"
    assert (body["AddressFamily"], body["MaxEntries"]) == ("IPv4", 5)
    assert MINUTES.match(body["CreationTime"]), body["CreationTime"]
    assert body["Entries"]["Entry"] == [
        {"Cidr": "10.0.0.0/8", "Description": "ten"},
        {"Cidr": "192.168.1.7/32", "Description": "one host"},
    ]
    [item] = described(ecs, prefix_list_id=[pl])["PrefixLists"]["PrefixList"]
    assert set(item) == LIST_FIELDS
    assert item["AssociationCount"] == 0 and item["MaxEntries"] == 5
    assert item["ResourceGroupId"].startswith("rg-")
    assert item["Tags"] == {"Tag": [{"TagKey": "team", "TagValue": "net"}]}


def test_ipv6_entries_are_compressed_lower_case(ecs: Client) -> None:
    pl = create(
        ecs, family="IPv6", entry=[entry("2001:DB8:0:0:0:0:0:0/32"), entry("2001:DB8::1"), entry("FD00::/8")]
    )
    assert set(entries(ecs, pl)) == {"2001:db8::/32", "2001:db8::1/128", "fd00::/8"}
    assert attributes(ecs, pl)["AddressFamily"] == "IPv6"


def test_empty_list_and_family_given_in_any_case(ecs: Client) -> None:
    pl = create(ecs, family="ipv4", max_entries=1)
    body = attributes(ecs, pl)
    assert (body["AddressFamily"], body["Entries"]["Entry"]) == ("IPv4", [])


CREATE_ERRORS = [
    ({"prefix_list_name": "1abc"}, "InvalidParameter.PrefixListName"),
    ({"prefix_list_name": "a"}, "InvalidParameter.PrefixListName"),
    ({"prefix_list_name": "a" * 129}, "InvalidParameter.PrefixListName"),
    ({"prefix_list_name": "com.aliyun.x"}, "InvalidParameter.PrefixListName"),
    ({"prefix_list_name": "bad name"}, "InvalidParameter.PrefixListName"),
    ({"description": "x"}, "InvalidDescription.Malformed"),
    ({"description": "https://example.com"}, "InvalidDescription.Malformed"),
    ({"description": "d" * 257}, "InvalidDescription.Malformed"),
    ({"address_family": "IPv5"}, "InvalidParameter.AddressFamily"),
    ({"max_entries": 0}, "InvalidParameter"),
    ({"max_entries": 201}, "InvalidParameter"),
    ({"entry": [entry("10.0.0.1/8")]}, "InvalidParameter.CidrMalformed"),
    ({"entry": [entry("10.0.0.0/33")]}, "InvalidParameter.CidrMalformed"),
    ({"entry": [entry("not-a-cidr")]}, "InvalidParameter.CidrMalformed"),
    ({"entry": [entry("10.0.0.0/255.0.0.0")]}, "InvalidParameter.CidrMalformed"),
    ({"entry": [entry("2001:db8::/32")]}, "InvalidParameter.CidrMalformed"),
    ({"entry": [entry("10.0.0.1"), entry("10.0.0.1/32")]}, "InvalidParameter.CidrDuplicated"),
    ({"entry": [entry("10.0.0.0/8", "d" * 33)]}, "InvalidDescription.Malformed"),
    ({"entry": [entry("10.0.0.0/8", "x")]}, "InvalidDescription.Malformed"),
    ({"max_entries": 2, "entry": [entry(f"10.0.{i}.0/24") for i in range(3)]}, "LimitExceed.MaxEntries"),
    ({"max_entries": 200, "entry": [entry(f"10.{i}.0.0/16") for i in range(201)]}, "LimitExceed.Entry"),
    ({"tag": [m.CreatePrefixListRequestTag(key="acs:x", value="v")]}, "InvalidTagKey.Malformed"),
    ({"tag": [m.CreatePrefixListRequestTag(key=f"k{i}", value="v") for i in range(21)]}, "NumberExceed.Tags"),
]


@pytest.mark.parametrize(("overrides", "code"), CREATE_ERRORS, ids=[c for _, c in CREATE_ERRORS])
def test_create_refuses_bad_input(ecs: Client, overrides: dict[str, Any], code: str) -> None:
    name = unique()
    values: dict[str, Any] = {"prefix_list_name": name, "address_family": "IPv4", "max_entries": 10}
    values.update(overrides)
    expect_error(lambda: ecs.create_prefix_list(m.CreatePrefixListRequest(region_id=REGION, **values)), code)
    assert described(ecs, prefix_list_name=values["prefix_list_name"])["PrefixLists"]["PrefixList"] == []


def test_create_refuses_unknown_resource_group(ecs: Client) -> None:
    expect_error(
        lambda: create(ecs, resource_group_id="rg-acfmnotmine12345"), "InvalidResourceGroup.NotFound", 404
    )


def test_client_token_replays_and_refuses_other_parameters(ecs: Client) -> None:
    token = uuid.uuid4().hex
    name = unique()
    first = create(ecs, prefix_list_name=name, client_token=token)
    assert create(ecs, prefix_list_name=name, client_token=token) == first
    assert len(described(ecs, prefix_list_name=name)["PrefixLists"]["PrefixList"]) == 1
    expect_error(
        lambda: create(ecs, prefix_list_name=unique(), client_token=token), "IdempotentParameterMismatch"
    )
    expect_error(lambda: create(ecs, client_token="é" * 3), "InvalidClientToken.ValueNotSupported")


def test_legacy_create_and_describe(api: RunningServer) -> None:
    request = LegacyCreate()
    request.set_PrefixListName(unique("legacy"))
    request.set_AddressFamily("IPv4")
    request.set_MaxEntries(3)
    request.set_Description("from the legacy SDK")
    request.set_Entrys([{"Cidr": "172.16.0.0/12", "Description": "private"}, {"Cidr": "8.8.8.8"}])
    request.set_Tags([{"Key": "sdk", "Value": "legacy"}])
    pl = json.loads(legacy_call(api, request))["PrefixListId"]

    attrs = LegacyAttributes()
    attrs.set_PrefixListId(pl)
    body = json.loads(legacy_call(api, attrs))
    assert [e["Cidr"] for e in body["Entries"]["Entry"]] == ["8.8.8.8/32", "172.16.0.0/12"]
    assert body["Description"] == "from the legacy SDK"

    describe = LegacyDescribe()
    describe.set_PrefixListIds([pl])
    describe.set_Tags([{"Key": "sdk", "Value": "legacy"}])
    [item] = json.loads(legacy_call(api, describe))["PrefixLists"]["PrefixList"]
    assert (item["PrefixListId"], item["MaxEntries"], item["AssociationCount"]) == (pl, 3, 0)

    root = ET.fromstring(legacy_call(api, attrs, fmt="XML"))
    assert root.tag == "DescribePrefixListAttributesResponse"
    assert [e.text for e in root.iterfind("Entries/Entry/Cidr")] == ["8.8.8.8/32", "172.16.0.0/12"]


def test_legacy_create_errors(api: RunningServer) -> None:
    request = LegacyCreate()
    request.set_PrefixListName(unique())
    request.set_AddressFamily("IPv4")
    request.set_MaxEntries(3)
    request.set_Entrys([{"Description": "no cidr"}])
    assert "Entry.1.Cidr" in expect_legacy_error(api, request, "MissingParameter")

    missing_family = LegacyCreate()
    missing_family.set_PrefixListName(unique())
    missing_family.set_MaxEntries(3)
    assert "AddressFamily" in expect_legacy_error(api, missing_family, "MissingParameter")

    bad = LegacyCreate()
    bad.set_PrefixListName(unique())
    bad.set_AddressFamily("IPv6")
    bad.set_MaxEntries(3)
    bad.set_Entrys([{"Cidr": "2001:db8::1/32"}])
    assert "2001:db8::1/32" in expect_legacy_error(api, bad, "InvalidParameter.CidrMalformed")


# ---------------------------------------------------------------- modify


def test_modify_renames_adds_removes_and_redescribes_in_one_call(ecs: Client) -> None:
    pl = create(
        ecs, max_entries=3, entry=[entry("10.0.0.0/8", "old"), entry("172.16.0.0/12"), entry("1.1.1.1")]
    )
    new_name = unique("renamed")
    modify(
        ecs,
        pl,
        prefix_list_name=new_name,
        description="new description",
        add_entry=[add("10.0.0.0/8", "new"), add("192.168.0.0/16", "added")],
        remove_entry=[remove("172.16.0.0/12"), remove("1.1.1.1")],
    )
    body = attributes(ecs, pl)
    assert (body["PrefixListName"], body["Description"]) == (new_name, "new description")
    assert entries(ecs, pl) == {"10.0.0.0/8": "new", "192.168.0.0/16": "added"}
    modify(ecs, pl, add_entry=[add("10.0.0.0/8")])  # no Description: the entry's stays
    assert entries(ecs, pl)["10.0.0.0/8"] == "new"


def test_modify_bumps_the_list_and_every_referencing_group(ecs: Client, api: RunningServer) -> None:
    pl = create(ecs, entry=[entry("10.0.0.0/8")])
    group_ids = reference_list(api, pl, groups=2)
    before, groups_before = revisions(api, pl, group_ids)
    modify(ecs, pl, add_entry=[add("11.0.0.0/8")])
    after, groups_after = revisions(api, pl, group_ids)
    assert after == before + 1
    assert all(groups_after[g] == groups_before[g] + 1 for g in group_ids)
    modify(ecs, pl, description="only the description")
    assert revisions(api, pl, group_ids)[0] == after + 1


MODIFY_ERRORS = [
    ({"add_entry": [add("10.0.0.1/8")]}, "InvalidParameter.CidrMalformed"),
    ({"add_entry": [add("2001:db8::/32")]}, "InvalidParameter.CidrMalformed"),
    ({"remove_entry": [remove("10.0.0.1/8")]}, "InvalidParameter.CidrMalformed"),
    ({"add_entry": [add("20.0.0.0/8"), add("20.0.0.0/8")]}, "InvalidParameter.CidrDuplicated"),
    ({"remove_entry": [remove("10.0.0.0/8"), remove("10.0.0.0/8")]}, "InvalidParameter.CidrDuplicated"),
    (
        {"add_entry": [add("10.0.0.0/8")], "remove_entry": [remove("10.0.0.0/8")]},
        "InvalidParameter.CidrDuplicated",
    ),
    ({"remove_entry": [remove("30.0.0.0/8")]}, "InvalidParameter"),
    ({"add_entry": [add("20.0.0.0/8"), add("21.0.0.0/8")]}, "LimitExceed.MaxEntries"),
    ({"add_entry": [add(f"10.{i}.0.0/16") for i in range(201)]}, "LimitExceed.Entry"),
    ({"add_entry": [add("20.0.0.0/8", "d" * 33)]}, "InvalidDescription.Malformed"),
    ({"prefix_list_name": "9lives"}, "InvalidParameter.PrefixListName"),
    ({"description": "http://x.example"}, "InvalidDescription.Malformed"),
]


@pytest.mark.parametrize(("changes", "code"), MODIFY_ERRORS, ids=[c for _, c in MODIFY_ERRORS])
def test_modify_refuses_bad_changes_without_applying_any(
    ecs: Client, changes: dict[str, Any], code: str
) -> None:
    name = unique()
    pl = create(ecs, prefix_list_name=name, max_entries=2, entry=[entry("10.0.0.0/8", "keep")])
    request = m.ModifyPrefixListRequest(
        region_id=REGION, prefix_list_id=pl, **{"prefix_list_name": unique("other"), **changes}
    )
    expect_error(lambda: ecs.modify_prefix_list(request), code)
    assert entries(ecs, pl) == {"10.0.0.0/8": "keep"}
    assert attributes(ecs, pl)["PrefixListName"] == name


def test_modify_removal_makes_room_in_the_same_call(ecs: Client) -> None:
    pl = create(ecs, max_entries=1, entry=[entry("10.0.0.0/8")])
    modify(ecs, pl, add_entry=[add("11.0.0.0/8")], remove_entry=[remove("10.0.0.0/8")])
    assert entries(ecs, pl) == {"11.0.0.0/8": ""}


def test_modify_unknown_list_is_not_found(ecs: Client) -> None:
    expect_error(lambda: modify(ecs, "pl-bpdoesnotexist00000"), "InvalidPrefixListId.NotFound", 404)


def test_legacy_modify(api: RunningServer, ecs: Client) -> None:
    pl = create(ecs, entry=[entry("10.0.0.0/8")])
    request = LegacyModify()
    request.set_PrefixListId(pl)
    request.set_AddEntrys([{"Cidr": "2.2.2.2", "Description": "dns"}])
    request.set_RemoveEntrys([{"Cidr": "10.0.0.0/8"}])
    legacy_call(api, request)
    assert entries(ecs, pl) == {"2.2.2.2/32": "dns"}
    bad = LegacyModify()
    bad.set_PrefixListId(pl)
    bad.set_AddEntrys([{"Cidr": "3.3.3.3"}, {"Cidr": "3.3.3.3/32"}])
    expect_legacy_error(api, bad, "InvalidParameter.CidrDuplicated")


# ---------------------------------------------------------------- describe filters and paging


def test_describe_filters_by_name_family_group_and_tag(ecs: Client) -> None:
    marker = unique("batch")
    tag = [m.CreatePrefixListRequestTag(key="batch", value=marker)]
    v4 = create(ecs, tag=tag)
    v6 = create(ecs, family="IPv6", tag=tag)
    by_tag = [m.DescribePrefixListsRequestTag(key="batch", value=marker)]

    def ids(**kw: Any) -> set[str]:
        return {p["PrefixListId"] for p in described(ecs, max_results=100, **kw)["PrefixLists"]["PrefixList"]}

    assert ids(tag=by_tag) == {v4, v6}
    assert ids(tag=by_tag, address_family="IPv6") == {v6}
    assert ids(tag=[m.DescribePrefixListsRequestTag(key="batch")]) >= {v4, v6}
    assert ids(tag=[*by_tag, m.DescribePrefixListsRequestTag(key="other", value="x")]) == set()
    name = attributes(ecs, v4)["PrefixListName"]
    assert ids(prefix_list_name=name) == {v4}
    group = described(ecs, prefix_list_id=[v4])["PrefixLists"]["PrefixList"][0]["ResourceGroupId"]
    assert ids(tag=by_tag, resource_group_id=group) == {v4, v6}
    assert ids(tag=by_tag, resource_group_id="rg-acfmother00000000") == set()
    assert ids(prefix_list_id=[v4, v6], address_family="IPv4") == {v4}


def test_describe_pages_with_max_results_and_next_token(ecs: Client) -> None:
    marker = unique("page")
    made = {create(ecs, tag=[m.CreatePrefixListRequestTag(key="page", value=marker)]) for _ in range(5)}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        body = described(
            ecs,
            tag=[m.DescribePrefixListsRequestTag(key="page", value=marker)],
            max_results=2,
            next_token=token,
        )
        seen += [p["PrefixListId"] for p in body["PrefixLists"]["PrefixList"]]
        pages += 1
        token = body["NextToken"]
        if not token:
            break
    assert (sorted(seen), pages) == (sorted(made), 3)


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"max_results": 0}, "InvalidParameter"),
        ({"max_results": 101}, "InvalidParameter"),
        ({"next_token": "not-a-token"}, "InValidParameter.NextToken"),
        ({"address_family": "IPv7"}, "InvalidParameter.AddressFamily"),
        ({"prefix_list_id": [f"pl-{i}" for i in range(101)]}, "LimitExceed.PrefixListId"),
    ],
)
def test_describe_refuses_bad_filters(ecs: Client, kw: dict[str, Any], code: str) -> None:
    expect_error(lambda: described(ecs, **kw), code)


def test_lists_are_regional(ecs: Client) -> None:
    pl = create(ecs)
    expect_error(lambda: attributes(ecs, pl, region="cn-shanghai"), "InvalidPrefixListId.NotFound", 404)
    request = m.DescribePrefixListsRequest(region_id="cn-shanghai", prefix_list_id=[pl])
    assert ecs.describe_prefix_lists(request).body.prefix_lists.prefix_list == []


# ---------------------------------------------------------------- associations and delete


def test_associations_count_each_group_once_and_page(ecs: Client, api: RunningServer) -> None:
    pl = create(ecs, entry=[entry("10.0.0.0/8")])
    assert associations(ecs, pl)["PrefixListAssociations"]["PrefixListAssociation"] == []
    groups = reference_list(api, pl, groups=3, rules=2)
    body = associations(ecs, pl)
    assert body["PrefixListAssociations"]["PrefixListAssociation"] == [
        {"ResourceId": g, "ResourceType": "securitygroup"} for g in sorted(groups)
    ]
    assert body["NextToken"] == ""
    first = associations(ecs, pl, max_results=2)
    rest = associations(ecs, pl, max_results=2, next_token=first["NextToken"])
    paged = (
        first["PrefixListAssociations"]["PrefixListAssociation"]
        + rest["PrefixListAssociations"]["PrefixListAssociation"]
    )
    assert [a["ResourceId"] for a in paged] == sorted(groups) and rest["NextToken"] == ""
    [item] = described(ecs, prefix_list_id=[pl])["PrefixLists"]["PrefixList"]
    assert item["AssociationCount"] == 3
    expect_error(lambda: associations(ecs, pl, max_results=101), "InvalidParameter")
    expect_error(lambda: associations(ecs, "pl-bpnothere0000000000"), "InvalidPrefixListId.NotFound", 404)


def test_delete_removes_the_list_entries_and_tags(ecs: Client, api: RunningServer) -> None:
    pl = create(
        ecs, entry=[entry("10.0.0.0/8")], tag=[m.CreatePrefixListRequestTag(key="gone", value="soon")]
    )
    ecs.delete_prefix_list(m.DeletePrefixListRequest(region_id=REGION, prefix_list_id=pl))
    expect_error(lambda: attributes(ecs, pl), "InvalidPrefixListId.NotFound", 404)
    with store(api) as conn:
        assert conn.execute(select(tags.c.tag_key).where(tags.c.resource_id == pl)).first() is None
    expect_error(
        lambda: ecs.delete_prefix_list(m.DeletePrefixListRequest(region_id=REGION, prefix_list_id=pl)),
        "InvalidPrefixListId.NotFound",
        404,
    )


def test_delete_is_refused_while_a_rule_references_the_list(ecs: Client, api: RunningServer) -> None:
    pl = create(ecs, entry=[entry("10.0.0.0/8")])
    reference_list(api, pl)
    expect_error(
        lambda: ecs.delete_prefix_list(m.DeletePrefixListRequest(region_id=REGION, prefix_list_id=pl)),
        "NotAllowed.AssociationExist",
    )
    assert entries(ecs, pl) == {"10.0.0.0/8": ""}


def test_legacy_associations_and_delete(api: RunningServer, ecs: Client) -> None:
    pl = create(ecs)
    [group] = reference_list(api, pl)
    request = LegacyAssociations()
    request.set_PrefixListId(pl)
    body = json.loads(legacy_call(api, request))
    assert body["PrefixListAssociations"]["PrefixListAssociation"] == [
        {"ResourceId": group, "ResourceType": "securitygroup"}
    ]
    delete = LegacyDelete()
    delete.set_PrefixListId(pl)
    expect_legacy_error(api, delete, "NotAllowed.AssociationExist")
    free = create(ecs)
    delete.set_PrefixListId(free)
    legacy_call(api, delete)
    missing = LegacyAttributes()
    missing.set_PrefixListId(free)
    expect_legacy_error(api, missing, "InvalidPrefixListId.NotFound", 404)


# ---------------------------------------------------------------- PostgreSQL and SQLite


def test_whole_flow_on_both_databases(any_api: RunningServer) -> None:
    client = Client(any_api.tea_config())
    pl = create(
        client, max_entries=3, entry=[entry("10.0.0.0/8")], tag=[m.CreatePrefixListRequestTag(key="db")]
    )
    modify(client, pl, add_entry=[add("11.0.0.0/8", "eleven")], remove_entry=[remove("10.0.0.0/8")])
    assert entries(client, pl) == {"11.0.0.0/8": "eleven"}
    expect_error(
        lambda: modify(client, pl, add_entry=[add(f"{i}.0.0.0/8") for i in range(20, 23)]),
        "LimitExceed.MaxEntries",
    )
    [group] = reference_list(any_api, pl)
    revision, _ = revisions(any_api, pl, [group])
    modify(client, pl, add_entry=[add("12.0.0.0/8")])
    assert revisions(any_api, pl, [group])[0] == revision + 1
    [item] = described(client, prefix_list_id=[pl])["PrefixLists"]["PrefixList"]
    assert (item["AssociationCount"], item["Tags"]["Tag"]) == (1, [{"TagKey": "db", "TagValue": ""}])
    expect_error(
        lambda: client.delete_prefix_list(m.DeletePrefixListRequest(region_id=REGION, prefix_list_id=pl)),
        "NotAllowed.AssociationExist",
    )
    free = create(client)
    client.delete_prefix_list(m.DeletePrefixListRequest(region_id=REGION, prefix_list_id=free))
    expect_error(lambda: attributes(client, free), "InvalidPrefixListId.NotFound", 404)


def test_max_entries_holds_under_concurrent_modifies(any_api: RunningServer) -> None:
    pl = create(Client(any_api.tea_config()), max_entries=5)

    def add_one(i: int) -> str:
        try:
            modify(Client(any_api.tea_config()), pl, add_entry=[add(f"10.{i}.0.0/16")])
            return "ok"
        except ClientException as err:
            return str(err.code)

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(add_one, range(12)))
    assert sorted(set(outcomes)) == ["LimitExceed.MaxEntries", "ok"] and outcomes.count("ok") == 5
    assert len(entries(Client(any_api.tea_config()), pl)) == 5


# ---------------------------------------------------------------- with the real rule actions


def test_rule_quota_counts_max_entries_end_to_end(ecs: Client, vpc: Any) -> None:
    require("CreateSecurityGroup", "AuthorizeSecurityGroup", "DescribeSecurityGroupAttribute")
    from alibabacloud_vpc20160428 import models as vpc_models

    vpc_id = vpc.create_vpc(
        vpc_models.CreateVpcRequest(region_id=REGION, cidr_block="10.0.0.0/16")
    ).body.vpc_id
    group = ecs.create_security_group(m.CreateSecurityGroupRequest(region_id=REGION, vpc_id=vpc_id)).body
    big = create(ecs, max_entries=199, entry=[entry("10.0.0.0/8")])

    def authorize(**permission: Any) -> None:
        permission = {"ip_protocol": "TCP", "port_range": "22/22", **permission}
        ecs.authorize_security_group(
            m.AuthorizeSecurityGroupRequest(
                region_id=REGION,
                security_group_id=group.security_group_id,
                permissions=[m.AuthorizeSecurityGroupRequestPermissions(**permission)],
            )
        )

    authorize(source_prefix_list_id=big)  # counts 199 of 200
    authorize(source_cidr_ip="192.0.2.0/24")  # 200 of 200
    expect_error(lambda: authorize(source_cidr_ip="198.51.100.0/24"), "AuthorizationLimitExceed", 403)
    assert associations(ecs, big)["PrefixListAssociations"]["PrefixListAssociation"] == [
        {"ResourceId": group.security_group_id, "ResourceType": "securitygroup"}
    ]
    expect_error(
        lambda: ecs.delete_prefix_list(m.DeletePrefixListRequest(region_id=REGION, prefix_list_id=big)),
        "NotAllowed.AssociationExist",
    )
