"""The lab network: every running VPC instance as a Linux network namespace (``serve --dataplane netns``).

Topology (names carry the prefix ``sp-<tag>-``, ``tag`` = 6 hex digits of the installation's database
URL, so leftovers of a crash are recognised and removed at the next start)::

    instance namespace sp-<tag>-<instance-id>        VPC namespace sp-<tag>-<vpc-id>  (the vRouter)
      eth0  MAC = the ENI's MAC                        lo: 100.100.100.200/32   metadata  (port 80)
            private IP / vSwitch prefix  ── veth ──▶       100.100.80.80/32     API forwarder (port 80)
            default via the vSwitch gateway             <vSwitch gateway>/32 for each vSwitch
                                                      sp<12 hex of ENI id>: the instance's port,
                                                        MAC ee:ff:ff:ff:ff:ff, route <private ip>/32,
                                                        permanent neighbour entry, proxy ARP

The VPC namespace routes between its instances (ip_forward) and has no other link: nothing leaves it.
Each instance is a point-to-point routed port rather than a bridge port, which is how Alibaba's vSwitch
behaves (the gateway MAC ee:ff:ff:ff:ff:ff answers ARP for every address) and gives two properties a
bridge would not without extra filtering:

* **the source address cannot be claimed**: strict reverse-path filtering (``rp_filter=1``) drops a
  packet whose source is not the address routed to the port it came in on, so the metadata service may
  trust the TCP peer address to name the instance; ARP cannot be spoofed either (static neighbours);
* **one place per ENI for the security-group enforcer**: in the VPC namespace, an ``inet`` table with
  ``forward`` (and ``input``, for 100.100.100.200 and the API) chains: ``iifname <port>`` is the ENI's
  egress, ``oifname <port>`` its ingress, with conntrack for stateful rules. :meth:`Lab.ports` (and
  :func:`port_name`) give the ENI → (namespace, interface) map. Nothing inside the instance namespace
  (where its root user could undo it) needs to change. (With a bridge, ``br_netfilter`` would show
  every packet as coming from the bridge, and the ``bridge`` family has no conntrack on kernels
  without NF_CONNTRACK_BRIDGE, such as this project's CI machines.)

The gateway of a vSwitch is its last address but two (x.x.x.253 in a /24), which address allocation
never hands out. 100.64.0.0/10, where both service addresses live, is refused as a VPC CIDR, so they
never clash with an instance.

Desired state is read from the store every ``interval`` seconds (several API processes may write it),
and the difference applied: an instance that starts gets its namespace, one that stops or is deleted
loses it (processes left inside are killed), a VPC namespace lives while the VPC has a running
instance. Everything is removed on :meth:`Lab.stop`; a lock file per installation in ``/run`` tells a
live lab's namespaces from a dead one's.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Connection, and_, select

from secplane.config import Settings
from secplane.dataplane import netns
from secplane.dataplane.metadata import MetadataService, uvicorn_config
from secplane.store.db import Database
from secplane.store.schema import instances, network_interfaces, vswitches

log = logging.getLogger("secplane.dataplane.lab")

PREFIX = "sp-"
METADATA_ADDRESS = "100.100.100.200"
METADATA_PORT = 80
API_ADDRESS = "100.100.80.80"
API_PORT = 80
# What ``lab exec`` puts in SECPLANE_ENDPOINT: the API as reached from inside any instance.
LAB_ENDPOINT = f"{API_ADDRESS}:{API_PORT}"
GATEWAY_MAC = "ee:ff:ff:ff:ff:ff"
LOCK_DIR = Path("/run/secplane-lab")

_NAME = re.compile(r"^sp-([0-9a-f]{6})-(.+)$")
_NO_IPV6 = {"net/ipv6/conf/all/disable_ipv6": "1", "net/ipv6/conf/default/disable_ipv6": "1"}
_ROUTER = {
    "net/ipv4/ip_forward": "1",
    "net/ipv4/conf/all/rp_filter": "1",
    "net/ipv4/conf/default/rp_filter": "1",
    "net/ipv4/conf/default/proxy_arp": "1",
    **_NO_IPV6,
}
_RETRY_AFTER = 5.0


class LabUnavailable(RuntimeError):
    """``--dataplane netns`` cannot run here; the message says why and what to do."""


# ---------------------------------------------------------------- names


def installation_tag(database_url: str) -> str:
    """Six hex digits naming one installation's namespaces (its database is what makes it one)."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:6]


def namespace_name(tag: str, resource_id: str) -> str:
    """``sp-<tag>-<instance or VPC id>``."""
    return f"{PREFIX}{tag}-{resource_id}"


