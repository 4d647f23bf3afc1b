"""What the security-group tools (clone, restore, export, import; SPEC SG-14..16) share.

They write rules the way AuthorizeSecurityGroup does, through its own checks (``ecs.sg_rules``), but
report a rule that cannot be written as a value on that rule instead of failing the call: a tool that
copies 150 rules says which 3 did not fit and why. ``Candidate`` is that rule with its first problem;
the steps below fill the problem in, in the order a user reads them (its own fields, its references,
a duplicate, the limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Row

from secplane.domain.sg_rules import Rule, RuleFields
from secplane.operations.context import Context
from secplane.operations.ecs.sg_rules import (
    MAX_ENTRIES,
    MAX_GROUP_RULES,
    ORDER_STEP,
    PermissionParam,
    _check_limits,
    _check_references,
    _entries,
    _lock_dependencies,
    render_rule,
    rule_fields,
)
from secplane.operations.registry import Body
from secplane.protocol.errors import ApiError
from secplane.store import security_groups as store

OK, SKIPPED, FAILED = "Ok", "Skipped", "Failed"


@dataclass(slots=True)
class Candidate:
    """A rule on its way into a group and the first reason it cannot go (None while it can)."""

    view: Body  # the rule as the answer shows it
    rule: Rule | None = None  # None: it failed its own check
    problem: ApiError | None = None
    duplicate: bool = False  # the group (or the batch) has it already: skipped, not failed

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def status(self) -> str:
        return OK if self.ok else SKIPPED if self.duplicate else FAILED

    def report(self) -> Body:
        """``Status``, ``Code``, ``Message`` ("" for a rule that is fine)."""
        return {
            "Status": self.status,
            "Code": self.problem.code if self.problem else "",
            "Message": self.problem.message if self.problem else "",
        }


def group_arns(ctx: Context, *group_ids: str, region: str | None = None) -> list[str]:
    """The ECS resources the tools touch (the actions are ``secplane:…``, the groups ``ecs`` ones)."""
    return [ctx.arn(f"securitygroup/{g or '*'}", service="ecs", region=region) for g in group_ids]


def group_arn(ctx: Context, req: Any) -> list[str]:
    """The one group a call is about (``SecurityGroupId``)."""
    return group_arns(ctx, req.security_group_id)


def admitted(candidates: list[Candidate]) -> list[Rule]:
    return [c.rule for c in candidates if c.ok and c.rule is not None]


# ---------------------------------------------------------------- shapes


def fields_of(record: dict[str, str], direction: str) -> RuleFields:
    """A file's record (wire names) as the direction-neutral fields AuthorizeSecurityGroup reads."""
    return rule_fields(msgspec.convert(record, PermissionParam), direction)


def row_views(ctx: Context, rows: list[Row[Any]]) -> list[Body]:
    """Stored rules as DescribeSecurityGroupAttribute shows them, with group and prefix-list names."""
    names = store.group_names(ctx.conn, ctx.account_id, (r.peer_group_id for r in rows if r.peer_group_id))
    lists = store.prefix_list_names(
        ctx.conn, ctx.account_id, (r.peer_prefix_list_id for r in rows if r.peer_prefix_list_id)
    )
    return [render_rule(row, names, lists) for row in rows]


def internet_rule_in_vpc(vpc_id: str) -> ApiError:
    """A VPC group's rules are all intranet: an internet-NIC rule would silently become one."""
    return ApiError(
        "InvalidNicType.Mismatch",
        "The rule is for the internet NIC, which exists only on the classic network; the group is in "
        f"{vpc_id}.",
    )


def system_rule(priority: int) -> ApiError:
    """Priorities above 100 belong to old system-created rules (SG-10): no user call creates one."""
    return ApiError(
        "InvalidPriority.ValueNotSupported",
        f"The rule has priority {priority}, a system rule's: rules above priority 100 cannot be created. "
        "Add it yourself with priority 100 if you need it.",
    )


# ---------------------------------------------------------------- the checks, one rule at a time


def check_references(
    ctx: Context, holder: store.Group, candidates: list[Candidate], lists: dict[str, Row[Any]],
    groups: dict[str, store.Group],
) -> None:  # fmt: skip
    """SG-7 and SG-8 as AuthorizeSecurityGroup checks them, plus a plain reason for the commonest
    failure of a copied rule: what it references lives in another region."""
    for c in candidates:
        if not c.ok or c.rule is None:
            continue
        try:
            _check_region(holder, c.rule, lists, groups)
            _check_references(ctx, holder, [c.rule], lists, groups)
        except ApiError as err:
            c.problem = err


