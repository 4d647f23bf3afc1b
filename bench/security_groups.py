"""Security-group benchmark: what the SG actions cost the server with N groups in the account.

For each N (100 and 10,000 by default) a fresh server (``secplane.testing.server()``, SQLite unless
``--database-url``) gets one VPC and N security groups in one account and region, then, with 8 closed-loop
keep-alive clients sending raw HTTP signed afresh per request (ACS3-HMAC-SHA256, as the Tea SDK sends it):

  DescribeSecurityGroupAttribute     one group with 5 rules (100 such groups spread over the N, in turn)
  DescribeSecurityGroups             first page, MaxResults=10 (keyset) and PageSize=10 (numbered)
  CreateSecurityGroup                a new group in the VPC
  AuthorizeSecurityGroup 1 rule      Permissions.1: one new TCP port per call, groups in turn
  AuthorizeSecurityGroup 50 rules    Permissions.1..50, each call on a group no other call of it used

The describes run first, so they see exactly N groups; the writes follow (the SGs column says how many
groups the account held when each scenario began). The N groups are created through the API with the same
8 clients, or above 1,000 inserted straight into the database with ``secplane.store`` (``--setup``); the
measured calls always go through the API.

``--moto`` runs the EC2 equivalents against moto (``ThreadedMotoServer`` in a child process, so that its
CPU is read from /proc like secplane's) through boto3, one client per thread, and prints secplane/moto.
moto gets its N groups from one client (it is not thread-safe; see ``Moto.setup``).

Exit status 1 when any secplane response was not 200 or a scenario ran out of target groups; moto's own
500s (concurrent calls racing inside it) are counted and printed but do not fail the run. bench/README.md
explains the output.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from _common import (
    BatchResult,
    Call,
    Exhausted,
    HttpConnection,
    Outcome,
    Step,
    V3Signer,
    postgres_backends_cpu,
    postgres_database,
    run_batch,
)
from sqlalchemy.engine import make_url

from secplane.testing import RunningServer, free_port, server, stop

ECS_VERSION = "2014-05-26"
VPC_VERSION = "2016-04-28"
CIDR = "10.0.0.0/8"
SAMPLE_GROUPS = 100  # groups DescribeSecurityGroupAttribute reads, spread over the N
SAMPLE_PORTS = (22, 80, 443, 8080, 8443)  # the rules each of them holds
ONE_RULE_PORT = 1000  # first port of the one-rule scenario: port 1000 + round
ONE_RULE_ROUNDS = 50  # rules it adds to one group at most (5 + 50 stays under moto's 60 per VPC group)
MANY_RULES = 50
MANY_RULES_PORT = 20001  # ports 20001..20050
API_SETUP_MAX = 1000  # --setup auto: through the API up to this many groups, straight into the store above

# The reference (moto 5.2.5 through boto3 on this machine) and goal.
REFERENCE = (
    "moto 5.2.5 via boto3 (issue #3): ~190-260 ops/s, 2.9-4.1 ms server CPU per create/describe; "
    "describe one group 3.2 -> 4.1 ms from 100 to 1,000 groups; listing 1,000 groups 292 ms"
)
REFERENCE_MS = 2.9  # the cheapest create/describe figure of the reference
GOAL_FACTOR = 10.0  # at least 10x less server CPU per operation
FLAT_FACTOR = 1.25  # "flat": a describe at the largest N costs at most this much more than at the smallest

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    moto: str | None  # the boto3 equivalent; None: compared with another scenario's moto figures
    compare: str = ""  # key of the moto scenario this one is compared with (default: its own)

    @property
    def moto_key(self) -> str:
        return self.compare or self.key


# In the order they run: the describes see exactly N groups, the writes add groups and rules.
SCENARIOS = (
    Scenario("attr", "DescribeSecurityGroupAttribute", "describe_security_groups(GroupIds=[id])"),
    Scenario("page", "DescribeSecurityGroups MaxResults=10", "describe_security_groups(MaxResults=10)"),
    Scenario("page-number", "DescribeSecurityGroups PageSize=10", None, compare="page"),
    Scenario("create", "CreateSecurityGroup", "create_security_group"),
    Scenario("auth1", "AuthorizeSecurityGroup 1 rule", "authorize_security_group_ingress(1)"),
    Scenario("auth50", "AuthorizeSecurityGroup 50 rules", "authorize_security_group_ingress(50)"),
)


# ---------------------------------------------------------------- what each call works on


@dataclass
class Groups:
    """The benchmark's groups in one server: those made before the scenarios, and by CreateSecurityGroup."""

    vpc_id: str
    precreated: list[str]
    sample: list[str]  # DescribeSecurityGroupAttribute's, with len(SAMPLE_PORTS) rules each
    created: list[str] = field(default_factory=list)  # appended by the create scenario's clients
    how: str = ""  # how the precreated groups were made

    @property
    def count(self) -> int:
        return len(self.precreated) + len(self.created)


