"""Security-group tools (Secplane 2026-11-28: CloneSecurityGroup, RestoreSecurityGroupRules,
ExportSecurityGroupRules, ImportSecurityGroupRules) over HTTP with the official generic clients: the Tea
``call_api`` (POST, form body, V3 signature) and the legacy ``CommonRequest`` (POST, form body, V1).
Groups, rules, VPCs and instances are made with the ECS and VPC SDKs; rules are compared by content as
DescribeSecurityGroupAttribute shows them."""

from __future__ import annotations

import base64
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_util import models as util_models
from alibabacloud_vpc20160428 import models as vm
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.request import CommonRequest

from secplane.domain.sg_rules import Rule
from secplane.operations.context import Context, Principal
from secplane.operations.registry import REGISTRY
from secplane.protocol.params import bind
from secplane.store import security_groups as sg_store
from secplane.testing import RunningServer
from tests.api.test_instances import REGION, World
from tests.conftest import legacy_call, server_db

VERSION = "2026-11-28"
OTHER_REGION = "cn-shanghai"
Body = dict[str, Any]
# What a rule is, as Describe shows it (ids, create times and names left out).
CONTENT = (
    "Direction", "Policy", "Priority", "IpProtocol", "PortRange", "SourcePortRange", "SourceCidrIp",
    "Ipv6SourceCidrIp", "SourceGroupId", "SourceGroupOwnerAccount", "SourcePrefixListId", "DestCidrIp",
    "Ipv6DestCidrIp", "DestGroupId", "DestGroupOwnerAccount", "DestPrefixListId", "NicType", "Description",
)  # fmt: skip


# ---------------------------------------------------------------- the two generic clients


def tea(api: RunningServer, action: str, region: str = REGION, **params: Any) -> Body:
    """The Tea generic client: POST with the parameters in a form body."""
    call = open_api_models.Params(
        action=action, version=VERSION, protocol="HTTP", method="POST", auth_type="AK", style="RPC",
        pathname="/", req_body_type="formData", body_type="json",
    )  # fmt: skip
    request = open_api_models.OpenApiRequest(
        query={"RegionId": region}, body={k: str(v) for k, v in params.items()}
    )
    response = OpenApiClient(api.tea_config()).call_api(call, request, util_models.RuntimeOptions())
    assert response["statusCode"] == 200
    body: Body = response["body"]
    return body


def legacy(api: RunningServer, action: str, region: str = REGION, **params: Any) -> Body:
    """The legacy ``CommonRequest``: POST with the parameters in a form body."""
    request = CommonRequest(domain=api.endpoint, version=VERSION, action_name=action)
    request.set_method("POST")
    request.add_query_param("RegionId", region)
    for key, value in params.items():
        request.add_body_params(key, str(value))
    body: Body = json.loads(legacy_call(api, request))
    return body


def tea_error(api: RunningServer, action: str, region: str = REGION, **params: Any) -> tuple[int, str, str]:
    """(HTTP status, Code, Message) of a call that must fail."""
    with pytest.raises(ClientException) as info:
        tea(api, action, region, **params)
    err: Any = info.value
    return err.status_code, err.code, err.message


# ---------------------------------------------------------------- the world


@pytest.fixture(scope="module")
def world(api: RunningServer) -> World:
    return World(api)


def rules(world: World, group: str, region: str = REGION) -> list[Body]:
    request = m.DescribeSecurityGroupAttributeRequest(
        region_id=region, security_group_id=group, max_results=1000
    )
    body = world.ecs.describe_security_group_attribute(request).body.to_map()
    permissions: list[Body] = body["Permissions"]["Permission"]
    return permissions


def content(world: World, group: str, region: str = REGION) -> list[tuple[Any, ...]]:
    return sorted(tuple(str(p[k]) for k in CONTENT) for p in rules(world, group, region))


def authorize(world: World, group: str, *permissions: Body, region: str = REGION) -> None:
    """Add rules with the ECS SDK; a permission with ``"Direction": "egress"`` goes out, others come in."""
    for direction in ("ingress", "egress"):
        wanted = [
            {k: v for k, v in p.items() if k != "Direction"}
            for p in permissions
            if p.get("Direction", "ingress") == direction
        ]
        if not wanted:
            continue
        if direction == "ingress":
            world.ecs.authorize_security_group(
                m.AuthorizeSecurityGroupRequest(
                    region_id=region,
                    security_group_id=group,
                    permissions=[m.AuthorizeSecurityGroupRequestPermissions().from_map(p) for p in wanted],
                )
            )
        else:
            world.ecs.authorize_security_group_egress(
                m.AuthorizeSecurityGroupEgressRequest(
                    region_id=region,
                    security_group_id=group,
                    permissions=[
                        m.AuthorizeSecurityGroupEgressRequestPermissions().from_map(p) for p in wanted
                    ],
                )
            )