def port_name(eni_id: str) -> str:
    """The instance's interface in the VPC namespace (≤ 15 characters): where its SG filter attaches."""
    return "sp" + hashlib.sha1(eni_id.encode()).hexdigest()[:12]


def gateway_of(cidr: IPv4Network) -> str:
    """A vSwitch's gateway: the last address but two (reserved, never given to an instance)."""
    return str(IPv4Address(int(cidr.broadcast_address) - 2))


def find_instance_namespace(instance_id: str) -> list[str]:
    """Namespaces of running labs that hold ``instance_id``, plumbed and ready (normally one)."""
    return [
        n
        for n in netns.list_netns()
        if (m := _NAME.match(n)) and m.group(2) == instance_id and is_ready(n)
    ]


def is_ready(namespace: str) -> bool:
    """An instance namespace is ready once its default route exists: the lab sets it last."""
    routes = netns.ip("-n", namespace, "-j", "route", "show", "default", check=False)
    return bool(routes.strip()) and routes.strip() != "[]"


# ---------------------------------------------------------------- desired state


@dataclass(frozen=True)
class InstanceSpec:
    instance_id: str
    vpc_id: str
    vswitch_id: str
    eni_id: str
    private_ip: str
    prefixlen: int
    gateway: str
    mac: str


@dataclass(frozen=True)
class Desired:
    instances: dict[str, InstanceSpec]
    gateways: dict[str, frozenset[str]]  # VPC id → the gateways of all its vSwitches


def read_desired(conn: Connection) -> Desired:
    """Running VPC instances with their primary ENI, and the gateways of their VPCs."""
    eni = network_interfaces
    rows = conn.execute(
        select(
            instances.c.id,
            eni.c.vpc_id,
            eni.c.vswitch_id,
            eni.c.id.label("eni_id"),
            eni.c.private_ip,
            eni.c.mac,
            vswitches.c.cidr_block,
        )
        .join(eni, and_(eni.c.instance_id == instances.c.id, eni.c.eni_type == "Primary"))
        .join(vswitches, vswitches.c.id == eni.c.vswitch_id)
        .where(instances.c.status == "Running", instances.c.network_type == "vpc")
    ).all()
    wanted: dict[str, InstanceSpec] = {}
    for row in rows:
        cidr = IPv4Network(row.cidr_block)
        wanted[row.id] = InstanceSpec(
            instance_id=row.id,
            vpc_id=row.vpc_id,
            vswitch_id=row.vswitch_id,
            eni_id=row.eni_id,
            private_ip=row.private_ip,
            prefixlen=cidr.prefixlen,
            gateway=gateway_of(cidr),
            mac=row.mac,
        )
    vpc_ids = sorted({s.vpc_id for s in wanted.values()})
    gateways: dict[str, set[str]] = {v: set() for v in vpc_ids}
    if vpc_ids:
        query = select(vswitches.c.vpc_id, vswitches.c.cidr_block).where(vswitches.c.vpc_id.in_(vpc_ids))
        for vpc_id, cidr_block in conn.execute(query):
            gateways[vpc_id].add(gateway_of(IPv4Network(cidr_block)))
    return Desired(wanted, {v: frozenset(g) for v, g in gateways.items()})


# ---------------------------------------------------------------- the lab


@dataclass(frozen=True)
class Port:
    """Where the enforcer attaches an ENI's filter: interface ``ifname`` in namespace ``netns``."""

    eni_id: str
    instance_id: str
    private_ip: str
    netns: str
    ifname: str


@dataclass
class _Vpc:
    namespace: str
    gateways: frozenset[str]
    forwarder: asyncio.AbstractServer | None = None
    metadata: uvicorn.Server | None = None
    metadata_task: asyncio.Task[None] | None = None
    sockets: list[socket.socket] = field(default_factory=list)


