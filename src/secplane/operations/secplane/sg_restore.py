"""``RestoreSecurityGroupRules`` (Secplane 2026-11-28; SPEC SG-15): make a group's rules those of
another group of the same region and network type.

``SecurityGroupId`` is the group restored (Alibaba's "source"), ``TargetSecurityGroupId`` the group
whose rules it gets. Rules are compared by content (direction, policy, priority, protocol, ports, the
authorization object, the other address of a five-tuple rule, NIC type), never by id. ``Mode=full``
adds the rules only the target has and removes those only the source has; ``partial`` only adds.
``DryRun=true`` answers the preview; applying answers the same lists and makes the change in one
transaction, every rule or none. A target rule that cannot be created in the source — a priority-110
system rule, a reference the source may not hold — is listed in ``UnrestorableRules`` with the reason,
and the rest is applied.
"""

from __future__ import annotations

from secplane.operations.context import Context
from secplane.operations.ecs.security_groups import ensure_writable, load_group
from secplane.operations.registry import SECPLANE, Body, operation
from secplane.operations.secplane import sg_tools
from secplane.operations.secplane.sg_tools import Candidate
from secplane.protocol.errors import ApiError, invalid_parameter, missing_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import security_groups as store

MODES = ("full", "partial")


class RestoreSecurityGroupRulesRequest(Request):
    region_id: str
    security_group_id: str
    target_security_group_id: str = ""
    mode: str = ""
    dry_run: bool = False


def _arns(ctx: Context, req: RestoreSecurityGroupRulesRequest) -> list[str]:
    """The group restored and the group read."""
    return sg_tools.group_arns(ctx, req.security_group_id, req.target_security_group_id)


def _mode(value: str) -> str:
    if not value:
        raise missing_parameter("Mode")
    mode = value.strip().lower()
    if mode not in MODES:
        raise invalid_parameter("Mode", "It must be full or partial.")
    return mode


def _target(ctx: Context, source: store.Group, target_id: str) -> store.Group:
    if not target_id:
        raise missing_parameter("TargetSecurityGroupId")
    target = store.group_in_region(ctx.conn, ctx.account_id, target_id, ctx.region_id)
    if target is None:
        raise not_found(
            "InvalidTargetSecurityGroupId.NotFound",
            f"The specified TargetSecurityGroupId does not exist in region {ctx.region_id}.",
        )
    if target.id == source.id:
        raise invalid_parameter("TargetSecurityGroupId", "It must name another group than SecurityGroupId.")
    if bool(target.vpc_id) != bool(source.vpc_id):
        raise ApiError(
            "InvalidNetworkType.Mismatch",
            "Rules can be restored only between security groups of the same network type (VPC or classic).",
        )
    return target


@operation(
    SECPLANE, "RestoreSecurityGroupRules", RestoreSecurityGroupRulesRequest, resources=_arns, writes=True
)
def restore_security_group_rules(ctx: Context, req: RestoreSecurityGroupRulesRequest) -> Body:
    mode = _mode(req.mode)
    source = load_group(ctx, req.security_group_id)
    target = _target(ctx, source, req.target_security_group_id)
    ensure_writable(ctx, source)
    target_rows = store.rules_of(ctx.conn, [target.id])
    candidates = [
        Candidate(view, store.rule_from_row(row))
        for row, view in zip(target_rows, sg_tools.row_views(ctx, target_rows), strict=True)
    ]
    for c in candidates:
        if c.rule is not None and c.rule.priority > 100:
            c.problem = sg_tools.system_rule(c.rule.priority)
    holder, lists = sg_tools.lock_and_check(ctx, source.id, candidates)
    source_rows = store.rules_of(ctx.conn, [holder.id])
    source_keys = {row.content_key for row in source_rows}
    target_keys = {row.content_key for row in target_rows}
    if source_keys == target_keys:
        raise ApiError(
            "InvalidOperation.SameRules",
            f"The security groups {source.id} and {target.id} have the same rules: there is nothing to "
            "restore.",
        )
    to_add = [c for c, row in zip(candidates, target_rows, strict=True) if row.content_key not in source_keys]
    to_remove = [row for row in source_rows if row.content_key not in target_keys] if mode == "full" else []
    added = sg_tools.admitted(to_add)
    if req.dry_run:
        sg_tools.check_limits(ctx, holder, added, to_remove, lists)
    else:
        sg_tools.write(ctx, holder, added, to_remove, lists)
    return {
        "SecurityGroupId": holder.id,
        "TargetSecurityGroupId": target.id,
        "Mode": mode,
        "DryRun": req.dry_run,
        "AddedCount": 0 if req.dry_run else len(added),
        "RemovedCount": 0 if req.dry_run else len(to_remove),
        "RulesToAdd": {"Rule": [c.view for c in to_add if c.ok]},
        "RulesToRemove": {"Rule": sg_tools.row_views(ctx, to_remove)},
        "UnrestorableRules": {"Rule": [{**c.view, **c.report()} for c in to_add if not c.ok]},
    }