def prefix_list(world: World, region: str = REGION, family: str = "IPv4", max_entries: int = 5) -> str:
    request = m.CreatePrefixListRequest(
        region_id=region,
        address_family=family,
        max_entries=max_entries,
        prefix_list_name=f"pl{time.time_ns()}",
    )
    return str(world.ecs.create_prefix_list(request).body.prefix_list_id)


def system_rule(api: RunningServer, group: str, region: str = REGION, port: str = "22/22") -> None:
    """An old priority-110 system rule (SG-10), which no API call can create: put in the store directly."""
    rule = Rule("ingress", "Accept", 110, "TCP", port, "", "intranet", peer_cidr="0.0.0.0/0")
    with server_db(api) as conn:
        sg_store.insert_new_rules(conn, group, region, [rule], time.time(), 0.0)


def tags_of(world: World, group: str, region: str = REGION) -> list[tuple[str, str]]:
    request = m.DescribeSecurityGroupsRequest(region_id=region, security_group_id=group)
    (item,) = world.ecs.describe_security_groups(request).body.to_map()["SecurityGroups"]["SecurityGroup"]
    return [(t["TagKey"], t["TagValue"]) for t in item["Tags"]["Tag"]]


def varied_rules(world: World, vpc_id: str, region: str = REGION) -> tuple[str, str, str]:
    """A VPC group with rules of every kind; returns it, the group it references and its prefix list."""
    group = world.group(vpc_id, region=region)
    peer = world.group(vpc_id, region=region)
    pl = prefix_list(world, region)
    authorize(
        world, group,
        {"IpProtocol": "TCP", "PortRange": "22/22", "SourceCidrIp": "10.0.0.0/8",
         "Description": 'ssh, "ops"'},
        {"IpProtocol": "UDP", "PortRange": "53/53", "Ipv6SourceCidrIp": "2001:db8::/32", "Priority": "7"},
        {"IpProtocol": "ICMP", "PortRange": "-1/-1", "SourceCidrIp": "0.0.0.0/0", "Policy": "drop",
         "Priority": "100", "Description": "安全组 规则"},
        {"IpProtocol": "TCP", "PortRange": "3306/3306", "SourceGroupId": peer},
        {"IpProtocol": "TCP", "PortRange": "443/443", "SourcePrefixListId": pl},
        {"IpProtocol": "TCP", "PortRange": "8000/9000", "SourcePortRange": "1024/65535",
         "SourceCidrIp": "192.168.0.0/16", "DestCidrIp": "172.16.1.1/32"},
        {"Direction": "egress", "IpProtocol": "ALL", "PortRange": "-1/-1", "DestCidrIp": "0.0.0.0/0",
         "Policy": "drop", "Priority": "50", "Description": "=cmd|' /C calc'!A0"},
        {"Direction": "egress", "IpProtocol": "TCP", "PortRange": "80/80", "DestGroupId": peer},
    )  # fmt: skip
    return group, peer, pl


def _peer(view: Body) -> str:
    """The group or prefix list a rule references."""
    return str(view.get("SourceGroupId") or view.get("DestGroupId") or view.get("SourcePrefixListId"))


def test_the_tools_are_our_products_actions_on_ecs_resources() -> None:
    root = Principal.root("1234567890123456")
    ctx = Context("", root, "", "", "secplane", REGION, 0.0, None, None)  # type: ignore[arg-type]
    arn = "acs:ecs:{}:1234567890123456:securitygroup/{}".format
    params = {"RegionId": REGION, "SecurityGroupId": "sg-a", "TargetSecurityGroupId": "sg-b",
              "DestinationRegionId": OTHER_REGION}  # fmt: skip
    expected = {
        "CloneSecurityGroup": [arn(REGION, "sg-a"), arn(OTHER_REGION, "*")],
        "RestoreSecurityGroupRules": [arn(REGION, "sg-a"), arn(REGION, "sg-b")],
        "ExportSecurityGroupRules": [arn(REGION, "sg-a")],
        "ImportSecurityGroupRules": [arn(REGION, "sg-a")],
    }
    for action, arns in expected.items():
        op = REGISTRY[(VERSION, action)]
        assert op.ram_action == f"secplane:{action}"
        assert op.writes == (action != "ExportSecurityGroupRules")
        assert op.resources(ctx, bind(params, op.request)) == arns


# ---------------------------------------------------------------- export and import: round trips


