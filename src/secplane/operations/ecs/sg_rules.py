"""ECS security-group rules: authorize, revoke, modify, describe (SG-4, SG-7, SG-8, SG-9, SG-12).

The wire names a rule's fields by side (``Source*``/``Dest*``); ``domain.sg_rules`` works on one
direction-neutral shape where the *peer* is the authorization object. ``rule_fields`` maps the one to the
other and ``render_rule`` maps back. What needs the database — referenced groups and prefix lists, the
limits — is checked here, inside the write transaction, after locking what the rule depends on.

Lock order (every writer in the store keeps it, so no two wait on each other in a cycle): prefix lists,
then security groups, each sorted by id.

Family of a prefix-list rule (for ``InvalidParam.PrefixListAddressFamilyMismatch``): ICMP rules are IPv4
and ICMPv6 rules IPv6; a five-tuple rule has the family of its other address; TCP, UDP, GRE and ALL rules
without one carry no family of their own and take the prefix list's, so either family is accepted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from secplane.domain.sg_rules import EGRESS, INGRESS, Rule, RuleFields, normalize, with_changes
from secplane.operations.context import Context
from secplane.operations.ecs import common
from secplane.operations.ecs.security_groups import (
    ensure_writable,
    group_arn,
    group_not_found,
    load_group,
    lock_group,
)
from secplane.operations.paging import clamp_max_results, decode_token, encode_token
from secplane.operations.registry import ECS, Body, operation
from secplane.protocol.errors import ApiError, invalid_parameter, not_found
from secplane.protocol.params import Request
from secplane.store import security_groups as store

MAX_ENTRIES = 200  # rule entries per group, ingress and egress together (SG-9)
MAX_GROUP_RULES = 20  # rules of a normal group that authorize a group
MAX_PERMISSIONS = 100
MAX_RULE_IDS = 100
ORDER_STEP = 1e-5  # seconds between the create times of the rules of one request


# ---------------------------------------------------------------- requests


class PermissionParam(Request):
    """One rule as the wire gives it: a ``Permissions.N`` entry or the legacy top-level fields."""

    policy: str = ""
    priority: str = ""
    ip_protocol: str = ""
    port_range: str = ""
    port_range_list_id: str = ""
    source_cidr_ip: str = ""
    ipv6_source_cidr_ip: str = ""
    source_group_id: str = ""
    source_group_owner_account: str = ""
    source_group_owner_id: str = ""
    source_prefix_list_id: str = ""
    source_port_range: str = ""
    dest_cidr_ip: str = ""
    ipv6_dest_cidr_ip: str = ""
    dest_group_id: str = ""
    dest_group_owner_account: str = ""
    dest_group_owner_id: str = ""
    dest_prefix_list_id: str = ""
    nic_type: str = ""
    description: str = ""


_RULE_PARAMS = PermissionParam.__struct_fields__


class GroupRuleRequest(PermissionParam):
    """A rule call on one group (both ids are checked by the gateway and ``load_group``)."""

    region_id: str = ""
    security_group_id: str = ""


class AuthorizeRequest(GroupRuleRequest):
    permissions: list[PermissionParam] = []


class RevokeRequest(AuthorizeRequest):
    security_group_rule_id: list[str] = []


class ModifyRuleRequest(GroupRuleRequest):
    security_group_rule_id: str = ""


# ---------------------------------------------------------------- wire fields <-> domain


def rule_fields(p: PermissionParam, direction: str) -> RuleFields:
    """The direction-neutral fields of one wire rule (``peer`` = the side the rule authorizes)."""
    if not p.port_range and p.port_range_list_id:
        raise ApiError("InvalidPortRangeListId.NotFound", "The specified port range list does not exist.")
    common_fields = {
        "ip_protocol": p.ip_protocol,
        "port_range": p.port_range,
        "policy": p.policy,
        "priority": p.priority,
        "nic_type": p.nic_type,
        "description": p.description,
        "source_port_range": p.source_port_range,
    }
    if direction == INGRESS:
        return RuleFields(
            **common_fields,
            peer_cidr=p.source_cidr_ip,
            peer_ipv6_cidr=p.ipv6_source_cidr_ip,
            peer_group_id=p.source_group_id,
            peer_group_owner_account=p.source_group_owner_account,
            peer_group_owner_id=p.source_group_owner_id,
            peer_prefix_list_id=p.source_prefix_list_id,
            local_cidr=p.dest_cidr_ip,
            local_ipv6_cidr=p.ipv6_dest_cidr_ip,
        )
    return RuleFields(
        **common_fields,
        peer_cidr=p.dest_cidr_ip,
        peer_ipv6_cidr=p.ipv6_dest_cidr_ip,
        peer_group_id=p.dest_group_id,
        peer_group_owner_account=p.dest_group_owner_account,
        peer_group_owner_id=p.dest_group_owner_id,
        peer_prefix_list_id=p.dest_prefix_list_id,
        local_cidr=p.source_cidr_ip,
        local_ipv6_cidr=p.ipv6_source_cidr_ip,
    )


def _legacy_given(req: PermissionParam) -> bool:
    return any(getattr(req, name) for name in _RULE_PARAMS)


def _permissions_conflict() -> ApiError:
    return ApiError(
        "InvalidParam.Permissions",
        "The specified parameter Permissions cannot coexist with other parameters.",
    )


def requested_rules(req: AuthorizeRequest, direction: str) -> list[RuleFields]:
    """The rules of a request: ``Permissions.N`` or the legacy single rule, never both."""
    if req.permissions and _legacy_given(req):
        raise _permissions_conflict()
    if len(req.permissions) > MAX_PERMISSIONS:
        raise invalid_parameter("Permissions", f"At most {MAX_PERMISSIONS} permissions can be given.")
    items: list[PermissionParam] = list(req.permissions) or [req]
    return [rule_fields(p, direction) for p in items]


class _RuleKeys:
    """The wire names of a rule's fields on each side, per direction (built once, not per rule)."""

    def __init__(self, direction: str) -> None:
        peer, local = ("Source", "Dest") if direction == INGRESS else ("Dest", "Source")
        self.peer_cidr, self.peer_ipv6 = f"{peer}CidrIp", f"Ipv6{peer}CidrIp"
        self.peer_group, self.peer_group_name = f"{peer}GroupId", f"{peer}GroupName"
        self.peer_owner = f"{peer}GroupOwnerAccount"
        self.peer_list, self.peer_list_name = f"{peer}PrefixListId", f"{peer}PrefixListName"
        self.local_cidr, self.local_ipv6 = f"{local}CidrIp", f"Ipv6{local}CidrIp"
        # the local side never names a group or a prefix list
        self.local_unused = {
            f"{local}{name}": ""
            for name in ("GroupId", "GroupName", "GroupOwnerAccount", "PrefixListId", "PrefixListName")
        }


