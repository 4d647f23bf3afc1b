"""``DescribeRiskySecurityGroups`` (Secplane 2026-11-28) over HTTP with the official generic clients, the
daily snapshot behind it (``store.risk``, the server's scheduler, ``secplane risk``), on SQLite and
PostgreSQL.

The fixture account's groups live in a region no other test uses, so the report over the region is
exactly theirs; the rules are made with the ECS SDK and named by their Description."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_util import models as util_models
from aliyunsdkcore.request import CommonRequest
from sqlalchemy import select, update

from secplane import cli
from secplane.domain.risk import HIGH_RISK_PORTS, INTERNAL_TAG, SENSITIVE_PORTS
from secplane.operations.registry import REGISTRY
from secplane.risk_scheduler import RiskScheduler, parse_at
from secplane.store import risk
from secplane.store.db import Database
from secplane.store.schema import risk_days, risk_findings, risk_groups, risk_runs
from secplane.testing import RunningServer, server
from tests.api.test_instances import World
from tests.conftest import legacy_call

VERSION = "2026-11-28"
REGION, ZONE = "eu-central-1", "eu-central-1-a"  # no other test uses it
ALL_WATCHED = sorted(SENSITIVE_PORTS.keys() | HIGH_RISK_PORTS.keys())
pytestmark = pytest.mark.skipif(
    (VERSION, "DescribeRiskySecurityGroups") not in REGISTRY, reason="not in the registry yet"
)

Body = dict[str, Any]


def secplane_call(api: RunningServer, action: str, **params: Any) -> Body:
    """Call one of our actions with the Tea generic client, as the README shows."""
    query = {"RegionId": "cn-hangzhou", **{k: str(v) for k, v in params.items()}}
    client = OpenApiClient(api.tea_config())
    call = open_api_models.Params(
        action=action, version=VERSION, protocol="HTTP", pathname="/", method="POST", auth_type="AK",
        style="RPC", body_type="json", req_body_type="json",
    )  # fmt: skip
    response = client.call_api(
        call, open_api_models.OpenApiRequest(query=query), util_models.RuntimeOptions()
    )
    assert response["statusCode"] == 200
    body: Body = response["body"]
    return body


def secplane_error(api: RunningServer, action: str, **params: Any) -> tuple[int, str]:
    with pytest.raises(ClientException) as info:
        secplane_call(api, action, **params)
    return info.value.status_code, info.value.code  # type: ignore[attr-defined]


def describe(api: RunningServer, **params: Any) -> Body:
    return secplane_call(api, "DescribeRiskySecurityGroups", RegionId=REGION, **params)


def days(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def snapshot(api: RunningServer, day: str) -> risk.Run:
    """Take a snapshot on the server's database, dated ``day``."""
    db = Database(api.database_url, pool_size=2)
    try:
        return risk.take_snapshot(db, day, taken_by="test")
    finally:
        db.dispose()


# ---------------------------------------------------------------- the fixture account


class Account:
    """The fixture's groups (by role) and its rules' ids (by Description)."""

    def __init__(self, api: RunningServer) -> None:
        self.api = api
        self.world = World(api)
        self.vpc_id = self.world.network(zone=ZONE, region=REGION).vpc_id
        self.groups: dict[str, str] = {}
        self.rule_ids: dict[str, str] = {}

    def group(self, name: str, *permissions: Body, egress: Body | None = None, internal: bool = False) -> str:
        group_id = self.world.group(self.vpc_id, region=REGION)
        self.groups[name] = group_id
        if permissions:
            self.world.ecs.authorize_security_group(
                m.AuthorizeSecurityGroupRequest(
                    region_id=REGION,
                    security_group_id=group_id,
                    permissions=[
                        m.AuthorizeSecurityGroupRequestPermissions().from_map(p) for p in permissions
                    ],
                )
            )
        if egress:
            self.world.ecs.authorize_security_group_egress(
                m.AuthorizeSecurityGroupEgressRequest(
                    region_id=REGION,
                    security_group_id=group_id,
                    permissions=[m.AuthorizeSecurityGroupEgressRequestPermissions().from_map(egress)],
                )
            )
        if internal:
            self.world.ecs.tag_resources(
                m.TagResourcesRequest(
                    region_id=REGION, resource_type="securitygroup", resource_id=[group_id],
                    tag=[m.TagResourcesRequestTag(key=INTERNAL_TAG, value="true")],
                )
            )  # fmt: skip
        attribute = self.world.ecs.describe_security_group_attribute(
            m.DescribeSecurityGroupAttributeRequest(
                region_id=REGION, security_group_id=group_id, direction="all"
            )
        ).body.to_map()
        for r in attribute["Permissions"]["Permission"]:
            self.rule_ids[r["SecurityGroupRuleId"]] = r["Description"]
        return group_id


