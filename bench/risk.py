"""Risk-snapshot benchmark: ``store.risk.take_snapshot`` over 100,000 security groups (1,000,000 rules)
on PostgreSQL, against a bare streaming read of the same rules in the same run.

A throw-away database (``_common.postgres_database``) is brought to the current schema, then filled with
COPY — not through the API — with ``--groups`` groups of ``--rules`` rules each (one in 500 groups gets
55, to exercise TooManyRules), spread over 10 accounts and 2 regions, some prefix lists, and a tag
``secplane:internal=true`` on 10% of the database and application groups. The rules (``--mix``):

  realistic  groups built from roles: web (80/443 from anywhere, SSH from an office range), app (8080
             from the web group), database (3306 from a private range; 5% of them from anywhere),
             bastion (SSH from anywhere), and padding rules drawn from common ports, private and public
             CIDRs (10% 0.0.0.0/0, 5% IPv6), priorities 1..100, 15% Drop, 20% egress, some "drop all"
             rules at priority 100
  random     bench/engine.py's generator: uniform priorities, CIDRs from /0 to /32 (1 in 8 is /0), 20%
             Drop — every group full of overlaps, the engine probing most rules: a worst case

Then, timed, each in a fresh read transaction:

  read       the rules streamed in batches of 1,000 groups, as ``canonical Rule`` objects, nothing else
  snapshot   ``take_snapshot``: the same read, ``domain.risk.analyze`` per group, findings written
  top 50     the 50 riskiest groups of one account and region from the snapshot (what
             DescribeRiskySecurityGroups reads)

Printed: wall time, this process's CPU and PostgreSQL's (its backends, from /proc), the snapshot as a
multiple of the bare read, peak memory of this process (the snapshot streams: it must not grow with the
number of rules), and the findings by code. Goal (issue 4): the snapshot in at most 30 s.

    .venv/bin/python bench/risk.py [--quick] [--groups N] [--rules N] [--mix realistic|random]
                                   [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/NAME]
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for bench/engine

from _common import postgres_backends_cpu, postgres_database
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.engine import _rule as random_rule
from secplane.domain.risk import INTERNAL_TAG
from secplane.domain.sg_rules import Rule
from secplane.store import risk
from secplane.store.db import Database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"
GOAL_SECONDS = 30.0
ACCOUNTS = [f"1{n:015d}" for n in range(10)]
REGIONS = ["cn-hangzhou", "cn-shanghai"]
PORTS = [22, 80, 443, 3306, 3389, 5432, 6379, 8080, 8443, 9000, 53, 123, 25, 21, 445, 27017, 9200]
RULE_COLUMNS = (
    "id", "security_group_id", "direction", "policy", "priority", "ip_protocol", "port_range",
    "source_port_range", "nic_type", "peer_cidr", "peer_group_id", "peer_group_owner", "peer_prefix_list_id",
    "local_cidr", "description", "content_key", "created_at",
)  # fmt: skip
GROUP_COLUMNS = (
    "id", "account_id", "region_id", "vpc_id", "name", "description", "group_type", "inner_access_policy",
    "resource_group_id", "service_managed", "service_id", "created_at", "revision",
)  # fmt: skip


# ---------------------------------------------------------------- the fixture


def _rule(
    direction: str, protocol: str, ports: str, peer: str, priority: int = 1, policy: str = "Accept"
) -> Rule:
    fields: dict[str, str] = {}
    if peer.startswith("sg-"):
        fields["peer_group_id"] = peer
    elif peer.startswith("pl-"):
        fields["peer_prefix_list_id"] = peer
    else:
        fields["peer_cidr"] = peer
    return Rule(
        direction=direction, policy=policy, priority=priority, ip_protocol=protocol, port_range=ports,
        source_port_range="", nic_type="intranet", description="bench", **fields,
    )  # fmt: skip


def _cidr(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.10:
        return "0.0.0.0/0"
    if roll < 0.15:
        return rng.choice(["::/0", "2001:db8::/32", f"2001:db8:{rng.randrange(65536):x}::/48"])
    if roll < 0.75:
        prefix = rng.choice([8, 16, 24, 32])
        base = rng.choice([(10, rng.randrange(256)), (172, 16 + rng.randrange(16)), (192, 168)])
        octets = [*base, rng.randrange(256), rng.randrange(256)]
        value = int.from_bytes(bytes(octets), "big") & ~((1 << (32 - prefix)) - 1)
        text_ = ".".join(str(b) for b in value.to_bytes(4, "big"))
        return text_ if prefix == 32 else f"{text_}/{prefix}"
    octets = [rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(256)]
    prefix = rng.choice([24, 28, 32])
    value = int.from_bytes(bytes(octets), "big") & ~((1 << (32 - prefix)) - 1)
    text_ = ".".join(str(b) for b in value.to_bytes(4, "big"))
    return text_ if prefix == 32 else f"{text_}/{prefix}"


def _padding(rng: random.Random, peers: list[str]) -> Rule:
    direction = "egress" if rng.random() < 0.2 else "ingress"
    if rng.random() < 0.03:
        return _rule(direction, "ALL", "-1/-1", "0.0.0.0/0", 100, "Drop")
    protocol = rng.choices(["TCP", "UDP", "ICMP", "ALL"], [75, 12, 8, 5])[0]
    peer = rng.choice(peers) if rng.random() < 0.05 else _cidr(rng)
    if protocol == "ICMP" and ":" in peer:
        protocol = "ICMPv6"
    low = rng.choice(PORTS)
    high = low if rng.random() < 0.85 else min(65535, low + rng.choice([10, 100, 1000]))
    ports = f"{low}/{high}" if protocol in ("TCP", "UDP") else "-1/-1"
    priority = rng.choice([1, 1, 1, 5, 10, 50, 100, rng.randint(1, 100)])
    return _rule(direction, protocol, ports, peer, priority, "Drop" if rng.random() < 0.15 else "Accept")


def _realistic(rng: random.Random, count: int, peers: list[str]) -> tuple[list[Rule], bool]:
    role = rng.choices(["web", "app", "db", "bastion", "misc"], [30, 30, 20, 5, 15])[0]
    office = f"203.0.{rng.randrange(113, 114)}.0/24"
    base: list[Rule] = []
    if role == "web":
        base = [
            _rule("ingress", "TCP", "80/80", "0.0.0.0/0"),
            _rule("ingress", "TCP", "443/443", "0.0.0.0/0"),
            _rule("ingress", "TCP", "22/22", office),
            _rule("ingress", "ICMP", "-1/-1", "0.0.0.0/0"),
        ]
    elif role == "app":
        base = [
            _rule("ingress", "TCP", "8080/8080", rng.choice(peers)),
            _rule("ingress", "TCP", "22/22", office),
        ]
    elif role == "db":
        subnet = f"10.{rng.randrange(256)}.0.0/16"
        base = [
            _rule("ingress", "TCP", "3306/3306", "0.0.0.0/0" if rng.random() < 0.05 else subnet),
            _rule("ingress", "TCP", "22/22", f"10.{rng.randrange(256)}.1.5"),
            _rule("egress", "ALL", "-1/-1", "0.0.0.0/0", 100, "Drop"),
        ]
    elif role == "bastion":
        base = [_rule("ingress", "TCP", "22/22", "0.0.0.0/0"), _rule("egress", "ALL", "-1/-1", "0.0.0.0/0")]
    internal = role in ("app", "db") and rng.random() < 0.10
    return base + [_padding(rng, peers) for _ in range(count - len(base))], internal


def fixture(
    rng: random.Random, groups: int, rules: int, mix: str, lists: list[str]
) -> Iterator[tuple[str, str, str, list[Rule], bool]]:
    """(group id, account, region, rules, internal) for every group."""
    for n in range(groups):
        group_id = f"sg-bench{n:08d}"
        count = 55 if n % 500 == 499 else rules
        peers = [f"sg-bench{rng.randrange(groups):08d}" for _ in range(3)] + lists[:2]
        if mix == "random":
            made = [random_rule(rng, peers) for _ in range(count)]
            internal = rng.random() < 0.05
        else:
            made, internal = _realistic(rng, count, peers)
        yield group_id, ACCOUNTS[n % len(ACCOUNTS)], REGIONS[n % len(REGIONS)], made, internal


def load(url: str, groups: int, rules: int, mix: str, seed: int) -> tuple[int, float]:
    """COPY the fixture in, 10,000 groups at a time; (rules loaded, seconds)."""
    import psycopg

    started = time.perf_counter()
    rng = random.Random(seed)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    lists = [f"pl-bench{n}" for n in range(20)]
    total = 0
    now = time.time()
    with psycopg.connect(libpq) as conn, conn.cursor() as cur:
        with cur.copy("COPY accounts (id, alias, created_at) FROM STDIN") as copy:
            for account in ACCOUNTS:
                copy.write_row((account, "", now))
        names = "id, account_id, region_id, name, address_family, max_entries, resource_group_id, created_at"
        with cur.copy(f"COPY prefix_lists ({names}) FROM STDIN") as copy:
            for n, list_id in enumerate(lists):
                copy.write_row((list_id, ACCOUNTS[0], REGIONS[0], list_id, "IPv4", 20, "rg-bench", now + n))
        with cur.copy("COPY prefix_list_entries (prefix_list_id, cidr) FROM STDIN") as copy:
            for list_id in lists:
                for entry in {_cidr(rng) for _ in range(rng.randrange(1, 20))}:
                    if ":" not in entry:
                        copy.write_row((list_id, entry))
        tag_names = "account_id, region_id, resource_type, resource_id, tag_key, tag_value"
        made = fixture(rng, groups, rules, mix, lists)
        while chunk := list(itertools.islice(made, 10_000)):
            with cur.copy(f"COPY security_groups ({', '.join(GROUP_COLUMNS)}) FROM STDIN") as copy:
                for group_id, account, region, _, _ in chunk:
                    copy.write_row(
                        (group_id, account, region, "vpc-bench", group_id, "", "normal", "Accept", "rg-bench",
                         False, 0, now, 0)
                    )  # fmt: skip
            with cur.copy(f"COPY tags ({tag_names}) FROM STDIN") as copy:
                for group_id, account, region, _, internal in chunk:
                    if internal:
                        copy.write_row((account, region, "securitygroup", group_id, INTERNAL_TAG, "true"))
            with cur.copy(f"COPY sg_rules ({', '.join(RULE_COLUMNS)}) FROM STDIN") as copy:
                for group_id, _, _, group_rules, _ in chunk:
                    seen: set[str] = set()
                    for i, rule in enumerate(group_rules):
                        if rule.content_key in seen:
                            continue
                        seen.add(rule.content_key)
                        total += 1
                        copy.write_row((f"sgr-{group_id[3:]}-{i}", group_id, *_values(rule), now + i))
        conn.commit()
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return total, time.perf_counter() - started


def _values(rule: Rule) -> tuple[object, ...]:
    """The rule's columns from ``direction`` to ``content_key`` (RULE_COLUMNS[2:-1])."""
    return (
        rule.direction, rule.policy, rule.priority, rule.ip_protocol, rule.port_range, rule.source_port_range,
        rule.nic_type, rule.peer_cidr, rule.peer_group_id, rule.peer_group_owner, rule.peer_prefix_list_id,
        rule.local_cidr, rule.description, rule.content_key,
    )  # fmt: skip