_INGRESS_KEYS, _EGRESS_KEYS = _RuleKeys(INGRESS), _RuleKeys(EGRESS)


def render_rule(
    row: Row[Any] | store.RuleRow, group_names: dict[str, str], list_names: dict[str, str]
) -> Body:
    """A rule as DescribeSecurityGroupAttribute shows it: every field present, "" where unused."""
    k = _INGRESS_KEYS if row.direction == INGRESS else _EGRESS_KEYS
    peer_v6 = ":" in row.peer_cidr
    local_v6 = ":" in row.local_cidr
    own_group = row.peer_group_id and not row.peer_group_owner
    return {
        "SecurityGroupRuleId": row.id,
        "Direction": row.direction,
        "Policy": row.policy,
        "Priority": int(row.priority),
        "IpProtocol": row.ip_protocol,
        "PortRange": row.port_range,
        "SourcePortRange": row.source_port_range,
        "PortRangeListId": "",
        "PortRangeListName": "",
        k.peer_cidr: "" if peer_v6 else row.peer_cidr,
        k.peer_ipv6: row.peer_cidr if peer_v6 else "",
        k.peer_group: row.peer_group_id,
        k.peer_group_name: group_names.get(row.peer_group_id, "") if own_group else "",
        k.peer_owner: row.peer_group_owner,
        k.peer_list: row.peer_prefix_list_id,
        k.peer_list_name: list_names.get(row.peer_prefix_list_id, "") if row.peer_prefix_list_id else "",
        k.local_cidr: "" if local_v6 else row.local_cidr,
        k.local_ipv6: row.local_cidr if local_v6 else "",
        **k.local_unused,
        "NicType": row.nic_type,
        "Description": row.description,
        "CreateTime": common.iso_seconds(row.created_at),
    }


# ---------------------------------------------------------------- reference checks


def _side(direction: str) -> str:
    return "Source" if direction == INGRESS else "Dest"


