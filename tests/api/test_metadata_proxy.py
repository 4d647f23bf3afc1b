"""The instance metadata service (RAM-10, KP-4) through the development proxy, against the live test
server's database: the **unmodified** ``alibabacloud-credentials`` ECS RAM role provider (plain and
hardened mode) gets the role's credentials through ``HTTP_PROXY`` in a subprocess, and the Tea SDKs
use them against the server; the items; hardened and disabled modes; detach; one instance never sees
another's credentials; the proxy's own authentication; and the per-VPC app's source-address identity.
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ram20150501 import models as rm
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from secplane.config import Settings
from secplane.dataplane.metadata import MetadataApp, MetadataProxy, serve_metadata_proxy
from secplane.testing import RunningServer
from tests.api.test_instance_ram_roles import REGION, attach, detach, make_role, unique
from tests.api.test_instances import Net, World

SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
BASE = "http://100.100.100.200"
CREDENTIALS = "/latest/meta-data/ram/security-credentials/"

# Runs in a subprocess (HTTP_PROXY must not leak into the test process). The provider is used as
# shipped; only the API calls afterwards drop HTTP_PROXY, because the Tea SDK sends them through it too
# (it ignores NO_PROXY) and the proxy serves 100.100.100.200 alone.
CHILD = r"""
import json, os, sys
from alibabacloud_credentials.provider.ecs_ram_role import EcsRamRoleCredentialsProvider
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

mode, endpoint, instance_id = sys.argv[1:4]
provider = EcsRamRoleCredentialsProvider(disable_imds_v1=mode == "hardened", async_update_enabled=False)
creds = provider.get_credentials()
del os.environ["HTTP_PROXY"]
config = Config(
    access_key_id=creds.get_access_key_id(), access_key_secret=creds.get_access_key_secret(),
    security_token=creds.get_security_token(), endpoint=endpoint, protocol="http", region_id="cn-hangzhou",
)
ecs = Client(config)
request = m.DescribeInstancesRequest(region_id="cn-hangzhou", instance_ids=json.dumps([instance_id]))
found = ecs.describe_instances(request)
out = {"access_key_id": creds.get_access_key_id(), "described": len(found.body.instances.instance)}
try:
    ecs.create_security_group(m.CreateSecurityGroupRequest(region_id="cn-hangzhou"))
    out["denied"] = ""
except ClientException as exc:
    out["denied"] = exc.code
out["arn"] = StsClient(config).get_caller_identity().body.arn
print(json.dumps(out))
"""


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def proxy(api: RunningServer) -> Iterator[MetadataProxy]:
    """The development proxy in this process, on the session server's installation."""
    with serve_metadata_proxy(Settings(data_dir=api.data_dir, database_url=api.database_url), 0) as running:
        yield running


@pytest.fixture(scope="module")
def world(api: RunningServer) -> World:
    return World(api)


@pytest.fixture(scope="module")
def net(world: World) -> Net:
    return world.network("192.168.7.0/24")


@pytest.fixture(scope="module")
def group(world: World, net: Net) -> str:
    return world.group(net.vpc_id)


def reader_role(running: RunningServer) -> str:
    """An ECS-trusted role that may read ECS and nothing else."""
    role = make_role(running)
    RamClient(running.tea_config()).attach_policy_to_role(
        rm.AttachPolicyToRoleRequest(
            policy_type="System", policy_name="AliyunECSReadOnlyAccess", role_name=role
        )
    )
    return role


def fetch(
    proxy: MetadataProxy,
    instance_id: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    secret: str | None = None,
    url: str = BASE,
) -> requests.Response:
    """One request through the proxy as ``instance_id`` (with the installation's secret by default)."""
    session = requests.Session()
    session.trust_env = False  # only the proxy given here
    proxy_url = f"http://{instance_id}:{proxy.secret if secret is None else secret}@{proxy.host}:{proxy.port}"
    return session.request(method, url + path, headers=headers, proxies={"http": proxy_url}, timeout=10)


def text(proxy: MetadataProxy, instance_id: str, path: str, **kw: Any) -> str:
    response = fetch(proxy, instance_id, path, **kw)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.text


def token(proxy: MetadataProxy, instance_id: str, ttl: str = "21600") -> str:
    headers = {"X-aliyun-ecs-metadata-token-ttl-seconds": ttl}
    return text(proxy, instance_id, "/latest/api/token", method="PUT", headers=headers)


