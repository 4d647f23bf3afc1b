"""API gateway benchmark: what a signed call costs the server, against the bare HTTP floor.

Starts a real server with ``secplane.testing.server()`` (SQLite in a fresh data dir, or ``--database-url``)
and drives it over loopback with closed-loop keep-alive clients:

  floor            GET /ping: the same uvicorn + ASGI stack, no authentication, no database
  ECS V3 / V1      DescribeRegions signed ACS3-HMAC-SHA256 (Tea SDK) / HMAC-SHA1 (legacy SDK)
  VPC V3 / V1      DescribeVpcs RegionId=cn-hangzhou, the same two ways
  ... as RAM user  DescribeRegions V3 signed by a RAM user in 3 groups with 10 policies x 10 statements
                   (wildcards, conditions): against the root's call, the end-to-end cost of authorization

Every request is signed afresh (new nonce, current timestamp), exactly as the SDKs put it on the wire.
Server CPU is utime+stime of the server's process tree from /proc. Exit status 1 when any response was
not 200 (a benchmark that measures errors is worthless). bench/README.md explains the output.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace

from _common import (
    Call,
    HttpConnection,
    LoadResult,
    RequestFactory,
    V1Signer,
    V3Signer,
    postgres_backends_cpu,
    postgres_database,
    run_load,
    wire,
)
from sqlalchemy.engine import make_url

from secplane.client import ApiClient
from secplane.testing import RunningServer, server

GOAL_MS = 0.3  # the goal: server CPU per signed call


def ping(running: RunningServer) -> RequestFactory:
    request = wire("GET /ping HTTP/1.1", {"host": running.endpoint})
    return lambda: request


# ---------------------------------------------------------------- scenarios

ECS_REGIONS = Call("DescribeRegions", "2014-05-26", {})
VPC_VPCS = Call("DescribeVpcs", "2016-04-28", {"RegionId": "cn-hangzhou"})


@dataclass(frozen=True)
class Scenario:
    name: str
    build: Callable[[RunningServer], RequestFactory]
    signed: bool = True


def ram_user(running: RunningServer) -> RunningServer:
    """The same server seen with the keys of a RAM user in 3 groups with 10 custom policies of 10
    statements each (wildcards, conditions, one conditional deny); the allowing statement is the last
    statement of the last policy, so nothing short-circuits early."""
    api = ApiClient(running.endpoint, running.access_key_id, running.access_key_secret)
    ram = "2015-05-01"
    tag = uuid.uuid4().hex[:6]
    user = f"bench-{tag}"
    api.call(ram, "CreateUser", {"UserName": user})
    owners = [("Group", f"bench-{tag}-{g}") for g in range(3)]
    for _, group in owners:
        api.call(ram, "CreateGroup", {"GroupName": group})
        api.call(ram, "AddUserToGroup", {"GroupName": group, "UserName": user})
    inside = {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}
    loopback = {"IpAddress": {"acs:SourceIp": "127.0.0.0/8"}, "Bool": {"acs:SecureTransport": "false"}}
    for n in range(10):
        statements: list[dict[str, object]] = [
            {
                "Effect": "Allow",
                "Action": [f"ecs:Describe{k}*", f"vpc:*Vpc{k}"],
                "Resource": f"acs:ecs:*:*:instance/i-{k}*",
                "Condition": inside,
            }
            for k in range(9)
        ]
        if n == 9:
            statements.append(
                {"Effect": "Allow", "Action": "ecs:DescribeRegions", "Resource": "*", "Condition": loopback}
            )
        else:
            statements.append(
                {
                    "Effect": "Deny",
                    "Action": "ecs:Delete*",
                    "Resource": "*",
                    "Condition": {"NotIpAddress": {"acs:SourceIp": "127.0.0.0/8"}},
                }
            )
        name = f"bench-{tag}-p{n}"
        document = json.dumps({"Version": "1", "Statement": statements})
        api.call(ram, "CreatePolicy", {"PolicyName": name, "PolicyDocument": document})
        kind, owner = owners[n % 3] if n < 9 else ("User", user)
        attach = {"PolicyType": "Custom", "PolicyName": name, f"{kind}Name": owner}
        api.call(ram, f"AttachPolicyTo{kind}", attach)
    key = api.call(ram, "CreateAccessKey", {"UserName": user})["AccessKey"]
    return replace(running, access_key_id=key["AccessKeyId"], access_key_secret=key["AccessKeySecret"])


SCENARIOS = (
    Scenario("floor: GET /ping", ping, signed=False),
    Scenario("ECS DescribeRegions V3", lambda s: V3Signer(s, ECS_REGIONS)),
    Scenario("... as RAM user V3", lambda s: V3Signer(ram_user(s), ECS_REGIONS)),
    Scenario("ECS DescribeRegions V1", lambda s: V1Signer(s, ECS_REGIONS)),
    Scenario("VPC DescribeVpcs V3", lambda s: V3Signer(s, VPC_VPCS)),
    Scenario("VPC DescribeVpcs V1", lambda s: V1Signer(s, VPC_VPCS)),
)


@dataclass
class Outcome:
    scenario: Scenario
    result: LoadResult | None = None
    skipped: str = ""  # why it was not measured
    failed: bool = False

    def per_request(self, cpu_seconds: float | None) -> float:
        """Milliseconds of CPU per request measured in the window."""
        r = self.result
        if r is None or not r.requests or cpu_seconds is None:
            return math.nan
        return cpu_seconds * 1000.0 / r.requests

    def cpu_ms(self) -> float:
        return self.per_request(self.result.server_cpu if self.result else None)

    def rate(self) -> float:
        r = self.result
        return r.requests / r.seconds if r and r.seconds else math.nan


def _probe(running: RunningServer, make: RequestFactory) -> tuple[int, bytes]:
    host, port = running.endpoint.rsplit(":", 1)
    conn = HttpConnection(host, int(port))
    try:
        return conn.roundtrip(make())
    finally:
        conn.close()


def measure(
    running: RunningServer,
    scenario: Scenario,
    args: argparse.Namespace,
    database_cpu: Callable[[], float] | None,
) -> Outcome:
    make = scenario.build(running)
    status, body = _probe(running, make)  # also checks our signing against the server's
    if status == 404 and b"InvalidAction.NotFound" in body:
        return Outcome(scenario, skipped="not available (server answers InvalidAction.NotFound)")
    if status != 200:
        return Outcome(scenario, skipped=f"FAILED: probe answered {status} {body[:300]!r}", failed=True)
    host, port = running.endpoint.rsplit(":", 1)
    result = run_load(
        host=host,
        port=int(port),
        make=make,
        clients=args.clients,
        processes=args.client_procs,
        warmup=args.warmup,
        seconds=args.seconds,
        server_pid=running.process.pid,
        database_cpu=database_cpu,
    )
    if running.process.poll() is not None:
        sys.exit(f"the server exited with {running.process.returncode} during {scenario.name}")
    return Outcome(scenario, result, failed=result.errors > 0)


# ---------------------------------------------------------------- report


def _f(value: float, digits: int) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


COLUMNS = (
    ("scenario", 24),
    ("requests", 9),
    ("req/s", 7),
    ("p50 ms", 7),
    ("p99 ms", 7),
    ("srv CPU ms/req", 14),
    ("srv CPU %", 9),
    ("db CPU ms/req", 13),
    ("cli CPU ms/req", 14),
    ("other CPU %", 11),
    ("non-200", 7),
)


def _row(cells: list[str]) -> str:
    first, *rest = zip(cells, COLUMNS, strict=True)
    return f"{first[0]:<{first[1][1]}}" + "".join(f" {cell:>{width}}" for cell, (_, width) in rest)


def report(outcomes: list[Outcome]) -> None:
    header = _row([name for name, _ in COLUMNS])
    print(header)
    print("-" * len(header))
    for o in outcomes:
        r = o.result
        if r is None:
            print(f"{o.scenario.name:<24} {o.skipped}")
            continue
        print(
            _row(
                [
                    o.scenario.name,
                    str(r.requests),
                    _f(o.rate(), 0),
                    _f(r.percentile(0.50), 2),
                    _f(r.percentile(0.99), 2),
                    _f(o.cpu_ms(), 3),
                    f"{r.server_cpu / r.seconds * 100:.0f}%",
                    _f(o.per_request(r.database_cpu), 3),
                    _f(o.per_request(r.client_cpu), 3),
                    f"{r.other_cpu / r.seconds * 100:.0f}%",
                    str(r.errors),
                ]
            )
        )
    noisy = [o.scenario.name for o in outcomes if o.result and o.result.other_cpu / o.result.seconds > 0.15]
    if noisy:
        print(f"warning: other processes used the CPUs during: {', '.join(noisy)}; those figures are noisy")
    for o in outcomes:
        if o.result is not None and o.result.errors:
            print(f"\n{o.scenario.name}: {o.result.errors} of {o.result.sent} responses were not 200:")
            for status, count in o.result.statuses.most_common():
                print(f"  {count} x {status or 'connection error'}: {o.result.samples[status]!r}")

    floor = outcomes[0]
    if floor.result is None:
        return
    floor_cpu, floor_rate = floor.cpu_ms(), floor.rate()
    print(f"\nagainst the floor ({floor_cpu:.3f} ms server CPU/request, {floor_rate:.0f} req/s):")
    for o in outcomes[1:]:
        if o.result is None:
            print(f"  {o.scenario.name:<24} {o.skipped}")
            continue
        print(
            f"  {o.scenario.name:<24} CPU/request {o.cpu_ms() / floor_cpu:5.1f}x the floor "
            f"(+{o.cpu_ms() - floor_cpu:.3f} ms), throughput {o.rate() / floor_rate:.2f}x the floor"
        )

    by_name = {o.scenario.name: o for o in outcomes if o.result is not None}
    root, user = by_name.get("ECS DescribeRegions V3"), by_name.get("... as RAM user V3")
    if root is not None and user is not None:
        extra = user.cpu_ms() - root.cpu_ms()
        print(
            f"\nauthorization (RAM user, 100 statements) vs the root's identical call: +{extra:.3f} ms, "
            f"{extra / user.cpu_ms() * 100:.1f}% of the user's call (goal <= 10%)"
        )

    signed = [o for o in outcomes if o.scenario.signed and o.result is not None]
    if any(o.failed for o in outcomes):
        verdict = "UNKNOWN (some responses were not 200: this run measured errors)"
    else:
        verdict = "MET" if signed and all(o.cpu_ms() < GOAL_MS for o in signed) else "NOT MET"
    print(f"\ngoal: server CPU per signed call < {GOAL_MS} ms: {verdict}")
    for o in signed:
        db = o.per_request(o.result.database_cpu if o.result else None)
        extra = "" if math.isnan(db) else f"  (+{db:.3f} ms in PostgreSQL)"
        mark = "INVALID (non-200 responses)" if o.failed else "ok" if o.cpu_ms() < GOAL_MS else "over"
        print(f"  {o.scenario.name:<24} {o.cpu_ms():.3f} ms  {mark}{extra}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2 s per scenario after 0.5 s warm-up (make bench)")
    p.add_argument("--seconds", type=float, help="measured seconds per scenario (default 5)")
    p.add_argument("--warmup", type=float, help="warm-up seconds per scenario (default 1, --quick 0.5)")
    p.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    p.add_argument(
        "--client-procs", type=int, default=1, help="client processes the connections are spread over (1)"
    )
    p.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    p.add_argument(
        "--database-url",
        help="PostgreSQL instead of SQLite, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/secplane_bench "
        "(a database that does not exist is created and dropped afterwards)",
    )
    p.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="run only the signed scenarios whose name contains TEXT (repeatable; the floor always runs)",
    )
    args = p.parse_args(argv)
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    args.client_procs = max(1, min(args.client_procs, args.clients))
    return args


def _chosen(only: list[str] | None) -> list[Scenario]:
    wanted = [text.lower() for text in only or []]
    return [
        sc for sc in SCENARIOS if not sc.signed or not wanted or any(t in sc.name.lower() for t in wanted)
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database(args.database_url)) if args.database_url else None
        running = stack.enter_context(server(database_url=url, workers=args.workers))
        database_cpu = None
        if url:
            name = make_url(url).database or ""
            database_cpu = lambda: postgres_backends_cpu(name)  # noqa: E731
        spread = "threads in 1 process" if args.client_procs == 1 else f"over {args.client_procs} processes"
        print(
            f"secplane gateway benchmark: {'PostgreSQL' if url else 'SQLite (fresh data dir)'}, "
            f"{args.workers} server worker(s), {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n"
            f"server: pid {running.process.pid} on {running.endpoint}\n"
            f"client: {args.clients} keep-alive connections ({spread}), raw HTTP/1.1, every request signed "
            f"afresh; {args.seconds:g} s per scenario after {args.warmup:g} s warm-up\n",
            flush=True,
        )
        outcomes = [measure(running, sc, args, database_cpu) for sc in _chosen(args.only)]
    report(outcomes)
    return 1 if any(o.failed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
