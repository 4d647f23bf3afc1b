"""What the decision engine needs about one ENI, read with few queries, and its compiled form kept until a
revision it was built from changes.

A compiled form depends on the ENI's groups (rules, type, intra-group policy), on the groups its rules
name (their members) and on the prefix lists they use (their entries). Every change to those bumps a
revision (``security_groups.revision`` for rules, policy and members; ``prefix_lists.revision`` for
entries), so a cached form is reused while the revisions are the ones it was built from:

  warm: 2 queries (the ENI with its groups' revisions; the referenced groups' and lists' revisions)
  cold: 4 or 5 queries (those two, the rules, the members, and the entries when a rule uses a prefix list)

Revisions are always read *before* the content they cover, so a form can be keyed older than its
content (then rebuilt once more, harmlessly) but never newer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, literal, select, union_all

from secplane.domain.engine import CompiledTarget, GroupInput, TargetInput, compile_target
from secplane.domain.sg_rules import Rule
from secplane.store.schema import (
    instances,
    network_interfaces,
    prefix_list_entries,
    prefix_lists,
    security_groups,
    sg_members,
    sg_rules,
)
from secplane.store.security_groups import rule_from_row

PRIMARY = "Primary"


@dataclass(frozen=True, slots=True)
class Group:
    group_id: str
    group_type: str
    inner_access_policy: str
    revision: int


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An ENI as the engine sees it: its addresses and its groups in join order."""

    eni_id: str
    instance_id: str  # "" for an ENI attached to no instance
    vpc_id: str  # "" on the classic network
    private_ip: str
    public_ip: str  # the instance's, "" when it has none
    groups: tuple[Group, ...]

    @property
    def group_ids(self) -> frozenset[str]:
        return frozenset(g.group_id for g in self.groups)

    @property
    def classic(self) -> bool:
        return not self.vpc_id


def endpoint_of_instance(
    conn: Connection, account_id: str, region_id: str, instance_id: str
) -> Endpoint | None:
    """The primary ENI of the account's instance in the region, or None."""
    eni = network_interfaces.c
    return _endpoint(
        conn,
        account_id,
        region_id,
        (eni.instance_id == instance_id, eni.eni_type == PRIMARY),
    )


def endpoint_of_eni(conn: Connection, account_id: str, region_id: str, eni_id: str) -> Endpoint | None:
    """The account's ENI in the region, or None. Classic ENIs are internal: found by instance only."""
    eni = network_interfaces.c
    return _endpoint(conn, account_id, region_id, (eni.id == eni_id, eni.vpc_id != ""))


def _endpoint(
    conn: Connection, account_id: str, region_id: str, where: Sequence[ColumnElement[bool]]
) -> Endpoint | None:
    """One query: the ENI, its instance's public address and its groups with their revisions."""
    eni, sg, member = network_interfaces.c, security_groups.c, sg_members.c
    rows = conn.execute(
        select(
            eni.id,
            eni.instance_id,
            eni.vpc_id,
            eni.private_ip,
            instances.c.public_ip,
            sg.id.label("group_id"),
            sg.group_type,
            sg.inner_access_policy,
            sg.revision,
        )
        .select_from(
            network_interfaces.outerjoin(instances, instances.c.id == eni.instance_id)
            .join(sg_members, member.network_interface_id == eni.id)
            .join(security_groups, sg.id == member.security_group_id)
        )
        .where(eni.account_id == account_id, eni.region_id == region_id, *where)
        .order_by(member.created_at, member.security_group_id)
    ).all()
    if not rows:
        return None
    first = rows[0]
    groups = tuple(Group(r.group_id, r.group_type, r.inner_access_policy, int(r.revision)) for r in rows)
    return Endpoint(
        first.id, first.instance_id, first.vpc_id, first.private_ip, first.public_ip or "", groups
    )


# ---------------------------------------------------------------- compiled forms


@dataclass(frozen=True, slots=True)
class _Entry:
    groups: tuple[Group, ...]  # the ENI's own, with their revisions
    referenced: tuple[str, ...]  # groups the rules name (members) and own groups
    lists: tuple[str, ...]  # prefix lists the rules use
    revisions: dict[tuple[str, str], int]  # ("g"|"p", id) -> revision, of referenced and lists
    compiled: CompiledTarget