def _own_owner(ctx: Context, rule: Rule, *, strict: bool) -> Rule:
    """The rule with its group owner as an account id, "" for the caller's own account.

    ``strict``: an owner naming no account is refused (writing); otherwise it is kept as given, so that
    the rule simply matches nothing (revoking).
    """
    owner = rule.peer_group_owner
    if not owner or owner == ctx.account_id:
        return rule._replace(peer_group_owner="") if owner else rule
    account = store.resolve_account(ctx.conn, owner)
    if account is None:
        if strict:
            raise _group_not_found(rule.direction)
        return rule
    return rule._replace(peer_group_owner="" if account == ctx.account_id else account)


def _group_not_found(direction: str) -> ApiError:
    side = _side(direction)
    return not_found(
        f"Invalid{side}GroupId.NotFound", f"The {side}GroupId provided does not exist in our records."
    )


def _check_group_peer(ctx: Context, holder: store.Group, rule: Rule, locked: dict[str, store.Group]) -> None:
    """SG-7: the referenced group exists where it must, is not the holder, and neither is enterprise."""
    if holder.group_type == "enterprise":
        raise ApiError(
            "InvalidGroupParameter.OperationDenied",
            "An enterprise level security group cannot hold rules that authorize a security group.",
        )
    target = locked.get(rule.peer_group_id)
    owner = rule.peer_group_owner or ctx.account_id
    if target is None or target.account_id != owner or target.region_id != holder.region_id:
        raise _group_not_found(rule.direction)
    if not rule.peer_group_owner:
        if target.id == holder.id:
            if rule.direction == INGRESS:
                raise ApiError(
                    "InvalidParamter.Conflict",
                    "The specified SecurityGroupId should be different from the SourceGroupId.",
                    403,
                )
            raise ApiError(
                "InvalidSecurityGroup.IsSame",
                "The authorized SecurityGroupId should be different from the DestGroupId.",
                403,
            )
        if target.vpc_id != holder.vpc_id:
            what = "source" if rule.direction == INGRESS else "destination"
            raise ApiError(
                f"Invalid{_side(rule.direction)}GroupId.Mismatch",
                f"Specified security group and {what} group are not in the same VPC.",
            )
    if target.group_type == "enterprise":
        raise ApiError(
            "InvalidGroupAuthParameter.OperationDenied",
            "The security group can not authorize to enterprise level security group.",
        )


def rule_family(rule: Rule) -> str | None:
    """The address family a rule is bound to, if any (see the module docstring)."""
    if rule.ip_protocol == "ICMP":
        return "IPv4"
    if rule.ip_protocol == "ICMPv6":
        return "IPv6"
    if rule.local_cidr:
        return "IPv6" if ":" in rule.local_cidr else "IPv4"
    return None


def _check_prefix_list(ctx: Context, holder: store.Group, rule: Rule, lists: dict[str, Row[Any]]) -> None:
    """SG-8: VPC groups only; the list must be the caller's, in the region, of the rule's family."""
    if not holder.vpc_id:
        raise ApiError(
            "NotSupported.ClassicNetworkPrefixList",
            "Prefix lists cannot be used in rules of classic network security groups.",
        )
    found = lists.get(rule.peer_prefix_list_id)
    if found is None or found.account_id != ctx.account_id or found.region_id != holder.region_id:
        raise not_found("InvalidPrefixListId.NotFound", "The specified prefix list was not found.")
    family = rule_family(rule)
    if family is not None and found.address_family != family:
        raise ApiError(
            "InvalidParam.PrefixListAddressFamilyMismatch",
            f"The prefix list {found.id} holds {found.address_family} blocks but the rule is {family}.",
        )


def _lock_dependencies(
    ctx: Context, group_id: str, rules: list[Rule]
) -> tuple[store.Group, dict[str, Row[Any]], dict[str, store.Group]]:
    """Lock, in the store's order, the prefix lists and groups the rules use and the group itself."""
    lists = store.lock_prefix_lists(
        ctx.db, ctx.conn, (r.peer_prefix_list_id for r in rules if r.peer_prefix_list_id)
    )
    groups = store.lock_groups(
        ctx.db, ctx.conn, [group_id, *(r.peer_group_id for r in rules if r.peer_group_id)]
    )
    holder = groups.get(group_id)
    if holder is None:
        raise group_not_found()
    return holder, lists, groups


def _check_references(
    ctx: Context,
    holder: store.Group,
    rules: list[Rule],
    lists: dict[str, Row[Any]],
    groups: dict[str, store.Group],
) -> None:
    for rule in rules:
        if rule.peer_group_id:
            _check_group_peer(ctx, holder, rule, groups)
        elif rule.peer_prefix_list_id:
            _check_prefix_list(ctx, holder, rule, lists)