@pytest.mark.parametrize(("export_with", "import_with"), [(tea, legacy), (legacy, tea)])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_into_an_empty_group_gives_the_same_rules(
    api: RunningServer, world: World, fmt: str, export_with: Any, import_with: Any
) -> None:
    net = world.network()
    group, _, _ = varied_rules(world, net.vpc_id)
    exported = export_with(api, "ExportSecurityGroupRules", SecurityGroupId=group, FileFormat=fmt)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert exported["FileName"] == (
        f"ecs_{REGION}_{group}.json" if fmt == "json" else f"ecs_sgRule_{group}_{REGION}_{day}.csv"
    )
    assert (exported["RuleCount"], exported["FileFormat"]) == (8, fmt)
    empty = world.group(net.vpc_id)
    imported = import_with(
        api, "ImportSecurityGroupRules", SecurityGroupId=empty, FileFormat=fmt, Content=exported["Content"]
    )
    assert (imported["TotalCount"], imported["OkCount"], imported["AddedCount"]) == (8, 8, 8)
    assert {r["Status"] for r in imported["Results"]["Result"]} == {"Ok"}
    assert content(world, empty) == content(world, group)


def test_export_csv_is_a_spreadsheet_file(api: RunningServer, world: World) -> None:
    group, _, _ = varied_rules(world, world.network().vpc_id)
    text = tea(api, "ExportSecurityGroupRules", SecurityGroupId=group, FileFormat="CSV")["Content"]
    assert text.startswith("\ufeffDirection,Policy,Priority,IpProtocol,PortRange,")
    assert ",'=cmd|' /C calc'!A0," in text  # defused for spreadsheets, restored on import
    assert '"ssh, ""ops"""' in text


def test_export_refuses_an_unknown_format_and_group(api: RunningServer, world: World) -> None:
    group = world.group()
    status, code, _ = tea_error(api, "ExportSecurityGroupRules", SecurityGroupId=group, FileFormat="xls")
    assert (status, code) == (400, "InvalidFileFormat.ValueNotSupported")
    status, code, _ = tea_error(api, "ExportSecurityGroupRules", SecurityGroupId="sg-nope")
    assert (status, code) == (404, "InvalidSecurityGroupId.NotFound")


def test_import_from_another_regions_export(api: RunningServer, world: World) -> None:
    """Region-independent rules come over; rules that reference a group or prefix list of the file's
    region fail with that reason."""
    group, peer, pl = varied_rules(world, world.network().vpc_id)
    exported = tea(api, "ExportSecurityGroupRules", SecurityGroupId=group)
    shanghai = world.vpc.create_vpc(
        vm.CreateVpcRequest(region_id=OTHER_REGION, cidr_block="10.0.0.0/16")
    ).body.vpc_id
    target = world.group(shanghai, region=OTHER_REGION)
    result = tea(
        api, "ImportSecurityGroupRules", OTHER_REGION, SecurityGroupId=target, Content=exported["Content"]
    )
    failed = {_peer(r["Rule"]): r["Code"] for r in result["Results"]["Result"] if r["Status"] == "Failed"}
    assert failed == {
        peer: "InvalidAuthorizationObject.CrossRegion",
        pl: "InvalidAuthorizationObject.CrossRegion",
    }
    assert (result["OkCount"], result["FailedCount"], result["AddedCount"]) == (5, 3, 5)
    assert len(rules(world, target, OTHER_REGION)) == 5
    message = next(r["Message"] for r in result["Results"]["Result"] if r["Status"] == "Failed")
    assert f"of region {REGION}" in message and OTHER_REGION in message


def test_import_checks_each_rule_and_adds_the_good_ones(api: RunningServer, world: World) -> None:
    group = world.group(world.network().vpc_id)
    authorize(world, group, {"IpProtocol": "TCP", "PortRange": "22/22", "SourceCidrIp": "10.0.0.0/8"})
    csv_text = (
        "Direction,Policy,Priority,IpProtocol,PortRange,SourceCidrIp,DestCidrIp,Description\n"
        "ingress,accept,1,TCP,22/22,10.0.0.0/8,,already there\n"
        "ingress,accept,1,TCP,80/80,0.0.0.0/0,,web\n"
        "ingress,accept,1,TCP,80/80,0.0.0.0/0,,the same again\n"
        "ingress,accept,1,TCP,99999,0.0.0.0/0,,bad port\n"
        "ingress,accept,110,TCP,22/22,0.0.0.0/0,,system\n"
        "up,accept,1,TCP,22/22,0.0.0.0/0,,bad direction\n"
        "egress,drop,5,ICMP,-1/-1,,::/0,family\n"
        "egress,drop,5,UDP,53,,8.8.8.8,dns\n"
    )
    preview = legacy(api, "ImportSecurityGroupRules", SecurityGroupId=group, Content=csv_text, DryRun="true")
    outcome = [(r["Line"], r["Status"], r["Code"]) for r in preview["Results"]["Result"]]
    assert outcome == [
        (2, "Skipped", "InvalidRule.Duplicate"),
        (3, "Ok", ""),
        (4, "Skipped", "InvalidRule.Duplicate"),
        (5, "Failed", "InvalidParam.PortRange"),
        (6, "Failed", "InvalidPriority.ValueNotSupported"),
        (7, "Failed", "InvalidRule.Malformed"),
        (8, "Failed", "InvalidDestCidrIp.Malformed"),
        (9, "Ok", ""),
    ]
    assert (preview["DryRun"], preview["AddedCount"], len(rules(world, group))) == (True, 0, 1)
    assert "repeats rule 2" in preview["Results"]["Result"][2]["Message"]
    applied = tea(api, "ImportSecurityGroupRules", SecurityGroupId=group, Content=csv_text, FileFormat="csv")
    assert [(r["Status"], r["Code"]) for r in applied["Results"]["Result"]] == [(s, c) for _, s, c in outcome]
    assert applied["AddedCount"] == 2
    assert {(p["PortRange"], p["Description"]) for p in rules(world, group)} == {
        ("22/22", ""),
        ("80/80", "web"),
        ("53/53", "dns"),
    }