class EngineCache:
    """Compiled forms per ENI (least recently used beyond ``size``); safe to share between threads.

    Each server process keeps its own; they stay coherent because every lookup checks the revisions
    in the shared database.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.compiles = 0  # how many forms were built (tests and metrics read it)

    def get(self, eni_id: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(eni_id)
            if entry is not None:
                self._entries.move_to_end(eni_id)
            return entry

    def put(self, eni_id: str, entry: _Entry) -> None:
        with self._lock:
            self.compiles += 1
            self._entries[eni_id] = entry
            self._entries.move_to_end(eni_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def compiled_for(conn: Connection, endpoint: Endpoint, cache: EngineCache) -> CompiledTarget:
    """The ENI's compiled form: the cached one while its revisions hold, else built and cached."""
    entry = cache.get(endpoint.eni_id)
    if (
        entry is not None
        and entry.groups == endpoint.groups
        and _revisions(conn, entry.referenced, entry.lists) == entry.revisions
    ):
        return entry.compiled
    entry = _build(conn, endpoint)
    cache.put(endpoint.eni_id, entry)
    return entry.compiled


def load_input(conn: Connection, endpoint: Endpoint) -> TargetInput:
    """The engine's input for the ENI, uncached (the risk report and tests use it directly)."""
    return _load(conn, endpoint)[0]


def _build(conn: Connection, endpoint: Endpoint) -> _Entry:
    target, referenced, lists, revisions = _load(conn, endpoint)
    return _Entry(endpoint.groups, referenced, lists, revisions, compile_target(target))


def _load(
    conn: Connection, endpoint: Endpoint
) -> tuple[TargetInput, tuple[str, ...], tuple[str, ...], dict[tuple[str, str], int]]:
    own = [g.group_id for g in endpoint.groups]
    rules: dict[str, list[tuple[str, Rule]]] = {g: [] for g in own}
    rows = conn.execute(
        select(sg_rules)
        .where(sg_rules.c.security_group_id.in_(own))
        .order_by(sg_rules.c.created_at, sg_rules.c.id)
    )
    named_groups: set[str] = set()
    named_lists: set[str] = set()
    for row in rows:
        rule = rule_from_row(row)
        rules[row.security_group_id].append((row.id, rule))
        if rule.peer_group_id and not rule.peer_cidr:
            named_groups.add(rule.peer_group_id)
        elif rule.peer_prefix_list_id and not rule.peer_cidr and not rule.peer_group_id:
            named_lists.add(rule.peer_prefix_list_id)
    referenced = tuple(sorted(named_groups | set(own)))
    lists = tuple(sorted(named_lists))
    revisions = _revisions(conn, referenced, lists)  # before the members and entries they cover
    groups = [
        GroupInput(g.group_id, g.group_type, g.inner_access_policy, rules[g.group_id])
        for g in endpoint.groups
    ]
    target = TargetInput(groups, _entries(conn, lists), _members(conn, referenced))
    return target, referenced, lists, revisions


def _revisions(
    conn: Connection, group_ids: Sequence[str], list_ids: Sequence[str]
) -> dict[tuple[str, str], int]:
    """Current revisions of the groups and prefix lists, in one query (a deleted one is absent)."""
    parts = []
    if group_ids:
        parts.append(
            select(literal("g").label("kind"), security_groups.c.id, security_groups.c.revision).where(
                security_groups.c.id.in_(list(group_ids))
            )
        )
    if list_ids:
        parts.append(
            select(literal("p").label("kind"), prefix_lists.c.id, prefix_lists.c.revision).where(
                prefix_lists.c.id.in_(list(list_ids))
            )
        )
    if not parts:
        return {}
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    return {(kind, ident): int(revision) for kind, ident, revision in conn.execute(query)}


def _members(conn: Connection, group_ids: Iterable[str]) -> dict[str, list[str]]:
    """Private addresses of the member ENIs of each group."""
    wanted = list(group_ids)
    out: dict[str, list[str]] = {g: [] for g in wanted}
    if wanted:
        rows = conn.execute(
            select(sg_members.c.security_group_id, network_interfaces.c.private_ip)
            .select_from(
                sg_members.join(
                    network_interfaces, network_interfaces.c.id == sg_members.c.network_interface_id
                )
            )
            .where(sg_members.c.security_group_id.in_(wanted))
        )
        for group_id, address in rows:
            if address:
                out[group_id].append(address)
    return out


def _entries(conn: Connection, list_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {p: [] for p in list_ids}
    if list_ids:
        rows = conn.execute(
            select(prefix_list_entries.c.prefix_list_id, prefix_list_entries.c.cidr).where(
                prefix_list_entries.c.prefix_list_id.in_(list(list_ids))
            )
        )
        for list_id, cidr in rows:
            out[list_id].append(cidr)
    return out