def _entries(rule: Rule, lists: dict[str, Row[Any]]) -> int:
    """What a rule counts against the 200 limit: a prefix list's maximum entries (SG-8), else 1."""
    found = lists.get(rule.peer_prefix_list_id) if rule.peer_prefix_list_id else None
    return int(found.max_entries) if found is not None else 1


def _limit_exceeded(status: int) -> ApiError:
    return ApiError(
        "AuthorizationLimitExceed",
        "The limit of authorization records in the security group reaches.",
        status,
    )


def _check_limits(
    ctx: Context,
    holder: store.Group,
    added: list[Rule],
    removed: list[Rule],
    lists: dict[str, Row[Any]],
    status: int,
) -> None:
    """SG-9 with the group locked: at most 200 entries, at most 20 group-authorizing rules."""
    entries, group_rules = store.quota_used(ctx.conn, holder.id)
    entries += sum(_entries(r, lists) for r in added) - sum(_entries(r, lists) for r in removed)
    if entries > MAX_ENTRIES:
        raise _limit_exceeded(status)
    group_rules += sum(1 for r in added if r.peer_group_id) - sum(1 for r in removed if r.peer_group_id)
    if holder.group_type == "normal" and group_rules > MAX_GROUP_RULES:
        raise ApiError(
            "AuthorizedGroupRule.LimitExceed",
            f"A security group can hold at most {MAX_GROUP_RULES} rules that authorize security groups.",
        )


def _no_duplicates(rules: list[Rule]) -> None:
    _no_duplicate_keys([r.content_key for r in rules])


def _no_duplicate_keys(keys: list[str]) -> None:
    if len(set(keys)) != len(keys):
        raise ApiError(
            "InvalidParam.DuplicatePermissions",
            "The specified parameter Permissions contains duplicate rules.",
        )


# ---------------------------------------------------------------- Authorize


def _authorize(ctx: Context, req: AuthorizeRequest, direction: str) -> Body:
    """Add every requested rule or none; a rule the group already has is a success that adds nothing."""
    fields = requested_rules(req, direction)
    # Rules that reference no other group or prefix list need only this group locked, and taking
    # that lock first is in the store's lock order: one statement locks the group and moves its
    # revision, instead of a read, a lock and an update.
    alone = not any(f.peer_group_id or f.peer_prefix_list_id for f in fields)
    if alone:
        group = lock_group(ctx, req.security_group_id, changing=True)
    else:
        group = load_group(ctx, req.security_group_id)
    ensure_writable(ctx, group)
    vpc = bool(group.vpc_id)
    rules = [_own_owner(ctx, normalize(direction, f, vpc=vpc), strict=True) for f in fields]
    keys = [r.content_key for r in rules]  # once: each one parses the rule's addresses
    _no_duplicate_keys(keys)
    lists: dict[str, Row[Any]] = {}
    if alone:
        holder, groups = group, {group.id: group}
    else:
        holder, lists, groups = _lock_dependencies(ctx, group.id, rules)
    _check_references(ctx, holder, rules, lists, groups)
    existing = store.existing_content_keys(ctx.conn, holder.id, keys)
    new = [(r, k) for r, k in zip(rules, keys, strict=True) if k not in existing]
    if not new:
        return {}
    new_rules = [r for r, _ in new]
    _check_limits(ctx, holder, new_rules, [], lists, 403)
    store.insert_new_rules(
        ctx.conn, holder.id, holder.region_id, new_rules, ctx.now, ORDER_STEP, [k for _, k in new]
    )
    if not alone:
        store.bump_revision(ctx.conn, [holder.id])
    ctx.touched.append(holder.id)
    return {}


@operation(ECS, "AuthorizeSecurityGroup", AuthorizeRequest, resources=group_arn, writes=True, idempotent=True)
def authorize_security_group(ctx: Context, req: AuthorizeRequest) -> Body:
    return _authorize(ctx, req, INGRESS)


@operation(
    ECS, "AuthorizeSecurityGroupEgress", AuthorizeRequest, resources=group_arn, writes=True, idempotent=True
)
def authorize_security_group_egress(ctx: Context, req: AuthorizeRequest) -> Body:
    return _authorize(ctx, req, EGRESS)


# ---------------------------------------------------------------- Revoke


