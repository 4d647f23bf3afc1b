"""The lab network of ``secplane serve --dataplane netns``, end to end: instances made through the official
SDKs become network namespaces that reach each other, 100.100.100.200 and the API; stop, delete and
shutdown remove them; a crashed lab's leftovers go at the next start.

Needs root and a machine that can make network namespaces (skipped otherwise, with the reason). Every
address is in 198.18.0.0/15 or inside a namespace this module made; traffic never leaves them.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_vpc20160428 import models as vm

from secplane import cli_lab
from secplane.config import Settings
from secplane.dataplane import lab, netns
from secplane.testing import RunningServer, server
from tests.api.test_instances import REGION, Net, World

NETNS_REASON = netns.unavailable_reason(lab.namespace_name(secrets.token_hex(3), "probe"))
needs_netns = pytest.mark.skipif(NETNS_REASON is not None, reason=f"lab tests: {NETNS_REASON}")
NETNS = ["--dataplane", "netns"]


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            assert value, f"not within {timeout}s: {what}"
            return value
        time.sleep(0.05)


def inside(namespace: str, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", namespace, *command], capture_output=True, text=True, timeout=timeout
    )


def lab_exec(
    instance_id: str, *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "secplane", "lab", "exec", instance_id, "--", *command],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def pings(namespace: str, address: str) -> bool:
    if shutil.which("ping") is None:
        pytest.skip("ping is not installed (apt-get install iputils-ping)")
    return inside(namespace, "ping", "-c", "1", "-W", "1", address).returncode == 0


def connects(namespace: str, address: str, port: int, source: str = "") -> bool:
    """A TCP connection from ``namespace`` (from ``source`` if given) succeeds within a second."""
    script = (
        "import socket,sys\n"
        "s=socket.socket()\ns.settimeout(1)\n"
        f"s.bind(({source!r},0)) if {source!r} else None\n"
        f"s.connect(({address!r},{port}))\n"
    )
    return inside(namespace, sys.executable, "-c", script).returncode == 0


def namespace_of(instance_id: str) -> str | None:
    found = lab.find_instance_namespace(instance_id)
    return found[0] if found else None


def running_instance(instance_id: str) -> str:
    return str(wait_for(lambda: namespace_of(instance_id), what=f"{instance_id} gets a namespace"))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def leftovers() -> Iterator[dict[str, str]]:
    """What a crashed lab leaves (a VPC and an instance namespace joined by a veth), and a live lab's
    namespace (its lock held here) that the next start must not touch."""
    if NETNS_REASON is not None:
        pytest.skip(f"lab tests: {NETNS_REASON}")
    dead, live = secrets.token_hex(3), secrets.token_hex(3)
    names = {
        "dead_vpc": lab.namespace_name(dead, "vpc-crashed"),
        "dead_instance": lab.namespace_name(dead, "i-crashed"),
        "live_instance": lab.namespace_name(live, "i-alive"),
    }
    for name in names.values():
        netns.add(name)
    netns.ip("-n", names["dead_instance"], "link", "add", "eth0", "type", "veth", "peer", "name", "sp0",
             "netns", names["dead_vpc"])  # fmt: skip
    lab.LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = lab.LOCK_DIR / f"{live}.lock"
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield names
    finally:
        for name in names.values():
            netns.delete(name)
        lock.unlink(missing_ok=True)
        os.close(fd)


@pytest.fixture(scope="module")
def lab_api(leftovers: dict[str, str]) -> Iterator[RunningServer]:
    with server(extra_args=NETNS) as running:
        yield running


@pytest.fixture(scope="module")
def world(lab_api: RunningServer) -> World:
    return World(lab_api)


def vpc_network(world: World, vpc_cidr: str, *vswitch_cidrs: str) -> list[Net]:
    vpc_id = world.vpc.create_vpc(vm.CreateVpcRequest(region_id=REGION, cidr_block=vpc_cidr)).body.vpc_id
    return [Net(vpc_id, world.vswitch(vpc_id, cidr), cidr) for cidr in vswitch_cidrs]


@pytest.fixture(scope="module")
def place(world: World) -> dict[str, Any]:
    """One VPC (198.18.0.0/16, two vSwitches) with three instances, another (198.19.0.0/16) with one."""
    first, second = vpc_network(world, "198.18.0.0/16", "198.18.1.0/24", "198.18.2.0/24")
    (other,) = vpc_network(world, "198.19.0.0/16", "198.19.1.0/24")
    group, other_group = world.group(first.vpc_id), world.group(other.vpc_id)
    a1, a2 = world.run(first, [group], amount=2)
    (b1,) = world.run(second, [group])
    (c1,) = world.run(other, [other_group])
    enis = {e.instance_id: e for e in world.enis(vpc_id=first.vpc_id) + world.enis(vpc_id=other.vpc_id)}
    return {
        "vpc": first.vpc_id,
        "other_vpc": other.vpc_id,
        "group": group,
        "a1": a1,
        "a2": a2,
        "b1": b1,
        "c1": c1,
        "ip": {i: enis[i].private_ip_address for i in (a1, a2, b1, c1)},
        "mac": {i: enis[i].mac_address for i in (a1, a2, b1, c1)},
        "eni": {i: enis[i].network_interface_id for i in (a1, a2, b1, c1)},
    }


# ---------------------------------------------------------------- without namespaces


def test_names_fit_linux_limits() -> None:
    assert len(lab.port_name("eni-bp1" + "x" * 40)) <= 15
    assert lab.port_name("eni-a") != lab.port_name("eni-b")
    assert lab.namespace_name("abc123", "i-bp1xyz") == "sp-abc123-i-bp1xyz"
    from ipaddress import IPv4Network

    assert lab.gateway_of(IPv4Network("198.18.1.0/24")) == "198.18.1.253"
    assert lab.gateway_of(IPv4Network("198.18.1.0/29")) == "198.18.1.5"


def test_netns_mode_refuses_clearly_where_namespaces_cannot_be_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(netns, "unavailable_reason", lambda _name: "network namespaces need root")
    settings = Settings(data_dir=tmp_path)
    with (
        pytest.raises(SystemExit, match=r"--dataplane netns: network namespaces need root"),
        cli_lab.dataplane("netns", settings),
    ):
        pass
    with cli_lab.dataplane("none", settings):  # the API alone: nothing to start
        pass


def test_lab_exec_needs_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "secplane", "lab", "exec", "i-none", "--"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "give the command after --" in done.stderr


# ---------------------------------------------------------------- in namespaces


@needs_netns
def test_a_crashed_labs_leftovers_go_at_the_next_start(
    lab_api: RunningServer, leftovers: dict[str, str]
) -> None:
    assert not netns.exists(leftovers["dead_vpc"]) and not netns.exists(leftovers["dead_instance"])
    assert netns.exists(leftovers["live_instance"]), "a running lab's namespace was removed"
    log = (lab_api.data_dir / "server.log").read_text()
    assert "leftover lab namespaces" in log and leftovers["dead_instance"] in log
    assert "dataplane mode: netns" in log


@needs_netns
def test_an_instance_namespace_carries_its_eni(place: dict[str, Any]) -> None:
    a1 = place["a1"]
    namespace = running_instance(a1)
    link = json.loads(netns.ip("-n", namespace, "-j", "addr", "show", "dev", "eth0"))[0]
    assert link["address"] == place["mac"][a1]
    assert [(a["local"], a["prefixlen"]) for a in link["addr_info"] if a["family"] == "inet"] == [
        (place["ip"][a1], 24)
    ]
    routes = json.loads(netns.ip("-n", namespace, "-j", "route", "show", "default"))
    assert routes[0]["gateway"] == "198.18.1.253"
    router = lab.namespace_name(namespace.split("-")[1], place["vpc"])
    eni = place["eni"][a1]
    (port,) = json.loads(netns.ip("-n", router, "-j", "link", "show", "dev", lab.port_name(eni)))
    assert port["ifalias"] == f"{eni} {a1}"


@needs_netns
def test_instances_of_a_vpc_reach_each_other_across_vswitches(place: dict[str, Any]) -> None:
    a1, a2, b1 = (running_instance(place[k]) for k in ("a1", "a2", "b1"))
    ip = place["ip"]
    assert pings(a1, ip[place["a2"]]), "same vSwitch"
    assert pings(a1, ip[place["b1"]]), "another vSwitch of the VPC"
    assert pings(b1, ip[place["a1"]]) and pings(a2, ip[place["b1"]])
    assert not pings(a1, "198.18.1.100"), "an address no instance has"


@needs_netns
def test_vpcs_are_isolated(place: dict[str, Any]) -> None:
    c1, a1 = running_instance(place["c1"]), running_instance(place["a1"])
    assert not pings(c1, place["ip"][place["a1"]])
    assert not pings(a1, place["ip"][place["c1"]])


def datagrams_seen(receiver: str, address: str, send: Callable[[], None]) -> list[str]:
    """Payloads a UDP listener on ``address`` inside ``receiver`` gets while ``send`` runs."""
    script = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"s.bind(({address!r}, 9999)); s.settimeout(1.5)\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    while True: print(s.recvfrom(100)[0].decode(), flush=True)\n"
        "except TimeoutError: pass\n"
    )
    listener = subprocess.Popen(
        ["ip", "netns", "exec", receiver, sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
    send()
    out, _ = listener.communicate(timeout=10)
    return out.split()


def send_udp(namespace: str, source: str, address: str, payload: str) -> None:
    script = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"s.bind(({source!r}, 0)); s.sendto({payload!r}.encode(), ({address!r}, 9999))\n"
    )
    done = inside(namespace, sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr


@needs_netns
def test_a_source_address_cannot_be_claimed(place: dict[str, Any]) -> None:
    """What lets the metadata service name the caller by its address: packets a1 sends from a2's address
    reach neither another instance nor the VPC's own services (100.100.x.x); a1's own ones do."""
    a1, b1 = running_instance(place["a1"]), running_instance(place["b1"])
    router = lab.namespace_name(a1.split("-")[1], place["vpc"])
    a1_ip, a2_ip, b1_ip = (place["ip"][place[k]] for k in ("a1", "a2", "b1"))
    netns.ip("-n", a1, "addr", "add", f"{a2_ip}/32", "dev", "eth0")
    try:
        for receiver, address in ((b1, b1_ip), (router, lab.API_ADDRESS)):

            def send(address: str = address) -> None:
                send_udp(a1, a2_ip, address, "claimed")
                send_udp(a1, a1_ip, address, "own")

            assert datagrams_seen(receiver, address, send) == ["own"], receiver
    finally:
        netns.ip("-n", a1, "addr", "del", f"{a2_ip}/32", "dev", "eth0")


@needs_netns
def test_lab_exec_reaches_the_api_through_secplane_endpoint(
    lab_api: RunningServer, place: dict[str, Any]
) -> None:
    running_instance(place["b1"])
    script = (
        "import os, urllib.request\n"
        "print(os.environ['SECPLANE_ENDPOINT'])\n"
        "url = 'http://' + os.environ['SECPLANE_ENDPOINT'] + '/ping'\n"
        "print(urllib.request.urlopen(url).read().decode())\n"
    )
    done = lab_exec(place["b1"], sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [lab.LAB_ENDPOINT, '{"status":"pong"}']


@needs_netns
def test_the_official_sdk_inside_an_instance_calls_the_api(
    lab_api: RunningServer, place: dict[str, Any]
) -> None:
    running_instance(place["a2"])
    script = (
        "import os\n"
        "from alibabacloud_ecs20140526.client import Client\n"
        "from alibabacloud_ecs20140526.models import DescribeInstancesRequest\n"
        "from alibabacloud_tea_openapi.models import Config\n"
        "c = Client(Config(access_key_id=os.environ['AK'], access_key_secret=os.environ['SK'],"
        " endpoint=os.environ['SECPLANE_ENDPOINT'], protocol='http', region_id='cn-hangzhou'))\n"
        f"q = DescribeInstancesRequest(region_id='cn-hangzhou', instance_ids='[\"{place['a2']}\"]')\n"
        "r = c.describe_instances(q)\n"
        "print(r.body.instances.instance[0].instance_id)\n"
    )
    env = {"AK": lab_api.access_key_id, "SK": lab_api.access_key_secret}
    done = lab_exec(place["a2"], sys.executable, "-c", script, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == place["a2"]


@needs_netns
def test_lab_exec_names_what_is_wrong(lab_api: RunningServer) -> None:
    done = lab_exec("i-notthere000000000000", "true")
    assert done.returncode == 1 and "has no namespace on this host" in done.stderr


@needs_netns
def test_the_metadata_address_answers_with_the_instances_key(world: World, place: dict[str, Any]) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    name = f"lab-{secrets.token_hex(4)}"
    world.ecs.create_key_pair(m.CreateKeyPairRequest(region_id=REGION, key_pair_name=name))
    net = Net(place["vpc"], world.enis(instance_id=place["a1"])[0].v_switch_id, "")
    (instance,) = world.run(net, [place["group"]], key_pair_name=name)
    (pair,) = world.ecs.describe_key_pairs(
        m.DescribeKeyPairsRequest(region_id=REGION, key_pair_name=name, include_public_key=True)
    ).body.key_pairs.key_pair
    namespace = running_instance(instance)
    url = f"http://{lab.METADATA_ADDRESS}/latest/meta-data/public-keys/0/openssh-key"
    done = inside(namespace, "curl", "-sS", "--max-time", "5", url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == pair.public_key.strip()
    world.ecs.delete_instance(m.DeleteInstanceRequest(instance_id=instance, force=True))


@needs_netns
def test_stop_start_and_delete_follow_within_seconds(world: World, place: dict[str, Any]) -> None:
    vpc_id, c1 = place["other_vpc"], place["c1"]
    namespace = running_instance(c1)
    router = lab.namespace_name(namespace.split("-")[1], vpc_id)
    assert netns.exists(router)
    world.ecs.stop_instance(m.StopInstanceRequest(instance_id=c1))
    wait_for(lambda: namespace_of(c1) is None, 3, "a stopped instance loses its namespace")
    wait_for(lambda: not netns.exists(router), 3, "a VPC without running instances loses its namespace")
    world.ecs.start_instance(m.StartInstanceRequest(instance_id=c1))
    started = time.monotonic()
    namespace = wait_for(lambda: namespace_of(c1), 3, "a started instance gets its namespace back")
    assert time.monotonic() - started < 3
    assert connects(namespace, lab.API_ADDRESS, lab.API_PORT)
    sleeper = subprocess.Popen(["ip", "netns", "exec", namespace, "sleep", "600"])
    world.ecs.delete_instance(m.DeleteInstanceRequest(instance_id=c1, force=True))
    wait_for(lambda: namespace_of(c1) is None, 3, "a deleted instance loses its namespace")
    assert sleeper.wait(5) != 0, "what ran inside the deleted instance is ended with it"


@needs_netns
def test_one_lab_per_installation(lab_api: RunningServer) -> None:
    with (
        pytest.raises(RuntimeError, match="another lab for this installation is running"),
        server(
            data_dir=lab_api.data_dir, database_url=lab_api.database_url, extra_args=NETNS, startup_timeout=20
        ),
    ):
        pass


@needs_netns
def test_shutdown_removes_every_namespace(leftovers: dict[str, str]) -> None:
    with server(extra_args=NETNS) as running:
        world = World(running)
        (net,) = vpc_network(world, "198.18.0.0/16", "198.18.7.0/24")
        (instance,) = world.run(net, [world.group(net.vpc_id)])
        namespace = running_instance(instance)
        tag = namespace.split("-")[1]
        assert netns.exists(lab.namespace_name(tag, net.vpc_id))
    assert [n for n in netns.list_netns() if n.startswith(lab.namespace_name(tag, ""))] == []
    assert not (lab.LOCK_DIR / f"{tag}.lock").exists()


@needs_netns
def test_a_killed_server_is_cleaned_up_by_the_next_start(tmp_path: Path, leftovers: dict[str, str]) -> None:
    with server(data_dir=tmp_path, extra_args=NETNS) as running:
        world = World(running)
        (net,) = vpc_network(world, "198.18.0.0/16", "198.18.8.0/24")
        (instance,) = world.run(net, [world.group(net.vpc_id)])
        namespace = running_instance(instance)
        running.process.kill()
        running.process.wait()
    assert netns.exists(namespace), "SIGKILL leaves the namespaces behind"
    before = (tmp_path / "server.log").stat().st_size
    with server(data_dir=tmp_path, extra_args=NETNS):
        log = (tmp_path / "server.log").read_text()[before:]
        assert "leftover lab namespaces" in log and namespace in log.split("dataplane mode")[0]
        running_instance(instance)  # still Running in the store: made again
    assert lab.find_instance_namespace(instance) == []


@needs_netns
@pytest.mark.postgres
def test_the_lab_follows_a_postgresql_store(own_pg_database: str, leftovers: dict[str, str]) -> None:
    with server(database_url=own_pg_database, extra_args=NETNS) as running:
        world = World(running)
        (net,) = vpc_network(world, "198.18.0.0/16", "198.18.9.0/24")
        first, second = world.run(net, [world.group(net.vpc_id)], amount=2)
        assert pings(running_instance(first), world.enis(instance_id=second)[0].private_ip_address)
        world.ecs.stop_instance(m.StopInstanceRequest(instance_id=second))
        wait_for(lambda: namespace_of(second) is None, 3, "a stopped instance loses its namespace")
    assert lab.find_instance_namespace(first) == []


# Runs inside an instance namespace through `lab exec`: the unmodified ECS RAM role provider asks
# 100.100.100.200 itself (no proxy), then the Tea SDKs use what it got against SECPLANE_ENDPOINT.
CREDENTIALS_CHILD = r"""
import json, os, sys
from alibabacloud_credentials.provider.ecs_ram_role import EcsRamRoleCredentialsProvider
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