def authorize(world: World, group_id: str, *permissions: Body) -> None:
    world.ecs.authorize_security_group(
        m.AuthorizeSecurityGroupRequest(
            region_id=REGION,
            security_group_id=group_id,
            permissions=[m.AuthorizeSecurityGroupRequestPermissions().from_map(p) for p in permissions],
        )
    )


def tcp(ports: str, source: str, description: str, **more: str) -> Body:
    key = "Ipv6SourceCidrIp" if ":" in source else "SourceCidrIp"
    return {"IpProtocol": "TCP", "PortRange": ports, key: source, "Description": description, **more}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def account(request: pytest.FixtureRequest) -> Account:
    running: RunningServer = request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")
    a = Account(running)
    a.group(
        "web",
        tcp("22/22", "0.0.0.0/0", "ssh-world"),
        tcp("80/80", "0.0.0.0/0", "http"),
        tcp("3306/3306", "0.0.0.0/0", "mysql-world", Priority="10"),
        tcp("3306/3306", "0.0.0.0/0", "mysql-block", Priority="5", Policy="drop"),  # covers mysql-world
        tcp("20/21", "::/0", "ftp-v6"),
    )
    a.group(
        "everything",
        {"IpProtocol": "ALL", "PortRange": "-1/-1", "SourceCidrIp": "0.0.0.0/0", "Description": "all-world"},
        tcp("22/22", "10.0.0.0/8", "ssh-office", Priority="2"),
    )
    a.group(
        "internal-db",
        tcp("5432/5432", "10.0.0.0/16", "pg"),
        tcp("1/65535", "0.0.0.0/1", "wide"),
        internal=True,
    )
    a.group("clean", tcp("443/443", "0.0.0.0/0", "https"))
    a.group(
        "redundant",
        tcp("8080/8080", "192.168.0.0/16", "alt-1"),
        tcp("8080/8080", "192.168.0.0/16", "alt-2", Priority="2"),
    )
    a.group("busy", *(tcp(f"{p}/{p}", "10.1.0.0/16", f"p{p}") for p in range(10001, 10052)))
    out_all = {"IpProtocol": "ALL", "PortRange": "-1/-1", "DestCidrIp": "0.0.0.0/0", "Description": "out-all"}
    a.group("internal-out", egress=out_all, internal=True)
    snapshot(running, days(-1))
    return a


# (level, code, offending rule's description, ports, related rules' descriptions) per group
EXPECTED: dict[str, list[tuple[str, str, str, list[int], list[str]]]] = {
    "web": [
        ("serious", "SensitivePortsOpenToInternet", "ssh-world", [22], []),
        ("warning", "HighRiskPortsOpenToInternet", "ftp-v6", [20, 21], []),
        ("info", "ShadowedRule", "mysql-world", [], ["mysql-block"]),
    ],
    "everything": [
        ("serious", "AllPortsOpenToInternet", "all-world", ALL_WATCHED, []),
        ("info", "ShadowedRule", "ssh-office", [], ["all-world"]),
    ],
    "internal-db": [
        ("warning", "InternalEgressAllowAll", "", [], []),
        ("warning", "WideSource", "wide", [], []),
    ],
    "busy": [("warning", "TooManyRules", "", [], [])],
    "internal-out": [("warning", "InternalEgressAllowAll", "out-all", [], [])],
    "redundant": [("info", "RedundantRule", "alt-2", [], ["alt-1"])],
}


