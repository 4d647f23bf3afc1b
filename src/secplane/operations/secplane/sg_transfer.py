"""``ExportSecurityGroupRules`` and ``ImportSecurityGroupRules`` (Secplane 2026-11-28; SPEC SG-16).

Alibaba offers these in its console only. Export answers the file's content and the name the console
gives it; import takes a file's content and adds its rules to a group: every rule is checked as
AuthorizeSecurityGroup checks it and gets its own result (``Ok``, ``Skipped`` for a rule the group has,
``Failed`` with the reason), and the rules that pass are added together in the call's transaction.
Import never changes or removes a rule the group has. ``DryRun=true`` answers the same results and
changes nothing. A file that cannot be read as a whole (see ``domain.sg_files``) is an error of the call.

The file format parameter is ``FileFormat``: ``Format`` is the protocol's own (JSON or XML answers), and
the legacy SDKs send it with every call.
"""

from __future__ import annotations

import base64
import binascii
import time

from secplane.domain import sg_files
from secplane.domain.sg_rules import normalize
from secplane.operations.context import Context
from secplane.operations.ecs.security_groups import ensure_writable, load_group
from secplane.operations.ecs.sg_rules import _own_owner
from secplane.operations.registry import SECPLANE, Body, operation
from secplane.operations.secplane import sg_tools
from secplane.operations.secplane.sg_tools import Candidate
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter
from secplane.protocol.params import Request
from secplane.store import security_groups as store

# ---------------------------------------------------------------- ExportSecurityGroupRules


class ExportSecurityGroupRulesRequest(Request):
    region_id: str
    security_group_id: str
    file_format: str = ""


@operation(
    SECPLANE, "ExportSecurityGroupRules", ExportSecurityGroupRulesRequest, resources=sg_tools.group_arn
)
def export_security_group_rules(ctx: Context, req: ExportSecurityGroupRulesRequest) -> Body:
    fmt = sg_files.file_format(req.file_format or sg_files.JSON)
    group = load_group(ctx, req.security_group_id)
    rows = store.rules_of(ctx.conn, [group.id])
    permissions = sg_tools.row_views(ctx, rows)
    if fmt == sg_files.JSON:
        attributes = {
            "RegionId": group.region_id,
            "SecurityGroupId": group.id,
            "SecurityGroupName": group.name,
            "Description": group.description,
            "VpcId": group.vpc_id,
            "InnerAccessPolicy": group.inner_access_policy,
        }
        content = sg_files.export_json(attributes, permissions)
    else:
        content = sg_files.export_csv(permissions)
    day = time.strftime("%Y-%m-%d", time.gmtime(ctx.now))
    return {
        "SecurityGroupId": group.id,
        "RegionId": group.region_id,
        "FileFormat": fmt,
        "FileName": sg_files.file_name(fmt, group.region_id, group.id, day),
        "RuleCount": len(rows),
        "Content": content,
    }


# ---------------------------------------------------------------- ImportSecurityGroupRules


class ImportSecurityGroupRulesRequest(Request):
    region_id: str
    security_group_id: str
    file_format: str = ""  # "" = recognised from the content
    content: str = ""  # the file's text
    content_base64: str = ""  # or its bytes, for the server to judge the encoding
    dry_run: bool = False


def _text(req: ImportSecurityGroupRulesRequest) -> str:
    if req.content and req.content_base64:
        raise invalid_parameter("ContentBase64", "Give Content or ContentBase64, not both.")
    if not req.content_base64:
        if not req.content:
            raise missing_parameter("Content")
        sg_files.check_size(len(req.content))
        sg_files.check_sent_text(req.content)
        return req.content
    encoded = "".join(req.content_base64.split())
    sg_files.check_size(len(encoded) * 3 // 4)
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise invalid_parameter("ContentBase64", "It is not valid Base64.") from None
    return sg_files.decode(data)


def _candidate(ctx: Context, entry: sg_files.Entry, vpc_id: str) -> Candidate:
    """One rule of the file, checked on its own: its fields, its priority, its NIC, a cross-account
    owner."""
    record = entry.record
    c = Candidate({"Index": entry.index, "Line": entry.line, "Rule": record})
    priority = record.get("Priority", "")
    try:
        if entry.problem:
            raise ApiError("InvalidRule.Malformed", entry.problem)
        if priority.isascii() and priority.isdigit() and int(priority) > 100:
            raise sg_tools.system_rule(int(priority))
        if vpc_id and record.get("NicType", "").lower() == "internet":
            raise sg_tools.internet_rule_in_vpc(vpc_id)
        fields = sg_tools.fields_of(record, record["Direction"])
        c.rule = _own_owner(ctx, normalize(record["Direction"], fields, vpc=bool(vpc_id)), strict=True)
    except ApiError as err:
        c.problem = err
    return c


@operation(
    SECPLANE,
    "ImportSecurityGroupRules",
    ImportSecurityGroupRulesRequest,
    resources=sg_tools.group_arn,
    writes=True,
)
def import_security_group_rules(ctx: Context, req: ImportSecurityGroupRulesRequest) -> Body:
    text = _text(req)
    group = load_group(ctx, req.security_group_id)
    ensure_writable(ctx, group)
    rule_file = sg_files.parse(text, sg_files.file_format(req.file_format) if req.file_format else "")
    candidates = [_candidate(ctx, entry, group.vpc_id) for entry in rule_file.entries]
    holder, lists = sg_tools.lock_and_check(ctx, group.id, candidates)
    existing = {row.content_key: row.id for row in store.rules_of(ctx.conn, [holder.id])}
    sg_tools.mark_duplicates(candidates, existing)
    sg_tools.fit_quota(ctx, holder, candidates, lists)
    added = sg_tools.admitted(candidates)
    if added and not req.dry_run:
        sg_tools.write(ctx, holder, added, [], lists)
    results = [{**c.view, **c.report()} for c in candidates]
    statuses = [c.status for c in candidates]
    return {
        "SecurityGroupId": holder.id,
        "FileFormat": rule_file.format,
        "DryRun": req.dry_run,
        "TotalCount": len(candidates),
        "OkCount": statuses.count(sg_tools.OK),
        "SkippedCount": statuses.count(sg_tools.SKIPPED),
        "FailedCount": statuses.count(sg_tools.FAILED),
        "AddedCount": 0 if req.dry_run else len(added),
        "Results": {"Result": results},
    }