def _rule_ids(ids: list[str]) -> list[str]:
    if len(ids) > MAX_RULE_IDS:
        raise invalid_parameter("SecurityGroupRuleId", f"At most {MAX_RULE_IDS} rule ids can be given.")
    if len(set(ids)) != len(ids):
        raise ApiError(
            "InvalidParam.SecurityGroupRuleIdRepeated",
            "The specified parameter SecurityGroupRuleId is repeated.",
        )
    if not all(ids):
        raise ApiError(
            "InvalidParam.SecurityGroupRuleId", "The specified parameter SecurityGroupRuleId is not valid."
        )
    return ids


def _rule_id_not_found() -> ApiError:
    return not_found(
        "InvalidSecurityGroupRuleId.NotFound", "The specified SecurityGroupRuleId is not exists."
    )


def _rules_by_ids(ctx: Context, group_id: str, ids: list[str], direction: str) -> list[Row[Any]]:
    """The group's rules of this direction with these ids; any other id is a 404."""
    found = store.rules_by_id(ctx.conn, group_id, ids)
    rows = [found.get(i) for i in ids]
    if any(row is None or row.direction != direction for row in rows):
        raise _rule_id_not_found()
    return [row for row in rows if row is not None]


def _rules_matching(ctx: Context, group: store.Group, req: RevokeRequest, direction: str) -> list[str]:
    """Ids of the rules equal to the requested ones; one that matches nothing is an error (Alibaba since
    2024-07: ``InvalidSecurityGroupRule.RuleNotExist``)."""
    fields = requested_rules(req, direction)
    vpc = bool(group.vpc_id)
    rules = [_own_owner(ctx, normalize(direction, f, vpc=vpc), strict=False) for f in fields]
    _no_duplicates(rules)
    ids = []
    for rule in rules:
        rule_id = store.find_rule_by_content(ctx.conn, group.id, rule)
        if rule_id is None:
            raise ApiError("InvalidSecurityGroupRule.RuleNotExist", "The specified rule does not exist.")
        ids.append(rule_id)
    return ids


def _revoke(ctx: Context, req: RevokeRequest, direction: str) -> Body:
    if req.security_group_rule_id and (req.permissions or _legacy_given(req)):
        raise _permissions_conflict()
    group = lock_group(ctx, req.security_group_id)
    ensure_writable(ctx, group)
    if req.security_group_rule_id:
        ids = [
            row.id for row in _rules_by_ids(ctx, group.id, _rule_ids(req.security_group_rule_id), direction)
        ]
    else:
        ids = _rules_matching(ctx, group, req, direction)
    store.delete_rules(ctx.conn, ids)
    store.bump_revision(ctx.conn, [group.id])
    ctx.touched.append(group.id)
    return {}


@operation(ECS, "RevokeSecurityGroup", RevokeRequest, resources=group_arn, writes=True, idempotent=True)
def revoke_security_group(ctx: Context, req: RevokeRequest) -> Body:
    return _revoke(ctx, req, INGRESS)


@operation(ECS, "RevokeSecurityGroupEgress", RevokeRequest, resources=group_arn, writes=True, idempotent=True)
def revoke_security_group_egress(ctx: Context, req: RevokeRequest) -> Body:
    return _revoke(ctx, req, EGRESS)


# ---------------------------------------------------------------- Modify…Rule


def _modify_by_id(
    ctx: Context, group: store.Group, req: ModifyRuleRequest, f: RuleFields, direction: str
) -> None:
    """Change the rule in place (id and create time stay); the result must not equal another rule."""
    vpc = bool(group.vpc_id)
    before = store.rule_from_row(_rules_by_ids(ctx, group.id, [req.security_group_rule_id], direction)[0])
    after = _own_owner(ctx, with_changes(before, f, vpc=vpc), strict=True)
    holder, lists, groups = _lock_dependencies(ctx, group.id, [before, after])
    row = _rules_by_ids(ctx, holder.id, [req.security_group_rule_id], direction)[0]
    if store.rule_from_row(row) != before:  # changed by a concurrent call between the read and the lock
        raise ApiError(
            "OperationConflict", "Request was denied due to conflict with a previous request.", 409
        )
    _check_references(ctx, holder, [after], lists, groups)
    other = store.find_rule_by_content(ctx.conn, holder.id, after)
    if other is not None and other != row.id:
        raise ApiError("InvalidOperation.RuleDuplicate", f"The modified rule duplicates the rule {other}.")
    _check_limits(ctx, holder, [after], [before], lists, 400)
    store.replace_rule(ctx.conn, row.id, after)