def findings(a: Account, body: Body) -> dict[str, list[tuple[str, str, str, list[int], list[str]]]]:
    names = {group_id: name for name, group_id in a.groups.items()}
    out = {}
    for g in body["SecurityGroups"]["SecurityGroup"]:
        out[names[g["SecurityGroupId"]]] = [
            (
                f["Level"], f["Code"], a.rule_ids.get(f["SecurityGroupRuleId"], ""), f["Ports"]["Port"],
                [a.rule_ids[r] for r in f["RelatedRuleIds"]["SecurityGroupRuleId"]],
            )
            for f in g["Findings"]["Finding"]
        ]  # fmt: skip
    return out


def order(a: Account, body: Body) -> list[str]:
    names = {group_id: name for name, group_id in a.groups.items()}
    return [names[g["SecurityGroupId"]] for g in body["SecurityGroups"]["SecurityGroup"]]


# ---------------------------------------------------------------- the report (acceptance)


def test_the_fixture_account_gives_exactly_the_expected_findings(account: Account) -> None:
    body = describe(account.api)
    assert (body["Source"], body["SnapshotDate"], body["TotalCount"], body["NextToken"]) == (
        "Snapshot",
        days(-1),
        6,
        "",
    )
    assert findings(account, body) == EXPECTED  # "clean" has none; mysql-world is covered by a drop
    ranked = order(account, body)
    assert ranked[:3] == ["web", "everything", "internal-db"]
    assert set(ranked[3:5]) == {"busy", "internal-out"} and ranked[5] == "redundant"
    web = body["SecurityGroups"]["SecurityGroup"][0]
    assert (web["Level"], web["SeriousCount"], web["WarningCount"], web["InfoCount"], web["RuleCount"]) == (
        "serious", 1, 1, 1, 5,
    )  # fmt: skip
    ssh = web["Findings"]["Finding"][0]
    assert (ssh["Direction"], ssh["IpProtocol"], ssh["PortRange"], ssh["SourceCidrIp"], ssh["Priority"]) == (
        "ingress", "TCP", "22/22", "0.0.0.0/0", 1,
    )  # fmt: skip
    assert "SSH 22" in ssh["ReasonEn"] and "远程管理" in ssh["ReasonZh"]
    assert ssh["SuggestionEn"] and "堡垒机" in ssh["SuggestionZh"]
    ftp = web["Findings"]["Finding"][1]
    assert (ftp["Ipv6SourceCidrIp"], ftp["SourceCidrIp"]) == ("::/0", "")
    assert body["SnapshotTime"].endswith("Z")


def test_level_filter_ids_and_paging(account: Account) -> None:
    serious = describe(account.api, Level="serious")
    assert findings(account, serious) == {
        "web": EXPECTED["web"][:1],
        "everything": EXPECTED["everything"][:1],
    }
    warning = describe(account.api, Level="Warning")
    assert set(order(account, warning)) == set(EXPECTED) - {"redundant"}
    assert all(f[0] != "info" for fs in findings(account, warning).values() for f in fs)
    ids = [account.groups["redundant"], account.groups["clean"]]
    assert order(account, describe(account.api, SecurityGroupIds=json.dumps(ids))) == ["redundant"]
    pages, token = [], ""
    while True:
        page = describe(account.api, MaxResults=4, **({"NextToken": token} if token else {}))
        pages.append(order(account, page))
        token = page["NextToken"]
        if not token:
            break
    assert [len(p) for p in pages] == [4, 2] and list(chain(*pages)) == order(account, describe(account.api))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"Level": "critical"}, (400, "InvalidParameter")),
        ({"Source": "Yesterday"}, (400, "InvalidParameter")),
        ({"SnapshotDate": "28/11/2026"}, (400, "InvalidParameter")),
        ({"SnapshotDate": "2001-01-01"}, (404, "InvalidSnapshotDate.NotFound")),
        ({"Source": "Live", "SnapshotDate": "2001-01-01"}, (400, "InvalidParameter")),
        ({"NextToken": "garbage!"}, (400, "InValidParameter.NextToken")),
        ({"SecurityGroupIds": json.dumps([f"sg-{i}" for i in range(101)])}, (400, "InvalidParameter")),
    ],
)
def test_bad_requests_get_alibaba_style_errors(
    account: Account, params: Body, expected: tuple[int, str]
) -> None:
    assert secplane_error(account.api, "DescribeRiskySecurityGroups", RegionId=REGION, **params) == expected


