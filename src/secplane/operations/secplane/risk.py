"""``DescribeRiskySecurityGroups`` (Secplane 2026-11-28): the riskiest security groups of a region with
their findings — level, offending rule, reason and suggested fix in English and Chinese (SPEC SG-18;
the rules are ``domain.risk``'s).

By default the answer comes from the latest daily snapshot taken *before today* (UTC): SG-18's "today's
changes appear tomorrow", the same list all day long however the rules change. ``SnapshotDate`` picks
another day's snapshot; ``Source=Live`` computes the findings from the rules as they are now instead
(every group of the region is analysed on each call: meant for a few groups or a small account).
``Level`` is the lowest level shown (``info``, the default, shows all; ``warning`` shows serious and
warning). Groups come riskiest first — worst level, then the number of serious, warning and info
findings — 50 a page by default (``MaxResults`` 1..100, ``NextToken``); only groups with findings at the
level asked are listed.
"""

from __future__ import annotations

from secplane.domain.engine import INGRESS
from secplane.domain.risk import LEVELS, Finding
from secplane.domain.risk_text import reason, suggestion
from secplane.operations.context import Context
from secplane.operations.ecs.common import iso_seconds
from secplane.operations.paging import clamp_max_results, decode_token, encode_token
from secplane.operations.registry import SECPLANE, Body, operation
from secplane.protocol.errors import invalid_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import risk as store
from secplane.store.risk import GroupRisk, Run

SNAPSHOT, LIVE = "Snapshot", "Live"
MAX_IDS = 100


class DescribeRiskySecurityGroupsRequest(Request):
    region_id: str
    security_group_ids: list[str] = []
    level: str = ""
    source: str = ""
    snapshot_date: str = ""
    max_results: int | None = None
    next_token: str = ""


def _resources(ctx: Context, req: DescribeRiskySecurityGroupsRequest) -> list[str]:
    """The groups asked about, or all of the region's."""
    ids = req.security_group_ids or ["*"]
    return [ctx.arn(f"securitygroup/{group_id}", service="ecs") for group_id in ids[:MAX_IDS]]


@operation(SECPLANE, "DescribeRiskySecurityGroups", DescribeRiskySecurityGroupsRequest, resources=_resources)
def describe_risky_security_groups(ctx: Context, req: DescribeRiskySecurityGroupsRequest) -> Body:
    level = _level(req.level)
    source = _source(req.source)
    if len(req.security_group_ids) > MAX_IDS:
        raise invalid_parameter("SecurityGroupIds", f"At most {MAX_IDS} ids may be given.")
    ids = list(dict.fromkeys(req.security_group_ids)) or None
    limit = clamp_max_results(req.max_results, 1, 100, 50)
    offset = decode_token(req.next_token)
    run: Run | None = None
    if source == LIVE:
        if req.snapshot_date:
            raise invalid_parameter("SnapshotDate", "A live report (Source=Live) has no snapshot date.")
        total, page = store.live(ctx.conn, ctx.account_id, ctx.region_id, ids, level, offset, limit)
    else:
        run = _run(ctx, req.snapshot_date)
        total, page = 0, []
        if run is not None:
            total, page = store.snapshot_groups(
                ctx.conn, run.id, account_id=ctx.account_id, region_id=ctx.region_id, group_ids=ids,
                min_level=level, offset=offset, limit=limit,
            )  # fmt: skip
    ctx.touched.extend(g.group_id for g in page)
    return {
        "Source": source,
        "SnapshotDate": run.day if run else "",
        "SnapshotTime": iso_seconds(run.finished_at) if run and run.finished_at else "",
        "TotalCount": total,
        "MaxResults": limit,
        "NextToken": encode_token(offset + limit) if offset + limit < total else "",
        "SecurityGroups": {"SecurityGroup": [group_body(g) for g in page]},
    }


def _level(value: str) -> str:
    level = (value or "info").strip().lower()
    if level not in LEVELS:
        raise invalid_parameter("Level", "It must be serious, warning or info.")
    return level


def _source(value: str) -> str:
    for known in (SNAPSHOT, LIVE):
        if (value or SNAPSHOT).strip().lower() == known.lower():
            return known
    raise invalid_parameter("Source", "It must be Snapshot or Live.")


def _run(ctx: Context, snapshot_date: str) -> Run | None:
    """The snapshot asked for, or the latest taken before today (None when there is none yet)."""
    if not snapshot_date:
        return store.find_run(ctx.conn, before=store.today(ctx.now))
    try:
        day = store.parse_day(snapshot_date)
    except ValueError:
        raise invalid_parameter("SnapshotDate", "It must be a date, YYYY-MM-DD.") from None
    run = store.find_run(ctx.conn, day=day)
    if run is None:
        raise not_found("InvalidSnapshotDate.NotFound", f"There is no risk snapshot of {day}.")
    return run


# ---------------------------------------------------------------- rendering (the CLI's JSON too)


def group_body(g: GroupRisk) -> Body:
    return {
        "SecurityGroupId": g.group_id,
        "RegionId": g.region_id,
        "Level": g.level,
        "SeriousCount": g.serious,
        "WarningCount": g.warning,
        "InfoCount": g.info,
        "RuleCount": g.rules,
        "Findings": {"Finding": [finding_body(f) for f in g.findings]},
    }


def finding_body(f: Finding) -> Body:
    en, zh = reason(f)
    fix_en, fix_zh = suggestion(f)
    body: Body = {"Level": f.level, "Code": str(f.code), "SecurityGroupRuleId": f.rule_id}
    if f.rule is not None:
        r = f.rule
        peer = "Source" if r.direction == INGRESS else "Dest"
        v6 = ":" in r.peer_cidr
        body.update(
            {
                "Direction": r.direction,
                "Policy": r.policy,
                "Priority": r.priority,
                "IpProtocol": r.ip_protocol,
                "PortRange": r.port_range,
                "NicType": r.nic_type,
                f"{peer}CidrIp": "" if v6 else r.peer_cidr,
                f"Ipv6{peer}CidrIp": r.peer_cidr if v6 else "",
                f"{peer}GroupId": r.peer_group_id,
                f"{peer}PrefixListId": r.peer_prefix_list_id,
            }
        )
    body.update(
        {
            "Ports": {"Port": list(f.ports)},
            "RelatedRuleIds": {"SecurityGroupRuleId": list(f.related)},
            "ReasonEn": en,
            "ReasonZh": zh,
            "SuggestionEn": fix_en,
            "SuggestionZh": fix_zh,
        }
    )
    return body