def _check_region(
    holder: store.Group, rule: Rule, lists: dict[str, Row[Any]], groups: dict[str, store.Group]
) -> None:
    found: store.Group | Row[Any] | None
    if rule.peer_group_id:
        what, found = f"security group {rule.peer_group_id}", groups.get(rule.peer_group_id)
    elif rule.peer_prefix_list_id:
        what, found = f"prefix list {rule.peer_prefix_list_id}", lists.get(rule.peer_prefix_list_id)
    else:
        return
    if found is not None and found.region_id != holder.region_id:
        raise ApiError(
            "InvalidAuthorizationObject.CrossRegion",
            f"The rule authorizes {what} of region {found.region_id}: a rule that references a security "
            f"group or a prefix list cannot be used in another region ({holder.region_id}).",
        )


def mark_duplicates(candidates: list[Candidate], existing: dict[str, str]) -> None:
    """Rules the group has (``existing``: content key -> rule id) or an earlier candidate brings."""
    first: dict[str, int] = {}
    for i, c in enumerate(candidates, 1):
        if not c.ok or c.rule is None:
            continue
        key = c.rule.content_key
        if key in existing:
            c.duplicate = True
            c.problem = ApiError(
                "InvalidRule.Duplicate", f"The group has this rule already ({existing[key]}); it is skipped."
            )
        elif key in first:
            c.duplicate = True
            c.problem = ApiError(
                "InvalidRule.Duplicate", f"The rule repeats rule {first[key]}; it is skipped."
            )
        else:
            first[key] = i


def fit_quota(
    ctx: Context, holder: store.Group, candidates: list[Candidate], lists: dict[str, Row[Any]]
) -> None:
    """SG-9 rule by rule, in order: what fits is admitted, each rule past a limit says which limit."""
    entries, group_rules = store.quota_used(ctx.conn, holder.id)
    for c in candidates:
        if not c.ok or c.rule is None:
            continue
        need = _entries(c.rule, lists)
        if entries + need > MAX_ENTRIES:
            c.problem = ApiError(
                "AuthorizationLimitExceed",
                f"Over the limit of {MAX_ENTRIES} rules per security group: {entries} entries are taken "
                f"and this rule needs {need}.",
                403,
            )
        elif c.rule.peer_group_id and holder.group_type == "normal" and group_rules >= MAX_GROUP_RULES:
            c.problem = ApiError(
                "AuthorizedGroupRule.LimitExceed",
                f"Over the limit of {MAX_GROUP_RULES} rules that authorize a security group.",
            )
        else:
            entries += need
            group_rules += bool(c.rule.peer_group_id)


# ---------------------------------------------------------------- writing


def lock_and_check(
    ctx: Context, group_id: str, candidates: list[Candidate]
) -> tuple[store.Group, dict[str, Row[Any]]]:
    """Lock the group and what the candidates reference (the store's lock order), then check the
    references; returns the locked group and the prefix lists for the quota."""
    holder, lists, groups = _lock_dependencies(ctx, group_id, admitted(candidates))
    check_references(ctx, holder, candidates, lists, groups)
    return holder, lists


def check_limits(
    ctx: Context, holder: store.Group, added: list[Rule], removed: list[Row[Any]], lists: dict[str, Row[Any]]
) -> None:
    """The limit check every rule writer makes (with the group locked), for a whole change at once."""
    _check_limits(ctx, holder, added, [store.rule_from_row(r) for r in removed], lists, 403)


def write(
    ctx: Context, holder: store.Group, added: list[Rule], removed: list[Row[Any]], lists: dict[str, Row[Any]]
) -> None:
    """Remove and add in the caller's transaction: every change or none."""
    check_limits(ctx, holder, added, removed, lists)
    store.delete_rules(ctx.conn, [r.id for r in removed])
    store.insert_new_rules(ctx.conn, holder.id, holder.region_id, added, ctx.now, ORDER_STEP)
    if added or removed:
        store.bump_revision(ctx.conn, [holder.id])
    ctx.touched.append(holder.id)