def many_rules(count: int, first_port: int = 1) -> str:
    header = "Direction,IpProtocol,PortRange,SourceCidrIp\n"
    return header + "".join(
        f"ingress,TCP,{p}/{p},10.1.0.0/16\n" for p in range(first_port, first_port + count)
    )


def test_import_of_201_rules_fails_beyond_the_limit_rule_by_rule(api: RunningServer, world: World) -> None:
    group = world.group(world.network().vpc_id)
    authorize(world, group, {"IpProtocol": "TCP", "PortRange": "1/1", "SourceCidrIp": "10.1.0.0/16"})
    for dry_run in ("true", "false"):
        result = tea(
            api, "ImportSecurityGroupRules", SecurityGroupId=group, Content=many_rules(201), DryRun=dry_run
        )
        statuses = [(r["Status"], r["Code"]) for r in result["Results"]["Result"]]
        assert statuses[0] == ("Skipped", "InvalidRule.Duplicate")
        assert statuses[1:200] == [("Ok", "")] * 199
        assert statuses[200] == ("Failed", "AuthorizationLimitExceed")
        assert "200 rules" in result["Results"]["Result"][200]["Message"]
    assert len(rules(world, group)) == 200
    again = tea(api, "ImportSecurityGroupRules", SecurityGroupId=group, Content=many_rules(3, 500))
    assert [r["Code"] for r in again["Results"]["Result"]] == ["AuthorizationLimitExceed"] * 3


def test_import_counts_a_prefix_list_by_its_maximum(api: RunningServer, world: World) -> None:
    group = world.group(world.network().vpc_id)
    pl = prefix_list(world, max_entries=60)
    text = (
        many_rules(150)
        .replace("SourceCidrIp\n", "SourceCidrIp,SourcePrefixListId\n")
        .replace("/16\n", "/16,\n")
    )
    text += f"ingress,TCP,443/443,,{pl}\ningress,TCP,444/444,10.1.0.0/16,\n"
    result = tea(api, "ImportSecurityGroupRules", SecurityGroupId=group, Content=text)
    tail = [(r["Status"], r["Code"]) for r in result["Results"]["Result"][150:]]
    assert tail == [("Failed", "AuthorizationLimitExceed"), ("Ok", "")]
    assert len(rules(world, group)) == 151


