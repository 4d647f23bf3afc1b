"""Risk findings from the store (SPEC SG-18): computed live for a few groups, or taken as a snapshot of
every group of the installation, and read back from the latest snapshot.

A snapshot streams: groups are read in batches in id order (keyset), each batch's rules, tags and
prefix-list entries with one query each, inside one read transaction (REPEATABLE READ on PostgreSQL,
so the whole run sees one moment); findings are written in batches by a second connection. Nothing
holds more than a batch. The run becomes visible when it is marked ``done``; a later run of the same day
replaces it, and runs older than ``RETENTION_DAYS`` are pruned.

Which server process takes the day's scheduled snapshot is decided by the database (``claim_day``):
the first insert of the day's ``risk_days`` row wins; a claim left behind by a process that died is
taken over after ``STALE_CLAIM`` seconds.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, or_, select, update

from secplane.domain.risk import (
    INFO,
    INTERNAL_TAG,
    RANK,
    SERIOUS,
    WARNING,
    Code,
    Finding,
    GroupRules,
    analyze,
    is_internal,
)
from secplane.domain.sg_rules import Rule
from secplane.store.db import Database
from secplane.store.schema import (
    prefix_list_entries,
    risk_days,
    risk_findings,
    risk_groups,
    risk_runs,
    security_groups,
    sg_rules,
    tags,
)

BATCH = 1000  # groups read per batch
FLUSH = 5000  # findings written per transaction
RETENTION_DAYS = 30
STALE_CLAIM = 2 * 3600.0
RUNNING, DONE, FAILED = "running", "done", "failed"


def today(now: float | None = None) -> str:
    """The UTC day of ``now`` as YYYY-MM-DD: snapshots are named by it."""
    return datetime.fromtimestamp(time.time() if now is None else now, UTC).date().isoformat()


def parse_day(text: str) -> str:
    """``text`` as YYYY-MM-DD; ValueError when it is not a date."""
    return date.fromisoformat(text.strip()).isoformat()


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    day: str
    status: str
    taken_by: str
    started_at: float
    finished_at: float | None
    groups: int
    rules: int
    findings: int


@dataclass(frozen=True, slots=True)
class GroupRisk:
    """One group's findings (the worst first) and counts per level."""

    group_id: str
    account_id: str
    region_id: str
    rules: int
    findings: tuple[Finding, ...]
    serious: int = 0
    warning: int = 0
    info: int = 0

    @property
    def level(self) -> str:
        return SERIOUS if self.serious else WARNING if self.warning else INFO

    @property
    def rank(self) -> int:
        """Riskiest first: the worst level, then the number of serious, warning and info findings."""
        return rank_of(RANK[self.level], self.serious, self.warning, self.info)


def rank_of(level: int, serious: int, warning: int, info: int) -> int:
    cap = 99_999
    return level * 10**15 + min(serious, cap) * 10**10 + min(warning, cap) * 10**5 + min(info, cap)


def _group_risk(
    group_id: str, account_id: str, region_id: str, rules: int, found: Sequence[Finding]
) -> GroupRisk:
    counts = {SERIOUS: 0, WARNING: 0, INFO: 0}
    for f in found:
        counts[f.level] += 1
    return GroupRisk(
        group_id, account_id, region_id, rules, tuple(found), counts[SERIOUS], counts[WARNING], counts[INFO]
    )


# ---------------------------------------------------------------- analysis from the store


def analyzed(
    conn: Connection, *, account_id: str | None = None, region_id: str | None = None,
    group_ids: Sequence[str] | None = None, batch: int = BATCH,
) -> Iterator[GroupRisk]:  # fmt: skip
    """Every group (of the account and region, when given) with its findings, in id order, read in
    batches of ``batch`` groups."""
    sg = security_groups.c
    where = _scope((sg.account_id, sg.region_id, sg.id), account_id, region_id, group_ids)
    after = ""
    while True:
        groups = conn.execute(
            select(sg.id, sg.account_id, sg.region_id, sg.group_type, sg.vpc_id)
            .where(*where, sg.id > after)
            .order_by(sg.id)
            .limit(batch)
        ).all()
        if not groups:
            return
        ids = [g.id for g in groups]
        rules, lists = _rules(conn, ids)
        internal = _internal(conn, ids)
        entries = _entries(conn, lists)
        for g in groups:
            own = rules.get(g.id, [])
            group = GroupRules(g.id, own, g.group_type, g.id in internal, classic=not g.vpc_id)
            yield _group_risk(g.id, g.account_id, g.region_id, len(own), analyze(group, entries))
        after = ids[-1]