mode, instance_id = sys.argv[1:3]
provider = EcsRamRoleCredentialsProvider(disable_imds_v1=mode == "hardened", async_update_enabled=False)
creds = provider.get_credentials()
config = Config(
    access_key_id=creds.get_access_key_id(), access_key_secret=creds.get_access_key_secret(),
    security_token=creds.get_security_token(), endpoint=os.environ["SECPLANE_ENDPOINT"], protocol="http",
    region_id="cn-hangzhou",
)
ecs = Client(config)
request = m.DescribeInstancesRequest(region_id="cn-hangzhou", instance_ids=json.dumps([instance_id]))
found = ecs.describe_instances(request).body.instances.instance
out = {"access_key_id": creds.get_access_key_id(), "described": len(found)}
try:
    ecs.create_security_group(m.CreateSecurityGroupRequest(region_id="cn-hangzhou"))
    out["denied"] = ""
except ClientException as exc:
    out["denied"] = exc.code
out["arn"] = StsClient(config).get_caller_identity().body.arn
print(json.dumps(out))
"""


@needs_netns
def test_the_credentials_library_inside_instances(world: World, place: dict[str, Any]) -> None:
    from tests.api.test_instance_ram_roles import detach
    from tests.api.test_metadata_proxy import reader_role, set_options

    running = world.running
    net = Net(place["vpc"], world.enis(instance_id=place["a1"])[0].v_switch_id, "")
    role, other_role = reader_role(running), reader_role(running)
    plain, hardened = world.run(net, [place["group"]], amount=2, ram_role_name=role)
    (other,) = world.run(net, [place["group"]], ram_role_name=other_role)
    set_options(world, hardened, http_tokens="required")  # the library must fetch and send a token
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    seen = {}
    for instance_id, mode, expected_role in (
        (plain, "plain", role),
        (hardened, "hardened", role),
        (other, "plain", other_role),
    ):
        running_instance(instance_id)
        done = subprocess.run(
            [sys.executable, "-m", "secplane", "lab", "exec", instance_id, "--",
             sys.executable, "-c", CREDENTIALS_CHILD, mode, instance_id],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout)
        assert out["access_key_id"].startswith("STS.")
        assert out["described"] == 1, "allowed by the role's policy"
        assert out["denied"] == "Forbidden.RAM", "CreateSecurityGroup is not"
        assert out["arn"] == f"acs:ram::{running.account_id}:assumed-role/{expected_role}/{instance_id}"
        seen[instance_id] = out["access_key_id"]
    assert seen[other] not in (seen[plain], seen[hardened]), "another instance's credentials"
    detach(world.ecs, [plain])
    path = f"http://{lab.METADATA_ADDRESS}/latest/meta-data/ram/security-credentials/{role}"
    code = inside(running_instance(plain), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", path)
    assert code.stdout == "404"
    world.ecs.delete_instances(
        m.DeleteInstancesRequest(region_id=REGION, instance_id=[plain, hardened, other], force=True)
    )