def test_the_limit_holds_for_concurrent_imports(api: RunningServer, world: World) -> None:
    """Two imports of 150 rules at once: the group lock makes one wait for the other's count."""
    group = world.group(world.network().vpc_id)
    files = [many_rules(150, 1), many_rules(150, 1001)]
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda text: tea(api, "ImportSecurityGroupRules", SecurityGroupId=group, Content=text), files
            )
        )
    assert sorted(r["OkCount"] for r in results) == [50, 150]
    assert sum(r["FailedCount"] for r in results) == 100
    assert len(rules(world, group)) == 200


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Content": 'Direction,IpProtocol,PortRange,SourceCidrIp\ningress,TCP,"22/22,1.1.1.1\n'},
         "InvalidContent.Malformed"),
        ({"Content": "Direction,IpProtocol,PortRange,SourceCidrIp\ningress,TCP,\"22\"x,1.1.1.1\n"},
         "InvalidContent.Malformed"),
        ({"ContentBase64": base64.b64encode("Direction,IpProtocol,PortRange,SourceCidrIp\n"
                                            "ingress,TCP,22/22,1.1.1.1,描述\n".encode("gbk")).decode()},
         "InvalidContent.Encoding"),
        ({"Content": "Direction,IpProtocol,PortRange,SourceCidrIp\ningress,TCP,22/22,\ufffd\n"},
         "InvalidContent.Encoding"),
        ({"Content": "Direction,IpProtocol,Description\ningress,TCP,x\n"}, "InvalidContent.MissingColumn"),
        ({"Content": "{\"Permissions\": {\"Permission\": [}"}, "InvalidContent.Malformed"),
        ({"Content": "  "}, "InvalidContent.Empty"),
        ({"Content": "x", "FileFormat": "xml"}, "InvalidFileFormat.ValueNotSupported"),
        ({"ContentBase64": "not base64!"}, "InvalidParameter"),
        ({"Content": "x", "ContentBase64": "eA=="}, "InvalidParameter"),
        ({}, "MissingParameter"),
    ],
)  # fmt: skip
def test_malformed_files_change_nothing(api: RunningServer, world: World, params: Body, code: str) -> None:
    group = world.group(world.network().vpc_id)
    authorize(world, group, {"IpProtocol": "TCP", "PortRange": "22/22", "SourceCidrIp": "10.0.0.0/8"})
    before = content(world, group)
    status, got, message = tea_error(api, "ImportSecurityGroupRules", SecurityGroupId=group, **params)
    assert (status, got) == (400, code), message
    assert content(world, group) == before


def test_a_utf8_bom_and_utf16_files_import(api: RunningServer, world: World) -> None:
    source, _, _ = varied_rules(world, world.network().vpc_id)
    text = tea(api, "ExportSecurityGroupRules", SecurityGroupId=source, FileFormat="csv")["Content"]
    assert text.startswith("\ufeff")
    for data in (text.encode("utf-8"), text.encode("utf-16")):
        target = world.group(world.network().vpc_id)
        result = legacy(api, "ImportSecurityGroupRules", SecurityGroupId=target,
                        ContentBase64=base64.b64encode(data).decode())  # fmt: skip
        assert result["OkCount"] + result["FailedCount"] == 8  # the group references live in another VPC
        assert result["FailedCount"] == 2