def set_options(world: World, instance_id: str, **kw: Any) -> None:
    request = m.ModifyInstanceMetadataOptionsRequest(region_id=REGION, instance_id=instance_id, **kw)
    world.ecs.modify_instance_metadata_options(request)


def run_provider(running: RunningServer, proxy: MetadataProxy, instance_id: str, mode: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["HTTP_PROXY"] = proxy.proxy_url(instance_id)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, running.endpoint, instance_id],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def caller_arn(running: RunningServer, credentials: dict[str, Any]) -> str:
    config = running.tea_config(
        access_key_id=credentials["AccessKeyId"],
        access_key_secret=credentials["AccessKeySecret"],
        security_token=credentials["SecurityToken"],
    )
    return str(StsClient(config).get_caller_identity().body.arn)


# ---------------------------------------------------------------- the credentials library, end to end


def test_credentials_library_plain_and_hardened(
    world: World, net: Net, group: str, proxy: MetadataProxy
) -> None:
    running = world.running
    role = reader_role(running)
    plain, hardened = world.run(net, [group], amount=2, ram_role_name=role)
    set_options(world, hardened, http_tokens="required")  # the library must use the token there
    for instance_id, mode in ((plain, "plain"), (hardened, "hardened")):
        out = run_provider(running, proxy, instance_id, mode)
        assert out["access_key_id"].startswith("STS.")
        assert out["described"] == 1  # allowed by the role's policy
        assert out["denied"] == "Forbidden.RAM"  # CreateSecurityGroup is not
        assert out["arn"] == f"acs:ram::{running.account_id}:assumed-role/{role}/{instance_id}"


# ---------------------------------------------------------------- items


def test_items_describe_the_instance(world: World, net: Net, group: str, proxy: MetadataProxy) -> None:
    user_data = "#!/bin/sh\necho hello\n"
    (instance_id,) = world.run(
        net, [group], user_data=base64.b64encode(user_data.encode()).decode(), host_name="web-1"
    )
    (instance,) = world.instances(instance_ids=json.dumps([instance_id]))
    (eni,) = instance.network_interfaces.network_interface

    def item(name: str) -> str:
        return text(proxy, instance_id, f"/latest/meta-data/{name}")

    assert item("instance-id") == instance_id
    assert item("region-id") == REGION and item("zone-id") == instance.zone_id
    assert item("hostname") == "web-1" and item("image-id") == instance.image_id
    assert item("private-ipv4") == eni.primary_ip_address and item("mac") == eni.mac_address
    assert item("vpc-id") == net.vpc_id and item("vswitch-id") == net.vswitch_id
    assert item("vpc-cidr-block") == "192.168.0.0/16" and item("vswitch-cidr-block") == net.cidr
    assert item("instance/instance-type") == instance.instance_type
    assert item("owner-account-id") == world.running.account_id
    index = item("").split("\n")
    assert {"instance-id", "private-ipv4", "vpc-id", "instance/"} <= set(index)
    assert "ram/" not in index and "public-keys/" not in index  # no role, no key pair
    assert text(proxy, instance_id, "/latest/user-data") == user_data
    document = json.loads(text(proxy, instance_id, "/latest/dynamic/instance-identity/document"))
    assert document["instance-id"] == instance_id and document["private-ipv4"] == eni.primary_ip_address
    assert document["instance-type"] == instance.instance_type
    for missing in ("nothing-here", "ram/security-credentials/", "public-keys/0/openssh-key"):
        assert fetch(proxy, instance_id, f"/latest/meta-data/{missing}").status_code == 404
    assert fetch(proxy, instance_id, "/latest/meta-data/instance-id", method="POST").status_code == 405


def test_public_key_is_the_attached_pair(world: World, net: Net, group: str, proxy: MetadataProxy) -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    name = unique("kp")
    world.ecs.import_key_pair(
        m.ImportKeyPairRequest(region_id=REGION, key_pair_name=name, public_key_body=line)
    )
    (instance_id,) = world.run(net, [group], key_pair_name=name)
    assert "public-keys/" in text(proxy, instance_id, "/latest/meta-data/").split("\n")
    assert text(proxy, instance_id, "/latest/meta-data/public-keys/") == "0/"
    assert text(proxy, instance_id, "/latest/meta-data/public-keys/0/") == "openssh-key"
    served = text(proxy, instance_id, "/latest/meta-data/public-keys/0/openssh-key")
    assert served.split()[:2] == line.split()[:2]
    assert fetch(proxy, instance_id, "/latest/meta-data/public-keys/1/openssh-key").status_code == 404