def in_turn(ids: Sequence[str]) -> Callable[[], str]:
    """The next group of ``ids``, round-robin (thread-safe: ``next`` on a count is atomic)."""
    counter = itertools.count()
    return lambda: ids[next(counter) % len(ids)]


def rule_slots(ids: Sequence[str]) -> Callable[[], tuple[str, int]]:
    """The next (group, port) of the one-rule scenario: groups in turn, a new port each round."""
    counter = itertools.count()

    def slot() -> tuple[str, int]:
        rnd, at = divmod(next(counter), len(ids))
        if rnd >= ONE_RULE_ROUNDS:
            raise Exhausted
        return ids[at], ONE_RULE_PORT + rnd

    return slot


def each_once(ids: Sequence[str]) -> Callable[[], str]:
    """The next group never used before by this scenario."""
    counter = itertools.count()

    def group() -> str:
        i = next(counter)
        if i >= len(ids):
            raise Exhausted
        return ids[i]

    return group


def last_first(groups: Groups) -> list[str]:
    """Targets of the 50-rule scenario: newest group first. The one-rule scenario went through the groups
    from the oldest, adding one rule to each per round; it gets nowhere near the end in one window."""
    return [*groups.precreated, *groups.created][::-1]


def spread(ids: Sequence[str], k: int) -> list[str]:
    """``k`` of ``ids`` evenly spaced."""
    if len(ids) <= k:
        return list(ids)
    return [ids[i * len(ids) // k] for i in range(k)]


def fan_out(items: Sequence[T], clients: int, worker: Callable[[int, Sequence[T]], list[R]]) -> list[R]:
    """Split ``items`` over ``clients`` threads; ``worker(i, chunk)`` runs in thread i."""
    chunks = [items[i::clients] for i in range(clients)]
    results: list[list[R]] = [[] for _ in chunks]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = worker(i, chunks[i])
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(chunks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [r for part in results for r in part]


class SetupError(Exception):
    pass


# ---------------------------------------------------------------- secplane


def _permissions(ports: Sequence[int]) -> dict[str, str]:
    params: dict[str, str] = {}
    for n, port in enumerate(ports, 1):
        params |= {
            f"Permissions.{n}.IpProtocol": "TCP",
            f"Permissions.{n}.PortRange": f"{port}/{port}",
            f"Permissions.{n}.SourceCidrIp": CIDR,
            f"Permissions.{n}.Policy": "accept",
            f"Permissions.{n}.Priority": "1",
        }
    return params


class Secplane:
    """secplane through raw signed HTTP (bench/_common.py's V3Signer and HttpConnection)."""

    label = "secplane"

    def __init__(self, running: RunningServer, database_cpu: Callable[[], float] | None) -> None:
        self.running = running
        self.pid = running.process.pid
        self.database_cpu = database_cpu
        host, port = running.endpoint.rsplit(":", 1)
        self._address = (host, int(port))
        self._signers: dict[str, V3Signer] = {}
        self._open: list[HttpConnection] = []
        self.groups = Groups("", [], [])

    def close(self) -> None:
        """Close every connection opened so far (after each scenario, so that none idles in the server)."""
        for conn in self._open:
            conn.close()
        self._open.clear()

    end_scenario = close

    def _signer(self, action: str, version: str = ECS_VERSION) -> V3Signer:
        if action not in self._signers:
            self._signers[action] = V3Signer(self.running, Call(action, version, {}))
        return self._signers[action]

    def _connect(self) -> HttpConnection:
        conn = HttpConnection(*self._address)
        self._open.append(conn)
        return conn

    def _ok(self, conn: HttpConnection, request: bytes) -> dict[str, Any]:
        status, body = conn.roundtrip(request)
        if status != 200:
            raise SetupError(f"secplane answered {status}: {body[:400]!r}")
        result: dict[str, Any] = json.loads(body)
        return result

    # -- setup

    def setup(self, n: int, clients: int, mode: str) -> None:
        region = self.running.region_id
        vpc = self._ok(
            self._connect(),
            self._signer("CreateVpc", VPC_VERSION).request({"RegionId": region, "VpcName": "bench"}),
        )["VpcId"]
        if mode == "db" or (mode == "auto" and n > API_SETUP_MAX):
            precreated = self._insert_groups(vpc, n)
            how = f"{n} inserted straight into the database (secplane.store.security_groups.insert_group)"
        else:
            create = self._signer("CreateSecurityGroup")

            def make(i: int, chunk: Sequence[int]) -> list[str]:
                conn = self._connect()
                return [
                    self._ok(
                        conn,
                        create.request({"RegionId": region, "VpcId": vpc, "SecurityGroupName": f"pre-{k}"}),
                    )["SecurityGroupId"]
                    for k in chunk
                ]

            precreated = fan_out(range(n), clients, make)
            how = f"{n} created through the API (CreateSecurityGroup, {clients} clients)"
        sample = spread(precreated, SAMPLE_GROUPS)
        authorize = self._signer("AuthorizeSecurityGroup")

        def add_rules(i: int, chunk: Sequence[str]) -> list[None]:
            conn = self._connect()
            for group in chunk:
                params = {"RegionId": region, "SecurityGroupId": group, **_permissions(SAMPLE_PORTS)}
                self._ok(conn, authorize.request(params))
            return []

        fan_out(sample, clients, add_rules)
        self.groups = Groups(vpc, precreated, sample, how=how)

    def _insert_groups(self, vpc_id: str, n: int) -> list[str]:
        """N groups in one transaction, as CreateSecurityGroup would write them (no tags)."""
        from secplane.store import accounts
        from secplane.store import security_groups as sg_store
        from secplane.store.db import Database

        db = Database(self.running.database_url, pool_size=1)
        try:
            with db.write() as conn:
                resource_group = accounts.default_resource_group(conn, self.running.account_id)
                now = time.time()
                return [
                    sg_store.insert_group(
                        conn,
                        account_id=self.running.account_id,
                        region_id=self.running.region_id,
                        vpc_id=vpc_id,
                        name=f"pre-{i}",
                        description="",
                        group_type="normal",
                        resource_group_id=resource_group,
                        now=now,
                    )
                    for i in range(n)
                ]
        finally:
            db.dispose()

    # -- scenarios

    def steps(self, key: str, clients: int) -> list[Step]:
        make = self._requests(key)
        collect = self.groups.created if key == "create" else None
        return [self._step(self._connect(), make, collect) for _ in range(clients)]

    def _requests(self, key: str) -> Callable[[], bytes]:
        region, g = self.running.region_id, self.groups
        if key == "attr":
            attr, described = self._signer("DescribeSecurityGroupAttribute"), in_turn(g.sample)
            return lambda: attr.request({"RegionId": region, "SecurityGroupId": described()})
        if key in ("page", "page-number"):
            paging = {"MaxResults": "10"} if key == "page" else {"PageNumber": "1", "PageSize": "10"}
            listing = self._signer("DescribeSecurityGroups")
            return lambda: listing.request({"RegionId": region, **paging})
        if key == "create":
            create, counter = self._signer("CreateSecurityGroup"), itertools.count()
            return lambda: create.request(
                {
                    "RegionId": region,
                    "VpcId": g.vpc_id,
                    "SecurityGroupName": f"bench-{next(counter)}",
                    "Description": "benchmark group",
                }
            )
        authorize = self._signer("AuthorizeSecurityGroup")
        if key == "auth1":
            slot = rule_slots([*g.precreated, *g.created])

            def one_rule() -> bytes:
                group, port = slot()
                return authorize.request(
                    {"RegionId": region, "SecurityGroupId": group, **_permissions([port])}
                )

            return one_rule
        if key == "auth50":
            fresh = each_once(last_first(g))
            ports = [MANY_RULES_PORT + i for i in range(MANY_RULES)]
            many = _permissions(ports)
            return lambda: authorize.request({"RegionId": region, "SecurityGroupId": fresh(), **many})
        raise ValueError(key)

    @staticmethod
    def _step(conn: HttpConnection, make: Callable[[], bytes], collect: list[str] | None) -> Step:
        def step() -> Callable[[], Outcome]:
            request = make()  # signed before the clock starts

            def call() -> Outcome:
                try:
                    status, body = conn.roundtrip(request)
                except (OSError, ConnectionError):
                    conn.reconnect()
                    raise
                if collect is not None and status == 200:
                    collect.append(json.loads(body)["SecurityGroupId"])
                return status, body

            return call

        return step


# ---------------------------------------------------------------- moto

MOTO_MAIN = """
import logging, sys, threading
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
ThreadedMotoServer(ip_address=sys.argv[1], port=int(sys.argv[2]), verbose=False).start()
threading.Event().wait()
"""


def moto_available() -> str | None:
    """Why ``--moto`` cannot run, or None."""
    missing = [name for name in ("moto", "boto3", "flask") if importlib.util.find_spec(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (.venv/bin/pip install -e '.[bench]')"
    return None


@contextmanager
def moto_server() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """moto's ThreadedMotoServer in a child process (its CPU is then that process's), on a free port."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in finally)
    proc = subprocess.Popen(
        [sys.executable, "-c", MOTO_MAIN, "127.0.0.1", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise SetupError(f"moto exited with {proc.returncode}: {log.read()[-2000:]!r}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SetupError("moto did not listen within 60 s") from None
                time.sleep(0.1)
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
        log.close()


def _ip_permissions(ports: Sequence[int]) -> list[dict[str, Any]]:
    return [{"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": CIDR}]} for p in ports]


class Moto:
    """moto through boto3, one client per thread (as a test suite using moto would call it)."""

    label = "moto"
    database_cpu = None

    def __init__(self, proc: subprocess.Popen[bytes], url: str, clients: int) -> None:
        import boto3
        from botocore.config import Config

        self.pid = proc.pid
        config = Config(retries={"mode": "standard", "max_attempts": 1}, max_pool_connections=2)
        self._clients = [
            boto3.session.Session().client(
                "ec2",
                endpoint_url=url,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=config,
            )
            for _ in range(clients)
        ]
        self.groups = Groups("", [], [])

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def end_scenario(self) -> None:
        pass  # the clients are kept for the next scenario

    def setup(self, n: int, clients: int, mode: str) -> None:
        ec2 = self._clients[0]
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        retried = itertools.count()

        def retry(call: Callable[[], Any]) -> Any:
            """moto is not thread-safe: a request that iterates over a dict another thread grows fails
            with a 500 before changing anything. Setup retries those."""
            from botocore.parsers import ResponseParserError

            for attempt in itertools.count(1):
                try:
                    return call()
                except ResponseParserError:
                    if attempt == 5:
                        raise
                    next(retried)
            raise AssertionError("unreachable")

        def make(i: int, chunk: Sequence[int]) -> list[str]:
            create = partial(self._clients[i].create_security_group, Description="pre", VpcId=vpc)
            return [retry(partial(create, GroupName=f"pre-{k}"))["GroupId"] for k in chunk]

        # One client: with several, moto's name check (a loop over the VPC's groups) meets another
        # thread's insert, ever more often as the groups grow (5 retries did not get 10,000 made).
        precreated = make(0, range(n))
        sample = spread(precreated, SAMPLE_GROUPS)

        def add_rules(i: int, chunk: Sequence[str]) -> list[None]:
            authorize = partial(
                self._clients[i].authorize_security_group_ingress, IpPermissions=_ip_permissions(SAMPLE_PORTS)
            )
            for group in chunk:
                retry(partial(authorize, GroupId=group))
            return []

        fan_out(sample, clients, add_rules)
        errors = next(retried)
        how = f"{n} created through the API (create_security_group, 1 client: moto is not thread-safe)"
        if errors:
            how += f" [{errors} answered 500 (moto's thread-safety) and were retried]"
        self.groups = Groups(vpc, precreated, sample, how=how)

    def steps(self, key: str, clients: int) -> list[Step]:
        method, make = self._requests(key)
        collect = self.groups.created if key == "create" else None
        return [self._step(self._clients[i], method, make, collect) for i in range(clients)]

    def _requests(self, key: str) -> tuple[str, Callable[[], dict[str, Any]]]:
        g = self.groups
        if key == "attr":
            described = in_turn(g.sample)
            return "describe_security_groups", lambda: {"GroupIds": [described()]}
        if key == "page":  # moto ignores MaxResults: every group comes back (what the issue measured)
            return "describe_security_groups", lambda: {"MaxResults": 10}
        if key == "create":
            counter = itertools.count()
            return "create_security_group", lambda: {
                "GroupName": f"bench-{next(counter)}",
                "Description": "benchmark group",
                "VpcId": g.vpc_id,
            }
        if key == "auth1":
            slot = rule_slots([*g.precreated, *g.created])

            def one_rule() -> dict[str, Any]:
                group, port = slot()
                return {"GroupId": group, "IpPermissions": _ip_permissions([port])}

            return "authorize_security_group_ingress", one_rule
        if key == "auth50":
            fresh = each_once(last_first(g))
            many = _ip_permissions([MANY_RULES_PORT + i for i in range(MANY_RULES)])
            return "authorize_security_group_ingress", lambda: {"GroupId": fresh(), "IpPermissions": many}
        raise ValueError(key)

    @staticmethod
    def _step(
        client: Any, method: str, make: Callable[[], dict[str, Any]], collect: list[str] | None
    ) -> Step:
        from botocore.exceptions import ClientError
        from botocore.parsers import ResponseParserError

        bound = getattr(client, method)

        def step() -> Callable[[], Outcome]:
            kwargs = make()

            def call() -> Outcome:
                try:
                    response = bound(**kwargs)
                except ClientError as exc:
                    return int(exc.response["ResponseMetadata"].get("HTTPStatusCode", 0)), str(exc).encode()
                except ResponseParserError as exc:  # an HTML error page instead of XML
                    text = str(exc)
                    return 500 if "500 Internal Server Error" in text else 0, text.encode()
                if collect is not None:
                    collect.append(response["GroupId"])
                return int(response["ResponseMetadata"]["HTTPStatusCode"]), b""

            return call

        return step


# ---------------------------------------------------------------- measuring

Backend = Secplane | Moto


@dataclass
class Measured:
    backend: str
    n: int
    scenario: Scenario
    groups: int  # the benchmark's groups in the account when the scenario began
    result: BatchResult

    def per_op(self, cpu_seconds: float | None) -> float:
        if not self.result.requests or cpu_seconds is None:
            return math.nan
        return cpu_seconds * 1000.0 / self.result.requests

    @property
    def name(self) -> str:
        return self.scenario.name if self.backend == "secplane" else self.scenario.moto or ""

    @property
    def cpu_ms(self) -> float:
        return self.per_op(self.result.server_cpu)

    @property
    def rate(self) -> float:
        r = self.result
        return r.requests / r.seconds if r.seconds else math.nan

    @property
    def failed(self) -> bool:
        """Not a valid measurement. moto's own 500s (it is not thread-safe) are reported, not fatal."""
        r = self.result
        return r.exhausted or not r.requests or (self.backend == "secplane" and r.errors > 0)


def run_backend(backend: Backend, n: int, args: argparse.Namespace) -> list[Measured]:
    started = time.monotonic()
    backend.setup(n, args.clients, args.setup)
    print(
        f"  {backend.label}: pid {backend.pid}; {backend.groups.how} in {time.monotonic() - started:.1f} s; "
        f"{len(backend.groups.sample)} of them hold {len(SAMPLE_PORTS)} rules each",
        flush=True,
    )
    out = []
    for sc in SCENARIOS:
        if backend.label == "moto" and sc.moto is None:
            continue
        groups = backend.groups.count
        result = run_batch(
            steps=backend.steps(sc.key, args.clients),
            warmup=args.warmup,
            seconds=args.seconds,
            server_pid=backend.pid,
            database_cpu=backend.database_cpu,
        )
        backend.end_scenario()
        m = Measured(backend.label, n, sc, groups, result)
        print(f"    {m.name:<39} {_rate(m.rate):>8} ops/s  {m.cpu_ms:8.3f} ms server CPU/op", flush=True)
        out.append(m)
    return out


@contextmanager
def secplane_backend(n: int, args: argparse.Namespace) -> Iterator[Secplane]:
    with ExitStack() as stack:
        url = None
        if args.database_url:  # one database per N, so that each N starts empty
            parsed = make_url(args.database_url)
            per_n = parsed.set(database=f"{parsed.database or 'secplane_bench'}_n{n}")
            url = stack.enter_context(postgres_database(per_n.render_as_string(hide_password=False)))
        running = stack.enter_context(server(database_url=url))
        database_cpu = None
        if url:
            name = make_url(url).database or ""
            database_cpu = lambda: postgres_backends_cpu(name)  # noqa: E731
        backend = Secplane(running, database_cpu)
        stack.callback(backend.close)
        yield backend
        if running.process.poll() is not None:
            raise SetupError(f"the secplane server exited with {running.process.returncode}")


@contextmanager
def moto_backend(args: argparse.Namespace) -> Iterator[Moto]:
    with moto_server() as (proc, url):
        backend = Moto(proc, url, args.clients)
        try:
            yield backend
        finally:
            backend.close()


# ---------------------------------------------------------------- report


def _f(value: float, digits: int) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def _rate(value: float) -> str:
    """ops/s: whole numbers, but keep two significant digits below 10 (moto listing 10,000 groups)."""
    return _f(value, 0 if value >= 10 else 1 if value >= 1 else 2)


COLUMNS = (
    ("server", 8),
    ("scenario", 39),
    ("SGs", 6),
    ("ops", 6),
    ("ops/s", 6),
    ("p50 ms", 8),
    ("p99 ms", 8),
    ("srv CPU ms/op", 13),
    ("srv CPU %", 9),
    ("db CPU ms/op", 12),
    ("cli CPU ms/op", 13),
    ("other CPU %", 11),
    ("non-200", 7),
)


def _row(cells: Sequence[str]) -> str:
    (first, w0), (second, w1), *rest = ((c, w) for c, (_, w) in zip(cells, COLUMNS, strict=True))
    return f"{first:<{w0}} {second:<{w1}}" + "".join(f" {c:>{w}}" for c, w in rest)


def table(measured: Sequence[Measured]) -> None:
    header = _row([name for name, _ in COLUMNS])
    print(header)
    print("-" * len(header))
    for m in measured:
        r = m.result
        print(
            _row(
                [
                    m.backend,
                    m.name,
                    str(m.groups),
                    str(r.requests),
                    _rate(m.rate),
                    _f(r.percentile(0.50), 2),
                    _f(r.percentile(0.99), 2),
                    _f(m.cpu_ms, 3),
                    f"{r.server_cpu / r.seconds * 100:.0f}%" if r.seconds else "-",
                    _f(m.per_op(r.database_cpu), 3),
                    _f(m.per_op(r.client_cpu), 3),
                    f"{r.other_cpu / r.seconds * 100:.0f}%" if r.seconds else "-",
                    str(r.errors),
                ]
            )
        )
    noisy = sorted({f"{m.backend} {m.scenario.key}" for m in measured if _noisy(m)})
    if noisy:
        print(f"warning: other processes used the CPUs during: {', '.join(noisy)}; those figures are noisy")


def _noisy(m: Measured) -> bool:
    return bool(m.result.seconds) and m.result.other_cpu / m.result.seconds > 0.15


def problems(measured: Sequence[Measured]) -> None:
    for m in measured:
        r = m.result
        if r.exhausted:
            print(f"{m.backend} {m.name} (N={m.n}): ran out of target groups; the window was cut short")
        if not r.requests:
            print(f"{m.backend} {m.name} (N={m.n}): no answer inside the window")
        if r.errors:
            print(f"{m.backend} {m.name} (N={m.n}): {r.errors} of {r.sent} responses were not 200:")
            for status, count in r.statuses.most_common():
                print(f"  {count} x {status or 'connection error'}: {r.samples[status][:300]!r}")
            if m.backend == "moto":
                print("  (moto's own: its backend is not thread-safe; reported, not counted as a failure)")


def ratios(measured: Sequence[Measured]) -> bool | None:
    """secplane/moto per scenario and N; whether the CPU goal is met (None: nothing to compare)."""
    moto = {(m.n, m.scenario.key): m for m in measured if m.backend == "moto"}
    if not moto:
        return None
    print(f"\nsecplane / moto, same run (goal: server CPU per operation at most 1/{GOAL_FACTOR:g} of moto's)")
    print(f"{'N':>6} {'scenario':<39} {'srv CPU/op':>10} {'':<12} {'ops/s':>6} {'p50':>6}  goal")
    met = True
    for m in measured:
        base = moto.get((m.n, m.scenario.moto_key))
        if m.backend != "secplane" or base is None:
            continue
        cpu = m.cpu_ms / base.cpu_ms
        ok = cpu <= 1 / GOAL_FACTOR and not (m.failed or base.failed)
        met &= ok
        verdict = "INVALID" if m.failed or base.failed else "met" if ok else "not met"
        if base.result.errors:
            verdict += f" (moto: {base.result.errors} non-200 of {base.result.sent})"
        times = f"({1 / cpu:.1f}x less)" if cpu < 1 else f"({cpu:.1f}x more)"
        print(
            f"{m.n:>6} {m.scenario.name:<39} {cpu:10.3f} {times:<12} {m.rate / base.rate:6.2f} "
            f"{m.result.percentile(0.5) / base.result.percentile(0.5):6.2f}  {verdict}"
        )
    return met


def reference_goal(measured: Sequence[Measured]) -> None:
    """Against the issue's fixed figures (create and describe only; it gives none for authorize)."""
    limit = REFERENCE_MS / GOAL_FACTOR
    print(f"\ngoal against the issue's reference figures: server CPU per create/describe <= {limit:.2f} ms")
    for m in measured:
        if m.backend == "secplane" and m.scenario.key in ("create", "attr", "page", "page-number"):
            verdict = "INVALID" if m.failed else "met" if m.cpu_ms <= limit else "not met"
            print(f"  N={m.n:<6} {m.scenario.name:<39} {m.cpu_ms:8.3f} ms  {verdict}")


def flatness(measured: Sequence[Measured]) -> None:
    """Describe cost at the largest N against the smallest: the issue wants it flat."""
    sizes = sorted({m.n for m in measured})
    if len(sizes) < 2:
        return
    lo, hi = sizes[0], sizes[-1]
    by = {(m.backend, m.n, m.scenario.key): m for m in measured}
    print(f"\ndescribes at N={hi} against N={lo} (flat: server CPU/op within {FLAT_FACTOR:g}x)")
    for m in measured:
        if m.n != lo or m.scenario.key not in ("attr", "page", "page-number"):
            continue
        big = by.get((m.backend, hi, m.scenario.key))
        if big is None:
            continue
        cpu = big.cpu_ms / m.cpu_ms
        p50 = big.result.percentile(0.5) / m.result.percentile(0.5)
        verdict = "flat" if cpu <= FLAT_FACTOR else "grows"
        print(
            f"  {m.backend:<8} {m.name:<39} CPU/op {m.cpu_ms:8.3f} -> {big.cpu_ms:8.3f} ms ({cpu:5.2f}x), "
            f"p50 {p50:5.2f}x  {verdict}"
        )


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="N=100 only, 2 s per scenario after 0.5 s warm-up")
    p.add_argument("--sizes", help="comma-separated numbers of groups (default 100,10000; --quick 100)")
    p.add_argument("--seconds", type=float, help="measured seconds per scenario (default 5, --quick 2)")
    p.add_argument("--warmup", type=float, help="warm-up seconds per scenario (default 1, --quick 0.5)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--moto", action="store_true", help="also run the EC2 equivalents on moto, print ratios")
    p.add_argument(
        "--setup",
        choices=("auto", "api", "db"),
        default="auto",
        help=f"how secplane's N groups are made: api, db (secplane.store), auto = api up to {API_SETUP_MAX}",
    )
    p.add_argument(
        "--database-url",
        help="PostgreSQL instead of SQLite, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/sgbench; "
        "each N uses database <name>_n<N>, created and dropped unless it exists",
    )
    args = p.parse_args(argv)
    sizes = args.sizes or ("100" if args.quick else "100,10000")
    args.sizes = [int(s) for s in sizes.split(",") if s.strip()]
    if not args.sizes or min(args.sizes) < 1:
        p.error("--sizes: give numbers of groups, at least 1")
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.moto and (why := moto_available()):
        print(f"--moto: {why}", file=sys.stderr)
        return 2
    print(
        f"secplane security-group benchmark: {'PostgreSQL' if args.database_url else 'SQLite'}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n"
        f"clients: {args.clients} closed-loop threads; secplane over raw keep-alive HTTP/1.1 signed afresh "
        f"(ACS3-HMAC-SHA256){', moto through boto3' if args.moto else ''}; "
        f"{args.seconds:g} s per scenario after {args.warmup:g} s warm-up\n"
        f"reference: {REFERENCE}",
        flush=True,
    )
    measured: list[Measured] = []
    try:
        for n in args.sizes:
            print(f"\nN = {n} security groups", flush=True)
            with secplane_backend(n, args) as sp:
                part = run_backend(sp, n, args)
            if args.moto:
                with moto_backend(args) as mb:
                    part += run_backend(mb, n, args)
            measured += part
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 1
    print(f"\nall sizes ({', '.join(str(n) for n in args.sizes)})")
    table(measured)
    problems(measured)
    met = ratios(measured)
    if met is not None:
        print(f"goal (10x less server CPU than moto for every operation): {'MET' if met else 'NOT MET'}")
    reference_goal(measured)
    flatness(measured)
    return 1 if any(m.failed for m in measured) else 0


if __name__ == "__main__":
    sys.exit(main())
