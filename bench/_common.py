"""Helpers shared by the benchmarks: CPU of a process tree, a lean keep-alive HTTP client, request signing
as the SDKs do it, two closed-loop load generators (a fixed window, optionally over several processes;
and a batch that drains, for calls of any cost) and a throw-away PostgreSQL database.

Benchmarks are scripts, not tests: ``python bench/<name>.py``. See bench/README.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import multiprocessing
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe

from secplane.protocol.signature import EMPTY_SHA256, V3_ALGORITHM, percent_encode
from secplane.testing import RunningServer

CLK_TCK = os.sysconf("SC_CLK_TCK")

# ---------------------------------------------------------------- CPU accounting


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of one process: utime+stime of all its threads, plus cutime+cstime of
    children that exited and were reaped (so a worker that dies mid-run is not lost)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:  # gone between listing and reading
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()  # after "pid (comm) "; comm may contain spaces
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ppid, ticks / CLK_TCK


def tree_cpu(root: int, exclude: int | None = None) -> float:
    """CPU seconds used so far by ``root`` and all its descendants (leaving out ``exclude``'s subtree)."""
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = _stat(int(name))
            if info is not None:
                parent[int(name)], cpu[int(name)] = info
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid == exclude:
            continue
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, ()))
    return total


def postgres_backends_cpu(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to ``database`` (on this machine).

    They are children of the postmaster, not of the server: their share of a call's cost is not in the
    server's process tree.
    """
    marker = f" {database} ".encode()
    total = 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if cmdline.startswith(b"postgres: ") and marker in cmdline:
            info = _stat(int(name))
            total += info[1] if info else 0.0
    return total


def machine_busy() -> float:
    """CPU seconds all processes of the machine have used, plus time stolen by the hypervisor (all CPUs).

    Interrupt and softirq time are left out: loopback TCP spends them on behalf of the benchmark itself.
    """
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = fields[:8]
    return (user + nice + system + steal) / CLK_TCK


# ---------------------------------------------------------------- HTTP


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that sends prebuilt request bytes and reads one response.

    Much cheaper per request than ``http.client`` (no header objects, no email parser), which matters
    when the client shares two cores with the server. Needs ``Content-Length`` on every response
    (uvicorn sends it for secplane's fixed-size bodies).
    """

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._sock = self._connect()
        self._buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self._address, timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def reconnect(self) -> None:
        self.close()
        self._sock = self._connect()
        self._buf = b""

    def close(self) -> None:
        self._sock.close()

    def roundtrip(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; return (status, body)."""
        sock = self._sock
        sock.sendall(request)
        buf = self._buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self._recv()
        head = buf[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise ConnectionError(f"response without Content-Length: {head[:200]!r}")
        eol = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : eol if eol >= 0 else len(head)])
        stop = end + 4 + length
        while len(buf) < stop:
            buf += self._recv()
        self._buf = buf[stop:]
        return int(head[9:12]), buf[end + 4 : stop]

    def _recv(self) -> bytes:
        chunk = self._sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk


# ---------------------------------------------------------------- signing

TEA_USER_AGENT = "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"
LEGACY_USER_AGENT = "AlibabaCloud (Linux 6.1;x86_64) Python/3.11.7 Core/2.16.1 python-requests/2.18.3"


def nonce() -> str:
    return os.urandom(16).hex()  # 32 hex characters, like the SDKs' md5-hex nonces


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def wire(request_line: str, headers: Mapping[str, str]) -> bytes:
    """An HTTP/1.1 request without a body."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{request_line}\r\n{lines}content-length: 0\r\n\r\n".encode()


@dataclass(frozen=True)
class Call:
    action: str
    version: str
    params: dict[str, str]


class V3Signer:
    """Builds a Tea-SDK-style request: POST, parameters in the query, x-acs-* headers, Authorization
    ``ACS3-HMAC-SHA256`` over the canonical request (reference ram-sts-auth §3).

    Called, it signs ``call.params`` afresh; ``request(params)`` signs other parameters for the same
    action (one signer per action, parameters per request).
    """

    def __init__(self, running: RunningServer, call: Call) -> None:
        self._key_id = running.access_key_id
        self._mac = hmac.new(running.access_key_secret.encode(), digestmod=hashlib.sha256)
        self._query = self.query(call.params)
        self._fixed = {
            "host": running.endpoint,
            "x-acs-version": call.version,
            "x-acs-action": call.action,
            "user-agent": TEA_USER_AGENT,
            "accept": "application/json",
            "x-acs-content-sha256": EMPTY_SHA256,
            "x-acs-credentials-provider": "static_ak",
        }
        self._names = sorted([*self._fixed, "x-acs-date", "x-acs-signature-nonce"])
        self._signed = ";".join(self._names)
        self._credential = f"{V3_ALGORITHM} Credential={self._key_id},SignedHeaders={self._signed}"

    @staticmethod
    def query(params: Mapping[str, str]) -> str:
        """The canonical query string: encoded pairs sorted by encoded name."""
        pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params.items())
        return "&".join(f"{k}={v}" for k, v in pairs)

    def __call__(self) -> bytes:
        return self.sign(self._query)

    def request(self, params: Mapping[str, str]) -> bytes:
        return self.sign(self.query(params))

    def sign(self, query: str) -> bytes:
        """The request for a canonical ``query``, with a new nonce and the current time."""
        headers = {**self._fixed, "x-acs-date": utc_now(), "x-acs-signature-nonce": nonce()}
        canonical_headers = "".join(f"{name}:{headers[name]}\n" for name in self._names)
        canonical = f"POST\n/\n{query}\n{canonical_headers}\n{self._signed}\n{EMPTY_SHA256}"
        mac = self._mac.copy()
        mac.update(f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}".encode())
        headers["authorization"] = f"{self._credential},Signature={mac.hexdigest()}"
        return wire(f"POST /?{query} HTTP/1.1" if query else "POST / HTTP/1.1", headers)


class V1Signer:
    """Builds a legacy-SDK-style request: POST, every parameter in the query (``SignatureType=`` empty,
    ``RegionId`` added), ``Signature`` = base64 HMAC-SHA1 with key ``secret&`` (reference §2)."""

    def __init__(self, running: RunningServer, call: Call) -> None:
        self._mac = hmac.new(f"{running.access_key_secret}&".encode(), digestmod=hashlib.sha1)
        params = {
            "Version": call.version,
            "Action": call.action,
            "Format": "JSON",
            "RegionId": running.region_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureType": "",
            "SignatureVersion": "1.0",
            "AccessKeyId": running.access_key_id,
            **call.params,
        }
        self._pairs = [(percent_encode(k), percent_encode(v)) for k, v in params.items()]  # encoded once
        self._headers = {
            "host": running.endpoint,
            "user-agent": LEGACY_USER_AGENT,
            "accept-encoding": "identity",
            "accept": "*/*",
            "x-acs-action": call.action,
            "x-acs-version": call.version,
            "x-sdk-invoke-type": "normal",
            "x-sdk-client": "python/2.0.0",
        }

    def __call__(self) -> bytes:
        # The nonce is hex and the timestamp's only reserved character is ":": no general encoder needed.
        pairs = [*self._pairs, ("SignatureNonce", nonce()), ("Timestamp", utc_now().replace(":", "%3A"))]
        pairs.sort()
        canonical = "&".join(f"{k}={v}" for k, v in pairs)
        # ... and the canonical string holds only unreserved characters, "=", "&" and %XX escapes.
        encoded = canonical.replace("%", "%25").replace("=", "%3D").replace("&", "%26")
        mac = self._mac.copy()
        mac.update(f"POST&%2F&{encoded}".encode())
        signature = percent_encode(base64.b64encode(mac.digest()).decode())
        return wire(f"POST /?{canonical}&Signature={signature} HTTP/1.1", self._headers)


# ---------------------------------------------------------------- load


@dataclass
class LoadResult:
    requests: int = 0  # completed inside the measured window
    latencies: list[float] = field(default_factory=list)  # seconds, window only
    sent: int = 0  # all requests, warm-up included
    statuses: Counter[int] = field(default_factory=Counter)  # non-200 statuses, warm-up included
    samples: dict[int, bytes] = field(default_factory=dict)  # one body per non-200 status
    server_cpu: float = 0.0  # seconds, window only
    client_cpu: float = 0.0
    database_cpu: float | None = None  # PostgreSQL backends (None on SQLite: it runs in the server)
    other_cpu: float = 0.0  # the rest of the machine: other processes, interrupts, steal
    seconds: float = 0.0

    def merge(self, other: LoadResult) -> None:
        self.requests += other.requests
        self.latencies += other.latencies
        self.sent += other.sent
        self.statuses.update(other.statuses)
        for status, body in other.samples.items():
            self.samples.setdefault(status, body)

    @property
    def errors(self) -> int:
        return sum(self.statuses.values())

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the window's latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000.0


RequestFactory = Callable[[], bytes]


def _client(host: str, port: int, make: RequestFactory, start: float, end: float, out: LoadResult) -> None:
    """One closed-loop client: next request as soon as the previous answer is read, until ``end``.

    The request is built (signed) before the clock starts: latency is the round trip only. A request
    counts in the window when its answer arrives within [start, end).
    """
    conn = HttpConnection(host, port)
    clock = time.monotonic
    latencies = out.latencies
    try:
        while True:
            request = make()
            sent = clock()
            if sent >= end:
                break
            try:
                status, body = conn.roundtrip(request)
            except (OSError, ConnectionError) as exc:
                status, body = 0, repr(exc).encode()
                conn.reconnect()
            done = clock()
            out.sent += 1
            if status != 200:
                out.statuses[status] += 1
                out.samples.setdefault(status, body[:400])
            if start <= done < end:
                out.requests += 1
                latencies.append(done - sent)
    finally:
        conn.close()


def _threads(host: str, port: int, make: RequestFactory, n: int, start: float, end: float) -> LoadResult:
    parts = [LoadResult() for _ in range(n)]
    threads = [
        threading.Thread(target=_client, args=(host, port, make, start, end, part), daemon=True)
        for part in parts
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = LoadResult()
    for part in parts:
        total.merge(part)
    return total


def _process_main(
    pipe: Pipe, host: str, port: int, make: RequestFactory, n: int, start: float, end: float
) -> None:
    pipe.send(_threads(host, port, make, n, start, end))
    pipe.close()


def run_load(
    *,
    host: str,
    port: int,
    make: RequestFactory,
    clients: int,
    processes: int,
    warmup: float,
    seconds: float,
    server_pid: int,
    database_cpu: Callable[[], float] | None = None,
) -> LoadResult:
    """Run ``clients`` closed-loop connections (threads, spread over ``processes`` client processes) for
    ``warmup`` + ``seconds``; measure the last ``seconds``, including the server's and the client's CPU
    (the client is this process tree minus the server's subtree) and, given ``database_cpu``, the
    database's."""
    lead = 0.3 if processes > 1 else 0.05  # time to fork and connect before the warm-up starts
    start = time.monotonic() + lead + warmup
    end = start + seconds
    workers: list[tuple[multiprocessing.process.BaseProcess, Pipe]] = []
    local: list[LoadResult] = []
    runner: threading.Thread | None = None
    if processes > 1:
        ctx = multiprocessing.get_context("fork")
        for i in range(processes):
            n = clients // processes + (1 if i < clients % processes else 0)
            receiver, sender = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_process_main, args=(sender, host, port, make, n, start, end))
            proc.start()
            sender.close()
            workers.append((proc, receiver))
    else:
        runner = threading.Thread(
            target=lambda: local.append(_threads(host, port, make, clients, start, end)), daemon=True
        )
        runner.start()
    me = os.getpid()

    def sample() -> tuple[float, float, float, float]:
        db = database_cpu() if database_cpu else 0.0
        return tree_cpu(server_pid), tree_cpu(me, exclude=server_pid), db, machine_busy()

    time.sleep(max(0.0, start - time.monotonic()))
    before = sample()
    time.sleep(max(0.0, end - time.monotonic()))
    server, client, db, busy = (b - a for a, b in zip(before, sample(), strict=True))
    total = LoadResult()
    for proc, receiver in workers:
        total.merge(receiver.recv())
        proc.join()
    if runner is not None:
        runner.join()
        total.merge(local[0])
    total.server_cpu, total.client_cpu = server, client
    total.database_cpu = db if database_cpu else None
    total.other_cpu = max(0.0, busy - server - client - db)
    total.seconds = seconds
    return total


# ---------------------------------------------------------------- batch load (calls of any cost)

Outcome = tuple[int, bytes]  # (HTTP status, 0 for a connection error; body or error text)
Step = Callable[[], Callable[[], Outcome]]
"""One client's next call: prepares it (not timed) and returns the call itself (timed)."""


class Exhausted(Exception):
    """Raised by a step that has nothing left to send (e.g. a pool of target groups used up)."""


@dataclass
class BatchResult(LoadResult):
    exhausted: bool = False  # a step ran out of work: the window was cut short for some client


def _batch_client(step: Step, phase: list[float], barrier: threading.Barrier, out: BatchResult) -> None:
    clock = time.monotonic
    measuring = False
    while True:
        if clock() >= phase[0]:
            if measuring:
                break
            barrier.wait()  # every client has its warm-up answer: nothing in flight while CPU is sampled
            measuring = True
            continue
        try:
            call = step()
        except Exhausted:
            out.exhausted = True
            if not measuring:
                barrier.wait()
            break
        sent = clock()
        try:
            status, body = call()
        except Exception as exc:  # a client must not die: count it and go on
            status, body = 0, repr(exc).encode()
        done = clock()
        out.sent += 1
        if status != 200:
            out.statuses[status] += 1
            out.samples.setdefault(status, body[:400])
        if measuring:
            out.requests += 1
            out.latencies.append(done - sent)


def run_batch(
    *,
    steps: Sequence[Step],
    warmup: float,
    seconds: float,
    server_pid: int,
    database_cpu: Callable[[], float] | None = None,
) -> BatchResult:
    """One closed-loop client thread per step: ``warmup`` seconds, then a barrier, then ``seconds`` of
    measured calls; a client sends nothing after the window ends but its last call is waited for.

    CPU is sampled at the barrier (no call in flight) and after the last answer, so every call counted
    is wholly inside the measurement and no other is: exact even when one call takes longer than the
    window (a listing of 10,000 groups). ``seconds`` of the result is the measured wall time.
    """
    me = os.getpid()

    def sample() -> tuple[float, float, float, float]:
        db = database_cpu() if database_cpu else 0.0
        return tree_cpu(server_pid), tree_cpu(me, exclude=server_pid), db, machine_busy()

    phase = [time.monotonic() + warmup]  # end of the current phase; the barrier moves it
    start: list[tuple[float, tuple[float, float, float, float]]] = []

    def begin() -> None:
        start.append((time.monotonic(), sample()))
        phase[0] = time.monotonic() + seconds

    barrier = threading.Barrier(len(steps), action=begin)
    parts = [BatchResult() for _ in steps]
    threads = [
        threading.Thread(target=_batch_client, args=(step, phase, barrier, part), daemon=True)
        for step, part in zip(steps, parts, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end, after = time.monotonic(), sample()
    total = BatchResult()
    for part in parts:
        total.merge(part)
        total.exhausted |= part.exhausted
    if not start:  # every client ran out during the warm-up
        return total
    began, before = start[0]
    server, client, db, busy = (b - a for a, b in zip(before, after, strict=True))
    total.server_cpu, total.client_cpu = server, client
    total.database_cpu = db if database_cpu else None
    total.other_cpu = max(0.0, busy - server - client - db)
    total.seconds = end - began
    return total


# ---------------------------------------------------------------- PostgreSQL


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """Yield ``url``; when its database does not exist, create it first and drop it afterwards.

    An existing database is used as it is and never dropped (it must be empty or hold a secplane
    installation whose master.key you give the server).
    """
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or f"secplane_bench_{uuid.uuid4().hex[:8]}"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        if not exists:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