class Lab:
    """The reconciler and the per-VPC services, on an asyncio loop in a background thread."""

    def __init__(
        self,
        settings: Settings,
        tag: str,
        db: Database,
        metadata: MetadataService | None,
        lock_fd: int,
        interval: float = 0.5,
    ) -> None:
        self.settings = settings
        self.tag = tag
        self.db = db
        self.metadata = metadata  # None: no 100.100.100.200 (tests of the topology alone)
        self.interval = interval
        self._lock_fd = lock_fd
        self._api = (_loopback(settings.host), settings.port)
        self._instances: dict[str, InstanceSpec] = {}
        self._vpcs: dict[str, _Vpc] = {}
        self._retry_at: dict[str, float] = {}
        self._pipes: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="secplane-lab", daemon=True)
        self._stopping = False
        self._stopped = False
        self._wake: asyncio.Event | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._first_pass = threading.Event()

    # -- life cycle

    def start(self, timeout: float = 30.0) -> None:
        """Start the loop and wait for the first pass (instances already running get their namespaces)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._begin(), self._loop).result(timeout)
        self._first_pass.wait(timeout)

    async def _begin(self) -> None:
        self._wake = asyncio.Event()
        self._run_task = asyncio.get_running_loop().create_task(self._run())

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving, remove every namespace of this lab, release the installation lock."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self._thread.is_alive():
                future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
                try:
                    future.result(timeout)
                except Exception:
                    log.exception("lab shutdown did not finish cleanly")
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout)
        finally:
            left = sweep(self.tag)  # whatever a failed step left behind
            if left:
                log.warning("removed namespaces the shutdown missed: %s", ", ".join(left))
            _release_lock(self.tag, self._lock_fd)
            if self.metadata is not None:
                self.metadata.close()
            self.db.dispose()
            log.info("dataplane netns lab stopped; its namespaces are removed")

    async def _shutdown(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._run_task is not None:
            with contextlib.suppress(Exception):
                await self._run_task
        for vpc_id in list(self._vpcs):
            await self._stop_services(self._vpcs[vpc_id])
        for task in list(self._pipes):
            task.cancel()
        for spec in list(self._instances.values()):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._remove_instance, spec)
        self._instances.clear()
        for vpc in list(self._vpcs.values()):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(netns.delete, vpc.namespace)
        self._vpcs.clear()

    # -- what the enforcer and the CLI read

    def ports(self) -> dict[str, Port]:
        """ENI id → its port, for the instances that have a namespace now."""
        return {
            s.eni_id: Port(
                s.eni_id, s.instance_id, s.private_ip, namespace_name(self.tag, s.vpc_id), port_name(s.eni_id)
            )
            for s in list(self._instances.values())
        }

    def instance_namespace(self, instance_id: str) -> str | None:
        spec = self._instances.get(instance_id)
        return namespace_name(self.tag, spec.instance_id) if spec else None

    # -- the reconciler

    async def _run(self) -> None:
        assert self._wake is not None
        last_error, logged_at = "", 0.0
        while not self._stopping:
            try:
                await self._reconcile()
            except Exception as exc:  # the store may be away for a while: say so, not twice a second
                if str(exc) != last_error or time.monotonic() - logged_at > 60:
                    log.exception("lab reconcile pass failed; trying again every %.1fs", self.interval)
                    last_error, logged_at = str(exc), time.monotonic()
            self._first_pass.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)

    def _read(self) -> Desired:
        with self.db.read() as conn:
            return read_desired(conn)

    async def _reconcile(self) -> None:
        desired = await asyncio.to_thread(self._read)
        for instance_id, built in list(self._instances.items()):
            if self._stopping:
                return
            if desired.instances.get(instance_id) != built and await self._attempt(
                instance_id, self._remove_instance, built
            ):
                self._instances.pop(instance_id, None)
                log.info("instance %s: namespace removed", instance_id)
        for vpc_id, vpc in list(self._vpcs.items()):
            if self._stopping:
                return
            if vpc_id not in desired.gateways:
                await self._stop_services(vpc)
                if await self._attempt(vpc_id, netns.delete, vpc.namespace):
                    self._vpcs.pop(vpc_id, None)
                    log.info("VPC %s: namespace removed (no running instance)", vpc_id)
        for vpc_id, gateways in desired.gateways.items():
            if self._stopping:
                return
            current = self._vpcs.get(vpc_id)
            if current is None:
                if await self._attempt(vpc_id, self._create_vpc, vpc_id, gateways):
                    created = self._vpcs[vpc_id] = _Vpc(namespace_name(self.tag, vpc_id), gateways)
                    await self._start_services(vpc_id, created)
                    log.info("VPC %s: namespace %s, gateways %s", vpc_id, created.namespace, sorted(gateways))
            elif current.gateways != gateways and await self._attempt(
                vpc_id, self._set_gateways, current.namespace, current.gateways, gateways
            ):
                current.gateways = gateways
        for instance_id, spec in desired.instances.items():
            if self._stopping:
                return
            if (
                instance_id not in self._instances
                and spec.vpc_id in self._vpcs
                and await self._attempt(instance_id, self._create_instance, spec)
            ):
                self._instances[instance_id] = spec
                log.info(
                    "instance %s: namespace %s, %s/%d on %s",
                    instance_id,
                    namespace_name(self.tag, instance_id),
                    spec.private_ip,
                    spec.prefixlen,
                    spec.vpc_id,
                )

    async def _attempt(self, key: str, fn: Any, *args: Any) -> bool:
        """Run a topology step in a worker thread; a failure is logged and retried a little later."""
        if time.monotonic() < self._retry_at.get(key, 0.0):
            return False
        try:
            await asyncio.to_thread(fn, *args)
        except Exception as exc:
            self._retry_at[key] = time.monotonic() + _RETRY_AFTER
            log.error("lab: %s for %s failed (retrying in %.0fs): %s", fn.__name__, key, _RETRY_AFTER, exc)
            return False
        self._retry_at.pop(key, None)
        return True

    # -- topology steps (blocking; run in worker threads, one at a time)

    def _create_vpc(self, vpc_id: str, gateways: frozenset[str]) -> None:
        name = namespace_name(self.tag, vpc_id)
        netns.delete(name)
        netns.add(name)
        try:
            netns.sysctl(name, _ROUTER)
            addresses = [METADATA_ADDRESS, API_ADDRESS, *sorted(gateways)]
            netns.ip_batch(name, ["link set lo up", *(f"addr add {a}/32 dev lo" for a in addresses)])
        except Exception:
            netns.delete(name)
            raise

    def _set_gateways(self, name: str, old: frozenset[str], new: frozenset[str]) -> None:
        commands = [f"addr del {a}/32 dev lo" for a in sorted(old - new)]
        commands += [f"addr add {a}/32 dev lo" for a in sorted(new - old)]
        netns.ip_batch(name, commands)

    def _create_instance(self, spec: InstanceSpec) -> None:
        name = namespace_name(self.tag, spec.instance_id)
        router = namespace_name(self.tag, spec.vpc_id)
        port = port_name(spec.eni_id)
        netns.delete(name)
        netns.ip("-n", router, "link", "del", port, check=False)
        netns.add(name)
        try:
            netns.sysctl(name, _NO_IPV6)
            # The default route is set last: it is what marks the namespace ready (``is_ready``).
            netns.ip_batch(
                name,
                [
                    f"link add eth0 address {spec.mac} type veth peer name {port} address {GATEWAY_MAC} "
                    f"netns {router}",
                    "link set lo up",
                ],
            )
            netns.ip_batch(
                router,
                [
                    f'link set {port} alias "{spec.eni_id} {spec.instance_id}"',
                    f"ntable change name arp_cache dev {port} proxy_delay 0",
                    f"link set {port} up",
                    f"route add {spec.private_ip}/32 dev {port}",
                    f"neigh replace {spec.private_ip} lladdr {spec.mac} dev {port} nud permanent",
                ],
            )
            netns.ip_batch(
                name,
                [
                    "link set eth0 up",
                    f"addr add {spec.private_ip}/{spec.prefixlen} dev eth0",
                    f"route add default via {spec.gateway} dev eth0",
                ],
            )
        except Exception:
            self._remove_instance(spec)
            raise

    def _remove_instance(self, spec: InstanceSpec) -> None:
        # the port first: a process still holding the namespace open must not keep the network
        router = namespace_name(self.tag, spec.vpc_id)
        if netns.exists(router):
            netns.ip("-n", router, "link", "del", port_name(spec.eni_id), check=False)
        netns.delete(namespace_name(self.tag, spec.instance_id))

    # -- per-VPC services (on the loop)

    async def _start_services(self, vpc_id: str, vpc: _Vpc) -> None:
        try:
            sock = await asyncio.to_thread(netns.listen, vpc.namespace, API_ADDRESS, API_PORT)
            vpc.sockets.append(sock)
            vpc.forwarder = await asyncio.start_server(self._forward, sock=sock)
        except Exception as exc:
            log.error("VPC %s: the API forwarder could not start: %s", vpc_id, exc)
        if self.metadata is None:
            return
        try:
            sock = await asyncio.to_thread(netns.listen, vpc.namespace, METADATA_ADDRESS, METADATA_PORT)
            vpc.sockets.append(sock)
            # the metadata module's config: the TCP peer is the caller's identity, no header may claim one
            config = uvicorn_config(self.metadata.app_for_vpc(vpc_id), METADATA_ADDRESS, METADATA_PORT)
            config.timeout_graceful_shutdown = 2
            server = uvicorn.Server(config)
            vpc.metadata = server
            vpc.metadata_task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
            deadline = time.monotonic() + 5
            while not server.started and not vpc.metadata_task.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        except Exception as exc:
            log.error("VPC %s: the metadata service could not start: %s", vpc_id, exc)

    async def _stop_services(self, vpc: _Vpc) -> None:
        if vpc.forwarder is not None:
            vpc.forwarder.close()
            vpc.forwarder = None
        if vpc.metadata is not None and vpc.metadata_task is not None:
            vpc.metadata.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(vpc.metadata_task), 3)
            except (TimeoutError, Exception):
                vpc.metadata.force_exit = True
                vpc.metadata_task.cancel()
            vpc.metadata = vpc.metadata_task = None
        for sock in vpc.sockets:  # a socket keeps its namespace alive: close every one
            sock.close()
        vpc.sockets.clear()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection to the in-VPC API address, piped to the API on the host's loopback."""
        task = asyncio.current_task()
        if task is not None:
            self._pipes.add(task)
        try:
            try:
                up_reader, up_writer = await asyncio.open_connection(*self._api)
            except OSError as exc:
                log.warning("lab: API forwarder cannot reach %s:%d: %s", *self._api, exc)
                return
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            finally:
                up_writer.close()
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
            if task is not None:
                self._pipes.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0") else ("::1" if host == "::" else host)