def test_legacy_common_request_and_xml(account: Account) -> None:
    request = CommonRequest(
        domain=account.api.endpoint, version=VERSION, action_name="DescribeRiskySecurityGroups"
    )
    request.set_method("POST")
    request.add_query_param("RegionId", REGION)
    request.add_query_param("Level", "serious")
    body = json.loads(legacy_call(account.api, request))
    assert body["TotalCount"] == 2 and body["RequestId"]
    raw = legacy_call(account.api, request, "XML")
    assert b"<DescribeRiskySecurityGroupsResponse>" in raw and b"<Finding>" in raw
    assert "远程管理".encode() in raw


def test_todays_changes_show_tomorrow(account: Account) -> None:
    """SG-18: the default report is yesterday's snapshot; today's change shows live, and in today's."""
    clean = account.groups["clean"]
    authorize(account.world, clean, tcp("6379/6379", "0.0.0.0/0", "redis"))
    before = findings(account, describe(account.api))
    assert before == EXPECTED
    live = describe(account.api, Source="live", SecurityGroupIds=json.dumps([clean]))
    assert (live["Source"], live["SnapshotDate"]) == ("Live", "")
    account.rule_ids.update({r.security_group_rule_id: r.description for r in _rules(account, clean)})
    assert findings(account, live) == {
        "clean": [("serious", "SensitivePortsOpenToInternet", "redis", [6379], [])]
    }
    assert findings(account, describe(account.api, Source="Live")) == {**EXPECTED, **findings(account, live)}
    snapshot(account.api, days(0))
    assert findings(account, describe(account.api)) == EXPECTED  # still yesterday's
    today = describe(account.api, SnapshotDate=days(0))
    assert today["SnapshotDate"] == days(0) and "clean" in findings(account, today)


def _rules(a: Account, group_id: str) -> list[Any]:
    body = a.world.ecs.describe_security_group_attribute(
        m.DescribeSecurityGroupAttributeRequest(region_id=REGION, security_group_id=group_id)
    ).body
    return list(body.permissions.permission)


# ---------------------------------------------------------------- a fresh installation and the CLI


def test_no_snapshot_before_today_then_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with server(env={"SECPLANE_RISK_SNAPSHOT_AT": "off"}) as fresh:  # no scheduled snapshot here
        world = World(fresh)
        group = world.group(world.network(zone=ZONE, region=REGION).vpc_id, region=REGION)
        authorize(world, group, tcp("22/22", "0.0.0.0/0", "ssh"))
        empty = describe(fresh)
        assert (empty["SnapshotDate"], empty["TotalCount"], empty["SecurityGroups"]["SecurityGroup"]) == (
            "",
            0,
            [],
        )
        assert describe(fresh, Source="Live")["TotalCount"] == 1

        store = ["--database-url", fresh.database_url, "--data-dir", str(fresh.data_dir)]
        assert cli.main(["risk", "report", *store]) == 1
        assert "no risk snapshot yet" in capsys.readouterr().err
        assert cli.main(["risk", "snapshot", "--json", *store]) == 0
        taken = json.loads(capsys.readouterr().out)
        assert (taken["SnapshotDate"], taken["Findings"]) == (days(0), 1) and taken["Groups"] >= 1
        assert describe(fresh)["SnapshotDate"] == ""  # today's: the API shows it tomorrow
        assert cli.main(["risk", "report", "--json", *store]) == 0
        report = json.loads(capsys.readouterr().out)
        (only,) = report["SecurityGroups"]
        assert (only["SecurityGroupId"], only["AccountId"], only["Level"]) == (
            group,
            fresh.account_id,
            "serious",
        )
        assert cli.main(["risk", "report", "--level", "serious", "--region", REGION, *store]) == 0
        table = capsys.readouterr().out
        assert group in table and "SensitivePortsOpenToInternet" in table and "SSH 22" in table
        assert cli.main(["risk", "report", "--snapshot", "2001-01-01", *store]) == 1
        assert "no risk snapshot of 2001-01-01" in capsys.readouterr().err