# ---------------------------------------------------------------- hardened and disabled modes


def test_token_required_mode(world: World, net: Net, group: str, proxy: MetadataProxy) -> None:
    instance_id, other = world.run(net, [group], amount=2)
    path = "/latest/meta-data/instance-id"
    mine = token(proxy, instance_id)
    assert text(proxy, instance_id, path, headers={"X-aliyun-ecs-metadata-token": mine}) == instance_id
    assert text(proxy, instance_id, path) == instance_id  # optional: no token is fine
    set_options(world, instance_id, http_tokens="required")
    assert fetch(proxy, instance_id, path).status_code == 403
    assert text(proxy, instance_id, path, headers={"X-aliyun-ecs-metadata-token": mine}) == instance_id
    for bad in ("nonsense", token(proxy, other)):  # a token of another instance is no token here
        assert (
            fetch(proxy, instance_id, path, headers={"X-aliyun-ecs-metadata-token": bad}).status_code == 401
        )
    for ttl in ("0", "21601", "soon", ""):
        headers = {"X-aliyun-ecs-metadata-token-ttl-seconds": ttl}
        assert (
            fetch(proxy, instance_id, "/latest/api/token", method="PUT", headers=headers).status_code == 400
        )
    forwarded = {"X-aliyun-ecs-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "203.0.113.9"}
    assert fetch(proxy, instance_id, "/latest/api/token", method="PUT", headers=forwarded).status_code == 403
    assert fetch(proxy, instance_id, "/latest/api/token").status_code == 405
    short = token(proxy, instance_id, "1")
    time.sleep(1.1)
    assert fetch(proxy, instance_id, path, headers={"X-aliyun-ecs-metadata-token": short}).status_code == 401


def test_disabled_endpoint_refuses_everything(
    world: World, net: Net, group: str, proxy: MetadataProxy
) -> None:
    (instance_id,) = world.run(net, [group], http_endpoint="disabled")
    assert fetch(proxy, instance_id, "/latest/meta-data/instance-id").status_code == 403
    headers = {"X-aliyun-ecs-metadata-token-ttl-seconds": "60"}
    assert fetch(proxy, instance_id, "/latest/api/token", method="PUT", headers=headers).status_code == 403
    set_options(world, instance_id, http_endpoint="enabled")
    assert text(proxy, instance_id, "/latest/meta-data/instance-id") == instance_id


# ---------------------------------------------------------------- credentials


def epoch(value: str) -> int:
    return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))