# ---------------------------------------------------------------- leftovers and the installation lock


def _lock_path(tag: str) -> Path:
    return LOCK_DIR / f"{tag}.lock"


def _acquire_lock(tag: str, wait: float = 3.0) -> int:
    """Hold this installation's lab lock (released by the kernel if the process dies)."""
    LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(_lock_path(tag), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise LabUnavailable(
                    f"--dataplane netns: another lab for this installation is running (pid {holder}); "
                    "one `secplane serve --dataplane netns` per database and host"
                ) from None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _release_lock(tag: str, fd: int) -> None:
    with contextlib.suppress(OSError):
        _lock_path(tag).unlink()
    with contextlib.suppress(OSError):
        os.close(fd)


def _alive(tag: str) -> bool:
    """Whether a running lab holds ``tag``'s lock (a probe that gets the lock lets it go at once)."""
    try:
        fd = os.open(_lock_path(tag), os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return True
    with contextlib.suppress(OSError):
        _lock_path(tag).unlink()
    os.close(fd)
    return False


def sweep(own_tag: str) -> list[str]:
    """Remove ``own_tag``'s namespaces and those of labs that are no longer running; their names."""
    removed: list[str] = []
    alive: dict[str, bool] = {own_tag: False}
    names = [(n, m.group(1), m.group(2)) for n in netns.list_netns() if (m := _NAME.match(n))]
    # instances before VPCs, so that no port is left dangling for a moment in a live router
    names.sort(key=lambda item: not item[2].startswith("i-"))
    for name, tag, _ in names:
        if tag not in alive:
            alive[tag] = _alive(tag)
        if alive[tag]:
            continue
        try:
            netns.delete(name)
            removed.append(name)
        except netns.NetnsError as exc:
            log.error("could not remove leftover namespace %s: %s", name, exc)
    for lock in LOCK_DIR.glob("*.lock"):  # dead labs without namespaces: only their lock file is left
        if lock.stem not in alive:
            _alive(lock.stem)
    return removed


# ---------------------------------------------------------------- the runner


def start_lab(settings: Settings, *, interval: float = 0.5) -> Lab:
    """Start the lab for ``settings``' installation; :class:`LabUnavailable` when this host cannot."""
    from secplane.bootstrap import open_store

    tag = installation_tag(settings.effective_database_url)
    reason = netns.unavailable_reason(namespace_name(tag, "probe"))
    if reason is not None:
        raise LabUnavailable(f"--dataplane netns: {reason}")
    lock_fd = _acquire_lock(tag)
    try:
        leftovers = sweep(tag)
        if leftovers:
            log.warning("removed %d leftover lab namespaces: %s", len(leftovers), ", ".join(leftovers))
        db, master_key = open_store(settings)
        lab = Lab(settings, tag, db, MetadataService(db, master_key), lock_fd, interval)
        lab.start()
    except BaseException:
        _release_lock(tag, lock_fd)
        raise
    atexit.register(lab.stop)
    log.info(
        "dataplane mode: netns (namespaces %s*, metadata %s:%d, API in instances at %s)",
        namespace_name(tag, ""),
        METADATA_ADDRESS,
        METADATA_PORT,
        LAB_ENDPOINT,
    )
    return lab