# The rule's fields in ``Rule``'s own order: a row builds the canonical rule positionally, which costs a
# third of building it by name (the snapshot builds a million).
_RULE_FIELDS = tuple(sg_rules.c[name] for name in Rule._fields)


def _scope(
    columns: tuple[ColumnElement[str], ColumnElement[str], ColumnElement[str]], account_id: str | None,
    region_id: str | None, group_ids: Sequence[str] | None,
) -> list[ColumnElement[bool]]:  # fmt: skip
    """Conditions on (account, region, group id) columns for the values given (None: any)."""
    account, region, group = columns
    where = []
    if account_id is not None:
        where.append(account == account_id)
    if region_id is not None:
        where.append(region == region_id)
    if group_ids is not None:
        where.append(group.in_(list(group_ids)))
    return where


def _rules(conn: Connection, group_ids: list[str]) -> tuple[dict[str, list[tuple[str, Rule]]], set[str]]:
    """The groups' rules, oldest first (the engine's tie-break), and the prefix lists they use."""
    rules: dict[str, list[tuple[str, Rule]]] = defaultdict(list)
    lists: set[str] = set()
    r = sg_rules.c
    rows = conn.execute(
        select(r.id, r.security_group_id, *_RULE_FIELDS)
        .where(r.security_group_id.in_(group_ids))
        .order_by(r.security_group_id, r.created_at, r.id)
    ).all()
    for row in rows:
        rule = Rule(*row[2:])
        rules[row[1]].append((row[0], rule))
        if rule.peer_prefix_list_id and not rule.peer_cidr and not rule.peer_group_id:
            lists.add(rule.peer_prefix_list_id)
    return rules, lists


def _internal(conn: Connection, group_ids: list[str]) -> set[str]:
    t = tags.c
    rows = conn.execute(
        select(t.resource_id, t.tag_value).where(
            t.resource_type == "securitygroup", t.tag_key == INTERNAL_TAG, t.resource_id.in_(group_ids)
        )
    )
    return {resource_id for resource_id, value in rows if is_internal(value)}