def credentials(proxy: MetadataProxy, instance_id: str, role: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(text(proxy, instance_id, CREDENTIALS + role))
    return body


def test_credentials_document(world: World, net: Net, group: str, proxy: MetadataProxy) -> None:
    role = make_role(world.running)
    (instance_id,) = world.run(net, [group], ram_role_name=role)
    assert text(proxy, instance_id, CREDENTIALS) == role  # no trailing newline
    assert "ram/" in text(proxy, instance_id, "/latest/meta-data/").split("\n")
    first = credentials(proxy, instance_id, role)
    assert first["Code"] == "Success" and first["AccessKeyId"].startswith("STS.")
    assert SECONDS.fullmatch(first["Expiration"]) and SECONDS.fullmatch(first["LastUpdated"])
    assert epoch(first["Expiration"]) - epoch(first["LastUpdated"]) == 6 * 3600
    assert credentials(proxy, instance_id, role) == first  # cached
    upper = json.loads(text(proxy, instance_id, f"/latest/meta-data/RAM/Security-Credentials/{role.upper()}"))
    assert upper["AccessKeyId"] == first["AccessKeyId"]  # the path is matched case-insensitively
    assert fetch(proxy, instance_id, CREDENTIALS + "other-role").status_code == 404


def test_credentials_are_refreshed_before_they_expire(
    world: World, net: Net, group: str, proxy: MetadataProxy
) -> None:
    role = make_role(world.running)
    (instance_id,) = world.run(net, [group], ram_role_name=role)
    first = credentials(proxy, instance_id, role)
    service = proxy.service
    expiration = epoch(first["Expiration"])
    try:
        service.clock = lambda: expiration - 31 * 60  # 31 minutes left: still the same
        assert credentials(proxy, instance_id, role)["AccessKeyId"] == first["AccessKeyId"]
        service.clock = lambda: expiration - 29 * 60  # 29 minutes left: new ones
        second = credentials(proxy, instance_id, role)
    finally:
        service.clock = time.time
    assert second["AccessKeyId"] != first["AccessKeyId"] and second["Expiration"] > first["Expiration"]
    arn = f"acs:ram::{world.running.account_id}:assumed-role/{role}/{instance_id}"
    assert caller_arn(world.running, first) == arn  # the old ones still work until they expire


def test_detach_stops_serving_the_role(world: World, net: Net, group: str, proxy: MetadataProxy) -> None:
    role = make_role(world.running)
    (instance_id,) = world.run(net, [group], ram_role_name=role)
    issued = credentials(proxy, instance_id, role)
    detach(world.ecs, [instance_id])
    assert fetch(proxy, instance_id, CREDENTIALS).status_code == 404
    assert fetch(proxy, instance_id, CREDENTIALS + role).status_code == 404
    assert "ram/" not in text(proxy, instance_id, "/latest/meta-data/").split("\n")
    # what was handed out stays valid until it expires (6 h), as on Alibaba Cloud
    assert caller_arn(world.running, issued).endswith(f"/{role}/{instance_id}")
    attach(world.ecs, role, [instance_id])
    assert text(proxy, instance_id, CREDENTIALS) == role


def test_each_instance_gets_its_own_roles_credentials(
    world: World, net: Net, group: str, proxy: MetadataProxy
) -> None:
    first_role, second_role = make_role(world.running), make_role(world.running)
    (first,) = world.run(net, [group], ram_role_name=first_role)
    (second,) = world.run(net, [group], ram_role_name=second_role)
    assert text(proxy, second, CREDENTIALS) == second_role
    assert fetch(proxy, second, CREDENTIALS + first_role).status_code == 404
    mine, theirs = credentials(proxy, first, first_role), credentials(proxy, second, second_role)
    assert mine["AccessKeyId"] != theirs["AccessKeyId"]
    assert caller_arn(world.running, mine).endswith(f"/{first_role}/{first}")
    assert caller_arn(world.running, theirs).endswith(f"/{second_role}/{second}")
    (same_role,) = world.run(net, [group], ram_role_name=first_role)  # same role, own session
    assert credentials(proxy, same_role, first_role)["AccessKeyId"] != mine["AccessKeyId"]


# ---------------------------------------------------------------- who may ask


def test_proxy_authentication(world: World, net: Net, group: str, proxy: MetadataProxy) -> None:
    running_id, stopped_id = world.run(net, [group], amount=2)
    world.ecs.stop_instance(m.StopInstanceRequest(instance_id=stopped_id))
    path = "/latest/meta-data/instance-id"
    refused = fetch(proxy, running_id, path, secret="wrong")
    assert refused.status_code == 407 and "proxy-authenticate" in refused.headers
    anonymous = requests.get(
        BASE + path, proxies={"http": f"http://{proxy.host}:{proxy.port}"}, timeout=10
    )  # no credentials at all
    assert anonymous.status_code == 407
    assert fetch(proxy, stopped_id, path).status_code == 403
    assert fetch(proxy, "i-doesnotexist", path).status_code == 403
    assert fetch(proxy, running_id, path, url="http://example.com").status_code == 403
    assert text(proxy, running_id, path) == running_id


def _asgi_get(app: MetadataApp, client_ip: str, path: str) -> tuple[int, bytes]:
    """One GET straight into the ASGI app, from ``client_ip`` (what uvicorn would hand it)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "client": (client_ip, 40000)}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], sent[1]["body"]


def test_vpc_app_knows_callers_by_source_address(
    world: World, net: Net, group: str, proxy: MetadataProxy
) -> None:
    (instance_id,) = world.run(net, [group])
    (instance,) = world.instances(instance_ids=json.dumps([instance_id]))
    address = instance.vpc_attributes.private_ip_address.ip_address[0]
    app = proxy.service.app_for_vpc(net.vpc_id)
    assert _asgi_get(app, address, "/latest/meta-data/instance-id") == (200, instance_id.encode())
    assert _asgi_get(app, "192.168.7.250", "/latest/meta-data/instance-id")[0] == 403  # nobody's address
    other = world.network("192.168.1.0/24")  # the same address in another VPC is another instance
    assert (
        _asgi_get(proxy.service.app_for_vpc(other.vpc_id), address, "/latest/meta-data/instance-id")[0] == 403
    )
    world.ecs.stop_instance(m.StopInstanceRequest(instance_id=instance_id))
    assert _asgi_get(app, address, "/latest/meta-data/instance-id")[0] == 403