def _modify_description(ctx: Context, group: store.Group, f: RuleFields, direction: str) -> None:
    """The legacy form: find the rule by its attributes and change only its Description."""
    rule = _own_owner(ctx, normalize(direction, f, vpc=bool(group.vpc_id)), strict=False)
    holder = lock_group(ctx, group.id)
    rule_id = store.find_rule_by_content(ctx.conn, holder.id, rule)
    if rule_id is None:
        verb = "not" if direction == INGRESS else "do not"
        raise not_found("SecurityGroupRule.NotFound", f"The target security group rule {verb} exist.")
    if f.description:
        current = store.rule_from_row(store.rules_by_id(ctx.conn, holder.id, [rule_id])[rule_id])
        store.replace_rule(ctx.conn, rule_id, current._replace(description=rule.description))


def _modify(ctx: Context, req: ModifyRuleRequest, direction: str) -> Body:
    f = rule_fields(req, direction)
    group = load_group(ctx, req.security_group_id)
    ensure_writable(ctx, group)
    if req.security_group_rule_id:
        _modify_by_id(ctx, group, req, f, direction)
    else:
        _modify_description(ctx, group, f, direction)
    store.bump_revision(ctx.conn, [group.id])
    ctx.touched.append(group.id)
    return {}


@operation(
    ECS, "ModifySecurityGroupRule", ModifyRuleRequest, resources=group_arn, writes=True, idempotent=True
)
def modify_security_group_rule(ctx: Context, req: ModifyRuleRequest) -> Body:
    return _modify(ctx, req, INGRESS)


@operation(
    ECS, "ModifySecurityGroupEgressRule", ModifyRuleRequest, resources=group_arn, writes=True, idempotent=True
)
def modify_security_group_egress_rule(ctx: Context, req: ModifyRuleRequest) -> Body:
    return _modify(ctx, req, EGRESS)


# ---------------------------------------------------------------- DescribeSecurityGroupAttribute


class DescribeSecurityGroupAttributeRequest(Request):
    region_id: str
    security_group_id: str
    direction: str = ""
    nic_type: str = ""
    attribute: str = ""
    max_results: int | None = None
    next_token: str = ""


def _direction_filter(value: str) -> str | None:
    direction = (value or "all").strip().lower()
    if direction not in ("all", INGRESS, EGRESS):
        raise invalid_parameter("Direction", "It must be ingress, egress or all.")
    return None if direction == "all" else direction


def _nic_filter(value: str, vpc: bool) -> str | None:
    """Rules of one NIC type; VPC groups have intranet rules only, so the filter changes nothing there."""
    nic = value.strip().lower()
    if nic not in ("", "intranet", "internet"):
        raise ApiError("InvalidNicType.ValueNotSupported", "The specified NicType does not exist.")
    return None if vpc or not nic else nic


@operation(ECS, "DescribeSecurityGroupAttribute", DescribeSecurityGroupAttributeRequest, resources=group_arn)
def describe_security_group_attribute(ctx: Context, req: DescribeSecurityGroupAttributeRequest) -> Body:
    direction = _direction_filter(req.direction)
    if req.attribute and req.attribute != "snapshotPolicyIds":
        raise ApiError("InvalidParameter.AttributeNotSupported", "The specified Attribute is not supported.")
    limit = clamp_max_results(req.max_results, 10, 1000, 500)
    offset = decode_token(req.next_token)
    group = load_group(ctx, req.security_group_id)
    nic = _nic_filter(req.nic_type, bool(group.vpc_id))
    rows = [
        row
        for row in store.group_rules(ctx.conn, group.id)
        if (direction is None or row.direction == direction) and (nic is None or row.nic_type == nic)
    ]
    page = rows[offset : offset + limit]
    names = store.group_names(ctx.conn, ctx.account_id, (r.peer_group_id for r in page if r.peer_group_id))
    lists = store.prefix_list_names(
        ctx.conn, ctx.account_id, (r.peer_prefix_list_id for r in page if r.peer_prefix_list_id)
    )
    body: Body = {
        "RegionId": group.region_id,
        "SecurityGroupId": group.id,
        "SecurityGroupName": group.name,
        "Description": group.description,
        "VpcId": group.vpc_id,
        "InnerAccessPolicy": group.inner_access_policy,
        "NextToken": encode_token(offset + limit) if offset + limit < len(rows) else "",
        "Permissions": {"Permission": [render_rule(row, names, lists) for row in page]},
    }
    if req.attribute:
        body["SnapshotPolicyIds"] = {"SnapshotPolicyId": []}
    return body