# ---------------------------------------------------------------- who takes the day's snapshot


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    running: RunningServer = request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")
    db = Database(running.database_url, pool_size=4)
    yield db
    db.dispose()


def forget(database: Database, day: str) -> None:
    """No snapshot and no claim of ``day`` (the session's database is shared)."""
    with database.write() as conn:
        runs = select(risk_runs.c.id).where(risk_runs.c.day == day)
        for table in (risk_findings, risk_groups):
            conn.execute(table.delete().where(table.c.run_id.in_(runs)))
        conn.execute(risk_runs.delete().where(risk_runs.c.day == day))
        conn.execute(risk_days.delete().where(risk_days.c.day == day))


def test_one_process_takes_the_days_snapshot(database: Database) -> None:
    day = "2001-01-15"
    forget(database, day)
    others = [Database(database.url, pool_size=1) for _ in range(6)]
    claims: list[str | None] = []
    barrier = threading.Barrier(len(others))

    def claim(db: Database) -> None:
        barrier.wait()
        claims.append(risk.claim_day(db, day))

    threads = [threading.Thread(target=claim, args=(db,)) for db in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in others:
        db.dispose()
    assert len([c for c in claims if c]) == 1  # the insert of the day's row decides
    (winner,) = [c for c in claims if c]
    assert risk.claim_day(database, day) is None  # held (and fresh)
    with database.write() as conn:  # the holder died two hours ago: its claim is taken over
        conn.execute(update(risk_days).where(risk_days.c.day == day).values(claimed_at=0.0))
    taken = risk.claim_day(database, day)
    assert taken and taken != winner
    with database.read() as conn:
        assert conn.execute(select(risk_days.c.run_id).where(risk_days.c.day == day)).scalar() == taken


def test_take_daily_once_and_a_failure_releases_the_claim(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = "2001-02-01"
    forget(database, day)

    def broken(*_: Any, **__: Any) -> risk.Run:
        raise RuntimeError("disk full")

    monkeypatch.setattr(risk, "take_snapshot", broken)
    with pytest.raises(RuntimeError):
        risk.take_daily(database, day)
    monkeypatch.undo()
    run = risk.take_daily(database, day, taken_by="test")  # released: the next check takes it
    assert run is not None and (run.day, run.status, run.taken_by) == (day, "done", "test")
    assert risk.take_daily(database, day) is None  # done for the day
    again = risk.take_snapshot(database, day)  # as `secplane risk snapshot` does: it replaces the day's
    with database.read() as conn:
        assert risk.find_run(conn, day=day) == again
        assert list(conn.execute(select(risk_runs.c.id).where(risk_runs.c.day == day)).scalars()) == [
            again.id
        ]


def test_the_scheduler_takes_it_once_due(database: Database) -> None:
    forget(database, "2001-03-01")
    noon = datetime(2001, 3, 1, 12, 0, tzinfo=UTC).timestamp()
    clock = [noon]
    early = RiskScheduler(database, parse_at("13:30"), clock=lambda: clock[0])
    assert not early.due(noon) and early.check() is None
    assert early.next_delay() == 3600  # an hour, or ...
    clock[0] += 3600
    assert early.next_delay() == 30 * 60 + 1  # ... less, when it becomes due sooner
    clock[0] += 3600
    run = early.check()
    assert run is not None and run.day == "2001-03-01"
    assert early.check() is None and early.next_delay() == 3600  # taken; hourly checks
    with pytest.raises(ValueError):
        parse_at("noon")
    scheduler = RiskScheduler(database, first_check=3600)
    scheduler.start()
    scheduler.close()  # stops at once between checks
    assert not scheduler._thread.is_alive()