# ---------------------------------------------------------------- measuring


class Clock:
    """Wall time, this process's CPU and the database backends' CPU over a block."""

    def __init__(self, database: str) -> None:
        self.database = database

    def __enter__(self) -> Clock:
        self.db = postgres_backends_cpu(self.database)
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.db = postgres_backends_cpu(self.database) - self.db

    def line(self, name: str) -> str:
        cpu = f"{self.cpu:7.2f} s CPU here   {self.db:7.2f} s CPU PostgreSQL"
        return f"{name:<10} {self.wall:8.2f} s wall   {cpu}"


def bare_read(db: Database) -> int:
    """The snapshot's read without the analysis: groups in keyset batches, their rules as Rule objects."""
    rules = 0
    with risk._reader(db) as conn:
        after = ""
        while True:
            page = text("SELECT id FROM security_groups WHERE id > :after ORDER BY id LIMIT 1000")
            ids = list(conn.execute(page, {"after": after}).scalars())
            if not ids:
                return rules
            got, _ = risk._rules(conn, ids)
            rules += sum(len(v) for v in got.values())
            after = ids[-1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1/100 of the size: 1,000 groups")
    parser.add_argument("--groups", type=int, default=None, help="default 100,000 (1,000 with --quick)")
    parser.add_argument("--rules", type=int, default=10, help="rules per group (default 10)")
    parser.add_argument("--mix", choices=["realistic", "random"], default="realistic")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a database that exists is used and kept")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    groups = args.groups or (1_000 if args.quick else 100_000)

    from secplane.bootstrap import initialize
    from secplane.config import Settings

    with postgres_database(args.database_url) as url, tempfile.TemporaryDirectory() as data_dir:
        initialize(Settings(database_url=url, data_dir=Path(data_dir)))
        rules, load_s = load(url, groups, args.rules, args.mix, args.seed)
        database = make_url(url).database or ""
        print(
            f"risk snapshot benchmark: {groups:,} groups, {rules:,} rules ({args.mix} mix), PostgreSQL "
            f"database {database}; loaded with COPY in {load_s:.1f} s"
        )
        db = Database(url, pool_size=2)
        try:
            with Clock(database) as read:
                read_rules = bare_read(db)
            peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            with Clock(database) as snap:
                run = risk.take_snapshot(db, taken_by="bench")
            peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            with Clock(database) as top, db.read() as conn:
                total, page = risk.snapshot_groups(
                    conn, run.id, account_id=ACCOUNTS[0], region_id=REGIONS[0], limit=50
                )
            with db.read() as conn:
                by_code = text("SELECT code, count(*) FROM risk_findings GROUP BY code")
                codes: Counter[str] = Counter({code: n for code, n in conn.execute(by_code)})
        finally:
            db.dispose()
    assert read_rules == rules == run.rules, (read_rules, rules, run.rules)
    print()
    print(read.line("read"))
    print(snap.line("snapshot"))
    print(top.line("top 50") + f"   ({len(page)} of {total:,} risky groups of one account and region)")
    print()
    print(
        f"snapshot: {run.groups:,} groups, {run.rules:,} rules, {run.findings:,} findings; "
        f"{run.rules / snap.wall:,.0f} rules/s; {snap.wall / read.wall:.1f}x the bare read's wall time, "
        f"{snap.cpu / max(read.cpu, 1e-9):.1f}x its CPU here"
    )
    print(
        f"peak memory of this process: {peak_before / 1024:.0f} MiB before the snapshot, "
        f"{peak_after / 1024:.0f} MiB after"
    )
    print("findings: " + ", ".join(f"{code} {n:,}" for code, n in sorted(codes.items())))
    scale = 100_000 / groups
    met = snap.wall <= GOAL_SECONDS if groups >= 100_000 else snap.wall * scale <= GOAL_SECONDS
    note = "" if groups >= 100_000 else f" (extrapolated x{scale:.0f}: {snap.wall * scale:.1f} s)"
    verdict = "MET" if met else "NOT MET"
    print(f"goal: snapshot of 100,000 groups <= {GOAL_SECONDS:.0f} s   {verdict}   {snap.wall:.1f} s{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