def _entries(conn: Connection, list_ids: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    if list_ids:
        e = prefix_list_entries.c
        for list_id, cidr in conn.execute(
            select(e.prefix_list_id, e.cidr).where(e.prefix_list_id.in_(list_ids))
        ):
            out[list_id].append(cidr)
    return out


def live(
    conn: Connection, account_id: str, region_id: str, group_ids: Sequence[str] | None, min_level: str,
    offset: int, limit: int,
) -> tuple[int, list[GroupRisk]]:  # fmt: skip
    """The account's groups in the region with findings at ``min_level`` or worse, riskiest first,
    computed from the rules as they are now: (how many, one page)."""
    found = []
    for g in analyzed(conn, account_id=account_id, region_id=region_id, group_ids=group_ids):
        kept = _at_least(g, min_level)
        if kept is not None:
            found.append(kept)
    found.sort(key=lambda g: (-g.rank, g.group_id))
    return len(found), found[offset : offset + limit]


def _at_least(g: GroupRisk, min_level: str) -> GroupRisk | None:
    """``g`` with only the findings at ``min_level`` or worse; None when none is left."""
    kept = tuple(f for f in g.findings if RANK[f.level] >= RANK[min_level])
    if not kept:
        return None
    return GroupRisk(g.group_id, g.account_id, g.region_id, g.rules, kept, g.serious, g.warning, g.info)


# ---------------------------------------------------------------- taking a snapshot


def new_run_id() -> str:
    return uuid.uuid4().hex


def take_snapshot(
    db: Database, day: str | None = None, *, run_id: str | None = None, taken_by: str = "",
    batch: int = BATCH, retention_days: int = RETENTION_DAYS,
) -> Run:  # fmt: skip
    """Compute every group's findings now and keep them as the snapshot of ``day`` (default today, UTC).
    An earlier run of the same day is replaced once this one is done."""
    day = parse_day(day) if day else today()
    run_id = run_id or new_run_id()
    started = time.time()
    with db.write() as conn:
        conn.execute(
            insert(risk_runs).values(
                id=run_id, day=day, status=RUNNING, taken_by=taken_by[:128], started_at=started
            )
        )
    groups = rules = findings = 0
    try:
        pending_groups: list[dict[str, Any]] = []
        pending_findings: list[dict[str, Any]] = []
        with _reader(db) as conn:
            for g in analyzed(conn, batch=batch):
                groups += 1
                rules += g.rules
                if not g.findings:
                    continue
                findings += len(g.findings)
                pending_groups.append(_group_row(run_id, g))
                pending_findings.extend(
                    _finding_row(run_id, g.group_id, i, f) for i, f in enumerate(g.findings)
                )
                if len(pending_findings) >= FLUSH:
                    _write(db, pending_groups, pending_findings)
        _write(db, pending_groups, pending_findings)
        finished = time.time()
        with db.write() as conn:
            conn.execute(
                update(risk_runs)
                .where(risk_runs.c.id == run_id)
                .values(status=DONE, finished_at=finished, groups=groups, rules=rules, findings=findings)
            )
    except BaseException:
        with db.write() as conn:
            conn.execute(update(risk_runs).where(risk_runs.c.id == run_id).values(status=FAILED))
        raise
    prune(db, day, retention_days)
    return Run(run_id, day, DONE, taken_by, started, finished, groups, rules, findings)


@contextmanager
def _reader(db: Database) -> Iterator[Connection]:
    """One read transaction for the whole run: on PostgreSQL REPEATABLE READ, one moment's rules."""
    with db.read_engine.connect() as conn:
        if not db.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _write(db: Database, groups: list[dict[str, Any]], findings: list[dict[str, Any]]) -> None:
    """Insert the pending rows in one transaction (COPY on PostgreSQL) and empty the lists."""
    if not groups and not findings:
        return
    with db.write() as conn:
        for table, rows in ((risk_groups, groups), (risk_findings, findings)):
            if not rows:
                continue
            if db.is_sqlite:
                conn.execute(insert(table), rows)
                continue
            names = [c.name for c in table.columns]
            raw = conn.connection.driver_connection
            assert raw is not None
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row([row[n] for n in names])
    groups.clear()
    findings.clear()


def _group_row(run_id: str, g: GroupRisk) -> dict[str, Any]:
    return {
        "run_id": run_id, "security_group_id": g.group_id, "account_id": g.account_id,
        "region_id": g.region_id, "level": RANK[g.level], "serious": g.serious, "warning": g.warning,
        "info": g.info, "rules": g.rules, "rank": g.rank,
    }  # fmt: skip


def _finding_row(run_id: str, group_id: str, seq: int, f: Finding) -> dict[str, Any]:
    r = f.rule
    return {
        "run_id": run_id, "security_group_id": group_id, "seq": seq, "level": RANK[f.level],
        "code": str(f.code), "rule_id": f.rule_id,
        "direction": r.direction if r else "", "policy": r.policy if r else "",
        "priority": r.priority if r else 0, "ip_protocol": r.ip_protocol if r else "",
        "port_range": r.port_range if r else "", "nic_type": r.nic_type if r else "",
        "peer_cidr": r.peer_cidr if r else "", "peer_group_id": r.peer_group_id if r else "",
        "peer_prefix_list_id": r.peer_prefix_list_id if r else "",
        "ports": ",".join(map(str, f.ports)), "related": ",".join(f.related), "rules": f.count,
    }  # fmt: skip


def prune(db: Database, day: str, retention_days: int = RETENTION_DAYS) -> None:
    """Delete the runs of ``day`` but its newest finished one, failed runs, and runs older than the
    retention. (Two runs of a day finishing together both keep the same one: the newest.)"""
    cutoff = (date.fromisoformat(day) - timedelta(days=retention_days)).isoformat()
    runs = risk_runs.c
    with db.write() as conn:
        newest = conn.execute(
            select(runs.id)
            .where(runs.day == day, runs.status == DONE)
            .order_by(runs.finished_at.desc(), runs.id.desc())
            .limit(1)
        ).scalar()
        replaced = (runs.day == day) & (runs.status == DONE) & (runs.id != newest)
        old = list(
            conn.execute(
                select(runs.id).where(or_(runs.day < cutoff, runs.status == FAILED, replaced))
            ).scalars()
        )
        if old:
            conn.execute(delete(risk_findings).where(risk_findings.c.run_id.in_(old)))
            conn.execute(delete(risk_groups).where(risk_groups.c.run_id.in_(old)))
            conn.execute(delete(risk_runs).where(runs.id.in_(old)))
        conn.execute(delete(risk_days).where(risk_days.c.day < cutoff))


# ---------------------------------------------------------------- the day's scheduled snapshot


def claim_day(db: Database, day: str, now: float | None = None) -> str | None:
    """A run id to take ``day``'s scheduled snapshot with, or None: the day has a finished snapshot, or
    another process holds the claim (a claim older than ``STALE_CLAIM`` is taken over)."""
    now = time.time() if now is None else now
    run_id = new_run_id()
    with db.write() as conn:
        done = select(risk_runs.c.id).where(risk_runs.c.day == day, risk_runs.c.status == DONE).limit(1)
        if conn.execute(done).first() is not None:
            return None
        if db.insert_ignore(conn, risk_days, day=day, run_id=run_id, claimed_at=now):
            return run_id
        claim = conn.execute(select(risk_days).where(risk_days.c.day == day)).one()
        if claim.claimed_at > now - STALE_CLAIM:
            return None
        taken = conn.execute(
            update(risk_days)
            .where(risk_days.c.day == day, risk_days.c.run_id == claim.run_id)
            .values(run_id=run_id, claimed_at=now)
        ).rowcount
        return run_id if taken == 1 else None


def take_daily(db: Database, day: str | None = None, taken_by: str = "") -> Run | None:
    """The day's scheduled snapshot, when no other process has taken or is taking it. On failure the
    claim is released, so that the next check tries again."""
    day = day or today()
    run_id = claim_day(db, day)
    if run_id is None:
        return None
    try:
        return take_snapshot(db, day, run_id=run_id, taken_by=taken_by)
    except BaseException:
        with db.write() as conn:
            conn.execute(delete(risk_days).where(risk_days.c.day == day, risk_days.c.run_id == run_id))
        raise


# ---------------------------------------------------------------- reading snapshots


def find_run(conn: Connection, *, day: str | None = None, before: str | None = None) -> Run | None:
    """The latest finished run: of ``day``, or of a day before ``before``, or of any day."""
    runs = risk_runs.c
    stmt = select(risk_runs).where(runs.status == DONE)
    if day is not None:
        stmt = stmt.where(runs.day == day)
    if before is not None:
        stmt = stmt.where(runs.day < before)
    row = conn.execute(stmt.order_by(runs.day.desc(), runs.finished_at.desc()).limit(1)).first()
    if row is None:
        return None
    return Run(
        row.id, row.day, row.status, row.taken_by, row.started_at, row.finished_at, int(row.groups),
        int(row.rules), int(row.findings),
    )  # fmt: skip


def snapshot_groups(
    conn: Connection, run_id: str, *, account_id: str | None = None, region_id: str | None = None,
    group_ids: Sequence[str] | None = None, min_level: str = INFO, offset: int = 0, limit: int = 50,
) -> tuple[int, list[GroupRisk]]:  # fmt: skip
    """Groups of the run with findings at ``min_level`` or worse, riskiest first: (how many, one page)."""
    g = risk_groups.c
    where = _scope((g.account_id, g.region_id, g.security_group_id), account_id, region_id, group_ids)
    where += [g.run_id == run_id, g.rank >= rank_of(RANK[min_level], 0, 0, 0)]
    total = int(conn.execute(select(func.count()).select_from(risk_groups).where(*where)).scalar_one())
    rows = conn.execute(
        select(risk_groups)
        .where(*where)
        .order_by(g.rank.desc(), g.security_group_id)
        .offset(offset)
        .limit(limit)
    ).all()
    found: dict[str, list[Finding]] = defaultdict(list)
    if rows:
        f = risk_findings.c
        for row in conn.execute(
            select(risk_findings)
            .where(
                f.run_id == run_id,
                f.security_group_id.in_([r.security_group_id for r in rows]),
                f.level >= RANK[min_level],
            )
            .order_by(f.security_group_id, f.seq)
        ):
            found[row.security_group_id].append(_finding(row))
    page = [
        GroupRisk(
            r.security_group_id,
            r.account_id,
            r.region_id,
            int(r.rules),
            tuple(found[r.security_group_id]),
            int(r.serious),
            int(r.warning),
            int(r.info),
        )
        for r in rows
    ]
    return total, page


def _finding(row: Any) -> Finding:
    rule = None
    if row.direction:
        rule = Rule(
            direction=row.direction, policy=row.policy, priority=int(row.priority),
            ip_protocol=row.ip_protocol, port_range=row.port_range, source_port_range="",
            nic_type=row.nic_type, peer_cidr=row.peer_cidr, peer_group_id=row.peer_group_id,
            peer_prefix_list_id=row.peer_prefix_list_id,
        )  # fmt: skip
    return Finding(
        Code(row.code), row.rule_id, rule, tuple(int(p) for p in row.ports.split(",") if p),
        tuple(r for r in row.related.split(",") if r), int(row.rules),
    )  # fmt: skip