@pytest.mark.parametrize("how", ["Content", "ContentBase64"])
def test_ten_megabytes_of_garbage_get_a_clear_error_quickly(
    api: RunningServer, world: World, how: str
) -> None:
    group = world.group()
    junk = os.urandom(10 * 1024 * 1024)
    value = base64.b64encode(junk).decode() if how == "ContentBase64" else junk[: len(junk) // 2].hex()
    started = time.monotonic()
    status, code, message = tea_error(api, "ImportSecurityGroupRules", SecurityGroupId=group, **{how: value})
    elapsed = time.monotonic() - started
    assert (status, code) == (400, "InvalidContent.TooLarge")
    assert "at most 4,194,304" in message
    assert elapsed < 30, elapsed  # refused on its size (upload included), not parsed line by line
    assert rules(world, group) == []


def test_import_into_a_group_of_another_account_or_region_is_not_found(
    api: RunningServer, world: World
) -> None:
    group = world.group()
    status, code, _ = tea_error(
        api, "ImportSecurityGroupRules", OTHER_REGION, SecurityGroupId=group, Content="x"
    )
    assert (status, code) == (404, "InvalidSecurityGroupId.NotFound")


# ---------------------------------------------------------------- clone


def test_clone_copies_rules_up_to_priority_100_tags_and_description(api: RunningServer, world: World) -> None:
    net = world.network()
    request = m.CreateSecurityGroupRequest(
        region_id=REGION, vpc_id=net.vpc_id, description="web tier", security_group_name="web",
        tag=[m.CreateSecurityGroupRequestTag(key="team", value="web")],
    )  # fmt: skip
    source = world.ecs.create_security_group(request).body.security_group_id
    authorize(
        world,
        source,
        {"IpProtocol": "TCP", "PortRange": "80/80", "SourceCidrIp": "0.0.0.0/0", "Priority": "100"},
    )
    system_rule(api, source)
    world.run(net, [source])

    plain = tea(api, "CloneSecurityGroup", SecurityGroupId=source, SecurityGroupName="web-copy")
    assert (plain["CopiedRuleCount"], plain["SkippedRuleCount"], plain["VpcId"]) == (1, 1, net.vpc_id)
    (skipped,) = plain["SkippedRules"]["SkippedRule"]
    assert (skipped["Priority"], skipped["Code"]) == (110, "InvalidPriority.ValueNotSupported")
    assert "IncludeAllRules" in skipped["Message"]
    assert [p["Priority"] for p in rules(world, plain["SecurityGroupId"])] == [100]

    everything = legacy(api, "CloneSecurityGroup", SecurityGroupId=source, SecurityGroupName="web-all",
                        IncludeAllRules="true")  # fmt: skip
    clone = everything["SecurityGroupId"]
    assert (everything["CopiedRuleCount"], everything["SkippedRuleCount"]) == (2, 0)
    assert sorted((p["PortRange"], p["Priority"]) for p in rules(world, clone)) == [
        ("22/22", 100),
        ("80/80", 100),
    ]
    described = world.ecs.describe_security_groups(
        m.DescribeSecurityGroupsRequest(region_id=REGION, security_group_id=clone)
    ).body.to_map()["SecurityGroups"]["SecurityGroup"][0]
    assert (described["SecurityGroupName"], described["Description"]) == ("web-all", "web tier")
    assert tags_of(world, clone) == [("team", "web")]
    assert described["EcsCount"] == 0  # membership is not copied


def test_clone_to_another_region_reports_what_cannot_come(api: RunningServer, world: World) -> None:
    group, peer, pl = varied_rules(world, world.network().vpc_id)
    status, code, message = tea_error(
        api,
        "CloneSecurityGroup",
        SecurityGroupId=group,
        SecurityGroupName="c1",
        DestinationRegionId=OTHER_REGION,
    )
    assert (status, code) == (400, "MissingParameter") and "VpcId" in message
    there = world.vpc.create_vpc(
        vm.CreateVpcRequest(region_id=OTHER_REGION, cidr_block="10.0.0.0/16")
    ).body.vpc_id
    result = tea(api, "CloneSecurityGroup", SecurityGroupId=group, SecurityGroupName="c1",
                 DestinationRegionId=OTHER_REGION, VpcId=there)  # fmt: skip
    assert (result["RegionId"], result["VpcId"]) == (OTHER_REGION, there)
    assert result["SecurityGroupId"].startswith("sg-uf")  # a cn-shanghai id
    skipped = {(_peer(s), s["Code"]) for s in result["SkippedRules"]["SkippedRule"]}
    assert skipped == {
        (peer, "InvalidAuthorizationObject.CrossRegion"),
        (pl, "InvalidAuthorizationObject.CrossRegion"),
    }
    assert result["SkippedRuleCount"] == 3 and result["CopiedRuleCount"] == 5
    assert len(rules(world, result["SecurityGroupId"], OTHER_REGION)) == 5


def test_clone_into_another_vpc_skips_references_to_the_old_one(api: RunningServer, world: World) -> None:
    group, _, _ = varied_rules(world, world.network().vpc_id)
    other = world.network().vpc_id
    result = tea(api, "CloneSecurityGroup", SecurityGroupId=group, SecurityGroupName="c2", VpcId=other)
    codes = sorted(s["Code"] for s in result["SkippedRules"]["SkippedRule"])
    assert codes == ["InvalidDestGroupId.Mismatch", "InvalidSourceGroupId.Mismatch"]
    assert result["CopiedRuleCount"] == 6  # the prefix list is regional, not bound to a VPC


def test_clone_classic_to_vpc_skips_internet_nic_rules(api: RunningServer, world: World) -> None:
    classic = world.group()
    authorize(
        world, classic,
        {"IpProtocol": "TCP", "PortRange": "22/22", "SourceCidrIp": "1.2.3.4", "NicType": "internet"},
        {"IpProtocol": "TCP", "PortRange": "22/22", "SourceCidrIp": "10.0.0.0/8", "NicType": "intranet"},
    )  # fmt: skip
    stays_classic = tea(api, "CloneSecurityGroup", SecurityGroupId=classic, SecurityGroupName="c3")
    assert (stays_classic["VpcId"], stays_classic["CopiedRuleCount"]) == ("", 2)
    net = world.network()
    result = tea(api, "CloneSecurityGroup", SecurityGroupId=classic, SecurityGroupName="c4", VpcId=net.vpc_id)
    (skipped,) = result["SkippedRules"]["SkippedRule"]
    assert (skipped["SourceCidrIp"], skipped["NicType"], skipped["Code"]) == (
        "1.2.3.4",
        "internet",
        "InvalidNicType.Mismatch",
    )
    assert [(p["SourceCidrIp"], p["NicType"]) for p in rules(world, result["SecurityGroupId"])] == [
        ("10.0.0.0/8", "intranet")
    ]
    exported = tea(api, "ExportSecurityGroupRules", SecurityGroupId=classic)["Content"]
    imported = tea(api, "ImportSecurityGroupRules", SecurityGroupId=world.group(net.vpc_id), Content=exported)
    assert [(r["Rule"]["NicType"], r["Code"]) for r in imported["Results"]["Result"]] == [
        ("internet", "InvalidNicType.Mismatch"),
        ("intranet", ""),
    ]


def test_clone_errors(api: RunningServer, world: World) -> None:
    group = world.group()
    cases = [
        ({}, 400, "MissingParameter"),
        ({"SecurityGroupName": "1bad"}, 400, "InvalidSecurityGroupName.Malformed"),
        (
            {"SecurityGroupName": "ok", "DestinationRegionId": "mars-1"},
            404,
            "InvalidDestinationRegionId.NotFound",
        ),
        ({"SecurityGroupName": "ok", "VpcId": "vpc-nope"}, 404, "InvalidVpcId.NotFound"),
        ({"SecurityGroupName": "ok", "NetworkType": "vpc"}, 400, "MissingParameter"),
        ({"SecurityGroupName": "ok", "NetworkType": "moon"}, 400, "InvalidParameter"),
        ({"SecurityGroupName": "ok", "NetworkType": "classic", "VpcId": "vpc-x"}, 400, "InvalidParameter"),
    ]
    for params, status, code in cases:
        assert tea_error(api, "CloneSecurityGroup", SecurityGroupId=group, **params)[:2] == (status, code), (
            params
        )
    enterprise = world.group(world.network().vpc_id, kind="enterprise")
    _, code, _ = tea_error(
        api, "CloneSecurityGroup", SecurityGroupId=enterprise, SecurityGroupName="ent", NetworkType="classic"
    )
    assert code == "InvalidParams.VpcIdGroupType"


def test_clone_with_a_client_token_is_idempotent(api: RunningServer, world: World) -> None:
    group = world.group()
    first = tea(
        api, "CloneSecurityGroup", SecurityGroupId=group, SecurityGroupName="once", ClientToken="tok-clone-1"
    )
    again = tea(
        api, "CloneSecurityGroup", SecurityGroupId=group, SecurityGroupName="once", ClientToken="tok-clone-1"
    )
    assert first["SecurityGroupId"] == again["SecurityGroupId"]


# ---------------------------------------------------------------- restore


A = {"IpProtocol": "TCP", "PortRange": "1/1", "SourceCidrIp": "10.0.0.1"}
B = {"IpProtocol": "TCP", "PortRange": "2/2", "SourceCidrIp": "10.0.0.2"}
C = {"IpProtocol": "UDP", "PortRange": "3/3", "SourceCidrIp": "10.0.0.3", "Description": "only in the target"}
C_EGRESS = {**C, "Direction": "egress", "DestCidrIp": "10.0.0.3", "SourceCidrIp": ""}


def restore_pair(api: RunningServer, world: World) -> tuple[str, str]:
    """source {A, B}; target {B (other description), C, C as egress, a priority-110 system rule}."""
    vpc_id = world.network().vpc_id
    source, target = world.group(vpc_id), world.group(vpc_id)
    authorize(world, source, A, B)
    authorize(world, target, {**B, "Description": "same rule, other words"}, C,
              {k: v for k, v in C_EGRESS.items() if v})  # fmt: skip
    system_rule(api, target, port="9/9")
    return source, target


def _ports(views: list[Body]) -> list[tuple[str, str]]:
    return sorted((v["Direction"], v["PortRange"]) for v in views)


@pytest.mark.parametrize("mode", ["full", "partial"])
def test_restore_does_what_the_preview_said(api: RunningServer, world: World, mode: str) -> None:
    source, target = restore_pair(api, world)
    before = content(world, source)
    preview = tea(api, "RestoreSecurityGroupRules", SecurityGroupId=source, TargetSecurityGroupId=target,
                  Mode=mode, DryRun="true")  # fmt: skip
    assert content(world, source) == before
    assert _ports(preview["RulesToAdd"]["Rule"]) == [("egress", "3/3"), ("ingress", "3/3")]
    assert _ports(preview["RulesToRemove"]["Rule"]) == ([("ingress", "1/1")] if mode == "full" else [])
    (system,) = preview["UnrestorableRules"]["Rule"]
    assert (system["PortRange"], system["Priority"], system["Code"]) == (
        "9/9",
        110,
        "InvalidPriority.ValueNotSupported",
    )
    assert (preview["AddedCount"], preview["RemovedCount"]) == (0, 0)

    applied = legacy(api, "RestoreSecurityGroupRules", SecurityGroupId=source, TargetSecurityGroupId=target,
                     Mode=mode.upper())  # fmt: skip
    for key in ("RulesToAdd", "RulesToRemove", "UnrestorableRules"):
        assert applied[key] == preview[key]
    assert (applied["AddedCount"], applied["RemovedCount"]) == (2, 1 if mode == "full" else 0)
    after = {(p["Direction"], p["PortRange"], p["Description"]) for p in rules(world, source)}
    expected = {("ingress", "2/2", ""), ("ingress", "3/3", "only in the target"),
                ("egress", "3/3", "only in the target")}  # fmt: skip
    assert after == (expected if mode == "full" else expected | {("ingress", "1/1", "")})


def test_restore_is_all_or_nothing(api: RunningServer, world: World) -> None:
    """199 rules and five to add: over the limit, so none is added and none removed."""
    vpc_id = world.network().vpc_id
    source, target = world.group(vpc_id), world.group(vpc_id)
    tea(api, "ImportSecurityGroupRules", SecurityGroupId=source, Content=many_rules(199))
    tea(api, "ImportSecurityGroupRules", SecurityGroupId=target, Content=many_rules(5, 1000))
    before = content(world, source)
    for dry_run in ("true", "false"):
        status, code, _ = tea_error(
            api,
            "RestoreSecurityGroupRules",
            SecurityGroupId=source,
            TargetSecurityGroupId=target,
            Mode="partial",
            DryRun=dry_run,
        )
        assert (status, code) == (403, "AuthorizationLimitExceed")
    assert content(world, source) == before
    full = tea(
        api, "RestoreSecurityGroupRules", SecurityGroupId=source, TargetSecurityGroupId=target, Mode="full"
    )
    assert (full["AddedCount"], full["RemovedCount"]) == (5, 199)
    assert content(world, source) == content(world, target)


def test_restore_reports_a_reference_the_source_may_not_hold(api: RunningServer, world: World) -> None:
    vpc_id = world.network().vpc_id
    source, target = world.group(vpc_id), world.group(vpc_id)
    authorize(world, target, {"IpProtocol": "TCP", "PortRange": "5/5", "SourceGroupId": source}, A)
    result = tea(
        api, "RestoreSecurityGroupRules", SecurityGroupId=source, TargetSecurityGroupId=target, Mode="full"
    )
    (refused,) = result["UnrestorableRules"]["Rule"]
    assert (refused["SourceGroupId"], refused["Code"]) == (source, "InvalidParamter.Conflict")
    assert [p["PortRange"] for p in rules(world, source)] == ["1/1"]


def test_restore_errors(api: RunningServer, world: World) -> None:
    vpc_id = world.network().vpc_id
    source, twin, classic = world.group(vpc_id), world.group(vpc_id), world.group()
    authorize(world, source, A)
    authorize(world, twin, {**A, "Description": "same content"})

    def restore(**params: Any) -> tuple[int, str, str]:
        return tea_error(api, "RestoreSecurityGroupRules", SecurityGroupId=source, **params)

    assert restore(TargetSecurityGroupId=twin)[:2] == (400, "MissingParameter")
    assert restore(TargetSecurityGroupId=twin, Mode="half")[:2] == (400, "InvalidParameter")
    assert restore(Mode="full")[:2] == (400, "MissingParameter")
    assert restore(TargetSecurityGroupId="sg-nope", Mode="full")[:2] == (
        404,
        "InvalidTargetSecurityGroupId.NotFound",
    )
    assert restore(TargetSecurityGroupId=source, Mode="full")[:2] == (400, "InvalidParameter")
    assert restore(TargetSecurityGroupId=classic, Mode="full")[:2] == (400, "InvalidNetworkType.Mismatch")
    assert restore(TargetSecurityGroupId=twin, Mode="full")[:2] == (400, "InvalidOperation.SameRules")


def test_import_clone_and_restore_on_sqlite_and_postgresql(any_api: RunningServer) -> None:
    """The tools' queries and locks on both stores: an import past the limit, a clone, a full restore."""
    world = World(any_api)
    vpc_id = world.network().vpc_id
    source, target = world.group(vpc_id), world.group(vpc_id)
    result = tea(any_api, "ImportSecurityGroupRules", SecurityGroupId=source, Content=many_rules(201))
    assert (result["OkCount"], result["FailedCount"]) == (200, 1)
    clone = tea(any_api, "CloneSecurityGroup", SecurityGroupId=source, SecurityGroupName="both-stores")
    assert clone["CopiedRuleCount"] == 200
    authorize(world, target, A, B)
    restored = tea(any_api, "RestoreSecurityGroupRules", SecurityGroupId=source, TargetSecurityGroupId=target,
                   Mode="full")  # fmt: skip
    assert (restored["AddedCount"], restored["RemovedCount"]) == (2, 200)
    assert content(world, source) == content(world, target)


def test_legacy_errors_carry_the_code(api: RunningServer, world: World) -> None:
    with pytest.raises(ServerException) as info:
        legacy(api, "ImportSecurityGroupRules", SecurityGroupId=world.group(), Content="{]")
    assert (info.value.get_http_status(), info.value.get_error_code()) == (400, "InvalidContent.Malformed")
